//! The conversation on a run's PR and issue (docs/reviews.md): per run, the
//! review turns used, when its last turn started, a hold and a stop; and every
//! review and command afk took or ignored, recorded once by its id, which is
//! also the trail `afk runs show` and the checklist read.

use super::Store;
use crate::types::{Handled, RunId, TalkKind, TalkSaid};
use anyhow::Result;
use rusqlite::{OptionalExtension, params};

/// Migration 18: when the retest comment was made (docs/reviews.md#retests).
pub const RETEST_AT_SCHEMA: &str = "ALTER TABLE talk ADD COLUMN retest_at TEXT;";

/// Migration 37: a branch update the forge was still making when its tick
/// stopped asking (Azure DevOps' merge operation): its token, and how many
/// ticks asked after it.
pub const UPDATE_UNDER_WAY_SCHEMA: &str = "ALTER TABLE talk ADD COLUMN update_op TEXT;
    ALTER TABLE talk ADD COLUMN update_asks INTEGER NOT NULL DEFAULT 0;";

/// Migration 32: a run paused at a limit and continued: the limit and
/// since when (NULL: not paused), the time paused before the current
/// pause, how many pauses (the comment's `n=`), who continued it and how
/// (`budget` or `resume`), the run's own limits a trusted `/afk budget`
/// set (NULL: the config's), and the continuation turns, which count
/// against no corrective budget.
pub const PAUSE_SCHEMA: &str = "ALTER TABLE talk ADD COLUMN paused_limit TEXT;
    ALTER TABLE talk ADD COLUMN paused_since TEXT;
    ALTER TABLE talk ADD COLUMN paused_secs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE talk ADD COLUMN pauses INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE talk ADD COLUMN continued TEXT;
    ALTER TABLE talk ADD COLUMN continued_by TEXT;
    ALTER TABLE talk ADD COLUMN limit_cents INTEGER;
    ALTER TABLE talk ADD COLUMN limit_time_secs INTEGER;
    ALTER TABLE talk ADD COLUMN limits_set_by TEXT;
    ALTER TABLE talk ADD COLUMN continuations INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE talk ADD COLUMN paused_said INTEGER NOT NULL DEFAULT 0;";

pub const SCHEMA: &str = "CREATE TABLE talk (
        run_id INTEGER PRIMARY KEY,
        review_turns INTEGER NOT NULL DEFAULT 0,
        turn_started_at TEXT,
        held_by TEXT,
        held_since TEXT,
        held_secs INTEGER NOT NULL DEFAULT 0,
        stopped_by TEXT,
        update_base TEXT,
        retest_sha TEXT
    );
    CREATE TABLE talk_items (
        run_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        item INTEGER NOT NULL,
        author TEXT NOT NULL,
        what TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (run_id, kind, item)
    );";

/// Migration 28: per review of a run's PR, how many line comments its
/// threads held and the highest id among them when afk last read them with
/// nothing left to ask (docs/reviews.md#reviews): a trusted reply in a
/// thread, which Gitea keeps under the replied review, shows as a count
/// past it.
pub const LINES_READ_SCHEMA: &str = "CREATE TABLE review_lines_read (
        run_id INTEGER NOT NULL,
        review INTEGER NOT NULL,
        count INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        PRIMARY KEY (run_id, review)
    ) WITHOUT ROWID;";

/// A run's conversation state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Talk {
    pub review_turns: u32,
    pub turn_started_at: Option<String>,
    pub held_by: Option<String>,
    pub held_since: Option<String>,
    /// time spent held before the current hold, in seconds
    pub held_secs: u64,
    pub stopped_by: Option<String>,
    /// the base SHA afk last asked the forge to update the PR's branch onto
    pub update_base: Option<String>,
    /// the token of the update asked for on `update_base` that the forge
    /// was still making (`BranchUpdate::Pending`), and how many ticks have
    /// asked for or after it
    pub update_op: Option<String>,
    pub update_asks: u32,
    /// the head SHA afk posted `watch.retest_comment` on
    pub retest_sha: Option<String>,
    /// when the forge says that comment was made (its `created_at`): a CI
    /// result counts for the retest only when reported after it
    pub retest_at: Option<String>,
    /// the pause standing, if any
    pub pause: Pause,
}

