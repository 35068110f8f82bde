//! `[hook]`: `afk hook`'s secret and bounds (docs/hook.md#configuration).

use anyhow::Result;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

use super::check::Checker;
use super::secrets::read_secret_file;
use super::values::{MINUTE, de_duration, de_path};
use super::{Config, cfg_hint};
use crate::redact::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hook {
    /// The variable holding the webhook secret; "": none.
    pub secret_env: String,
    /// Absolute once loaded; when set it wins over `secret_env`.
    #[serde(deserialize_with = "de_path")]
    pub secret_file: Option<PathBuf>,
    /// How long an event's tick waits for a tick of its kind holding the lock
    /// (and `afk watch` for an event's watch tick holding it).
    #[serde(deserialize_with = "de_duration")]
    pub wait_lock: Duration,
    /// The largest body, in bytes; a larger one is 413.
    #[serde(deserialize_with = "de_size")]
    pub max_body: u64,
    /// The whole request (head and body) within this, else 408.
    #[serde(deserialize_with = "de_duration")]
    pub read_timeout: Duration,
}

impl Default for Hook {
    fn default() -> Self {
        Hook {
            secret_env: String::new(),
            secret_file: None,
            wait_lock: Duration::from_secs(20),
            max_body: 5 << 20,
            read_timeout: Duration::from_secs(10),
        }
    }
}

fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    crate::core::hook::parse_size(&s).map_err(serde::de::Error::custom)
}

impl Hook {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        c.duration(
            "hook",
            "wait_lock",
            self.wait_lock,
            secs(0),
            secs(10 * MINUTE),
        )?;
        c.duration(
            "hook",
            "read_timeout",
            self.read_timeout,
            secs(1),
            secs(10 * MINUTE),
        )?;
        if !(1024..=(1 << 30)).contains(&self.max_body) {
            return Err(c.err("hook", "max_body", "must be from 1KiB to 1GiB"));
        }
        Ok(())
    }
}

impl Config {
    /// The webhook secret (`[hook] secret_file`, else `secret_env`),
    /// registered as it is read (a [`Secret`]: never printed). Ok(None): no
    /// source, or the variable unset or blank. A secret file that cannot be
    /// read, is open to others or is empty is an error, as the forge
    /// token's is. Read only by `afk hook` and doctor: `[hook]` without a
    /// secret is no error for any other command.
    pub fn hook_secret(&self) -> Result<Option<Secret>> {
        if let Some(p) = &self.hook.secret_file {
            return Ok(Some(Secret::new(
                read_secret_file(p, "hook.secret_file")?.trim(),
            )));
        }
        let name = self.hook.secret_env.trim();
        if name.is_empty() {
            return Ok(None);
        }
        Ok(std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim())))
    }

    /// What to do about a missing webhook secret.
    pub fn no_hook_secret(&self) -> anyhow::Error {
        let name = self.hook.secret_env.trim();
        let (msg, hint) = if name.is_empty() {
            (
                "config: afk hook has no secret: neither hook.secret_env nor hook.secret_file is set".to_string(),
                "set hook.secret_env or hook.secret_file to the secret the forge's webhook signs with".to_string(),
            )
        } else {
            (
                format!(
                    "config: afk hook has no secret: the environment variable {name} (hook.secret_env) is unset or empty"
                ),
                format!("set the environment variable {name}"),
            )
        };
        cfg_hint(msg, hint)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn hook_keys_have_their_defaults_and_bounds() {
        let c = parse("").unwrap();
        assert_eq!(c.hook.max_body, 5 << 20);
        assert_eq!(c.hook.wait_lock.as_secs(), 20);
        assert_eq!(c.hook.read_timeout.as_secs(), 10);
        // a [hook] without a secret is no error
        assert!(parse("[hook]\nwait_lock = \"5s\"\n").is_ok());
        let c = parse("[hook]\nmax_body = \"64KiB\"\nread_timeout = \"2s\"\n").unwrap();
        assert_eq!(
            (c.hook.max_body, c.hook.read_timeout.as_secs()),
            (64 << 10, 2)
        );
        for bad in [
            "max_body = \"5 parsecs\"",
            "max_body = \"10\"",
            "read_timeout = \"0s\"",
            "wait_lock = \"1h\"",
            "secret = \"x\"",
        ] {
            assert!(parse(&format!("[hook]\n{bad}\n")).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hook_secret_comes_from_its_file_or_variable() {
        let c = parse("[hook]\nsecret_env = \"AFK_TEST_HOOK_SECRET_UNSET\"\n").unwrap();
        assert!(c.hook_secret().unwrap().is_none());
        assert!(
            c.no_hook_secret()
                .to_string()
                .contains("AFK_TEST_HOOK_SECRET_UNSET")
        );
        let c = parse("").unwrap();
        assert!(c.hook_secret().unwrap().is_none());
        // SAFETY: a variable of this test's own name, read by no other test
        unsafe { std::env::set_var("AFK_TEST_HOOK_SECRET_SET", " s3cret \n") };
        let c = parse("[hook]\nsecret_env = \"AFK_TEST_HOOK_SECRET_SET\"\n").unwrap();
        assert_eq!(c.hook_secret().unwrap().unwrap().expose(), "s3cret");
    }
}
