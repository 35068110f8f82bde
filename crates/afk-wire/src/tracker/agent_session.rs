//! What afk tells a Linear agent session (docs/trackers.md#linears-agents-api):
//! each step of a delegated issue's run as one activity of Linear's kinds,
//! in afk's own words, and the key that makes it once. An activity is
//! posted with an id made of the session and its key, looked up before it
//! is posted, so a step said again (the next tick, a retry) is no second
//! activity, and a reason that changed is a new one.

use crate::sanitize::one_line;

/// An activity's kind, as Linear names its content's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Thought,
    Action,
    Response,
    Error,
    Elicitation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Thought => "thought",
            Kind::Action => "action",
            Kind::Response => "response",
            Kind::Error => "error",
            Kind::Elicitation => "elicitation",
        }
    }
}

/// One activity afk posts in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: Kind,
    /// the text (a thought's, a response's, an error's, an elicitation's
    /// `body`; an action's `action`)
    pub body: String,
    /// an action's `parameter` ("" for the other kinds)
    pub parameter: String,
    /// once per session per key
    pub key: String,
    /// Linear's `ephemeral`: replaced by the next activity
    pub ephemeral: bool,
    /// a link the session lists beside it (the pull request)
    pub link: Option<String>,
}

/// The most characters of outside text (a reason, a title) one note holds.
pub const TEXT_MAX: usize = 300;

/// The first thought, posted by `afk hook` as soon as it answered a
/// session's `created` event (before it waits for any lock); it promises
/// nothing.
pub fn acknowledgement() -> Note {
    Note {
        kind: Kind::Thought,
        body: "afk received this and is checking who asked and whether the issue is ready. \
               Nothing has started yet."
            .into(),
        parameter: String::new(),
        key: "ack".into(),
        ephemeral: false,
        link: None,
    }
}

/// What a person wrote in the session is no instruction: afk says once per
/// prompt where it takes them.
pub fn prompt_reply(prompt_id: &str) -> Note {
    Note {
        kind: Kind::Thought,
        body: "afk takes instructions on the pull request: `/afk fix <text>`".into(),
        parameter: String::new(),
        key: format!("prompt:{prompt_id}"),
        ephemeral: false,
        link: None,
    }
}

/// Why poll did not dispatch a delegated issue this tick, as the
/// session's note: a wait (`repo-locked`, `capacity`, `lower-priority`,
/// `budget`, `repo-frozen`) is a thought, any other reason an error;
/// `already-handled` says nothing (the run's own notes speak). Each reason
/// (with its words) once: a changed reason is a new note.
pub fn skipped(reason: &str, detail: Option<&str>) -> Option<Note> {
    let kind = match reason {
        "already-handled" => return None,
        "repo-locked" | "capacity" | "lower-priority" | "budget" | "repo-frozen" => Kind::Thought,
        _ => Kind::Error,
    };
    let words = match detail.map(|d| one_line(d, TEXT_MAX)) {
        Some(d) if !d.is_empty() => format!("{reason}: {d}"),
        _ => reason.to_string(),
    };
    let body = match kind {
        Kind::Thought => format!("Not started yet ({words}); afk tries again on its next tick."),
        _ => format!("afk did not start work on this issue: {words}."),
    };
    Some(Note {
        kind,
        key: format!("skip:{words}"),
        body,
        parameter: String::new(),
        ephemeral: false,
        link: None,
    })
}

/// The run started: its agent is at work on `branch`.
pub fn dispatched(run: u64, branch: &str) -> Note {
    Note {
        kind: Kind::Action,
        body: "Dispatched".into(),
        parameter: format!("run {run}, branch {}", one_line(branch, TEXT_MAX)),
        key: format!("run:{run}:dispatched"),
        ephemeral: false,
        link: None,
    }
}

/// The run's pull request opened at `url` (also added to the session's
/// external links).
pub fn pull_opened(run: u64, url: &str) -> Note {
    Note {
        kind: Kind::Action,
        body: "Opened pull request".into(),
        parameter: one_line(url, TEXT_MAX),
        key: format!("run:{run}:pr"),
        ephemeral: false,
        link: Some(url.to_string()),
    }
}

/// How a run ended, for its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Succeeded,
    Escalated,
    /// stopped by a person (`/afk stop`, or Linear's `stop` signal, after
    /// which Linear asks for a final `response` or `error`)
    Stopped,
    Abandoned,
}

/// The run's end: a response on success, an elicitation (what a person
/// must do) on escalation, an error on abandonment; `text` is afk's final
/// checklist or its reason, cut to [`TEXT_MAX`] where it came from outside.
pub fn ended(run: u64, end: End, text: &str) -> Note {
    let (kind, body) = match end {
        End::Succeeded => (
            Kind::Response,
            format!(
                "Done: the pull request merged. {}",
                one_line(text, TEXT_MAX)
            ),
        ),
        End::Escalated => (
            Kind::Elicitation,
            format!(
                "afk stopped and needs a person: {}. Answer on the pull request \
                 (`/afk fix <text>`), or take the issue over.",
                one_line(text, TEXT_MAX)
            ),
        ),
        End::Stopped => (
            Kind::Error,
            format!(
                "Stopped as a person asked; afk does nothing more on this run. {}",
                one_line(text, TEXT_MAX)
            ),
        ),
        End::Abandoned => (
            Kind::Error,
            format!(
                "Stopped: {}. No pull request is opened for this work.",
                one_line(text, TEXT_MAX)
            ),
        ),
    };
    Note {
        kind,
        body,
        parameter: String::new(),
        key: format!("run:{run}:end"),
        ephemeral: false,
        link: None,
    }
}

