//! The change gate's advisories folder (docs/security.md#advisories): every
//! `*.json` file at any depth read as an OSV record (`core::gate::osv`), once per
//! process, bounded per file. A file that is not a record is a
//! configuration error naming it, never a silent pass.

use crate::config::Config;
use crate::core::gate::osv::{AdvisoryError, Entries, Index, Shared};
use anyhow::Result;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The largest file read as a record: osv.dev's records are a few KiB.
const FILE_MAX: u64 = 8 << 20;

/// How many files a folder may hold (osv.dev's whole database is under it).
const FILES_MAX: usize = 2_000_000;

/// The folder's records, looked up package by package the first time the
/// gate asks for each (a tick that forwards no dependency change reads
/// none): from the index beside the state file when it was made for the
/// folder as it is ([`INDEX`]), else from the folder read whole, once per
/// process (and the index made again). None without `gate.advisories`. A
/// file that is not a record stops that forwarding as a configuration
/// error ([`unread`]).
pub fn in_force(cfg: &Config, state_dir: &Path) -> Option<Shared> {
    Some(at(cfg.advisories_dir()?, state_dir))
}

/// The records of folder `dir` as [`in_force`] looks them up, the index
/// beside `state_dir`.
pub fn at(dir: PathBuf, state_dir: &Path) -> Shared {
    let kept = state_dir.join(INDEX);
    Shared::by_package(move |eco, name| match backend(&dir, &kept)? {
        Backend::Kept(ix) => {
            let ix = ix.lock().unwrap_or_else(|e| e.into_inner());
            match ix.entries(&format!("{eco:?}"), name) {
                Ok(Some(text)) => Entries::from_text(&text),
                Ok(None) => Ok(Entries::default()),
                Err(e) => Err(format!("{}: cannot be read ({e:#})", kept.display()).into()),
            }
        }
        Backend::Whole(ix) => Ok(ix.package(eco, name)),
    })
}

/// The index of the folder's records by package, beside the state file.
pub const INDEX: &str = "advisories.index";

/// Where a process looks packages up.
enum Backend {
    Kept(std::sync::Mutex<afk_store::advisories_index::KeptIndex>),
    Whole(Arc<Index>),
}

/// The index when it was made for the folder as it is now, else the folder
/// read whole (once per process) and the index made again from it.
fn backend(dir: &Path, kept: &Path) -> Result<&'static Backend, AdvisoryError> {
    static BACKEND: OnceLock<Result<Backend, AdvisoryError>> = OnceLock::new();
    let made = BACKEND.get_or_init(|| {
        let print = fingerprint(dir)?;
        if let Some(ix) = afk_store::advisories_index::KeptIndex::open_if(kept, &print) {
            return Ok(Backend::Kept(std::sync::Mutex::new(ix)));
        }
        let ix = once(dir)?;
        keep(kept, &print, &ix);
        Ok(Backend::Whole(ix))
    });
    made.as_ref().map_err(AdvisoryError::clone)
}

/// Make the index of `ix` at `kept` (beside the state file: [`INDEX`]) for
/// the folder's fingerprint `print` (a failure only costs the next process
/// a whole read: said at debug).
pub fn keep(kept: &Path, print: &str, ix: &Index) {
    let rows = ix
        .packages()
        .map(|(eco, name, entries)| (format!("{eco:?}"), name, entries.to_text()));
    if let Err(e) = afk_store::advisories_index::keep_index(kept, print, rows) {
        crate::log::debug(&format!("advisories: index not kept: {e:#}"));
    }
}

/// The folder read in full, once per process.
fn once(dir: &Path) -> Result<Arc<Index>, AdvisoryError> {
    static READ: OnceLock<Result<Arc<Index>, AdvisoryError>> = OnceLock::new();
    READ.get_or_init(|| read(dir).map(Arc::new)).clone()
}

/// The verdict on the folder a watch tick keeps beside the state file.
const VERDICT: &str = "advisories.verdict";

