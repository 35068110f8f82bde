// One file: the store's opening (~840 lines: migrations in order, identity, errors, the write lock; each table family has its own file) and its tests.
//! The one SQLite file: WAL, busy timeout, forward-only migrations keyed by
//! `PRAGMA user_version`. One file per table family.
//!
//! Its own crate (`afk-store`), below every adapter: it names the model, the
//! core and the host, never a forge, a runner or a command. The binary
//! re-exports it as `afk::store`.

pub mod advisories_index;
pub mod app_tokens;
pub mod comments_read;
pub mod etags;
pub mod events;
pub mod figures;
pub mod forge_ids;
pub mod forge_votes;
pub mod freezes;
pub mod gauges;
pub mod hooks;
pub mod instance;
pub mod journal;
pub mod lessons;
pub mod outbox;
pub mod outcomes;
pub mod page;
pub mod posts;
pub mod report;
pub mod run_span;
pub mod runs;
pub mod skips;
pub mod status_issue;
pub mod talk;
pub mod templates;
pub mod tick_health;
pub mod touch;
pub mod tracker_ids;
pub mod turns;
pub mod upgrades;

// the paths the store's files name, as in the binary they came from
use afk_core as core;
use afk_host::{clock, log};
use afk_model as types;

use crate::types::stamp::Timestamp;
use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// Forward-only migrations; entry i takes the schema from version i to i+1.
const MIGRATIONS: &[&str] = &[
    // 1: runs, template versions, frozen repos, the event outbox
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        repo TEXT NOT NULL,
        issue INTEGER NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        ready_event_id INTEGER,
        state TEXT NOT NULL,
        template_name TEXT,
        template_version_id INTEGER,
        template_version INTEGER,
        template_hash TEXT,
        runner_kind TEXT NOT NULL DEFAULT 'command',
        runner_handle TEXT,
        runner_pid INTEGER,
        runner_start_time INTEGER,
        run_dir TEXT,
        branch TEXT NOT NULL DEFAULT '',
        turns INTEGER NOT NULL DEFAULT 0,
        end_reason TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        ended_at TEXT
    );
    CREATE INDEX runs_by_state ON runs(state);
    CREATE INDEX runs_by_issue ON runs(repo, issue, ready_event_id);
    CREATE TABLE template_versions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status_at TEXT NOT NULL,
        UNIQUE(name, version)
    );
    CREATE TABLE frozen_repos (
        repo TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        run_id INTEGER,
        frozen_at TEXT NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        repo TEXT,
        issue INTEGER,
        run_id INTEGER,
        reason TEXT,
        url TEXT,
        text TEXT NOT NULL,
        sent_at TEXT
    );",
    // 2: the lessons journal (docs/reports.md#afk-lessons). Additive and idempotent:
    // nothing else changes shape.
    LESSONS_SCHEMA,
    // 3: what watch tracks per run, and per-channel delivery marks on the outbox
    "ALTER TABLE runs ADD COLUMN pr_number INTEGER;
    ALTER TABLE runs ADD COLUMN pr_url TEXT;
    ALTER TABLE runs ADD COLUMN head_sha TEXT;
    ALTER TABLE runs ADD COLUMN progress_fp TEXT;
    ALTER TABLE runs ADD COLUMN last_progress_at TEXT;
    ALTER TABLE runs ADD COLUMN green_since TEXT;
    ALTER TABLE runs ADD COLUMN checklist_comment_id INTEGER;
    ALTER TABLE runs ADD COLUMN checklist_text TEXT;
    ALTER TABLE runs ADD COLUMN escalation_comment_id INTEGER;
    ALTER TABLE events ADD COLUMN slack_sent_at TEXT;
    ALTER TABLE events ADD COLUMN webhook_sent_at TEXT;
    CREATE INDEX events_unsent ON events(sent_at);",
    // 4: comment POSTs whose answer may have been lost (posts.rs)
    "CREATE TABLE pending_posts (
        key TEXT PRIMARY KEY,
        attempted_at TEXT NOT NULL
    );",
    // 5: the template canary (outcomes.rs, templates.rs;
    // docs/how-it-works.md#afk-harvest-and-the-template-canary)
    CANARY_SCHEMA,
    // 6: afk upgrade's PRs and their flow (upgrades.rs)
    upgrades::SCHEMA,
    // 7: the conditional-request cache (etags.rs): GitHub answers 304 to an
    // unchanged GET at no rate-limit cost, and the stored body is reused
    "CREATE TABLE etags (
        url TEXT PRIMARY KEY,
        etag TEXT NOT NULL,
        body TEXT NOT NULL,
        link TEXT,
        used_at INTEGER NOT NULL DEFAULT 0
    );",
    // 8: what each run spent (`core::budget::spend`): the figure (NULL: nothing
    // reported yet), the ledger it comes from (per turn, and where each
    // stream was read up to), and the dispatch-day index the budget reads
    "ALTER TABLE runs ADD COLUMN spend_usd REAL;
    ALTER TABLE runs ADD COLUMN spend_ledger TEXT;
    CREATE INDEX runs_by_created ON runs(created_at);",
    // 9: upgrade flows that finish: fixer start, step, queue, tests PR, scans (upgrades.rs)
    upgrades::FLOW_SCHEMA,
    // 10: when watch first saw the run's PR (`afk runs show`'s timeline)
    "ALTER TABLE runs ADD COLUMN pr_seen_at TEXT;",
    // 11: the GitHub App's installation token, reused across ticks (app_tokens.rs)
    app_tokens::SCHEMA,
    // 12: the status page's last ended runs, newest first, without a sort
    // of every run (page.rs)
    "CREATE INDEX runs_by_ended ON runs(ended_at) WHERE ended_at IS NOT NULL;",
    // 13: this state file's own id, drawn once (instance.rs): it names the
    // Kubernetes Jobs afk makes, so two instances in one namespace never
    // take each other's
    instance::SCHEMA,
    // 14: per tick kind, the last start, end, exit code and error count
    // (tick_health.rs; docs/reports.md#afk-status)
    tick_health::SCHEMA,
    // 15: the conversation on the PR (talk.rs; docs/reviews.md): review turns,
    // holds, stops, and every review and command acted on or ignored, once
    talk::SCHEMA,
    // 16: the armed issues the last poll skipped, and why (skips.rs; the
    // status issue shows them)
    skips::SCHEMA,
    // 17: what afk last pushed to an upgrade PR's branch, on which main
    // (upgrades.rs: own branches kept current)
    upgrades::PUSHED_SCHEMA,
    // 18: when the retest comment was made, by the forge's clock (talk.rs):
    // a red CI waits for a result reported after it (docs/reviews.md#retests)
    talk::RETEST_AT_SCHEMA,
    // 19: each corrective turn's start and reason (turns.rs: `afk runs
    // show`'s timeline, one line per turn)
    turns::SCHEMA,
    // 20: what afk last wrote to the status issue (status_issue.rs): an
    // unchanged text costs no request, not a GET per tick
    status_issue::SCHEMA,
    // 21: watch's last decision for a run in flight (`wait awaiting-merge`),
    // so `afk status` shows where each run stands, not only `dispatched`
    "ALTER TABLE runs ADD COLUMN watch_said TEXT;",
    // 22: the PR head's CI as watch last saw it (`green`, `red`, `pending`,
    // `none`), kept after the run ends: the status page's CI of a merged run
    "ALTER TABLE runs ADD COLUMN last_ci TEXT;",
    // 23: what afk first read of each comment of a run (comments_read.rs):
    // one read as no command never becomes one, whatever its dates say
    comments_read::SCHEMA,
    // 24: what afk's PR body was last compared or written from (runs.rs):
    // a tick whose facts are the same reads no git and sends nothing
    "ALTER TABLE runs ADD COLUMN pr_body_key TEXT;",
    // 25: when the ready label that armed the run's issue was added, as the
    // forge dated its event (runs.rs): the report measures from the arming;
    // NULL for runs an older afk claimed (the report measures those from
    // the dispatch)
    "ALTER TABLE runs ADD COLUMN armed_at TEXT;",
    // 26: the webhook deliveries afk hook handled (bounded), and per tick
    // kind the ticks events started (hooks.rs; docs/hook.md)
    hooks::SCHEMA,
    // 27: the comments a signed webhook delivery said were edited
    // (hooks.rs): an edit in a comment's own second shows in no date
    hooks::EDITS_SCHEMA,
    // 28: how far afk read each review's threads (talk.rs): a trusted reply
    // in one asks again
    talk::LINES_READ_SCHEMA,
    // 29: the head a turn started from and afk's answer to it (turns.rs)
    turns::ANSWER_SCHEMA,
    // 30: the comments a signed webhook delivery said were written just
    // now, each in its edit grace (hooks.rs): no command taken from one
    // before its grace ends
    hooks::GRACES_SCHEMA,
    // 31: zero-touch merges and line survival (touch.rs): the
    // heads afk recorded for each run, and each merged run's verdict and
    // line counts, recorded once (NULL: not decided)
    touch::SCHEMA,
    // 32: a run paused at a limit and continued, and its own limits
    // (talk.rs): a paused run stays in flight
    talk::PAUSE_SCHEMA,
    // 33: the telemetry outbox (outbox.rs): run and late-fact
    // spans, recorded with the end or the fact, until a collector takes them
    outbox::SCHEMA,
    // 34: a run's past pauses and continuations (talk.rs), each
    // written with the pause or the continuation
    talk::PAUSE_HISTORY_SCHEMA,
    // 35: the ids a forge addresses a repository by after its first read
    // (forge_ids.rs): a renamed Azure DevOps repository
    // keeps them, and is read under its new name
    forge_ids::SCHEMA,
    // 36: when afk first saw each reviewer's vote at its value
    // (forge_votes.rs): an Azure DevOps vote no system comment dates
    forge_votes::SCHEMA,
    // 37: a branch update the forge was still making (talk.rs):
    // asked after by its token, never asked again
    talk::UPDATE_UNDER_WAY_SCHEMA,
    // 38: the hash-chained journal of what afk did (journal.rs)
    journal::SCHEMA,
    // 39: what harvest found for the leaderboard figures (figures.rs): a
    // merged run's revert found at any time, its 7-day churn
    figures::SCHEMA,
    // 40: afk's numbers for a tracker's issues whose id is a UUID
    // (tracker_ids.rs): Linear's, asked by the id, recorded by the number
    tracker_ids::SCHEMA,
];

