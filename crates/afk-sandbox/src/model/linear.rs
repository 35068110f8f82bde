//! The sandbox's Linear workspace (`routes::linear` answers its GraphQL):
//! afk's app user and the people, teams with their members, workflow
//! states and labels, the workspace's labels, and issues with their
//! history, comments and attachments, as the admin API made them and afk
//! changed them. Ids are UUIDs, as Linear's are; every change a person or
//! afk makes after an issue's creation is one history entry by its actor
//! (labels given at creation leave none, as Linear writes none in an
//! issue's first minutes).

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The `IssueHistory` fields an entry answers null where its change does
/// not touch them.
const HISTORY_FIELDS: [&str; 17] = [
    "botActor",
    "addedLabelIds",
    "removedLabelIds",
    "fromTitle",
    "toTitle",
    "updatedDescription",
    "descriptionUpdatedBy",
    "fromTeamId",
    "toTeamId",
    "fromProjectId",
    "toProjectId",
    "fromStateId",
    "toStateId",
    "fromDelegate",
    "toDelegate",
    "trashed",
    "updatedAt",
];

/// afk's own (app) user on the sandbox's Linear.
pub(crate) const AFK_USER: &str = "00000000-0000-4000-8000-0000000000af";

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub active: bool,
    pub guest: bool,
    pub app: bool,
}

#[derive(Debug, Clone)]
pub struct WorkflowState {
    pub id: String,
    pub name: String,
    /// `triage`, `backlog`, `unstarted`, `started`, `completed`,
    /// `canceled` or `duplicate`
    pub kind: String,
    pub position: f64,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub id: String,
    pub key: String,
    pub members: Vec<String>,
    pub states: Vec<WorkflowState>,
}

#[derive(Debug, Clone)]
pub struct IssueLabel {
    pub id: String,
    pub name: String,
    /// None: a workspace label
    pub team: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub body: String,
    pub user: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: String,
    pub team: String,
    pub number: u64,
    pub title: String,
    pub description: Option<String>,
    pub state: String,
    pub label_ids: Vec<String>,
    /// None: an integration made it
    pub creator: Option<String>,
    pub created_at: String,
    pub trashed: bool,
    /// each entry as Linear's `IssueHistory` answers it (`actor` an object
    /// or null, fields a change does not touch left out: null)
    pub history: Vec<Value>,
    pub comments: Vec<Comment>,
    /// each as `attachmentCreate` made it: `{id, url, title, subtitle}`
    pub attachments: Vec<Value>,
    /// the issues that block this one (`blocks` relations to it)
    pub blocked_by: Vec<String>,
    /// the agent user it is delegated to (`delegate`)
    pub delegate: Option<String>,
    /// the project it is in, by id (`/_admin/linear/project`)
    pub project: Option<String>,
}

/// An agent session (Linear's Agents API) on an issue, and what was posted
/// in it.
#[derive(Debug, Clone)]
pub struct AgentSession {
    pub id: String,
    pub issue: String,
    /// the person responsible (None: an automation opened it)
    pub creator: Option<String>,
    pub created_at: String,
    /// when its `created` event went out (the admin call that opened it)
    pub opened: std::time::Instant,
    /// how long after that the first activity came, in milliseconds
    pub first_activity_ms: Option<u128>,
    /// each as `AgentActivity` answers it, `content` as posted
    pub activities: Vec<Value>,
    /// `{label, url}`, as `addedExternalUrls` added them
    pub links: Vec<Value>,
}

/// Linear marks an agent unresponsive when no activity follows a session's
/// `created` event within this long (Agents API, "Developing the agent
/// interaction").
pub const RESPONSIVE_WITHIN_MS: u128 = 10_000;

impl AgentSession {
    /// The session as Linear's `AgentSession` answers it.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "creator": self.creator.as_ref().map(|c| json!({"id": c})),
            "issue": {"id": self.issue},
            "appUser": {"id": AFK_USER},
            "status": if self.activities.is_empty() { "pending" } else { "active" },
            "activities": {"nodes": self.activities},
            "externalLinks": self.links,
        })
    }
}

