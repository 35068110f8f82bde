//! `afk doctor`'s Linear lines (docs/trackers.md#doctor): whom Linear
//! answers as, each mapped team's labels and states, and afk's rate
//! limits as Linear counts them.

use super::{Linear, queries};
use afk_wire::tracker::linear as rules;
use serde_json::json;

impl Linear {
    /// Doctor's tracker lines: afk's user as Linear answers it, then each
    /// mapped team ([`Linear::team_lines`]).
    pub fn diagnose(&self) -> Vec<crate::Diagnosis> {
        let mut out = self.me_line();
        if out.iter().all(|d| d.ok) {
            if self.setup.ready_delegate {
                out.push(self.delegation_line());
            }
            out.extend(self.team_lines());
            out.extend(self.project_lines());
            out.push(self.rate_line());
            if self.setup.hook {
                out.push(self.webhook_line());
            }
        }
        out
    }

    /// With the tracker's webhook secret set: whether an enabled webhook of
    /// the workspace sends Issue events (`webhooks`, beyond the contract's
    /// cut). Linear lets only a workspace admin, or an OAuth app with the
    /// `admin` scope, read them: a refusal is "can't tell".
    fn webhook_line(&self) -> crate::Diagnosis {
        use crate::Diagnosis;
        let w = |detail: String| Diagnosis::warn("tracker webhook", detail);
        let d = match self.read("webhooks", queries::WEBHOOKS, json!({})) {
            Ok(d) => d,
            Err(e) => {
                return w(format!(
                    "can't tell (only a workspace admin, or an OAuth app with the admin scope, may read Linear's webhooks): {e}"
                ));
            }
        };
        let Some(nodes) = d.pointer("/webhooks/nodes").and_then(|n| n.as_array()) else {
            return w("can't tell: Linear's webhooks came in a shape afk does not read".into());
        };
        let sends = |h: &&serde_json::Value| {
            h["enabled"] == json!(true)
                && (h["resourceTypes"].as_array().into_iter().flatten()).any(|t| t == "Issue")
        };
        let more = d.pointer("/webhooks/pageInfo/hasNextPage") == Some(&json!(true));
        match (nodes.iter().filter(sends).count(), more) {
            (0, false) => w(format!(
                "no enabled webhook sends Linear's Issue events ({} listed): deliveries wait for cron's tick",
                nodes.len()
            )),
            (0, true) => w(format!(
                "no enabled webhook among the first {} sends Linear's Issue events; afk read no further",
                nodes.len()
            )),
            (n, _) => Diagnosis::ok(
                "tracker webhook",
                format!(
                    "{n} enabled webhook(s) send Linear's Issue events (their address and teams are not checked)"
                ),
            ),
        }
    }

