//! Agent runners: `command` (a detached local process) for now; `http` comes with watch.

pub mod command;
