//! What the config says about secrets: the files that hold them, the
//! variables that name them, and the URLs that must not carry them.

use anyhow::{Result, bail};
use std::path::Path;

use crate::redact::Secret;

use super::check::Checker;
use super::{Config, NotifyUrls, cfg_err, cfg_hint};

/// The largest secret file afk reads (a GitHub App's private key is about
/// 2 KiB).
const SECRET_FILE_MAX: u64 = 64 << 10;

/// A secret from a file the config names under `key`. Like ssh with a key
/// file, a file that group or others may read is refused: the secret may
/// already have leaked, and the fix (`chmod 600`) is the operator's. An
/// empty (or blank) file is refused too, naming the file, never its content.
pub fn read_secret_file(path: &Path, key: &str) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        cfg_err(format!(
            "config: {key} {}: cannot read: {e}",
            path.display()
        ))
    })?;
    if meta.is_dir() {
        bail!(cfg_err(format!(
            "config: {key} {} is a directory: give the path of the file that holds the secret",
            path.display()
        )));
    }
    if !meta.is_file() {
        // a FIFO would hold the command, a device never end
        bail!(cfg_err(format!(
            "config: {key} {} is not a regular file: give the path of the file that holds the secret",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(cfg_err(format!(
            "config: {key} {} is readable by group or others (mode {mode:03o}): run chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    // a regular file, read with a bound (a FIFO would hold the command, a
    // device never end); a secret is a line, never near the bound
    let bytes =
        afk_host::private_files::read_operator_file(path, SECRET_FILE_MAX).map_err(|e| {
            cfg_err(format!(
                "config: {key} {}: cannot read: {}",
                path.display(),
                afk_host::os_words(&e)
            ))
        })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        cfg_err(format!(
            "config: {key} {}: cannot read: it is not UTF-8 text",
            path.display()
        ))
    })?;
    // an empty file would be sent as no secret, refused much later as a 401
    if text.trim().is_empty() {
        bail!(cfg_err(format!(
            "config: {key} {} is empty: write the secret into it (or point {key} at the file that has it)",
            path.display()
        )));
    }
    Ok(text)
}

/// Why a URL with user info is refused (`Config::validate_urls`).
const USER_INFO: &str = "the URL has user info (a name or password before an `@` in its host part); afk refuses it, as a secret there would be sent in clear text and shown wherever the URL is: give the URL without it (the token goes in its own setting)";

impl Config {
    /// Every URL the config holds, and each one a variable it names holds:
    /// no user info (`core::secrets::has_user_info`). The error names the key
    /// and never shows the URL (the user info may be a password).
    pub(super) fn validate_urls(&self, c: &Checker) -> Result<()> {
        let (f, r, u, n) = (&self.forge, &self.runner, &self.upgrade, &self.notify);
        let mut urls: Vec<(&str, String, &str)> = vec![
            ("forge", "url".into(), f.url.as_str()),
            ("forge", "api_url".into(), f.api_url.as_str()),
            ("forge", "vssps_url".into(), f.vssps_url.as_str()),
            ("runner", "url".into(), r.url.as_str()),
            (
                "runner.kubernetes",
                "api_url".into(),
                r.kubernetes.api_url.as_str(),
            ),
            ("upgrade", "upstream".into(), u.upstream.as_str()),
        ];
        for (host, url) in &u.registry_mirrors {
            urls.push(("upgrade.registry_mirrors", host.clone(), url.as_str()));
        }
        for (table, key, url) in urls {
            // a git upstream over ssh (`ssh://git@host/…`) names its user there
            let http = url.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("http"));
            if (http || table != "upgrade") && crate::core::secrets::has_user_info(url) {
                return Err(c.err(table, &key, USER_INFO));
            }
        }
        let h = &n.heartbeat;
        let named = [
            ("notify", "slack_webhook_env", &n.slack_webhook_env),
            ("notify", "webhook_env", &n.webhook_env),
            ("notify", "heartbeat_env", &n.heartbeat_env),
            ("notify.heartbeat", "poll", &h.poll),
            ("notify.heartbeat", "watch", &h.watch),
            ("notify.heartbeat", "harvest", &h.harvest),
            ("notify.heartbeat", "upgrade", &h.upgrade),
        ];
        for (table, key, var) in named {
            if !var.is_empty()
                && std::env::var(var).is_ok_and(|url| crate::core::secrets::has_user_info(&url))
            {
                return Err(c.err(table, key, format!("the URL in ${var}: {USER_INFO}")));
            }
        }
        Ok(())
    }

    /// Environment variables the config names as secrets; stripped from agents.
    pub fn secret_env_names(&self) -> Vec<String> {
        [
            &self.forge.token_env,
            &self.forge.entra_token_env,
            &self.runner.token_env,
            &self.notify.slack_webhook_env,
            &self.notify.webhook_env,
            &self.notify.heartbeat_env,
            &self.hook.secret_env,
            &self.upgrade.registry_auth_env,
        ]
        .into_iter()
        .chain(self.notify.heartbeat.all())
        // the tracker's token and webhook secret: never the agent's
        .chain(self.tracker.as_ref().map(|t| &t.token_env))
        .chain(self.tracker.as_ref().map(|t| &t.hook_secret_env))
        // a Jira service account's client credentials
        .chain(self.tracker.as_ref().map(|t| &t.client_id_env))
        .chain(self.tracker.as_ref().map(|t| &t.client_secret_env))
        // the collector's headers, only with telemetry on (off reads nothing of it)
        .chain(Some(&self.telemetry_keys.headers_env).filter(|_| self.telemetry_keys.enabled))
        .filter(|s| !s.is_empty())
        .cloned()
        .collect()
    }
}

/// The secret in the variable `name`, read now and registered as it is
/// read (a [`Secret`]): None when `name` is empty or the variable unset or
/// blank. The one reader of a key, a token or a secret from the
/// environment outside the config's own (`layers/env_reads.rs`): the
/// model's key in the keeper's process at each turn and in doctor's probe,
/// `runner.secret_env`'s values in the keeper's.
pub fn env_secret(name: &str) -> Option<Secret> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim()))
}

