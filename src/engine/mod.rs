//! The moderation engine: the worker loop and the thread that owns the ONNX session
//! ([`worker`]), turning text into features ([`featurize`]), the machine's decision for a
//! scored ad ([`decide`]), the thresholds and policy matrix in force and their edits
//! ([`rules_store`], [`thresholds`]), the classifier itself ([`model`]), and the counts a crash
//! or several servers must never break ([`integrity`]).

pub mod commit;
pub mod decide;
pub mod featurize;
pub mod integrity;
pub mod model;
pub mod rules_store;
pub mod serving;
pub mod thresholds;
pub mod worker;