/// The sandbox's Linear workspace.
#[derive(Debug)]
pub struct Linear {
    /// afk's personal API key (`Authorization: <key>`)
    pub key: String,
    /// afk's OAuth access token (`Authorization: Bearer <token>`)
    pub bearer: String,
    pub users: BTreeMap<String, User>,
    pub teams: BTreeMap<String, Team>,
    pub labels: BTreeMap<String, IssueLabel>,
    /// the workspace's projects: id → name
    pub projects: BTreeMap<String, String>,
    pub issues: BTreeMap<String, Issue>,
    pub sessions: BTreeMap<String, AgentSession>,
    /// the next requests answered as rate-limited (`/_admin/linear/ratelimit`)
    pub ratelimited: u32,
    /// the requests afk's credential made (what `rateLimitStatus` counts)
    pub requests: u64,
    /// how far on, in seconds, a rate-limited answer puts its reset
    pub ratelimit_reset_in: u64,
    /// every id made so far (each one's own number)
    pub(crate) next: u64,
    /// seconds since the workspace's first stamp: every stamp is later
    pub(crate) clock: i64,
    /// whether afk's user is a workspace admin, who alone may read the
    /// webhooks, and the webhooks registered (`/_admin/linear/webhooks`;
    /// none, and no admin, unless a test says so)
    pub admin: bool,
    pub webhooks: Vec<serde_json::Value>,
}

impl Linear {
    pub fn new(key: String, bearer: String) -> Linear {
        let mut users = BTreeMap::new();
        users.insert(
            AFK_USER.to_string(),
            User {
                name: "afk".into(),
                active: true,
                guest: false,
                app: true,
            },
        );
        Linear {
            key,
            bearer,
            users,
            teams: BTreeMap::new(),
            labels: BTreeMap::new(),
            projects: BTreeMap::new(),
            issues: BTreeMap::new(),
            sessions: BTreeMap::new(),
            ratelimited: 0,
            requests: 0,
            ratelimit_reset_in: 3600,
            next: 0,
            clock: 0,
            admin: false,
            webhooks: vec![],
        }
    }

    /// A new UUID (version 4's shape), `kind` its first group.
    pub(crate) fn uuid(&mut self, kind: u32) -> String {
        self.next += 1;
        format!("{kind:08x}-0000-4000-8000-{:012x}", self.next)
    }

