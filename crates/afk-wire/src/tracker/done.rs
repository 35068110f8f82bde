//! Which of Jira's transitions moves a finished run's issue into Done
//! (docs/trackers.md#a-run-ends-in-jira-too): the one named
//! `done_transition` when it is set, else the first whose target's status
//! category is `done`; an entry without `isAvailable` counts as available
//! (the contract's own example has such entries), one with `false` never.
//! Jira lists only the transitions afk's account may make, so an empty
//! list is also what a missing permission looks like
//! (docs/fidelity/jira-cloud.md).

use serde_json::Value;

/// The transition to make: its id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraTransition {
    pub id: String,
    pub name: String,
}

/// The transition into Done of `list` (the `transitions` of `GET
/// …/transitions`), by `wanted`'s name when it is not empty (compared
/// whole, as Jira shows it); None when no entry fits.
pub fn jira_transition(list: &[Value], wanted: &str) -> Option<JiraTransition> {
    list.iter()
        .filter(|t| t.get("isAvailable").and_then(Value::as_bool) != Some(false))
        .find(|t| match wanted.is_empty() {
            true => t.pointer("/to/statusCategory/key").and_then(Value::as_str) == Some("done"),
            false => t.get("name").and_then(Value::as_str) == Some(wanted),
        })
        .and_then(|t| {
            Some(JiraTransition {
                id: t.get("id")?.as_str()?.to_string(),
                name: t
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(id: &str, name: &str, to: &str, available: Option<bool>) -> Value {
        let mut v =
            json!({"id": id, "name": name, "to": {"name": name, "statusCategory": {"key": to}}});
        if let Some(a) = available {
            v["isAvailable"] = json!(a);
        }
        v
    }

    #[test]
    fn the_done_transition_is_the_named_one_else_the_first_available_into_done() {
        let start = t("21", "Start", "indeterminate", Some(true));
        let close = t("41", "Close", "done", Some(true));
        let done = t("31", "Done", "done", None);
        let ship = t("51", "Ship it", "done", Some(true));
        let locked = t("61", "Ship it", "done", Some(false));
        let cases: Vec<(&str, Vec<Value>, &str, Option<&str>)> = vec![
            (
                "the first into done",
                vec![start.clone(), close.clone(), done.clone()],
                "",
                Some("41"),
            ),
            (
                "no isAvailable counts as available",
                vec![start.clone(), done.clone()],
                "",
                Some("31"),
            ),
            (
                "an unavailable one is passed over",
                vec![locked.clone(), done.clone()],
                "",
                Some("31"),
            ),
            (
                "the named one, not the first",
                vec![close.clone(), ship.clone()],
                "Ship it",
                Some("51"),
            ),
            (
                "the named one unavailable is none",
                vec![locked.clone(), close.clone()],
                "Ship it",
                None,
            ),
            (
                "a name is compared whole, case and all",
                vec![ship.clone()],
                "ship it",
                None,
            ),
            ("none into done", vec![start.clone()], "", None),
            ("an empty list (no permission)", vec![], "", None),
            (
                "an entry with no id",
                vec![json!({"name": "Done", "to": {"statusCategory": {"key": "done"}}})],
                "",
                None,
            ),
        ];
        for (rule, list, wanted, want) in cases {
            let got = jira_transition(&list, wanted);
            assert_eq!(got.as_ref().map(|t| t.id.as_str()), want, "{rule}");
        }
    }
}
