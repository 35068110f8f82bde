//! `afk hook` on Azure DevOps (docs/azure-devops.md): a service hook signs
//! nothing, so `Authorization: Basic` with the hook secret as its password
//! is the only proof, and anything else is 401 with nothing done; the event
//! and its id are in the body (`subscriptionId` + `notificationId`, else
//! `id`), and the same one again starts nothing; a work item's event polls
//! every allowlisted repository (afk keeps no project ids), a repository's
//! event watches that one; what a body says of tags, identities or votes
//! decides nothing, since the tick reads the forge itself.

use crate::hook::{HOOK, SECRET, basic_as, basic_auth, hex_mac, hook, runs};
use crate::support::*;
use serde_json::{Value, json};

const TWO: &str = "enabled = true\nallowlist = [\"acme/api\", \"acme/web\"]";
const ONE: &str = "enabled = true\nallowlist = [\"acme/api\"]";
/// Each allowlisted repository's area path (the sandbox's `owner\name`).
const PROJECT_ID: &str = "8f1c1a30-0000-4000-8000-0000000000aa";

/// The id of the subscription of event type `kind` (one per event type, as
/// the sandbox's and docs/azure-devops.md's).
fn subscription(kind: &str) -> String {
    format!("5a9b6e1c-{kind}")
}

/// A service hook's delivery of `kind` as the sandbox sends one: numbered
/// `notification` by its subscription, about `resource`.
fn event(kind: &str, notification: u64, resource: Value) -> String {
    json!({"subscriptionId": subscription(kind), "notificationId": notification,
        "id": format!("event-{kind}-{notification}"), "eventType": kind, "publisherId": "tfs",
        "message": {"text": kind}, "resource": resource, "resourceVersion": "1.0",
        "resourceContainers": {"project": {"id": PROJECT_ID, "baseUrl": "https://dev.azure.com/sandbox/"}},
        "createdDate": "2026-01-02T10:00:00Z"})
    .to_string()
}

/// A `GitRepository` of project acme, as a PR or push event carries it.
fn repository(name: &str) -> Value {
    json!({"id": format!("repo-{name}"), "name": name, "project": {"id": PROJECT_ID, "name": "acme"}})
}

fn unarmed(number: u64) -> Value {
    json!({"number": number, "title": format!("Issue {number}"), "body": "do it", "labels": []})
}

/// The state file made by a poll (a watch without one has nothing to do
/// and records nothing), the sandbox's requests cleared.
fn with_state(sb: &Sandbox, afk: &Afk) {
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "the state file: {err}");
    sb.clear_requests();
}

fn hook_ticks(afk: &Afk) -> Vec<Vec<String>> {
    afk.sql_rows("SELECT kind, count FROM hook_ticks ORDER BY kind")
}

fn pair(kind: &str, n: u64) -> Vec<String> {
    vec![kind.to_string(), n.to_string()]
}