    /// An id as Linear gives an entity: a UUID v4, whose order says
    /// nothing of when it was made (the counter scrambled by a bijection,
    /// so ids stay unique and a test's run repeats).
    pub(crate) fn random_uuid(&mut self) -> String {
        self.next += 1;
        let x = self
            .next
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            (x >> 4) & 0xfff,
            x & 0xfff,
            self.next
        )
    }

    /// A time later than every one before, as Linear writes times: UTC
    /// with milliseconds and `Z`.
    pub(crate) fn stamp(&mut self) -> String {
        self.clock += 1;
        super::dates::tracker_stamp(self.clock, "Z")
    }

    /// The team whose key is `key` (Linear's keys are upper case; compared
    /// as written).
    pub fn team_by_key(&self, key: &str) -> Option<&Team> {
        self.teams.values().find(|t| t.key == key)
    }

    /// One history entry on issue `id` by `actor` (None: an integration's
    /// change, `actor` null), its fields as given.
    pub(crate) fn record(&mut self, id: &str, actor: Option<&str>, mut fields: Value) {
        let hid = self.random_uuid();
        let at = self.stamp();
        // a field the change does not touch is null, as Linear answers it
        for k in HISTORY_FIELDS {
            if fields.get(k).is_none() {
                fields[k] = Value::Null;
            }
        }
        fields["id"] = json!(hid);
        fields["createdAt"] = json!(at);
        fields["actor"] = match actor {
            Some(a) => json!({"id": a}),
            None => Value::Null,
        };
        if let Some(i) = self.issues.get_mut(id) {
            i.history.push(fields);
        }
    }

    /// The issue as Linear's `Issue` answers it, every field afk may ask
    /// for, connections whole (the route pages them).
    pub fn issue_json(&self, i: &Issue) -> Value {
        let team = &self.teams[&i.team];
        let state = team
            .states
            .iter()
            .find(|s| s.id == i.state)
            .map_or(Value::Null, state_json);
        let blockers: Vec<Value> = i
            .blocked_by
            .iter()
            .filter_map(|b| self.issues.get(b))
            .map(|b| {
                let s = &self.teams[&b.team].states;
                let kind = s
                    .iter()
                    .find(|s| s.id == b.state)
                    .map_or("", |s| s.kind.as_str());
                json!({"id": format!("rel-{}", b.id), "type": "blocks", "issue": {
                    "id": b.id, "identifier": self.identifier(b), "url": self.url(b),
                    "state": {"type": kind}}})
            })
            .collect();
        let comments: Vec<Value> = i
            .comments
            .iter()
            .map(|c| {
                json!({"id": c.id, "body": c.body, "createdAt": c.created_at,
                    "updatedAt": c.updated_at, "user": {"id": c.user}})
            })
            .collect();
        json!({
            "id": i.id,
            "identifier": self.identifier(i),
            "number": i.number as f64,
            "title": i.title,
            "description": i.description,
            "url": self.url(i),
            "trashed": if i.trashed { Value::Bool(true) } else { Value::Null },
            "createdAt": i.created_at,
            "creator": i.creator.as_ref().map(|c| json!({"id": c})),
            "state": state,
            "team": {"id": team.id, "key": team.key},
            "project": i.project.as_ref().map(|p| json!({"id": p})),
            "labelIds": i.label_ids,
            "delegate": i.delegate.as_ref().map(|d| json!({"id": d})),
            "history": {"nodes": i.history},
            "comments": {"nodes": comments},
            "inverseRelations": {"nodes": blockers},
            "attachments": {"nodes": i.attachments},
        })
    }

    pub fn identifier(&self, i: &Issue) -> String {
        format!("{}-{}", self.teams[&i.team].key, i.number)
    }

    pub fn url(&self, i: &Issue) -> String {
        let key = self.identifier(i);
        format!("https://linear.app/sandbox/issue/{key}/")
    }

    pub fn user_json(&self, id: &str) -> Option<Value> {
        self.users.get(id).map(|u| {
            json!({"id": id, "name": u.name, "displayName": u.name, "active": u.active,
                "guest": u.guest, "app": u.app, "supportsAgentSessions": u.app})
        })
    }

    pub fn team_json(&self, t: &Team) -> Value {
        let labels: Vec<Value> = self
            .labels
            .values()
            .filter(|l| l.team.as_deref() == Some(t.id.as_str()))
            .map(|l| json!({"id": l.id, "name": l.name}))
            .collect();
        let members: Vec<Value> = t
            .members
            .iter()
            .filter_map(|m| self.user_json(m))
            .map(|u| json!({"id": format!("mem-{}", u["id"].as_str().unwrap_or("")), "user": u}))
            .collect();
        json!({
            "id": t.id,
            "key": t.key,
            "labels": {"nodes": labels},
            "memberships": {"nodes": members},
            "states": {"nodes": t.states.iter().map(state_json).collect::<Vec<_>>()},
        })
    }

    /// A label made through the API (`issueLabelCreate`): in team `team`
    /// (by id) or the workspace, under the id given (else one drawn). A
    /// name any label has (without case) is refused, "Duplicate label
    /// name", as Linear refuses it (docs/fidelity/linear.md); so are an
    /// empty name, an unknown team and an id taken.
    pub fn create_label(
        &mut self,
        name: &str,
        team: Option<&str>,
        id: Option<&str>,
    ) -> Result<String, &'static str> {
        let team = match team {
            None => None,
            Some(t) => Some(
                self.teams
                    .get(t)
                    .ok_or("Entity not found: Team")?
                    .id
                    .clone(),
            ),
        };
        if name.trim().is_empty() {
            return Err("Argument Validation Error");
        }
        if self
            .labels
            .values()
            .any(|x| x.name.eq_ignore_ascii_case(name))
        {
            return Err("Duplicate label name");
        }
        let id = match id {
            Some(id) if self.labels.contains_key(id) => return Err("Entity already exists"),
            Some(id) => id.to_string(),
            None => self.uuid(0x1abe1),
        };
        let name = name.to_string();
        self.labels.insert(
            id.clone(),
            IssueLabel {
                id: id.clone(),
                name,
                team,
            },
        );
        Ok(id)
    }

    pub fn workspace_labels(&self) -> Vec<Value> {
        self.labels
            .values()
            .filter(|l| l.team.is_none())
            .map(|l| json!({"id": l.id, "name": l.name}))
            .collect()
    }
}

fn state_json(s: &WorkflowState) -> Value {
    json!({"id": s.id, "name": s.name, "type": s.kind, "position": s.position})
}
