//! `[tracker]`: work taken from Jira Cloud beside the forge
//! (docs/trackers.md). Absent, the forge's issues are the tracker, as
//! before. What this release does not take yet is a load error naming the
//! key (a key afk would not act on is never accepted silently).

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

use super::check::Checker;
use super::secrets::read_secret_file;
use super::values::{MINUTE, de_duration, de_path};
use super::{Config, cfg_hint};
use crate::redact::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tracker {
    /// `jira` (Jira Cloud); `linear` is not taken yet
    pub kind: String,
    /// the site: `https://acme.atlassian.net` (web links, and the API's
    /// root for a classic API token)
    pub url: String,
    /// the API's root when it is not the site (a scoped token through
    /// `https://api.atlassian.com/ex/jira/<cloudId>`); "": `url`
    pub api_url: String,
    /// `basic` (the account's email and an API token)
    pub auth: String,
    /// the account's email (not a secret)
    pub email: String,
    pub token_env: String,
    /// Absolute once loaded; when set it wins over `token_env`.
    #[serde(deserialize_with = "de_path")]
    pub token_file: Option<PathBuf>,
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    pub concurrency: usize,
    pub retries: u32,
    /// `label`: the issue carries `[poll] ready_label`; `status`: it is in
    /// the status `ready_status`
    pub ready: String,
    /// `ready = "status"`: the status that arms (its id, or its name)
    pub ready_status: String,
    /// Jira group ids (never names: names change)
    pub trusted_groups: Vec<String>,
    /// project role names or ids, read in the project
    pub trusted_roles: Vec<String>,
    /// accountIds trusted whatever their groups (bots only this way)
    pub trusted_accounts: Vec<String>,
    /// the transition afk performs on success; "": the first available
    /// one into the status category Done
    pub done_transition: String,
    /// the issue link type whose inward side means "is blocked by"
    pub blocked_by_link: String,
    /// a Jira project (+ component or label) to an allowlisted repository
    pub map: Vec<MapEntry>,
    /// the variable holding the secret Jira's admin webhook signs with
    /// (`afk hook`); "": none
    pub hook_secret_env: String,
    /// Absolute once loaded; when set it wins over `hook_secret_env`.
    #[serde(deserialize_with = "de_path")]
    pub hook_secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MapEntry {
    /// the Jira project's key (`PLAT`)
    pub project: String,
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    pub repo: String,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            kind: String::new(),
            url: String::new(),
            api_url: String::new(),
            auth: "basic".into(),
            email: String::new(),
            token_env: "AFK_TRACKER_TOKEN".into(),
            token_file: None,
            timeout: Duration::from_secs(30),
            concurrency: 4,
            retries: 3,
            ready: "label".into(),
            ready_status: String::new(),
            trusted_groups: vec![],
            trusted_roles: vec![],
            trusted_accounts: vec![],
            done_transition: String::new(),
            blocked_by_link: "Blocks".into(),
            map: vec![],
            hook_secret_env: String::new(),
            hook_secret_file: None,
        }
    }
}

