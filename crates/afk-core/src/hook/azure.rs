//! `afk hook`'s rules for Azure DevOps service hooks
//! (docs/azure-devops.md#the-service-hook-afk-hook). They sign nothing: the
//! proof is `Authorization: Basic`, whose password is the hook secret (the
//! binary compares it in constant time); the event and its id are in the
//! body, read only once the delivery verified. The body is a hint: it picks
//! which repositories to tick, never what a tick decides.

use serde_json::Value;

/// The longest event type, delivery id or name taken from a body; anything
/// longer is none (it would end up in a log line or an answer).
const WORD_MAX: usize = 128;

/// The work-item events: poll, then watch, for the project's repositories.
pub(crate) const ITEM_EVENTS: &[&str] = &[
    "workitem.created",
    "workitem.updated",
    "workitem.commented",
    "workitem.deleted",
    "workitem.restored",
];

/// The events of one repository: watch for it. The comment event is the
/// service hook's "Pull request commented on", which the documentation's
/// events page does not list.
pub(crate) const REPO_EVENTS: &[&str] = &[
    "git.pullrequest.created",
    "git.pullrequest.updated",
    "git.pullrequest.merged",
    "ms.vss-code.git-pullrequest-comment-event",
    "git.push",
];

/// A build's end names no repository: watch for the project's.
pub(crate) const BUILD_EVENTS: &[&str] = &["build.complete"];

/// What an `Authorization` header's `Basic` credential says: the user name
/// (non-empty, only logged) and the password; None for another scheme, a
/// credential that is not base64 of UTF-8 `user:password`, or an empty
/// user name.
pub fn basic(value: &str) -> Option<(String, String)> {
    let (scheme, credential) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let text = String::from_utf8(crate::base64::decode(
        credential.trim(),
        crate::base64::Alphabet::Standard,
    )?)
    .ok()?;
    let (user, password) = text.split_once(':')?;
    if user.trim().is_empty() {
        return None;
    }
    Some((user.to_string(), password.to_string()))
}

/// A string or a number of a body as one word: printable ASCII, no
/// spaces, at most [`WORD_MAX`] bytes; else None.
fn word(v: Option<&Value>) -> Option<String> {
    let text = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let ok =
        !text.is_empty() && text.len() <= WORD_MAX && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(text)
}

/// A name of a body (a project's or a repository's): not blank, at most
/// [`WORD_MAX`] bytes, no control character and no `/`.
fn name(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    let ok =
        !s.is_empty() && s.len() <= WORD_MAX && !s.contains(|c: char| c.is_control() || c == '/');
    ok.then(|| s.to_string())
}

/// What afk takes from a verified delivery's body, and nothing else of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hint {
    /// `eventType`
    pub event: Option<String>,
    /// `subscriptionId:notificationId` (each subscription numbers its
    /// notifications, and a redelivery keeps the number), else the event's
    /// `id`
    pub delivery: Option<String>,
    /// `resourceContainers.project.id`: afk keeps no project ids to map it
    /// to a name, so it narrows nothing yet ([`aim`], docs/azure-devops.md)
    pub project_id: Option<String>,
    /// the repository's id (`resource.repository.id`, or
    /// `resource.pullRequest.repository.id` for a PR comment)
    pub repo_id: Option<String>,
    /// that repository's `project/name`, from the same object
    pub repo: Option<String>,
}

/// The [`Hint`] of a delivery's body; all None when it is no JSON object.
/// The body is already bounded by `max_body`, and serde's depth limit
/// bounds the nesting.
pub fn hint(body: &[u8]) -> Hint {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Hint::default();
    };
    let delivery = match (word(v.get("subscriptionId")), word(v.get("notificationId"))) {
        (Some(s), Some(n)) => Some(format!("{s}:{n}")),
        _ => word(v.get("id")),
    };
    let resource = v.get("resource");
    // a PR's events carry it at the top; a PR comment's in its pull request
    let repository = resource
        .and_then(|r| r.get("repository"))
        .filter(|r| r.is_object())
        .or_else(|| {
            resource
                .and_then(|r| r.get("pullRequest"))
                .and_then(|p| p.get("repository"))
                .filter(|r| r.is_object())
        });
    let repo = repository.and_then(|r| {
        let project = name(r.get("project").and_then(|p| p.get("name")))?;
        Some(format!("{project}/{}", name(r.get("name"))?))
    });
    Hint {
        event: word(v.get("eventType")),
        delivery,
        project_id: word(
            v.get("resourceContainers")
                .and_then(|c| c.get("project"))
                .and_then(|p| p.get("id")),
        ),
        repo_id: word(repository.and_then(|r| r.get("id"))),
        repo,
    }
}

