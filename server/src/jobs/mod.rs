//! What a server does in the background besides deciding ads (the workers are the engine's):
//! the weekly report's schedule and its mail, the drift check, refitting calibration maps,
//! folding the reviews' queued rollup changes, and sweeping expired sessions.

pub mod calibration;
pub mod drift_check;
pub mod mail;
pub mod report_schedule;
pub mod rollup_fold;
pub mod sessions;