/// How long a session in flight goes without an activity before afk says
/// it is still at work: Linear marks a session stale after 30 minutes
/// without one.
pub const ALIVE_EVERY_SECS: i64 = 20 * 60;

/// The thought that keeps a session in flight from going stale: due when
/// `since_last` seconds passed since afk's last activity in it (None: none
/// read), ephemeral, its key the 20-minute slot it falls in so each slot
/// says it once.
pub fn alive(run: u64, since_last: Option<i64>, now_secs: i64) -> Option<Note> {
    if since_last.is_some_and(|s| s < ALIVE_EVERY_SECS) {
        return None;
    }
    Some(Note {
        kind: Kind::Thought,
        body: "Still at work on this issue.".into(),
        parameter: String::new(),
        key: format!("run:{run}:alive:{}", now_secs / ALIVE_EVERY_SECS),
        ephemeral: true,
        link: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "a skip is one note per reason: a wait a thought, a refusal
    /// an error, already-handled nothing".
    #[test]
    fn a_skip_is_a_thought_when_it_waits_an_error_when_it_refuses_and_once_per_reason() {
        let cases: [(&str, Option<&str>, Option<Kind>); 8] = [
            ("already-handled", None, None),
            ("repo-locked", Some("run 3 in flight"), Some(Kind::Thought)),
            ("capacity", None, Some(Kind::Thought)),
            ("lower-priority", None, Some(Kind::Thought)),
            ("budget", None, Some(Kind::Thought)),
            ("untrusted", Some("x is not a member"), Some(Kind::Error)),
            ("blocked", Some("by ENG-7"), Some(Kind::Error)),
            ("unmapped", None, Some(Kind::Error)),
        ];
        for (reason, detail, want) in cases {
            let n = skipped(reason, detail);
            assert_eq!(n.as_ref().map(|n| n.kind), want, "{reason}");
            if let Some(n) = n {
                assert!(n.body.contains(reason), "{n:?}");
                assert!(n.key.contains(reason), "{n:?}");
                if let Some(d) = detail {
                    assert!(n.body.contains(d) && n.key.contains(d), "{n:?}");
                }
            }
        }
        // the same reason is the same key; other words a new one
        assert_eq!(
            skipped("blocked", Some("by ENG-7")).unwrap().key,
            skipped("blocked", Some("by ENG-7")).unwrap().key
        );
        assert_ne!(
            skipped("blocked", Some("by ENG-7")).unwrap().key,
            skipped("blocked", Some("by ENG-8")).unwrap().key
        );
        // outside words are one line and bounded
        let long = format!("a\nb{}", "x".repeat(1000));
        let n = skipped("untrusted", Some(&long)).unwrap();
        assert!(
            !n.body.contains('\n') && n.body.len() < TEXT_MAX + 100,
            "{}",
            n.body
        );
    }

    /// The rule "a run's steps are its session's activities: dispatched
    /// and the PR actions, the end a response, an elicitation or an error,
    /// each once per run".
    #[test]
    fn a_runs_steps_are_actions_and_its_end_is_a_response_an_elicitation_or_an_error() {
        let d = dispatched(4, "afk/issue-eng-1");
        assert_eq!((d.kind, d.body.as_str()), (Kind::Action, "Dispatched"));
        assert_eq!(d.parameter, "run 4, branch afk/issue-eng-1");
        let p = pull_opened(4, "https://git/acme/api/pulls/1");
        assert_eq!(p.kind, Kind::Action);
        assert_ne!(p.key, d.key);
        for (end, kind) in [
            (End::Succeeded, Kind::Response),
            (End::Escalated, Kind::Elicitation),
            (End::Stopped, Kind::Error),
            (End::Abandoned, Kind::Error),
        ] {
            let n = ended(4, end, "the reason");
            assert_eq!(n.kind, kind);
            assert!(n.body.contains("the reason"), "{}", n.body);
            assert_eq!(n.key, "run:4:end");
        }
        assert_eq!(acknowledgement().kind, Kind::Thought);
        assert_ne!(prompt_reply("a").key, prompt_reply("b").key);
    }

    /// The rule "a session in flight hears from afk at least every 20
    /// minutes, once per 20-minute slot, ephemeral".
    #[test]
    fn a_session_in_flight_hears_from_afk_every_twenty_minutes() {
        let now = 10 * ALIVE_EVERY_SECS + 5;
        for (since, due) in [
            (None, true),
            (Some(0), false),
            (Some(ALIVE_EVERY_SECS - 1), false),
            (Some(ALIVE_EVERY_SECS), true),
            (Some(45 * 60), true),
        ] {
            let n = alive(2, since, now);
            assert_eq!(n.is_some(), due, "{since:?}");
            if let Some(n) = n {
                assert!(n.ephemeral);
                assert_eq!(n.key, "run:2:alive:10");
            }
        }
        assert_ne!(
            alive(2, None, now).unwrap().key,
            alive(2, None, now + ALIVE_EVERY_SECS).unwrap().key
        );
    }
}
