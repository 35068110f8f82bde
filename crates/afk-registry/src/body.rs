//! An answer's body read with a cap: a leaf the registry's other modules
//! share (`oci`, `error`, `created`), naming none of them.

use std::io::Read;

/// At most `max` bytes of a body (what is left unread is dropped with the
/// connection); a body that cannot be read is empty.
pub(crate) fn read_at_most(resp: afk_http::client::Response, max: u64) -> Vec<u8> {
    let mut body = vec![];
    let _ = resp.into_reader().take(max).read_to_end(&mut body);
    body
}
