//! The store's caches as the forge's ports: the state file's `etags` table
//! is the forge's [`ConditionalCache`], its `app_tokens` table the GitHub
//! App's [`TokenKeeper`], its `forge_ids` table the forge's [`RepoIds`], its `forge_votes` table
//! its [`VotesSeen`] and its `tracker_ids` table a tracker's [`IssueNumbers`].
//! Here, at the edges, because the store names no forge and the forge
//! names no store.

use crate::config::Config;
use crate::forge::app::TokenKeeper;
use crate::forge::http::{Cached, ConditionalCache};
use crate::forge::setup::{Books, IssueNumbers, RepoIds, VotesSeen};
use crate::store::app_tokens::TokenFile;
use crate::store::etags::EtagCache;
use crate::store::forge_ids::IdFile;
use crate::store::forge_votes::VoteFile;
use crate::store::tracker_ids::NumberFile;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

/// The state file's `etags` table as the client's cache (a wrapper: the
/// trait is `afk-http`'s and the table `afk-store`'s, and neither crate
/// names the other). Written when dropped at the end of the tick.
pub struct Etags(pub EtagCache);

impl ConditionalCache for Etags {
    fn get(&self, url: &str) -> Option<Cached> {
        self.0.get(url)
    }
    fn put(&self, url: &str, entry: Cached) {
        self.0.put(url, entry)
    }
}

/// The state file's `app_tokens` table as the app's keeper (a wrapper, as
/// [`Etags`]: the trait is `afk-forge`'s, the table `afk-store`'s).
pub struct Tokens(pub TokenFile);

impl TokenKeeper for Tokens {
    fn load(&self, app_id: u64, installation_id: u64) -> Option<(String, OffsetDateTime)> {
        self.0.load(app_id, installation_id)
    }
    fn save(&self, app_id: u64, installation_id: u64, token: &str, expires_at: OffsetDateTime) {
        self.0.save(app_id, installation_id, token, expires_at)
    }
}

/// The keeper for a tick on the state file at `path`.
pub fn keeper(path: &Path, dry_run: bool) -> Box<dyn TokenKeeper> {
    Box::new(Tokens(TokenFile {
        path: path.to_path_buf(),
        dry_run,
    }))
}

/// The state file's `forge_ids` table as the forge's keeper of
/// repositories' ids (a wrapper, as [`Tokens`]).
/// The table is read whole at the first lookup of a tick, once.
#[derive(Debug)]
// the Err is a string: a first read's failure, said again by every lookup
pub struct Ids(pub IdFile, std::sync::OnceLock<Result<IdTable, String>>);

/// The recorded ids by name: `name → (project id, repository id)`.
type IdTable = std::collections::HashMap<String, (String, String)>;