/// Migration 5, the template canary: when a canary went live and how it ended,
/// per-version outcome tallies (kept in the transaction that changes an
/// outcome, so `template list` never counts a million rows), at most one
/// current and one live canary per name; where a success merged (watch);
/// which ended runs harvest has looked at; one outcome per run; every
/// evaluated checkpoint; and a unique key that makes an event exist once.
const CANARY_SCHEMA: &str = "ALTER TABLE template_versions ADD COLUMN canary_since TEXT;
    ALTER TABLE template_versions ADD COLUMN decision TEXT;
    ALTER TABLE template_versions ADD COLUMN decision_reason TEXT;
    ALTER TABLE template_versions ADD COLUMN successes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE template_versions ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX template_one_current ON template_versions(name) WHERE status = 'current';
    CREATE UNIQUE INDEX template_one_canary ON template_versions(name) WHERE status = 'canary';
    ALTER TABLE runs ADD COLUMN merge_sha TEXT;
    ALTER TABLE runs ADD COLUMN base_branch TEXT;
    ALTER TABLE runs ADD COLUMN merged_at TEXT;
    ALTER TABLE runs ADD COLUMN harvested INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX runs_unharvested ON runs(id) WHERE harvested = 0 AND ended_at IS NOT NULL;
    CREATE INDEX runs_by_merge ON runs(merged_at) WHERE merge_sha IS NOT NULL;
    CREATE TABLE outcomes (
        run_id INTEGER PRIMARY KEY,
        template_version_id INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        dispatched_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        reverted_by TEXT,
        reverted_at TEXT
    );
    CREATE INDEX outcomes_by_version ON outcomes(template_version_id, ended_at, run_id);
    CREATE TABLE canary_checkpoints (
        template_version_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        canary_success INTEGER NOT NULL,
        canary_failure INTEGER NOT NULL,
        control_success INTEGER NOT NULL,
        control_failure INTEGER NOT NULL,
        p_worse REAL NOT NULL,
        p_better REAL NOT NULL,
        result TEXT NOT NULL,
        evaluated_at TEXT NOT NULL,
        PRIMARY KEY (template_version_id, at)
    );
    ALTER TABLE events ADD COLUMN dedup_key TEXT;
    CREATE UNIQUE INDEX events_dedup ON events(dedup_key);";

