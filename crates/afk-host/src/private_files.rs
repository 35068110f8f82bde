//! Files only afk's user may read: run directories, prompts, run files
//! (they hold issue text). Shared by the store and the runners, owned by neither.

use std::path::Path;

/// Create a private directory (0700), parents included.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Write a private file (0600): prompts and run files hold issue text.
pub fn private_write(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text)
}
