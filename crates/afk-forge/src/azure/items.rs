//! Work items as issues: the poll's WIQL query and batch reads, re-checked
//! here item by item; the updates as a timeline (the arming by the three
//! identities, the edits after it); the blockers; tags written by JSON
//! Patch with a `test` on `/rev`; comments, their likes, the description
//! and the move to `close_state`.

use super::wire::{self, WorkItem};
use super::{AzureDevops, v};
use crate::http::{Failure, ForgeError, MAX_PAGES, enc};
use crate::model::*;
use crate::types::{IssueNumber, RepoName};
use afk_wire::azure::html::escape as html_escape;
use afk_wire::azure::repo as repo_ids;
use afk_wire::azure::{API_VERSION, COMMENTS_VERSION, EDIT_FIELDS, PREVIEW_1};
use afk_wire::azure::{area, tags, trust as rules, wiql};
use anyhow::{Result, anyhow};
use serde_json::json;
use std::collections::HashMap;

/// The fields the batch read asks for: what afk re-checks and shows.
const FIELDS: &[&str] = &[
    "System.Id",
    "System.Title",
    "System.Description",
    "System.State",
    "System.WorkItemType",
    "System.AreaPath",
    "System.TeamProject",
    "System.Tags",
    "System.CreatedBy",
    "System.ChangedDate",
    "Microsoft.VSTS.CMMI.Blocked",
];

/// A work item's predecessor link (`$expand=relations`).
const PREDECESSOR: &str = "System.LinkTypes.Dependency-Reverse";

/// How often a tag or state write is tried again when its `test` on
/// `/rev` was refused.
const PATCH_TRIES: usize = 3;

/// The revisions that added a tag read at once, at most (their armers).
const ARMERS_AT_ONCE: usize = 4;

/// The batch reads of one query's ids sent at once, at most (a project's
/// query may find a thousand: five batches, one round trip).
const BATCHES_AT_ONCE: usize = 8;

/// JSON Patch's media type (the work-item update takes no other).
const JSON_PATCH: &str = "application/json-patch+json";

/// A state category that is closed.
fn closed_category(category: &str) -> bool {
    category.eq_ignore_ascii_case("Completed") || category.eq_ignore_ascii_case("Removed")
}

/// The patch path saying `System.Description` is Markdown.
const MD_FORMAT: &str = "/multilineFieldsFormat/System.Description";

