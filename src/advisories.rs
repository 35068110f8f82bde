//! The change gate's advisories folder (docs/security.md#advisories): every
//! `*.json` file at any depth read as an OSV record (`core::osv`), once per
//! process, bounded per file. A file that is not a record is a
//! configuration error naming it, never a silent pass.

use crate::config::Config;
use crate::core::osv::Index;
use anyhow::Result;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The largest file read as a record: osv.dev's records are a few KiB.
const FILE_MAX: u64 = 8 << 20;

/// How many files a folder may hold (osv.dev's whole database is under it).
const FILES_MAX: usize = 2_000_000;

/// The folder's records, read once per process: Ok(None) without
/// `gate.advisories`; Err, a configuration error (exit 2) naming the key,
/// the folder and the file, when one is not a record.
pub fn in_force(cfg: &Config) -> Result<Option<Arc<Index>>> {
    static READ: OnceLock<Result<Option<Arc<Index>>, String>> = OnceLock::new();
    let Some(dir) = cfg.advisories_dir() else {
        return Ok(None);
    };
    READ.get_or_init(|| read(&dir).map(|ix| Some(Arc::new(ix))))
        .clone()
        .map_err(|why| {
            crate::config::cfg_err(format!("config: gate.advisories: {}: {why}", dir.display()))
        })
}

/// Read every `*.json` file under `dir` into one index.
pub fn read(dir: &Path) -> Result<Index, String> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("not a readable folder ({})", afk_host::os_words(&e)))?;
    if !meta.is_dir() {
        return Err("not a folder".into());
    }
    let mut index = Index::default();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut files = 0usize;
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| {
            format!(
                "{}: cannot be read ({})",
                shown(dir, &d),
                afk_host::os_words(&e)
            )
        })?;
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            // folders are walked where they are, never through a link (no
            // loop); a linked file is read as the file it names
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|e| e != "json") {
                continue;
            }
            files += 1;
            if files > FILES_MAX {
                return Err(format!("more than {FILES_MAX} records"));
            }
            let text = read_file(&p).map_err(|why| format!("{}: {why}", shown(dir, &p)))?;
            index
                .add(&text)
                .map_err(|why| format!("{}: not an OSV record: {why}", shown(dir, &p)))?;
        }
    }
    Ok(index)
}

fn read_file(p: &Path) -> Result<String, String> {
    let f = std::fs::File::open(p)
        .map_err(|e| format!("cannot be read ({})", afk_host::os_words(&e)))?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err("not a file".into());
    }
    let mut bytes = Vec::new();
    f.take(FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({})", afk_host::os_words(&e)))?;
    if bytes.len() as u64 > FILE_MAX {
        return Err(format!(
            "over {} MiB, too large for a record",
            FILE_MAX >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

/// A file's path as an error names it: from the folder, one line, bounded.
fn shown(dir: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(dir).unwrap_or(p);
    crate::core::sanitize::one_line(&rel.to_string_lossy(), 200)
}
