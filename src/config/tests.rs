//! The tests of the whole config: defaults, load errors, the starter file,
//! and the helpers every section's tests use.

use super::schema::SCHEMA;
use super::*;
use crate::config::check::find_key_line;

pub(super) const BASE: &str = "/nonexistent/afk-config-test";

pub(super) fn parse(s: &str) -> Result<Config> {
    Config::parse(s, Path::new(BASE))
}

pub(super) fn err(s: &str) -> String {
    match parse(s) {
        Ok(_) => panic!("config accepted:\n{s}"),
        Err(e) => {
            assert!(
                crate::hint::unhinted(&e).is::<ConfigError>(),
                "not a ConfigError: {e}"
            );
            e.to_string()
        }
    }
}

#[test]
fn expect_every_defaults_match_contrib_and_a_bad_value_is_one_line() {
    use crate::types::TickKind;
    let c = parse("").unwrap();
    let m = |n: u64| Duration::from_secs(60 * n);
    let want = [
        (TickKind::Poll, m(5)),
        (TickKind::Watch, m(5)),
        (TickKind::Harvest, m(15)),
        (TickKind::Upgrade, m(15)),
    ];
    for (kind, every) in want {
        assert_eq!(c.expect_every(kind), every, "{kind:?}: contrib's schedule");
    }
    let c = parse("[upgrade]\nexpect_every = \"1h\"\n").unwrap();
    assert_eq!(c.expect_every(TickKind::Upgrade), m(60));
    let table = [
        (
            "[poll]\nexpect_every = \"soon\"\n",
            "config: poll.expect_every at line 2",
        ),
        (
            "[watch]\nexpect_every = \"30s\"\n",
            "config: watch.expect_every at line 2: \"30s\" is out of range",
        ),
        (
            "[harvest]\nexpect_every = \"8d\"\n",
            "config: harvest.expect_every at line 2: \"8d\" is out of range",
        ),
    ];
    for (text, start) in table {
        let e = err(text);
        assert!(e.starts_with(start) && !e.contains('\n'), "{e}");
    }
}

#[test]
fn defaults_ship_disabled_with_empty_allowlist() {
    let c = parse("").unwrap();
    assert!(!c.poll.enabled);
    assert!(c.poll.allowlist.is_empty());
    assert_eq!(c.poll.ready_label, "ready-for-agent");
    assert_eq!(c.forge.concurrency, 8);
    assert_eq!(c.forge.kind, ForgeKind::Gitea);
    assert_eq!(c.runner.kind, RunnerKind::Command);
    assert_eq!(c.poll.trusted_permission, Access::Write);
    assert_eq!(c.forge_timeout(), Duration::from_secs(30));
    assert_eq!(c.stall_after(), Duration::from_secs(3 * 3600));
    assert_eq!(c.lessons.dedup_window, Duration::from_secs(3600));
    assert_eq!(c.harvest.revert_window, Duration::from_secs(7 * 86400));
    assert_eq!(c.harvest.survival_window, Duration::from_secs(30 * 86400));
    assert_eq!(c.harvest.graduate_at_max, 0.5);
    assert_eq!(c.upgrade.template, "upgrader");
    assert!(c.upgrade.registry_mirrors.is_empty());
    assert_eq!(c.budget.run_usd, 0.0);
    assert_eq!(c.budget.run_time, None);
    assert_eq!(c.metrics_file(), None);
    assert_eq!(c.runner.agent_login, "");
}

#[test]
fn wrong_type_is_a_config_error_naming_key_and_line() {
    let e = err("[poll]\nmax_in_flight = \"four\"\n");
    assert!(
        e.starts_with("config: poll.max_in_flight at line 2: "),
        "{e}"
    );
}

