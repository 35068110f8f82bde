//! Pure decisions: no I/O, no clock, no randomness. Time and draws come in as arguments.

pub mod dispatch;
pub mod prompt;
