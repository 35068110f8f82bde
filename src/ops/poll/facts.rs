//! The facts of one repo's ready issues, gathered lazily for
//! `core::dispatch` (only for issues that could still win), with the
//! permission answers of this tick.

use crate::core::answers::{self, Said};
use crate::core::conversation::{self, FirstRead};
use crate::core::dispatch::{self, Blocker, IssueFacts, Trust};
use crate::core::explain;
use crate::forge::{Failure, ForgeError, Issue, State, Target};
use crate::store::runs::Escalation;
use crate::tick::{ErrorItem, Tick};
use crate::types::{IssueNumber, Permission, RepoName};
use anyhow::Result;
use std::collections::{BTreeSet, HashMap, HashSet};

/// (repo, issue, ready event) this state file already has a run for
pub type Handled = HashSet<(RepoName, IssueNumber, i64)>;
/// (repo, issue) → the issue's latest run and afk's escalation comment, when it was escalated
pub type Escalated = HashMap<(RepoName, IssueNumber), Escalation>;

/// An issue's facts, its arming event's id and when the forge dated it.
pub(super) type Found = (IssueFacts, i64, Option<time::OffsetDateTime>);

/// The facts of one repo's issues, with the permission answers of this tick.
pub(super) struct Lookup<'a> {
    pub(super) t: &'a Tick<'a>,
    handled: &'a Handled,
    pub(super) repo: &'a RepoName,
    /// login → the permission (Err: the forge refused the lookup)
    perms: HashMap<String, Result<Option<Permission>, ()>>,
    pub(super) errors: Vec<ErrorItem>,
    /// issue → why it was skipped, in words (`explain`)
    pub(super) why: HashMap<IssueNumber, String>,
}