/// Whether the variable `name` holds a secret (set, and not blank), its
/// value neither kept nor registered: where only the presence of a key or
/// a token matters (doctor, the demo, whether the model gateway is on).
pub fn env_secret_set(name: &str) -> bool {
    !name.is_empty() && std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// The names of this process's variables whose value carries `key`
/// (`core::gateway::key_vars::holding_key`): what a boxed agent loses
/// besides the key's own variable. The values are compared here and kept
/// nowhere.
pub fn env_vars_holding(key: &Secret) -> Vec<String> {
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let vars = vars.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    crate::core::gateway::key_vars::holding_key(vars, key.expose())
}

/// The model's key in the file the variable `path_var` names, else in
/// `default`, registered as it is read: a Kubernetes pod's gateway
/// container, where the key is the Secret mounted there, never a variable
/// of the pod's (the kubelet sets the file's mode: no check of it here). A
/// file that cannot be read, or is blank, is an error naming the file.
pub fn model_key_file(path_var: &str, default: &str) -> Result<Secret> {
    let file = std::env::var(path_var).unwrap_or_else(|_| default.into());
    let key = afk_host::private_files::read_operator_file(Path::new(&file), SECRET_FILE_MAX)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| {
            anyhow::anyhow!(
                "the model's key ({file}) cannot be read: {}",
                afk_host::os_words(&e)
            )
        })?;
    if key.trim().is_empty() {
        bail!("the model's key ({file}) is empty");
    }
    Ok(Secret::new(key.trim()))
}

