//! Linear's Agents API, the part afk uses with `ready = "delegate"`
//! (docs/trackers.md#linears-agents-api): an issue's agent sessions (whose
//! `creator` must be the person whose delegation armed it), and afk's
//! activities in the latest one, each posted with an id made of the
//! session and the note's key after a read of the session's activities
//! finds none with it (so a note said again is never a second activity,
//! and a write whose answer was lost is looked up, not repeated).

use super::{Linear, WireIssue, queries};
use crate::types::IssueNumber;
use crate::types::tracker::LinearRef;
use afk_wire::tracker::agent_session::{self, Note};
use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};

/// An agent session as afk reads it (`queries::SESSION`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSession {
    pub id: String,
    pub created_at: String,
    #[serde(default)]
    pub creator: Option<LinearRef>,
    #[serde(default)]
    pub issue: Option<LinearRef>,
    pub app_user: LinearRef,
}

/// The most sessions of one issue afk reads a tick: the ones heard last.
pub const SESSIONS_READ_MAX: usize = 20;

/// What afk read of one session this tick: its activities' ids and times,
/// and its external links.
#[derive(Debug, Clone, Default)]
pub struct SessionSeen {
    pub activity_ids: Vec<String>,
    /// the latest activity's time (RFC 3339), None: none
    pub last_at: Option<String>,
    pub links: Vec<String>,
    /// the activities by anyone but afk: a person's prompts
    pub prompts: Vec<Prompt>,
}

/// A person's prompt in a session (afk reads who and whether it signals
/// `stop`, never its words).
#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: String,
    pub user: String,
    pub stop: bool,
}

