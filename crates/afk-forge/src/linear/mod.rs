//! Linear's GraphQL API (`POST https://api.linear.app/graphql`), the part
//! afk's tracker reads (docs/fidelity/linear.md): afk's own user
//! (`viewer`), the ready issues (`issues` with a filter, paged by
//! `endCursor`), an issue and its `history`, a user and a team's
//! memberships for trust, a team's and the workspace's labels by id. An
//! issue's UUID is numbered by the state file's book ([`IssueNumbers`]).
//! Every answer with `errors` is an error, never read as empty; every
//! connection is read to its end.

use crate::http::{Http, MAX_PAGES};
use crate::model::{Issue, RepoMeta, State};
use crate::setup::IssueNumbers;
use crate::types::IssueNumber;
use crate::types::tracker::{LinearHistory, LinearRef, LinearUser};
use afk_wire::tracker::{linear as rules, map};
use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

mod agents;
mod as_tracker;
mod doctor;
mod placing;
pub use agents::{WireSession, activity_id};
mod queries;
mod writes;

/// Linear's API: a personal API key goes in `Authorization` with no scheme
/// (`packages/sdk/src/client.ts`); every request is a `POST` of JSON.
pub const LINEAR_API_KEY: crate::http::ApiStyle = crate::http::ApiStyle {
    auth_header: "Authorization",
    scheme: "",
    accept: "application/json",
    headers: &[],
    // unused: GraphQL connections page by `endCursor` (`Linear::all`)
    paging: crate::http::Paging::Link {
        size: "first",
        per_page: 50,
    },
    probe_rate: false,
    // Linear's refusal (a 429, or a 400 saying `RATELIMITED`) waits for its
    // `Retry-After`, else its budgets' reset, within the tick's wait
    // budget; a budget under a tenth stops optional reads
    rate: crate::http::RateRule::Linear,
};

/// [`LINEAR_API_KEY`] with an OAuth access token (`auth = "bearer"`).
pub const LINEAR_API_BEARER: crate::http::ApiStyle = crate::http::ApiStyle {
    scheme: "Bearer ",
    ..LINEAR_API_KEY
};

/// What the binary's config says of the tracker (this crate never sees the
/// config).
#[derive(Debug, Clone, Default)]
pub struct LinearSetup {
    /// the workspace's web address (`https://linear.app/<workspace>`), for
    /// the issue links a description names; "": keys alone
    pub site: String,
    /// the endpoint's path under the client's root: `/graphql` where the
    /// API's URL ends so (the root its beginning), else ""
    pub path: String,
    pub ready_label: String,
    /// `ready = "status"`: the workflow state, by its name in each team,
    /// that arms an issue in place of the ready label
    pub ready_status: Option<String>,
    /// `ready = "delegate"`: a delegation to afk's app user arms an issue
    /// in place of the ready label (Linear's Agents API)
    pub ready_delegate: bool,
    /// team key → repository (`project` holds the team's key)
    pub map: Vec<map::Entry>,
    pub trusted_accounts: Vec<String>,
    pub trusted_team_members: bool,
    /// the state afk sets on success, by name ("": the team's `completed`
    /// state of lowest position)
    pub done_state: String,
    /// the reads in flight at once (`[tracker] concurrency`)
    pub concurrency: usize,
    /// a webhook secret for the tracker is set (`afk hook` takes Linear's
    /// deliveries): doctor reads whether a webhook sends them
    pub hook: bool,
    /// afk's own labels (ready, in progress, human, paused): doctor looks
    /// each up in the mapped teams (afk makes them only in `afk init
    /// --create-labels`)
    pub labels: Vec<String>,
}

