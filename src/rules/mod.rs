//! Moderation rules written by operations heads: the JSON form and its validation
//! ([`spec`]), matching compiled for the worker ([`matcher`]), storage and lifecycle
//! ([`store`]), what the worker runs ([`live`]) backtests over history ([`backtest`]), retroaction ([`retro`]), and the shapes the browser shares ([`view`]).

#[cfg(feature = "server")]
pub mod backtest;
#[cfg(feature = "server")]
pub mod live;
#[cfg(feature = "server")]
pub mod matcher;
#[cfg(feature = "server")]
pub mod report;
#[cfg(feature = "server")]
pub mod retro;
#[cfg(feature = "server")]
pub mod spec;
#[cfg(feature = "server")]
pub mod store;
pub mod view;
