//! What afk takes of a run's conversation, each author asked once of one
//! [`Trust`] (the ready label's rule): a comment's command, as afk first
//! read it, carried out at once or queued for its turn; a command afk cannot
//! prove its author's words asked of them on the thread first; a review's
//! request for changes, its line comments and the trusted replies in its
//! threads. `hear` (`mod.rs`) walks them in that order.

use super::super::lists::Watch;
use super::Ask;
use crate::core::command_proof::{self, Confirmation, Proof};
use crate::core::conversation::{self, FirstRead, ReviewContext};
use crate::forge::{Comment, Failure, ForgeError, PullRequest, Target};
use crate::store::Store;
use crate::store::comments_read::Reads;
use crate::store::runs::Run;
use crate::store::talk::{Item, Talk};
use crate::types::{Effect, Handled, LineComment, Review, ReviewState, TalkKind, TalkSaid};
use anyhow::Result;
use std::collections::{HashMap, HashSet};

/// Who may speak to afk: the ready label's rule, asked once per login.
pub(super) struct Trust<'a> {
    pub(super) w: &'a Watch<'a>,
    pub(super) run: &'a Run,
    pub(super) known: HashMap<String, bool>,
}

impl Trust<'_> {
    pub(super) fn check(&mut self, login: &str) -> Result<bool> {
        if let Some(t) = self.known.get(login) {
            return Ok(*t);
        }
        let w = self.w;
        let settled = &w.t.settled;
        let me = w.me()?;
        let never = [me.as_str(), settled.agent_login.as_str()];
        // afk's own account and the agent's: never, and no lookup spent on them
        if never
            .iter()
            .any(|n| !n.is_empty() && n.eq_ignore_ascii_case(login))
        {
            self.known.insert(login.to_string(), false);
            return Ok(false);
        }
        let p = if crate::core::dispatch::needs_lookup(login, &settled.trusted_users) {
            match self.w.t.forge()?.permission(&self.run.repo, login) {
                Ok(p) => Ok(Some(p)),
                Err(e) if ForgeError::kind_of(&e) == Some(Failure::Forbidden) => Err(()),
                Err(e) => return Err(e),
            }
        } else {
            Ok(None)
        };
        let t = crate::core::dispatch::trust(
            login,
            &never,
            &settled.trusted_users,
            settled.trusted_permission,
            crate::types::Permission::access_of(&p),
        ) == crate::core::dispatch::Trust::Trusted;
        self.known.insert(login.to_string(), t);
        Ok(t)
    }
}

/// The comments a tick may read now: not one a signed delivery said was
/// written less than its edit grace ago (`afk hook`): an edit in its own
/// second is reported first, and its own tick (the delivery's follow-up)
/// reads it. Nothing is kept of it here: what afk first read of a comment
/// is what it can be.
pub(super) fn past_grace<'c>(
    store: &Store,
    run: &Run,
    comments: Vec<&'c Comment>,
) -> Result<Vec<&'c Comment>> {
    let ids: Vec<i64> = comments.iter().map(|c| c.id).collect();
    let young = store.comments_in_grace(run.repo.as_str(), &ids, crate::clock::wall_ms())?;
    for id in &young {
        crate::log::decision(&format!(
            "{}#{}: comment {id}: new, in its edit grace: its own tick reads it",
            run.repo, run.issue
        ));
    }
    Ok(comments
        .into_iter()
        .filter(|c| !young.contains(&c.id))
        .collect())
}

/// One comment as this tick reads it: what it commands now, and what afk
/// read of it before.
pub(super) struct Read<'c> {
    pub(super) comment: &'c Comment,
    pub(super) what: Option<TalkSaid>,
    pub(super) first: FirstRead,
    /// edited, by its dates or by the forge's edit event
    edited: bool,
    /// whether afk can take its words as its author's (`core::command_proof`)
    proof: crate::core::command_proof::Proof,
}