impl AzureDevops {
    /// A field the rule needs, or the request's error.
    pub(super) fn field<'a>(item: &'a WorkItem, name: &str) -> Result<&'a str> {
        item.text(name).ok_or_else(|| {
            anyhow!(
                "forge: work item #{}: the answer has no {name}; nothing of it was used",
                item.id
            )
        })
    }

    /// `/{projectId}/_apis/wit`.
    pub(super) fn wit(&self, repo: &RepoName) -> Result<String> {
        Ok(format!("{}/wit", self.apis(repo)?))
    }

    /// A type's states and their categories in `repo`'s project, once a tick.
    pub(super) fn type_states(&self, repo: &RepoName, kind: &str) -> Result<Vec<wire::TypeState>> {
        let project = self.project_ref(repo)?.to_lowercase();
        let key = (project, kind.to_lowercase());
        self.states.get(key, || {
            let wit = self.project_wit(repo)?;
            let path = format!("{wit}/workitemtypes/{}/states", enc(kind));
            let list: wire::List<wire::TypeState> =
                self.http.json("GET", &v(&path, API_VERSION), None)?;
            Ok(list.value)
        })
    }

    /// The Completed and Removed states of every dispatched type.
    /// The types' states are read at once (the client keeps to
    /// `forge.concurrency`): the first repository of a project to ask waits
    /// one round trip for them, not one a type.
    pub(super) fn closed_states(&self, repo: &RepoName) -> Result<Vec<String>> {
        let types = &self.setup.work_item_types;
        let read = crate::fan_out(types, types.len(), |kind| self.type_states(repo, kind));
        let mut out: Vec<String> = vec![];
        for states in read {
            for s in states? {
                if closed_category(&s.category)
                    && !out.iter().any(|o| o.eq_ignore_ascii_case(&s.name))
                {
                    out.push(s.name);
                }
            }
        }
        Ok(out)
    }

    /// Whether `item` (of `repo`'s project) is in a Completed or Removed
    /// state; a state its type does not list is the request's error.
    pub(super) fn is_closed(&self, repo: &RepoName, item: &WorkItem) -> Result<bool> {
        let (kind, state) = (
            Self::field(item, "System.WorkItemType")?,
            Self::field(item, "System.State")?,
        );
        let states = self.type_states(repo, kind)?;
        match states.iter().find(|s| s.name.eq_ignore_ascii_case(state)) {
            Some(s) => Ok(closed_category(&s.category)),
            None => Err(anyhow!(
                "forge: work item #{}: state \"{state}\" is not one of type \"{kind}\"'s",
                item.id
            )),
        }
    }

    /// The repository (of the configured area paths) whose area `item` is
    /// under, if any.
    pub(super) fn owner_of(&self, item: &WorkItem) -> Option<String> {
        let path = item.text("System.AreaPath")?;
        area::repo_of(&self.setup.area_paths, path).map(str::to_string)
    }

    /// An allowlisted repository (one with an area path) of `project`, if
    /// any: the first in the config's order.
    fn allowlisted_in(&self, project: &str) -> Option<RepoName> {
        self.setup
            .area_paths
            .iter()
            .filter_map(|(r, _)| RepoName::parse_for(crate::types::NameShape::ProjectRepo, r).ok())
            .find(|r| r.owner().eq_ignore_ascii_case(project))
    }

    /// The areas configured for `repo`.
    pub(super) fn areas(&self, repo: &RepoName) -> Vec<String> {
        self.setup
            .area_paths
            .iter()
            .filter(|(r, _)| r.eq_ignore_ascii_case(repo))
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// `item` as an issue of `repo`: its tags as labels, its project and
    /// area's repository as the forge names them now (the allowlist re-check
    /// compares that name: an item moved out of the area is not `repo`'s).
    pub(super) fn to_issue(&self, repo: &RepoName, item: &WorkItem, closed: bool) -> Result<Issue> {
        let owner = self.owner_of(item).unwrap_or_default();
        let full_name = if owner.eq_ignore_ascii_case(repo) {
            self.full_name(repo)?
        } else {
            owner
        };
        let project = item.text("System.TeamProject").unwrap_or(repo.owner());
        Ok(Issue {
            id: item.id as i64,
            number: IssueNumber(item.id),
            title: Self::field(item, "System.Title")?.to_string(),
            // what a person does not see, the agent does not read
            body: item.description(),
            state: if closed { State::Closed } else { State::Open },
            labels: tags::parse(item.text("System.Tags"))
                .into_iter()
                .map(|name| Label { id: 0, name })
                .collect(),
            html_url: format!(
                "{}/{}/_workitems/edit/{}",
                self.http.root(),
                enc(project),
                item.id
            ),
            pull_request: None,
            repository: Some(RepoMeta { full_name }),
            user: match item.identity_ref("System.CreatedBy") {
                Some(who) if !who.id.is_empty() => Some(User {
                    id: 0,
                    login: self.login_of_ref(&who)?,
                }),
                _ => None,
            },
            updated_at: item.text("System.ChangedDate").map(str::to_string),
        })
    }

    /// `ids` read in batches of 200 ([`BATCHES_AT_ONCE`] at once), only the
    /// fields afk uses, in the ids' order; an item the account cannot read
    /// is left out (`errorPolicy: "omit"`).
    pub(super) fn batch(&self, repo: &RepoName, ids: &[u64]) -> Result<Vec<WorkItem>> {
        let path = v(
            &format!("{}/workitemsbatch", self.project_wit(repo)?),
            API_VERSION,
        );
        let chunks: Vec<&[u64]> = ids.chunks(wiql::BATCH).collect();
        let read = crate::fan_out(&chunks, BATCHES_AT_ONCE, |chunk| {
            let body = json!({ "ids": chunk, "fields": FIELDS, "errorPolicy": "omit" });
            // a read sent as a POST: asked again after a 5xx or a lost answer
            let list: wire::List<Option<WorkItem>> = self.http.query_json(&path, &body)?;
            Ok::<_, anyhow::Error>(list.value.into_iter().flatten().collect::<Vec<_>>())
        });
        let mut out = vec![];
        for items in read {
            out.extend(items?);
        }
        Ok(out)
    }

    /// One work item, all its fields (and relations when asked).
    fn read_item(&self, repo: &RepoName, n: IssueNumber, relations: bool) -> Result<WorkItem> {
        let expand = if relations { "?$expand=relations" } else { "" };
        let path = format!("{}/workitems/{}{expand}", self.wit(repo)?, n.0);
        let item: WorkItem = self.http.json("GET", &v(&path, API_VERSION), None)?;
        self.seen.lock().unwrap().insert(n.0, item.clone());
        Ok(item)
    }

    /// The item as this tick last read it, taken out (a write's first try
    /// starts from it: its `test` on `/rev` refuses it if it is stale),
    /// else read now.
    fn item_for_write(&self, repo: &RepoName, n: IssueNumber, fresh: bool) -> Result<WorkItem> {
        let kept = self.seen.lock().unwrap().remove(&n.0);
        match kept {
            Some(item) if !fresh => Ok(item),
            _ => self.read_item(repo, n, false),
        }
    }

    /// A write to item `n` (a comment, a field): what this tick read of it
    /// is not its latest revision any more.
    pub(super) fn forget_item(&self, n: IssueNumber) {
        self.seen.lock().unwrap().remove(&n.0);
    }

    pub(super) fn work_item(&self, repo: &RepoName, n: IssueNumber) -> Result<Issue> {
        let item = self.read_item(repo, n, false)?;
        let closed = self.is_closed(repo, &item)?;
        self.to_issue(repo, &item, closed)
    }

    /// The updates (all pages, oldest first) as events. A tag added is
    /// `LabelAdded` by the revision's armer when its three identities agree,
    /// else by an actor no lookup trusts (the words "changed by X, authorized
    /// as Y"); a change of a field the prompt reads, by any identity but afk's
    /// account (by id), is `Renamed` (edited after arming); every update is an
    /// event, so its date counts. Actors are logins (`uniqueName`s).
    pub(super) fn item_timeline(
        &self,
        repo: &RepoName,
        n: IssueNumber,
    ) -> Result<Vec<TimelineEvent>> {
        let path = v(
            &format!("{}/workItems/{}/updates", self.wit(repo)?, n.0),
            API_VERSION,
        );
        let updates: Vec<wire::Update> = self.http.get_all_in(&path, "value")?;
        let me = self.account_id()?;
        // who armed each revision that added a tag: read a few at once
        let adding: Vec<&wire::Update> = (updates.iter())
            .filter(|u| {
                let (old, new) = u.change("System.Tags").unwrap_or((None, None));
                tags::parse(new).iter().any(|t| tags::added(old, new, t))
            })
            .collect();
        let read = crate::fan_out(&adding, ARMERS_AT_ONCE, |u| self.armer(repo, n, u));
        let mut armers: HashMap<i64, String> = HashMap::new();
        for (u, who) in adding.iter().zip(read) {
            armers.insert(u.rev, who?);
        }
        let mut out = vec![];
        for u in &updates {
            let by = self.login_of_ref(&u.revised_by)?;
            let at = u.at();
            let event = |kind, label: Option<String>, actor: String| TimelineEvent {
                id: u.rev,
                kind,
                label,
                actor,
                created_at: at.clone(),
            };
            let (old, new) = u.change("System.Tags").unwrap_or((None, None));
            let added: Vec<String> = tags::parse(new)
                .into_iter()
                .filter(|t| tags::added(old, new, t))
                .collect();
            if !added.is_empty() {
                let actor = match armers.get(&u.rev) {
                    Some(a) => a.clone(),
                    None => self.armer(repo, n, u)?,
                };
                for t in added {
                    out.push(event(EventKind::LabelAdded, Some(t), actor.clone()));
                }
            }
            for t in tags::parse(old)
                .into_iter()
                .filter(|t| tags::removed(old, new, t))
            {
                out.push(event(EventKind::LabelRemoved, Some(t), by.clone()));
            }
            let edited = EDIT_FIELDS.iter().any(|f| u.changed(f));
            if edited && !u.revised_by.id.trim().eq_ignore_ascii_case(&me) {
                out.push(event(EventKind::Renamed, None, by));
            } else {
                out.push(event(EventKind::Other, None, by));
            }
        }
        Ok(out)
    }

    /// Who made update `u`: `revisedBy`'s login when the revision's
    /// `System.ChangedBy` and `System.AuthorizedAs` are the same identity (by
    /// id), else the report's words, which name no identity a lookup could
    /// trust: "changed by X, authorized as Y" with each one's `uniqueName`
    /// (else its id; the ids when the names do not tell them apart).
    fn armer(&self, repo: &RepoName, n: IssueNumber, u: &wire::Update) -> Result<String> {
        let path = format!("{}/workItems/{}/revisions/{}", self.wit(repo)?, n.0, u.rev);
        let rev: WorkItem = self.http.json("GET", &v(&path, API_VERSION), None)?;
        const CHANGED: &str = "System.ChangedBy";
        const AUTHORIZED: &str = "System.AuthorizedAs";
        let why = match rules::armer(
            &u.revised_by.id,
            rev.identity(CHANGED),
            rev.identity(AUTHORIZED),
        ) {
            Ok(_) => return self.login_of_ref(&u.revised_by),
            Err(why) => why,
        };
        let named = |field: &str| match rev.identity_ref(field) {
            Some(who) => Some(shown(&who)),
            None => rev.identity(field).map(str::to_string),
        };
        let changed = named(CHANGED);
        let authorized = (rev.identity(AUTHORIZED))
            .filter(|a| !a.trim().is_empty())
            .and_then(|_| named(AUTHORIZED));
        let words = rules::armer(
            &shown(&u.revised_by),
            changed.as_deref(),
            authorized.as_deref(),
        )
        .err()
        .unwrap_or(why);
        // words with spaces: never a login a lookup or a name could trust
        Ok(words)
    }

    /// The open predecessors, `Blocked = Yes` (the item itself, as its own
    /// blocker), and every predecessor afk cannot read (kept blocked).
    /// `Blocked by #N` lines are the core's, as on every forge.
    pub(super) fn blockers(&self, repo: &RepoName, n: IssueNumber) -> Result<Vec<Issue>> {
        let item = self.read_item(repo, n, true)?;
        let mut out = vec![];
        if item
            .text("Microsoft.VSTS.CMMI.Blocked")
            .is_some_and(|b| b.eq_ignore_ascii_case("yes"))
        {
            let mut me = self.to_issue(repo, &item, false)?;
            me.title = format!("Blocked = Yes on #{}", item.id);
            out.push(me);
        }
        let ids: Vec<u64> = item
            .relations
            .iter()
            .flatten()
            .filter(|r| r.rel == PREDECESSOR)
            .filter_map(wire::Relation::item_id)
            .collect();
        let read = self.batch(repo, &ids)?;
        let project = self.repository(repo)?.project.name;
        for id in ids {
            let Some(b) = read.iter().find(|b| b.id == id) else {
                out.push(unreadable(id, repo));
                continue;
            };
            // its state is read with its own project's states: this one's,
            // or another's with an allowlisted repository; a project with
            // none keeps the item blocked
            let judged_by = match b.text("System.TeamProject") {
                Some(p) if p.eq_ignore_ascii_case(&project) => Some(repo.clone()),
                Some(p) => self.allowlisted_in(p),
                None => None,
            };
            let done = match &judged_by {
                Some(r) => self.is_closed(r, b)?,
                None => false,
            };
            if !done {
                out.push(self.to_issue(repo, b, false)?);
            }
        }
        Ok(out)
    }

    /// `GET .../wit/tags`: the project's tags.
    pub(super) fn project_tags(&self, repo: &RepoName) -> Result<Vec<Label>> {
        let path = v(&format!("{}/tags", self.wit(repo)?), API_VERSION);
        let list: wire::List<wire::TagDefinition> = self.http.json("GET", &path, None)?;
        Ok(list
            .value
            .into_iter()
            .map(|t| Label {
                id: 0,
                name: t.name,
            })
            .collect())
    }

    /// The tags read at revision R with afk's change applied (and the state
    /// moved, when given), in one patch whose `test` on `/rev` makes a
    /// concurrent change refuse it; read again and tried again, at most
    /// three times. Never `bypassRules`. The project's tagged items as this
    /// tick queried them take the item as written; after any other outcome
    /// (nothing to write, refused, unknown) they are asked again.
    pub(super) fn write_tags(
        &self,
        repo: &RepoName,
        n: IssueNumber,
        add: &[&str],
        remove: &[&str],
        state: Option<&str>,
    ) -> Result<()> {
        match self.patch_tags(repo, n, add, remove, state) {
            Ok(Some(written)) => {
                self.written_through(&written);
                Ok(())
            }
            other => {
                self.tagged.clear();
                other.map(|_| ())
            }
        }
    }

    /// The item as afk's write left it, in every tagged list of this
    /// tick: out of each whose tag it no longer has, in place (or in its
    /// area's repository's, by id) in each whose tag it has.
    fn written_through(&self, item: &WorkItem) {
        let owner = self.owner_of(item);
        let has = tags::parse(item.text("System.Tags"));
        self.tagged.update(|(_, project, label), lists| {
            let lists = std::sync::Arc::make_mut(lists);
            let ours = (owner.as_deref())
                .filter(|o| {
                    o.split('/')
                        .next()
                        .unwrap_or("")
                        .eq_ignore_ascii_case(project)
                })
                .filter(|_| tags::has(&has, label))
                .map(repo_ids::key);
            for (key, list) in lists.iter_mut() {
                match list.iter().position(|i| i.id == item.id) {
                    Some(at) if ours.as_deref() == Some(key.as_str()) => list[at] = item.clone(),
                    Some(at) => {
                        list.remove(at);
                    }
                    None => {}
                }
            }
            if let Some(key) = ours {
                let list = lists.entry(key).or_default();
                if let Err(at) = list.binary_search_by_key(&item.id, |i| i.id) {
                    list.insert(at, item.clone());
                }
            }
        });
    }

    /// [`Self::write_tags`]'s patch: the item as written, None when
    /// nothing needed writing.
    fn patch_tags(
        &self,
        repo: &RepoName,
        n: IssueNumber,
        add: &[&str],
        remove: &[&str],
        state: Option<&str>,
    ) -> Result<Option<WorkItem>> {
        let path = v(
            &format!("{}/workitems/{}", self.wit(repo)?, n.0),
            API_VERSION,
        );
        // a first try from the item as this tick read it, then PATCH_TRIES
        // from fresh reads; a read kept from earlier in the tick only ever
        // makes a write happen (the `test` refuses it if stale), never
        // decides that nothing needs writing
        let mut kept = self.seen.lock().unwrap().contains_key(&n.0);
        let mut tries = 0;
        while tries < PATCH_TRIES {
            tries += usize::from(!kept);
            let item = self.item_for_write(repo, n, !kept)?;
            self.forget_item(n);
            let from_kept = std::mem::replace(&mut kept, false);
            let read = tags::parse(item.text("System.Tags"));
            let new = tags::apply(&read, add, remove);
            if new == read && state.is_none() {
                if from_kept {
                    continue;
                }
                return Ok(None);
            }
            let mut ops = vec![json!({ "op": "test", "path": "/rev", "value": item.rev })];
            if new != read {
                ops.push(json!({ "op": "replace", "path": "/fields/System.Tags", "value": tags::write(&new) }));
            }
            if let Some(s) = state {
                ops.push(json!({ "op": "replace", "path": "/fields/System.State", "value": s }));
            }
            match self
                .http
                .send_typed("PATCH", &path, &json!(ops), JSON_PATCH)
            {
                Ok(_) => {
                    // what the `test` proved it was, with afk's change
                    let mut written = item;
                    written.rev += 1;
                    let f = &mut written.fields;
                    f.insert("System.Tags".into(), json!(tags::write(&new)));
                    if let Some(s) = state {
                        f.insert("System.State".into(), json!(s));
                    }
                    return Ok(Some(written));
                }
                Err(e) if stale(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(anyhow!(
            "forge: work item #{}: it changed under each of {PATCH_TRIES} writes; nothing was written",
            n.0
        ))
    }

    /// Move the item to `close_state` (else its type's first Completed
    /// state) only while it is neither Completed nor Removed.
    pub(super) fn close_item(&self, repo: &RepoName, n: IssueNumber) -> Result<()> {
        let item = self.read_item(repo, n, false)?;
        if self.is_closed(repo, &item)? {
            return Ok(());
        }
        let kind = Self::field(&item, "System.WorkItemType")?;
        let target = match self.setup.close_state.trim() {
            "" => self
                .type_states(repo, kind)?
                .into_iter()
                .find(|s| s.category.eq_ignore_ascii_case("Completed"))
                .map(|s| s.name)
                .ok_or_else(|| anyhow!("forge: type \"{kind}\" has no Completed state"))?,
            set => set.to_string(),
        };
        self.write_tags(repo, n, &[], &[], Some(&target))
    }

    /// `System.Description` (the status issue's): on an item whose
    /// description is Markdown, the Markdown text as it is, said Markdown
    /// again; else as HTML, the text with every character escaped, its lines
    /// kept.
    pub(super) fn write_description(
        &self,
        repo: &RepoName,
        n: IssueNumber,
        body: &str,
    ) -> Result<()> {
        let path = v(
            &format!("{}/workitems/{}", self.wit(repo)?, n.0),
            API_VERSION,
        );
        let html = html_escape(body).replace('\n', "<br>");
        self.forget_item(n);
        for _ in 0..PATCH_TRIES {
            let item = self.read_item(repo, n, false)?;
            self.forget_item(n);
            let md = item.is_markdown("System.Description");
            let mut ops = vec![json!({ "op": "test", "path": "/rev", "value": item.rev })];
            let text = if md { body.to_string() } else { html.clone() };
            ops.push(
                json!({ "op": "replace", "path": "/fields/System.Description", "value": text }),
            );
            if md {
                ops.push(json!({ "op": "add", "path": MD_FORMAT, "value": "Markdown" }));
            }
            let ops = serde_json::Value::Array(ops);
            match self.http.send_typed("PATCH", &path, &ops, JSON_PATCH) {
                Ok(_) => return Ok(()),
                Err(e) if stale(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(anyhow!(
            "forge: work item #{}: its description kept changing",
            n.0
        ))
    }

    /// `/{projectId}/_apis/wit/workItems/{id}/comments`.
    fn comments_path(&self, repo: &RepoName, n: IssueNumber) -> Result<String> {
        Ok(format!("{}/workItems/{}/comments", self.wit(repo)?, n.0))
    }

    fn item_url(&self, repo: &RepoName, n: IssueNumber) -> String {
        format!(
            "{}/{}/_workitems/edit/{}",
            self.http.root(),
            enc(repo.owner()),
            n.0
        )
    }

    fn to_comment(&self, repo: &RepoName, n: IssueNumber, c: wire::ItemComment) -> Result<Comment> {
        // an edit is told by `version`, whatever the dates say
        let edited = afk_wire::azure::talk::work_item_comment_edited(c.version);
        let updated = match edited {
            true => c.modified_date.clone(),
            false => c.created_date.clone(),
        };
        Ok(Comment {
            id: c.id,
            html_url: self.item_url(repo, n),
            user: Some(User {
                id: 0,
                login: self.login_of_ref(&c.created_by)?,
            }),
            body: c.body(),
            created_at: c.created_date,
            updated_at: updated,
            node_id: Some(super::edit_mark(edited).to_string()),
        })
    }

    /// The work item's comments, every page by `continuationToken`; deleted
    /// ones and ones written on behalf of another are left out.
    pub(super) fn item_comments(&self, repo: &RepoName, n: IssueNumber) -> Result<Vec<Comment>> {
        let base = format!("{}?$top=200", self.comments_path(repo, n)?);
        let mut next = v(&base, COMMENTS_VERSION);
        let mut out = vec![];
        for _ in 0..MAX_PAGES {
            let page: wire::CommentList = self.http.json("GET", &next, None)?;
            for c in page.comments {
                let behalf = c
                    .created_on_behalf_of
                    .as_ref()
                    .is_some_and(|b| !b.id.eq_ignore_ascii_case(&c.created_by.id));
                if !c.is_deleted && !behalf {
                    out.push(self.to_comment(repo, n, c)?);
                }
            }
            match page.continuation_token.filter(|t| !t.is_empty()) {
                Some(t) => {
                    next = v(
                        &format!("{base}&continuationToken={}", enc(&t)),
                        COMMENTS_VERSION,
                    )
                }
                None => return Ok(out),
            }
        }
        Err(anyhow!(
            "forge: work item #{}: comments did not end after {MAX_PAGES} pages",
            n.0
        ))
    }

    pub(super) fn post_item_comment(
        &self,
        repo: &RepoName,
        n: IssueNumber,
        body: &str,
    ) -> Result<Comment> {
        self.forget_item(n);
        let path = v(
            &format!("{}?format=markdown", self.comments_path(repo, n)?),
            COMMENTS_VERSION,
        );
        let c: wire::ItemComment = self
            .http
            .json("POST", &path, Some(&json!({ "text": body })))?;
        self.to_comment(repo, n, c)
    }

    pub(super) fn patch_item_comment(
        &self,
        repo: &RepoName,
        n: IssueNumber,
        id: i64,
        body: &str,
    ) -> Result<Comment> {
        self.forget_item(n);
        let path = format!("{}/{id}?format=markdown", self.comments_path(repo, n)?);
        let c: wire::ItemComment = self.http.json(
            "PATCH",
            &v(&path, COMMENTS_VERSION),
            Some(&json!({ "text": body })),
        )?;
        self.to_comment(repo, n, c)
    }

    /// Who liked comment `id`: the engaged users of `like`, each as `+1`, by
    /// login as a comment's author is (afk's own like is afk's login).
    pub(super) fn item_likes(
        &self,
        repo: &RepoName,
        n: IssueNumber,
        id: i64,
    ) -> Result<Vec<(String, String)>> {
        let path = format!(
            "{}/{id}/reactions/like/users?$top={}",
            self.comments_path(repo, n)?,
            crate::REACTIONS_MAX
        );
        let list: wire::List<wire::IdentityRef> =
            self.http.json("GET", &v(&path, PREVIEW_1), None)?;
        list.value
            .iter()
            .map(|u| Ok((self.login_of_ref(u)?, "+1".to_string())))
            .collect()
    }

    /// afk's like on comment `id`; one already there is no error.
    pub(super) fn like_item_comment(&self, repo: &RepoName, n: IssueNumber, id: i64) -> Result<()> {
        let path = format!("{}/{id}/reactions/like", self.comments_path(repo, n)?);
        match self.http.send("PUT", &v(&path, PREVIEW_1), None) {
            Ok(_) => Ok(()),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// An identity as the report's words name it: its `uniqueName` (one line,
/// at most 100 characters), else its id.
fn shown(who: &wire::IdentityRef) -> String {
    let name: String = (who.unique_name.as_deref().unwrap_or(""))
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    if name.trim().is_empty() {
        who.id.clone()
    } else {
        name
    }
}

/// A `test` on `/rev` refused: the item changed in between.
fn stale(e: &anyhow::Error) -> bool {
    matches!(
        ForgeError::kind_of(e),
        Some(Failure::Other(412)) | Some(Failure::Conflict)
    )
}

/// A predecessor afk cannot read: it keeps the item blocked.
fn unreadable(id: u64, repo: &RepoName) -> Issue {
    Issue {
        id: id as i64,
        number: IssueNumber(id),
        title: format!("work item #{id} (afk cannot read it)"),
        body: None,
        state: State::Open,
        labels: vec![],
        html_url: String::new(),
        pull_request: None,
        repository: Some(RepoMeta {
            full_name: repo.to_string(),
        }),
        user: None,
        updated_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_written_as_escaped_html() {
        assert_eq!(
            html_escape("a <b> & 'c'\n"),
            "a &lt;b&gt; &amp; &#39;c&#39;\n"
        );
        assert!(closed_category("completed") && closed_category("Removed"));
        assert!(!closed_category("InProgress"));
    }
}
