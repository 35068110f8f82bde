//! Every key the schema knows, and the unknown-key error: its table, its
//! line and the known key it was probably meant to be.

use anyhow::Result;

use super::cfg_err;
use super::check::find_key_line;

/// Every key the schema knows, per table ("" is the top level).
/// `poll.priority`, `forge.azure_devops.area_paths`, `upgrade.registry_mirrors`
/// and `telemetry.resource` are free maps and are not checked key by key.
pub(super) const SCHEMA: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "state_path",
            "runs_dir",
            "stop_file",
            "metrics_file",
            "status_page",
            "status_issue",
            "tick_timeout",
            "forge",
            "poll",
            "runner",
            "watch",
            "budget",
            "notify",
            "hook",
            "gate",
            "harvest",
            "lessons",
            "report",
            "tracker",
            "upgrade",
            "telemetry",
        ],
    ),
    (
        "forge",
        &[
            "kind",
            "url",
            "api_url",
            "token_env",
            "token_file",
            "timeout",
            "concurrency",
            "retries",
            "app_id",
            "app_installation_id",
            "app_private_key_file",
            "vssps_url",
            "entra_token_file",
            "entra_token_env",
            "azure_devops",
        ],
    ),
    (
        "forge.azure_devops",
        &["work_item_types", "close_state", "area_paths"],
    ),
    (
        "poll",
        &[
            "enabled",
            "allowlist",
            "ready_label",
            "in_progress_label",
            "trusted_permission",
            "trusted_users",
            "max_in_flight",
            "max_per_tick",
            "template",
            "include_body",
            "priority",
            "expect_every",
        ],
    ),
    (
        "runner",
        &[
            "kind",
            "agent",
            "command",
            "resume_command",
            "workspace",
            "workdir",
            "git_cache",
            "stall_after",
            "agent_login",
            "url",
            "token_env",
            "prices",
            "kubernetes",
            "confine",
            "secret_env",
            "leftover_ignore",
            "box",
            "git_author",
            "progress_group",
            "model",
        ],
    ),
    (
        "runner.prices",
        &["input", "cached_input", "cache_write", "output", "models"],
    ),
    (
        "runner.model",
        &["gateway", "key_env", "upstream", "allow_features"],
    ),
    (
        "gate",
        &[
            "protected",
            "allow",
            "max_files",
            "max_bytes",
            "draft",
            "advisories",
            "dependency_sources",
        ],
    ),
    (
        "runner.box",
        &[
            "network",
            "allow",
            "read_only",
            "read_write",
            "memory",
            "tasks",
            "user",
            "env",
        ],
    ),
    (
        "runner.kubernetes",
        &[
            "api_url",
            "token_file",
            "ca_file",
            "namespace",
            "image",
            "service_account",
            "env_secret",
            "git_image",
            "git_secret",
            "model_secret",
            "model_secret_key",
            "cpu",
            "memory",
            "active_deadline",
            "ttl_after_finished",
        ],
    ),
    (
        "watch",
        &[
            "human_label",
            "fix_forward_max",
            "ci_contexts",
            "deploy_context",
            "checklist",
            "review_turns_max",
            "command_prefix",
            "update_branch",
            "retest_comment",
            "expect_every",
        ],
    ),
    (
        "budget",
        &[
            "run_usd",
            "day_usd",
            "repo_day_usd",
            "run_time",
            "pause_for",
            "max_run_usd",
            "max_run_time",
            "paused_label",
            "day_continuations",
        ],
    ),
    (
        "notify",
        &[
            "slack_webhook_env",
            "webhook_env",
            "heartbeat_env",
            "heartbeat",
            "events",
        ],
    ),
    ("notify.heartbeat", &["poll", "watch", "harvest", "upgrade"]),
    (
        "hook",
        &[
            "secret_env",
            "secret_file",
            "wait_lock",
            "max_body",
            "read_timeout",
        ],
    ),
    (
        "harvest",
        &[
            "canary",
            "sample",
            "min_samples",
            "check_every",
            "max_samples",
            "confidence",
            "graduate_at_max",
            "early_failures",
            "survival_window",
            "revert_window",
            "expect_every",
        ],
    ),
    (
        "lessons",
        &["enabled", "dedup_window", "in_prompt", "list_limit"],
    ),
    ("report", &["kept_floor"]),
    (
        "tracker",
        &[
            "kind",
            "url",
            "api_url",
            "auth",
            "email",
            "token_env",
            "token_file",
            "client_id_env",
            "client_id_file",
            "client_secret_env",
            "client_secret_file",
            "token_url",
            "timeout",
            "concurrency",
            "retries",
            "ready",
            "ready_status",
            "trusted_groups",
            "trusted_roles",
            "trusted_accounts",
            "done_transition",
            "blocked_by_link",
            "trusted_team_members",
            "done_state",
            "map",
            "hook_secret_env",
            "hook_secret_file",
        ],
    ),
    (
        "telemetry",
        &[
            "enabled",
            "endpoint",
            "headers_env",
            "headers_file",
            "timeout",
            "resource",
        ],
    ),
    (
        "upgrade",
        &[
            "recipes",
            "upstream",
            "mirror",
            "work_dir",
            "testme_comment",
            "ci_context",
            "max_test_runs",
            "allow_major",
            "max_open_prs",
            "registry_auth_env",
            "registry_auth_host",
            "max_tags",
            "template",
            "registry_mirrors",
            "scan_every",
            "verdict_timeout",
            "serial_tests",
            "tests_repo",
            "group_by",
            "min_release_age",
            "expect_every",
        ],
    ),
];