/// The lessons table and its indexes; safe to run any number of times.
pub const LESSONS_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS lessons (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        updated_at TEXT,
        lesson_type TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        repo TEXT,
        work_item TEXT,
        run_id INTEGER,
        stage TEXT,
        agent TEXT,
        root_cause TEXT,
        suggestion TEXT,
        detail TEXT,
        attribution TEXT,
        target_repo TEXT,
        target_domain TEXT,
        related_item TEXT
    );
    CREATE INDEX IF NOT EXISTS lessons_by_type ON lessons(lesson_type, id);
    CREATE INDEX IF NOT EXISTS lessons_by_status ON lessons(status, id);
    CREATE INDEX IF NOT EXISTS lessons_by_repo ON lessons(repo, id);
    CREATE INDEX IF NOT EXISTS lessons_by_work_item ON lessons(work_item, id);
    CREATE INDEX IF NOT EXISTS lessons_dedup ON lessons(lesson_type, repo, work_item, stage, created_at);";

pub struct Store {
    pub(crate) conn: Connection,
    pub path: PathBuf,
    /// the memdb name of a copy in memory ([`Store::copy_in_memory`])
    copy: Option<String>,
    /// the moment rows written through this handle are stamped with: the
    /// clock read once at open, or the tick's own ([`Store::at`])
    now: Timestamp,
}

/// Where a tick's store lives, as a value every worker thread can hold and
/// open its own connection from: the state file, or a dry run's copy of it in
/// memory (SQLite's `memdb`, shared by this process's connections while the
/// tick's first connection keeps it alive). A copy's writes reach no disk.
#[derive(Clone, Debug)]
pub enum Source {
    File(PathBuf),
    Copy { name: String, path: PathBuf },
}

impl Source {
    /// A new connection (the file: created and migrated when missing).
    pub fn open(&self) -> Result<Store> {
        match self {
            Source::File(path) => Store::open(path),
            Source::Copy { name, path } => Store::connect_copy(name, path),
        }
    }
    /// A connection when there is something to read: the file only when it
    /// exists (never creating it), a copy always.
    pub fn read_existing(&self) -> Result<Option<Store>> {
        match self {
            Source::File(path) => Store::read_existing(path),
            Source::Copy { .. } => self.open().map(Some),
        }
    }
    /// Whether what is written here outlasts the tick (a copy's ids do not).
    pub fn lasts(&self) -> bool {
        matches!(self, Source::File(_))
    }
}

static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A state file's failure as the operator reads it: what is wrong
/// (`message`), and which [`Trouble`] it is, from which the binary says what
/// to do about it (its hint: the store carries no advice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub message: String,
    pub trouble: Trouble,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for StateError {}

/// The state file at `path` opened alone (read-write or read-only), when
/// it is there and holds `table`: a forge's keeper's own connection, beside
/// the tick's (an older afk's file, or a dry run's missing one, has none).
pub(crate) fn open_with_table(
    path: &Path,
    table: &str,
    write: bool,
) -> anyhow::Result<Option<rusqlite::Connection>> {
    use rusqlite::OpenFlags;
    if !path.exists() {
        return Ok(None);
    }
    let failed = |e: rusqlite::Error| anyhow::Error::new(describe(path, &e));
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = rusqlite::Connection::open_with_flags(path, flags).map_err(failed)?;
    c.busy_timeout(busy_timeout()).map_err(failed)?;
    let tables: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .map_err(failed)?;
    Ok((tables > 0).then_some(c))
}

