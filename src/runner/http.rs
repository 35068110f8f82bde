//! The http runner (SPEC 5.3): an agent-thread service.
//! `POST {url}/threads` {repo, issue, title, prompt} -> {id};
//! `POST {url}/threads/{id}/messages` {text} for corrective turns;
//! `GET {url}/threads/{id}` -> {status: running|idle|error, phase?, updated_at?,
//! cost_usd? (the thread's spend so far), blocked? {reason, questions}};
//! `DELETE {url}/threads/{id}` stops it (2xx or 404: stopped).
//! A thread the service answers 404 for is gone (the agent vanished); a
//! corrective turn on it starts a new thread. docs/runners.md has the whole
//! protocol.
//! Bearer token from `runner.token_env`; same timeouts, retries and error shape
//! as the forge client.

use crate::config::Config;
use crate::core::sanitize::{excerpt, one_line};

/// How much of a thread's phase and time the run keeps as its progress marks.
const MARK_MAX: usize = 200;
use crate::forge::http::Http;
use crate::types::IssueNumber;
use anyhow::{Result, bail};
use serde::Deserialize;
use serde_json::json;

pub struct HttpRunner {
    http: Http,
    /// the same service without the token (only when one is configured)
    anonymous: Option<Http>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Thread {
    pub status: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// What the thread has spent so far, all its turns; anything but a number is no figure.
    #[serde(default, deserialize_with = "lenient_number")]
    pub cost_usd: Option<f64>,
    /// The agent asks a person (`{reason, questions}`): escalated as a
    /// progress-file `blocked` is. Anything else there is not blocked.
    #[serde(default, deserialize_with = "lenient_blocked")]
    pub blocked: Option<crate::core::progress::Blocked>,
}

fn lenient_blocked<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::core::progress::Blocked>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(crate::core::progress::thread_blocked(Some(&v)))
}

/// A number, or nothing: a service that sends something else is not believed.
fn lenient_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_f64().and_then(crate::core::spend::believable))
}

#[derive(Deserialize)]
struct Created {
    id: serde_json::Value,
}

impl HttpRunner {
    pub fn new(cfg: &Config) -> Result<HttpRunner> {
        let token = if cfg.runner.token_env.is_empty() {
            None
        } else {
            match std::env::var(&cfg.runner.token_env) {
                Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                _ => bail!(crate::config::ConfigError(format!(
                    "config: the runner token is missing: set the environment variable {} (runner.token_env)",
                    cfg.runner.token_env
                ))),
            }
        };
        let service = |token: Option<&str>| {
            let mut h = Http::service(
                "runner",
                &cfg.runner.url,
                token,
                &cfg.runner.token_env,
                cfg.forge_timeout(),
                cfg.forge.retries,
            );
            h.set_url_key("runner.url");
            h
        };
        Ok(HttpRunner {
            http: service(token.as_deref()),
            // doctor's second look, without the token, to see it matters
            anonymous: token.as_ref().map(|_| service(None)),
        })
    }

    /// Start a thread; its id is the run's handle. The title is the issue's,
    /// anyone's text: the service gets it as one clean line, as the prompt does.
    pub fn start(
        &self,
        repo: &str,
        issue: IssueNumber,
        title: &str,
        prompt: &str,
    ) -> Result<String> {
        let c: Created = self.http.json(
            "POST",
            "/threads",
            Some(&json!({"repo": repo, "issue": issue, "prompt": prompt,
                "title": one_line(title, crate::core::prompt::TITLE_MAX)})),
        )?;
        let id = match c.id {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => bail!(
                "runner: POST /threads answered an id that is not a string: {}",
                excerpt(&other.to_string(), 60)
            ),
        };
        if !crate::core::sanitize::is_thread_id(&id) {
            bail!(
                "runner: POST /threads answered an unusable thread id \"{}\" (1 to 128 of A-Z a-z 0-9 . _ -)",
                one_line(&id, 40)
            );
        }
        Ok(id)
    }

    /// A corrective turn: one more message on the thread.
    pub fn message(&self, id: &str, text: &str) -> Result<()> {
        self.http.send(
            "POST",
            &format!("/threads/{id}/messages"),
            Some(&json!({ "text": text })),
        )?;
        Ok(())
    }

