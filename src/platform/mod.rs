//! What every other module stands on: the database pool and its SQL dialect helpers, the
//! configuration read from the environment, time as stored, and spreadsheet-safe CSV.

pub mod config;
pub mod csv;
pub mod db;
pub mod time;