#[test]
fn durations_out_of_their_key_bounds_are_rejected() {
    let cases = [
        (
            "[forge]\ntimeout = \"0s\"\n",
            Some("forge.timeout at line 2"),
        ),
        (
            "[forge]\ntimeout = \"500ms\"\n",
            Some("forge.timeout at line 2"),
        ),
        ("[forge]\ntimeout = \"1s\"\n", None),
        ("[forge]\ntimeout = \"10m\"\n", None),
        (
            "[forge]\ntimeout = \"601s\"\n",
            Some("forge.timeout at line 2"),
        ),
        (
            "[runner]\nstall_after = \"0s\"\n",
            Some("runner.stall_after at line 2"),
        ),
        (
            "[runner]\nstall_after = \"59s\"\n",
            Some("runner.stall_after at line 2"),
        ),
        ("[runner]\nstall_after = \"1m\"\n", None),
        ("[runner]\nstall_after = \"30d\"\n", None),
        (
            "[runner]\nstall_after = \"31d\"\n",
            Some("runner.stall_after at line 2"),
        ),
        ("[lessons]\ndedup_window = \"0s\"\n", None),
        ("[lessons]\ndedup_window = \"365d\"\n", None),
        (
            "[lessons]\ndedup_window = \"366d\"\n",
            Some("lessons.dedup_window at line 2"),
        ),
        ("[harvest]\nrevert_window = \"0s\"\n", None),
        (
            "[harvest]\nrevert_window = \"366d\"\n",
            Some("harvest.revert_window at line 2"),
        ),
        ("[harvest]\nsurvival_window = \"1s\"\n", None),
        (
            "[harvest]\nsurvival_window = \"0s\"\n",
            Some("harvest.survival_window at line 2"),
        ),
        ("[budget]\nrun_time = \"\"\n", None),
        ("[budget]\nrun_time = \"4h\"\n", None),
        (
            "[budget]\nrun_time = \"31d\"\n",
            Some("budget.run_time at line 2"),
        ),
        (
            "[budget]\nrun_time = \"later\"\n",
            Some("budget.run_time at line 2"),
        ),
        ("[budget]\npause_for = \"0s\"\n", None),
        ("[budget]\npause_for = \"\"\n", None),
        // a run at a limit pauses for up to 30 days
        ("[budget]\npause_for = \"7d\"\n", None),
        (
            "[budget]\npause_for = \"31d\"\n",
            Some("budget.pause_for at line 2"),
        ),
        (
            "[budget]\npause_for = \"soon\"\n",
            Some("budget.pause_for at line 2"),
        ),
        ("[budget]\nmax_run_time = \"\"\n", None),
        ("[budget]\nmax_run_time = \"12h\"\n", None),
        ("[budget]\nrun_time = \"4h\"\nmax_run_time = \"4h\"\n", None),
        (
            "[budget]\nrun_time = \"4h\"\nmax_run_time = \"2h\"\n",
            Some("budget.max_run_time at line 3"),
        ),
        (
            "[budget]\nmax_run_time = \"31d\"\n",
            Some("budget.max_run_time at line 2"),
        ),
    ];
    assert_loads_or_names(&cases);
}

/// Each text loads (None) or fails with one line naming the key and line.
pub(super) fn assert_loads_or_names(cases: &[(&str, Option<&str>)]) {
    for &(text, want) in cases {
        match (parse(text), want) {
            (Ok(_), None) => {}
            (Err(e), Some(w)) => {
                let e = e.to_string();
                assert!(
                    e.starts_with(&format!("config: {w}: ")),
                    "case {text:?}: {e}"
                );
                assert_eq!(e.lines().count(), 1, "case {text:?}: {e}");
            }
            (got, want) => panic!("case {text:?}: got {:?}, want {want:?}", got.err()),
        }
    }
}

#[test]
fn typed_durations_are_stored_at_load() {
    let c = parse(
        "[forge]\ntimeout = \"5s\"\n[runner]\nstall_after = \"2h\"\n\
         [lessons]\ndedup_window = \"0s\"\n[harvest]\nrevert_window = \"3d\"\n\
         [budget]\nrun_time = \"4h\"\n",
    )
    .unwrap();
    assert_eq!(c.forge_timeout(), Duration::from_secs(5));
    assert_eq!(c.stall_after(), Duration::from_secs(7200));
    assert_eq!(c.lessons.dedup_window, Duration::ZERO);
    assert_eq!(c.harvest.revert_window, Duration::from_secs(3 * 86400));
    assert_eq!(c.budget.run_time, Some(Duration::from_secs(4 * 3600)));
    let c = parse("[budget]\nrun_time = \"0s\"\n").unwrap();
    assert_eq!(c.budget.run_time, None, "\"0s\" means no limit");
}