/// Which repositories an event points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Aim {
    /// this one (`project/name`), if allowlisted
    Repo(String),
    /// every allowlisted repository: the event names a project, or a
    /// repository only by an id afk cannot name
    Every,
    /// none (an event afk does not use, or one naming no repository)
    Nothing,
}

/// Where event `event` of `hint` points: a work-item or build event at its
/// project's repositories, which afk cannot tell from the others by the
/// project's id, so at every allowlisted one; a repository's event at its
/// repository by name, else (its id alone, or only its project's: resource
/// details `Minimal` may leave the repository out) at every allowlisted
/// one; one that names neither a repository nor a project, at none.
pub(crate) fn aim(event: &str, hint: &Hint) -> Aim {
    let event = event.trim();
    if ITEM_EVENTS.contains(&event) || BUILD_EVENTS.contains(&event) {
        return Aim::Every;
    }
    if !REPO_EVENTS.contains(&event) {
        return Aim::Nothing;
    }
    match (&hint.repo, &hint.repo_id) {
        (Some(name), _) => Aim::Repo(name.clone()),
        (None, Some(_)) => Aim::Every,
        (None, None) if hint.project_id.is_some() => Aim::Every,
        (None, None) => Aim::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        // the table's credentials, written out (no base64 crate in core)
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in s.as_bytes().chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn azure_hook_basic_auth_is_the_only_proof() {
        let ok = |u: &str, p: &str| Some((u.to_string(), p.to_string()));
        let cases: &[(String, Option<(String, String)>)] = &[
            (
                format!("Basic {}", b64("sandbox:s3cret")),
                ok("sandbox", "s3cret"),
            ),
            // the scheme in any case, the password with its own colons
            (format!("basic {}", b64("afk:a:b")), ok("afk", "a:b")),
            // padding is optional
            (
                format!("Basic {}", b64("ab:c").trim_end_matches('=')),
                ok("ab", "c"),
            ),
            // the user name must be non-empty (a PAT's empty user is not this)
            (format!("Basic {}", b64(":s3cret")), None),
            (format!("Basic {}", b64("  :s3cret")), None),
            (format!("Basic {}", b64("no colon")), None),
            // another scheme, or the secret bare, is no proof
            ("Bearer s3cret".into(), None),
            ("s3cret".into(), None),
            (format!("Token {}", b64("sandbox:s3cret")), None),
            ("Basic not*base64".into(), None),
            ("Basic a".into(), None),
            ("Basic ===".into(), None),
            (
                format!("Basic {}", b64("sandbox:\u{e9}")),
                ok("sandbox", "\u{e9}"),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(basic(value), *want, "{value}");
        }
    }

    #[test]
    fn azure_hook_delivery_is_subscription_and_notification_else_the_event_id() {
        type Case<'a> = (&'a str, Option<&'a str>);
        let cases: &[Case] = &[
            (
                r#"{"subscriptionId":"s-1","notificationId":7,"id":"e-1"}"#,
                Some("s-1:7"),
            ),
            (
                r#"{"subscriptionId":"s-1","notificationId":"7","id":"e-1"}"#,
                Some("s-1:7"),
            ),
            // either missing: the event's id
            (r#"{"subscriptionId":"s-1","id":"e-1"}"#, Some("e-1")),
            (r#"{"notificationId":7,"id":"e-1"}"#, Some("e-1")),
            (
                r#"{"subscriptionId":"s 1","notificationId":7,"id":"e-1"}"#,
                Some("e-1"),
            ),
            (r#"{"id":"e-1"}"#, Some("e-1")),
            // nothing that can name it in a log line
            (r#"{"id":"two\nlines"}"#, None),
            (r#"{"id":{"x":1}}"#, None),
            (r#"{}"#, None),
            ("not json", None),
        ];
        for (body, want) in cases {
            assert_eq!(hint(body.as_bytes()).delivery.as_deref(), *want, "{body}");
        }
        let long = format!(r#"{{"id":"{}"}}"#, "a".repeat(WORD_MAX + 1));
        assert_eq!(hint(long.as_bytes()).delivery, None);
    }

    #[test]
    fn azure_hook_takes_the_event_the_project_id_and_the_repository_alone() {
        let push = r#"{"eventType":"git.push","resourceContainers":{"project":{"id":"p-1"}},
            "resource":{"repository":{"id":"r-1","name":"api","project":{"id":"p-1","name":"Fabrikam"}},
            "pushedBy":{"uniqueName":"root@example.org"}}}"#;
        assert_eq!(
            hint(push.as_bytes()),
            Hint {
                event: Some("git.push".to_string()),
                delivery: None,
                project_id: Some("p-1".into()),
                repo_id: Some("r-1".into()),
                repo: Some("Fabrikam/api".into()),
            }
        );
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            // a PR comment's repository is its pull request's
            (
                r#"{"resource":{"comment":{"id":1},"pullRequest":{"repository":{"id":"r-2","name":"web app","project":{"name":"Fabrikam"}}}}}"#,
                Some("Fabrikam/web app"),
                Some("r-2"),
            ),
            // the id alone
            (
                r#"{"resource":{"repository":{"id":"r-3"}}}"#,
                None,
                Some("r-3"),
            ),
            // a work item's fields name no repository afk reads
            (
                r#"{"resource":{"fields":{"System.AreaPath":"Fabrikam\\api","System.TeamProject":"Fabrikam"}}}"#,
                None,
                None,
            ),
            (
                r#"{"resource":{"repository":{"id":"r-4","name":"a/b","project":{"name":"Fabrikam"}}}}"#,
                None,
                Some("r-4"),
            ),
            (
                r#"{"resource":{"repository":{"id":"r-5","name":" ","project":{"name":"Fabrikam"}}}}"#,
                None,
                Some("r-5"),
            ),
        ];
        for (body, repo, id) in cases {
            let h = hint(body.as_bytes());
            assert_eq!(
                (h.repo.as_deref(), h.repo_id.as_deref()),
                (*repo, *id),
                "{body}"
            );
        }
    }

    #[test]
    fn azure_hook_work_item_and_build_events_aim_at_every_allowlisted_repository() {
        let named = Hint {
            repo: Some("Fabrikam/api".into()),
            repo_id: Some("r-1".into()),
            ..Hint::default()
        };
        let id_only = Hint {
            repo_id: Some("r-1".into()),
            ..Hint::default()
        };
        let none = Hint::default();
        let project_only = Hint {
            project_id: Some("p-1".into()),
            ..Hint::default()
        };
        let api = || Aim::Repo("Fabrikam/api".into());
        let cases: &[(&str, &Hint, Aim)] = &[
            ("workitem.created", &none, Aim::Every),
            ("workitem.updated", &named, Aim::Every),
            ("workitem.commented", &none, Aim::Every),
            ("workitem.deleted", &none, Aim::Every),
            ("workitem.restored", &none, Aim::Every),
            ("build.complete", &named, Aim::Every),
            ("git.push", &named, api()),
            ("git.pullrequest.created", &named, api()),
            ("git.pullrequest.updated", &named, api()),
            ("git.pullrequest.merged", &named, api()),
            ("ms.vss-code.git-pullrequest-comment-event", &named, api()),
            // a repository afk cannot name: all of them, each tick reads
            ("git.push", &id_only, Aim::Every),
            // resource details Minimal: the project's, not the repository
            ("git.pullrequest.updated", &project_only, Aim::Every),
            (
                "ms.vss-code.git-pullrequest-comment-event",
                &project_only,
                Aim::Every,
            ),
            ("git.push", &none, Aim::Nothing),
            ("tfvc.checkin", &named, Aim::Nothing),
            ("git.pullrequest.merge.attempted", &named, Aim::Nothing),
            (
                "ms.vss-release.deployment-completed-event",
                &named,
                Aim::Nothing,
            ),
        ];
        for (event, hint, want) in cases {
            assert_eq!(aim(event, hint), *want, "{event} {hint:?}");
        }
    }
}

/// The dialect's rows in `core::hook`'s rules: what counts as proof, which
/// tick each event starts and over which repositories, the answer.
#[cfg(test)]
mod dialect_tests {
    use crate::hook::{
        Answer, Claim, Sender, Verdict, Work, claims, named, per_repo, verdict, work_over,
    };
    use crate::types::TickKind::{Poll, Watch};

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // "sandbox:s3cret", ":s3cret"
    const SANDBOX: &str = "Basic c2FuZGJveDpzM2NyZXQ=";
    const NO_USER: &str = "Basic OnMzY3JldA==";

    #[test]
    fn azure_hook_other_kinds_signatures_are_no_proof() {
        let mac = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let sha = format!("sha256={mac}");
        type Case<'a> = (&'a [(&'a str, &'a str)], Vec<Claim>);
        let basic = || Claim::Basic {
            user: "sandbox".into(),
            password: "s3cret".into(),
        };
        let cases: &[Case] = &[
            (&[("Authorization", SANDBOX)], vec![basic()]),
            (&[("authorization", SANDBOX)], vec![basic()]),
            // each copy must verify
            (
                &[("Authorization", SANDBOX), ("Authorization", NO_USER)],
                vec![basic(), Claim::Malformed],
            ),
            (&[("Authorization", NO_USER)], vec![Claim::Malformed]),
            (
                &[("Authorization", "Bearer s3cret")],
                vec![Claim::Malformed],
            ),
            // another kind's header, even one that would verify there
            (&[("X-Hub-Signature-256", &sha)], vec![]),
            (&[("X-Gitea-Signature", mac)], vec![]),
            (&[("X-Gitlab-Token", "s3cret")], vec![]),
            (&[], vec![]),
        ];
        for (headers, want) in cases {
            let got: Vec<Claim> = claims(Sender::AzureDevops, &h(headers))
                .into_iter()
                .map(|(_, c)| c)
                .collect();
            assert_eq!(got, *want, "{headers:?}");
        }
        // none found is unsigned: 401 as a forged one is
        assert_eq!(verdict(&[]), Verdict::Unsigned);
        // and Basic counts for no other kind
        for d in [Sender::Gitea, Sender::Github, Sender::Gitlab] {
            assert!(
                claims(d, &h(&[("Authorization", SANDBOX)])).is_empty(),
                "{d:?}"
            );
        }
    }

    #[test]
    fn azure_hook_event_and_delivery_come_from_the_body_once_verified() {
        let body =
            br#"{"subscriptionId":"s-1","notificationId":3,"id":"e-9","eventType":"git.push"}"#;
        // headers that would name them for another kind are not read
        let headers = h(&[("X-GitHub-Event", "issues"), ("X-GitHub-Delivery", "gh-1")]);
        assert_eq!(
            named(Sender::AzureDevops, &headers, body),
            (Some("git.push".to_string()), Some("s-1:3".to_string()))
        );
        assert_eq!(
            named(Sender::Github, &headers, body),
            (Some("issues".to_string()), Some("gh-1".to_string()))
        );
    }

    #[test]
    fn azure_hook_an_event_ticks_its_repository_or_its_projects() {
        let allow = vec!["Fabrikam/api".to_string(), "Fabrikam/web app".to_string()];
        let every = |k| Work::Ticks(k, allow.clone());
        let push = |name: &str| {
            format!(
                r#"{{"eventType":"git.push","resource":{{"repository":{{"id":"r-1","name":"{name}","project":{{"id":"p-1","name":"Fabrikam"}}}}}}}}"#
            )
        };
        // a forged work item naming a trusted tag, area and identity picks
        // nothing more than any work-item event: every repository, re-read
        let item = r#"{"eventType":"workitem.updated","resourceContainers":{"project":{"id":"p-1"}},
            "resource":{"fields":{"System.Tags":"ready-for-agent","System.AreaPath":"Fabrikam\\api",
            "System.ChangedBy":"root <root@example.org>"}}}"#;
        let comment = r#"{"resource":{"comment":{"id":1},"pullRequest":{"repository":{"id":"r-2","name":"web app","project":{"name":"Fabrikam"}},
            "reviewers":[{"uniqueName":"root","vote":10}]}}}"#;
        type Case<'a> = (Option<&'a str>, String, Work);
        let cases: Vec<Case> = vec![
            (Some("workitem.updated"), item.to_string(), every(Poll)),
            (Some("workitem.created"), "{}".into(), every(Poll)),
            (Some("workitem.commented"), "{}".into(), every(Poll)),
            (Some("workitem.deleted"), "{}".into(), every(Poll)),
            (Some("workitem.restored"), "{}".into(), every(Poll)),
            (Some("build.complete"), "{}".into(), every(Watch)),
            (
                Some("git.push"),
                push("api"),
                Work::Tick(Watch, "Fabrikam/api".into()),
            ),
            (
                Some("git.pullrequest.merged"),
                push("API"),
                Work::Tick(Watch, "Fabrikam/API".into()),
            ),
            (
                Some("ms.vss-code.git-pullrequest-comment-event"),
                comment.to_string(),
                Work::Tick(Watch, "Fabrikam/web app".into()),
            ),
            // named by its id alone: every repository's watch
            (
                Some("git.pullrequest.updated"),
                r#"{"resource":{"repository":{"id":"r-1"}}}"#.into(),
                every(Watch),
            ),
            (
                Some("git.push"),
                push("other"),
                Work::Ignored("Fabrikam/other is not in poll.allowlist".into()),
            ),
            (
                Some("git.push"),
                "{}".into(),
                Work::Ignored("event \"git.push\" names no repository".into()),
            ),
            (
                Some("tfvc.checkin"),
                push("api"),
                Work::Ignored("event \"tfvc.checkin\" is none afk uses".into()),
            ),
            (None, push("api"), Work::Ignored("no event kind".into())),
        ];
        for (event, body, want) in &cases {
            assert_eq!(
                work_over(Sender::AzureDevops, *event, body.as_bytes(), &allow),
                *want,
                "{event:?} {body}"
            );
        }
        assert_eq!(
            work_over(Sender::AzureDevops, Some("workitem.updated"), b"{}", &[]),
            Work::Ignored("poll.allowlist is empty".into())
        );
        // the other kinds as before: the repository their body names
        assert_eq!(
            work_over(
                Sender::Github,
                Some("issues"),
                br#"{"repository":{"full_name":"Fabrikam/api"}}"#,
                &allow
            ),
            Work::Tick(Poll, "Fabrikam/api".into())
        );
    }

    #[test]
    fn azure_hook_several_ticks_each_record_the_delivery_as_their_own() {
        let api = per_repo("s-1:3", "Fabrikam/api");
        let web = per_repo("s-1:3", "Fabrikam/web app");
        assert_ne!(api, web);
        assert!(
            api.starts_with("s-1:3@") && !web.contains(' '),
            "{api} {web}"
        );
        assert_eq!(
            per_repo("s-1:3", "fabrikam/API"),
            api,
            "names are case-insensitive"
        );
        let answer = Answer::Accepted(Work::Ticks(
            Poll,
            vec!["Fabrikam/api".into(), "Fabrikam/web app".into()],
        ));
        assert_eq!((answer.status().0, answer.exit()), (202, None));
        assert_eq!(
            answer.text(),
            "poll ticks for Fabrikam/api, Fabrikam/web app\n"
        );
    }
}