impl Config {
    /// The runner's token (`runner.token_env`), registered as it is read (a
    /// [`Secret`]: never printed). Ok(None): no variable is named; one named
    /// and unset or blank is a configuration error, as the forge token's is.
    pub fn runner_token(&self) -> Result<Option<Secret>> {
        let name = &self.runner.token_env;
        if name.is_empty() {
            return Ok(None);
        }
        match std::env::var(name) {
            Ok(t) if !t.trim().is_empty() => Ok(Some(Secret::new(t.trim()))),
            _ => bail!(cfg_hint(
                format!(
                    "config: the runner token is missing: the environment variable {name} (runner.token_env) is unset or empty"
                ),
                format!("set the environment variable {name}")
            )),
        }
    }
}

impl Config {
    /// The secrets the `*_env` keys name that afk sends somewhere (the
    /// webhook URLs, each tick kind's heartbeat URL, the registry's
    /// `user:token` and its token), read once at load and held as
    /// [`Secret`]s: registered as they are read, so nothing afk writes
    /// carries one, and their value is reached only where it is sent.
    pub(super) fn read_secrets(&mut self) {
        let n = &self.notify;
        let heartbeat = crate::types::TickKind::ALL
            .iter()
            .filter_map(|&kind| {
                let name =
                    crate::core::heartbeat::variable(&n.heartbeat_env, n.heartbeat.for_tick(kind))?;
                let base = env_secret(name)?;
                // each URL pinged (`{tick}` replaced, a suffix added) is one too
                use crate::core::heartbeat::{Ping, url};
                for ping in [Ping::Start, Ping::Success, Ping::Fail] {
                    Secret::new(url(base.expose(), kind, ping));
                }
                Some((kind, base))
            })
            .collect();
        self.notify.urls = NotifyUrls {
            slack_webhook: env_secret(&n.slack_webhook_env),
            webhook: env_secret(&n.webhook_env),
            heartbeat,
        };
        self.upgrade.registry_auth = env_secret(&self.upgrade.registry_auth_env);
        if let Some((_, token)) = self
            .upgrade
            .registry_auth
            .as_ref()
            .and_then(|a| a.expose().split_once(':'))
        {
            // the token alone is a secret too (what a registry's basic
            // challenge or an error may show of it)
            Secret::new(token);
        }
    }
}

