//! How a command's failure reaches the person: one line (`error_line`) and
//! one exit code (`exit_code_of`), as jj's `command_error.rs` does for it.

/// A usage error found after parsing (exit 2).
#[derive(Debug)]
pub struct UsageError(pub String);
impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// An error as one line for people: the outermost message with its causes.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for c in e.chain() {
        let s = c.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// The exit code of a command that failed: 2 for a usage or configuration
/// error, else 1.
pub fn exit_code_of(e: &anyhow::Error) -> u8 {
    if e.is::<crate::config::ConfigError>() || e.is::<UsageError>() {
        2
    } else {
        1
    }
}