/// Before a watch tick touches anything (after the brakes): Ok when the
/// folder read as records the last time it was read in full, which a
/// verdict beside the state file keeps under the folder's fingerprint
/// ([`fingerprint`]); read in full again when that changed. So a bad record
/// stops every watch tick (exit 2, naming the file) and an unchanged folder
/// costs a tick one walk of its folders, never a read of each record.
pub fn check(cfg: &Config, state_dir: &Path) -> Result<()> {
    let Some(dir) = cfg.advisories_dir() else {
        return Ok(());
    };
    let err = |why: AdvisoryError| {
        crate::hint::hinted(
            crate::config::cfg_err(format!("config: gate.advisories: {}: {why}", dir.display())),
            ADVISORIES_HINT,
        )
    };
    let print = fingerprint(&dir).map_err(err)?;
    let kept = state_dir.join(VERDICT);
    // a verdict cut short (a tick killed as it wrote it) has no end mark:
    // the folder is read again
    if let Ok(text) = afk_host::private_files::read_run_file(&kept, VERDICT_MAX)
        && let Some(whole) = text.strip_suffix(VERDICT_END)
        && let Some((was, why)) = whole.split_once("\n--\n")
        && was == print
    {
        return match why.trim() {
            "" => Ok(()),
            why => Err(err(why.into())),
        };
    }
    let read = once(&dir);
    if let Ok(ix) = &read {
        keep(&state_dir.join(INDEX), &print, ix);
    }
    let why = read.err();
    let text = format!(
        "{print}\n--\n{}{VERDICT_END}",
        why.clone().map(|w| w.0).unwrap_or_default()
    );
    if text.len() as u64 <= VERDICT_MAX {
        // a verdict that cannot be kept is read again next tick
        let _ = afk_host::private_files::private_write(&kept, text.as_bytes());
    }
    why.map_or(Ok(()), |w| Err(err(w)))
}

/// How a whole verdict ends.
const VERDICT_END: &str = "\n--end\n";

/// The largest verdict kept.
const VERDICT_MAX: u64 = 4 << 20;

/// What changes when records are added, removed, replaced or rewritten in
/// place: each folder's path, and each entry's name, size and modification
/// time (a linked record's as the file it names), walked without opening a
/// record, folded into one SHA-256 so that a folder of 250,000 records keeps
/// a fingerprint of 64 characters. A record repaired or changed in place
/// moves its size or its time, so the next tick reads the folder again.
pub fn fingerprint(dir: &Path) -> Result<String, AdvisoryError> {
    use sha2::Digest;
    // the folders are walked by a few threads at once (a stat per record
    // is most of a tick's cost at osv.dev's scale); each folder's digest is
    // its own, and they are folded in the order of their paths, so the
    // fingerprint does not depend on which thread read what
    let queue = std::sync::Mutex::new(Walk {
        todo: vec![dir.to_path_buf()],
        busy: 0,
        done: vec![],
        failed: None,
    });
    let more = std::sync::Condvar::new();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| walk_folders(dir, &queue, &more));
        }
    });
    let walk = queue.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(why) = walk.failed {
        return Err(why);
    }
    let mut done = walk.done;
    done.sort();
    let mut hash = sha2::Sha256::new();
    for (rel, digest) in done {
        hash.update(rel.as_bytes());
        hash.update(b"\n");
        hash.update(digest);
    }
    let sum = hash.finalize();
    Ok(sum.iter().map(|b| format!("{b:02x}")).collect())
}

/// The folders still to read, how many are being read, each one's digest
/// (its path from the folder, the digest of its entries), the first error.
struct Walk {
    todo: Vec<PathBuf>,
    busy: usize,
    done: Vec<(String, [u8; 32])>,
    failed: Option<AdvisoryError>,
}

