//! A person's change in the tracker ends a run through `afk hook` alone
//! (docs/trackers.md, "A run ends in Jira too" and "Webhooks"): the
//! delivery's tick polls and then watches the run in flight, so the run is
//! abandoned before the hook answers, with no watch tick of its own. The
//! delivery of afk's own write (its in-progress label) abandons nothing:
//! that tick's watch carries the run on (here its pull request opens).
//! Each change on Jira (into Done, into another done status, afk's label
//! taken off, a move to a project the map sends nowhere) and on Linear
//! (into Done, into Canceled, afk's label taken off, a move to a project
//! the map does not name).

use crate::support::*;
use crate::tracker_linear::{config_with, deliver};
use serde_json::{Value, json};

/// The run's state and why it ended, as the state file has them.
fn run_state(afk: &Afk) -> (String, String) {
    let rows = afk.sql_rows("SELECT state, end_reason FROM runs WHERE id = 1");
    (rows[0][0].clone(), rows[0][1].clone())
}

#[test]
fn a_person_ending_a_jira_issue_abandons_its_run_through_the_hook_alone() {
    let secret = "jira-hook-secret-9a41";
    let cases: [(&str, Value); 4] = [
        ("status", json!("done")),
        (
            "status",
            json!({"id": "10200", "name": "Won't Do", "category": "done"}),
        ),
        ("label", Value::Null),
        ("project", json!("OPS")),
    ];
    for (n, (field, to)) in cases.into_iter().enumerate() {
        let (sb, mut afk) = crate::tracker_jira::world();
        config_with(
            &afk,
            "trusted_groups = [\"g-dev\"]",
            "trusted_groups = [\"g-dev\"]\nhook_secret_env = \"AFK_TEST_JIRA_HOOK\"",
        );
        afk.env.push(("AFK_TEST_JIRA_HOOK".into(), secret.into()));
        let id = crate::tracker_jira::issue(&sb, "alice-1", &[]);
        crate::tracker_jira::arm(&sb, &id, "alice-1", Value::Null);
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(afk.wait_agent(1), 0);
        let delivered = |k: u32| {
            let body = json!({"timestamp": 1796000000000u64 + k as u64,
                "webhookEvent": "jira:issue_updated",
                "issue": {"id": id, "key": "PLAT-1", "fields": {"project": {"key": "PLAT"}}}})
            .to_string();
            let headers = vec![
                format!(
                    "X-Hub-Signature: sha256={}",
                    crate::hook::hex_mac(secret, &body)
                ),
                format!("X-Atlassian-Webhook-Identifier: {n}-{k}"),
            ];
            let (code, out, err) = deliver(&afk, &body, &headers);
            assert_eq!(code, 0, "{field}: {out}{err}");
            assert!(out.starts_with("HTTP/1.1 202 "), "{field}: {out}{err}");
            err
        };
        // the delivery of afk's own label write ends nothing
        let err = delivered(1);
        assert_eq!(run_state(&afk).0, "dispatched", "{field}: {err}");
        match field {
            "label" => {
                sb.admin(
                    "POST",
                    "/jira/label",
                    Some(json!({"issue": id, "by": "alice-1", "remove": ["agent-in-progress"]})),
                );
            }
            _ => {
                sb.admin(
                    "POST",
                    "/jira/edit",
                    Some(json!({"issue": id, "by": "alice-1", "field": field, "to": to})),
                );
            }
        }
        let err = delivered(2);
        assert_eq!(
            run_state(&afk),
            ("abandoned".to_string(), "abandoned".to_string()),
            "{field} {to}: {err}"
        );
    }
}

#[test]
fn a_person_ending_a_linear_issue_abandons_its_run_through_the_hook_alone() {
    let secret = "lin_wh_3c7e0";
    for (n, (field, to)) in [
        ("state", json!("Done")),
        ("state", json!("Canceled")),
        ("labels", Value::Null),
        ("project", json!("Mobile")),
    ]
    .into_iter()
    .enumerate()
    {
        let (sb, mut afk, p) = crate::tracker_linear::world();
        for name in ["Website", "Mobile"] {
            sb.admin("POST", "/linear/project", Some(json!({"name": name})));
        }
        config_with(
            &afk,
            "team = \"ENG\"\n",
            "team = \"ENG\"\nproject = \"Website\"\n",
        );
        config_with(
            &afk,
            "kind = \"linear\"\n",
            "kind = \"linear\"\nhook_secret_env = \"AFK_TEST_LINEAR_HOOK\"\n",
        );
        afk.env.push(("AFK_TEST_LINEAR_HOOK".into(), secret.into()));
        let made = sb.admin(
            "POST",
            "/linear/issue",
            Some(
                json!({"team": "ENG", "title": "Fix the parser", "creator": p.alice,
                        "project": "Website"}),
            ),
        );
        let (key, id) = (
            made["identifier"].as_str().unwrap().to_string(),
            made["id"].as_str().unwrap().to_string(),
        );
        crate::tracker_linear::arm(&sb, &key, Some(&p.alice));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(afk.wait_agent(1), 0);
        let delivered = |k: u32| {
            let body = json!({"action": "update", "type": "Issue",
                "data": {"id": id, "teamId": "t"},
                "webhookTimestamp": crate::tracker_linear::now_ms(), "webhookId": "w1"})
            .to_string();
            let headers = vec![
                format!("Linear-Signature: {}", crate::hook::hex_mac(secret, &body)),
                format!("Linear-Delivery: 8d1f0c4e-0000-4000-8000-00000000{n:02}{k:02}"),
            ];
            let (code, out, err) = deliver(&afk, &body, &headers);
            assert_eq!(code, 0, "{field}: {out}{err}");
            assert!(out.starts_with("HTTP/1.1 200 "), "{field}: {out}{err}");
            err
        };
        let err = delivered(1);
        assert_eq!(run_state(&afk).0, "dispatched", "{field}: {err}");
        match field {
            "labels" => sb.admin(
                "POST",
                "/linear/labels",
                Some(json!({"issue": key, "by": p.alice, "remove": ["agent-in-progress"]})),
            ),
            _ => sb.admin(
                "POST",
                "/linear/edit",
                Some(json!({"issue": key, "by": p.alice, "field": field, "to": to})),
            ),
        };
        let err = delivered(2);
        assert_eq!(
            run_state(&afk),
            ("abandoned".to_string(), "abandoned".to_string()),
            "{field} {to}: {err}"
        );
    }
}
