//! Demo data: one account per role ([`accounts`]), the multilingual ad corpus with its hard
//! cases ([`corpus`]), and weeks of moderation history decided by the real model ([`history`]).

pub mod accounts;
pub mod corpus;
pub mod history;
pub mod lifecycle;
pub mod synthetic;
