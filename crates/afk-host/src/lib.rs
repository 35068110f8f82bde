//! afk's host: the clock, the log and private files, which the store, the
//! forge, the runners and the commands all use and none of them owns. The
//! binary re-exports these as `afk::clock`, `afk::log`, `afk::private_files`
//! and `afk::redact`.

pub mod clock;
pub mod journal;
pub mod log;
pub mod private_files;
pub mod redact;
pub mod say;

/// What the operating system said of a failed I/O call, without Rust's
/// ` (os error N)` tail: `No such file or directory`.
pub fn os_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_words_drop_the_error_number() {
        // ENOENT: 2 on every Unix afk runs on
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(super::os_words(&e), "No such file or directory");
        let plain = std::io::Error::other("refused by policy");
        assert_eq!(super::os_words(&plain), "refused by policy");
    }
}
