//! A verified Linear `AgentSessionEvent` delivery (Linear's Agents API,
//! docs/trackers.md#linears-agents-api): of its payload afk takes the
//! session's id alone, to post its first thought there before any lock;
//! the rest (who, which issue, the prompt context) decides nothing: the
//! scoped poll reads Linear itself.

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

#[cfg(test)]
mod tests {
    use super::*;

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
