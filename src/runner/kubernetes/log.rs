//! The pod log's mirror (docs/runners.md#kubernetes-a-job-per-turn): the
//! agent container's log read past a cursor, within bounds, into the run
//! folder's `agent.log` and `progress.jsonl`, where watch reads progress and
//! spend as it does for the command runner.

use super::client::kind_of;
use super::{CURSOR_FILE, GATEWAY_CURSOR_FILE, KubernetesRunner};
use crate::core::kube as k8s;
use crate::forge::Failure;
use crate::private_files::read_run_file;
use anyhow::{Context, Result, anyhow};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Which container's log is mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    /// The agent's: every line to `agent.log`, JSON ones to `progress.jsonl`.
    Agent,
    /// The model gateway's (docs/kubernetes.md#the-model-gateway): its metered lines to
    /// `metered.jsonl`, the turn's stop at its budget to
    /// `budget-stop.json`, its other words to `agent.log`.
    Gateway,
}

impl Container {
    fn name(self) -> &'static str {
        match self {
            Container::Agent => "agent",
            Container::Gateway => crate::core::kube::gateway::CONTAINER,
        }
    }

    fn cursor(self) -> &'static str {
        match self {
            Container::Agent => CURSOR_FILE,
            Container::Gateway => GATEWAY_CURSOR_FILE,
        }
    }
}

impl KubernetesRunner {
    /// Read the agent container's log past the cursor, as a stream: at most
    /// [`k8s::LOG_READ_BYTES`] a read (`limitBytes`), from the cursor's
    /// second (`sinceTime`), line by line with no line over
    /// [`k8s::LOG_LINE_MAX`] held (longer ones are passed over, counted, and
    /// said in `agent.log`). Every line goes to `agent.log`, lines with JSON
    /// to `progress.jsonl`; the cursor always moves past what was read.
    /// Returns the log's last timestamp. A pod that is gone (404) has
    /// nothing more to say: the Job's status tells how the turn ended.
    pub(super) fn follow_log(
        &self,
        job: &str,
        pod: &str,
        run_dir: &Path,
        container: Container,
    ) -> Result<Option<OffsetDateTime>> {
        let cursor_path = run_dir.join(container.cursor());
        let cursor = read_run_file(&cursor_path, super::super::SMALL_RECORD)
            .ok()
            .and_then(|s| k8s::LogCursor::parse(&s))
            .filter(|c| c.job == job);
        let mut path = format!(
            "{}/{pod}/log?container={}&timestamps=true&limitBytes={}",
            self.api.ns("pods"),
            container.name(),
            k8s::LOG_READ_BYTES
        );
        if let Some(c) = &cursor {
            path.push_str(&format!(
                "&sinceTime={}",
                c.since().replace(':', "%3A").replace('+', "%2B")
            ));
        }
        // no more than was asked for, whatever the API sends
        let answer = match self.api.stream(&path, k8s::LOG_READ_BYTES as u64) {
            Ok(r) => r,
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => return Ok(cursor.map(|c| c.at)),
            Err(e) => return Err(e),
        };
        let mut mirror = Mirror::open(run_dir, container)?;
        let mut walk = k8s::LogWalk::new(cursor.as_ref());
        let read = mirror.copy(answer, &mut walk)?;
        let stuck = read.bytes >= k8s::LOG_READ_BYTES as u64 && read.taken == 0;
        let Some(next) = walk.cursor(job, stuck) else {
            return Ok(None);
        };
        if read.skipped > 0 {
            mirror.note(&format!(
                "[afk] {} over {} MiB passed over (not read for progress or spend)",
                crate::core::plural(read.skipped as usize, "log line", "log lines"),
                k8s::LOG_LINE_MAX >> 20
            ))?;
        }
        if cursor.as_ref() != Some(&next) {
            crate::private_files::private_write(&cursor_path, next.line().as_bytes())?;
        }
        mirror.close(next.at)?;
        Ok(Some(next.at))
    }
}

/// What one log read did.
struct Read {
    bytes: u64,
    taken: u64,
    skipped: u64,
}

/// The run folder's copy of a pod log: `agent.log` (every line) and
/// `progress.jsonl` (lines holding JSON), appended through small buffers.
struct Mirror {
    log: std::io::BufWriter<std::fs::File>,
    /// `progress.jsonl` (the agent's), `metered.jsonl` (the gateway's)
    progress: std::io::BufWriter<std::fs::File>,
    dir: PathBuf,
    container: Container,
}

