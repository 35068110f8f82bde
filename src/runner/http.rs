//! The http runner (docs/runners.md#http-an-agent-thread-service): an
//! agent-thread service.
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
use crate::private_files::read_run_file;

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
    /// the state file's id: a thread's idempotency key begins with it
    instance: std::sync::OnceLock<String>,
}

/// A thread whose `POST /threads` went unanswered: what to send again, with
/// the same idempotency key, until the service names the thread.
#[derive(serde::Serialize, Deserialize)]
struct Pending {
    key: String,
    repo: String,
    issue: IssueNumber,
    title: String,
    turn: u32,
}

/// Kept in the run folder while a thread's start is unknown.
const PENDING_FILE: &str = "thread-pending.json";

/// Whether a failed `POST` may have landed: no answer came, or a 5xx did.
fn may_have_landed(e: &anyhow::Error) -> bool {
    use crate::forge::{Failure, LastTry};
    matches!(
        crate::forge::ForgeError::kind_of(e),
        Some(Failure::NoAnswer | Failure::Exhausted(LastTry::NoAnswer | LastTry::Answered(_)))
    ) || matches!(crate::forge::ForgeError::kind_of(e), Some(Failure::Other(s)) if s >= 500)
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
    Ok(v.as_f64().and_then(crate::core::budget::spend::believable))
}

#[derive(Deserialize)]
struct Created {
    id: serde_json::Value,
}

impl HttpRunner {
    pub fn new(cfg: &Config) -> Result<HttpRunner> {
        // runner.token_env's, a Secret as it is read (the config's reader)
        let token = cfg.runner_token()?;
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
            http: service(token.as_ref().map(|t| t.expose())),
            // doctor's second look, without the token, to see it matters
            anonymous: token.as_ref().map(|_| service(None)),
            instance: std::sync::OnceLock::new(),
        })
    }

    /// Start a thread; its id is the run's handle. The title is the issue's,
    /// anyone's text: the service gets it as one clean line, as the prompt does.
    /// `key`: the turn's idempotency key, the same whenever this start is sent
    /// again (a service answers a key it has seen with that key's thread).
    pub fn start(
        &self,
        repo: &str,
        issue: IssueNumber,
        title: &str,
        prompt: &str,
        key: &str,
    ) -> Result<String> {
        let c: Created = self.http.json(
            "POST",
            "/threads",
            Some(&json!({"repo": repo, "issue": issue, "prompt": prompt,
                "title": one_line(title, crate::core::prompt::TITLE_MAX),
                "idempotency_key": key})),
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

impl HttpRunner {
    /// A new thread for turn `t`: its start kept in the run folder first
    /// (with the prompt), sent with the turn's idempotency key; an answer
    /// that was lost (no answer, a 5xx) is asked again once with the same
    /// key, then left to the next tick ([`StartUnknown`](super::StartUnknown)).
    fn new_thread(&self, t: &super::Turn) -> Result<super::RunnerHandle> {
        crate::private_files::private_dir(t.run_dir)?;
        crate::private_files::private_write(
            &t.run_dir.join(format!("prompt-{}.md", t.turn)),
            t.prompt.as_bytes(),
        )?;
        let instance = self.instance.get().map_or("none", String::as_str);
        let p = Pending {
            key: format!("afk-{instance}-{}-{}", t.run_id, t.turn),
            repo: t.repo.to_string(),
            issue: t.issue,
            title: t.title.to_string(),
            turn: t.turn,
        };
        crate::private_files::private_write(
            &t.run_dir.join(PENDING_FILE),
            &serde_json::to_vec(&p)?,
        )?;
        self.send_pending(&p, t.prompt, t.run_dir, 2)
    }

    /// `POST /threads` for a kept start, at most `tries` times while its
    /// answer is lost; the id the service names is the handle.
    fn send_pending(
        &self,
        p: &Pending,
        prompt: &str,
        run_dir: &std::path::Path,
        tries: u32,
    ) -> Result<super::RunnerHandle> {
        let mut last = None;
        for _ in 0..tries {
            match HttpRunner::start(self, &p.repo, p.issue, &p.title, prompt, &p.key) {
                Ok(id) => {
                    let _ = std::fs::remove_file(run_dir.join(PENDING_FILE));
                    return Ok(super::RunnerHandle::Thread { id });
                }
                Err(e) if may_have_landed(&e) => last = Some(e),
                Err(e) => {
                    let _ = std::fs::remove_file(run_dir.join(PENDING_FILE));
                    return Err(e);
                }
            }
        }
        // every caller tries once or twice: none tried is afk's own bug
        let Some(e) = last else {
            return Err(anyhow::Error::new(crate::types::InternalError::new(
                format!("runner: a thread's start was tried {tries} times and none was sent"),
            )));
        };
        Err(anyhow::anyhow!(super::StartUnknown {
            handle: None,
            why: e.to_string(),
        }))
    }
}

impl super::Runner for HttpRunner {
    fn start(&self, t: &super::Turn) -> Result<super::RunnerHandle> {
        self.new_thread(t)
    }

    /// A dead tick's claim: a start it sent and never heard back from is
    /// sent again with its key (the service names the thread that key made,
    /// or makes it now); one never sent never started.
    fn start_record(
        &self,
        _run_id: &str,
        run_dir: &std::path::Path,
    ) -> Result<Option<super::RunnerHandle>> {
        let Some(p) = read_run_file(&run_dir.join(PENDING_FILE), super::SMALL_RECORD)
            .ok()
            .and_then(|b| serde_json::from_str::<Pending>(&b).ok())
        else {
            return Ok(None);
        };
        let prompt = read_run_file(
            &run_dir.join(format!("prompt-{}.md", p.turn)),
            super::PROMPT_FILE_MAX,
        )?;
        self.send_pending(&p, &prompt, run_dir, 1).map(Some)
    }

    fn bind_instance(&self, instance: &str) {
        let _ = self.instance.set(instance.to_string());
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
                        self.new_thread(t)
                    }
                    Err(e) => Err(e),
                }
            }
            _ => self.new_thread(t),
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
                        return Ok(super::Observed::only(Agent::Vanished));
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
                    log_at: None,
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
            None => Ok(super::Observed::only(Agent::Vanished)),
        }
    }

    /// `DELETE` the thread. A stop that fails is logged: the run ends anyway,
    /// and the service's own limits are the backstop.
    fn stop(&self, handle: &super::RunnerHandle) {
        if let super::RunnerHandle::Thread { id } = handle
            && let Err(e) = self.delete(id)
        {
            crate::log::warn(&format!("runner: could not stop thread {id}: {e:#}"));
        }
    }

    /// Read-only: ask for a thread that cannot exist, with the token and
    /// without it. 404 with it and 401/403 without says the service answers
    /// and takes the token; 401/403 with it, that it refuses the token.
    fn check(&self) -> (crate::core::doctor::Level, String) {
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
        let (ok, text) = match answer(&self.http) {
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
        };
        (crate::core::doctor::Level::of(ok), text)
    }
}
