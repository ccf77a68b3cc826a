//! Who may do what: users and their market scopes, password hashing, logging in, API keys, and
//! the append-only audit log every human action writes to.

pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod password;
pub mod sessions;
pub mod users;