pub(crate) fn describe(path: &Path, e: &rusqlite::Error) -> StateError {
    let s = match e {
        // a stored value afk does not know: its own words name the row and
        // the value; rusqlite's "Conversion error from type … at index" adds
        // nothing an operator can act on
        rusqlite::Error::FromSqlConversionFailure(_, _, why) => why.to_string(),
        _ => e.to_string(),
    };
    let trouble = trouble(e, afk_host::private_files::no_room_at(path));
    let message = match trouble {
        // SQLite's own words ("disk I/O error") would send an operator
        // to the hardware
        Trouble::Full => format!(
            "state: the disk holding {} is full (No space left on device)",
            path.display()
        ),
        Trouble::NotAfks => format!(
            "state: {} is not a valid afk state file ({s})",
            path.display()
        ),
        Trouble::Locked => format!(
            "state: {} is locked by another process ({s})",
            path.display()
        ),
        _ => format!("state: {}: {s}", path.display()),
    };
    StateError { message, trouble }
}

/// What a state file's failure is for the operator (a SQLite failure by its
/// result code, never by its words, which SQLite may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// not a database, or a damaged one
    NotAfks,
    /// a database of another program's (another application id)
    Foreign,
    /// written by a newer afk: a schema this one does not know
    Newer,
    /// another process holds it
    Locked,
    /// the disk is full (SQLite says "database or disk is full", or, when a
    /// write or its shared memory cannot grow, "disk I/O error")
    Full,
    /// the state folder or file cannot be written by this user (its mode or
    /// owner, an immutable flag, a read-only file system)
    ReadOnly,
    /// the state folder or file is there but this user cannot read it (its
    /// mode or owner: a timer or cron running afk as another user)
    Unreadable,
    Other,
}

