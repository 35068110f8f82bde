//! `[forge]`: which forge, where, and how afk authenticates to it.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

use super::check::Checker;
use super::secrets::read_secret_file;
use super::values::{MINUTE, de_duration, de_path, is_http_url};
use super::{Config, cfg_err, cfg_hint};
use crate::redact::Secret;

/// `forge.kind` (what differs between the kinds: `crate::forge::profile`).
pub use crate::forge::ForgeKind;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Forge {
    pub kind: ForgeKind,
    pub url: String,
    pub api_url: String,
    pub token_env: String,
    /// Absolute once loaded; when set it wins over `token_env`.
    #[serde(deserialize_with = "de_path")]
    pub token_file: Option<PathBuf>,
    /// Per request; 1s..=10m.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    pub concurrency: usize,
    pub retries: u32,
    /// GitHub only: authenticate as this GitHub App's installation (0: off).
    pub app_id: u64,
    pub app_installation_id: u64,
    /// The app's PEM private key; absolute once loaded. Read once per tick.
    #[serde(deserialize_with = "de_path")]
    pub app_private_key_file: Option<PathBuf>,
    /// Azure DevOps: where identities are read; "": the organization's
    /// identity service (`Config::vssps_url`).
    pub vssps_url: String,
    /// Azure DevOps: a Microsoft Entra access token instead of a PAT, re-read
    /// every tick (absolute once loaded), or the variable holding it.
    #[serde(deserialize_with = "de_path")]
    pub entra_token_file: Option<PathBuf>,
    pub entra_token_env: String,
    /// `[forge.azure_devops]` (only with `kind = "azure-devops"`).
    pub azure_devops: Option<super::azure::AzureDevops>,
}
impl Default for Forge {
    fn default() -> Self {
        Forge {
            kind: ForgeKind::Gitea,
            url: String::new(),
            api_url: String::new(),
            token_env: "AFK_FORGE_TOKEN".into(),
            token_file: None,
            timeout: Duration::from_secs(30),
            concurrency: 8,
            retries: 3,
            app_id: 0,
            app_installation_id: 0,
            app_private_key_file: None,
            vssps_url: String::new(),
            entra_token_file: None,
            entra_token_env: String::new(),
            azure_devops: None,
        }
    }
}

impl Forge {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        let f = self;
        c.duration("forge", "timeout", f.timeout, secs(1), secs(10 * MINUTE))?;
        c.number(
            "forge",
            "concurrency",
            f.concurrency,
            |v| (1..=64).contains(&v),
            "between 1 and 64",
        )?;
        c.number(
            "forge",
            "retries",
            f.retries,
            |v| v <= 10,
            "between 0 and 10",
        )?;

