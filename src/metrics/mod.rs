//! The metrics as pure functions over plain numbers (interval estimates, drift, quantiles,
//! agreement), shared with the browser bundle.

pub mod estimate;
pub mod format;
pub mod kpi;