/// A writing tick keeps its lock and SQLite's journal in the state folder
/// and its records in the state file: a folder or file this user cannot
/// read ([`check_readable`]) or write is said before the tick reads or
/// sends anything, in one line, the same for every tick. One that does not
/// exist yet is the tick's to create.
pub fn check_writable(file: &Path) -> std::result::Result<(), StateError> {
    check_readable(file)?;
    let dir = folder_of(file);
    for path in [dir, file] {
        match afk_host::private_files::can_write(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(unwritable(path, &e.to_string()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether the state file is there, told apart from a state folder or
/// file that is there but this user cannot read (#82: a timer run as the
/// wrong user must not read "nothing dispatched yet"): Ok(false) only when
/// there is none (a fresh install), Ok(true) when it is there and
/// readable, else one line naming the folder or the file.
pub fn check_readable(file: &Path) -> std::result::Result<bool, StateError> {
    let dir = folder_of(file);
    // a folder this user cannot search hides whether the file is in it
    match afk_host::private_files::can_search(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(unreadable(dir, &e.to_string()));
        }
        _ => {}
    }
    match file.try_exists() {
        Ok(false) => return Ok(false),
        Ok(true) => {}
        Err(e) => return Err(unreadable(file, &e.to_string())),
    }
    afk_host::private_files::can_read(file).map_err(|e| unreadable(file, &e.to_string()))?;
    Ok(true)
}

/// The folder holding the state file (`.` for a bare name).
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn unreadable(path: &Path, why: &str) -> StateError {
    StateError {
        message: format!(
            "state: {} cannot be read by this user ({why})",
            path.display()
        ),
        trouble: Trouble::Unreadable,
    }
}

fn unwritable(path: &Path, why: &str) -> StateError {
    StateError {
        message: format!(
            "state: {} cannot be written by this user ({why})",
            path.display()
        ),
        trouble: Trouble::ReadOnly,
    }
}

/// `no_room`: the file system holding the state file has no room left.
fn trouble(e: &rusqlite::Error, no_room: bool) -> Trouble {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => Trouble::NotAfks,
        Some(DatabaseBusy | DatabaseLocked) => Trouble::Locked,
        Some(DiskFull) => Trouble::Full,
        Some(SystemIoFailure | CannotOpen) if no_room => Trouble::Full,
        _ => Trouble::Other,
    }
}

/// `PRAGMA application_id` of an afk state file ("afk1").
pub const APPLICATION_ID: i64 = 0x6166_6b31;

pub use afk_host::private_files::{private_dir, private_write};

/// A new private (0600) empty state file at `path`, unless one is there: never
/// truncated, so a file another process created and began to write a moment
/// ago (two ticks, or a tick and `afk hook`, opening a new state file at
/// once) is left whole.
fn create_empty(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

/// Is this SQLite file afk's, and of a schema this afk knows? An empty file
/// is afk's to initialise; a file with an older afk's tables (before the
/// application id) is afk's; anything else is refused and never touched.
/// Read in one read transaction: a file another process is creating and
/// migrating at this moment is seen before or after one of its steps, never
/// its version from before and its tables from after (which looked like
/// another program's file).
fn check_identity(conn: &Connection, path: &Path) -> Result<i64> {
    let read = conn
        .unchecked_transaction()
        .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
    let version = identity(&read, path)?;
    read.commit()
        .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
    Ok(version)
}

/// [`check_identity`]'s reads and verdict, in the caller's transaction.
fn identity(conn: &Connection, path: &Path) -> Result<i64> {
    let q = |sql: &str| -> Result<i64> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| anyhow::Error::new(describe(path, &e)))
    };
    // reading proves this is a SQLite file before anything is written
    let version = q("PRAGMA user_version")?;
    let app = q("PRAGMA application_id")?;
    let tables = q("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?;
    let legacy_afk = app == 0
        && version > 0
        && q("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'")? == 1;
    if app != APPLICATION_ID && !(app == 0 && tables == 0) && !legacy_afk {
        return Err(anyhow::Error::new(StateError {
            message: format!(
                "state: {} is not an afk state file (it holds another program's data)",
                path.display()
            ),
            trouble: Trouble::Foreign,
        }));
    }
    if version as usize > MIGRATIONS.len() {
        return Err(anyhow::Error::new(StateError {
            message: format!(
                "state: {} was written by a newer afk (schema {version}, this one knows {})",
                path.display(),
                MIGRATIONS.len()
            ),
            trouble: Trouble::Newer,
        }));
    }
    Ok(version)
}

impl Store {
    /// This handle stamps what it writes with `now`: a tick passes its one
    /// reading of the clock, so every row it writes carries the same moment.
    pub fn at(mut self, now: OffsetDateTime) -> Store {
        self.now = Timestamp::new(now);
        self
    }

    /// The moment this handle stamps rows with.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// [`Store::now`] as stored text (RFC 3339, whole seconds).
    fn stamp(&self) -> String {
        self.now.text()
    }

    /// [`Store::now`] with the second's fraction, for the moments harvest
    /// orders by: a run's dispatch and end, a canary going live.
    fn stamp_precise(&self) -> String {
        self.now.precise()
    }

    /// Open (creating when missing, private: 0700 directory, 0600 file) and
    /// migrate. A file that is not an afk state file is reported and left untouched.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            private_dir(dir).with_context(|| format!("state: cannot create {}", dir.display()))?;
        }
        create_empty(path).with_context(|| format!("state: cannot create {}", path.display()))?;
        let conn = Connection::open(path).map_err(|e| anyhow::Error::new(describe(path, &e)))?;
        // SQLite opens a file it may not write read-only, and says so only
        // at the first write
        if conn.is_readonly(rusqlite::DatabaseName::Main)? {
            return Err(unwritable(path, "SQLite opened it read-only").into());
        }
        conn.busy_handler(Some(short_busy))
            .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
        let version = check_identity(&conn, path)?;
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            copy: None,
            now: Timestamp::new(crate::clock::now()),
        };
        store.migrate(version as usize)?;
        let app: i64 = store
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app != APPLICATION_ID {
            store
                .conn
                .pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(|e| store.err(e))?;
        }
        Ok(store)
    }

    /// The file read-only (an older schema read through a migrated copy in
    /// memory), or an empty in-memory store when there is none yet: reading
    /// never creates or changes a state file (`afk status`, `runs`, `lessons
    /// list`, `template list`, the status page).
    pub fn read(path: &Path) -> Result<Store> {
        if let Some(s) = Store::read_file(path, false)? {
            return Ok(s);
        }
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            copy: None,
            now: Timestamp::new(crate::clock::now()),
        };
        store.migrate(0)?;
        Ok(store)
    }

    /// For `--dry-run`: a writable copy of the state file in memory (an empty,
    /// migrated one when there is no file), which the real tick code may
    /// change freely: the file is only read. Keep the returned connection
    /// for the tick: the copy lives while it is open; [`Store::source`]
    /// opens more connections to it.
    pub fn copy_in_memory(path: &Path) -> Result<Store> {
        let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("file:/afk-copy-{}-{n}?vfs=memdb", std::process::id());
        let mut store = Store::connect_copy(&name, path)?;
        let mut from = 0;
        if check_readable(path)? {
            // read-only and identity-checked, but no quick_check: VACUUM INTO
            // reads every page anyway (and fails on one it cannot read), and a
            // quick_check doubled a dry run's cost on a large state file
            let (file, version) = read_only(path)?;
            from = version;
            // a consistent snapshot (WAL frames included) written as a plain
            // rollback-journal database: memdb has no WAL
            file.execute("VACUUM INTO ?1", [&name])
                .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
        }
        store.migrate(from as usize)?;
        Ok(store)
    }

    fn connect_copy(name: &str, path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(name, flags)
            .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
        conn.busy_handler(Some(short_busy))?;
        // memdb opens no files: sorts and temporary tables stay in memory too
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            copy: Some(name.to_string()),
            now: Timestamp::new(crate::clock::now()),
        })
    }

    /// Where this store lives, for opening more connections to it.
    pub fn source(&self) -> Source {
        match &self.copy {
            Some(name) => Source::Copy {
                name: name.clone(),
                path: self.path.clone(),
            },
            None => Source::File(self.path.clone()),
        }
    }

    /// The file read-only after an integrity check, as [`Store::read`]
    /// otherwise; None when it does not exist (doctor, the metrics file's
    /// gauges, the journal's check).
    pub fn read_existing(path: &Path) -> Result<Option<Store>> {
        Store::read_file(path, true)
    }

    /// The file read-only when it exists; `checked`: after SQLite's
    /// `quick_check` (doctor and the tick's own bookkeeping pay for it; a
    /// command that shows the state does not: on a large file the check is
    /// most of its time, and a page it cannot read fails it anyway).
    fn read_file(path: &Path, checked: bool) -> Result<Option<Store>> {
        // none yet reads as empty; one this user cannot read is an error
        if !check_readable(path)? {
            return Ok(None);
        }
        let (conn, version) = read_only(path)?;
        if checked {
            let ok: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
            if ok != "ok" {
                bail!("state: {} failed its integrity check: {ok}", path.display());
            }
        }
        if (version as usize) < MIGRATIONS.len() {
            // an older schema, read without writing it: migrate a copy in memory
            let mut mem = Connection::open_in_memory()?;
            rusqlite::backup::Backup::new(&conn, &mut mem)
                .and_then(|b| b.run_to_completion(1000, Duration::ZERO, None))
                .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
            let mut store = Store {
                conn: mem,
                path: path.to_path_buf(),
                copy: None,
                now: Timestamp::new(crate::clock::now()),
            };
            store.migrate(version as usize)?;
            return Ok(Some(store));
        }
        Ok(Some(Store {
            conn,
            path: path.to_path_buf(),
            copy: None,
            now: Timestamp::new(crate::clock::now()),
        }))
    }

    /// Apply the migrations past `from`. Each runs in an IMMEDIATE
    /// transaction that reads the version again: two ticks opening a new
    /// file together take turns, and the second applies nothing twice.
    fn migrate(&mut self, from: usize) -> Result<()> {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from) {
            let path = self.path.clone();
            let tx = self.immediate()?;
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| anyhow::Error::new(describe(&path, &e)))?;
            if now as usize > i {
                continue; // another process applied it while this one waited
            }
            tx.execute_batch(sql)
                .map_err(|e| anyhow::Error::new(describe(&path, &e)))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()
                .map_err(|e| anyhow::Error::new(describe(&path, &e)))?;
        }
        Ok(())
    }

    pub fn err(&self, e: rusqlite::Error) -> anyhow::Error {
        anyhow::Error::new(describe(&self.path, &e))
    }

    /// The one way a write of several statements begins: an IMMEDIATE
    /// transaction, so it takes the write lock first (waiting up to the busy
    /// timeout) instead of failing later when a read turns into a write.
    pub(crate) fn immediate(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| anyhow::Error::new(describe(&path, &e)))
    }
}