#[test]
fn azure_hook_the_right_basic_password_is_202_and_starts_its_ticks() {
    with_dialect(Dialect::AzureDevops, || {
        let sb = Sandbox::start(json!({"repos": [
            repo("acme/api", json!([ready(1, "alice")])),
            repo("acme/web", json!([])),
        ]}));
        let afk = Afk::new(&sb, TWO, HOOK);
        // a work item's event: poll, then watch, for every allowlisted
        // repository (afk cannot map the project's id to a name)
        let body = event("workitem.updated", 1, json!({"workItemId": 1, "rev": 2}));
        let (code, out, err) = hook(&afk, &body, &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("HTTP/1.1 202 "), "{out}");
        assert!(
            out.ends_with("poll ticks for acme/api, acme/web\n"),
            "only the answer on stdout: {out}"
        );
        assert_eq!(
            runs(&afk),
            [("acme/api".to_string(), "1".to_string())],
            "{err}"
        );
        // one poll per repository; acme/api's run in flight: its watch
        assert_eq!(
            hook_ticks(&afk),
            [pair("poll", 2), pair("watch", 1)],
            "{err}"
        );
        // each repository's tick recorded the delivery as its own
        let ids: Vec<String> = afk
            .sql_rows("SELECT id FROM hook_deliveries")
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let sub = subscription("workitem.updated");
        for key in ["acme_2fapi", "acme_2fweb"] {
            let id = format!("{sub}:1@{key}");
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        // a push: watch for that repository alone
        let body = event(
            "git.push",
            1,
            json!({"repository": repository("web"),
            "refUpdates": [{"name": "refs/heads/main", "oldObjectId": "0".repeat(40), "newObjectId": "1".repeat(40)}]}),
        );
        let (code, out, err) = hook(&afk, &body, &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("watch tick for acme/web\n"), "{out}");
        assert_eq!(runs(&afk).len(), 1);
    })
}

#[test]
fn azure_hook_anything_but_the_right_basic_password_is_401_and_nothing_else() {
    with_dialect(Dialect::AzureDevops, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let afk = Afk::new(&sb, ONE, HOOK);
        let body = event("workitem.updated", 1, json!({"workItemId": 1}));
        let mac = hex_mac(SECRET, &body);
        let refused: Vec<Vec<String>> = vec![
            // the wrong password
            vec![basic_auth("not-the-secret")],
            // no Authorization at all
            vec![],
            // another kind's signature, one that would verify there
            vec![
                "X-GitHub-Event: issues".into(),
                format!("X-Hub-Signature-256: sha256={mac}"),
                "X-GitHub-Delivery: d-1".into(),
            ],
            vec![format!("X-Gitea-Signature: {mac}")],
            vec![format!("X-Gitlab-Token: {SECRET}")],
            // the secret, but not as Basic's password of a named user
            vec![basic_as("", SECRET)],
            vec![format!("Authorization: Bearer {SECRET}")],
            vec![format!("Authorization: {SECRET}")],
            // a second Authorization must verify too
            vec![basic_auth(SECRET), basic_auth("not-the-secret")],
        ];
        for headers in refused {
            let (code, out, err) = hook(&afk, &body, &headers);
            assert_eq!(code, 1, "{headers:?}: {out}{err}");
            assert!(out.starts_with("HTTP/1.1 401 "), "{headers:?}: {out}");
            assert_eq!(
                err.lines().filter(|l| l.contains("hook: 401")).count(),
                1,
                "{err}"
            );
            // nothing of the body read: not its event, not its id
            assert!(
                !err.contains("workitem") && !err.contains("5a9b6e1c"),
                "{err}"
            );
        }
        assert!(
            !afk.scratch.path("state").exists(),
            "no state file, no lock file"
        );
        assert!(sb.requests().is_empty(), "no forge request");
        assert!(runs(&afk).is_empty());
    })
}

