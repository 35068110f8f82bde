//! What afk takes of a verified tracker delivery beyond its kind: of a
//! Linear `AgentSessionEvent` (Linear's Agents API,
//! docs/trackers.md#linears-agents-api) the session's id and its issue's,
//! to post its first thought there before any lock; of a Jira event the
//! issues it names, for the search's `reconcileIssues`. The rest (who, the
//! labels, the prompt context) decides nothing: the scoped poll reads the
//! tracker itself.

/// The session a `created` agent session event opened, and the issue it
/// names (None: none, or not one afk may name a file after): each a name
/// a file may bear (letters, digits and `-`, at most 64). None: another
/// event, another action, or no such session id.
pub fn created_session(body: &[u8]) -> Option<(String, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Session {
        id: Option<String>,
        #[serde(rename = "issueId")]
        issue_id: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "type")]
        kind: Option<String>,
        action: Option<String>,
        #[serde(rename = "agentSession")]
        session: Option<Session>,
    }
    let b: Body = serde_json::from_slice(body).ok()?;
    if b.kind.as_deref() != Some("AgentSessionEvent") || b.action.as_deref() != Some("created") {
        return None;
    }
    let s = b.session?;
    let id = s.id.filter(|i| nameable(i))?;
    Some((id, s.issue_id.filter(|i| nameable(i))))
}

/// Whether `s` may name a file: letters, digits and `-`, 1 to 64 of them.
fn nameable(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The Jira issues a verified delivery names (its `issue.id`, a string;
/// an issue link's `sourceIssueId` and `destinationIssueId`, numbers), at
/// most the 50 `reconcileIssues` takes: hints for the search, which Jira's
/// own answers then decide on.
pub fn jira_issue_ids(body: &[u8]) -> Vec<i64> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return vec![];
    };
    let mut out: Vec<i64> = [
        v.pointer("/issue/id"),
        v.pointer("/issueLink/sourceIssueId"),
        v.pointer("/issueLink/destinationIssueId"),
    ]
    .into_iter()
    .flatten()
    .filter_map(|x| match x {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        n => n.as_i64(),
    })
    .filter(|n| *n > 0)
    .collect();
    out.dedup();
    out.truncate(50);
    out
}

/// How long `afk hook` keeps a session's flag: a Linear agent session
/// lives as long as its run, and runs end within days; a redelivery of its
/// `created` event comes within hours. Older flags are removed.
pub const SESSION_FLAG_DAYS: u64 = 30;

/// Whether a session flag made `age_s` seconds ago is past
/// [`SESSION_FLAG_DAYS`] (a flag dated in the future, by a clock set
/// back, is kept).
pub fn session_flag_stale(age_s: Option<u64>) -> bool {
    age_s.is_some_and(|a| a > SESSION_FLAG_DAYS * 86_400)
}

#[cfg(test)]
mod session_flag_tests {
    use super::session_flag_stale;

    /// (its age in seconds, None: dated after now; stale)
    #[test]
    fn a_session_flag_is_kept_thirty_days() {
        let day = 86_400;
        let cases = [
            (None, false),
            (Some(0), false),
            (Some(30 * day), false),
            (Some(30 * day + 1), true),
            (Some(400 * day), true),
        ];
        for (age, want) in cases {
            assert_eq!(session_flag_stale(age), want, "{age:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "a Jira delivery's issue ids, string or number, are the
    /// search's hints, at most 50".
    #[test]
    fn a_jira_delivery_names_its_issues_for_the_search_to_reconcile() {
        let cases: [(&str, &[i64]); 5] = [
            (
                r#"{"webhookEvent":"jira:issue_updated","issue":{"id":"10002"}}"#,
                &[10002],
            ),
            (
                r#"{"webhookEvent":"issuelink_created","issueLink":{"sourceIssueId":10001,"destinationIssueId":10002}}"#,
                &[10001, 10002],
            ),
            (r#"{"issue":{"id":"PLAT-1"}}"#, &[]),
            (r#"{"issue":{"id":"-5"}}"#, &[]),
            ("not json", &[]),
        ];
        for (body, want) in cases {
            assert_eq!(jira_issue_ids(body.as_bytes()), want, "{body}");
        }
    }

    /// The rule "only a created agent session event's own id is taken,
    /// and only as a name a file may bear".
    #[test]
    fn a_created_session_event_names_its_session_and_nothing_else_does() {
        type Named<'a> = Option<(&'a str, Option<&'a str>)>;
        let cases: [(&str, Named); 8] = [
            (
                r#"{"type":"AgentSessionEvent","action":"created","agentSession":{"id":"5e7a-01","issueId":"155e-1"}}"#,
                Some(("5e7a-01", Some("155e-1"))),
            ),
            (
                r#"{"type":"AgentSessionEvent","action":"created","agentSession":{"id":"5e7a-01","issueId":"../x"}}"#,
                Some(("5e7a-01", None)),
            ),
            (
                r#"{"type":"AgentSessionEvent","action":"prompted","agentSession":{"id":"5e7a-01"}}"#,
                None,
            ),
            (
                r#"{"type":"Issue","action":"created","agentSession":{"id":"5e7a-01"}}"#,
                None,
            ),
            (
                r#"{"type":"AgentSessionEvent","action":"created","agentSession":{"id":"../../x"}}"#,
                None,
            ),
            (
                r#"{"type":"AgentSessionEvent","action":"created","agentSession":{"id":""}}"#,
                None,
            ),
            (r#"{"type":"AgentSessionEvent","action":"created"}"#, None),
            ("not json", None),
        ];
        for (body, want) in cases {
            let got = created_session(body.as_bytes());
            let got = got.as_ref().map(|(s, i)| (s.as_str(), i.as_deref()));
            assert_eq!(got, want, "{body}");
        }
        let long = format!(
            r#"{{"type":"AgentSessionEvent","action":"created","agentSession":{{"id":"{}"}}}}"#,
            "a".repeat(65)
        );
        assert_eq!(created_session(long.as_bytes()), None);
    }
}