pub(super) fn read<'c>(
    prefix: &str,
    reads: &Reads,
    c: &'c Comment,
    marked: bool,
    proof: crate::core::command_proof::Proof,
) -> Read<'c> {
    let hash = crate::store::comments_read::body_hash(&c.body);
    Read {
        comment: c,
        what: conversation::parse_command(prefix, &c.body),
        first: conversation::first_read(c.id, &hash, reads.kept.get(&c.id), reads.folded_up_to),
        edited: marked || c.edited(),
        proof,
    }
}

/// Carry out one comment's command, once. Returns whether it resumed a hold.
pub(super) fn command(
    w: &Watch,
    store: &Store,
    (trust, talk): (&mut Trust, &mut Talk),
    (on, thread): (Target, &[Comment]),
    read: &Read,
) -> Result<bool> {
    let run = trust.run;
    let c = read.comment;
    let Some(what) = read.what.clone() else {
        return Ok(false);
    };
    let author = c.author();
    let me = w.me()?;
    let own = |l: &str| !l.is_empty() && author.eq_ignore_ascii_case(l);
    // commands count from the run's start (to the second)
    let before_run = match (
        c.created_at.as_deref().and_then(crate::clock::parse),
        crate::clock::parse(&run.created_at),
    ) {
        (Some(at), Some(start)) => conversation::before_run(at, start),
        _ => false,
    };
    if before_run || own(&me) || own(&w.t.settled.agent_login) {
        return Ok(false);
    }
    let note = |outcome: Handled| note_command(store, run, (c.id, c.author()), &what, &outcome);
    let tells = w.t.settled.profile.tells_comment_edits;
    // the forge's own edit marker, asked at most once, and only of a
    // trusted author's command (GitHub's and GitLab's `lastEditedAt`)
    let mut marker = None;
    // an edited comment is nobody's command: whoever edited it, its words
    // are not (only) its author's (recorded, so it is never read again).
    // Where the forge keeps its own marker, dates that moved are asked of
    // it: GitLab moves a note's dates for an emoji, even one taken back.
    if read.edited {
        let cleared = tells
            && !author.is_empty()
            && trust.check(author)?
            && *marker.insert(w.t.forge()?.comment_ever_edited(c)?) == Some(false);
        if !cleared {
            note(Handled::Ignored("edited after it was written".into()))?;
            return Ok(false);
        }
    }
    // the forges date to the second: an edit in the comment's own second
    // shows none, but what afk first read of it stands
    if let Some(why) = conversation::not_a_command(read.first) {
        note(Handled::Ignored(why.into()))?;
        return Ok(false);
    }
    if author.is_empty() || !trust.check(author)? {
        note(Handled::Ignored("untrusted".into()))?;
        return Ok(false);
    }
    // the strongest marker the forge has, asked only of a command about to
    // be carried out (`lastEditedAt`: any edit, even in its second)
    let marker = match marker {
        Some(m) => m,
        None => w.t.forge()?.comment_ever_edited(c)?,
    };
    if marker == Some(true) {
        note(Handled::Ignored("edited after it was written".into()))?;
        return Ok(false);
    }
    // words afk cannot prove its author's: asked of them, once
    if crate::core::command_proof::asks_its_author(read.proof, &what) {
        let question = ask(w, run, (on, thread), c.id, &what)?;
        note(Handled::Awaiting(question))?;
        return Ok(false);
    }
    carry_out(w, store, (run, talk), on, (c, what))
}

/// Record what afk did with comment `id`'s command (by `author`), once,
/// and say it.
pub(super) fn note_command(
    store: &Store,
    run: &Run,
    (id, author): (i64, &str),
    what: &TalkSaid,
    outcome: &Handled,
) -> Result<()> {
    crate::log::decision(&format!(
        "{}#{} run {}: command {:?} by {author} (comment {id}): {}",
        run.repo,
        run.issue,
        run.id,
        what.words(),
        outcome.words()
    ));
    store.note_talk_item(run.id, (TalkKind::Comment, id), author, what, outcome)
}