    /// Each project the map names by its name: found as the project of an
    /// issue afk's user sees in it (the API afk reads has no other way to a
    /// project: docs/fidelity/linear.md); with none, a WARN that afk cannot
    /// tell, and that no issue maps to it until one is there. A project
    /// given by its id is taken as it is.
    fn project_lines(&self) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        let mut names: Vec<&str> = (self.setup.map.iter())
            .filter_map(|e| e.component.as_deref())
            .filter(|n| rules::event_id(n).is_err())
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| match self.project_named(name) {
                Ok(Some(id)) => Diagnosis::ok(
                    "tracker",
                    format!("Linear project \"{name}\" (tracker.map) is there ({id})"),
                ),
                Ok(None) => Diagnosis::warn(
                    "tracker",
                    format!(
                        "Linear project \"{name}\" (tracker.map): no issue afk's user sees is in a project of that name, so afk cannot tell whether it is there (it knows a project only through its issues); no issue maps to that entry until one is"
                    ),
                ),
                Err(e) => Diagnosis::fail(
                    "tracker",
                    format!("cannot tell whether Linear project \"{name}\" (tracker.map) is there: {e}"),
                ),
            })
            .collect()
    }

    /// afk's rate limits as Linear counts them (`rateLimitStatus`): each
    /// limit's type with what is left of it and when it is full again; a
    /// WARN when one is under a tenth (the ticks then stop optional reads).
    fn rate_line(&self) -> crate::Diagnosis {
        use crate::Diagnosis;
        let d = match self.read("rateLimitStatus", queries::RATE_LIMIT, json!({})) {
            Ok(d) => d,
            Err(e) => return Diagnosis::fail("tracker", format!("Linear's rate limits: {e}")),
        };
        let limits = d["rateLimitStatus"]["limits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut low = false;
        let mut said = vec![];
        for l in &limits {
            let (Some(kind), Some(allowed), Some(left)) = (
                l["type"].as_str(),
                l["allowedAmount"].as_f64(),
                l["remainingAmount"].as_f64(),
            ) else {
                return Diagnosis::fail(
                    "tracker",
                    "Linear's rate limits: an answer without a limit's type, allowedAmount or remainingAmount".into(),
                );
            };
            low |= left < allowed / 10.0;
            let full = (l["reset"].as_f64())
                .and_then(|ms| time::OffsetDateTime::from_unix_timestamp((ms / 1000.0) as i64).ok())
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| "a time not said".into());
            said.push(format!(
                "{kind} {left} of {allowed} left (full again at {full})"
            ));
        }
        let text = format!(
            "Linear's rate limits for afk's user: {}",
            match said.is_empty() {
                true => "none said".to_string(),
                false => said.join("; "),
            }
        );
        match low {
            true => Diagnosis::warn(
                "tracker",
                format!("{text}: one is under a tenth, so ticks read only what they must"),
            ),
            false => Diagnosis::ok("tracker", text),
        }
    }

    /// With `ready = "delegate"`: afk's user is an app user that takes
    /// agent sessions (`viewer.supportsAgentSessions`); the OAuth token
    /// that reaches it is the config's rule (a personal key there is a
    /// load error).
    fn delegation_line(&self) -> crate::Diagnosis {
        use crate::Diagnosis;
        let fail = |why: &str| {
            Diagnosis::fail(
                "tracker",
                format!("ready = \"delegate\": {why} (docs/trackers.md#linears-agents-api)"),
            )
        };
        let d = match self.read("viewer", queries::VIEWER_AGENT, json!({})) {
            Ok(d) => d,
            Err(e) => return fail(&format!("{e}")),
        };
        match (
            d["viewer"]["app"].as_bool(),
            d["viewer"]["supportsAgentSessions"].as_bool(),
        ) {
            (Some(true), Some(true)) => Diagnosis::ok(
                "tracker",
                "afk's app user takes delegations and agent sessions".into(),
            ),
            (Some(true), _) => fail(
                "afk's app user does not take agent sessions: enable agent session events on the OAuth app",
            ),
            _ => fail(
                "the token acts as a person (an actor=user token), who cannot be delegated to: install the OAuth app with actor=app",
            ),
        }
    }

    /// Each mapped team: visible to afk's user, holding afk's labels (its
    /// own or the workspace's), a completed state (or `done_state`) and,
    /// with `ready = "status"`, the ready state.
    fn team_lines(&self) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        let teams = match self.mapped_teams() {
            Ok(t) => t,
            Err(e) => return vec![Diagnosis::fail("tracker", format!("Linear's teams: {e}"))],
        };
        let mut out = vec![];
        for (key, id) in &teams {
            let Some(id) = id.as_deref() else {
                out.push(Diagnosis::fail(
                    "tracker",
                    format!(
                        "Linear team {key} (tracker.map) is not there, or afk's user cannot see it"
                    ),
                ));
                continue;
            };
            let missing: Vec<&str> = match self.label_map(id) {
                Ok(m) => (self.setup.labels.iter())
                    .filter(|l| !m.values().any(|n| n.eq_ignore_ascii_case(l)))
                    .map(String::as_str)
                    .collect(),
                Err(e) => {
                    out.push(Diagnosis::fail(
                        "tracker",
                        format!("Linear team {key}'s labels: {e}"),
                    ));
                    continue;
                }
            };
            let states = self.states(id).map(|s| s.to_vec()).unwrap_or_default();
            let has = |name: &str| states.iter().any(|s| s.name.eq_ignore_ascii_case(name));
            let mut wrong: Vec<String> = vec![];
            if !missing.is_empty() {
                wrong.push(format!(
                    "no label {} in the team or the workspace (afk init --create-labels makes afk's in the workspace)",
                    missing.join(", ")
                ));
            }
            match self.setup.done_state.is_empty() {
                true if !states.iter().any(|s| s.kind == "completed") => {
                    wrong.push("no completed state".into())
                }
                false if !has(&self.setup.done_state) => wrong.push(format!(
                    "no state named \"{}\" (tracker.done_state)",
                    self.setup.done_state
                )),
                _ => {}
            }
            if let Some(r) = self.setup.ready_status.as_deref().filter(|r| !has(r)) {
                wrong.push(format!("no state named \"{r}\" (tracker.ready_status)"));
            }
            out.push(match wrong.is_empty() {
                true => Diagnosis::ok(
                    "tracker",
                    format!("Linear team {key}: afk's labels and its states are there"),
                ),
                false => Diagnosis::fail(
                    "tracker",
                    format!("Linear team {key}: {}", wrong.join("; ")),
                ),
            });
        }
        out
    }

    /// Doctor's line of afk's user as Linear answers it.
    fn me_line(&self) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        match self.me() {
            Ok(me) => vec![Diagnosis::ok(
                "tracker",
                format!(
                    "Linear answers as {} ({})",
                    me.id,
                    match me.app {
                        Some(true) => "an app user",
                        _ => "a person's account: afk's writes show as theirs",
                    }
                ),
            )],
            Err(e) => vec![Diagnosis::fail(
                "tracker",
                format!(
                    "Linear at {}: {e} (the key or token from {})",
                    self.http.root(),
                    self.http.token_source()
                ),
            )],
        }
    }

    /// The teams the map names, each by its key with its id (None: not
    /// there, or afk's user cannot see it), found through their workflow
    /// states (the contract's cut has no list of teams).
    pub(super) fn mapped_teams(&self) -> anyhow::Result<Vec<(String, Option<String>)>> {
        let mut keys: Vec<&str> = self.setup.map.iter().map(|e| e.project.as_str()).collect();
        keys.sort();
        keys.dedup();
        let filter = json!({"team": {"key": {"in": keys}}});
        let states = self.all(
            "workflowStates",
            queries::TEAMS,
            json!({ "filter": filter }),
            "/workflowStates",
        )?;
        Ok(keys
            .into_iter()
            .map(|key| {
                let team = states.iter().map(|s| &s["team"]).find(|t| t["key"] == key);
                let id = team.and_then(|t| t["id"].as_str()).map(str::to_string);
                (key.to_string(), id)
            })
            .collect())
    }
}
