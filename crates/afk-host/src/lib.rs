//! afk's host: the clock, the log and private files, which the store, the
//! forge, the runners and the commands all use and none of them owns. The
//! binary re-exports these as `afk::clock`, `afk::log` and `afk::private_files`.

pub mod clock;
pub mod log;
pub mod private_files;
