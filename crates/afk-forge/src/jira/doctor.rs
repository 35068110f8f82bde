//! `afk doctor`'s Jira lines (docs/trackers.md#doctor): whom Jira answers
//! as and whether afk may read groups; what it cannot read of its token;
//! that the site is Jira Cloud (`GET /serverInfo`); each mapped project
//! (`GET /project/{key}`), its mapped components (`GET
//! /project/{key}/components`) and afk's permissions in it (`GET
//! /mypermissions`); then what else the config names exists on the site:
//! each `trusted_groups` id (`GET /group/member`), each `trusted_roles`
//! entry in each mapped project (`GET /project/{key}/role`) and the
//! `blocked_by_link` type (`GET /issueLinkType`).

use super::Jira;
use crate::http::{Failure, ForgeError, enc};
use serde_json::Value;

/// The project permissions afk's steps use: reading issues, labelling
/// them, its comments and their edits, the link to the PR, the Done
/// transition.
const PERMISSIONS: [&str; 6] = [
    "BROWSE_PROJECTS",
    "EDIT_ISSUES",
    "ADD_COMMENTS",
    "EDIT_OWN_COMMENTS",
    "LINK_ISSUES",
    "TRANSITION_ISSUES",
];

impl Jira {
    /// Doctor's tracker lines: [`Jira::account_lines`], then, when the
    /// account answers, [`Jira::config_lines`] and the warning that an
    /// Automation rule may act in anyone's name.
    pub fn diagnose(&self) -> Vec<crate::Diagnosis> {
        let mut out = self.account_lines();
        if out.iter().all(|d| d.ok) && !self.http.optional_reads() {
            // doctor's reads are optional: with a budget nearly spent
            // (`X-RateLimit-NearLimit`) the ticks' reads go first
            out.push(crate::Diagnosis::warn(
                "tracker",
                "Jira says under a fifth of a rate-limit budget is left (X-RateLimit-NearLimit): doctor reads nothing more of it now; run it again later".into(),
            ));
        } else if out.iter().all(|d| d.ok) {
            out.push(self.token_line());
            out.extend(self.site_lines());
            out.extend(self.config_lines());
            if self.setup.hook {
                out.push(self.webhook_line());
            }
            // an Automation rule's actor is whoever an administrator chose:
            // its arming reads as that person's (docs/trackers.md#who-is-trusted)
            out.push(crate::Diagnosis::warn(
                "tracker",
                "a Jira administrator (on some sites a project administrator too) can run an Automation rule as any person: the rule's changes, an arming among them, are recorded as that person's, and afk cannot tell them from the person's own (docs/trackers.md#who-is-trusted)".into(),
            ));
        }
        out
    }

