//! Logging to stderr only; stdout carries the report. `-v` / `-q` move the level.

use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

pub fn set_level(verbose: u8, quiet: u8) {
    LEVEL.store(verbose as i8 - quiet as i8, Ordering::Relaxed);
}

fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Problems that do not fail the tick. Hidden by `-qq`.
pub fn warn(msg: &str) {
    if level() > -2 {
        eprintln!("afk: warning: {msg}");
    }
}

/// What the tick is doing. Hidden by `-q`.
pub fn info(msg: &str) {
    if level() > -1 {
        eprintln!("afk: {msg}");
    }
}

/// Details for `-v`.
pub fn debug(msg: &str) {
    if level() > 0 {
        eprintln!("afk: {msg}");
    }
}