#[test]
fn numbers_out_of_their_key_bounds_are_rejected() {
    let cases = [
        (
            "[forge]\nconcurrency = 0\n",
            Some("forge.concurrency at line 2"),
        ),
        ("[forge]\nconcurrency = 1\n", None),
        ("[forge]\nconcurrency = 64\n", None),
        (
            "[forge]\nconcurrency = 65\n",
            Some("forge.concurrency at line 2"),
        ),
        ("[forge]\nretries = 10\n", None),
        ("[forge]\nretries = 11\n", Some("forge.retries at line 2")),
        ("[forge]\nretries = -1\n", Some("forge.retries at line 2")),
        ("[harvest]\nsample = 0.0\n", None),
        ("[harvest]\nsample = 1.0\n", None),
        (
            "[harvest]\nsample = 1.5\n",
            Some("harvest.sample at line 2"),
        ),
        (
            "[harvest]\nsample = nan\n",
            Some("harvest.sample at line 2"),
        ),
        (
            "[harvest]\nconfidence = 0.5\n",
            Some("harvest.confidence at line 2"),
        ),
        ("[harvest]\nconfidence = 0.51\n", None),
        (
            "[harvest]\nconfidence = 1.0\n",
            Some("harvest.confidence at line 2"),
        ),
        ("[harvest]\ngraduate_at_max = 0.0\n", None),
        (
            "[harvest]\ngraduate_at_max = 1.0\n",
            Some("harvest.graduate_at_max at line 2"),
        ),
        (
            "[harvest]\ngraduate_at_max = -0.1\n",
            Some("harvest.graduate_at_max at line 2"),
        ),
        (
            "[harvest]\nmin_samples = 0\n",
            Some("harvest.min_samples at line 2"),
        ),
        (
            "[harvest]\ncheck_every = 0\n",
            Some("harvest.check_every at line 2"),
        ),
        (
            "[harvest]\nmin_samples = 30\nmax_samples = 29\n",
            Some("harvest.max_samples at line 3"),
        ),
        ("[harvest]\nmin_samples = 30\nmax_samples = 30\n", None),
        ("[harvest]\nearly_failures = 0\n", None),
        (
            "[harvest]\nearly_failures = -1\n",
            Some("harvest.early_failures at line 2"),
        ),
        ("[budget]\nrun_usd = 2.5\nday_usd = 20\n", None),
        (
            "[budget]\nrun_usd = 2.5\nday_usd = 20.0\nrepo_day_usd = 5.0\n",
            None,
        ),
        (
            "[budget]\nrun_usd = -1.0\n",
            Some("budget.run_usd at line 2"),
        ),
        (
            "[budget]\nrepo_day_usd = inf\n",
            Some("budget.repo_day_usd at line 2"),
        ),
        ("[budget]\nmax_run_usd = 0.0\n", None),
        ("[budget]\nrun_usd = 2.0\nmax_run_usd = 20.0\n", None),
        ("[budget]\nrun_usd = 2.0\nmax_run_usd = 2.0\n", None),
        (
            "[budget]\nrun_usd = 2.0\nmax_run_usd = 1.0\n",
            Some("budget.max_run_usd at line 3"),
        ),
        (
            "[budget]\nmax_run_usd = -5.0\n",
            Some("budget.max_run_usd at line 2"),
        ),
        ("[budget]\npaused_label = \"\"\n", None),
        ("[budget]\npaused_label = \"on-hold\"\n", None),
        (
            "[budget]\npaused_label = \" on-hold\"\n",
            Some("budget.paused_label at line 2"),
        ),
        (
            "[budget]\npaused_label = \"agent-in-progress\"\n",
            Some("budget.paused_label at line 2"),
        ),
        (
            "[upgrade]\nmax_test_runs = 0\n",
            Some("upgrade.max_test_runs at line 2"),
        ),
    ];
    assert_loads_or_names(&cases);
}

#[test]
fn enums_are_typed_and_checked() {
    // the forge kinds are named from the model's list, so a new kind is no edit here
    let kinds = ForgeKind::NAMES.join(", ");
    let cases = [
        (
            "[forge]\nkind = \"no-such-forge\"\n",
            format!("config: forge.kind at line 2: \"no-such-forge\" is not one of {kinds}"),
        ),
        (
            "[runner]\nkind = \"ssh\"\n",
            "config: runner.kind at line 2: \"ssh\" is not one of command, http, kubernetes".into(),
        ),
        (
            "[poll]\ntrusted_permission = \"owner\"\n",
            "config: poll.trusted_permission at line 2: \"owner\" is not one of read, write, admin"
                .into(),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "case {text:?}");
    }
    let e = err("[notify]\nevents = [\"run.exploded\"]\n");
    assert!(
        e.starts_with("config: notify.events at line 2: unknown event"),
        "{e}"
    );
    let c = parse("[forge]\nkind = \"github\"\n[poll]\ntrusted_permission = \"admin\"\n[runner]\nkind = \"http\"\nurl = \"http://x\"\n").unwrap();
    assert_eq!(c.forge.kind, ForgeKind::Github);
    assert_eq!(c.poll.trusted_permission, Access::Admin);
    assert_eq!(c.runner.kind, RunnerKind::Http);
    assert_eq!(c.runner.kind.to_string(), "http");
    assert_eq!(ForgeKind::Forgejo.as_str(), "forgejo");
    assert!(Access::Admin > Access::Write && Access::Write > Access::Read);
}