        for (key, url) in [
            ("url", &f.url),
            ("api_url", &f.api_url),
            ("vssps_url", &f.vssps_url),
        ] {
            if !url.is_empty() && !is_http_url(url) {
                let example = format!("https://{}", url.trim_start_matches("//"));
                return Err(c.err(
                    "forge",
                    key,
                    format!("\"{url}\" is not an http(s) URL (e.g. \"{example}\")"),
                ));
            }
        }
        Ok(())
    }

    /// GitHub App keys (docs/github.md#as-a-github-app): `app_id` only on
    /// GitHub, never beside a token, and never without its installation and
    /// private key.
    pub(super) fn validate_app(&self, c: &Checker, table: &toml::Table) -> Result<()> {
        let f = self;
        let given = |k: &str| {
            table
                .get("forge")
                .and_then(|t| t.get(k))
                .is_some_and(|v| v.as_str() != Some(""))
        };
        if f.app_id == 0 {
            for k in ["app_installation_id", "app_private_key_file"] {
                if given(k) && (k != "app_installation_id" || f.app_installation_id != 0) {
                    return Err(c.err("forge", k, "needs forge.app_id (the GitHub App's id)"));
                }
            }
            return Ok(());
        }
        if !crate::forge::profile::of(f.kind).app_auth() {
            return Err(c.err(
                "forge",
                "app_id",
                format!(
                    "app authentication needs {}",
                    crate::forge::profile::app_kinds()
                ),
            ));
        }
        for k in ["token_env", "token_file"] {
            if given(k) {
                return Err(crate::hint::hinted(
                    c.err(
                        "forge",
                        k,
                        "cannot be set with forge.app_id: afk authenticates as the app's installation",
                    ),
                    "remove one",
                ));
            }
        }
        if f.app_installation_id == 0 {
            return Err(c.err(
                "forge",
                "app_id",
                "needs forge.app_installation_id (the installation's id, from the app's installation URL)",
            ));
        }
        if f.app_private_key_file.is_none() {
            return Err(c.err(
                "forge",
                "app_id",
                "needs forge.app_private_key_file (the app's PEM private key, mode 600)",
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Whether afk authenticates as a GitHub App installation.
    pub fn github_app(&self) -> bool {
        self.forge.app_id != 0
    }

    pub fn forge_timeout(&self) -> Duration {
        self.forge.timeout
    }

    /// What `forge.kind` is (`crate::forge::profile`): the one place that
    /// says what differs between the kinds.
    pub fn profile(&self) -> &'static crate::forge::Profile {
        crate::forge::profile::of(self.forge.kind)
    }

    /// The API root: `api_url`, else the kind's (`{url}/api/v1` for
    /// gitea/forgejo, api.github.com).
    pub fn api_root(&self) -> Result<String> {
        if !self.forge.api_url.is_empty() {
            return Ok(self.forge.api_url.trim_end_matches('/').to_string());
        }
        match self.profile().api_root_for(&self.forge.url) {
            Some(root) => Ok(root),
            None => bail!(cfg_err("config: forge.url is required")),
        }
    }

    /// Where git fetches and pushes `repo` (`owner/name`) on the forge:
    /// the profile's `git_url` of `forge.url`; None when `forge.url` is empty.
    pub fn git_url(&self, repo: &str) -> Option<String> {
        let url = &self.forge.url;
        (!url.trim_end_matches('/').is_empty()).then(|| self.profile().git_url(url, repo))
    }

    /// The key a connect error names: `forge.api_url` when set, else what
    /// the kind builds the API root from.
    pub fn api_root_key(&self) -> &'static str {
        if self.forge.api_url.is_empty() {
            self.profile().root_key
        } else {
            "forge.api_url"
        }
    }

    /// The forge token, from `token_file` or `token_env`, registered as it
    /// is read (a [`Secret`]: never printed).
    /// The forge token `forge.token_env` holds, if it holds one.
    fn token_in_env(&self) -> Option<Secret> {
        std::env::var(&self.forge.token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Secret::new(t.trim()))
    }

    /// The forge token as the redactor registers it: read, or `None`
    /// without the words of why not (a disabled tick builds no error).
    pub(crate) fn forge_token_if_set(&self) -> Option<Secret> {
        match &self.forge.token_file {
            Some(_) => self.forge_token().ok(),
            None if self.forge.token_env.is_empty() => None,
            None => self.token_in_env(),
        }
    }

    /// How git gets afk's credential, without reading it: as a header where
    /// the forge's profile says so, `Basic` for a PAT or `Bearer` for an
    /// Entra token (`entra_token_file` or `entra_token_env` set); else
    /// afk's login and the token through askpass. Also what the Kubernetes
    /// runner's git containers are told.
    pub fn git_auth(&self) -> crate::core::kube::workspace::GitAuth {
        use crate::core::kube::workspace::GitAuth;
        let entra = self.forge.entra_token_file.is_some() || !self.forge.entra_token_env.is_empty();
        match (self.profile().git_header, entra) {
            (false, _) => GitAuth::Login,
            (true, false) => GitAuth::Basic,
            (true, true) => GitAuth::Bearer,
        }
    }

    /// Azure DevOps' Entra access token (`entra_token_file`, else
    /// `entra_token_env`), re-read every tick; None: a PAT is configured. A
    /// token that expired, or expires before the tick's deadline, is an
    /// error naming the key, before any request.
    pub fn entra_token(&self) -> Result<Option<Secret>> {
        if let Some(p) = &self.forge.entra_token_file {
            let t = read_secret_file(p, "forge.entra_token_file")?;
            let t = Secret::new(t.trim());
            self.entra_in_time(&t, "forge.entra_token_file")?;
            return Ok(Some(t));
        }
        let name = &self.forge.entra_token_env;
        if name.is_empty() {
            return Ok(None);
        }
        match std::env::var(name).ok().filter(|t| !t.trim().is_empty()) {
            Some(t) => {
                let t = Secret::new(t.trim());
                self.entra_in_time(&t, "forge.entra_token_env")?;
                Ok(Some(t))
            }
            None => bail!(cfg_hint(
                format!(
                    "config: the Entra token is missing: the environment variable {name} (forge.entra_token_env) is unset or empty"
                ),
                format!("set the environment variable {name}")
            )),
        }
    }

    /// An Entra token usable for the whole tick: its `exp` (read, not
    /// verified) after the tick's deadline.
    fn entra_in_time(&self, token: &Secret, key: &str) -> Result<()> {
        let exp = crate::core::entra::expiry(token.expose()).map_err(|why| {
            anyhow::anyhow!("config: the Entra token ({key}) cannot be read: {why}")
        })?;
        let (now, deadline) = (
            crate::clock::now().unix_timestamp(),
            i64::try_from(self.tick_timeout.as_secs()).unwrap_or(i64::MAX),
        );
        match crate::core::entra::refusal(exp, now, deadline) {
            None => Ok(()),
            Some(why) => bail!(cfg_hint(
                format!("config: the Entra token ({key}) cannot be used: {why}"),
                "renew it (afk never obtains or refreshes an Entra token)"
            )),
        }
    }

    /// The Entra token's expiry (Unix seconds), for doctor; None without one.
    pub fn entra_expiry(&self) -> Option<i64> {
        let t = self.entra_token().ok()??;
        crate::core::entra::expiry(t.expose()).ok()
    }

    pub fn forge_token(&self) -> Result<Secret> {
        if let Some(t) = self.entra_token()? {
            return Ok(t);
        }
        if let Some(p) = &self.forge.token_file {
            return Ok(Secret::new(read_secret_file(p, "forge.token_file")?.trim()));
        }
        if self.forge.token_env.is_empty() {
            bail!(cfg_hint(
                "config: no forge token: neither forge.token_env nor forge.token_file is set",
                "set forge.token_env or forge.token_file"
            ));
        }
        match self.token_in_env() {
            Some(t) => Ok(t),
            None => bail!(cfg_hint(
                format!(
                    "config: the forge token is missing: the environment variable {} (forge.token_env) is unset or empty",
                    self.forge.token_env
                ),
                format!("set the environment variable {}", self.forge.token_env)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn github_app_keys_stand_alone_on_github_and_come_together() {
        let app = "app_id = 1\napp_installation_id = 2\napp_private_key_file = \"k.pem\"\n";
        // (the [forge] table, the error's words; "" when it loads)
        let cases = [
            (format!("kind = \"github\"\n{app}"), ""),
            (
                format!("kind = \"github\"\n{app}token_env = \"X\"\n"),
                "forge.token_env",
            ),
            (
                format!("kind = \"github\"\n{app}token_file = \"t\"\n"),
                "forge.token_file",
            ),
            (
                format!("kind = \"gitea\"\n{app}"),
                "needs forge.kind = \"github\"",
            ),
            (
                "kind = \"github\"\napp_id = 1\n".into(),
                "needs forge.app_installation_id",
            ),
            (
                "kind = \"github\"\napp_id = 1\napp_installation_id = 2\n".into(),
                "needs forge.app_private_key_file",
            ),
            (
                "kind = \"github\"\napp_private_key_file = \"k.pem\"\n".into(),
                "needs forge.app_id",
            ),
            ("kind = \"github\"\ntoken_env = \"X\"\n".into(), ""),
        ];
        for (forge, want) in cases {
            let r = parse(&format!("[forge]\n{forge}"));
            match (r, want) {
                (Ok(c), "") => assert!(c.forge.app_id == 0 || c.github_app(), "{forge}"),
                (Ok(_), w) => panic!("{forge}: loaded, wanted {w}"),
                (Err(e), "") => panic!("{forge}: {e}"),
                (Err(e), w) => assert!(e.to_string().contains(w), "{forge}: {e}"),
            }
        }
    }
}
