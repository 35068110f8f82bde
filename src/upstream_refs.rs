//! An `https://` upstream's `main`, read from its smart-HTTP ref
//! advertisement (`GET <url>/info/refs?service=git-upload-pack`) by afk's
//! own client: no redirect followed, no credential sent (an upstream is an
//! outside party), at most [`ADVERT_MAX`] bytes read, the answer parsed by
//! `core::git_refs`. A tick then spawns no `git ls-remote` for it.

use std::io::Read;
use std::time::Duration;

/// How much of an advertisement afk reads: `main` is among the branches,
/// which come before the tags.
pub const ADVERT_MAX: u64 = 4 << 20;

/// The reader `Git` asks for an https upstream's `main` (None: the answer
/// did not say; `git ls-remote` is asked then).
pub fn reader(timeout: Duration) -> crate::git::MainReader {
    std::sync::Arc::new(move |url: &str| main_of(url, timeout))
}

fn main_of(url: &str, timeout: Duration) -> Option<String> {
    let agent = afk_http::client::builder(timeout).build();
    let info = format!(
        "{}/info/refs?service=git-upload-pack",
        url.trim_end_matches('/')
    );
    let resp = agent.get(&info).call().ok()?;
    if resp.status() != 200 {
        return None;
    }
    let mut body = vec![];
    resp.into_reader()
        .take(ADVERT_MAX)
        .read_to_end(&mut body)
        .ok()?;
    crate::core::git_refs::find(&body, "refs/heads/main")
        .ok()
        .flatten()
}