/// Carry out a trusted command afk can take as its author's: at once
/// (`stop`, `hold`, `resume`, `budget`) or queued for its turn;
/// acknowledged with `eyes`, or answered (an unknown verb, a `budget` not
/// carried out, a `resume` on a paused run with no room: `paused.rs`).
/// Returns whether it resumed a hold.
pub(super) fn carry_out(
    w: &Watch,
    store: &Store,
    (run, talk): (&Run, &mut Talk),
    on: Target,
    (c, what): (&Comment, TalkSaid),
) -> Result<bool> {
    let author = c.author();
    let note = |outcome: Handled| note_command(store, run, (c.id, c.author()), &what, &outcome);
    let mut resumed = false;
    let outcome = match what.effect() {
        Effect::Now => {
            if let TalkSaid::Budget(args) = &what
                && let Err(refused) = super::paused::raise(w, talk, args, author)
            {
                // answered once (the comment's id is recorded), no `eyes`
                let reply = w.shown(run, on.pr(), &refused.reply);
                w.t.forge()?.create_comment(&run.repo, on, &reply)?;
                note(Handled::Answered(refused.why.into()))?;
                return Ok(false);
            }
            // a paused run with no room yet: answered, nothing acted on
            if what == TalkSaid::Resume
                && let Some(reply) = super::paused::still_at_its_limit(w, run, talk)
            {
                let reply = w.shown(run, on.pr(), &reply);
                w.t.forge()?.create_comment(&run.repo, on, &reply)?;
                note(Handled::Answered("still at its limit".into()))?;
                return Ok(false);
            }
            resumed = apply(w, talk, &what, author);
            Handled::Done
        }
        Effect::Queued(_) => Handled::Queued,
        Effect::Answered => {
            let body = format!(
                "afk does not know that command. The verbs: `{} {}`.",
                w.t.settled.command_prefix,
                TalkSaid::VERBS.replace(", ", &format!("`, `{} ", w.t.settled.command_prefix))
            );
            // answered where it was said (a PR thread's reply on Azure DevOps)
            w.t.forge()?.reply_to_comment(&run.repo, on, c.id, &body)?;
            note(Handled::Answered("unknown verb".into()))?;
            return Ok(false);
        }
    };
    store.set_talk(run.id, talk)?;
    w.t.forge()?.react(&run.repo, on, c.id, "eyes")?;
    note(outcome)?;
    Ok(resumed)
}

/// A `stop`, `hold` or `resume` on the run's conversation state (a
/// `budget` is `raise`'s); returns whether it resumed a hold.
fn apply(w: &Watch, talk: &mut Talk, what: &TalkSaid, author: &str) -> bool {
    match what {
        TalkSaid::Stop => talk.stopped_by = Some(author.to_string()),
        TalkSaid::Hold if talk.held_since.is_none() => {
            talk.held_by = Some(author.to_string());
            talk.held_since = Some(crate::clock::ts(w.t.now));
        }
        TalkSaid::Resume => {
            // on a paused run: continued, when it has room
            // (`core::run_state` decides; with no room the command was
            // answered "still at its limit" before it got here)
            if talk.pause.since.is_some() {
                talk.pause.continued = Some("resume".into());
                talk.pause.continued_by = Some(author.to_string());
            }
            talk.held_by = None;
            let since = talk.held_since.take();
            if let Some(since) = since.as_deref().and_then(crate::clock::parse) {
                talk.held_secs += crate::core::progress::since(since, w.t.now).as_secs();
                return true;
            }
        }
        _ => {}
    }
    false
}

// The commands afk cannot prove its author's words (`core::command_proof`,
// docs/reviews.md#commands): where the forge hides an edit in a comment's
// first second and the agent's account holds a forge token, a command that
// does more than halt the run is asked of its author on the thread, once,
// and carried out on their own 👍 there. Each tick reads the reactions on
// at most `WAITING_MAX` of afk's questions, and only on questions and
// commands both still as afk read them.

/// How many waiting commands a tick asks the forge about (one reactions
/// read each); the others wait for a later tick.
const WAITING_MAX: usize = 5;