/// One walker: takes a folder, digests it, hands back the folders in it,
/// until none is left and none is being read (or one failed).
fn walk_folders(dir: &Path, queue: &std::sync::Mutex<Walk>, more: &std::sync::Condvar) {
    loop {
        let next = {
            let mut w = queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if w.failed.is_some() {
                    break None;
                }
                if let Some(d) = w.todo.pop() {
                    w.busy += 1;
                    break Some(d);
                }
                if w.busy == 0 {
                    break None;
                }
                w = more.wait(w).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(d) = next else {
            more.notify_all();
            return;
        };
        let read = folder_digest(dir, &d);
        let mut w = queue.lock().unwrap_or_else(|e| e.into_inner());
        w.busy -= 1;
        match read {
            Ok((digest, folders)) => {
                w.done.push((shown(dir, &d), digest));
                w.todo.extend(folders);
            }
            Err(why) => {
                w.failed.get_or_insert(why);
            }
        }
        drop(w);
        more.notify_all();
    }
}

/// Folder `d`'s digest: each entry's name, and its size and modification
/// time (a link's as the file it names; a folder as `d`), in name order;
/// with the folders in it, to walk.
fn folder_digest(dir: &Path, d: &Path) -> Result<([u8; 32], Vec<PathBuf>), AdvisoryError> {
    use sha2::Digest;
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(d).map_err(|e| unreadable(dir, d, &e))?;
    if !m.is_dir() {
        return Err(format!("{}: not a folder", shown(dir, d)).into());
    }
    let entries = std::fs::read_dir(d).map_err(|e| unreadable(dir, d, &e))?;
    let mut names: Vec<(std::ffi::OsString, String)> = vec![];
    let mut folders = vec![];
    for e in entries.flatten() {
        let name = e.file_name();
        let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
        // folders are walked where they are, never through a link
        let m = match is_link {
            true => std::fs::metadata(e.path()),
            false => e.metadata(),
        };
        let line = match m {
            Ok(m) if m.is_dir() && !is_link => {
                folders.push(e.path());
                "d".to_string()
            }
            Ok(m) => format!("{}\t{}.{}", m.len(), m.mtime(), m.mtime_nsec()),
            Err(_) => "?".to_string(),
        };
        names.push((name, line));
    }
    names.sort();
    let mut hash = sha2::Sha256::new();
    for (name, line) in names {
        hash.update(name.as_encoded_bytes());
        hash.update(b"\t");
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    Ok((hash.finalize().into(), folders))
}

/// `e` as the configuration error it is (exit 2, naming the key, the
/// folder and the file) when the gate found the advisories folder not one.
pub fn unread(cfg: &Config, e: anyhow::Error) -> anyhow::Error {
    let Some(why) = e.downcast_ref::<afk_git::workspace::AdvisoriesUnread>() else {
        return e;
    };
    let dir = cfg.advisories_dir().unwrap_or_default();
    crate::hint::hinted(
        crate::config::cfg_err(format!(
            "config: gate.advisories: {}: {}",
            dir.display(),
            why.0
        )),
        ADVISORIES_HINT,
    )
}

/// What to do about an advisories folder afk cannot read: the exit-code
/// table's hint.
pub const ADVISORIES_HINT: &str = "point gate.advisories at a folder of OSV records (one JSON file each) that afk's user can read, or take the key out (docs/security.md#advisories)";

/// Read every `*.json` file under `dir` into one index.
pub fn read(dir: &Path) -> Result<Index, AdvisoryError> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("not a readable folder ({})", afk_host::os_words(&e)))?;
    if !meta.is_dir() {
        return Err("not a folder".into());
    }
    let mut index = Index::default();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut files = 0usize;
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| unreadable(dir, &d, &e))?;
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
                return Err(format!("more than {FILES_MAX} records").into());
            }
            let text = read_file(&p).map_err(|why| format!("{}: {why}", shown(dir, &p)))?;
            index
                .add(&text)
                .map_err(|why| format!("{}: not an OSV record: {why}", shown(dir, &p)))?;
        }
    }
    Ok(index)
}

fn read_file(p: &Path) -> Result<String, AdvisoryError> {
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
        return Err(format!("over {} MiB, too large for a record", FILE_MAX >> 20).into());
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

/// Why `d` under `dir` could not be read, as an error says it.
fn unreadable(dir: &Path, d: &Path, e: &std::io::Error) -> AdvisoryError {
    let why = format!(
        "{}: cannot be read ({})",
        shown(dir, d),
        afk_host::os_words(e)
    );
    why.into()
}

/// A file's path as an error names it: from the folder, one line, bounded.
fn shown(dir: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(dir).unwrap_or(p);
    crate::core::sanitize::one_line(&rel.to_string_lossy(), 200)
}