/// A run's pauses at its limits and its own limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pause {
    /// `run_usd`, `run_time`, `day_usd` or `repo_day_usd`
    /// (`core::budget::Limit::key`) while paused
    pub limit: Option<String>,
    pub since: Option<String>,
    /// time spent paused before the current pause, in seconds
    pub secs: u64,
    /// the run's pauses so far, the current one included
    pub count: u32,
    /// how a trusted person continued the current pause (`budget` or
    /// `resume`) and who; cleared when its continuation turn starts
    pub continued: Option<String>,
    pub continued_by: Option<String>,
    /// the run's own limits set by trusted comments (None: the config's)
    pub limit_cents: Option<u64>,
    pub limit_time_secs: Option<u64>,
    pub limits_set_by: Option<String>,
    /// continuation turns started: counted against no corrective budget
    pub continuations: u32,
    /// of those, the ones a new day started by itself (read from the turns,
    /// never written: `Store::day_continuations`)
    pub day_continuations: u32,
    /// the current pause's label and comment are on the forge (a tick that
    /// failed to say it says it again on the next)
    pub said: bool,
}

/// Migration 34: a run's past pauses and continuations, one row each, in
/// order (the checklist keeps one line per pause and continuation):
/// `paused` or `continued`, when, the limit's key, the limit's words then
/// (`$2.00`, `4h`), the spend at a pause, who continued.
pub const PAUSE_HISTORY_SCHEMA: &str = "CREATE TABLE pause_history (
    run_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    limit_key TEXT NOT NULL,
    limit_words TEXT NOT NULL,
    spend_usd REAL,
    who TEXT,
    PRIMARY KEY (run_id, seq)
);";

/// One past pause (`continued: false`) or continuation of a run, as
/// `pause_history` keeps it; `at` is the store's stamp when written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Past {
    pub continued: bool,
    pub at: String,
    /// the limit's key (`run_usd`, `run_time`, `day_usd`, `repo_day_usd`)
    pub limit: String,
    /// the limit's words at that moment (`$2.00`, `4h`)
    pub limit_words: String,
    /// the run's spend at a pause
    pub spend_usd: Option<f64>,
    /// who continued it
    pub who: Option<String>,
}

/// `past` appended to `run`'s history, stamped `at`, inside `tx`.
pub(crate) fn note_past(
    tx: &rusqlite::Connection,
    run: RunId,
    at: &str,
    past: &Past,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO pause_history (run_id, seq, at, kind, limit_key, limit_words, spend_usd, who)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM pause_history WHERE run_id = ?1),
                 ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            run,
            at,
            if past.continued {
                "continued"
            } else {
                "paused"
            },
            past.limit,
            past.limit_words,
            past.spend_usd,
            past.who
        ],
    )?;
    Ok(())
}

/// One review or comment afk looked at: what it is, what it said and what
/// afk did with it, typed; stored as their words (`review`, `fix: …`,
/// `taken: review turn 1 of 3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: TalkKind,
    pub item: i64,
    pub author: String,
    pub what: TalkSaid,
    pub outcome: Handled,
    pub at: String,
}

/// As `afk runs show --json` prints it (docs/reviews.md#the-trail): each
/// part as its stored words.
impl serde::Serialize for Item {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("Item", 6)?;
        o.serialize_field("kind", self.kind.as_str())?;
        o.serialize_field("item", &self.item)?;
        o.serialize_field("author", &self.author)?;
        o.serialize_field("what", &self.what.words())?;
        o.serialize_field("outcome", &self.outcome.words())?;
        o.serialize_field("at", &self.at)?;
        o.end()
    }
}