/// The proof of each of `ids`, comments of `run`'s repository: the
/// deliveries are looked up only where the forge and the workspace leave
/// them deciding.
pub(super) fn proofs(
    w: &Watch,
    store: &Store,
    run: &Run,
    ids: &[i64],
) -> Result<impl Fn(i64) -> Proof + use<>> {
    let tells = w.t.settled.profile.tells_comment_edits;
    // the agent holds a forge token where it does its own git
    let holds = !w.t.workspace.afks();
    let delivered = if tells || !holds {
        Default::default()
    } else {
        store.comments_delivered(run.repo.as_str(), ids)?
    };
    Ok(move |id| command_proof::proof(tells, holds, delivered.contains(&id)))
}

/// The verb as afk's question names it (no markdown of its own).
fn verb(what: &TalkSaid) -> String {
    match what {
        TalkSaid::Fix(_) => "fix".into(),
        TalkSaid::Budget(_) => "budget".into(),
        other => other.words(),
    }
}

/// Ask the author of comment `comment` on its thread; returns the
/// question's id. A question of afk's already on the thread (`thread`, as
/// this tick listed it) is that one: an ask whose answer was lost, or whose
/// tick died before it was recorded, is not posted twice.
fn ask(
    w: &Watch,
    run: &Run,
    (on, thread): (Target, &[Comment]),
    comment: i64,
    what: &TalkSaid,
) -> Result<i64> {
    let question = command_proof::question(comment, &verb(what));
    let body = w.shown(run, on.pr(), &question);
    let me = w.me()?;
    let asked = thread
        .iter()
        .find(|q| q.author().eq_ignore_ascii_case(&me) && q.body.trim() == body.trim());
    if let Some(q) = asked {
        return Ok(q.id);
    }
    Ok(w.t.forge()?.create_comment(&run.repo, on, &body)?.id)
}

/// A waiting command this tick settles.
pub(super) enum Waited<'i, 'c> {
    /// its author's 👍 is given: carry it out, from its comment on `on`
    Given(&'i Item, Target, &'c Comment),
    /// never to be carried out, and why (its comment may be gone)
    Void(&'i Item, &'static str),
}

/// The waiting commands this tick settles; the others wait on.
pub(super) fn waiting<'i, 'c>(
    w: &Watch,
    run: &Run,
    items: &'i [Item],
    listed: &'c [(Target, Vec<Comment>)],
    reads: &Reads,
) -> Result<Vec<Waited<'i, 'c>>> {
    let find = |id: i64| {
        listed
            .iter()
            .find_map(|(on, cs)| cs.iter().find(|c| c.id == id).map(|c| (*on, c)))
    };
    let me = w.me()?;
    let mut out = vec![];
    let asked = items.iter().filter_map(|i| match i.outcome {
        Handled::Awaiting(q) if i.kind == TalkKind::Comment => Some((i, q)),
        _ => None,
    });
    for (item, question) in asked.take(WAITING_MAX) {
        let command = find(item.item);
        let void = match command {
            None => Some("its comment is gone"),
            Some((_, c)) if c.edited() => Some("edited after it was written"),
            Some((_, c)) => {
                let hash = crate::store::comments_read::body_hash(&c.body);
                let first = conversation::first_read(
                    c.id,
                    &hash,
                    reads.kept.get(&c.id),
                    reads.folded_up_to,
                );
                conversation::not_a_command(first)
            }
        };
        let q = find(question);
        let intact = q.map(|(_, q)| {
            q.author().eq_ignore_ascii_case(&me)
                && !q.edited()
                && q.body.trim() == command_proof::question(item.item, &verb(&item.what)).trim()
        });
        let reactions = match (void, q, intact) {
            (None, Some((on, _)), Some(true)) => w.t.forge()?.reactions(&run.repo, on, question)?,
            _ => vec![],
        };
        match (
            command_proof::confirmation(&item.author, intact, void, &reactions),
            command,
        ) {
            (Confirmation::Given, Some((on, c))) => out.push(Waited::Given(item, on, c)),
            (Confirmation::Void(why), _) => out.push(Waited::Void(item, why)),
            _ => {}
        }
    }
    Ok(out)
}

