//! Agent runners: `command` (a detached local process) and `http` (an agent-thread service).

pub mod command;
pub mod http;