/// Whether `url` is https, or http on loopback (the sandbox).
fn https_or_loopback(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl Tracker {
    pub(super) fn validate(
        &self,
        c: &Checker,
        allowlist: &[crate::types::RepoName],
        own_labels: &[&str],
        agent_workspace: bool,
    ) -> Result<()> {
        self.taken(c)?;
        self.connection(c)?;
        if agent_workspace {
            return Err(c.err(
                "tracker",
                "kind",
                "a tracker needs runner.workspace = \"afk\": afk opens the run's pull request (a PR the agent opens would say Closes #N, a forge issue)",
            ));
        }
        self.map_checked(c, allowlist, own_labels)?;
        for l in own_labels {
            if l.contains(char::is_whitespace) {
                return Err(c.err(
                    "poll",
                    "ready_label",
                    format!("\"{l}\" holds a space, which no Jira label can (afk's labels go on the Jira issue)"),
                ));
            }
        }
        Ok(())
    }

    /// What this release takes: `kind`, `auth`, `ready`.
    fn taken(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        match self.kind.as_str() {
            "jira" => {}
            "linear" => {
                return Err(c.err(
                    t,
                    "kind",
                    "\"linear\": afk does not take work from Linear yet (docs/trackers.md); only \"jira\"",
                ));
            }
            "" => return Err(c.err(t, "kind", "is required in [tracker]: \"jira\"")),
            other => return Err(c.err(t, "kind", format!("\"{other}\": must be \"jira\""))),
        }
        if !matches!(self.auth.as_str(), "basic" | "bearer") {
            return Err(c.err(
                t,
                "auth",
                format!(
                    "\"{}\": must be \"basic\" (the account's email and an API token) or \"bearer\" (an OAuth 2.0 access token); service accounts' client_credentials are not taken yet (docs/trackers.md)",
                    self.auth
                ),
            ));
        }
        match (self.ready.as_str(), self.ready_status.trim().is_empty()) {
            ("label", true) | ("status", false) => {}
            ("label", false) => {
                return Err(c.err(
                    t,
                    "ready_status",
                    "is read only with ready = \"status\": set that, or leave ready_status out",
                ));
            }
            ("status", true) => {
                return Err(c.err(
                    t,
                    "ready_status",
                    "is required with ready = \"status\": the status that arms an issue, by its id or its name",
                ));
            }
            (other, _) => {
                return Err(c.err(
                    t,
                    "ready",
                    format!(
                        "\"{other}\": must be \"label\" ([poll] ready_label on the Jira issue) or \"status\" (the issue in ready_status)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Where and how afk reaches Jira, and its bounds.
    fn connection(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        if self.url.is_empty() {
            return Err(c.err(
                t,
                "url",
                "is required: the Jira site, https://<site>.atlassian.net",
            ));
        }
        for (key, url) in [("url", &self.url), ("api_url", &self.api_url)] {
            if !url.is_empty() && !https_or_loopback(url) {
                return Err(c.err(t, key, "must be https:// (http only on loopback)"));
            }
        }
        match self.auth.as_str() {
            "basic" if self.email.trim().is_empty() => {
                return Err(c.err(
                    t,
                    "email",
                    "is required with auth = \"basic\": the email of the account the API token belongs to",
                ));
            }
            // a bearer token names its account itself: an email would be
            // parsed and never read
            "bearer" if !self.email.trim().is_empty() => {
                return Err(c.err(
                    t,
                    "email",
                    "is read only with auth = \"basic\": an OAuth token names its account itself; leave email out",
                ));
            }
            // an OAuth token works only through Atlassian's gateway
            "bearer" if self.api_url.is_empty() => {
                return Err(c.err(
                    t,
                    "api_url",
                    "is required with auth = \"bearer\": an OAuth 2.0 token works only through the gateway, https://api.atlassian.com/ex/jira/<cloudId>",
                ));
            }
            _ => {}
        }
        c.duration(
            t,
            "timeout",
            self.timeout,
            Duration::from_secs(1),
            Duration::from_secs(10 * MINUTE),
        )?;
        if !(1..=16).contains(&self.concurrency) {
            return Err(c.err(t, "concurrency", "must be from 1 to 16"));
        }
        if self.retries > 10 {
            return Err(c.err(t, "retries", "must be at most 10"));
        }
        if self.blocked_by_link.trim().is_empty() {
            return Err(c.err(
                t,
                "blocked_by_link",
                "must name an issue link type (Jira's: \"Blocks\")",
            ));
        }
        Ok(())
    }

    /// `[[tracker.map]]`: each entry a project, its narrowing and an
    /// allowlisted repository, none repeated, none of afk's own labels.
    fn map_checked(
        &self,
        c: &Checker,
        allowlist: &[crate::types::RepoName],
        own_labels: &[&str],
    ) -> Result<()> {
        let t = "tracker";
        if self.map.is_empty() {
            return Err(c.err(
                t,
                "map",
                "[[tracker.map]] must name at least one project and its repository",
            ));
        }
        for (i, e) in self.map.iter().enumerate() {
            let key = format!("map[{}]", i + 1);
            if e.project.trim().is_empty() || e.project.contains(char::is_whitespace) {
                return Err(c.err(t, &key, "project must be a Jira project key (PLAT)"));
            }
            if !allowlist
                .iter()
                .any(|a| a.as_str().eq_ignore_ascii_case(&e.repo))
            {
                return Err(c.err(
                    t,
                    &key,
                    format!("repo \"{}\" is not in [poll] allowlist", e.repo),
                ));
            }
            for (what, v) in [("component", &e.component), ("label", &e.label)] {
                if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                    return Err(c.err(
                        t,
                        &key,
                        format!(
                            "{what} is empty: leave it out to match every issue of the project"
                        ),
                    ));
                }
            }
            if let Some(l) = &e.label {
                if l.contains(char::is_whitespace) {
                    return Err(c.err(t, &key, "label holds a space, which no Jira label can"));
                }
                if own_labels.contains(&l.as_str()) {
                    return Err(c.err(
                        t,
                        &key,
                        format!("label \"{l}\" is one of afk's own labels"),
                    ));
                }
            }
            if self.map[..i].contains(e) {
                return Err(c.err(t, &key, "is the same entry as an earlier one"));
            }
        }
        Ok(())
    }
}

impl Config {
    /// The tracker's API token (`[tracker] token_file`, else `token_env`),
    /// and what goes on the wire (`base64(email:token)`, or with `auth =
    /// "bearer"` the access token as it is), each registered as
    /// a secret as it is read; an error naming the key when there is none.
    pub fn tracker_token(&self) -> Result<Option<(Secret, Secret)>> {
        let Some(t) = &self.tracker else {
            return Ok(None);
        };
        let token = match &t.token_file {
            Some(p) => Secret::new(read_secret_file(p, "tracker.token_file")?.trim()),
            None => match super::secrets::env_secret(&t.token_env) {
                Some(v) => Secret::new(v.expose().trim()),
                None => bail!(cfg_hint(
                    format!(
                        "config: the tracker's token is missing: the environment variable {} (tracker.token_env) is unset or empty",
                        t.token_env
                    ),
                    format!(
                        "set the environment variable {} to the Jira API token",
                        t.token_env
                    )
                )),
            },
        };
        // `bearer`: the access token as it is; `basic`: base64(email:token)
        if t.auth == "bearer" {
            let wire = Secret::new(token.expose());
            return Ok(Some((token, wire)));
        }
        use base64::Engine;
        let pair = format!("{}:{}", t.email.trim(), token.expose());
        let basic = base64::engine::general_purpose::STANDARD.encode(pair);
        let wire = Secret::new(&basic);
        Ok(Some((token, wire)))
    }

    /// The secret Jira's webhook signs with (`[tracker] hook_secret_file`,
    /// else `hook_secret_env`), registered as it is read; Ok(None) when
    /// none is set or the variable is unset or blank.
    pub fn tracker_hook_secret(&self) -> Result<Option<Secret>> {
        let Some(t) = &self.tracker else {
            return Ok(None);
        };
        if let Some(p) = &t.hook_secret_file {
            let s = read_secret_file(p, "tracker.hook_secret_file")?;
            return Ok(Some(Secret::new(s.trim())));
        }
        Ok(super::secrets::env_secret(&t.hook_secret_env).map(|s| Secret::new(s.expose().trim())))
    }

    /// Where the token comes from, for a 401's words.
    pub fn tracker_token_source(&self) -> String {
        match &self.tracker {
            Some(t) => match &t.token_file {
                Some(p) => format!("tracker.token_file {}", p.display()),
                None => t.token_env.clone(),
            },
            None => String::new(),
        }
    }
}
