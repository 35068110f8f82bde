//! The sandbox's Jira Cloud site (`routes::jira` answers its API): afk's
//! account and the people's, their groups, the issues with their
//! changelogs and comments, as the admin API made them and afk changed them.

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// afk's own account on the sandbox's Jira.
pub(crate) const AFK_ACCOUNT: &str = "712020:afk-sandbox-0000";

/// An account: its kind (`atlassian`, `app`, `customer`, `unknown`),
/// whether it is active, and its groups' ids.
#[derive(Debug, Clone)]
pub struct Account {
    pub kind: String,
    pub active: bool,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub id: u64,
    /// None: an anonymous change (no `author` key at all)
    pub author: Option<String>,
    pub created: String,
    pub items: Vec<Value>,
    pub history_metadata: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub author: String,
    pub body: Value,
    pub created: String,
    pub updated: String,
    pub properties: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub key: String,
    pub project: String,
    pub summary: String,
    pub description: Value,
    pub labels: Vec<String>,
    pub components: Vec<String>,
    /// `new`, `indeterminate` or `done`
    pub category: String,
    /// its status's id and name (a category's default status unless a
    /// person moved it into another: `/_admin/jira/edit`)
    pub status: (String, String),
    pub creator: String,
    /// whom the issue names as its reporter: the creator unless the
    /// creator named another (never who made it)
    pub reporter: String,
    pub created: String,
    pub changes: Vec<Change>,
    pub comments: Vec<Comment>,
    /// the ids of the issues that block this one (a `Blocks` link whose
    /// inward side, "is blocked by", they are)
    pub blocked_by: Vec<u64>,
    /// its remote links, each as Jira keeps it (with its `globalId`)
    pub remote_links: Vec<Value>,
    /// until when the search's index shows it as it was before its last
    /// label change (`/_admin/jira/lag`), unless a search names it in
    /// `reconcileIssues`
    pub unindexed_until: Option<std::time::Instant>,
    /// its labels as the lagging index has them meanwhile
    pub indexed_labels: Vec<String>,
}

/// A project role's actors in one project (Jira Cloud shares the roles
/// themselves, and their ids, across projects).
#[derive(Debug, Clone)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// The sandbox's Jira site.
#[derive(Debug)]
pub struct Jira {
    pub email: String,
    pub token: String,
    /// an OAuth 2.0 access token for afk's account (`auth = "bearer"`)
    pub bearer: String,
    /// afk's service account's OAuth 2.0 client credentials (`auth =
    /// "client_credentials"`), exchanged at `/atlassian/oauth/token`
    pub client_id: String,
    pub client_secret: String,
    /// the access tokens the token endpoint handed out, each taken as
    /// `Bearer` as `bearer` is
    pub access_tokens: Vec<String>,
    pub accounts: BTreeMap<String, Account>,
    pub issues: BTreeMap<u64, Issue>,
    pub(crate) next_issue: u64,
    pub(crate) next_change: u64,
    pub(crate) next_comment: u64,
    /// each project's issues so far, for keys
    pub(crate) counts: BTreeMap<String, u64>,
    /// seconds since the site's first stamp: every stamp is later than the last
    pub(crate) clock: i64,
    /// project key → its roles' actors (`/_admin/jira/role`)
    pub(crate) roles: BTreeMap<String, Vec<Role>>,
    /// whether afk's account holds *Administer Projects*: without it Jira
    /// answers a project's role reads 404 (`/_admin/jira/administers`)
    pub(crate) administers: bool,
    /// how long the search's index lags a label change (`/_admin/jira/lag`;
    /// zero: none)
    pub(crate) index_lag: std::time::Duration,
    /// the site's projects by key: their ids and components' names (made by
    /// `/_admin/jira/project`, or by an issue made in a project not yet
    /// there, with its components)
    pub(crate) projects: BTreeMap<String, (u64, Vec<String>)>,
    /// the project permissions afk's account lacks in every project
    /// (`/_admin/jira/permissions`; none unless a test takes some away)
    pub(crate) lacking: Vec<String>,
    /// whether afk's account holds *Administer Jira*, without which the
    /// admin webhooks are not its to read, and the admin webhooks
    /// registered (`/_admin/jira/webhooks`; none, and no admin, unless a
    /// test says so)
    pub(crate) site_admin: bool,
    pub(crate) webhooks: Vec<Value>,
    /// the site's one workflow: its transitions, each issue's alike
    /// (`/_admin/jira/transitions`; To Do, In Progress and Done unless a
    /// test sets its own)
    pub(crate) workflow: Vec<Step>,
}