    /// Stop the thread: `DELETE /threads/{id}`; 404 means it is gone already.
    pub fn delete(&self, id: &str) -> Result<()> {
        match self.http.send("DELETE", &format!("/threads/{id}"), None) {
            Ok(_) => Ok(()),
            Err(e)
                if crate::forge::ForgeError::kind_of(&e)
                    == Some(crate::forge::Failure::NotFound) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub fn status(&self, id: &str) -> Result<Thread> {
        let t: Thread = self.http.json("GET", &format!("/threads/{id}"), None)?;
        if !["running", "idle", "error"].contains(&t.status.as_str()) {
            bail!(
                "runner: GET /threads/{id} answered status \"{}\" (expected running, idle or error)",
                excerpt(&t.status, 60)
            );
        }
        Ok(t)
    }
}

impl super::Runner for HttpRunner {
    fn start(&self, t: &super::Turn) -> Result<super::RunnerHandle> {
        // keep the prompt with the run, as the command runner does
        let _ = crate::private_files::private_dir(t.run_dir).and_then(|_| {
            crate::private_files::private_write(
                &t.run_dir.join(format!("prompt-{}.md", t.turn)),
                t.prompt.as_bytes(),
            )
        });
        let id = HttpRunner::start(self, t.repo, t.issue, t.title, t.prompt)?;
        Ok(super::RunnerHandle::Thread { id })
    }

    fn resume(
        &self,
        handle: Option<&super::RunnerHandle>,
        t: &super::Turn,
    ) -> Result<super::RunnerHandle> {
        match handle {
            Some(super::RunnerHandle::Thread { id }) => {
                let _ = crate::private_files::private_write(
                    &t.run_dir.join(format!("prompt-{}.md", t.turn)),
                    t.prompt.as_bytes(),
                );
                match self.message(id, t.prompt) {
                    Ok(()) => Ok(super::RunnerHandle::Thread { id: id.clone() }),
                    // the service forgot the thread: the turn starts a new one
                    Err(e)
                        if crate::forge::ForgeError::kind_of(&e)
                            == Some(crate::forge::Failure::NotFound) =>
                    {
                        let id = HttpRunner::start(self, t.repo, t.issue, t.title, t.prompt)?;
                        Ok(super::RunnerHandle::Thread { id })
                    }
                    Err(e) => Err(e),
                }
            }
            _ => super::Runner::start(self, t),
        }
    }

    fn observe(
        &self,
        handle: Option<&super::RunnerHandle>,
        _run_dir: &std::path::Path,
    ) -> Result<super::Observed> {
        use crate::core::run_state::Agent;
        match handle {
            Some(super::RunnerHandle::Thread { id }) => {
                let t = match self.status(id) {
                    Ok(t) => t,
                    // the service does not know the thread (any more): it is gone,
                    // as a command runner's agent whose process is not there
                    Err(e)
                        if crate::forge::ForgeError::kind_of(&e)
                            == Some(crate::forge::Failure::NotFound) =>
                    {
                        return Ok(super::Observed {
                            agent: Agent::Vanished,
                            marks: String::new(),
                            cost_usd: None,
                            blocked: None,
                            cannot_start: None,
                        });
                    }
                    Err(e) => return Err(e),
                };
                Ok(super::Observed {
                    agent: crate::core::run_state::thread_agent(&t.status),
                    // kept with the run each tick: a bounded part of what the service said
                    marks: format!(
                        "{}:{}",
                        excerpt(&t.phase.unwrap_or_default(), MARK_MAX),
                        excerpt(&t.updated_at.unwrap_or_default(), MARK_MAX)
                    ),
                    cost_usd: t.cost_usd,
                    blocked: t.blocked,
                    cannot_start: None,
                })
            }
            Some(super::RunnerHandle::Process { .. }) => {
                bail!("the run was started by the command runner but runner.kind is now \"http\"")
            }
            Some(super::RunnerHandle::Job { .. }) => {
                bail!(
                    "the run was started by the kubernetes runner but runner.kind is now \"http\""
                )
            }
            None => Ok(super::Observed {
                agent: Agent::Vanished,
                marks: String::new(),
                cost_usd: None,
                blocked: None,
                cannot_start: None,
            }),
        }
    }

    /// `DELETE` the thread. A stop that fails is logged: the run ends anyway,
    /// and the service's own limits are the backstop.
    fn stop(&self, handle: &super::RunnerHandle) {
        if let super::RunnerHandle::Thread { id } = handle
            && let Err(e) = self.delete(id)
        {
            crate::log::warn(&format!("runner: could not stop thread {id}: {e}"));
        }
    }

    /// Read-only: ask for a thread that cannot exist, with the token and
    /// without it. 404 with it and 401/403 without says the service answers
    /// and takes the token; 401/403 with it, that it refuses the token.
    fn check(&self) -> (bool, String) {
        use crate::forge::{Failure, ForgeError};
        let path = "/threads/afk-doctor-probe";
        // None: the service answered yes; Some: the refusal it answered
        let answer = |h: &Http| match h.send("GET", path, None) {
            Ok(_) => Ok(None),
            Err(e) => match ForgeError::kind_of(&e) {
                Some(k) if k.is_refusal() => Ok(Some(k)),
                _ => Err(e),
            },
        };
        // the status an answer said, for the words only
        let said = |a: Option<Failure>| a.and_then(Failure::status).unwrap_or(200);
        let refused =
            |a: &Option<Failure>| matches!(a, Some(Failure::Unauthorized | Failure::Forbidden));
        match answer(&self.http) {
            Err(e) => (false, e.to_string()),
            Ok(a) if refused(&a) => (false, format!("GET {path}: the service refuses the token")),
            Ok(a @ (None | Some(Failure::NotFound))) => match self.anonymous.as_ref().map(answer) {
                None => (
                    true,
                    format!(
                        "the agent-thread service answers ({}); no token is configured",
                        said(a)
                    ),
                ),
                Some(Ok(b)) if refused(&b) => (
                    true,
                    "the agent-thread service answers and accepts the token".into(),
                ),
                Some(_) => (
                    false,
                    format!(
                        "something answers ({}) but asks no token, as the agent-thread service would: is runner.url right?",
                        said(a)
                    ),
                ),
            },
            Ok(a) => (false, format!("GET {path} answered {}", said(a))),
        }
    }
}