impl RepoIds for Ids {
    fn recorded(&self, name: &str) -> anyhow::Result<Option<(String, String)>> {
        let table = self.1.get_or_init(|| {
            (self.0.all())
                .map(|rows| rows.into_iter().map(|(n, p, r)| (n, (p, r))).collect())
                .map_err(|e| format!("{e:#}"))
        });
        match table {
            Ok(t) => Ok(t.get(name).cloned()),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    }
    fn record(&self, name: &str, project_id: &str, repository_id: &str) -> anyhow::Result<()> {
        self.0.record(name, project_id, repository_id)
    }
}

/// What a tick of `c`'s forge keeps on the state file at `path` between
/// ticks (a dry run's reads and never writes), by the forge's API root (a
/// config without one builds no forge: building it says why): the
/// repositories' ids and the votes' first sightings.
pub fn books(c: &Config, path: &Path, dry_run: bool) -> Books {
    let forge = c.api_root().unwrap_or_default();
    Books {
        repo_ids: Arc::new(Ids(
            IdFile {
                path: path.to_path_buf(),
                forge: forge.clone(),
                dry_run,
            },
            std::sync::OnceLock::new(),
        )),
        votes_seen: Arc::new(Votes(VoteFile {
            path: path.to_path_buf(),
            forge,
            dry_run,
        })),
        // the status issue is a forge issue told apart by its number
        issue_numbers: Arc::new(Numbers(
            NumberFile::new(path.to_path_buf(), c.tracker_api_root(), dry_run)
                .skipping(c.status_issue.as_ref().map(|s| s.number.0)),
        )),
        agent_sessions: Arc::new(Sessions(
            path.parent().unwrap_or(Path::new(".")).join(SESSIONS_DIR),
        )),
        tracker_rate: Arc::new(RateFile {
            path: path.parent().unwrap_or(Path::new(".")).join(RATE_FILE),
            root: c.tracker_api_root(),
            dry_run,
        }),
    }
}

/// Where the tracker's spent rate limit is kept between ticks, beside the
/// state file: one line, `<API root> <reset in epoch seconds>`.
pub const RATE_FILE: &str = "tracker-rate-limit";

/// [`RATE_FILE`] as the tracker client's [`crate::forge::http::RateCarry`]:
/// a line naming another API root (the config changed) is none; a dry run
/// reads it and writes nothing.
#[derive(Debug)]
pub struct RateFile {
    pub path: std::path::PathBuf,
    pub root: String,
    pub dry_run: bool,
}

impl crate::forge::http::RateCarry for RateFile {
    fn kept(&self) -> Option<u64> {
        let f = std::fs::File::open(&self.path).ok()?;
        let text = crate::forge::http::bounded::read_short(f, 4096);
        let (root, reset) = text.trim().rsplit_once(' ')?;
        (root == self.root).then(|| reset.parse().ok()).flatten()
    }
    fn keep(&self, reset: u64) {
        if self.dry_run {
            return;
        }
        // whole or not at all, owner-only as the state beside it
        let written =
            crate::metrics::replace_file(&self.path, &format!("{} {reset}\n", self.root), 0o600);
        if let Err(e) = written {
            crate::log::warn(&format!(
                "the tracker's rate-limit reset was not kept in {}: {e}",
                self.path.display()
            ));
        }
    }
}

/// Where `afk hook` keeps its flag per agent session it acknowledged,
/// beside the state file: `<issue id>.<session id>`, empty.
pub const SESSIONS_DIR: &str = "agent-sessions";

/// The most flag files one read of [`SESSIONS_DIR`] lists; past them the
/// read is an error, said, never a silent cut.
const SESSION_FLAGS_MAX: usize = 100_000;

/// The agent sessions `afk hook` heard of (its flags in [`SESSIONS_DIR`]),
/// as the tracker's book of them: an issue's by their names' first part,
/// in the order they were made (then by name).
#[derive(Debug)]
pub struct Sessions(pub std::path::PathBuf);

impl crate::forge::setup::AgentSessions for Sessions {
    fn heard(&self, issue: &str) -> anyhow::Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.0) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => anyhow::bail!("{}: {e}", self.0.display()),
        };
        let mut found = vec![];
        for (n, e) in entries.enumerate() {
            if n >= SESSION_FLAGS_MAX {
                anyhow::bail!(
                    "{} holds more than {SESSION_FLAGS_MAX} agent session flags: remove the old ones",
                    self.0.display()
                );
            }
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            let Some(session) = name.strip_prefix(issue).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let made = e.metadata().and_then(|m| m.modified()).ok();
            found.push((made, session.to_string()));
        }
        found.sort();
        Ok(found.into_iter().map(|(_, s)| s).collect())
    }
}

/// Remove the session flags in `dir` past their days
/// (`core::hook::tracker_hint::session_flag_stale`, by their files'
/// modification times against `now`), looking at no more than
/// [`SESSION_FLAGS_MAX`] of them: how many were removed. A flag that could
/// not be read or removed is left, said in the log.
pub fn prune_sessions(dir: &Path, now: std::time::SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.take(SESSION_FLAGS_MAX).flatten() {
        let age = (e.metadata().and_then(|m| m.modified()).ok())
            .and_then(|made| now.duration_since(made).ok())
            .map(|d| d.as_secs());
        if !crate::core::hook::tracker_hint::session_flag_stale(age) {
            continue;
        }
        match std::fs::remove_file(e.path()) {
            Ok(()) => removed += 1,
            Err(err) => crate::log::warn(&format!(
                "hook: an old agent session flag {} was not removed: {err}",
                e.path().display()
            )),
        }
    }
    removed
}

/// The state file's `tracker_ids` table as the tracker's book of issue
/// numbers (a wrapper, as [`Ids`]).
#[derive(Debug)]
pub struct Numbers(pub NumberFile);

impl IssueNumbers for Numbers {
    fn number(&self, id: &str) -> anyhow::Result<u64> {
        self.0.number(id)
    }
    fn id(&self, n: u64) -> anyhow::Result<Option<String>> {
        self.0.id(n)
    }
}

/// The state file's `forge_votes` table as the forge's keeper of votes'
/// first sightings (a wrapper, as [`Ids`]), dated by the clock when asked.
#[derive(Debug)]
pub struct Votes(pub VoteFile);

impl VotesSeen for Votes {
    fn first_seen(&self, pr: &str, voter: &str, vote: i64) -> anyhow::Result<String> {
        // to the microsecond: a sighting in the second the run began
        // (`created_at`, as precise) is still after it
        let now = crate::clock::ts_precise(crate::clock::now());
        self.0.first_seen(pr, voter, vote, &now)
    }
}