impl Jira {
    pub fn new(token: String, bearer: String) -> Jira {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            AFK_ACCOUNT.to_string(),
            Account {
                kind: "atlassian".into(),
                active: true,
                groups: vec![],
            },
        );
        Jira {
            email: "afk@sandbox.test".into(),
            token,
            bearer,
            client_id: crate::draw_token("jira-client-id"),
            client_secret: crate::draw_token("jira-client-secret"),
            access_tokens: vec![],
            accounts,
            issues: BTreeMap::new(),
            next_issue: 10001,
            next_change: 100,
            next_comment: 20001,
            counts: BTreeMap::new(),
            clock: 0,
            roles: BTreeMap::new(),
            administers: false,
            index_lag: std::time::Duration::ZERO,
            projects: BTreeMap::new(),
            lacking: vec![],
            site_admin: false,
            webhooks: vec![],
            workflow: default_workflow(),
        }
    }

    /// Make project `key` if the site lacks it, with these components too.
    pub(crate) fn project(&mut self, key: &str, components: &[String]) {
        let id = 10000 + self.projects.len() as u64;
        let (_, have) = (self.projects.entry(key.to_string())).or_insert((id, vec![]));
        for c in components {
            if !have.contains(c) {
                have.push(c.clone());
            }
        }
    }

    /// The next stamp, as Jira writes times: milliseconds and an offset
    /// without a colon (`2026-01-01T10:00:07.000+0000`).
    pub(crate) fn stamp(&mut self) -> String {
        self.clock += 1;
        super::dates::tracker_stamp(self.clock, "+0000")
    }

    pub(crate) fn change(
        &mut self,
        id: u64,
        author: Option<&str>,
        items: Vec<Value>,
        meta: Option<Value>,
    ) {
        let created = self.stamp();
        let cid = self.next_change;
        self.next_change += 1;
        if let Some(i) = self.issues.get_mut(&id) {
            i.changes.push(Change {
                id: cid,
                author: author.map(str::to_string),
                created,
                items,
                history_metadata: meta,
            });
        }
    }

    /// Add or remove labels as `by` (None: anonymously), one changelog
    /// entry, its item's strings the labels separated by spaces.
    pub(crate) fn relabel(
        &mut self,
        id: u64,
        by: Option<&str>,
        add: &[String],
        remove: &[String],
        meta: Option<Value>,
    ) -> bool {
        let lag = self.index_lag;
        let Some(i) = self.issues.get_mut(&id) else {
            return false;
        };
        // the search's index keeps what it had until the lag is over
        if !lag.is_zero() {
            if i.unindexed_until
                .is_none_or(|u| u <= std::time::Instant::now())
            {
                i.indexed_labels = i.labels.clone();
            }
            i.unindexed_until = Some(std::time::Instant::now() + lag);
        }
        let from = i.labels.join(" ");
        for r in remove {
            i.labels.retain(|l| l != r);
        }
        for a in add {
            if !i.labels.contains(a) {
                i.labels.push(a.clone());
            }
        }
        i.labels.sort();
        let to = i.labels.join(" ");
        if from != to {
            let item = json!({"field": "labels", "fieldtype": "jira", "fieldId": "labels",
                "from": null, "fromString": from, "to": null, "toString": to});
            self.change(id, by, vec![item], meta);
        }
        true
    }

    pub(crate) fn account_json(&self, id: &str) -> Value {
        let a = self.accounts.get(id);
        json!({
            "accountId": id,
            "accountType": a.map_or("unknown", |a| a.kind.as_str()),
            "active": a.is_some_and(|a| a.active),
            "displayName": id,
        })
    }

    pub(crate) fn issue_json(&self, i: &Issue) -> Value {
        json!({
            "id": i.id.to_string(),
            "key": i.key,
            "self": format!("/rest/api/3/issue/{}", i.id),
            "fields": {
                "summary": i.summary,
                "description": i.description,
                "labels": i.labels,
                "components": i.components.iter().map(|c| json!({"name": c})).collect::<Vec<_>>(),
                "status": {"id": i.status.0, "name": i.status.1, "statusCategory": {"key": i.category}},
                "project": {"key": i.project, "id": "10000"},
                "issuelinks": self.links(i),
                "creator": self.account_json(&i.creator),
                "reporter": self.account_json(&i.reporter),
                "created": i.created,
            }
        })
    }

    /// An issue's links as Jira writes them in `fields.issuelinks`: the
    /// linked issue as a stripped issue, its status with its category.
    fn links(&self, i: &Issue) -> Vec<Value> {
        i.blocked_by
            .iter()
            .filter_map(|b| self.issues.get(b))
            .enumerate()
            .map(|(n, b)| {
                json!({
                    "id": (30000 + n).to_string(),
                    "type": {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                    "inwardIssue": {
                        "id": b.id.to_string(),
                        "key": b.key,
                        "fields": {"summary": b.summary,
                            "status": {"name": b.category, "statusCategory": {"key": b.category}}}
                    }
                })
            })
            .collect()
    }

    pub(crate) fn comment_json(&self, c: &Comment, properties: bool) -> Value {
        let mut v = json!({
            "id": c.id.to_string(),
            "author": self.account_json(&c.author),
            "body": c.body,
            "created": c.created,
            "updated": c.updated,
        });
        if properties {
            v["properties"] = Value::Array(
                c.properties
                    .iter()
                    .map(|(k, val)| json!({"key": k, "value": val}))
                    .collect(),
            );
        }
        v
    }

    /// An issue by its id, or by its key (whatever its case).
    pub(crate) fn find(&self, id_or_key: &str) -> Option<u64> {
        if let Ok(n) = id_or_key.parse::<u64>() {
            return self.issues.contains_key(&n).then_some(n);
        }
        self.issues
            .values()
            .find(|i| i.key.eq_ignore_ascii_case(id_or_key))
            .map(|i| i.id)
    }

    /// Every role name any project has, with its id (shared by all
    /// projects, as Jira Cloud's are).
    pub(crate) fn role_names(&self) -> BTreeMap<String, u64> {
        self.roles
            .values()
            .flatten()
            .map(|r| (r.name.clone(), r.id))
            .collect()
    }

    /// `GET /project/{key}/role/{id}`'s answer: the role with its actors in
    /// that project, sorted by display name; None for no such role.
    pub(crate) fn role_json(&self, project: &str, id: u64) -> Option<Value> {
        let name = self.role_names().into_iter().find(|(_, i)| *i == id)?.0;
        let here = self
            .roles
            .get(project)
            .and_then(|rs| rs.iter().find(|r| r.id == id));
        let mut actors: Vec<(String, Value)> = vec![];
        for u in here.map(|r| r.users.clone()).unwrap_or_default() {
            actors.push((
                u.clone(),
                json!({"displayName": u, "type": "atlassian-user-role-actor", "name": "",
                       "actorUser": {"accountId": u}}),
            ));
        }
        for g in here.map(|r| r.groups.clone()).unwrap_or_default() {
            let name = format!("group-{g}");
            actors.push((
                name.clone(),
                json!({"displayName": name, "type": "atlassian-group-role-actor", "name": name,
                       "actorGroup": {"name": name, "displayName": name, "groupId": g}}),
            ));
        }
        actors.sort_by(|a, b| a.0.cmp(&b.0));
        let actors: Vec<Value> = actors
            .into_iter()
            .enumerate()
            .map(|(n, (_, mut a))| {
                a["id"] = json!(20000 + n);
                a
            })
            .collect();
        Some(json!({
            "self": format!("/rest/api/3/project/{project}/role/{id}"),
            "name": name,
            "id": id,
            "description": "",
            "actors": actors,
        }))
    }

    /// The status a category's issues go to by default (its id and name),
    /// as a site's default workflow has them.
    pub(crate) fn default_status(category: &str) -> (String, String) {
        let (id, name) = match category {
            "done" => ("10001", "Done"),
            "indeterminate" => ("3", "In Progress"),
            _ => ("10000", "To Do"),
        };
        (id.to_string(), name.to_string())
    }

    /// Move issue `id` into `status` of `category`, by `by`: one changelog
    /// entry, its item naming both statuses by id and by name, as Jira
    /// writes a status change.
    pub(crate) fn move_status(
        &mut self,
        id: u64,
        by: Option<&str>,
        category: &str,
        status: (String, String),
    ) {
        let Some(i) = self.issues.get_mut(&id) else {
            return;
        };
        let from = std::mem::replace(&mut i.status, status.clone());
        i.category = category.to_string();
        let item = json!({"field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": from.0, "fromString": from.1, "to": status.0, "toString": status.1});
        self.change(id, by, vec![item], None);
    }
}

/// One transition of the site's workflow.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub name: String,
    /// the status it leads to: its name, and its category's key
    /// (`new`, `indeterminate`, `done`)
    pub to: String,
    pub category: String,
    pub available: bool,
    /// a field its screen requires (afk sends none): its id
    pub requires: Option<String>,
}

/// The workflow every Jira site of the sandbox starts with.
pub fn default_workflow() -> Vec<Step> {
    [
        ("11", "To Do", "new"),
        ("21", "In Progress", "indeterminate"),
        ("31", "Done", "done"),
    ]
    .into_iter()
    .map(|(id, name, category)| Step {
        id: id.into(),
        name: name.into(),
        to: name.into(),
        category: category.into(),
        available: true,
        requires: None,
    })
    .collect()
}