/// The open PR's trusted requests for changes not taken yet, with their line
/// comments; the others recorded once with why they were not taken.
pub(super) fn reviews(
    w: &Watch,
    store: &Store,
    trust: &mut Trust,
    talk: &Talk,
    pr: &PullRequest,
    items: &[Item],
) -> Result<Vec<Ask>> {
    let run = trust.run;
    let all = w.t.forge()?.reviews(&run.repo, pr.number)?;
    // the reviews afk looked at before: recorded, never asked of again;
    // those a turn left for a later one are queued, current until taken
    let reviewed = |queued: bool| -> Vec<i64> {
        (items.iter())
            .filter(|i| i.kind == TalkKind::Review && (i.outcome == Handled::Queued) == queued)
            .map(|i| i.item)
            .collect()
    };
    let (acted, left_out) = (reviewed(false), reviewed(true));
    let looked: HashSet<i64> = acted.iter().copied().collect();
    let trusted = reviewers_trusted(trust, &all, &looked)?;
    let me = w.me()?;
    let is_trusted = |l: &str| trusted.get(l).copied().unwrap_or(false);
    let started = talk.turn_started_at.as_deref().unwrap_or(&run.created_at);
    let ctx = ReviewContext {
        head_sha: &pr.head.sha,
        last_turn_started: crate::clock::parse(started),
        afk_login: &me,
        agent_login: &w.t.settled.agent_login,
        trusted: &is_trusted,
        acted: &acted,
        left_out: &left_out,
        asks_stand_alone: w.t.settled.profile.asks_stand_alone,
        command_prefix: &w.t.settled.command_prefix,
    };
    note_not_taken(store, run, &all, &ctx)?;
    // the highest line comment a turn took with another ask than `r`'s
    let taken = store.review_lines_read(run.id)?;
    let read_up_to = |r: &Review| {
        taken
            .iter()
            .filter(|(id, _)| **id != r.id)
            .map(|(_, (_, last))| *last)
            .max()
            .unwrap_or(0)
    };
    let mut out = vec![];
    // a review's threads as its ask quotes them: its author's own comments
    // and trusted replies in them (an untrusted reader's reply is nobody's
    // word), each marked earlier or new, and outdated
    let mut quoted = |r: &Review, kept: Vec<LineComment>| -> Result<(Vec<LineComment>, usize)> {
        let trusted = others_trusted(trust, &r.author, &kept)?;
        let (own, others) = conversation::review_threads(&r.author, kept, |a| {
            trusted.contains(&a.to_ascii_lowercase())
        });
        let own =
            conversation::mark_earlier_and_new(own, ctx.last_turn_started, read_up_to(r), &acted);
        Ok((conversation::mark_outdated(own, &pr.head.sha), others))
    };
    // a comment review asks by its author's own line comments
    for r in conversation::comment_reviews(&all, &ctx) {
        let lines = w.t.forge()?.line_comments(&run.repo, pr.number, r.id)?;
        let read = lines_read(r, &lines.kept);
        let had = lines.kept.len();
        let (own, _) = quoted(r, lines.kept)?;
        if own.is_empty() {
            let why = Handled::Ignored(conversation::no_own_line_comments(had));
            note_review(store, run, r, &why)?;
            if let Some((id, count, last)) = read {
                store.note_review_lines_read(run.id, id, count, last)?;
            }
            continue;
        }
        out.push(Ask::of_review(
            (TalkKind::Review, r.id),
            &r.author,
            TalkSaid::LineComments,
            (r.body.clone(), own, r.body_cut || lines.more),
            read,
        ));
    }
    for r in conversation::actionable_reviews(&all, &ctx) {
        let lines = w.t.forge()?.line_comments(&run.repo, pr.number, r.id)?;
        // a thread on a line that its author opened with a command (Azure
        // DevOps): the command is what it said, recorded once
        let first = lines.kept.iter().min_by_key(|c| c.id);
        if conversation::line_thread_a_command(r, first, &ctx) {
            let why = Handled::Ignored(conversation::A_COMMAND.into());
            note_review(store, run, r, &why)?;
            continue;
        }
        let read = lines_read(r, &lines.kept);
        let (own, others) = quoted(r, lines.kept)?;
        if others > 0 {
            crate::log::decision(&format!(
                "{}#{} run {}: review {} by {}: {others} line comment(s) by others in its thread left out",
                run.repo, run.issue, run.id, r.id, r.author
            ));
        }
        out.push(Ask::of_review(
            (TalkKind::Review, r.id),
            &r.author,
            TalkSaid::ChangesRequested,
            (r.body.clone(), own, r.body_cut || lines.more),
            read,
        ));
    }
    out.extend(replies(w, store, trust, pr, (&all, &looked), items)?);
    Ok(out)
}