#[test]
fn the_status_issue_is_owner_repo_hash_n_parsed_once_naming_key_and_line() {
    let cases = [
        ("", None, None),
        ("status_issue = \"\"\n", None, None),
        ("status_issue = \"acme/ops#7\"\n", Some("acme/ops#7"), None),
        (
            "status_issue = \"acme/ops\"\n",
            None,
            Some("config: status_issue at line 1: \"acme/ops\" is not \"owner/repo#N\""),
        ),
        (
            "\nstatus_issue = \"acme/ops#0\"\n",
            None,
            Some("config: status_issue at line 2: \"acme/ops#0\" is not \"owner/repo#N\""),
        ),
    ];
    for (text, want, err) in cases {
        match (parse(text), err) {
            (Ok(c), None) => assert_eq!(
                c.status_issue.as_ref().map(|r| r.to_string()).as_deref(),
                want,
                "case {text:?}"
            ),
            (Err(e), Some(w)) => assert_eq!(e.to_string(), w, "case {text:?}"),
            (got, want) => panic!("case {text:?}: got {:?}, want {want:?}", got.err()),
        }
    }
}

#[test]
fn starter_config_parses_with_the_defaults() {
    let c = parse(STARTER).unwrap();
    let d = Config::default();
    assert!(!c.poll.enabled);
    assert!(c.poll.allowlist.is_empty());
    assert_eq!(c.forge.timeout, d.forge.timeout);
    assert_eq!(c.runner.stall_after, d.runner.stall_after);
    assert_eq!(c.harvest.revert_window, d.harvest.revert_window);
    assert_eq!(c.harvest.survival_window, d.harvest.survival_window);
    assert_eq!(c.harvest.graduate_at_max, d.harvest.graduate_at_max);
    assert_eq!(c.upgrade.template, d.upgrade.template);
    assert_eq!(c.notify.events, d.notify.events);
    assert_eq!(c.budget.run_time, None);
    assert_eq!(c.metrics_file(), None);
}

/// `afk init --forge <kind>`: each kind's starter loads as that kind, with
/// its example URL; GitLab's asks for rebases (its API cannot merge the base
/// in, and `"merge"` is a config error there); Gitea's is the starter itself.
#[test]
fn starter_for_each_forge_kind_loads_as_that_kind() {
    use crate::types::UpdateStyle;
    let cases = [
        (
            ForgeKind::Gitea,
            "https://git.example.org",
            UpdateStyle::Merge,
        ),
        (
            ForgeKind::Forgejo,
            "https://git.example.org",
            UpdateStyle::Merge,
        ),
        (ForgeKind::Github, "https://github.com", UpdateStyle::Merge),
        (
            ForgeKind::Gitlab,
            "https://gitlab.example.org",
            UpdateStyle::Rebase,
        ),
        (
            ForgeKind::AzureDevops,
            "https://dev.azure.com/fabrikam",
            UpdateStyle::Merge,
        ),
    ];
    assert_eq!(cases.len(), ForgeKind::ALL.len());
    for (kind, url, update) in cases {
        let text = starter_for(kind);
        if let Some(why) = crate::forge::profile::of(kind).not_yet {
            // a kind still being built is refused at load, naming the key
            let e = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("forge.kind") && e.contains(why), "{kind}: {e}");
            continue;
        }
        let c = parse(&text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!((c.forge.kind, c.forge.url.as_str()), (kind, url));
        assert_eq!(c.watch.update_branch, Some(update), "{kind}");
        assert_eq!(text.lines().count(), STARTER.lines().count(), "{kind}");
    }
    assert_eq!(starter_for(ForgeKind::Gitea), STARTER);
}