/// How long a write waits for another afk process's transaction.
/// An existing state file opened read-only and identity-checked, with its
/// schema version.
fn read_only(path: &Path) -> Result<(Connection, i64)> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| anyhow::Error::new(describe(path, &e)))?;
    conn.busy_timeout(busy_timeout())?;
    let version = check_identity(&conn, path)?;
    Ok((conn, version))
}

/// How a connection waits for another's write lock: in 100 µs steps, for as
/// long as [`busy_timeout`] allows in all. A tick's workers hold the lock for
/// microseconds; SQLite's own wait (1, 2, 5, 10 … 100 ms sleeps) made 50
/// parallel claims wait about 100 ms in all, a dry poll's whole run time.
fn short_busy(tries: i32) -> bool {
    let gave_up = GAVE_UP.load(std::sync::atomic::Ordering::SeqCst);
    if !keeps_waiting(tries, configured_busy_timeout(), gave_up) {
        // one wait per process: the rest of the tick's writes fail at once
        GAVE_UP.store(true, std::sync::atomic::Ordering::SeqCst);
        return false;
    }
    std::thread::sleep(BUSY_STEP);
    true
}

/// One step of [`short_busy`]'s wait.
const BUSY_STEP: Duration = Duration::from_micros(100);

/// Whether a write that met the state file locked `tries` times waits one
/// more step: while its steps fit in `timeout`, and never after this
/// process once waited all of it (`gave_up`): a tick waits once, not once
/// per repository and bookkeeping step.
fn keeps_waiting(tries: i32, timeout: Duration, gave_up: bool) -> bool {
    !gave_up && (tries.max(0) as u128) < timeout.as_micros() / BUSY_STEP.as_micros()
}

/// Set once a write waited the whole busy timeout for another process's
/// lock: the tick then waits no more (one wait and one line, not one per
/// repo and bookkeeping step), its later writes fail at once.
static GAVE_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn busy_timeout() -> Duration {
    if GAVE_UP.load(std::sync::atomic::Ordering::SeqCst) {
        return Duration::ZERO;
    }
    configured_busy_timeout()
}