impl Config {
    /// Every secret value this config names that afk can read now, each
    /// with where it comes from (docs/security.md: nothing afk writes
    /// carries one): the forge token, the values of the variables it names
    /// as secrets and of `runner.secret_env` and `runner.model.key_env`
    /// (else the named agent's key variable), the registry's `user:token`
    /// (and its token), the GitHub App key's lines, the Kubernetes token.
    /// Each is a [`Secret`], registered as it is read.
    pub fn secret_values(&self) -> Vec<(String, Secret)> {
        let mut v = vec![];
        if let Some(t) = self.forge_token_if_set() {
            v.push(("the forge token".to_string(), t));
        }
        if let Ok(Some(s)) = self.hook_secret() {
            v.push(("the webhook secret (hook)".to_string(), s));
        }
        // the collector's headers, read at load with telemetry on
        for (name, value) in self.telemetry.iter().flat_map(|t| &t.headers) {
            let from = self
                .telemetry
                .as_ref()
                .map_or("", |t| t.headers_from.as_str());
            v.push((
                format!("the collector's {name} header ({from})"),
                Secret::new(value.as_str()),
            ));
        }
        // those read at load (`read_secrets`), by the variable that held them
        let (n, u) = (&self.notify, &self.notify.urls);
        let mut held: Vec<(&str, &Secret)> = vec![];
        held.extend(
            u.slack_webhook
                .iter()
                .map(|s| (n.slack_webhook_env.as_str(), s)),
        );
        held.extend(u.webhook.iter().map(|s| (n.webhook_env.as_str(), s)));
        for (kind, s) in &u.heartbeat {
            let name =
                crate::core::heartbeat::variable(&n.heartbeat_env, n.heartbeat.for_tick(*kind));
            if let Some(name) = name.filter(|name| !held.iter().any(|(h, _)| h == name)) {
                held.push((name, s));
            }
        }
        if let Some(s) = &self.upgrade.registry_auth {
            let name = self.upgrade.registry_auth_env.as_str();
            if let Some((_, token)) = s.expose().split_once(':') {
                v.push((format!("${name}'s token"), Secret::new(token)));
            }
            held.push((name, s));
        }
        v.extend(
            held.into_iter()
                .map(|(name, s)| (format!("${name}"), s.clone())),
        );
        // the rest afk only strips from agents, read now
        // the model's key (runner.model.key_env, else the named agent's
        // default) is a secret whatever secret_env says
        let model_key = self.runner.model.key_env_for(self.runner.agent());
        for name in [&self.forge.token_env, &self.runner.token_env]
            .into_iter()
            .filter(|n| !n.is_empty())
            .chain(&self.runner.secret_env)
            .chain(model_key.as_ref())
        {
            if let Ok(val) = std::env::var(name)
                && !val.trim().is_empty()
            {
                v.push((format!("${name}"), Secret::new(val)));
            }
        }
        // the tracker's token and what goes on the wire with it
        if let Ok(Some((token, wire))) = self.tracker_token() {
            v.push(("the tracker's token".to_string(), token));
            v.push(("the tracker's credential".to_string(), wire));
        }
        if let Ok(Some((id, secret))) = self.tracker_client_credentials() {
            v.push(("the tracker's client id".to_string(), id));
            v.push(("the tracker's client secret".to_string(), secret));
        }
        if let Ok(Some(s)) = self.tracker_hook_secret() {
            v.push(("the tracker's webhook secret".to_string(), s));
        }
        let files = [
            self.forge.app_private_key_file.as_ref(),
            self.runner.kubernetes.token_file.as_ref(),
        ];
        for f in files.into_iter().flatten() {
            if let Ok(text) = afk_host::private_files::read_operator_file(f, SECRET_FILE_MAX)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
            {
                for line in text.lines().filter(|l| !l.starts_with("-----")) {
                    v.push((f.display().to_string(), Secret::new(line)));
                }
            }
        }
        v
    }
}

impl Config {
    /// Every secret the config names, read now (each registered, so kept out
    /// of everything afk writes): the forge's token or App key, the hook's
    /// secret, the notifiers' URLs, the registry's login, the model's key,
    /// `runner.secret_env`'s values. What the model gateway redacts from every
    /// body it sends upstream (docs/security.md), whatever a tick read itself.
    /// A file that cannot be read holds nothing to redact here (its own
    /// reader says why).
    /// Every file the config names that holds a secret, with its key: the
    /// forge's token or App key, the hook's secret, the Kubernetes token,
    /// the tracker's token, client credential and webhook secret.
    pub fn secret_files(&self) -> Vec<(&std::path::Path, &'static str)> {
        let t = self.tracker.as_ref();
        [
            (self.forge.token_file.as_deref(), "forge.token_file"),
            (
                self.forge.entra_token_file.as_deref(),
                "forge.entra_token_file",
            ),
            (
                self.forge.app_private_key_file.as_deref(),
                "forge.app_private_key_file",
            ),
            (self.hook.secret_file.as_deref(), "hook.secret_file"),
            (
                self.runner.kubernetes.token_file.as_deref(),
                "runner.kubernetes.token_file",
            ),
            (
                t.and_then(|t| t.token_file.as_deref()),
                "tracker.token_file",
            ),
            (
                t.and_then(|t| t.client_id_file.as_deref()),
                "tracker.client_id_file",
            ),
            (
                t.and_then(|t| t.client_secret_file.as_deref()),
                "tracker.client_secret_file",
            ),
            (
                t.and_then(|t| t.hook_secret_file.as_deref()),
                "tracker.hook_secret_file",
            ),
        ]
        .into_iter()
        .filter_map(|(p, key)| Some((p?, key)))
        .collect()
    }

