//! The domain's vocabulary, shared with the browser bundle: markets and their languages, policy
//! categories, roles and what each may reach, review queues and what a human can decide.

pub mod market;
pub mod policy;
pub mod queue;
pub mod role;
