//! What watch hears of the conversation on a run's issue and PR
//! (docs/reviews.md), in one pass ([`hear`]): trusted commands
//! (`core::conversation::parse_command`), each heard once by what it does
//! (`TalkSaid::effect`): carried out at once or queued for the turn asked
//! for, and acknowledged with one `eyes` reaction, or an unknown verb
//! answered with the verbs; and trusted changes-requested reviews
//! (`core::conversation::actionable_reviews`) with their line comments, for
//! a review turn. Every review looked at, and every command from someone
//! else since the run started, is recorded once by its id (`store::talk`),
//! which is also the trail; afk's own comments, the agent's and those from
//! before the run are passed over. What afk first read of each comment is
//! kept (`store::comments_read`): a comment is a command only as first read
//! (`core::conversation::not_a_command`), so one read as no command never
//! becomes one, whatever its dates say. What each comment and review
//! becomes, its author asked of one `Trust`, is `trusted.rs`: the commands,
//! those afk cannot prove its author's confirmed on the thread, the reviews.

mod paused;
mod trusted;

use super::lists::Watch;
use crate::core::conversation::FirstRead;
use crate::forge::{Comment, PullRequest, Target};
use crate::store::Store;
use crate::store::runs::Run;
use crate::store::talk::{Item, Talk};
use crate::types::{Effect, Handled, LineComment, TalkKind, TalkSaid, TurnBudget};
use anyhow::Result;
use std::collections::{HashMap, HashSet};
use trusted::{
    Read, Trust, Waited, carry_out, command, note_command, past_grace, read, reviews,
    without_resolved,
};

/// One trusted request a turn answers: a review's changes, or a command
/// queued for the next turn asked for.
#[derive(Clone)]
pub(crate) struct Ask {
    /// what it is, and its id
    pub key: (TalkKind, i64),
    pub author: String,
    /// what was said (`TalkSaid::ChangesRequested` for a review)
    pub said: TalkSaid,
    /// the limit its turn counts against (`TalkSaid::effect`)
    pub budget: TurnBudget,
    pub body: String,
    pub comments: Vec<LineComment>,
    pub cut: bool,
    /// (review, line comments held, highest id) to keep as read once a
    /// turn takes it: the threads' replies past it ask again
    pub lines_read: Option<(i64, u64, i64)>,
}

impl Ask {
    /// A review's ask (a change request, a comment review's line comments,
    /// a reply in a thread), counted by `review_turns_max`.
    fn of_review(
        key: (TalkKind, i64),
        author: &str,
        said: TalkSaid,
        (body, comments, cut): (String, Vec<LineComment>, bool),
        lines_read: Option<(i64, u64, i64)>,
    ) -> Ask {
        Ask {
            key,
            author: author.to_string(),
            said,
            budget: TurnBudget::Review,
            body,
            comments,
            cut,
            lines_read,
        }
    }

    /// How a turn's line and prompt name it: a reply in a thread by its
    /// own words, else what was said (`TalkSaid::verb`).
    pub fn verb(&self) -> String {
        match self.key.0 {
            TalkKind::Reply => crate::core::prompt::REPLY_VERB.to_string(),
            _ => self.said.verb(),
        }
    }

    /// A review's request for changes (else a command's).
    pub fn review(&self) -> bool {
        matches!(
            self.said,
            TalkSaid::ChangesRequested | TalkSaid::LineComments
        )
    }
}

/// What the conversation asks of a run now.
#[derive(Default, Clone)]
pub(crate) struct Heard {
    pub talk: Talk,
    pub asked: Vec<Ask>,
    /// the trail: every review and command looked at
    pub items: Vec<Item>,
    /// how many times the run continued by itself after a day's-cap pause
    /// (read where a day's cap is set; 0 otherwise)
    pub day_continuations: u32,
}

