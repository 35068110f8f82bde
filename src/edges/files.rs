//! The files a command writes outside the state folder (`init`'s starter
//! config, `man --dir`'s pages): written, or for a dry run only named by the
//! command's report.

use super::Tense;
use std::io;
use std::path::Path;

/// Where a command writes its files: the disk, or (a dry run) nowhere.
pub struct Files {
    dry_run: bool,
}

/// The files edge of a run with or without `--dry-run`.
pub fn files(dry_run: bool) -> Files {
    Files { dry_run }
}

impl Files {
    /// `fs::create_dir_all`; nothing in a dry run.
    pub fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.or_nothing(|| std::fs::create_dir_all(dir))
    }

    /// `fs::write`; nothing in a dry run.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.or_nothing(|| std::fs::write(path, bytes))
    }

    /// `fs::rename`; nothing in a dry run.
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.or_nothing(|| std::fs::rename(from, to))
    }

    /// How the command tells what it wrote.
    pub fn tense(&self) -> Tense {
        Tense::of(self.dry_run)
    }

    fn or_nothing(&self, io: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        match self.dry_run {
            false => io(),
            true => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_runs_files_are_not_written() {
        let dir = std::env::temp_dir().join(format!("afk-files-{}", std::process::id()));
        let (page, moved) = (dir.join("sub/a.1"), dir.join("sub/b.1"));
        let dry = files(true);
        dry.create_dir_all(&dir.join("sub")).unwrap();
        dry.write(&page, b"page").unwrap();
        dry.rename(&page, &moved).unwrap();
        assert!(!dir.exists());
        let real = files(false);
        real.create_dir_all(&dir.join("sub")).unwrap();
        real.write(&page, b"page").unwrap();
        real.rename(&page, &moved).unwrap();
        assert_eq!(std::fs::read(&moved).unwrap(), b"page");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
