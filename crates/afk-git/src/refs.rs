//! A ref read from a repository's files, as git itself reads one: no
//! process for the common case of nothing having changed.

use std::path::Path;

/// A ref's commit read from the files (`HEAD` when detached, a loose ref, or
/// packed-refs): no process for the common case of nothing having changed.
pub fn read_ref(git_dir: &Path, name: &str) -> Option<String> {
    let is_sha = |s: &str| s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit());
    if let Ok(s) = std::fs::read_to_string(git_dir.join(name)) {
        let s = s.trim();
        if is_sha(s) {
            return Some(s.to_string());
        }
        if let Some(target) = s.strip_prefix("ref: ") {
            return read_ref(git_dir, target.trim());
        }
    }
    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (sha, r) = l.split_once(' ')?;
        (r == name && is_sha(sha)).then(|| sha.to_string())
    })
}