#[test]
fn azure_hook_the_same_subscription_and_notification_starts_nothing_twice() {
    with_dialect(Dialect::AzureDevops, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
        let afk = Afk::new(&sb, ONE, HOOK);
        with_state(&sb, &afk);
        let push = |notification: u64, at: &str| {
            let mut v: Value = serde_json::from_str(&event(
                "git.push",
                notification,
                json!({"repository": repository("api")}),
            ))
            .unwrap();
            // a redelivery is the same notification; its body may differ
            // (the event's own id, its time): the id is what counts
            v["createdDate"] = json!(at);
            v["id"] = json!(format!("event-{at}"));
            v.to_string()
        };
        let (code, out, err) = hook(&afk, &push(5, "10:00"), &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("watch tick for acme/api\n"), "{out}");
        let (code, out, err) = hook(&afk, &push(5, "10:01"), &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("202 Accepted") && out.ends_with("delivery already handled\n"),
            "{out}"
        );
        // a work item's event ticks each repository: once, all the same
        let item = |at: &str| {
            let mut v: Value =
                serde_json::from_str(&event("workitem.updated", 6, json!({"workItemId": 1})))
                    .unwrap();
            v["createdDate"] = json!(at);
            v.to_string()
        };
        let (code, out, err) = hook(&afk, &item("10:02"), &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("poll ticks for acme/api\n"), "{out}");
        let (_, out, _) = hook(&afk, &item("10:03"), &[basic_auth(SECRET)]);
        assert!(out.ends_with("delivery already handled\n"), "{out}");
        // no subscription's numbering: the event's id names it
        let bare = |at: &str| {
            json!({"id": "event-bare-1", "eventType": "git.push", "createdDate": at,
                "resource": {"repository": repository("api")}})
            .to_string()
        };
        let (_, out, err) = hook(&afk, &bare("10:04"), &[basic_auth(SECRET)]);
        assert!(out.ends_with("watch tick for acme/api\n"), "{out}{err}");
        let (_, out, _) = hook(&afk, &bare("10:05"), &[basic_auth(SECRET)]);
        assert!(out.ends_with("delivery already handled\n"), "{out}");
        // a new notification is a new delivery
        let (_, out, _) = hook(&afk, &push(7, "10:06"), &[basic_auth(SECRET)]);
        assert!(out.ends_with("watch tick for acme/api\n"), "{out}");
        assert_eq!(hook_ticks(&afk), [pair("poll", 1), pair("watch", 3)]);
    })
}

#[test]
fn azure_hook_a_forged_body_changes_no_decision() {
    with_dialect(Dialect::AzureDevops, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([unarmed(1)]))]}));
        let afk = Afk::new(&sb, ONE, HOOK);
        with_state(&sb, &afk);
        // a work item that says it is armed, by the project's admin, in
        // acme/api's area: the tick reads the item, which is not
        let root =
            json!({"displayName": "root", "uniqueName": "root@example.org", "id": "root-id"});
        let armed = json!({"workItemId": 1, "rev": 9, "revisedBy": root,
            "fields": {"System.Tags": {"oldValue": "", "newValue": "ready-for-agent"},
                "System.ChangedBy": {"newValue": "root <root@example.org>"}},
            "revision": {"id": 1, "fields": {"System.Tags": "ready-for-agent",
                "System.AreaPath": "acme\\api", "System.TeamProject": "acme",
                "System.State": "To Do", "System.WorkItemType": "Issue"}}});
        let body = event("workitem.updated", 1, armed);
        // the user name is only logged: "root" grants nothing
        let (code, out, err) = hook(&afk, &body, &[basic_as("root", SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("poll ticks for acme/api\n"), "{out}");
        assert!(
            runs(&afk).is_empty(),
            "no agent for an item the forge says is not armed: {err}"
        );
        assert!(!sb.requests().is_empty(), "the tick read the forge itself");
        // a pull request approved and completed by the admin, and a comment
        // with a command: watch reads the forge, which has no such thing
        let approved = json!({"repository": repository("api"), "pullRequestId": 1, "status": "completed",
            "sourceRefName": "refs/heads/afk/issue-1", "targetRefName": "refs/heads/main",
            "reviewers": [{"uniqueName": "root@example.org", "vote": 10, "isRequired": true}],
            "createdBy": root});
        let body = event("git.pullrequest.updated", 1, approved.clone());
        let (code, out, err) = hook(&afk, &body, &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("watch tick for acme/api\n"), "{out}");
        let comment = json!({"comment": {"id": 1, "content": "/afk merge", "author": root},
            "pullRequest": approved});
        let body = event("ms.vss-code.git-pullrequest-comment-event", 1, comment);
        let (code, out, err) = hook(&afk, &body, &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("watch tick for acme/api\n"), "{out}");
        assert!(runs(&afk).is_empty());
        let touched: Vec<Value> = sb
            .writes()
            .into_iter()
            .filter(|w| {
                let path = w["path"].as_str().unwrap_or_default().to_lowercase();
                path.contains("/wit/workitems/1")
                    || path.contains("pullrequests")
                    || path.contains("/refs")
            })
            .collect();
        assert!(
            touched.is_empty(),
            "nothing armed, merged or moved: {touched:?}"
        );
    })
}