pub(super) fn check_unknown_keys(text: &str, value: &toml::Table) -> Result<()> {
    for (table, known) in SCHEMA {
        // a dotted name (`notify.heartbeat`) is a table inside a table
        let t = table
            .split('.')
            .filter(|p| !p.is_empty())
            .try_fold(value, |t, part| t.get(part).and_then(|v| v.as_table()));
        let Some(t) = t else { continue };
        for key in t.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let place = if table.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in [{table}]")
            };
            let line = find_key_line(text, table, key)
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            let hint = suggest(key, known)
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            return Err(cfg_err(format!(
                "config: unknown key \"{key}\" {place}{line}{hint}"
            )));
        }
    }
    Ok(())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) || (key.len() >= 4 && k.starts_with(key)))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use crate::config::tests::err;

    #[test]
    fn unknown_key_names_key_table_line_and_suggestion() {
        let e = err("[forge]\nurl = \"x\"\n\n[poll]\nenabled = true\nalowlist = []\n");
        assert_eq!(
            e,
            "config: unknown key \"alowlist\" in [poll] at line 6 (did you mean \"allowlist\"?)"
        );
    }

    #[test]
    fn unknown_keys_in_new_tables_are_rejected_with_a_suggestion() {
        let cases = [
            (
                "[budget]\nrun_usdd = 1.0\n",
                "\"run_usdd\" in [budget] at line 2 (did you mean \"run_usd\"?)",
            ),
            (
                "[notify]\nheartbeat_envv = \"X\"\n",
                "\"heartbeat_envv\" in [notify] at line 2 (did you mean \"heartbeat_env\"?)",
            ),
            (
                "metrics = \"m\"\n",
                "\"metrics\" at the top level at line 1 (did you mean \"metrics_file\"?)",
            ),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.contains(want), "case {text:?}: {e}");
        }
    }

    #[test]
    fn unknown_top_level_table_is_rejected() {
        let e = err("[polll]\nenabled = true\n");
        assert!(
            e.contains("unknown key \"polll\" at the top level at line 1"),
            "{e}"
        );
        assert!(e.contains("did you mean \"poll\""), "{e}");
    }
}