/// Read the conversation of a run still in flight: commands on the issue
/// (and the open PR), reviews of the open PR. A `resume` restarts the stall
/// clock in `run` (and the store).
pub(crate) fn hear(
    w: &Watch,
    store: &Store,
    run: &mut Run,
    pr: Option<&PullRequest>,
    running: bool,
) -> Result<Heard> {
    let mut talk = store.talk(run.id)?;
    let items = store.talk_items(run.id)?;
    let open_pr = pr.filter(|p| p.is_open());
    let snapshot = run.clone();
    let mut trust = Trust {
        w,
        run: &snapshot,
        known: HashMap::new(),
    };
    let mut done: HashSet<(TalkKind, i64)> = items.iter().map(|i| (i.kind, i.item)).collect();
    let mut resumed = false;
    let prefix = &w.t.settled.command_prefix;
    if !prefix.is_empty() {
        let mut threads = vec![Target::Issue(run.issue)];
        threads.extend(open_pr.map(|p| Target::Pr(p.number)));
        let reads = store.comments_read(run.id)?;
        let mut listed: Vec<(Target, Vec<Comment>)> = vec![];
        for on in threads {
            let comments = w.t.forge()?.comments(&run.repo, on)?;
            let unheard: Vec<&Comment> = comments
                .iter()
                .filter(|c| !done.contains(&(TalkKind::Comment, c.id)))
                .collect();
            let unheard = past_grace(store, run, unheard)?;
            // the edits a signed delivery reported: the dates may show none
            let ids: Vec<i64> = unheard.iter().map(|c| c.id).collect();
            let marked = store.comments_edited(run.repo.as_str(), &ids)?;
            let proofs = trusted::proofs(w, store, run, &ids)?;
            let fresh: Vec<Read> = unheard
                .into_iter()
                .map(|c| read(prefix, &reads, c, marked.contains(&c.id), proofs(c.id)))
                .collect();
            // every first read is kept before anything is done: what a
            // comment was then is what it can be, whatever its dates say
            let firsts: Vec<(i64, &str, bool)> = fresh
                .iter()
                .filter(|r| r.first == FirstRead::Now)
                .map(|r| (r.comment.id, r.comment.body.as_str(), r.what.is_some()))
                .collect();
            store.note_comments_read(run.id, &firsts)?;
            for r in &fresh {
                if done.insert((TalkKind::Comment, r.comment.id)) {
                    resumed |= command(w, store, (&mut trust, &mut talk), (on, &comments), r)?;
                }
            }
            listed.push((on, comments));
        }
        // the commands waiting for their author's 👍 (`core::command_proof`)
        // since an earlier tick: a question asked now is in no list yet
        for settled in trusted::waiting(w, run, &items, &listed, &reads)? {
            match settled {
                Waited::Given(item, on, c) if trust.check(&item.author)? => {
                    resumed |=
                        carry_out(w, store, (&snapshot, &mut talk), on, (c, item.what.clone()))?;
                }
                Waited::Given(..) => {}
                Waited::Void(item, why) => note_command(
                    store,
                    run,
                    (item.item, &item.author),
                    &item.what,
                    &Handled::Ignored(why.into()),
                )?,
            }
        }
    }
    if resumed {
        let now = crate::clock::ts(w.t.now);
        store.restart_stall_clock(run.id, &now)?;
        run.last_progress_at = Some(now);
    }
    let items = store.talk_items(run.id)?;
    let mut asked: Vec<Ask> = items
        .iter()
        .filter(|i| i.kind == TalkKind::Comment && i.outcome == Handled::Queued)
        .filter_map(|i| match i.what.effect() {
            Effect::Queued(budget) => Some(Ask {
                key: (TalkKind::Comment, i.item),
                author: i.author.clone(),
                said: i.what.clone(),
                budget,
                body: i.what.text().to_string(),
                comments: vec![],
                cut: false,
                lines_read: None,
            }),
            _ => None,
        })
        .collect();
    if let Some(p) = open_pr {
        let mut asks = reviews(w, store, &mut trust, &talk, p, &items)?;
        // a turn about to start on line comments (or the escalation that
        // none is left): their threads' resolution, where the forge shows it
        // apart (GitHub's GraphQL), asked once; a held or stopped run starts
        // none, so its ticks ask nothing
        let may_start = !running && talk.held_by.is_none() && talk.stopped_by.is_none();
        if may_start && asks.iter().any(|a| !a.comments.is_empty()) {
            asks = without_resolved(w, store, &snapshot, p, asks)?;
        }
        asked.extend(asks);
    }
    let items = store.talk_items(run.id)?;
    Ok(Heard {
        talk,
        asked,
        items,
        day_continuations: 0,
    })
}

/// The reviews and commands afk acted on, for the checklist (never those ignored).
pub(super) fn said(heard: &Heard) -> Vec<crate::core::checklist::Said> {
    heard
        .items
        .iter()
        .filter(|i| i.outcome.acted_on())
        .map(|i| crate::core::checklist::Said {
            who: i.author.clone(),
            at: i.at.clone(),
            kind: i.kind,
            what: i.what.clone(),
            outcome: i.outcome.words(),
        })
        .collect()
}
