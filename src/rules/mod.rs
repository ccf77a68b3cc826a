//! Moderation rules written by operations heads: the JSON form and its validation
//! ([`spec`]), matching compiled for the worker ([`matcher`]), storage and lifecycle
//! ([`store`]), what the worker runs ([`live`]) and backtests over history ([`backtest`]).

pub mod backtest;
pub mod live;
pub mod matcher;
pub mod spec;
pub mod store;
