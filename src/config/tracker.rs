//! `[tracker]`: work taken from Jira Cloud or Linear beside the forge
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

/// Linear's one GraphQL endpoint (`packages/sdk/src/client.ts`).
pub const LINEAR_API: &str = "https://api.linear.app/graphql";

/// Where a Jira service account's client credentials are exchanged for an
/// access token (support.atlassian.com, "Create OAuth 2.0 credential for
/// service accounts").
pub const ATLASSIAN_TOKEN_URL: &str = "https://auth.atlassian.com/oauth/token";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tracker {
    /// `jira` (Jira Cloud) or `linear`
    pub kind: String,
    /// the site: `https://acme.atlassian.net` (web links, and the API's
    /// root for a classic API token); Linear: `https://linear.app/<workspace>`
    /// (optional: Linear names each issue's web address itself)
    pub url: String,
    /// the API's root when it is not the site (a scoped token through
    /// `https://api.atlassian.com/ex/jira/<cloudId>`); "": `url` (Jira),
    /// `https://api.linear.app/graphql` (Linear)
    pub api_url: String,
    /// Jira: `basic` (the account's email and an API token, the default)
    /// or `bearer`; Linear: `key` (a personal API key, the default) or
    /// `bearer` (an OAuth access token)
    pub auth: String,
    /// the account's email (not a secret)
    pub email: String,
    pub token_env: String,
    /// Absolute once loaded; when set it wins over `token_env`.
    #[serde(deserialize_with = "de_path")]
    pub token_file: Option<PathBuf>,
    /// Jira `auth = "client_credentials"`: the variable holding the service
    /// account's OAuth 2.0 client id ("": `client_id_file`)
    pub client_id_env: String,
    /// Absolute once loaded; when set it wins over `client_id_env`.
    #[serde(deserialize_with = "de_path")]
    pub client_id_file: Option<PathBuf>,
    /// the variable holding its client secret ("": `client_secret_file`)
    pub client_secret_env: String,
    /// Absolute once loaded; when set it wins over `client_secret_env`.
    #[serde(deserialize_with = "de_path")]
    pub client_secret_file: Option<PathBuf>,
    /// where the client credentials are exchanged for an access token;
    /// "": Atlassian's, [`ATLASSIAN_TOKEN_URL`]
    pub token_url: String,
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
    /// the issue link type whose inward side means "is blocked by" (Jira;
    /// None: "Blocks")
    pub blocked_by_link: Option<String>,
    /// Linear: an active member of the team who is no guest and no
    /// app is trusted (None: true)
    pub trusted_team_members: Option<bool>,
    /// Linear: the state afk sets on success, by its name in the team; "":
    /// the team's `completed` state of lowest position
    pub done_state: String,
    /// a Jira project (+ component or label), or a Linear team (+ label),
    /// to an allowlisted repository
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
    #[serde(default)]
    pub project: String,
    /// the Linear team's key (`ENG`)
    #[serde(default)]
    pub team: String,
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
            auth: String::new(),
            email: String::new(),
            token_env: "AFK_TRACKER_TOKEN".into(),
            token_file: None,
            client_id_env: String::new(),
            client_id_file: None,
            client_secret_env: String::new(),
            client_secret_file: None,
            token_url: String::new(),
            timeout: Duration::from_secs(30),
            concurrency: 4,
            retries: 3,
            ready: "label".into(),
            ready_status: String::new(),
            trusted_groups: vec![],
            trusted_roles: vec![],
            trusted_accounts: vec![],
            done_transition: String::new(),
            blocked_by_link: None,
            trusted_team_members: None,
            done_state: String::new(),
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
    /// Whether a webhook secret is named (`hook_secret_file` or
    /// `hook_secret_env`): `afk hook` takes this tracker's deliveries.
    pub fn hook_secret_set(&self) -> bool {
        self.hook_secret_file.is_some() || !self.hook_secret_env.trim().is_empty()
    }

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
        if self.linear() {
            return Ok(());
        }
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

    /// Whether the tracker is Linear (else Jira).
    pub fn linear(&self) -> bool {
        self.kind == "linear"
    }

    /// `auth` as afk reads it: the kind's default when not written.
    pub fn auth(&self) -> &str {
        match (self.auth.as_str(), self.linear()) {
            ("", true) => "key",
            ("", false) => "basic",
            (a, _) => a,
        }
    }

    /// The hosts afk reaches the tracker at (the API's root and the site),
    /// lower case, without a port.
    pub fn hosts(&self) -> Vec<String> {
        let token_url = match self.auth() {
            "client_credentials" => self.token_url(),
            _ => "",
        };
        [self.api_root(), self.url.as_str(), token_url]
            .iter()
            .filter_map(|u| u.split_once("://").map(|(_, rest)| rest))
            .map(|rest| {
                let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
                match host.strip_prefix('[') {
                    Some(v6) => v6.split(']').next().unwrap_or("").to_ascii_lowercase(),
                    None => host.split(':').next().unwrap_or("").to_ascii_lowercase(),
                }
            })
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// Where the client credentials are exchanged: `token_url`, else
    /// Atlassian's.
    pub fn token_url(&self) -> &str {
        match self.token_url.is_empty() {
            true => ATLASSIAN_TOKEN_URL,
            false => &self.token_url,
        }
    }

    /// The API's root: `api_url`, else the site (Jira) or Linear's one
    /// endpoint.
    pub fn api_root(&self) -> &str {
        match (self.api_url.is_empty(), self.linear()) {
            (false, _) => &self.api_url,
            (true, true) => LINEAR_API,
            (true, false) => &self.url,
        }
    }

    /// What this release takes: `kind`, `auth`, `ready`, and no key of the
    /// other kind.
    fn taken(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        match self.kind.as_str() {
            "jira" | "linear" => {}
            "" => {
                return Err(c.err(
                    t,
                    "kind",
                    "is required in [tracker]: \"jira\" or \"linear\"",
                ));
            }
            other => {
                return Err(c.err(
                    t,
                    "kind",
                    format!("\"{other}\": must be \"jira\" or \"linear\""),
                ));
            }
        }
        self.other_kinds_keys(c)?;
        match (self.linear(), self.auth()) {
            (false, "basic" | "bearer" | "client_credentials") | (true, "key" | "bearer") => {}
            (false, a) => {
                return Err(c.err(
                    t,
                    "auth",
                    format!(
                        "\"{a}\": must be \"basic\" (the account's email and an API token), \"bearer\" (an OAuth 2.0 access token) or \"client_credentials\" (a service account's OAuth 2.0 credential)"
                    ),
                ));
            }
            (true, a) => {
                return Err(c.err(
                    t,
                    "auth",
                    format!(
                        "\"{a}\": must be \"key\" (a personal API key) or \"bearer\" (an OAuth access token)"
                    ),
                ));
            }
        }
        self.ready_checked(c)
    }

    /// The keys only the other kind reads, each a load error naming it.
    fn other_kinds_keys(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        let written: Vec<(&str, bool)> = match self.linear() {
            true => vec![
                ("email", !self.email.is_empty()),
                ("client_id_env", !self.client_id_env.is_empty()),
                ("client_id_file", self.client_id_file.is_some()),
                ("client_secret_env", !self.client_secret_env.is_empty()),
                ("client_secret_file", self.client_secret_file.is_some()),
                ("token_url", !self.token_url.is_empty()),
                ("trusted_groups", !self.trusted_groups.is_empty()),
                ("trusted_roles", !self.trusted_roles.is_empty()),
                ("done_transition", !self.done_transition.is_empty()),
                ("blocked_by_link", self.blocked_by_link.is_some()),
            ],
            false => vec![
                ("trusted_team_members", self.trusted_team_members.is_some()),
                ("done_state", !self.done_state.is_empty()),
            ],
        };
        let (kind, other) = match self.linear() {
            true => ("linear", "jira"),
            false => ("jira", "linear"),
        };
        match written.into_iter().find(|(_, w)| *w) {
            Some((key, _)) => Err(c.err(
                t,
                key,
                format!("is read only with kind = \"{other}\", not \"{kind}\": leave it out"),
            )),
            None => Ok(()),
        }
    }

    /// `ready` and `ready_status`, as the kind takes them.
    fn ready_checked(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        match (self.ready.as_str(), self.ready_status.trim().is_empty()) {
            ("label", true) | ("status", false) => Ok(()),
            ("label", false) => Err(c.err(
                t,
                "ready_status",
                "is read only with ready = \"status\": set that, or leave ready_status out",
            )),
            ("status", true) => Err(c.err(
                t,
                "ready_status",
                match self.linear() {
                    true => "is required with ready = \"status\": the workflow state that arms an issue, by its name in the team",
                    false => "is required with ready = \"status\": the status that arms an issue, by its id or its name",
                },
            )),
            // a delegation to afk's app user (Linear's Agents API): only an
            // OAuth app's user can be delegated to, and afk hears its
            // sessions only through the webhook
            ("delegate", true) if self.linear() && self.auth() != "bearer" => Err(c.err(
                t,
                "auth",
                "must be \"bearer\" with ready = \"delegate\": a personal API key acts as a person, whom no one can delegate to; give afk an actor=app OAuth app's token (docs/trackers.md#linears-agents-api)",
            )),
            ("delegate", true)
                if self.linear()
                    && self.hook_secret_env.trim().is_empty()
                    && self.hook_secret_file.is_none() =>
            {
                Err(c.err(
                    t,
                    "hook_secret_env",
                    "is required with ready = \"delegate\" (or hook_secret_file): afk hears a delegation's agent session only through Linear's webhook, so without it nothing is ever armed (docs/trackers.md#linears-agents-api)",
                ))
            }
            ("delegate", true) if self.linear() => Ok(()),
            ("delegate", false) if self.linear() => Err(c.err(
                t,
                "ready_status",
                "is read only with ready = \"status\": with \"delegate\" a delegation to afk's app user arms an issue; leave ready_status out",
            )),
            (other, _) => Err(c.err(
                t,
                "ready",
                format!(
                    "\"{other}\": must be \"label\" ([poll] ready_label on the issue) or \"status\" (the issue in ready_status){}",
                    match self.linear() {
                        true => ", or \"delegate\" (the issue delegated to afk's app user)",
                        false => "",
                    }
                ),
            )),
        }
    }

    /// Where and how afk reaches the tracker, and its bounds.
    fn connection(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        if self.url.is_empty() && !self.linear() {
            return Err(c.err(
                t,
                "url",
                "is required: the Jira site, https://<site>.atlassian.net",
            ));
        }
        let urls = [
            ("url", &self.url),
            ("api_url", &self.api_url),
            ("token_url", &self.token_url),
        ];
        for (key, url) in urls {
            if !url.is_empty() && !https_or_loopback(url) {
                return Err(c.err(t, key, "must be https:// (http only on loopback)"));
            }
        }
        match self.auth() {
            _ if self.linear() => {}
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
            "bearer" | "client_credentials" if self.api_url.is_empty() => {
                return Err(c.err(
                    t,
                    "api_url",
                    format!(
                        "is required with auth = \"{}\": an OAuth 2.0 token works only through the gateway, https://api.atlassian.com/ex/jira/<cloudId>",
                        self.auth()
                    ),
                ));
            }
            _ => {}
        }
        self.client_credentials_checked(c)?;
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
        if self
            .blocked_by_link
            .as_ref()
            .is_some_and(|l| l.trim().is_empty())
        {
            return Err(c.err(
                t,
                "blocked_by_link",
                "must name an issue link type (Jira's: \"Blocks\")",
            ));
        }
        Ok(())
    }

    /// `auth = "client_credentials"` names where the client id and secret
    /// come from, and no token or email; any other auth none of its keys.
    fn client_credentials_checked(&self, c: &Checker) -> Result<()> {
        let t = "tracker";
        let own = [
            ("client_id_env", !self.client_id_env.is_empty()),
            ("client_id_file", self.client_id_file.is_some()),
            ("client_secret_env", !self.client_secret_env.is_empty()),
            ("client_secret_file", self.client_secret_file.is_some()),
            ("token_url", !self.token_url.is_empty()),
        ];
        if self.auth() != "client_credentials" {
            return match own.iter().find(|(_, w)| *w) {
                Some((key, _)) => Err(c.err(
                    t,
                    key,
                    "is read only with auth = \"client_credentials\": leave it out",
                )),
                None => Ok(()),
            };
        }
        if !self.email.trim().is_empty() {
            return Err(c.err(
                t,
                "email",
                "is read only with auth = \"basic\": a service account's token names its account itself; leave email out",
            ));
        }
        if self.token_file.is_some() || self.token_env != Tracker::default().token_env {
            let key = match self.token_file.is_some() {
                true => "token_file",
                false => "token_env",
            };
            return Err(c.err(
                t,
                key,
                "is not read with auth = \"client_credentials\": afk gets its access token from client_id_env and client_secret_env (or their _file)",
            ));
        }
        for (part, env, file) in [
            ("client_id", &self.client_id_env, &self.client_id_file),
            (
                "client_secret",
                &self.client_secret_env,
                &self.client_secret_file,
            ),
        ] {
            if env.is_empty() && file.is_none() {
                return Err(c.err(
                    t,
                    &format!("{part}_env"),
                    format!(
                        "is required with auth = \"client_credentials\": the variable holding the service account's {} (or {part}_file)",
                        part.replace('_', " ")
                    ),
                ));
            }
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
            self.map_names(c, &key, e)?;
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
                if what == "component" && v.is_some() && self.linear() {
                    return Err(c.err(t, &key, "component is read only with kind = \"jira\": a Linear team is narrowed by label"));
                }
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
                if !self.linear() && l.contains(char::is_whitespace) {
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

impl Tracker {
    /// A map entry's project (Jira) or team (Linear), and none of the other.
    fn map_names(&self, c: &Checker, key: &str, e: &MapEntry) -> Result<()> {
        let t = "tracker";
        let name_like = |s: &str| !s.trim().is_empty() && !s.contains(char::is_whitespace);
        match self.linear() {
            true if !e.project.is_empty() && e.project.trim().is_empty() => Err(c.err(
                t,
                key,
                "project is empty: leave it out to match every issue of the team",
            )),
            true if !name_like(&e.team) => {
                Err(c.err(t, key, "team must be a Linear team's key (ENG)"))
            }
            false if !e.team.is_empty() => Err(c.err(
                t,
                key,
                "team is read only with kind = \"linear\": a Jira map names a project",
            )),
            false if !name_like(&e.project) => {
                Err(c.err(t, key, "project must be a Jira project key (PLAT)"))
            }
            _ => Ok(()),
        }
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
        if t.auth() == "client_credentials" {
            // no token of the operator's: afk exchanges the client
            // credentials for one ([`Config::tracker_client_credentials`])
            return Ok(None);
        }
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
                        "set the environment variable {} to the {} API token",
                        t.token_env,
                        if t.linear() { "Linear" } else { "Jira" }
                    )
                )),
            },
        };
        // `bearer` and Linear's `key`: the token as it is; `basic`:
        // base64(email:token)
        if t.auth() != "basic" {
            let wire = Secret::new(token.expose());
            return Ok(Some((token, wire)));
        }
        use base64::Engine;
        let pair = format!("{}:{}", t.email.trim(), token.expose());
        let basic = base64::engine::general_purpose::STANDARD.encode(pair);
        let wire = Secret::new(&basic);
        Ok(Some((token, wire)))
    }

    /// A Jira service account's client id and secret (`auth =
    /// "client_credentials"`), each from its file, else its variable,
    /// registered as they are read; Ok(None) with any other auth.
    pub fn tracker_client_credentials(&self) -> Result<Option<(Secret, Secret)>> {
        let Some(t) = self
            .tracker
            .as_ref()
            .filter(|t| t.auth() == "client_credentials")
        else {
            return Ok(None);
        };
        let read = |part: &str, env: &str, file: &Option<PathBuf>| -> Result<Secret> {
            match file {
                Some(p) => Ok(Secret::new(
                    read_secret_file(p, &format!("tracker.{part}_file"))?.trim(),
                )),
                None => match super::secrets::env_secret(env) {
                    Some(v) => Ok(Secret::new(v.expose().trim())),
                    None => bail!(cfg_hint(
                        format!(
                            "config: the Jira service account's {} is missing: the environment variable {env} (tracker.{part}_env) is unset or empty",
                            part.replace('_', " ")
                        ),
                        format!(
                            "set the environment variable {env} to the OAuth 2.0 credential's {}",
                            part.replace('_', " ")
                        )
                    )),
                },
            }
        };
        let id = read("client_id", &t.client_id_env, &t.client_id_file)?;
        let secret = read("client_secret", &t.client_secret_env, &t.client_secret_file)?;
        Ok(Some((id, secret)))
    }

    /// The secret the tracker's webhook signs with (`[tracker] hook_secret_file`,
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

    /// The tracker's API root ("" without a tracker): what its issue
    /// numbers are kept under.
    pub fn tracker_api_root(&self) -> String {
        self.tracker
            .as_ref()
            .map_or_else(String::new, |t| t.api_root().to_string())
    }

    /// Where the token comes from, for a 401's words.
    pub fn tracker_token_source(&self) -> String {
        match &self.tracker {
            Some(t) if t.auth() == "client_credentials" => match &t.client_id_file {
                Some(p) => format!("tracker.client_id_file {}", p.display()),
                None => format!("{} (tracker.client_id_env)", t.client_id_env),
            },
            // the kind of token `auth` says it is: a refused one is often
            // a personal key sent as an OAuth token, or the other way
            Some(t) => match &t.token_file {
                Some(p) => format!(
                    "tracker.token_file {} (sent as tracker.auth = \"{}\")",
                    p.display(),
                    t.auth()
                ),
                None => format!("{} (sent as tracker.auth = \"{}\")", t.token_env, t.auth()),
            },
            None => String::new(),
        }
    }
}