#[test]
fn starter_config_values_are_the_defaults_but_the_forge_url() {
    let mut c = parse(STARTER).unwrap();
    let d = parse("").unwrap();
    assert_eq!(c.forge.url, "https://git.example.org");
    c.forge.url = d.forge.url.clone();
    // written out in the starter, read the same as when left out
    assert_eq!(c.runner.agent(), d.runner.agent());
    assert_eq!(c.runner.workspace(), d.runner.workspace());
    assert_eq!(c.runner.confine(), d.runner.confine());
    c.runner.agent_key = d.runner.agent_key;
    c.runner.workspace_key = d.runner.workspace_key;
    c.runner.confine_key = d.runner.confine_key;
    let tables = |c: &Config| {
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            (&c.state_path, &c.runs_dir, &c.stop_file, &c.metrics_file),
            c.forge,
            c.poll,
            c.runner,
            c.watch,
            c.budget,
            c.notify,
            c.harvest,
            c.lessons,
            c.upgrade
        )
    };
    let (starter, defaults) = (tables(&c), tables(&d));
    for (a, b) in starter.lines().zip(defaults.lines()) {
        assert_eq!(a, b, "the starter config says \"with its default\"");
    }
}

#[test]
fn starter_config_shows_every_schema_key() {
    for (table, keys) in SCHEMA {
        for key in *keys {
            let commented = STARTER.lines().any(|l| {
                let l = l.trim_start_matches('#').trim_start();
                l.split_once('=').is_some_and(|(k, _)| k.trim() == *key)
            });
            let shown = find_key_line(STARTER, table, key).is_some()
                || commented
                || STARTER.contains(&format!("# or {key} ="))
                || STARTER.contains(&format!("[{key}]"))
                || STARTER.contains(&format!("# [{table}.{key}]"));
            assert!(shown, "starter config lacks {table}.{key}");
        }
    }
}

#[test]
fn a_models_price_needs_only_what_its_api_bills() {
    let base = std::path::Path::new("/");
    // OpenAI bills no cache writes: input, cached input and output do
    let c = Config::parse(
        "[runner.prices.models.\"gpt-5-codex\"]\ninput = 1.25\ncached_input = 0.125\noutput = 10.0\n",
        base,
    )
    .unwrap();
    let p = c.runner.prices.models()["gpt-5-codex"];
    assert_eq!(
        (p.input, p.cached_input, p.cache_write, p.output),
        (1.25, 0.125, 0.0, 10.0)
    );
    // input and output alone; without output: a config error naming it
    assert!(
        Config::parse(
            "[runner.prices.models.\"m\"]\ninput = 1.0\noutput = 2.0\n",
            base
        )
        .is_ok()
    );
    let e = Config::parse("[runner.prices.models.\"m\"]\ninput = 1.0\n", base).unwrap_err();
    assert!(format!("{e:#}").contains("output"), "{e:#}");
}

#[test]
fn an_advisories_folder_must_be_readable_and_is_refused_where_the_runner_cannot_use_it() {
    let here = std::env::temp_dir();
    let there = here.display().to_string();
    let cases = [
        (format!("[gate]\nadvisories = \"{there}\"\n"), None),
        // relative: from the config's folder, which does not exist here
        (
            "[gate]\nadvisories = \"osv\"\n".to_string(),
            Some("gate.advisories"),
        ),
        ("[gate]\nadvisories = \"\"\n".to_string(), None),
        (
            format!("[gate]\nadvisories = \"{there}/afk-no-such-folder-7\"\n"),
            Some("gate.advisories"),
        ),
        (
            format!(
                "[runner]\nkind = \"kubernetes\"\n\n[runner.kubernetes]\ngit_secret = \"afk-git\"\nimage = \"a/b:1\"\n\n[gate]\nadvisories = \"{there}\"\n"
            ),
            Some("gate.advisories"),
        ),
    ];
    for (text, want) in cases {
        match (parse(&text), want) {
            (Ok(c), None) => assert_eq!(
                c.advisories_dir().is_some(),
                text.contains(there.as_str()),
                "{text}"
            ),
            (Err(e), Some(w)) => assert!(e.to_string().contains(w), "{text}: {e}"),
            (got, want) => panic!("{text}: got {:?}, want {want:?}", got.err()),
        }
    }
}