/// The activity id afk gives note `key` in `session`: a UUID (version 4's
/// shape) made of the SHA-256 of both, the same every time.
pub fn activity_id(session: &str, key: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{session}\n{key}").as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Linear {
    /// The issue's agent sessions afk heard of (`afk hook`'s verified
    /// `created` deliveries), each read from Linear and kept only when
    /// Linear says it is this issue's and afk's app user's (the delivery
    /// only named it); latest last, by `createdAt` then id. Once a tick.
    pub fn sessions(&self, i: &WireIssue) -> Result<Vec<WireSession>> {
        if let Some(s) = self.sessions_read.lock().unwrap().get(&i.id) {
            return Ok(s.clone());
        }
        let heard = self.heard.heard(&i.id)?;
        if heard.is_empty() {
            // no session afk heard of: nothing asked of Linear
            return Ok(vec![]);
        }
        let me = self.me()?;
        let skip = heard.len().saturating_sub(SESSIONS_READ_MAX);
        let mut out = vec![];
        for id in heard.iter().skip(skip) {
            let d = match self.read("agentSession", queries::SESSION, json!({"id": id})) {
                Ok(d) => d,
                // gone, or never Linear's: a delivery's word alone
                Err(e) if e.to_string().contains("Entity not found") => continue,
                Err(e) => return Err(e),
            };
            let s: WireSession = serde_json::from_value(d["agentSession"].clone())
                .map_err(|e| anyhow!("linear: agent session {id}: {e}"))?;
            let ours = s.issue.as_ref().is_some_and(|x| x.id == i.id) && s.app_user.id == me.id;
            if ours {
                out.push(s);
            }
        }
        let at = |w: &WireSession| afk_wire::tracker::jira::time(&w.created_at);
        out.sort_by(|a, b| at(a).cmp(&at(b)).then_with(|| a.id.cmp(&b.id)));
        self.sessions_read
            .lock()
            .unwrap()
            .insert(i.id.clone(), out.clone());
        Ok(out)
    }

    /// The rule "a delegation arms only with its session's creator":
    /// Some(why not) when the issue's latest agent session was opened by
    /// no person or by another than `armer`.
    pub fn session_refuses(&self, n: IssueNumber, armer: &str) -> Result<Option<String>> {
        let i = self.wire_issue(n)?;
        let latest = self.sessions(&i)?.pop();
        Ok(match latest {
            None => Some(format!(
                "afk heard of no agent session of {}: a delegation opens one, and afk hears it through Linear's agent session webhook (docs/trackers.md#linears-agents-api)",
                i.identifier
            )),
            Some(WireSession { creator: None, .. }) => Some(
                "the delegation's agent session has no person behind it (an automation or an agent opened it)"
                    .into(),
            ),
            Some(WireSession {
                creator: Some(c), ..
            }) if c.id != armer => Some(format!(
                "the delegation was made by {armer} but its agent session was opened by {}",
                c.id
            )),
            Some(_) => None,
        })
    }

    /// What afk reads of session `id` before it posts there.
    fn session_seen(&self, id: &str) -> Result<SessionSeen> {
        let nodes = self.all(
            "agentSession.activities",
            queries::ACTIVITIES,
            json!({"id": id}),
            "/agentSession/activities",
        )?;
        let me = self.me()?;
        let mut seen = SessionSeen::default();
        for n in &nodes {
            let (Some(aid), Some(at)) = (n["id"].as_str(), n["createdAt"].as_str()) else {
                return Err(anyhow!(
                    "linear: session {id}: an activity without id or time"
                ));
            };
            seen.activity_ids.push(aid.to_string());
            let user = n["user"]["id"].as_str().unwrap_or("");
            if user != me.id {
                seen.prompts.push(Prompt {
                    id: aid.to_string(),
                    user: user.to_string(),
                    stop: n["signal"] == "stop",
                });
            }
            let t = afk_wire::tracker::jira::time(at);
            let last = seen
                .last_at
                .as_deref()
                .and_then(afk_wire::tracker::jira::time);
            if t.is_some() && t > last {
                seen.last_at = Some(at.to_string());
            }
        }
        // the links, read in a query of their own (a connection's pages
        // would repeat them)
        let d = self.read("agentSession", queries::SESSION_LINKS, json!({"id": id}))?;
        for l in d["agentSession"]["externalLinks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(u) = l["url"].as_str() {
                seen.links.push(u.to_string());
            }
        }
        Ok(seen)
    }

    /// Post `note` in session `session` as afk's activity, with its own
    /// id; `seen`: what afk read of the session (None: post unread, as the
    /// hook's first thought is, made once by its flag file).
    pub fn post_note(&self, session: &str, note: &Note, seen: Option<&SessionSeen>) -> Result<()> {
        let id = activity_id(session, &note.key);
        if seen.is_some_and(|s| s.activity_ids.contains(&id)) {
            return Ok(());
        }
        if let Some(url) = &note.link
            && !seen.is_some_and(|s| s.links.contains(url))
        {
            self.write(
                "agentSessionUpdate",
                queries::SESSION_UPDATE,
                json!({"id": session, "input": {"addedExternalUrls": [{"label": "Pull request", "url": url}]}}),
            )?;
        }
        let content = match note.kind {
            agent_session::Kind::Action => json!({"type": "action", "action": note.body,
                "parameter": note.parameter}),
            k => json!({"type": k.as_str(), "body": afk_wire::tracker::loud::fenced(&note.body)}),
        };
        let mut input = json!({"id": id, "agentSessionId": session, "content": content});
        if note.ephemeral {
            input["ephemeral"] = Value::Bool(true);
        }
        self.write(
            "agentActivityCreate",
            queries::ACTIVITY,
            json!({ "input": input }),
        )?;
        Ok(())
    }

    /// Tell issue `n`'s latest agent session `note` (nothing when the
    /// issue has none: a session is opened by a delegation or a mention of
    /// afk's app user, whatever arms the issue).
    pub fn tell(&self, n: IssueNumber, note: &Note) -> Result<()> {
        let i = self.wire_issue(n)?;
        let Some(s) = self.sessions(&i)?.pop() else {
            return Ok(());
        };
        let seen = self.session_seen(&s.id)?;
        self.first_thought(&s.id, &seen)?;
        self.post_note(&s.id, note, Some(&seen))
    }

    /// The session's first thought, when `afk hook` took the session's
    /// flag and never posted it (it died between the two): posted before
    /// afk's next word there; nothing when it is among the activities read.
    fn first_thought(&self, session: &str, seen: &SessionSeen) -> Result<()> {
        self.post_note(session, &agent_session::acknowledgement(), Some(seen))
    }

    /// A watch tick's look at issue `n`'s latest agent session while run
    /// `run` is in flight: each person's prompt there answered once (afk
    /// takes instructions on the pull request), the thought that keeps the
    /// session from going stale when its last activity is 20 minutes old,
    /// and who stopped the run: a prompt with Linear's `stop` signal by a
    /// person the tracker's trust rule trusts (the accounts in `never`
    /// never are).
    pub fn session_tick(
        &self,
        n: IssueNumber,
        run: u64,
        now_secs: i64,
        never: &[&str],
    ) -> Result<Option<String>> {
        let i = self.wire_issue(n)?;
        let Some(s) = self.sessions(&i)?.pop() else {
            return Ok(None);
        };
        let seen = self.session_seen(&s.id)?;
        self.first_thought(&s.id, &seen)?;
        let mut stopped = None;
        for p in &seen.prompts {
            if p.stop && stopped.is_none() {
                let trusted =
                    self.armer(n, &p.user, never)?.access() == crate::types::Access::Admin;
                if trusted {
                    stopped = Some(p.user.clone());
                    continue;
                }
            }
            self.post_note(&s.id, &agent_session::prompt_reply(&p.id), Some(&seen))?;
        }
        let since = seen
            .last_at
            .as_deref()
            .and_then(afk_wire::tracker::jira::time)
            .map(|t| now_secs - t.unix_timestamp());
        if let Some(note) = agent_session::alive(run, since, now_secs) {
            self.post_note(&s.id, &note, Some(&seen))?;
        }
        Ok(stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "an activity's id is the session's and the key's, always
    /// the same, in a UUID's shape".
    #[test]
    fn an_activity_id_is_made_of_its_session_and_key() {
        let a = activity_id("s-1", "ack");
        assert_eq!(a, activity_id("s-1", "ack"));
        assert_ne!(a, activity_id("s-2", "ack"));
        assert_ne!(a, activity_id("s-1", "run:1:end"));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{a}");
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{a}");
    }
}