/// `AFK_BUSY_TIMEOUT_MS`, else 5 s.
fn configured_busy_timeout() -> Duration {
    std::env::var("AFK_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tick waits for a locked state file once: each write waits in
    /// steps up to the busy timeout, and once one has waited all of it,
    /// no later write of the process waits at all.
    #[test]
    fn a_tick_waits_once_for_a_locked_state_file() {
        let ms = Duration::from_millis;
        let cases = [
            // (tries so far, timeout, gave up before, waits one more step)
            (0, ms(300), false, true),
            (2_999, ms(300), false, true),
            (3_000, ms(300), false, false),
            (0, ms(300), true, false),
            (0, Duration::ZERO, false, false),
            (49_999, ms(5_000), false, true),
            (50_000, ms(5_000), false, false),
        ];
        for (tries, timeout, gave_up, want) in cases {
            assert_eq!(
                keeps_waiting(tries, timeout, gave_up),
                want,
                "{tries} {timeout:?} {gave_up}"
            );
        }
    }

    /// A tick's handle stamps every row with the tick's one moment, however
    /// long the tick takes; the moment is stored as the model's text and read
    /// back as the same `Timestamp`.
    #[test]
    fn every_row_a_tick_writes_carries_the_ticks_one_moment() {
        use crate::runs::NewRun;
        let dir = std::env::temp_dir().join(format!("afk-now-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t = Timestamp::parse("2026-03-01T09:30:00.25Z").unwrap();
        let store = Store::open(&dir.join("state.db")).unwrap().at(t.at());
        assert_eq!(store.now(), t);
        let repo = crate::types::RepoName::parse("acme/api").unwrap();
        let run = |n| NewRun {
            repo: &repo,
            issue: crate::types::IssueNumber(n),
            title: "t",
            url: "u",
            ready_event_id: None,
            armed_at: None,
            template_name: "default",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: crate::types::RunnerKind::Command,
            branch: "afk/issue-1",
        };
        let a = store.claim_run(&run(1)).unwrap();
        let b = store.claim_run(&run(2)).unwrap();
        store.set_run_dir(b, "/tmp/x").unwrap();
        let rows: Vec<(String, Timestamp)> = store
            .conn
            .prepare("SELECT created_at, updated_at FROM runs WHERE id IN (?1, ?2)")
            .unwrap()
            .query_map(rusqlite::params_from_iter([a.0, b.0]), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        for (created, updated) in rows {
            assert_eq!(created, "2026-03-01T09:30:00.250000Z");
            assert_eq!(updated, t);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_database_says_the_disk_is_full_and_what_to_do() {
        // What it simulates: SQLite's page limit (max_page_count) answers a
        // write with SQLITE_FULL, the result code a full disk gives; a real
        // full disk is tests/it/faults.rs's (it needs a mount, so root)
        let dir = std::env::temp_dir().join(format!("afk-store-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        let s = Store::open(&p).unwrap();
        let pages: i64 = s
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        s.conn
            .execute_batch(&format!(
                "PRAGMA max_page_count = {}; CREATE TABLE filler (b BLOB);",
                // room for the new table's page and the schema's own growth
                pages + 3
            ))
            .unwrap();
        let e = (0..100)
            .find_map(|_| {
                s.conn
                    .execute("INSERT INTO filler VALUES (zeroblob(8192))", [])
                    .err()
            })
            .expect("the page limit is reached");
        let said = describe(&p, &e);
        let line = said.message.clone();
        assert!(
            line.starts_with(&format!("state: the disk holding {} is full", p.display()))
                && line.contains("No space left on device"),
            "{line}"
        );
        // what to do is the binary's hint, apart
        assert_eq!(said.trouble, Trouble::Full);
        assert!(!line.contains('\n'), "one line: {line}");
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sqlite_failures_are_classified_by_their_result_code() {
        use rusqlite::ffi;
        let fail = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
        let cases = [
            (ffi::SQLITE_NOTADB, false, Trouble::NotAfks),
            (ffi::SQLITE_CORRUPT, false, Trouble::NotAfks),
            (ffi::SQLITE_BUSY, false, Trouble::Locked),
            (ffi::SQLITE_LOCKED, false, Trouble::Locked),
            (ffi::SQLITE_FULL, false, Trouble::Full),
            (ffi::SQLITE_FULL, true, Trouble::Full),
            // a write that failed on a disk with no room: the disk is full
            (ffi::SQLITE_IOERR_WRITE, true, Trouble::Full),
            (ffi::SQLITE_IOERR_SHMSIZE, true, Trouble::Full),
            (ffi::SQLITE_CANTOPEN, true, Trouble::Full),
            // with room left an I/O error is the hardware's or the mount's
            (ffi::SQLITE_IOERR_WRITE, false, Trouble::Other),
            (ffi::SQLITE_CONSTRAINT, true, Trouble::Other),
        ];
        for (code, no_room, want) in cases {
            assert_eq!(trouble(&fail(code), no_room), want, "{code} {no_room}");
        }
        // a message that merely mentions a lock is not one
        let words = rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ERROR),
            Some("no such table: locked_busy_malformed".into()),
        );
        assert_eq!(trouble(&words, false), Trouble::Other);
        assert_eq!(
            trouble(&rusqlite::Error::QueryReturnedNoRows, true),
            Trouble::Other
        );
    }

    #[test]
    fn migrations_are_applied_once_and_reopen_is_a_no_op() {
        let dir = std::env::temp_dir().join(format!("afk-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("sub/afk.db");
        let s = Store::open(&p).unwrap();
        let v: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        drop(s);
        let s = Store::open(&p).unwrap();
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A run row whose repo was edited into something that is not owner/name
    /// is set aside on its own: the lists that tick workers read report it in
    /// its place, the others leave it out, and no query fails for it.
    #[test]
    fn a_run_whose_repo_does_not_parse_is_set_aside_not_a_failed_query() {
        use crate::core::run_state::RunStatus;
        use crate::runs::NewRun;
        let store = Store::read(Path::new("/nonexistent/afk.db")).unwrap();
        let repo = crate::types::RepoName::parse("acme/api").unwrap();
        let claim = |n| NewRun {
            repo: &repo,
            issue: crate::types::IssueNumber(n),
            title: "t",
            url: "u",
            ready_event_id: Some(n as i64),
            armed_at: None,
            template_name: "default",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: crate::types::RunnerKind::Command,
            branch: "afk/issue-1",
        };
        let bad = store.claim_run(&claim(1)).unwrap();
        let good = store.claim_run(&claim(2)).unwrap();
        store
            .conn
            .execute("UPDATE runs SET repo='acme/..' WHERE id=?1", [bad])
            .unwrap();
        let each = store.runs_in_each(&[RunStatus::Dispatching]).unwrap();
        assert_eq!(each.len(), 2);
        let unreadable = each[0].as_ref().unwrap_err();
        assert_eq!((unreadable.id, unreadable.repo.as_str()), (bad, "acme/.."));
        assert!(
            unreadable.error.contains("is not \"owner/repo\""),
            "{}",
            unreadable.error
        );
        assert_eq!(each[1].as_ref().unwrap().id, good);
        let ids: Vec<_> = store
            .runs_in(&[RunStatus::Dispatching])
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [good]);
        assert_eq!(store.handled_armings().unwrap().len(), 1);
        assert!(
            store.run(bad).is_err(),
            "one run asked for by id: an error naming it"
        );
    }

    #[test]
    fn issue_numbers_are_stored_as_integers_and_never_wrap() {
        use crate::types::IssueNumber;
        let c = Connection::open_in_memory().unwrap();
        let back = |n: IssueNumber| -> rusqlite::Result<i64> {
            c.query_row("SELECT ?1", [n], |r| r.get(0))
        };
        let read = |v: i64| -> rusqlite::Result<IssueNumber> {
            c.query_row("SELECT ?1", [v], |r| r.get(0))
        };
        let cases: [(u64, Option<i64>); 3] = [
            (7, Some(7)),
            (i64::MAX as u64, Some(i64::MAX)),
            (i64::MAX as u64 + 1, None),
        ];
        for (n, stored) in cases {
            assert_eq!(back(IssueNumber(n)).ok(), stored, "{n}");
        }
        assert_eq!(read(12).unwrap(), IssueNumber(12));
        assert!(
            read(-1).is_err(),
            "a negative number in the file is an error, not a wrap"
        );
    }

    fn schema(c: &Connection) -> Vec<(String, String)> {
        let mut st = c
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_lessons_migration_is_additive_and_idempotent() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        let before = schema(&c);
        c.execute_batch(LESSONS_SCHEMA).unwrap();
        let once = schema(&c);
        c.execute_batch(LESSONS_SCHEMA).unwrap();
        assert_eq!(schema(&c), once, "running it twice changes nothing");
        // every table that existed keeps its exact shape
        for (name, sql) in &before {
            assert!(
                once.contains(&(name.clone(), sql.clone())),
                "{name} changed"
            );
        }
        let added: Vec<&String> = once
            .iter()
            .filter(|x| !before.contains(x))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            added,
            vec![
                "lessons",
                "lessons_by_repo",
                "lessons_by_status",
                "lessons_by_type",
                "lessons_by_work_item",
                "lessons_dedup"
            ]
        );
        // attribution columns are nullable from the start
        c.execute(
            "INSERT INTO lessons (created_at, lesson_type, source) VALUES ('t', 'x', 'manual')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_garbage_file_is_refused_and_left_alone() {
        let dir = std::env::temp_dir().join(format!("afk-store-bad-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("afk.db");
        let junk = b"this is not sqlite at all, it is sixty-four bytes of plain text!".repeat(20);
        std::fs::write(&p, &junk).unwrap();
        let e = Store::open(&p).err().unwrap().to_string();
        assert!(e.contains("is not a valid afk state file"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), junk);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// #82: a state folder or file this user cannot read is not "no state
    /// yet": the readers (`afk status`) and watch's look say so, naming it;
    /// only a file that is not there reads as empty.
    #[test]
    fn a_state_folder_or_file_this_user_cannot_read_is_not_a_missing_state_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("afk-store-unread-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("state").join("afk.db");
        assert_eq!(check_readable(&p), Ok(false), "no folder: none yet");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        assert_eq!(check_readable(&p), Ok(false), "no file: none yet");
        assert!(Store::read_existing(&p).unwrap().is_none());
        drop(Store::open(&p).unwrap());
        assert_eq!(check_readable(&p), Ok(true), "there and readable");
        let mode = |path: &Path, m: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap()
        };
        // (rule, what is made unreadable, its mode then)
        let cases = [
            ("a folder it cannot open", p.parent().unwrap(), 0o000, 0o700),
            (
                "a folder it may list but not search",
                p.parent().unwrap(),
                0o600,
                0o700,
            ),
            ("a file it cannot read", p.as_path(), 0o000, 0o600),
        ];
        for (rule, path, m, back) in cases {
            mode(path, m);
            // root (its capabilities) passes over modes: nothing to see
            let stopped = afk_host::private_files::can_read(&p).is_err();
            let said = check_readable(&p);
            let read = Store::read(&p).map(drop);
            mode(path, back);
            if !stopped {
                continue;
            }
            let e = said.expect_err(rule);
            assert_eq!(e.trouble, Trouble::Unreadable, "{rule}");
            assert!(
                e.message.starts_with(&format!(
                    "state: {} cannot be read by this user (",
                    path.display()
                )),
                "{rule}: names it: {}",
                e.message
            );
            let read = read.expect_err(rule);
            assert!(
                read.to_string().contains("cannot be read"),
                "{rule}: {read}"
            );
            assert_eq!(check_writable(&p), Ok(()), "{rule}: given back");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod copy_tests {
    use super::*;

    #[test]
    fn a_copy_in_memory_is_shared_by_its_connections_and_never_reaches_the_file() {
        let dir = std::env::temp_dir().join(format!("afk-copy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        // no file: an empty copy, and still no file
        let empty = Store::copy_in_memory(&p).unwrap();
        assert!(!p.exists());
        drop(empty);
        let file = Store::open(&p).unwrap();
        let name = |s: &str| crate::types::RepoName::parse(s).unwrap();
        file.freeze(&name("a/b"), "why", crate::types::RunId(1))
            .unwrap();
        let copy = Store::copy_in_memory(&p).unwrap();
        assert_eq!(copy.frozen_repos().unwrap(), vec![name("a/b")]);
        let other = copy.source().open().unwrap();
        other
            .freeze(&name("c/d"), "why", crate::types::RunId(2))
            .unwrap();
        assert_eq!(
            copy.frozen_repos().unwrap().len(),
            2,
            "one copy, two connections"
        );
        assert_eq!(
            file.frozen_repos().unwrap().len(),
            1,
            "the file is untouched"
        );
        assert!(!copy.source().lasts());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
