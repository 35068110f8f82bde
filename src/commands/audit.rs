//! `afk audit verify|export|show` (docs/audit.md): the journal of what afk
//! did, hash-chained (`core::journal`). `verify` recomputes the chain from
//! the state file, or from an export alone on another machine (no config
//! needed then), and names the first entry changed, removed, inserted or
//! moved (exit 1); `export` writes it as JSON Lines; `show` one run's
//! entries. Reads only.

use crate::command_error::UsageError;
use crate::core::journal::{self, Entry, Verdict};
use crate::output::emit;
use crate::session::{Outcome, Session};
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// The longest line an export may hold: an entry's body is ids and names.
const LINE_MAX: usize = 64 * 1024;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// Recompute the chain and name the first entry that does not hold (exit 1)
    Verify {
        /// An export (`afk audit export`) to check instead of the state file
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// A head published earlier (`SEQ:HASH`, as the run span and the
        /// status page give it): the chain must still hold it
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<String>,
    },
    /// Every entry as JSON Lines on stdout, oldest first
    Export {
        /// Only the entries of the last DURATION (`7d`, `30d`)
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
    },
    /// One run's entries
    Show {
        /// The run's id (`afk runs`)
        run: i64,
    },
}

#[derive(Serialize)]
struct Verified {
    command: &'static str,
    intact: bool,
    count: Option<u64>,
    head: Option<String>,
    /// the first entry that does not hold, and how
    broken: Option<(u64, &'static str)>,
}

pub fn run(ctx: &Session, a: &Args) -> Result<Outcome> {
    match &a.what {
        What::Verify { file, head } => verify(ctx, file.as_deref(), head.as_deref()),
        What::Export { since } => export(ctx, since.as_deref()),
        What::Show { run } => show(ctx, *run),
    }
}

fn verify(ctx: &Session, file: Option<&Path>, head: Option<&str>) -> Result<Outcome> {
    let published = match head {
        None => None,
        Some(h) => Some(parse_head(h)?),
    };
    let entries = match file {
        Some(f) => read_export(f)?,
        None => {
            ctx.load()?;
            ctx.read_store()?.journal(None)?
        }
    };
    let verdict = journal::verify(&entries, published.as_ref().map(|(s, h)| (*s, h.as_str())));
    let (doc, text, code) = match verdict {
        Verdict::Intact { count, head } => (
            Verified {
                command: "audit verify",
                intact: true,
                count: Some(count),
                head: Some(head.clone()),
                broken: None,
            },
            format!("journal intact: {count} entries, head {count}:{head}\n"),
            0,
        ),
        Verdict::Broken { seq, why } => (
            Verified {
                command: "audit verify",
                intact: false,
                count: None,
                head: None,
                broken: Some((seq, why.says())),
            },
            format!("journal broken: entry {seq} was {}\n", why.says()),
            1,
        ),
    };
    emit(ctx.json(), &doc, &text);
    Ok(Outcome::code(code))
}

/// `SEQ:HASH`.
fn parse_head(h: &str) -> Result<(u64, String)> {
    let bad = || {
        UsageError(format!(
            "audit verify: --head {}: give SEQ:HASH (a number, a colon, 64 hex digits)",
            crate::core::sanitize::one_line(h, 80)
        ))
    };
    let (seq, hash) = h.split_once(':').ok_or_else(bad)?;
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad().into());
    }
    Ok((seq, hash.to_ascii_lowercase()))
}

/// An export's entries, read line by line (each at most [`LINE_MAX`]); a
/// line that is no entry is the file's error, never skipped.
fn read_export(f: &Path) -> Result<Vec<Entry>> {
    let file = std::fs::File::open(f)
        .with_context(|| format!("audit verify: cannot read {}", f.display()))?;
    let mut out = vec![];
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(LINE_MAX as u64 + 1)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("audit verify: cannot read {}", f.display()))?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.len() > LINE_MAX {
            anyhow::bail!(
                "audit verify: {} line {n}: longer than {LINE_MAX} bytes: no journal entry",
                f.display()
            );
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(text.trim()).map_err(|e| {
            anyhow::anyhow!(
                "audit verify: {} line {n}: not a journal entry ({e})",
                f.display()
            )
        })?;
        out.push(e);
    }
    Ok(out)
}

fn export(ctx: &Session, since: Option<&str>) -> Result<Outcome> {
    let from = match since {
        None => None,
        Some(s) => {
            let d = crate::config::parse_duration(s).map_err(|e| {
                UsageError(format!(
                    "audit export: --since {}: {e}",
                    crate::core::sanitize::one_line(s, 60)
                ))
            })?;
            let now = crate::clock::now();
            let t = now
                .checked_sub(time::Duration::try_from(d).unwrap_or(time::Duration::ZERO))
                .unwrap_or(now);
            Some(crate::clock::ts(t))
        }
    };
    ctx.load()?;
    let entries = ctx.read_store()?.journal(from.as_deref())?;
    let mut text = String::new();
    for e in &entries {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    crate::output::text(&text);
    Ok(Outcome::OK)
}

#[derive(Serialize)]
struct Shown {
    command: &'static str,
    run: i64,
    entries: Vec<Entry>,
}

fn show(ctx: &Session, run: i64) -> Result<Outcome> {
    ctx.load()?;
    let entries = ctx.read_store()?.journal_of_run(run)?;
    let mut text = String::new();
    for e in &entries {
        text.push_str(&format!(
            "{:>6}  {}  {:<14} {}\n",
            e.seq, e.at, e.kind, e.body
        ));
    }
    if entries.is_empty() {
        text.push_str(&format!("no journal entries for run {run}\n"));
    }
    emit(
        ctx.json(),
        &Shown {
            command: "audit show",
            run,
            entries,
        },
        &text,
    );
    Ok(Outcome::OK)
}
