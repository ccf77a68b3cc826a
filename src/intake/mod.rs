//! Ads coming in: the one rule set that validates a submitted ad (API, imports, training files),
//! and storing, finding and searching ads.

pub mod ads;
pub mod validate;
