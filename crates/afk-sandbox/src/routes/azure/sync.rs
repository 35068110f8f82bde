//! The shared model as Azure DevOps shows it, brought up to date before each
//! request: each repository's project with its groups (Readers,
//! Contributors, Project Administrators) and their entries, each
//! collaborator in the group of their permission, each issue a work item
//! (its id the issue's number when no other work item of the organization
//! has it) whose revisions follow the issue's label events, renames, state
//! and body as the people who made them, and each comment a work-item
//! comment or a pull request's thread. And the one way a work item
//! changes, [`Forge::az_write`]: a revision, written back to the shared model.

use super::utc;
use crate::model::Forge;
use crate::model::azure::{
    CONTRIBUTE, CSS_NS, GIT_NS, ItemComment, Mirror, PROJECT_NS, READ, Revision, Thread,
    ThreadComment, WorkItem, area_of, area_token, project_token, split,
};
use serde_json::{Map, Value, json};

/// Tags as the service writes them: `; ` between them.
pub(crate) fn tags_text(tags: &[String]) -> String {
    tags.join("; ")
}

/// `System.Tags` as a list: split on `;`, trimmed.
pub(crate) fn tags_of(fields: &Map<String, Value>) -> Vec<String> {
    fields
        .get("System.Tags")
        .and_then(Value::as_str)
        .map(|s| {
            s.split(';')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The state a work item of the shared model's state is in.
fn state_of(open: bool) -> &'static str {
    if open { "To Do" } else { "Done" }
}

impl Forge {
    /// Bring the organization up to date with the shared model: what
    /// changed is found first without a copy (every answer does this, and
    /// nothing has changed for most), then only that is brought over.
    pub(crate) fn az_sync(&mut self) {
        let me = self.me.clone();
        self.az.ensure(&me);
        let mut todo: Vec<(String, bool, Vec<u64>)> = vec![];
        for (full, r) in &self.repos {
            if r.renamed_to.is_some() {
                continue;
            }
            // joined once means seeded (`az_sync_people`)
            let people = self.az.joined.get(full) != Some(&r.collaborators);
            let items: Vec<u64> = (r.issues.values())
                .filter(|i| !i.pull)
                .filter(|i| match self.az_item_of(full, i.number) {
                    Some(id) => self.az.items.get(&id).is_none_or(|w| !w.caught_up(i)),
                    None => true,
                })
                .map(|i| i.number)
                .collect();
            if people || !items.is_empty() {
                todo.push((full.clone(), people, items));
            }
        }
        for (full, people, items) in todo {
            if people {
                self.az_sync_people(&full);
            }
            for n in items {
                self.az_sync_item(&full, n);
            }
        }
        self.az_sync_comments();
        // a pull request the shared model closed (a merge or a close through
        // the admin API, as a person's in the web UI) is completed or abandoned
        let closing: Vec<(u64, bool, Option<String>)> = (self.az.prs.values())
            .filter(|p| p.status == "active")
            .filter_map(|p| {
                let i = self.repos.get(&p.repo)?.issues.get(&p.number)?;
                let when = i.merged_at.clone().or_else(|| i.closed_at.clone());
                (i.state == "closed").then_some((p.id, i.merged, when))
            })
            .collect();
        for (id, merged, when) in closing {
            // the moment the shared model merged or closed it
            let at = when.map_or_else(super::wall, |w| super::utc(&w));
            if let Some(p) = self.az.prs.get_mut(&id) {
                p.status = if merged { "completed" } else { "abandoned" }.into();
                p.closed = Some(at);
            }
        }
    }

    /// Repository `full`'s project groups and entries (once), and each
    /// collaborator in the group of their permission.
    fn az_sync_people(&mut self, full: &str) {
        let me = self.me.clone();
        let project = split(full).0.to_string();
        let (readers, contributors, admins) = (
            format!("[{project}]\\Readers"),
            format!("[{project}]\\Contributors"),
            format!("[{project}]\\Project Administrators"),
        );
        if !self.az.seeded.iter().any(|s| s == full) {
            self.az.seeded.push(full.to_string());
            let git_project = format!("repoV2/{}", crate::model::azure::project_id(&project));
            for (group, git, proj, css) in [
                (&readers, READ, 1, 1 | 16),
                (&contributors, CONTRIBUTE, 1, 1 | 16 | 32),
                (
                    &admins,
                    0xffff,
                    1 | 2 | 4 | 8192 | 16384 | 65536 | 1048576 | 2097152,
                    63,
                ),
            ] {
                self.az.group(group);
                let d = self
                    .az
                    .by_name(group)
                    .map(|g| g.descriptor())
                    .unwrap_or_default();
                self.az.set_ace(GIT_NS, &git_project, &d, git, 0);
                self.az
                    .set_ace(PROJECT_NS, &project_token(&project), &d, proj, 0);
                self.az.set_ace(CSS_NS, &area_token(&project), &d, css, 0);
            }
            self.az.join(&contributors, &me);
        }
        let collaborators = self.repos[full].collaborators.clone();
        for (login, perm) in &collaborators {
            self.az.ensure(login);
            let group = match perm.as_str() {
                "admin" | "owner" => &admins,
                "write" | "maintain" => &contributors,
                "read" | "triage" => &readers,
                _ => continue,
            };
            self.az.join(group, login);
        }
        self.az.joined.insert(full.to_string(), collaborators);
    }

    /// The work item of the shared model's issue `(full, n)`.
    pub(crate) fn az_item_of(&self, full: &str, n: u64) -> Option<u64> {
        self.az.of_issue.get(full).and_then(|m| m.get(&n)).copied()
    }

    fn az_sync_item(&mut self, full: &str, n: u64) {
        let id = match self.az_item_of(full, n) {
            Some(id) => id,
            None => {
                let issue = &self.repos[full].issues[&n];
                let (title, body, author) = (
                    issue.title.clone(),
                    issue.body.clone(),
                    issue.author.clone(),
                );
                let first_title = issue
                    .renames
                    .first()
                    .map_or(title.clone(), |r| r.from.clone());
                let id = self.az.item_id(n);
                let who = self.az.ensure(&author);
                let project = split(full).0.to_string();
                (self.az.of_issue.entry(full.to_string()).or_default()).insert(n, id);
                self.az.items.insert(
                    id,
                    WorkItem {
                        id,
                        repo: full.to_string(),
                        number: n,
                        fields: Map::new(),
                        relations: vec![],
                        revisions: vec![],
                        synced_events: 0,
                        synced_renames: 0,
                        synced_state: "open".into(),
                        synced_body: body.clone(),
                        synced_deps: 0,
                        markdown: false,
                    },
                );
                let by_ref = self.az.by_id(&who).map(|i| i.as_ref(&self.base));
                let at = utc(&self.stamp());
                self.az_write(
                    id,
                    vec![
                        ("System.Id".into(), json!(id)),
                        ("System.AreaPath".into(), json!(area_of(full))),
                        ("System.TeamProject".into(), json!(project)),
                        ("System.IterationPath".into(), json!(project)),
                        ("System.WorkItemType".into(), json!("Issue")),
                        ("System.State".into(), json!(state_of(true))),
                        ("System.Reason".into(), json!("Added to backlog")),
                        ("System.CreatedDate".into(), json!(at)),
                        ("System.CreatedBy".into(), by_ref.unwrap_or(Value::Null)),
                        ("System.Title".into(), json!(first_title)),
                        ("System.Description".into(), json!(body)),
                        ("System.CommentCount".into(), json!(0)),
                    ],
                    &who,
                    None,
                    vec![],
                );
                id
            }
        };
        self.az_catch_up(id);
    }

    /// The shared issue's changes since the work item last looked, each a
    /// revision by whoever made it.
    fn az_catch_up(&mut self, id: u64) {
        let w = &self.az.items[&id];
        let Some(issue) = (self.repos.get(&w.repo)).and_then(|r| r.issues.get(&w.number)) else {
            return;
        };
        if w.caught_up(issue) {
            return;
        }
        let (full, events, renames, state, body) = (
            w.repo.clone(),
            w.synced_events,
            w.synced_renames,
            w.synced_state.clone(),
            w.synced_body.clone(),
        );
        let new_events: Vec<(String, String, bool)> = issue
            .timeline
            .iter()
            .skip(events)
            .map(|e| (e.name.clone(), e.by.clone(), e.added))
            .collect();
        let new_renames: Vec<(String, String)> = issue
            .renames
            .iter()
            .skip(renames)
            .map(|r| (r.to.clone(), r.by.clone()))
            .collect();
        let (now_state, now_body, author) = (
            issue.state.clone(),
            issue.body.clone(),
            issue.author.clone(),
        );
        let deps = issue.deps.clone();
        let (n_events, n_renames) = (issue.timeline.len(), issue.renames.len());
        for (label, by, added) in new_events {
            let mut tags = tags_of(&self.az.items[&id].fields);
            let has = tags.iter().any(|t| t.eq_ignore_ascii_case(&label));
            if added && !has {
                tags.push(label);
            } else if !added && has {
                tags.retain(|t| !t.eq_ignore_ascii_case(&label));
            } else {
                continue;
            }
            let who = self.az.ensure(&by);
            self.az_write(
                id,
                vec![("System.Tags".into(), json!(tags_text(&tags)))],
                &who,
                None,
                vec![],
            );
        }
        for (title, by) in new_renames {
            let who = self.az.ensure(&by);
            self.az_write(
                id,
                vec![("System.Title".into(), json!(title))],
                &who,
                None,
                vec![],
            );
        }
        if now_state != state {
            let who = self.az.ensure(&author);
            let s = state_of(now_state == "open");
            self.az_write(
                id,
                vec![("System.State".into(), json!(s))],
                &who,
                None,
                vec![],
            );
        }
        if now_body != body {
            let who = self.az.ensure(&author);
            self.az_write(
                id,
                vec![("System.Description".into(), json!(now_body.clone()))],
                &who,
                None,
                vec![],
            );
        }
        // the issue's dependencies: Predecessor links, once
        let mut linked = 0;
        for d in deps {
            let Some(blocker) = self.az_item_of(&full, d) else {
                continue;
            };
            linked += 1;
            let url = format!("{}/_apis/wit/workItems/{blocker}", super::org_url(self));
            if self.az.items[&id]
                .relations
                .iter()
                .any(|r| r["url"] == url.as_str())
            {
                continue;
            }
            let rel = json!({"rel": "System.LinkTypes.Dependency-Reverse", "url": url,
                "attributes": {"isLocked": false, "name": "Predecessor"}});
            let who = self.az.ensure(&author);
            self.az_write(id, vec![], &who, None, vec![rel]);
        }
        if let Some(w) = self.az.items.get_mut(&id) {
            w.synced_events = n_events;
            w.synced_renames = n_renames;
            w.synced_state = now_state;
            w.synced_body = now_body;
            w.synced_deps = linked;
        }
    }

    /// The shared model's comments not shown yet: on an issue, a work-item
    /// comment; on a pull request, a thread of its own (status `active`).
    fn az_sync_comments(&mut self) {
        let new: Vec<(i64, String, u64, String, String, String)> = self
            .comments
            .values()
            .filter(|c| !self.az.mirrored.contains_key(&c.id))
            .map(|c| {
                (
                    c.id,
                    c.repo.clone(),
                    c.issue,
                    c.body.clone(),
                    c.user.clone(),
                    c.created_at.clone(),
                )
            })
            .collect();
        for (cid, full, n, body, user, at) in new {
            let by = self.az.ensure(&user);
            let at = utc(&at);
            if let Some(item) = self.az_item_of(&full, n) {
                // the shared comment's id: ids are the organization's, and
                // the admin API (a like, an edit) names a comment by it
                let id = cid as u64;
                self.az.mirrored.insert(cid, Mirror::Item(id));
                self.az.comments.insert(
                    id,
                    ItemComment {
                        id,
                        item,
                        text: body,
                        by,
                        on_behalf: None,
                        created: at.clone(),
                        modified: at,
                        version: 1,
                        deleted: false,
                        likes: vec![],
                    },
                );
            } else if let Some(pr) = self.az.pr_of(&full, n) {
                let thread = (cid as u64, pr);
                let t = self.az_thread(thread, &by, &body, Some("active"), Value::Null, "text");
                self.az.mirrored.insert(cid, Mirror::Thread(t));
            } else {
                // neither shown (yet): looked at again by the next sync
                continue;
            }
        }
        self.az_sync_edits();
    }

    /// A shared comment edited since it was shown (a person's edit through
    /// the admin API) is edited where it is shown: its text, its version
    /// and its date of change.
    fn az_sync_edits(&mut self) {
        let edited: Vec<(Mirror, String, String)> = (self.az.mirrored.iter())
            .filter_map(|(cid, m)| {
                let c = self.comments.get(cid)?;
                let at = c.updated_at.clone()?;
                let shown = match *m {
                    Mirror::Item(id) => self.az.comments.get(&id).map(|a| a.text.as_str()),
                    Mirror::Thread(t) => (self.az.threads.get(&t))
                        .and_then(|t| t.comments.first())
                        .map(|a| a.content.as_str()),
                    Mirror::Reply(t, id) => (self.az.threads.get(&t))
                        .and_then(|t| t.comments.iter().find(|c| c.id == id))
                        .map(|a| a.content.as_str()),
                };
                (shown? != c.body).then(|| (*m, c.body.clone(), at))
            })
            .collect();
        for (m, body, at) in edited {
            let at = utc(&at);
            match m {
                Mirror::Item(id) => {
                    if let Some(a) = self.az.comments.get_mut(&id) {
                        a.text = body;
                        a.version += 1;
                        a.modified = at;
                    }
                }
                Mirror::Thread(t) | Mirror::Reply(t, _) => {
                    let id = match m {
                        Mirror::Reply(_, id) => id,
                        _ => 1,
                    };
                    if let Some(a) = (self.az.threads.get_mut(&t))
                        .and_then(|t| t.comments.iter_mut().find(|c| c.id == id))
                    {
                        a.content = body;
                        a.content_updated = at.clone();
                        a.updated = at;
                    }
                }
            }
        }
    }

    /// A new thread on pull request `pr` with one comment by identity `by`.
    pub(crate) fn az_new_thread(
        &mut self,
        pr: u64,
        by: &str,
        content: &str,
        status: Option<&str>,
        context: Value,
        kind: &str,
    ) -> u64 {
        let id = self.id() as u64;
        self.az_thread((id, pr), by, content, status, context, kind)
    }

    /// Thread `id` on pull request `pr` with one comment by identity `by`.
    fn az_thread(
        &mut self,
        (id, pr): (u64, u64),
        by: &str,
        content: &str,
        status: Option<&str>,
        context: Value,
        kind: &str,
    ) -> u64 {
        let at = utc(&self.stamp());
        self.az.threads.insert(
            id,
            Thread {
                id,
                pr,
                status: status.map(str::to_string),
                context,
                deleted: false,
                published: at.clone(),
                updated: at.clone(),
                comments: vec![ThreadComment {
                    id: 1,
                    parent: 0,
                    by: by.to_string(),
                    content: content.to_string(),
                    kind: kind.to_string(),
                    published: at.clone(),
                    content_updated: at.clone(),
                    updated: at,
                    deleted: false,
                    liked: vec![],
                }],
                properties: json!({}),
            },
        );
        id
    }

    /// Write a revision of work item `id`: `changes` (a `null` removes the
    /// field), authorized as identity `authorized`, and `System.ChangedBy`
    /// (so `revisedBy`) `changed_by` when a bypass names another, else the
    /// same. Returns the new `rev`.
    pub(crate) fn az_write(
        &mut self,
        id: u64,
        changes: Vec<(String, Value)>,
        authorized: &str,
        changed_by: Option<&str>,
        relations: Vec<Value>,
    ) -> u64 {
        let at = utc(&self.stamp());
        let changer = changed_by.unwrap_or(authorized).to_string();
        let auth_ref = self.az.by_id(authorized).map(|i| i.as_ref(&self.base));
        let changer_ref = self.az.by_id(&changer).map(|i| i.as_ref(&self.base));
        let Some(w) = self.az.items.get_mut(&id) else {
            return 0;
        };
        let rev = w.revisions.len() as u64 + 1;
        let mut changed = vec![];
        let mut set = |k: &str, v: Value, w: &mut WorkItem| {
            let old = w.fields.get(k).cloned();
            let v = match v {
                Value::String(s) if s.is_empty() && k == "System.Tags" => Value::Null,
                v => v,
            };
            if old.as_ref() == Some(&v) || (old.is_none() && v.is_null()) {
                return;
            }
            if v.is_null() {
                w.fields.remove(k);
                changed.push((k.to_string(), old, None));
            } else {
                w.fields.insert(k.to_string(), v.clone());
                changed.push((k.to_string(), old, Some(v)));
            }
        };
        for (k, v) in changes {
            set(&k, v, w);
        }
        set("System.Rev", json!(rev), w);
        set("System.ChangedDate", json!(at), w);
        set("System.ChangedBy", changer_ref.unwrap_or(Value::Null), w);
        set("System.AuthorizedAs", auth_ref.unwrap_or(Value::Null), w);
        set("System.AuthorizedDate", json!(at), w);
        w.relations.extend(relations.iter().cloned());
        let fields = w.fields.clone();
        w.revisions.push(Revision {
            rev,
            by: changer,
            at,
            fields,
            changed,
            relations,
        });
        rev
    }
}