#[test]
fn a_bare_word_where_a_value_goes_is_named_in_the_files_words() {
    let cases = [
        (
            "[poll]\nenabled = ture\n",
            "config: poll.enabled at line 2: ture is not a value (true or false, a number, or text in quotes: \"ture\")",
        ),
        (
            "state_path = /var/lib/afk/afk.db\n",
            "config: state_path at line 1: /var/lib/afk/afk.db is not a value",
        ),
        (
            "[poll]\nenabled = yes # on\n",
            "config: poll.enabled at line 2: yes is not a value",
        ),
        // a key that may hold a secret: its value is never said back
        (
            "[forge]\ntoken = ghp_abc\n",
            "config: forge.token at line 2: a bare word is not a value",
        ),
        // anything else keeps TOML's own words
        ("[poll\n", "config: invalid TOML at line 1"),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.starts_with(want), "{text:?}: {e}");
    }
}

/// A key afk would not act on in this configuration is a config error naming
/// it, never a setting that silently does nothing: afk's commit keys where
/// the agent commits (or a Job's containers commit with afk's own list), the
/// gateway forced on where no box is made, a box's table where no box is
/// made, and `[upgrade]` on Azure DevOps, which `afk upgrade` does not speak.
#[test]
fn a_key_afk_would_not_act_on_here_is_a_config_error() {
    let kube = "kind = \"kubernetes\"\n";
    let kube_table = "\n[runner.kubernetes]\ngit_secret = \"afk-git\"\nimage = \"a/b:1\"\n";
    let azure = starter_for(ForgeKind::AzureDevops);
    let cases = [
        (
            format!("[runner]\n{kube}leftover_ignore = [\"*.tmp\"]\n{kube_table}"),
            Some("runner.leftover_ignore"),
        ),
        (format!("[runner]\n{kube}{kube_table}"), None),
        (
            format!("[runner]\n{kube}workdir = \"/w\"\n{kube_table}"),
            Some("runner.workdir"),
        ),
        (
            "[runner]\nurl = \"http://127.0.0.1:9/\"\n".into(),
            Some("runner.url"),
        ),
        (
            "[runner]\ntoken_env = \"AGENT_TOKEN\"\n".into(),
            Some("runner.token_env"),
        ),
        (
            "[runner]\nworkspace = \"agent\"\nleftover_ignore = [\"*.tmp\"]\n".into(),
            Some("runner.leftover_ignore"),
        ),
        (
            "[runner]\nworkspace = \"agent\"\ngit_author = \"A <a@example.org>\"\n".into(),
            Some("runner.git_author"),
        ),
        (
            "[runner]\nleftover_ignore = [\"*.tmp\"]\ngit_author = \"A <a@example.org>\"\n".into(),
            None,
        ),
        (
            "[runner]\nconfine = \"none\"\n\n[runner.model]\ngateway = \"on\"\n".into(),
            Some("runner.model.gateway"),
        ),
        ("[runner.model]\ngateway = \"on\"\n".into(), None),
        (
            "[runner]\nconfine = \"none\"\n\n[runner.model]\ngateway = \"auto\"\n".into(),
            None,
        ),
        (
            "[runner]\nconfine = \"none\"\n\n[runner.box]\nmemory = \"1GiB\"\n".into(),
            Some("runner.box.memory"),
        ),
        ("[runner.box]\nmemory = \"1GiB\"\n".into(), None),
        (
            "[runner.kubernetes]\nimage = \"a/b:1\"\n".into(),
            Some("runner.kubernetes.image"),
        ),
        (
            "[runner]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\n\n[runner.kubernetes]\nnamespace = \"afk\"\n".into(),
            Some("runner.kubernetes.namespace"),
        ),
        (
            "[runner.kubernetes]\nnamespace = \"\"\ncpu = \"1\"\nactive_deadline = \"6h\"\n".into(),
            None,
        ),
        // the starter's defaults, written out, are no setting
        (
            "[runner]\nconfine = \"none\"\nurl = \"\"\n\n[runner.box]\nnetwork = \"model\"\ntasks = 0\n".into(),
            None,
        ),
        (
            format!("{azure}\n[upgrade]\nrecipes = [\"wordpress\"]\n"),
            Some("upgrade.recipes"),
        ),
        (azure.clone(), None),
    ];
    for (text, want) in cases {
        match (parse(&text), want) {
            (Ok(_), None) => {}
            (Err(e), Some(w)) => {
                let e = e.to_string();
                assert!(
                    e.starts_with(&format!("config: {w} at line ")),
                    "{text}: {e}"
                );
                assert_eq!(e.lines().count(), 1, "{text}: {e}");
            }
            (got, want) => panic!("{text}: got {:?}, want {want:?}", got.err()),
        }
    }
}