/// Whether each person whose review may ask is trusted (asked once each):
/// the authors of change requests, and of comment reviews not `looked` at.
fn reviewers_trusted(
    trust: &mut Trust,
    all: &[Review],
    looked: &HashSet<i64>,
) -> Result<HashMap<String, bool>> {
    let mut trusted = HashMap::new();
    for r in all.iter().filter(|r| {
        r.state == ReviewState::ChangesRequested
            || (r.state == ReviewState::Commented && !looked.contains(&r.id))
    }) {
        if !r.author.is_empty() && !trusted.contains_key(&r.author) {
            trusted.insert(r.author.clone(), trust.check(&r.author)?);
        }
    }
    Ok(trusted)
}

/// Record once, with why, each change request and comment review not taken.
fn note_not_taken(store: &Store, run: &Run, all: &[Review], ctx: &ReviewContext) -> Result<()> {
    for r in all {
        if let Some(why) = conversation::why_not_taken(all, r, ctx) {
            crate::log::decision(&format!(
                "{}#{} run {}: review {} by {}: ignored: {why}",
                run.repo, run.issue, run.id, r.id, r.author
            ));
            store.note_talk_item(
                run.id,
                (TalkKind::Review, r.id),
                &r.author,
                &TalkSaid::ChangesRequested,
                &Handled::Ignored(why.to_string()),
            )?;
        }
    }
    for r in all {
        if let Some(why) = conversation::why_comment_review_not_taken(all, r, ctx) {
            note_review(store, run, r, &Handled::Ignored(why.to_string()))?;
        }
    }
    Ok(())
}

/// The authors (lower case) of `comments` other than `author` whom the
/// ready label's rule trusts (afk's and the agent's accounts never).
fn others_trusted(
    trust: &mut Trust,
    author: &str,
    comments: &[LineComment],
) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for c in comments {
        let who = c.author.to_ascii_lowercase();
        if c.author.is_empty() || c.author.eq_ignore_ascii_case(author) || out.contains(&who) {
            continue;
        }
        if trust.check(&c.author)? {
            out.insert(who);
        }
    }
    Ok(out)
}

/// `asks` without the line comments of resolved threads, where the forge
/// shows resolution apart from its line comments; an ask left with no line
/// comment and no words of its own is no ask (recorded once, why said).
pub(super) fn without_resolved(
    w: &Watch,
    store: &Store,
    run: &Run,
    pr: &PullRequest,
    asks: Vec<Ask>,
) -> Result<Vec<Ask>> {
    let Some(resolved) = w.t.forge()?.resolved_line_comments(&run.repo, pr.number)? else {
        return Ok(asks);
    };
    let mut out = vec![];
    for mut a in asks {
        let had = a.comments.len();
        a.comments.retain(|c| !resolved.contains(&c.id));
        if had > 0 && a.comments.is_empty() && a.body.trim().is_empty() {
            let why = Handled::Ignored("its threads were resolved".to_string());
            crate::log::decision(&format!(
                "{}#{} run {}: {} {} by {}: {}",
                run.repo,
                run.issue,
                run.id,
                a.key.0,
                a.key.1,
                a.author,
                why.words()
            ));
            store.note_talk_item(run.id, a.key, &a.author, &a.said, &why)?;
            continue;
        }
        out.push(a);
    }
    Ok(out)
}