#[test]
fn azure_hook_another_event_or_repository_is_202_and_ignored() {
    with_dialect(Dialect::AzureDevops, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let afk = Afk::new(&sb, ONE, HOOK);
        let cases = [
            (
                event("git.push", 1, json!({"repository": repository("other")})),
                "ignored: acme/other is not in poll.allowlist",
            ),
            (
                event("tfvc.checkin", 1, json!({"repository": repository("api")})),
                "ignored: event \"tfvc.checkin\" is none afk uses",
            ),
            (
                // neither a repository nor a project (with only the
                // project's id, resource details Minimal, every allowlisted
                // repository's watch starts)
                {
                    let mut e: Value =
                        serde_json::from_str(&event("git.push", 2, json!({}))).unwrap();
                    e.as_object_mut().unwrap().remove("resourceContainers");
                    e.to_string()
                },
                "ignored: event \"git.push\" names no repository",
            ),
        ];
        for (body, said) in cases {
            let (code, out, err) = hook(&afk, &body, &[basic_auth(SECRET)]);
            assert_eq!(code, 0, "{out}{err}");
            assert!(
                out.starts_with("HTTP/1.1 202 ") && out.contains(said),
                "{out}"
            );
        }
        assert!(!afk.scratch.path("state").exists(), "no state file");
        assert!(sb.requests().is_empty(), "no forge request");
    })
}

/// The sandbox's CI is the project's pipeline: a run that ended is a
/// `build.complete` delivery as the service sends one (Microsoft's service
/// hook events, "Build completed": resource `build` with its `result`,
/// `resourceVersion` 2.0), and `afk hook` takes it as a watch of every
/// allowlisted repository, so a red CI is met on events alone, never left
/// for cron's next tick. A pending status is no build's end: nothing sent.
#[test]
fn azure_hook_a_finished_ci_run_is_delivered_as_build_complete_and_starts_a_watch() {
    with_dialect(Dialect::AzureDevops, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
        let afk = Afk::new(&sb, ONE, HOOK);
        let (url, deliveries) = crate::conversation::hook_receiver();
        sb.admin(
            "POST",
            "/webhook",
            Some(json!({"url": url, "secret": SECRET})),
        );
        sb.status("acme/api", "main", "ci/tests", "pending");
        let sha = sb.status("acme/api", "main", "ci/tests", "failure");
        let mut builds = vec![];
        let body = loop {
            let (_, b) = deliveries
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("the forge delivers the build's end");
            let d: Value = serde_json::from_str(&b).unwrap_or_default();
            if d["eventType"] == "build.complete" {
                builds.push(d.clone());
                break b;
            }
        };
        let d = &builds[0];
        assert_eq!(d["resourceVersion"], "2.0", "{d}");
        let build = &d["resource"];
        assert_eq!(build["status"], "completed", "{d}");
        assert_eq!(build["result"], "failed", "{d}");
        assert_eq!(build["sourceVersion"], sha.as_str(), "{d}");
        assert_eq!(build["definition"]["name"], "ci/tests", "{d}");
        let id = build["id"].as_u64().unwrap();
        assert!(
            build["url"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("/_apis/build/builds/{id}"))),
            "{d}"
        );
        let (code, out, err) = hook(&afk, &body, &[basic_auth(SECRET)]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("HTTP/1.1 202 "), "{out}");
        assert!(out.contains("watch tick"), "{out}");
        // the pending status sent no build of its own
        let sent = sb.admin("GET", "/webhooks", None);
        let completed = sent
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s.to_string().contains("build.complete"))
            .count();
        assert_eq!(completed, 1, "{sent}");
    })
}