impl Store {
    pub fn talk(&self, run: RunId) -> Result<Talk> {
        self.conn
            .query_row(
                "SELECT review_turns, turn_started_at, held_by, held_since, held_secs, stopped_by,
                        update_base, retest_sha, retest_at, paused_limit, paused_since,
                        paused_secs, pauses, continued, continued_by, limit_cents,
                        limit_time_secs, limits_set_by, continuations, paused_said,
                        update_op, update_asks,
                        (SELECT COUNT(*) FROM turns WHERE turns.run_id = talk.run_id
                         AND reason = 'continue' AND why LIKE '%(day)')
                 FROM talk WHERE run_id = ?1",
                [run],
                |r| {
                    Ok(Talk {
                        review_turns: r.get::<_, i64>(0)? as u32,
                        turn_started_at: r.get(1)?,
                        held_by: r.get(2)?,
                        held_since: r.get(3)?,
                        held_secs: r.get::<_, i64>(4)?.max(0) as u64,
                        stopped_by: r.get(5)?,
                        update_base: r.get(6)?,
                        update_op: r.get(20)?,
                        update_asks: r.get::<_, i64>(21)?.max(0) as u32,
                        retest_sha: r.get(7)?,
                        retest_at: r.get(8)?,
                        pause: Pause {
                            limit: r.get(9)?,
                            since: r.get(10)?,
                            secs: r.get::<_, i64>(11)?.max(0) as u64,
                            count: r.get::<_, i64>(12)?.max(0) as u32,
                            continued: r.get(13)?,
                            continued_by: r.get(14)?,
                            limit_cents: r.get::<_, Option<i64>>(15)?.map(|c| c.max(0) as u64),
                            limit_time_secs: r.get::<_, Option<i64>>(16)?.map(|t| t.max(0) as u64),
                            limits_set_by: r.get(17)?,
                            continuations: r.get::<_, i64>(18)?.max(0) as u32,
                            day_continuations: r.get::<_, i64>(22)?.max(0) as u32,
                            said: r.get::<_, i64>(19)? != 0,
                        },
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| self.err(e))
    }

    pub fn set_talk(&self, run: RunId, t: &Talk) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO talk
                 (run_id, review_turns, turn_started_at, held_by, held_since, held_secs, stopped_by,
                  update_base, retest_sha, retest_at, paused_limit, paused_since, paused_secs,
                  pauses, continued, continued_by, limit_cents, limit_time_secs, limits_set_by,
                  continuations, paused_said, update_op, update_asks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
                params![
                    run,
                    t.review_turns as i64,
                    t.turn_started_at,
                    t.held_by,
                    t.held_since,
                    t.held_secs as i64,
                    t.stopped_by,
                    t.update_base,
                    t.retest_sha,
                    t.retest_at,
                    t.pause.limit,
                    t.pause.since,
                    t.pause.secs as i64,
                    t.pause.count as i64,
                    t.pause.continued,
                    t.pause.continued_by,
                    t.pause.limit_cents.map(|c| c as i64),
                    t.pause.limit_time_secs.map(|s| s as i64),
                    t.pause.limits_set_by,
                    t.pause.continuations as i64,
                    t.pause.said as i64,
                    t.update_op,
                    t.update_asks as i64
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record a pause of `run` at `limit`, with its `run.paused` event in
    /// the outbox, in one transaction: only a run not paused already is
    /// paused (a second tick records nothing). Returns the pause's number
    /// (the comment's `n=`) when it was recorded now.
    pub fn pause(
        &mut self,
        run: RunId,
        limit: &str,
        (event, past): (Option<crate::events::NewEvent>, &Past),
    ) -> Result<Option<u32>> {
        let at = self.stamp();
        let path = self.path.clone();
        let map = |e: rusqlite::Error| anyhow::Error::new(super::describe(&path, &e));
        let tx = self.immediate()?;
        tx.execute("INSERT OR IGNORE INTO talk (run_id) VALUES (?1)", [run])
            .map_err(map)?;
        let n = tx
            .execute(
                "UPDATE talk SET paused_limit = ?2, paused_since = ?3, pauses = pauses + 1,
                        continued = NULL, continued_by = NULL, paused_said = 0
                 WHERE run_id = ?1 AND paused_since IS NULL",
                params![run, limit, at],
            )
            .map_err(map)?;
        if n == 0 {
            tx.commit().map_err(map)?;
            return Ok(None);
        }
        if let Some(e) = event {
            crate::events::insert_event(&tx, &e, &at).map_err(map)?;
        }
        // the checklist's line for this pause, kept after it ends
        note_past(&tx, run, &at, past).map_err(map)?;
        let count: i64 = tx
            .query_row("SELECT pauses FROM talk WHERE run_id = ?1", [run], |r| {
                r.get(0)
            })
            .map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(Some(count.max(0) as u32))
    }

    /// `run`'s past pauses and continuations, oldest first.
    pub fn pause_history(&self, run: RunId) -> Result<Vec<Past>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT kind, at, limit_key, limit_words, spend_usd, who FROM pause_history
                 WHERE run_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([run], |r| {
                Ok(Past {
                    continued: r.get::<_, String>(0)? == "continued",
                    at: r.get(1)?,
                    limit: r.get(2)?,
                    limit_words: r.get(3)?,
                    spend_usd: r.get(4)?,
                    who: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The current pause's label and comment are on the forge.
    pub fn pause_said(&self, run: RunId) -> Result<()> {
        self.conn
            .execute(
                "UPDATE talk SET paused_said = 1 WHERE run_id = ?1 AND paused_since IS NOT NULL",
                [run],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The reviews and comments of a run afk looked at, oldest first.
    pub fn talk_items(&self, run: RunId) -> Result<Vec<Item>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT kind, item, author, what, outcome, at FROM talk_items
                 WHERE run_id = ?1 ORDER BY at, kind, item",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([run], |r| {
                let kind: String = r.get(0)?;
                Ok(Item {
                    // a kind afk never writes is a comment's: never a review acted on
                    kind: TalkKind::parse(&kind).unwrap_or(TalkKind::Comment),
                    item: r.get(1)?,
                    author: r.get(2)?,
                    what: TalkSaid::parse(&r.get::<_, String>(3)?),
                    outcome: Handled::parse(&r.get::<_, String>(4)?),
                    at: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Record (or update the outcome of) one review or comment, stamped now;
    /// a new outcome is a `talk.handled` entry of the journal in the same
    /// transaction (docs/audit.md): every command honoured, and every one
    /// ignored with why.
    pub fn note_talk_item(
        &self,
        run: RunId,
        (kind, item): (TalkKind, i64),
        author: &str,
        what: &TalkSaid,
        outcome: &Handled,
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        // a write first: the transaction holds the write lock before it
        // reads (a read first could not take it while another tick writes)
        tx.execute(
            "UPDATE talk_items SET outcome = outcome WHERE run_id = ?1 AND kind = ?2 AND item = ?3",
            params![run, kind.as_str(), item],
        )
        .map_err(|e| self.err(e))?;
        let before: Option<String> = tx
            .query_row(
                "SELECT outcome FROM talk_items WHERE run_id = ?1 AND kind = ?2 AND item = ?3",
                params![run, kind.as_str(), item],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let words = outcome.words();
        if before.as_deref() == Some(words.as_str()) {
            return Ok(());
        }
        let at = self.stamp();
        tx.execute(
            "INSERT INTO talk_items (run_id, kind, item, author, what, outcome, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (run_id, kind, item) DO UPDATE SET outcome = excluded.outcome",
            params![run, kind.as_str(), item, author, what.words(), words, at],
        )
        .map_err(|e| self.err(e))?;
        // the verb alone: a `fix`'s text and an unknown verb are a person's
        // words, which the journal does not hold
        let verb = match what {
            TalkSaid::Unknown(_) => "unknown verb".to_string(),
            w => w.verb().trim_matches('`').to_string(),
        };
        let body = serde_json::json!({"kind": kind.as_str(), "item": item, "author": author,
            "what": verb, "outcome": words});
        crate::journal::append(&tx, &at, Some(run.0), "talk.handled", &body)
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Per review of `run`: (line comments held, highest id) when afk last
    /// read them with nothing left to ask.
    pub fn review_lines_read(
        &self,
        run: RunId,
    ) -> Result<std::collections::HashMap<i64, (u64, i64)>> {
        let mut st = self
            .conn
            .prepare("SELECT review, count, last_id FROM review_lines_read WHERE run_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([run], |r| {
                Ok((r.get::<_, i64>(0)?, (r.get::<_, i64>(1)? as u64, r.get(2)?)))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Review `review`'s line comments read up to `count` and id `last_id`
    /// (never moved back).
    pub fn note_review_lines_read(
        &self,
        run: RunId,
        review: i64,
        count: u64,
        last_id: i64,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO review_lines_read (run_id, review, count, last_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(run_id, review) DO UPDATE SET
                   count = max(count, excluded.count), last_id = max(last_id, excluded.last_id)",
                params![run, review, count as i64, last_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A `resume`: the stall clock restarts now.
    pub fn restart_stall_clock(&self, run: RunId, at: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET last_progress_at = ?2 WHERE id = ?1",
                params![run, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