/// The thread reply `c` is in, as its turn quotes it: the trusted
/// comments at its file and line before it, oldest first, then the reply,
/// each named by its author and marked earlier or new (an untrusted one,
/// afk's or the agent's is left out: `Trust::check`).
fn thread_of(trust: &mut Trust, kept: &[LineComment], c: &LineComment) -> Result<Vec<LineComment>> {
    let mut thread = vec![];
    for e in kept
        .iter()
        .filter(|e| e.id < c.id && e.path == c.path && e.line == c.line)
    {
        if e.author.is_empty() || !trust.check(&e.author)? {
            continue;
        }
        let mut e = e.clone();
        e.body = format!("(earlier, {}) {}", e.author, e.body);
        thread.push(e);
    }
    let mut new = c.clone();
    new.body = format!("(new, {}) {}", c.author, c.body);
    thread.push(new);
    Ok(thread)
}

/// What of review `r`'s threads a turn that takes it has read: (review,
/// line comments held, highest id); None where the forge counts none.
fn lines_read(r: &Review, read: &[LineComment]) -> Option<(i64, u64, i64)> {
    let count = r.comments_count?;
    Some((r.id, count, read.iter().map(|c| c.id).max().unwrap_or(0)))
}

/// Trusted replies in the threads of reviews afk looked at before (Gitea
/// keeps a reply under the replied review and moves its `comments_count`;
/// GitHub makes a reply a review of its own, heard as one): each an ask
/// of its own, taken once by its id. A review looked at without a record
/// (not taken) was read up to its author's own comments. Read only where
/// the count moved.
fn replies(
    w: &Watch,
    store: &Store,
    trust: &mut Trust,
    pr: &PullRequest,
    (all, looked): (&[Review], &HashSet<i64>),
    items: &[Item],
) -> Result<Vec<Ask>> {
    let run = trust.run;
    let read = store.review_lines_read(run.id)?;
    let heard: HashSet<i64> = items
        .iter()
        .filter(|i| i.kind == TalkKind::Reply)
        .map(|i| i.item)
        .collect();
    let mut out = vec![];
    for r in all.iter().filter(|r| looked.contains(&r.id)) {
        let Some(count) = r.comments_count else {
            continue;
        };
        let known = read.get(&r.id).copied();
        if known.is_some_and(|(seen, _)| count <= seen) {
            continue;
        }
        let lines = w.t.forge()?.line_comments(&run.repo, pr.number, r.id)?;
        // looked at without a record of how far (a review not taken:
        // untrusted, stale, superseded): its author's own comments are
        // what was looked at, and a trusted reply after them is new
        let last = known.map_or_else(
            || {
                lines
                    .kept
                    .iter()
                    .filter(|c| c.author.eq_ignore_ascii_case(&r.author))
                    .map(|c| c.id)
                    .max()
                    .unwrap_or(0)
            },
            |(_, last)| last,
        );
        let top = lines.kept.iter().map(|c| c.id).max().unwrap_or(last);
        let mut asks = vec![];
        for c in lines
            .kept
            .iter()
            .filter(|c| c.id > last && !heard.contains(&c.id))
        {
            if c.author.is_empty() || !trust.check(&c.author)? {
                continue;
            }
            let thread =
                conversation::mark_outdated(thread_of(trust, &lines.kept, c)?, &pr.head.sha);
            asks.push(Ask::of_review(
                (TalkKind::Reply, c.id),
                &c.author,
                TalkSaid::LineComments,
                (String::new(), thread, lines.more),
                Some((r.id, count, top)),
            ));
        }
        if asks.is_empty() {
            // nothing trusted new: read, not asked of again
            store.note_review_lines_read(run.id, r.id, count, top)?;
        }
        out.extend(asks);
    }
    Ok(out)
}

/// A comment review looked at and not taken, recorded once with why.
fn note_review(store: &Store, run: &Run, r: &Review, how: &Handled) -> Result<()> {
    crate::log::decision(&format!(
        "{}#{} run {}: comment review {} by {}: {}",
        run.repo,
        run.issue,
        run.id,
        r.id,
        r.author,
        how.words()
    ));
    store.note_talk_item(
        run.id,
        (TalkKind::Review, r.id),
        &r.author,
        &TalkSaid::CommentReview,
        how,
    )
}