/// An issue as afk asks for it (`queries::ISSUE`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireIssue {
    pub id: String,
    pub identifier: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub url: String,
    #[serde(default)]
    pub trashed: Option<bool>,
    pub created_at: String,
    #[serde(default)]
    pub creator: Option<LinearRef>,
    pub state: WireState,
    pub team: WireTeam,
    /// the project it is in (its id alone: the contract's cut has no
    /// `Project` type); None: none
    #[serde(default)]
    pub project: Option<LinearRef>,
    pub label_ids: Vec<String>,
    #[serde(default)]
    pub delegate: Option<LinearRef>,
    /// the relations naming this issue from another (`blocks`: that one
    /// blocks this one), the first page
    pub inverse_relations: Relations,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relations {
    pub nodes: Vec<Relation>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Relation {
    #[serde(rename = "type")]
    pub kind: String,
    pub issue: RelatedIssue,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RelatedIssue {
    pub identifier: String,
    pub url: String,
    pub state: RelatedState,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RelatedState {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireState {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub position: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireTeam {
    pub id: String,
    pub key: String,
}

impl WireIssue {
    /// Whether the issue is finished (a done state type) or trashed.
    pub fn done(&self) -> bool {
        rules::DONE_TYPES.contains(&self.state.kind.as_str()) || self.trashed == Some(true)
    }
}

/// The sandbox's or Linear's GraphQL endpoint, as afk's tracker.
pub struct Linear {
    http: Http,
    setup: LinearSetup,
    numbers: Arc<dyn IssueNumbers>,
    /// the agent sessions `afk hook` heard of
    heard: Arc<dyn crate::setup::AgentSessions>,
    me: Mutex<Option<LinearUser>>,
    /// this tick's reads of issues, by afk's number
    issues: Mutex<HashMap<u64, WireIssue>>,
    /// this tick's ready lists, by label
    found: crate::memo::Memo<String, Arc<Vec<WireIssue>>>,
    /// each team's labels (and the workspace's), id → name, once a tick
    labels: Mutex<HashMap<String, Arc<HashMap<String, String>>>>,
    /// each team's states, once a tick
    states: Mutex<HashMap<String, Arc<Vec<WireState>>>>,
    /// each team's active members' ids, once a tick
    members: Mutex<HashMap<String, Arc<Vec<String>>>>,
    /// each armer as this tick read them, by id: many issues armed by one
    /// account ask once
    users: crate::memo::Memo<String, LinearUser>,
    /// each issue's agent sessions (by its id), once a tick
    sessions_read: Mutex<HashMap<String, Vec<WireSession>>>,
    /// Linear said this tick that its rate limit was reached
    limited: std::sync::atomic::AtomicBool,
    /// each map entry's project name, as the id of the project of that
    /// name (None: no issue is in such a project), once a tick
    projects: Mutex<HashMap<String, Option<String>>>,
}

impl Linear {
    pub fn new(
        http: Http,
        setup: LinearSetup,
        numbers: Arc<dyn IssueNumbers>,
        heard: Arc<dyn crate::setup::AgentSessions>,
    ) -> Linear {
        Linear {
            http,
            setup,
            numbers,
            heard,
            me: Mutex::new(None),
            issues: Mutex::new(HashMap::new()),
            // every repository's worker waits for the one search
            found: crate::memo::Memo::shared(),
            labels: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            members: Mutex::new(HashMap::new()),
            users: Default::default(),
            sessions_read: Mutex::new(HashMap::new()),
            limited: std::sync::atomic::AtomicBool::new(false),
            projects: Mutex::new(HashMap::new()),
        }
    }

    /// One read (`query`): its answer's `data`; sent again after a lost
    /// answer or a 5xx as a GET is (it lands nothing).
    fn read(&self, what: &str, query: &str, vars: Value) -> Result<Value> {
        self.not_limited(what)?;
        let body = json!({"query": query, "variables": vars});
        let answer = self.http.query_json(&self.setup.path, &body);
        self.limited_by(answer.and_then(|a| data(a, what)))
    }

    /// Refused before it is sent once Linear said this tick that its rate
    /// limit was reached: a request more only spends the quota again.
    fn not_limited(&self, what: &str) -> Result<()> {
        match self.limited.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err(anyhow!(
                "linear: {what}: not asked: Linear's rate limit was reached this tick (RATELIMITED); the next tick asks again"
            )),
            false => Ok(()),
        }
    }

    /// `got`, noting a rate-limited answer (Linear's `RATELIMITED`, an
    /// HTTP 400 or a `200` with the error: docs/fidelity/linear.md) so no
    /// more requests go out this tick.
    fn limited_by<T>(&self, got: Result<T>) -> Result<T> {
        if let Err(e) = &got
            && rules::rate_limited(&format!("{e:#}"))
        {
            self.limited
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        got
    }

    /// One write (`mutation`): never sent twice blindly; its `success`.
    fn write(&self, what: &str, query: &str, vars: Value) -> Result<Value> {
        self.not_limited(what)?;
        let body = json!({"query": query, "variables": vars});
        let answer = self.http.json("POST", &self.setup.path, Some(&body));
        let d = self.limited_by(answer.and_then(|a| data(a, what)))?;
        let payload = d.as_object().and_then(|o| o.values().next()).cloned();
        match payload {
            Some(p) if p["success"] == true => Ok(p),
            _ => Err(anyhow!("linear: {what}: Linear did not say it succeeded")),
        }
    }

    /// Every node of a connection at `path` (a JSON pointer into `data`)
    /// of the query `query`, paged by `after` until `hasNextPage` is false.
    fn all(&self, what: &str, query: &str, vars: Value, path: &str) -> Result<Vec<Value>> {
        let mut out = vec![];
        let mut after = Value::Null;
        for _ in 0..MAX_PAGES {
            let mut v = vars.clone();
            v["after"] = after;
            let d = self.read(what, query, v)?;
            let conn = d
                .pointer(path)
                .ok_or_else(|| anyhow!("linear: {what}: the answer has no {path}"))?;
            let nodes = conn["nodes"]
                .as_array()
                .ok_or_else(|| anyhow!("linear: {what}: a connection without nodes"))?;
            out.extend(nodes.iter().cloned());
            match (
                conn["pageInfo"]["hasNextPage"].as_bool(),
                &conn["pageInfo"]["endCursor"],
            ) {
                (Some(false), _) => return Ok(out),
                (Some(true), Value::String(c)) => after = json!(c),
                _ => return Err(anyhow!("linear: {what}: a page without its pageInfo")),
            }
        }
        Err(anyhow!("linear: {what} runs past {MAX_PAGES} pages"))
    }

    pub fn requests(&self) -> usize {
        self.http.requests()
    }

    /// afk's own user (`viewer`), once a tick.
    pub fn me(&self) -> Result<LinearUser> {
        let mut kept = self.me.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(me) = kept.as_ref() {
            return Ok(me.clone());
        }
        let d = self.read("viewer", queries::VIEWER, json!({}))?;
        let me: LinearUser = serde_json::from_value(d["viewer"].clone())
            .map_err(|e| anyhow!("linear: viewer: {e}"))?;
        *kept = Some(me.clone());
        Ok(me)
    }

    /// One issue by afk's number, as this tick read it.
    pub fn wire_issue(&self, n: IssueNumber) -> Result<WireIssue> {
        if let Some(i) = self.issues.lock().unwrap().get(&n.0) {
            return Ok(i.clone());
        }
        let id = self
            .numbers
            .id(n.0)?
            .ok_or_else(|| anyhow!("linear: afk has no Linear issue numbered {}", n.0))?;
        let i = self.by_id(&id)?;
        self.issues.lock().unwrap().insert(n.0, i.clone());
        Ok(i)
    }

    fn by_id(&self, id: &str) -> Result<WireIssue> {
        let d = self.read("issue", queries::ISSUE, json!({"id": id}))?;
        let i: WireIssue = serde_json::from_value(d["issue"].clone())
            .map_err(|e| anyhow!("linear: issue {id}: {e}"))?;
        if i.id != id {
            return Err(anyhow!("linear: issue {id} answered as issue {}", i.id));
        }
        Ok(i)
    }

    /// The mapped teams' unfinished issues armed as `ready` says: one
    /// search nominates them (every page), each is read again and kept only
    /// when that answer still carries the label (or the state) and is not
    /// finished or trashed.
    pub fn labelled(&self, label: &str) -> Result<Arc<Vec<WireIssue>>> {
        self.found
            .get(label.to_string(), || self.search_labelled(label))
    }

    /// [`Linear::labelled`]'s search and reads, made once a tick.
    fn search_labelled(&self, label: &str) -> Result<Arc<Vec<WireIssue>>> {
        let mut teams: Vec<String> = self.setup.map.iter().map(|e| e.project.clone()).collect();
        teams.sort();
        teams.dedup();
        let ready = match self.stands_for(label) {
            true => self.ready_rule(&teams)?,
            false => rules::Ready::Label(label.to_string()),
        };
        let filter = rules::ready_filter(&teams, &ready);
        let nodes = self.all(
            "issues",
            queries::READY,
            json!({"filter": filter}),
            "/issues",
        )?;
        let ids: Vec<&str> = nodes
            .iter()
            .map(|n| n["id"].as_str())
            .collect::<Option<_>>()
            .ok_or_else(|| anyhow!("linear: issues: a node without its id"))?;
        // every nominee read again, `concurrency` at once
        let read = crate::fan_out(&ids, self.setup.concurrency, |id| self.by_id(id));
        let mut out = vec![];
        for i in read {
            let i = i?;
            let number = self.numbers.number(&i.id)?;
            self.issues.lock().unwrap().insert(number, i.clone());
            let names = self.label_names(&i)?;
            let armed = match &ready {
                rules::Ready::Status(ids) => ids.contains(&i.state.id),
                rules::Ready::Delegate(me) => i.delegate.as_ref().is_some_and(|d| d.id == *me),
                rules::Ready::Label(_) => names.iter().any(|l| l.eq_ignore_ascii_case(label)),
            };
            // with `ready = "delegate"` an issue no longer delegated to afk
            // reads as closed (`to_issue`): in no list
            let gone = self.setup.ready_delegate && !self.delegated(&i)?;
            if armed && !i.done() && !gone {
                out.push(i);
            }
        }
        Ok(Arc::new(out))
    }

    /// Whether `label` stands for the ready state (`ready = "status"`) or
    /// the delegation (`ready = "delegate"`) rather than a label.
    pub fn stands_for(&self, label: &str) -> bool {
        (self.setup.ready_status.is_some() || self.setup.ready_delegate)
            && label == self.setup.ready_label
    }

    /// What arms an issue in the teams `team_keys`, when no label does.
    fn ready_rule(&self, team_keys: &[String]) -> Result<rules::Ready> {
        Ok(match self.setup.ready_delegate {
            true => rules::Ready::Delegate(self.me()?.id),
            false => rules::Ready::Status(self.ready_state_ids(team_keys)?),
        })
    }

    /// Whether the issue is delegated to afk's user.
    fn delegated(&self, i: &WireIssue) -> Result<bool> {
        let me = self.me()?;
        Ok(i.delegate.as_ref().is_some_and(|d| d.id == me.id))
    }

    /// The ready state's id in each of the teams (by key), by its name
    /// (compared without case); a team without it is the tick's error.
    fn ready_state_ids(&self, team_keys: &[String]) -> Result<Vec<String>> {
        let want = self.setup.ready_status.clone().unwrap_or_default();
        let mut ids = vec![];
        for key in team_keys {
            let states = self.states(key)?;
            let s = states
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(&want))
                .ok_or_else(|| {
                    anyhow!("linear: team {key} has no workflow state named \"{want}\" (tracker.ready_status)")
                })?;
            ids.push(s.id.clone());
        }
        Ok(ids)
    }

    /// A team's workflow states (by its id or its key), once a tick.
    pub fn states(&self, team: &str) -> Result<Arc<Vec<WireState>>> {
        if let Some(s) = self.states.lock().unwrap().get(team) {
            return Ok(s.clone());
        }
        let nodes = self.all(
            "team.states",
            queries::STATES,
            json!({"team": team}),
            "/team/states",
        )?;
        let states: Vec<WireState> = nodes
            .into_iter()
            .map(serde_json::from_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| anyhow!("linear: team {team}'s states: {e}"))?;
        let states = Arc::new(states);
        self.states
            .lock()
            .unwrap()
            .insert(team.to_string(), states.clone());
        Ok(states)
    }

    /// The names of the team's and the workspace's labels by id, once a
    /// tick per team (every page of both).
    pub fn label_map(&self, team_id: &str) -> Result<Arc<HashMap<String, String>>> {
        if let Some(m) = self.labels.lock().unwrap().get(team_id) {
            return Ok(m.clone());
        }
        let mut m = HashMap::new();
        let team = self.all(
            "team.labels",
            queries::TEAM_LABELS,
            json!({"team": team_id}),
            "/team/labels",
        )?;
        let workspace = self.all(
            "organization.labels",
            queries::WORKSPACE_LABELS,
            json!({}),
            "/organization/labels",
        )?;
        for l in team.iter().chain(&workspace) {
            if let (Some(id), Some(name)) = (l["id"].as_str(), l["name"].as_str()) {
                m.insert(id.to_string(), name.to_string());
            }
        }
        let m = Arc::new(m);
        self.labels
            .lock()
            .unwrap()
            .insert(team_id.to_string(), m.clone());
        Ok(m)
    }

    /// An issue's labels by name: every id read through its team's and the
    /// workspace's labels; an id neither holds is the issue's error (a
    /// label afk cannot name is never dropped silently).
    pub fn label_names(&self, i: &WireIssue) -> Result<Vec<String>> {
        let m = self.label_map(&i.team.id)?;
        i.label_ids
            .iter()
            .map(|id| {
                m.get(id).cloned().ok_or_else(|| {
                    anyhow!("linear: {}: a label afk cannot name ({id})", i.identifier)
                })
            })
            .collect()
    }

    /// A label's name in afk's case where it is one of afk's labels or a
    /// map entry's (`rules::afk_case`).
    fn afk_case(&self, name: &str) -> String {
        let mut afk = self.setup.labels.clone();
        afk.push(self.setup.ready_label.clone());
        afk.extend(self.setup.map.iter().filter_map(|e| e.label.clone()));
        rules::afk_case(name, &afk)
    }

    /// The issue's labels as afk reads them: with `ready = "status"` the
    /// ready label is the ready state's alone, with `ready = "delegate"`
    /// the delegation's.
    fn labels_of(&self, i: &WireIssue) -> Result<Vec<String>> {
        let mut labels: Vec<String> = (self.label_names(i)?.iter())
            .map(|l| self.afk_case(l))
            .collect();
        let ready = &self.setup.ready_label;
        let armed = match (&self.setup.ready_status, self.setup.ready_delegate) {
            (_, true) => Some(self.delegated(i)?),
            (Some(want), false) => Some(i.state.name.eq_ignore_ascii_case(want)),
            (None, false) => None,
        };
        if let Some(armed) = armed {
            labels.retain(|l| !l.eq_ignore_ascii_case(ready));
            if armed {
                labels.push(ready.clone());
            }
        }
        Ok(labels)
    }

    /// The issue's whole history (every page).
    pub fn history(&self, i: &WireIssue) -> Result<Vec<LinearHistory>> {
        let nodes = self.all(
            "issue.history",
            queries::HISTORY,
            json!({"id": i.id}),
            "/issue/history",
        )?;
        nodes
            .into_iter()
            .map(serde_json::from_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| anyhow!("linear: {}'s history: {e}", i.identifier))
    }

    /// The issue's history as afk's timeline (`rules::timeline`), afk's own
    /// user written as `me_login`.
    pub fn timeline(
        &self,
        n: IssueNumber,
        me_login: &str,
    ) -> Result<Vec<crate::model::TimelineEvent>> {
        let i = self.wire_issue(n)?;
        let history = self.history(&i)?;
        let me = self.me()?;
        let labels = self.labels_of(&i)?;
        let names = self.label_map(&i.team.id)?;
        let ready = match self.stands_for(&self.setup.ready_label) {
            true => self.ready_rule(std::slice::from_ref(&i.team.key))?,
            false => rules::Ready::Label(self.setup.ready_label.clone()),
        };
        let map_labels: Vec<String> = self
            .setup
            .map
            .iter()
            .filter_map(|e| e.label.clone())
            .collect();
        let now = rules::Now {
            creator: i.creator.as_ref().map(|c| c.id.as_str()),
            created: Some(&i.created_at),
            labels: &labels,
            ready_label: &self.setup.ready_label,
            ready: &ready,
        };
        let map = rules::MapReads {
            projects: self.setup.map.iter().any(|e| e.component.is_some()),
            labels: &map_labels,
        };
        let mut events = rules::timeline(&history, (&me.id, me_login), &now, &names, &map)
            .map_err(|e| anyhow!("{e}"))?;
        for e in &mut events {
            e.label = e.label.take().map(|l| self.afk_case(&l));
        }
        Ok(events)
    }

    /// A team's active members' ids (every page), once a tick.
    pub fn members(&self, team_id: &str) -> Result<Arc<Vec<String>>> {
        if let Some(m) = self.members.lock().unwrap().get(team_id) {
            return Ok(m.clone());
        }
        let nodes = self.all(
            "team.memberships",
            queries::MEMBERS,
            json!({"team": team_id}),
            "/team/memberships",
        )?;
        let ids: Vec<String> = nodes
            .iter()
            .filter_map(|m| m["user"]["id"].as_str().map(str::to_string))
            .collect();
        let ids = Arc::new(ids);
        self.members
            .lock()
            .unwrap()
            .insert(team_id.to_string(), ids.clone());
        Ok(ids)
    }

    /// Whether `account` may arm issue `n`: the trust rule on the user as
    /// Linear answers it (`user(id:)`) and the issue team's memberships.
    pub fn armer(
        &self,
        n: IssueNumber,
        account: &str,
        never: &[&str],
    ) -> Result<crate::types::Permission> {
        use crate::types::{Access, Permission};
        if account.is_empty() {
            return Ok(Permission::ranked(
                Access::None,
                "a change with no person behind it (an integration, an automation or a bot)",
            ));
        }
        let me = self.me()?;
        let mut never = never.to_vec();
        never.push(&me.id);
        let user = self.users.get(account.to_string(), || {
            let d = self.read("user", queries::USER, json!({"id": account}))?;
            serde_json::from_value::<LinearUser>(d["user"].clone())
                .map_err(|e| anyhow!("linear: user {account}: {e}"))
        })?;
        let i = self.wire_issue(n)?;
        // a delegation arms only when the person who made it opened its
        // agent session too
        if self.setup.ready_delegate
            && let Some(why) = self.session_refuses(n, &user.id)?
        {
            return Ok(Permission::ranked(Access::None, &why));
        }
        let member = match self.setup.trusted_team_members {
            true => self.members(&i.team.id)?.contains(&user.id),
            false => false,
        };
        let t = rules::trust(
            &user,
            member,
            &never,
            &self.setup.trusted_accounts,
            self.setup.trusted_team_members,
        );
        Ok(match t {
            rules::Trust::Trusted(why) => Permission::ranked(Access::Admin, &why),
            rules::Trust::Untrusted(why) => Permission::ranked(Access::None, &why),
        })
    }

    /// The issues blocking this one, each named by its identifier: its
    /// `blocks` relations from an issue not finished; past the first page
    /// (more than 50 relations) one more, its state unknown, blocks.
    pub fn blockers(&self, n: IssueNumber) -> Result<Vec<Issue>> {
        let i = self.wire_issue(n)?;
        let blocker = |key: &str, url: &str, state: State| Issue {
            id: 0,
            number: IssueNumber(0),
            title: key.to_string(),
            body: None,
            state,
            labels: vec![],
            html_url: url.to_string(),
            pull_request: None,
            repository: Some(RepoMeta {
                full_name: key.to_string(),
            }),
            user: None,
            updated_at: None,
        };
        let mut out: Vec<Issue> = i
            .inverse_relations
            .nodes
            .iter()
            .filter(|r| r.kind == "blocks")
            .filter(|r| !rules::DONE_TYPES.contains(&r.issue.state.kind.as_str()))
            .map(|r| blocker(&r.issue.identifier, &r.issue.url, State::Open))
            .collect();
        if i.inverse_relations.page_info.has_next_page {
            out.push(blocker(&i.identifier, &i.url, State::Unknown));
        }
        // the description's `Blocked by` / `Depends on` lines, each key read
        // (at most MAX_DESCRIBED_BLOCKERS); one of a team the map does not
        // name, one afk cannot read, and one past the bound block unread
        let prefix = match self.setup.site.is_empty() {
            true => String::new(),
            false => format!("{}/issue/", self.setup.site.trim_end_matches('/')),
        };
        let text = i.description.clone().unwrap_or_default();
        let named = rules::blockers_under(&text, &prefix);
        for (n, key) in named.into_iter().filter(|k| *k != i.identifier).enumerate() {
            if out.iter().any(|b| b.title == key) {
                continue;
            }
            let team = key.split('-').next().unwrap_or("");
            let mapped = self.setup.map.iter().any(|e| e.project == team);
            let (state, url) = match n < rules::MAX_DESCRIBED_BLOCKERS && mapped {
                false => (State::Unknown, String::new()),
                true => match self.finished_by_key(&key)? {
                    Some((true, _)) => continue,
                    Some((false, url)) => (State::Open, url),
                    None => (State::Unknown, String::new()),
                },
            };
            out.push(blocker(&key, &url, state));
        }
        Ok(out)
    }

    /// Whether issue `key` is finished, and its address; None where Linear
    /// answers "Entity not found" (no such issue, or one afk's user may not
    /// see: Linear does not say which).
    fn finished_by_key(&self, key: &str) -> Result<Option<(bool, String)>> {
        match self.read("issue", queries::BLOCKER, json!({"id": key})) {
            Ok(d) => {
                let kind = d["issue"]["state"]["type"].as_str().unwrap_or("");
                let url = d["issue"]["url"].as_str().unwrap_or("").to_string();
                Ok(Some((rules::DONE_TYPES.contains(&kind), url)))
            }
            Err(e) if e.to_string().contains("Entity not found") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The `data` of an answer; one with `errors` is an error naming the
/// first, in Linear's words (its `extensions.code` when it says one).
fn data(v: Value, what: &str) -> Result<Value> {
    if let Some(e) = v.get("errors").filter(|e| !e.is_null()) {
        let first = e[0]["message"].as_str().unwrap_or("an error");
        let code = e[0]["extensions"]["code"].as_str().unwrap_or("");
        let code = match code {
            "" => String::new(),
            c => format!(" ({c})"),
        };
        anyhow::bail!(
            "linear: {what}: {}{code}",
            crate::core::sanitize::one_line(first, 200)
        );
    }
    match v.get("data") {
        Some(d) if d.is_object() => Ok(d.clone()),
        _ => Err(anyhow!("linear: {what}: an answer without data")),
    }
}