    /// afk's account as Jira answers it, and (with `trusted_groups`)
    /// whether it may read an account's groups, without which no arming is
    /// trusted by group.
    fn account_lines(&self) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        let site = &self.setup.site;
        let me = match self.me() {
            Ok(me) => me,
            Err(e) => {
                // a refused token names where it came from, never its value
                let service_account = self.http.token_source().contains("tracker.client_id");
                let fix = match ForgeError::kind_of(&e) {
                    Some(Failure::Unauthorized) if service_account => format!(
                        " (the service account's client id from {} and its secret, or its credential revoked)",
                        self.http.token_source()
                    ),
                    Some(Failure::Unauthorized) => format!(
                        " (the API token from {} with tracker.email; a scoped token is taken only through the gateway, tracker.api_url)",
                        self.http.token_source()
                    ),
                    _ => String::new(),
                };
                return vec![Diagnosis::fail(
                    "tracker",
                    format!("Jira at {site}: {e}{fix}"),
                )];
            }
        };
        let kind = me.account_type.as_deref().unwrap_or("unknown");
        let mut out = vec![Diagnosis::ok(
            "tracker",
            format!(
                "Jira at {site} answers as {} ({kind} account)",
                me.account_id
            ),
        )];
        if !self.setup.trusted_groups.is_empty() {
            let path = format!("/rest/api/3/user/groups?accountId={}", enc(&me.account_id));
            out.push(match self.http.json::<Vec<Value>>("GET", &path, None) {
                Ok(_) => Diagnosis::ok(
                    "tracker",
                    "afk's account may read an account's groups (tracker.trusted_groups)".into(),
                ),
                Err(e) => Diagnosis::fail(
                    "tracker",
                    format!(
                        "afk's account cannot read an account's groups ({e}): it needs Browse users and groups, or no arming is trusted by tracker.trusted_groups"
                    ),
                ),
            });
        }
        out
    }

    /// What afk cannot read of its credential: an API token's or an access
    /// token's expiry is not in any answer made with it.
    fn token_line(&self) -> crate::Diagnosis {
        let what = match self.setup.auth.as_str() {
            "client_credentials" => {
                "the service account's access token is exchanged on each tick's first request; its client credential's expiry cannot be read with it"
            }
            "bearer" => {
                "an OAuth 2.0 access token's expiry cannot be read with the token (it is renewed outside afk)"
            }
            _ => {
                "an API token's expiry cannot be read with the token (Atlassian's API tokens expire after at most a year)"
            }
        };
        crate::Diagnosis::ok("tracker", what.into())
    }

    /// The site is Jira Cloud (`deploymentType` `Cloud`: an answer without
    /// it is not taken as Cloud), then each mapped project as
    /// [`Jira::project_lines`] reads it.
    fn site_lines(&self) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        let site = &self.setup.site;
        let mut out = vec![match self
            .http
            .json::<Value>("GET", "/rest/api/3/serverInfo", None)
        {
            Ok(v) => match v["deploymentType"].as_str() {
                Some("Cloud") => Diagnosis::ok(
                    "tracker",
                    format!(
                        "Jira at {site} is Jira Cloud (version {})",
                        v["version"].as_str().unwrap_or("not said")
                    ),
                ),
                // the schema says Cloud always sends it; its own example
                // leaves it out (docs/fidelity/jira-cloud.md)
                None => Diagnosis::warn(
                    "tracker",
                    format!(
                        "Jira at {site} does not say its deploymentType, which Jira Cloud always says: afk speaks Jira Cloud's REST API v3 only"
                    ),
                ),
                Some(other) => Diagnosis::fail(
                    "tracker",
                    format!(
                        "Jira at {site} is not Jira Cloud (deploymentType \"{other}\"): afk speaks Jira Cloud's REST API v3 only"
                    ),
                ),
            },
            Err(e) => Diagnosis::fail(
                "tracker",
                format!("cannot tell whether Jira at {site} is Jira Cloud: {e}"),
            ),
        }];
        let mut projects: Vec<&str> = self.setup.map.iter().map(|e| e.project.as_str()).collect();
        projects.sort();
        projects.dedup();
        for p in projects {
            out.extend(self.project_lines(p));
        }
        out
    }

    /// One mapped project: Jira knows it by that key (the map compares keys
    /// whole and case-sensitively), has the components the map names for
    /// it, and afk's account holds in it each permission afk's steps use.
    fn project_lines(&self, p: &str) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        let path = format!("/rest/api/3/project/{}", enc(p));
        match self.http.json::<Value>("GET", &path, None) {
            Ok(v) if v["key"].as_str() == Some(p) => {}
            Ok(v) => {
                return vec![Diagnosis::fail(
                    "tracker",
                    format!(
                        "tracker.map names Jira project {p}, which Jira knows by the key {}: the map compares keys whole, so no issue of it is mapped",
                        v["key"].as_str().unwrap_or("(none said)")
                    ),
                )];
            }
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                return vec![Diagnosis::fail(
                    "tracker",
                    format!("Jira has no project {p} that afk's account may browse (tracker.map)"),
                )];
            }
            Err(e) => {
                return vec![Diagnosis::fail(
                    "tracker",
                    format!("cannot tell whether Jira project {p} is there: {e}"),
                )];
            }
        }
        let mut out = vec![];
        let wanted: Vec<&str> = (self.setup.map.iter())
            .filter(|e| e.project == p)
            .filter_map(|e| e.component.as_deref())
            .collect();
        if !wanted.is_empty() {
            let path = format!("/rest/api/3/project/{}/components", enc(p));
            out.push(match self.http.json::<Vec<Value>>("GET", &path, None) {
                Ok(all) => {
                    let names: Vec<&str> = all.iter().filter_map(|c| c["name"].as_str()).collect();
                    let missing: Vec<&str> = wanted.iter().copied().filter(|w| !names.contains(w)).collect();
                    match missing.is_empty() {
                        true => Diagnosis::ok("tracker", format!("Jira project {p} has the components of tracker.map")),
                        false => Diagnosis::fail(
                            "tracker",
                            format!("Jira project {p} has no component {} (tracker.map; names compare whole and case-sensitively)", missing.join(", ")),
                        ),
                    }
                }
                Err(e) => Diagnosis::fail("tracker", format!("cannot tell whether Jira project {p} has the components of tracker.map: {e}")),
            });
        }
        out.push(self.permission_line(p));
        out
    }

    /// afk's account holds each of [`PERMISSIONS`] in project `p`; a key
    /// the answer leaves out is not held.
    fn permission_line(&self, p: &str) -> crate::Diagnosis {
        use crate::Diagnosis;
        let path = format!(
            "/rest/api/3/mypermissions?projectKey={}&permissions={}",
            enc(p),
            PERMISSIONS.join(",")
        );
        match self.http.json::<Value>("GET", &path, None) {
            Ok(v) => {
                let lacking: Vec<&str> = (PERMISSIONS.iter().copied())
                    .filter(|k| v["permissions"][*k]["havePermission"].as_bool() != Some(true))
                    .collect();
                match lacking.is_empty() {
                    true => Diagnosis::ok(
                        "tracker",
                        format!("afk's account holds in Jira project {p} each permission it uses"),
                    ),
                    false => Diagnosis::fail(
                        "tracker",
                        format!(
                            "afk's account lacks in Jira project {p}: {}",
                            lacking.join(", ")
                        ),
                    ),
                }
            }
            Err(e) => Diagnosis::fail(
                "tracker",
                format!("cannot tell afk's permissions in Jira project {p}: {e}"),
            ),
        }
    }

    /// What the config names, as the site has it: a group id Jira does not
    /// know, a role no mapped project has, a link type the site lacks: each
    /// a FAIL naming it; a refused read says it cannot tell.
    /// With the tracker's webhook secret set: whether an admin webhook
    /// sends `jira:issue_updated`, the event an arming comes as (`GET
    /// /rest/webhooks/1.0/webhook`, beyond the contract; only *Administer
    /// Jira* may read it). A refusal, or an answer afk does not read, is
    /// "can't tell"; a webhook the answer does not say is disabled counts
    /// as sending. Its address and JQL filter are not afk's to judge (afk
    /// knows no public address of its own): said so.
    fn webhook_line(&self) -> crate::Diagnosis {
        use crate::Diagnosis;
        let w = |detail: String| Diagnosis::warn("tracker webhook", detail);
        let hooks = match self
            .http
            .json::<Value>("GET", "/rest/webhooks/1.0/webhook", None)
        {
            Ok(Value::Array(hooks)) => hooks,
            Ok(_) => {
                return w(
                    "can't tell: Jira's list of admin webhooks came in a shape afk does not read"
                        .into(),
                );
            }
            Err(e) => match ForgeError::kind_of(&e) {
                Some(Failure::Forbidden | Failure::NotFound | Failure::Unauthorized) => {
                    return w(
                        "can't tell: reading Jira's admin webhooks needs Administer Jira".into(),
                    );
                }
                _ => return w(format!("can't tell: {e}")),
            },
        };
        let sends = |h: &Value| {
            h["enabled"] != Value::Bool(false)
                && (h["events"].as_array().into_iter().flatten())
                    .any(|e| e.as_str() == Some("jira:issue_updated"))
        };
        match hooks.iter().filter(|h| sends(h)).count() {
            0 => w(format!(
                "no enabled admin webhook sends jira:issue_updated, the event an arming comes as ({} listed): armings wait for cron's tick",
                hooks.len()
            )),
            n => Diagnosis::ok(
                "tracker webhook",
                format!(
                    "{n} admin webhook(s) send jira:issue_updated (their address and JQL filter are not checked)"
                ),
            ),
        }
    }

    fn config_lines(&self) -> Vec<crate::Diagnosis> {
        use crate::Diagnosis;
        let mut out = vec![];
        let cannot = |what: &str, e: &anyhow::Error| {
            Diagnosis::fail("tracker", format!("cannot tell whether {what}: {e}"))
        };
        for g in &self.setup.trusted_groups {
            let path = format!("/rest/api/3/group/member?groupId={}&maxResults=1", enc(g));
            out.push(match self.http.json::<Value>("GET", &path, None) {
                Ok(_) => Diagnosis::ok("tracker", format!("Jira group {g} (tracker.trusted_groups) is there")),
                Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Diagnosis::fail(
                    "tracker",
                    format!("Jira has no group with id {g} (tracker.trusted_groups: a group's id, not its name)"),
                ),
                Err(e) => cannot(&format!("Jira group {g} is there"), &e),
            });
        }
        let mut projects: Vec<&str> = self.setup.map.iter().map(|e| e.project.as_str()).collect();
        projects.sort();
        projects.dedup();
        for p in projects
            .iter()
            .filter(|_| !self.setup.trusted_roles.is_empty())
        {
            let path = format!("/rest/api/3/project/{}/role", enc(p));
            let roles = match self
                .http
                .json::<serde_json::Map<String, Value>>("GET", &path, None)
            {
                Ok(r) => r,
                Err(e) => {
                    out.push(cannot(&format!("project {p} has the roles of tracker.trusted_roles (afk's account needs Administer Projects)"), &e));
                    continue;
                }
            };
            // a role by its name, or by its id (its URL's last segment)
            let has = |want: &str| {
                roles.iter().any(|(name, url)| {
                    name.eq_ignore_ascii_case(want)
                        || url.as_str().and_then(|u| u.rsplit('/').next()) == Some(want)
                })
            };
            let missing: Vec<&str> = (self.setup.trusted_roles.iter())
                .filter(|r| !has(r))
                .map(String::as_str)
                .collect();
            out.push(match missing.is_empty() {
                true => Diagnosis::ok(
                    "tracker",
                    format!("Jira project {p} has the roles of tracker.trusted_roles"),
                ),
                false => Diagnosis::fail(
                    "tracker",
                    format!(
                        "Jira project {p} has no role {} (tracker.trusted_roles)",
                        missing.join(", ")
                    ),
                ),
            });
        }
        let link = &self.setup.blocked_by_link;
        out.push(match self.http.json::<Value>("GET", "/rest/api/3/issueLinkType", None) {
            Ok(v) => {
                let names: Vec<&str> = (v["issueLinkTypes"].as_array().into_iter().flatten())
                    .filter_map(|t| t["name"].as_str())
                    .collect();
                match names.contains(&link.as_str()) {
                    true => Diagnosis::ok("tracker", format!("Jira has the link type \"{link}\" (tracker.blocked_by_link)")),
                    false => Diagnosis::fail(
                        "tracker",
                        format!("Jira has no link type \"{link}\" (tracker.blocked_by_link; it has {})", names.join(", ")),
                    ),
                }
            }
            Err(e) => cannot(&format!("Jira has the link type \"{link}\" (issue linking may be off)"), &e),
        });
        out
    }
}