impl Mirror {
    fn open(dir: &Path, container: Container) -> Result<Mirror> {
        let json = match container {
            Container::Agent => "progress.jsonl",
            Container::Gateway => crate::core::gateway::metered::FILE,
        };
        Ok(Mirror {
            log: std::io::BufWriter::new(open_append(&dir.join("agent.log"))?),
            progress: std::io::BufWriter::new(open_append(&dir.join(json))?),
            dir: dir.to_path_buf(),
            container,
        })
    }

    /// Copy the new lines of `from` (a timestamped log) past `walk`'s cursor.
    fn copy(&mut self, from: impl std::io::Read, walk: &mut k8s::LogWalk) -> Result<Read> {
        use crate::core::lines::{BoundedLines, Line};
        let mut lines = BoundedLines::new(k8s::LOG_LINE_MAX);
        let (mut taken, mut skipped) = (0, 0);
        let mut failed: Option<std::io::Error> = None;
        let mut each = |l: Line| {
            let (bytes, over) = match l {
                Line::Whole(b) => (b, false),
                Line::Over(head) => (head, true),
            };
            let text = String::from_utf8_lossy(bytes);
            let Some((t, rest)) = k8s::log_line(&text) else {
                return;
            };
            if !walk.take(t) {
                return;
            }
            taken += 1;
            if over {
                skipped += 1;
                return;
            }
            // the pod's log passes the redacting sink like every text afk writes
            if let Err(e) = self.write_line(&crate::redact::text(rest)) {
                failed.get_or_insert(e);
            }
        };
        let bytes = read_chunks(from, |chunk| lines.feed(chunk, &mut each));
        // the answer's last line without its newline was cut by limitBytes:
        // it comes again from the cursor
        lines.finish(false, &mut each);
        if let Some(e) = failed {
            return Err(anyhow!(e)).with_context(|| {
                format!(
                    "runner: cannot write {}",
                    self.dir.join("agent.log").display()
                )
            });
        }
        Ok(Read {
            bytes,
            taken,
            skipped,
        })
    }

    /// One redacted log line where it belongs: the gateway's JSON lines are
    /// its metered lines (`metered.jsonl`) or its stop at the budget
    /// (`budget-stop.json`); every other line goes to `agent.log`, and the
    /// agent's lines holding JSON to `progress.jsonl` too.
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        use std::io::Write;
        let gateway = self.container == Container::Gateway;
        if gateway && line.starts_with('{') {
            return match serde_json::from_str::<serde_json::Value>(line) {
                // the turn stopped at its budget: watch escalates it
                Ok(v) if v.get("budget_stop").is_some() => crate::private_files::private_write(
                    &self.dir.join(crate::core::gateway::budget::STOP_FILE),
                    format!("{}\n", v["budget_stop"]).as_bytes(),
                ),
                Ok(_) => {
                    self.progress.write_all(line.as_bytes())?;
                    self.progress.write_all(b"\n")
                }
                Err(_) => Ok(()),
            };
        }
        self.log.write_all(line.as_bytes())?;
        self.log.write_all(b"\n")?;
        if line.contains('{') && !gateway {
            self.progress.write_all(line.as_bytes())?;
            self.progress.write_all(b"\n")?;
        }
        Ok(())
    }

    fn note(&mut self, line: &str) -> Result<()> {
        use std::io::Write;
        writeln!(self.log, "{line}")?;
        Ok(())
    }

    /// Flush both, stamped with the log's last time (what `stall_after`
    /// measures from, docs/runners.md#kubernetes-a-job-per-turn).
    fn close(mut self, at: OffsetDateTime) -> Result<()> {
        use std::io::Write;
        self.log.flush()?;
        self.progress.flush()?;
        for f in [self.log.get_ref(), self.progress.get_ref()] {
            let _ = f.set_modified(at.into());
        }
        Ok(())
    }
}

/// Hand `from`'s bytes to `feed` chunk by chunk until its end or a read
/// that fails (what came is kept, the rest comes next tick); the bytes read.
fn read_chunks(mut from: impl std::io::Read, mut feed: impl FnMut(&[u8])) -> u64 {
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        bytes += n as u64;
        feed(&buf[..n]);
    }
    bytes
}

fn open_append(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("runner: cannot write {}", path.display()))
}