impl<'a> Lookup<'a> {
    pub(super) fn new(t: &'a Tick<'a>, handled: &'a Handled, repo: &'a RepoName) -> Lookup<'a> {
        Lookup {
            t,
            handled,
            repo,
            perms: HashMap::new(),
            errors: vec![],
            why: HashMap::new(),
        }
    }

    /// The armers trusted by name: `poll.trusted_users`, forge logins, on a
    /// forge; none beside a tracker, whose own rule names its accounts
    /// (`tracker.trusted_accounts`): a forge login is no Jira account.
    fn named(&self) -> &'a [String] {
        match self.t.config().tracker {
            Some(_) => &[],
            None => &self.t.settled.trusted_users,
        }
    }

    pub(super) fn permission(
        &mut self,
        login: &str,
        issue: IssueNumber,
    ) -> Result<Result<Option<Permission>, ()>> {
        if !dispatch::needs_lookup(login, self.named()) {
            return Ok(Ok(None));
        }
        // a forge's trust is the account's in the repository; a tracker's
        // hangs on the issue too (its team or project, a delegation's
        // session), so beside a tracker it is read per issue
        let key = match self.t.config().tracker {
            Some(_) => format!("{login}\n{issue}"),
            None => login.to_string(),
        };
        if let Some(p) = self.perms.get(&key) {
            return Ok(p.clone());
        }
        let p = match self.t.forge()?.armer_permission(self.repo, issue, login) {
            Ok(p) => Ok(Some(p)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Forbidden) => {
                let fix = match self.t.config().tracker {
                    // `afk doctor` names the permission the tracker's account lacks
                    Some(_) => format!(
                        "{}; afk doctor says what it lacks",
                        explain::TRACKER_REFUSED
                    ),
                    None => format!(
                        "afk's account must be an admin of {} to check who armed issues",
                        self.repo
                    ),
                };
                self.errors.push(ErrorItem::msg(
                    self.repo,
                    Some(issue),
                    format!("{e:#}; {fix} (treated as untrusted)"),
                ));
                Err(())
            }
            Err(e) => return Err(e),
        };
        self.perms.insert(key, p.clone());
        Ok(p)
    }

    /// What trusted people said since afk's last escalation on the winner
    /// (nothing when it was never escalated); a failed read fails the issue.
    pub(super) fn heard(
        &mut self,
        escalated: &Escalated,
        issue: IssueNumber,
        failed: &mut BTreeSet<IssueNumber>,
    ) -> (Vec<Said>, usize) {
        let Some(after) = escalated.get(&(self.repo.clone(), issue)) else {
            return (vec![], 0);
        };
        match self.answers(issue, *after) {
            Ok(a) => a,
            Err(e) => {
                self.errors
                    .push(ErrorItem::from_err(self.repo, Some(issue), &e));
                failed.insert(issue);
                (vec![], 0)
            }
        }
    }

    /// What trusted people said on the issue since afk's escalation comment,
    /// each as afk first read it: every first read is kept under the
    /// escalated run (`store::comments_read`) before anything is carried, and
    /// an answer whose body differs from it is not carried
    /// (`core::answers::not_carried`): the forges date to the second, so an
    /// edit in the answer's own second shows none.
    pub(super) fn answers(
        &mut self,
        issue: IssueNumber,
        escalation: Escalation,
    ) -> Result<(Vec<Said>, usize)> {
        let me = self.t.forge()?.me()?.login;
        let after = escalation.comment;
        let settled = &self.t.settled;
        let store = self.t.store();
        let listed = self.t.forge()?.comments(self.repo, Target::Issue(issue))?;
        let read: Vec<_> = listed
            .iter()
            .filter(|c| c.id > after && !c.author().eq_ignore_ascii_case(&me))
            .collect();
        // one written less than its edit grace ago (`afk hook`) is read by
        // its own tick, once an edit in its own second has been reported
        let ids: Vec<i64> = read.iter().map(|c| c.id).collect();
        let young = store.comments_in_grace(self.repo.as_str(), &ids, crate::clock::wall_ms())?;
        let read: Vec<_> = read
            .into_iter()
            .filter(|c| !young.contains(&c.id))
            .collect();
        let reads = store.comments_read(escalation.run)?;
        let ids: Vec<i64> = read.iter().map(|c| c.id).collect();
        let marked = store.comments_edited(self.repo.as_str(), &ids)?;
        let mut firsts = vec![];
        let mut comments: Vec<Said> = vec![];
        for c in read {
            let hash = crate::store::comments_read::body_hash(&c.body);
            let first =
                conversation::first_read(c.id, &hash, reads.kept.get(&c.id), reads.folded_up_to);
            if first == FirstRead::Now {
                let command = conversation::parse_command(&settled.command_prefix, &c.body);
                firsts.push((c.id, c.body.as_str(), command.is_some()));
            }
            // an edited comment is no trusted person's answer
            if c.edited() || marked.contains(&c.id) {
                continue;
            }
            if let Some(why) = answers::not_carried(first) {
                crate::log::decision(&format!(
                    "{}#{issue}: answer {} by {}: ignored: {why}",
                    self.repo,
                    c.id,
                    c.author()
                ));
                continue;
            }
            comments.push(Said {
                id: c.id,
                author: c.author().to_string(),
                body: c.body.clone(),
            });
        }
        store.note_comments_read(escalation.run, &firsts)?;
        let mut failure = None;
        let out = answers::since_escalation(&comments, after, &me, |who| {
            match self.permission(who, issue) {
                Ok(p) => {
                    dispatch::trust(
                        who,
                        &[&me, &settled.agent_login],
                        self.named(),
                        settled.trusted_permission,
                        crate::types::Permission::access_of(&p),
                    ) == Trust::Trusted
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    false
                }
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// The facts about one issue with its arming event's id and time, or
    /// None when no ready-label event is visible.
    pub(super) fn facts(&mut self, issue: &Issue) -> Result<Option<Found>> {
        let cfg = self.t.config();
        let repo = self.repo;
        let repo_matches = issue
            .repository
            .as_ref()
            .is_none_or(|r| r.full_name.eq_ignore_ascii_case(repo));
        let mut facts = IssueFacts {
            repo_matches,
            already_handled: false,
            trusted: false,
            edited_after_arming: false,
            blocked: false,
        };
        let label = cfg.poll.ready_label.as_str();
        let n = issue.number;
        if !repo_matches {
            let name = issue.repository.as_ref().map(|r| r.full_name.as_str());
            self.why
                .insert(n, explain::not_allowlisted(name.unwrap_or("")));
            return Ok(Some((facts, 0, None)));
        }
        let timeline = self.t.forge()?.timeline(repo, n)?;
        let Some(armed) = dispatch::arming(&timeline, label) else {
            let why =
                explain::untrusted(None, label, cfg.poll.trusted_permission.as_str(), Ok(None));
            self.why.insert(n, why);
            return Ok(None);
        };
        facts.already_handled = self.handled.contains(&(repo.clone(), n, armed.event_id));
        if facts.already_handled {
            self.why
                .insert(n, explain::already_handled(&armed.login, label));
            return Ok(Some((facts, armed.event_id, armed.at)));
        }
        let perm = self.permission(&armed.login, issue.number)?;
        let trust = dispatch::trust(
            &armed.login,
            &[&cfg.runner.agent_login],
            self.named(),
            cfg.poll.trusted_permission,
            crate::types::Permission::access_of(&perm),
        );
        facts.trusted = trust == Trust::Trusted;
        if !facts.trusted {
            let perm = perm.as_ref().map(Option::as_ref).map_err(|_| ());
            let why = match (&cfg.tracker, perm) {
                // the tracker's rule said why in its own words
                (Some(t), Ok(Some(p))) => {
                    let label = (t.ready != "delegate").then_some(label);
                    explain::untrusted_by_tracker(&armed.login, label, p.word())
                }
                // the tracker refused a read its rule needs: its words, not a forge's
                (Some(t), Err(())) => {
                    let label = (t.ready != "delegate").then_some(label);
                    explain::untrusted_by_tracker(&armed.login, label, explain::TRACKER_REFUSED)
                }
                _ => {
                    let needed = cfg.poll.trusted_permission.as_str();
                    explain::untrusted(Some(&armed.login), label, needed, perm)
                }
            };
            self.why.insert(n, why);
            return Ok(Some((facts, armed.event_id, armed.at)));
        }
        let updated = issue.updated_at.as_deref().and_then(crate::clock::parse);
        facts.edited_after_arming = dispatch::edited_after_arming(&timeline, &armed, updated);
        if facts.edited_after_arming {
            self.why
                .insert(n, explain::edited_after_arming(&armed.login, label));
            return Ok(Some((facts, armed.event_id, armed.at)));
        }
        if let Some(by) = self.blocked(issue)? {
            facts.blocked = true;
            self.why.insert(n, by);
        }
        Ok(Some((facts, armed.event_id, armed.at)))
    }

    /// Blocked by an open dependency, or by a `Blocked by` line naming an open
    /// issue. Cross-repo blockers are looked up only inside the allowlist: afk's
    /// token never asks about a repo the operator did not name, and a blocker
    /// it cannot check keeps the issue blocked (safety first; see the README).
    /// Returns the first blocker, in words.
    pub(super) fn blocked(&mut self, issue: &Issue) -> Result<Option<String>> {
        let repo = self.repo;
        let seen = |s: State| match s {
            State::Open => Blocker::Open,
            State::Closed => Blocker::Closed,
            State::Unknown => Blocker::Unknown,
        };
        let deps = self.t.forge()?.dependencies(repo, issue.number)?;
        if let Some(d) = deps.iter().find(|d| dispatch::blocks(seen(d.state))) {
            let other = d.repository.as_ref().map(|r| r.full_name.as_str());
            // a tracker's blocker is no forge issue: named by its key alone
            // (`afk_forge::jira::Jira::blockers`: number 0)
            let name = match (other, d.number.0) {
                (Some(key), 0) => key.to_string(),
                // Gitea's `HIDDEN` stand-in: no repository, no number
                // (docs/fidelity/gitea.md)
                (None, 0) => "an issue Gitea hides from afk's account".to_string(),
                _ => format!("{}#{}", other.unwrap_or(repo), d.number),
            };
            return Ok(Some(explain::blocked_by(&name, seen(d.state))));
        }
        // a tracker's description names no forge issue: its `Blocked by #N`
        // lines are not read (its links are, above)
        if self.t.config().tracker.is_some() {
            return Ok(None);
        }
        let allow = &self.t.config().poll.allowlist;
        for (other, n) in dispatch::body_blockers(issue.body.as_deref().unwrap_or("")) {
            let r = other.as_ref().unwrap_or(repo);
            let b = if !allow.iter().any(|a| a.eq_ignore_ascii_case(r)) {
                Blocker::OutOfSight
            } else {
                match self.t.forge()?.issue(r, n) {
                    Ok(i) => seen(i.state),
                    // GitHub answers a deleted issue 410, a transferred one
                    // a redirect (docs/fidelity/github.md): gone is missing,
                    // moved is unknown (it blocks), never the armed issue's
                    // error every tick
                    Err(e) => match ForgeError::kind_of(&e) {
                        Some(Failure::NotFound | Failure::Gone) => Blocker::Missing,
                        Some(Failure::Other(301 | 302 | 307 | 308)) => Blocker::Unknown,
                        _ => return Err(e),
                    },
                }
            };
            if dispatch::blocks(b) {
                return Ok(Some(explain::blocked_by(&format!("{r}#{n}"), b)));
            }
        }
        Ok(None)
    }
}