    pub fn held_secrets(&self) -> Vec<Secret> {
        let mut names = self.secret_env_names();
        names.extend(self.runner.secret_env.iter().cloned());
        if let Some(k) = self.runner.model.key_env_for(self.runner.agent()) {
            names.push(k);
        }
        let from_files = self
            .secret_files()
            .into_iter()
            .filter_map(|(p, key)| read_secret_file(p, key).ok())
            .map(|v| Secret::new(v.trim()));
        names
            .iter()
            .filter_map(|n| env_secret(n))
            .chain(from_files)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn the_urls_and_the_registry_login_a_config_names_are_held_as_secrets() {
        let vars = [
            (
                "AFK_UNIT_HV1_SLACK",
                "https://hooks.example/services/sl-7d1e0b5a93",
            ),
            (
                "AFK_UNIT_HV1_WEBHOOK",
                "https://events.example/wh-2c8f41d6e0",
            ),
            (
                "AFK_UNIT_HV1_HB",
                "https://hc.example/ping/hb-9b3e57a1c4/{tick}",
            ),
            ("AFK_UNIT_HV1_REG", "robot:rg-5a0c9e3f71"),
        ];
        for (k, v) in vars {
            // SAFETY: names of this test's own, read by no other thread
            unsafe { std::env::set_var(k, v) };
        }
        let c = parse(
            "[notify]\nslack_webhook_env = \"AFK_UNIT_HV1_SLACK\"\nwebhook_env = \"AFK_UNIT_HV1_WEBHOOK\"\n\
             heartbeat_env = \"AFK_UNIT_HV1_HB\"\n\
             [upgrade]\nregistry_auth_env = \"AFK_UNIT_HV1_REG\"\nregistry_auth_host = \"registry.example.org\"\n",
        )
        .unwrap();
        let u = &c.notify.urls;
        let held = [
            u.slack_webhook.as_ref(),
            u.webhook.as_ref(),
            u.heartbeat(crate::types::TickKind::Watch),
            c.upgrade.registry_auth.as_ref(),
        ];
        for ((_, value), secret) in vars.iter().zip(held) {
            let secret = secret.unwrap_or_else(|| panic!("{value} is not held"));
            assert_eq!(secret.expose(), *value);
        }
        // the config as Debug shows (a log line, an error) holds none of them
        let shown = format!("{c:?}");
        for marker in [
            "sl-7d1e0b5a93",
            "wh-2c8f41d6e0",
            "hb-9b3e57a1c4",
            "rg-5a0c9e3f71",
        ] {
            assert!(!shown.contains(marker), "{marker} in {shown}");
        }
        // nor does any text afk writes: the heartbeat URL a tick pings,
        // `{tick}` replaced, and the registry's token alone included
        let said = "pinged https://hc.example/ping/hb-9b3e57a1c4/watch/start; token rg-5a0c9e3f71";
        assert_eq!(
            crate::redact::text(said),
            "pinged [redacted]; token [redacted]"
        );
    }

    /// The readers the rest of afk reads a key or a token through
    /// (`layers/env_reads.rs`): each value a `Secret` from its read, so
    /// redacted from then on; runner.token_env named and unset is a
    /// configuration error with its hint, a blank key file an error naming
    /// the file.
    #[test]
    fn the_readers_outside_the_config_use_make_each_value_a_secret_as_they_read_it() {
        let mut c = parse("").unwrap();
        assert!(c.runner_token().unwrap().is_none(), "no variable named");
        c.runner.token_env = "AFK_UNIT_RT1_TOKEN".into();
        let e = c.runner_token().unwrap_err();
        assert!(
            crate::hint::unhinted(&e).is::<crate::config::ConfigError>(),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "config: the runner token is missing: the environment variable AFK_UNIT_RT1_TOKEN (runner.token_env) is unset or empty"
        );
        assert_eq!(
            crate::hint::hints_of(&e),
            ["set the environment variable AFK_UNIT_RT1_TOKEN"]
        );
        assert!(!super::env_secret_set("AFK_UNIT_RT1_TOKEN"));
        // SAFETY: names of this test's own, read by no other thread
        unsafe {
            std::env::set_var("AFK_UNIT_RT1_TOKEN", " rt-4c1f9a7e25\n");
            std::env::set_var("AFK_UNIT_RT1_COPY", "Bearer rt-4c1f9a7e25");
            std::env::set_var("AFK_UNIT_RT1_BLANK", "  ");
        }
        let token = c.runner_token().unwrap().expect("the token");
        assert_eq!(token.expose(), "rt-4c1f9a7e25");
        assert_eq!(crate::redact::text("sent rt-4c1f9a7e25"), "sent [redacted]");
        assert!(super::env_secret_set("AFK_UNIT_RT1_TOKEN"));
        assert!(!super::env_secret_set("AFK_UNIT_RT1_BLANK"));
        assert!(!super::env_secret_set(""));
        assert!(super::env_secret("AFK_UNIT_RT1_BLANK").is_none());
        let mut holding = super::env_vars_holding(&token);
        holding.retain(|n| n.starts_with("AFK_UNIT_RT1_"));
        holding.sort();
        assert_eq!(holding, ["AFK_UNIT_RT1_COPY", "AFK_UNIT_RT1_TOKEN"]);

        // a pod gateway's key, from the file its variable names
        let dir = std::env::temp_dir().join(format!("afk-unit-mk1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        let shown = file.display().to_string();
        std::fs::write(&file, "  \n").unwrap();
        // SAFETY: as above
        unsafe { std::env::set_var("AFK_UNIT_MK1_FILE", &file) };
        let none = "/nonexistent/afk-unit-mk1-key";
        let e = super::model_key_file("AFK_UNIT_MK1_FILE", none).unwrap_err();
        assert_eq!(e.to_string(), format!("the model's key ({shown}) is empty"));
        std::fs::write(&file, "sk-mk-8e2d4b6a10\n").unwrap();
        let key = super::model_key_file("AFK_UNIT_MK1_FILE", none).unwrap();
        assert_eq!(key.expose(), "sk-mk-8e2d4b6a10");
        assert_eq!(
            crate::redact::text("key sk-mk-8e2d4b6a10"),
            "key [redacted]"
        );
        // the variable unset: the default file
        let e = super::model_key_file("AFK_UNIT_MK1_UNSET", none).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the model's key ({none}) cannot be read: No such file or directory")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn heartbeat_env_is_a_secret() {
        let c = parse("[notify]\nheartbeat_env = \"AFK_HEARTBEAT\"\n").unwrap();
        assert!(c.secret_env_names().contains(&"AFK_HEARTBEAT".to_string()));
    }

    /// The rule "every file a config names that holds a secret is one the
    /// box keeps out and the gateway redacts": the tracker's token, client
    /// credential and webhook secret beside the forge's and the hook's.
    #[test]
    fn every_secret_file_a_config_names_is_listed_the_trackers_too() {
        let c = parse(
            "[poll]\nallowlist = [\"acme/api\"]\n\
             [hook]\nsecret_file = \"/etc/afk/hook\"\n\
             [tracker]\nkind = \"jira\"\nurl = \"https://acme.atlassian.net\"\n\
             api_url = \"https://api.atlassian.com/ex/jira/c1\"\nauth = \"client_credentials\"\n\
             client_id_file = \"/etc/afk/jira-id\"\nclient_secret_file = \"/etc/afk/jira-secret\"\n\
             hook_secret_file = \"/etc/afk/jira-hook\"\n\
             [[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
        )
        .unwrap();
        let listed: Vec<(String, &str)> = (c.secret_files().into_iter())
            .map(|(p, k)| (p.display().to_string(), k))
            .collect();
        for (path, key) in [
            ("/etc/afk/hook", "hook.secret_file"),
            ("/etc/afk/jira-id", "tracker.client_id_file"),
            ("/etc/afk/jira-secret", "tracker.client_secret_file"),
            ("/etc/afk/jira-hook", "tracker.hook_secret_file"),
        ] {
            assert!(
                listed.contains(&(path.to_string(), key)),
                "{key}: {listed:?}"
            );
        }
    }
}
