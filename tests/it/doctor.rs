//! `afk doctor` tells the truth (issue 31): what it says is ok is what a tick
//! can do. The systemd units' sandbox against every path a tick writes; the
//! `[upgrade]` section's mirrors, upstream, registries, work folder and fixer.

use crate::support::*;
use serde_json::{Value, json};

/// `afk --json doctor ARGS` over a sandbox with one repo and the config's
/// `extra` keys; (exit code, the checks named `name`).
fn doctor(afk: &Afk, args: &[&str], name: &str) -> (i32, Vec<Value>) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let (code, r, err) = afk.json(&all);
    let checks = r["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|c| c["check"] == name)
        .cloned()
        .collect();
    (code, checks)
}

fn one_repo() -> Sandbox {
    Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}))
}

/// contrib's sandbox: ProtectSystem=strict, the state folder writable, and
/// nothing else of the scratch folder.
fn poll_unit(afk: &Afk) -> std::path::PathBuf {
    let state = afk.scratch.path("state");
    afk.scratch.write(
        "afk-poll.service",
        &format!(
            "[Unit]\nDescription=afk poll\n[Service]\nType=oneshot\nStateDirectory=afk\n\
             ExecStart=/usr/local/bin/afk --config {config} -q poll\n\
             ReadWritePaths=-/var/lib/prometheus/node-exporter {state}\n\
             ProtectSystem=strict\n",
            state = state.display(),
            config = afk.config.display()
        ),
    )
}

#[test]
fn doctor_fails_a_status_page_outside_the_unit_s_writable_paths() {
    let sb = one_repo();
    let scratch_www = "status_page = \"www/index.html\"\n";
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("{scratch_www}{text}")).unwrap();
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    let unit = poll_unit(&afk);
    let www = afk.scratch.path("www");
    // the folder itself can be written from a shell: doctor's old "ok"
    let (_, page) = doctor(&afk, &[], "status page");
    assert_eq!(page[0]["level"], "ok", "{page:?}");
    let (code, checks) = doctor(&afk, &["--unit", unit.to_str().unwrap()], "systemd");
    assert_eq!(code, 1, "{checks:?}");
    assert_eq!(checks.len(), 1, "{checks:?}");
    let d = checks[0]["detail"].as_str().unwrap();
    assert_eq!(checks[0]["level"], "fail", "{d}");
    assert!(d.contains("afk-poll.service"), "the unit: {d}");
    assert!(
        d.contains(&format!("status_page's folder {}", www.display())),
        "the path: {d}"
    );
    assert!(
        d.contains(&format!("ReadWritePaths={}", www.display())),
        "the line: {d}"
    );
    assert!(
        !d.contains("state folder"),
        "the state folder is writable: {d}"
    );
    // a drop-in that adds the folder makes it ok
    let dropin = afk.scratch.path("afk-poll.service.d");
    std::fs::create_dir_all(&dropin).unwrap();
    std::fs::write(
        dropin.join("www.conf"),
        format!("[Service]\nReadWritePaths={}\n", www.display()),
    )
    .unwrap();
    let (code, checks) = doctor(&afk, &["--unit", unit.to_str().unwrap()], "systemd");
    assert_eq!(code, 0, "{checks:?}");
    assert_eq!(checks[0]["level"], "ok", "{checks:?}");
}

#[test]
fn doctor_fails_a_unit_it_cannot_read_and_warns_on_one_that_runs_no_tick() {
    let sb = one_repo();
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let other = afk
        .scratch
        .write("nginx.service", "[Service]\nExecStart=/usr/sbin/nginx\n");
    let missing = afk.scratch.path("afk-gone.service");
    // a unit that runs another config: its paths are not the ones checked
    let elsewhere = afk.scratch.write(
        "afk-watch.service",
        "[Service]\nExecStart=/usr/local/bin/afk --config /etc/afk/afk.toml -q watch\n",
    );
    let args = [
        "--unit",
        other.to_str().unwrap(),
        "--unit",
        missing.to_str().unwrap(),
        "--unit",
        elsewhere.to_str().unwrap(),
    ];
    let (code, checks) = doctor(&afk, &args, "systemd");
    assert_eq!(code, 1, "{checks:?}");
    let levels: Vec<&str> = checks
        .iter()
        .map(|c| c["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["warn", "fail", "warn", "ok"], "{checks:?}");
    let detail = |i: usize| checks[i]["detail"].as_str().unwrap().to_string();
    assert!(detail(1).contains("afk-gone.service"), "{}", detail(1));
    assert!(
        detail(2).contains("--config /etc/afk/afk.toml"),
        "{}",
        detail(2)
    );
}

/// A sandbox with the mirror `maint/nginx` (unless `mirror` is false), an
/// upstream `nginx` with a compose file on `main`, and afk configured to
/// upgrade it; `upgrade` is appended to `[upgrade]`, `registry` is the
/// docker.io mirror's URL (default: the sandbox's registry).
fn upgrade_setup(mirror: bool, upgrade: &str, registry: Option<&str>) -> (Sandbox, Afk) {
    let repos = if mirror {
        json!([{"name": "maint/nginx"}])
    } else {
        json!([{"name": "maint/other"}])
    };
    let sb = Sandbox::start(json!({"me": "afk-bot", "repos": repos}));
    let afk = Afk::with_text("");
    let bare = afk.scratch.path("upstream/nginx.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "-q", "--bare", "-b", "main"]);
    let work = afk.scratch.path("upstream-work");
    git(
        &afk.scratch.dir,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    git(&work, &["checkout", "-q", "-b", "main"]);
    std::fs::write(
        work.join("compose.yml"),
        "services:\n  web:\n    image: nginx:1.25.0\n",
    )
    .unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "the recipe"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let text = format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"3s\"\nretries = 0\n\
         [runner]\ncommand = [\"sh\", \"-c\", \"true\"]\n\
         [upgrade]\nrecipes = [\"nginx\"]\nupstream = \"{up}/{{recipe}}.git\"\nmirror = \"maint/{{recipe}}\"\n\
         {upgrade}\n[upgrade.registry_mirrors]\n\"docker.io\" = \"{reg}\"\n",
        forge = sb.forge_keys(),
        up = afk.scratch.path("upstream").display(),
        reg = registry.unwrap_or(&sb.url),
    );
    std::fs::write(&afk.config, text).unwrap();
    (sb, afk)
}

fn levels(checks: &[Value]) -> Vec<(String, String)> {
    checks
        .iter()
        .map(|c| {
            (
                c["level"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn doctor_checks_a_healthy_upgrade_section_line_by_line() {
    let (_sb, afk) = upgrade_setup(true, "", None);
    let (code, checks) = doctor(&afk, &[], "upgrade");
    let seen = levels(&checks);
    assert_eq!(code, 0, "{seen:?}");
    for says in [
        "mirror maint/nginx",
        "upstream of nginx answers",
        "registry docker.io",
        "upgrade.work_dir",
    ] {
        assert!(
            seen.iter().any(|(l, d)| l == "ok" && d.contains(says)),
            "an ok line with {says:?}: {seen:?}"
        );
    }
    assert!(
        !afk.scratch.path("state").exists(),
        "doctor creates nothing"
    );
}

#[test]
fn doctor_fails_each_upgrade_breakage_with_its_fix() {
    // a closed port: nothing listens there
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let cases: Vec<(&str, bool, String, Option<&str>, &str)> = vec![
        (
            "no mirror",
            false,
            String::new(),
            None,
            "mirror maint/nginx does not exist",
        ),
        (
            "no upstream",
            true,
            "upstream = \"/nonexistent/{recipe}.git\"".into(),
            None,
            "upstream of nginx (/nonexistent/nginx.git)",
        ),
        (
            "no registry",
            true,
            String::new(),
            Some(&closed),
            "registry docker.io",
        ),
        (
            "a work folder under a file",
            true,
            "work_dir = \"afk.toml/work\"".into(),
            None,
            "upgrade.work_dir",
        ),
    ];
    for (case, mirror, upgrade, registry, says) in cases {
        let (sb, afk) = upgrade_setup(mirror, "", registry);
        if !upgrade.is_empty() {
            // the key replaces the one upgrade_setup wrote, or is added
            let text = std::fs::read_to_string(&afk.config).unwrap();
            let key = upgrade.split(" =").next().unwrap();
            let text = match text.lines().find(|l| l.starts_with(&format!("{key} ="))) {
                Some(line) => text.replace(line, &upgrade),
                None => text.replace("[upgrade]\n", &format!("[upgrade]\n{upgrade}\n")),
            };
            std::fs::write(&afk.config, text).unwrap();
        }
        let (code, checks) = doctor(&afk, &[], "upgrade");
        let seen = levels(&checks);
        assert_eq!(code, 1, "{case}: {seen:?}");
        assert!(
            seen.iter().any(|(l, d)| l == "fail" && d.contains(says)),
            "{case}: a FAIL with {says:?}: {seen:?}"
        );
        drop(sb);
    }
}

#[test]
fn doctor_fails_a_runs_dir_it_cannot_create() {
    let sb = one_repo();
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("runs_dir = \"afk.toml/runs\"\n{text}")).unwrap();
    let (code, checks) = doctor(&afk, &[], "runs folder");
    assert_eq!(code, 1, "{checks:?}");
    let d = checks[0]["detail"].as_str().unwrap();
    assert!(d.contains("runs_dir") && d.contains("afk.toml/runs"), "{d}");
}

#[test]
fn doctor_says_a_missing_repo_in_one_line() {
    let sb = one_repo();
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\", \"acme/ghost\"]",
        "",
    );
    let (code, checks) = doctor(&afk, &[], "repo acme/ghost");
    assert_eq!(code, 1, "{checks:?}");
    assert_eq!(checks.len(), 1, "one line: {checks:?}");
    assert_eq!(checks[0]["level"], "fail", "{checks:?}");
    let text = checks[0]["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("does not exist") && text.contains("cannot see"),
        "{checks:?}"
    );
    assert!(!text.contains("collaborator"), "{text}");
}

#[test]
fn doctor_names_a_configured_model_with_no_price() {
    let sb = one_repo();
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let start = text.find("command = [").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let claude = |cmd: &str, extra: &str| {
        let t = format!(
            "{}agent = \"claude\"\nconfine = \"none\"\ncommand = {cmd}{}{extra}",
            &text[..start],
            &text[end..]
        );
        std::fs::write(&afk.config, t).unwrap();
        doctor(&afk, &[], "prices").1
    };
    // a model the table lacks: one WARN naming it and the table to add
    let checks = claude("[\"--model\", \"claude-future-9\"]", "");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["level"], "warn", "{checks:?}");
    let d = checks[0]["detail"].as_str().unwrap();
    assert!(
        d.contains("\"claude-future-9\" (runner.command) has no price")
            && d.contains("[runner.prices.models.\"claude-future-9\"]"),
        "{d}"
    );
    // a model in the table (a snapshot of one), or priced by the config: none
    assert!(claude("[\"--model\", \"claude-sonnet-4-5-20250929\"]", "").is_empty());
    let priced = "\n[runner.prices.models.\"claude-future-9\"]\ninput = 1.0\ncached_input = 0.1\ncache_write = 1.25\noutput = 5.0\n";
    assert!(claude("[\"--model\", \"claude-future-9\"]", priced).is_empty());
}

#[test]
fn doctor_says_per_repo_whether_the_forge_s_webhook_is_configured_when_hook_is() {
    for d in [Dialect::Gitea, Dialect::Github] {
        with_dialect(d, webhook_lines_on_a_forge);
    }
}

/// [`doctor_says_per_repo_whether_the_forge_s_webhook_is_configured_when_hook_is`] on the
/// dialect set.
fn webhook_lines_on_a_forge() {
    let webhook_lines = |seed: Value, extra: &str| {
        let sb = Sandbox::start(seed);
        let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", extra);
        let (_, checks) = doctor(&afk, &[], "repo acme/api");
        checks
            .into_iter()
            .filter(|c| c["detail"].as_str().unwrap_or_default().contains("webhook"))
            .map(|c| {
                (
                    c["level"].as_str().unwrap().to_string(),
                    c["detail"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let hook = "[hook]\nsecret_env = \"AFK_DOCTOR_HOOK_SECRET\"\n";
    let none = json!({"repos": [repo("acme/api", json!([]))]});
    let one = json!({"hook_url": "http://127.0.0.1:9/afk-hook", "hook_secret": "s3cret-s3cret-s3cret",
                     "repos": [repo("acme/api", json!([]))]});
    assert_eq!(webhook_lines(one.clone(), ""), vec![], "no [hook], no line");
    assert_eq!(
        webhook_lines(none, hook),
        vec![(
            "warn".to_string(),
            "no webhook configured; events wait for cron's tick".to_string()
        )]
    );
    assert_eq!(
        webhook_lines(one, hook),
        vec![("ok".to_string(), "webhook configured (1)".to_string())]
    );
}

/// Gitea lists a repository's hooks 30 to a page with no `Link`, keeps an
/// organisation's hooks out of the repository's list, and lists hooks to
/// chat services beside its own: afk's hook is found past the first page
/// and at the organisation, and a Slack hook is no webhook afk can read.
#[test]
fn doctor_on_gitea_finds_afks_hook_past_the_first_page_and_at_the_organisation_and_no_chat_hook() {
    with_dialect(Dialect::Gitea, || {
        let lines = |afks: bool, kept: Value| {
            let mut seed = json!({"repos": [repo("acme/api", json!([]))]});
            if afks {
                seed["hook_url"] = json!("http://127.0.0.1:9/afk-hook");
                seed["hook_secret"] = json!("s3cret-s3cret-s3cret");
            }
            let sb = Sandbox::start(seed);
            sb.admin("POST", "/gitea/hooks", Some(kept));
            let afk = Afk::new(
                &sb,
                "enabled = true\nallowlist = [\"acme/api\"]",
                "[hook]\nsecret_env = \"AFK_DOCTOR_HOOK_SECRET\"\n",
            );
            doctor(&afk, &[], "repo acme/api")
                .1
                .into_iter()
                .filter(|c| c["detail"].as_str().unwrap_or_default().contains("webhook"))
                .map(|c| {
                    format!(
                        "{} {}",
                        c["level"].as_str().unwrap(),
                        c["detail"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            lines(true, json!({"others": 35})),
            ["ok webhook configured (1)"],
            "afk's hook is the 36th of the repository's"
        );
        assert_eq!(
            lines(true, json!({"others": 2, "org": true})),
            ["ok webhook configured (1)"],
            "afk's hook is the organisation's"
        );
        assert_eq!(
            lines(false, json!({"others": 3})),
            ["warn no webhook configured; events wait for cron's tick"],
            "three Slack hooks and none of afk's"
        );
    });
}

/// Azure DevOps keeps its webhooks as service-hook subscriptions of the
/// organisation (`GET _apis/hooks/subscriptions?consumerId=webHooks`):
/// none is a warning, one per event type delivering to afk is configured.
#[test]
fn doctor_on_azure_devops_reads_the_service_hook_subscriptions() {
    with_dialect(Dialect::AzureDevops, || {
        let lines = |seed: Value| {
            let sb = Sandbox::start(seed);
            let afk = Afk::new(
                &sb,
                "enabled = true\nallowlist = [\"acme/api\"]",
                "[hook]\nsecret_env = \"AFK_DOCTOR_HOOK_SECRET\"\n",
            );
            let (_, checks) = doctor(&afk, &[], "repo acme/api");
            let asked = sb.requests().iter().any(|q| {
                q["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/_apis/hooks/subscriptions"))
            });
            assert!(asked, "the subscriptions were read");
            checks
                .into_iter()
                .filter(|c| c["detail"].as_str().unwrap_or_default().contains("webhook"))
                .map(|c| c["level"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let none = json!({"repos": [repo("acme/api", json!([]))]});
        let one = json!({"hook_url": "http://127.0.0.1:9/afk-hook", "hook_secret": "s3cret-s3cret-s3cret",
                         "repos": [repo("acme/api", json!([]))]});
        assert_eq!(lines(none), ["warn"]);
        assert_eq!(lines(one), ["ok"]);
    });
}

/// GitLab lists a project hook it disabled after failing deliveries with
/// `alert_status` `temporarily_disabled` or `disabled`: doctor says no
/// webhook is active, where it used to call it configured.
#[test]
fn doctor_on_gitlab_says_a_hook_gitlab_disabled_is_no_active_webhook() {
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"hook_url": "http://127.0.0.1:9/afk-hook", "hook_secret": "s3cret-s3cret-s3cret",
               "repos": [repo("acme/api", json!([]))]}),
    );
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        "[hook]\nsecret_env = \"AFK_DOCTOR_HOOK_SECRET\"\n",
    );
    let lines = || {
        doctor(&afk, &[], "repo acme/api")
            .1
            .into_iter()
            .filter(|c| c["detail"].as_str().unwrap_or_default().contains("webhook"))
            .map(|c| {
                format!(
                    "{} {}",
                    c["level"].as_str().unwrap(),
                    c["detail"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(), vec!["ok webhook configured (1)".to_string()]);
    sb.admin(
        "POST",
        "/webhook",
        Some(json!({"url": "http://127.0.0.1:9/afk-hook", "alert_status": "temporarily_disabled"})),
    );
    let said = lines();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("warn no active webhook (1 found: disabled by the forge"),
        "{said:?}"
    );
}

/// On GitLab (docs/gitlab.md#what-afk-doctor-checks-on-gitlab) doctor reads
/// the token (`personal_access_tokens/self`: the `api` scope, an expiry
/// within 14 days a warning naming the date), afk's access level on each
/// project, and its protected branches (a rule that refuses afk's push of
/// `afk/issue-<N>` fails naming it; an unprotected default branch is a
/// warning), each its own line.
#[test]
fn doctor_on_gitlab_reads_the_token_the_role_and_the_protected_branches() {
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"repos": [repo("acme/api", json!([]))]}),
    );
    let afk = Afk::agent(&sb, "pr", "", "");
    let level_of = |name: &str, words: &str| -> String {
        let (_, lines) = doctor(&afk, &[], name);
        let line = lines
            .iter()
            .find(|l| l["detail"].as_str().unwrap_or("").contains(words))
            .unwrap_or_else(|| panic!("no {name} line with {words:?}: {lines:?}"));
        line["level"].as_str().unwrap().to_string()
    };
    let repo = "repo acme/api";
    assert_eq!(level_of("token", "scopes api; it never expires"), "ok");
    assert_eq!(level_of(repo, "has Maintainer (40) on acme/api"), "ok");
    assert_eq!(
        level_of(repo, "default branch main of acme/api is not protected"),
        "warn"
    );
    // a token about to expire, then one without the api scope
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::days(5))
        .date()
        .format(fmt)
        .unwrap();
    sb.admin(
        "POST",
        "/scopes",
        Some(json!({"scopes": "api", "expires_at": soon})),
    );
    assert_eq!(level_of("token", &format!("expires on {soon}")), "warn");
    sb.admin(
        "POST",
        "/scopes",
        Some(json!({"scopes": "read_api, read_repository"})),
    );
    assert_eq!(level_of("token", "lacks the \"api\" scope"), "fail");
    sb.admin("POST", "/scopes", Some(json!({"scopes": "api"})));
    // the default branch protected; then a rule that lets no one push afk's branches
    let protect = |name: &str, level: u64| {
        sb.admin(
            "POST",
            "/protected_branch",
            Some(json!({"repo": "acme/api", "name": name, "push_access_level": level})),
        );
    };
    protect("main", 40);
    assert_eq!(level_of(repo, "default branch main is protected"), "ok");
    protect("afk/*", 0);
    assert_eq!(level_of(repo, "protected branch rule \"afk/*\""), "fail");
    let (code, _) = doctor(&afk, &[], "token");
    assert_eq!(code, 1, "a FAIL line fails doctor");
}

/// On Azure DevOps doctor says a PAT's own scopes cannot be read with it, and
/// per allowlisted repository reads its project, afk's own
/// `GenericContribute`, `CreateBranch` and `PullRequestContribute`, its area
/// path and afk's `WORK_ITEM_WRITE` there, each work-item type with
/// `close_state`, and the branch policies (a default branch without build
/// validation is a warning), each its own line: all pass on a well-set
/// organization. The holders of `BYPASS_RULES` on the project are a warning
/// naming them (Project Administrators hold it, named as the group), and so
/// is a tag the project lacks: neither fails doctor. A denied `CreateBranch`,
/// a denied `WORK_ITEM_WRITE` on the area, an area that does not exist, a
/// type the project lacks and a `close_state` no type has each fail, naming
/// what.
#[test]
fn doctor_on_azure_devops_reads_each_line_of_spec_2_2_8() {
    let sb = Sandbox::start_in(
        Dialect::AzureDevops,
        json!({"repos": [repo("acme/api", json!([]))]}),
    );
    let setup = |ado: &str| {
        Afk::with_text(&format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{}timeout = \"5s\"\nretries = 1\n\n\
             [runner]\ncommand = [\"sh\", \"-c\", \"true\"]\n\n\
             [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n{ado}",
            sb.forge_keys()
        ))
    };
    let run = |afk: &Afk| -> (i32, Vec<Value>) {
        let (code, r, err) = afk.json(&["doctor"]);
        let checks = r["checks"]
            .as_array()
            .unwrap_or_else(|| panic!("{err}"))
            .clone();
        (code, checks)
    };
    let level_of = |checks: &[Value], name: &str, words: &str| -> String {
        let line = checks
            .iter()
            .find(|c| c["check"] == name && c["detail"].as_str().unwrap_or("").contains(words))
            .unwrap_or_else(|| panic!("no {name} line with {words:?}: {checks:?}"));
        line["level"].as_str().unwrap().to_string()
    };
    // the dialect files a repository's work items under `Project\repo`
    let well = setup("[forge.azure_devops.area_paths]\n\"acme/api\" = 'acme\\api'\n");
    let (code, checks) = run(&well);
    assert_eq!(code, 0, "a WARN does not fail doctor: {checks:?}");
    let repo = "repo acme/api";
    assert_eq!(
        level_of(&checks, "token", "cannot be read with a PAT"),
        "ok"
    );
    assert_eq!(level_of(&checks, repo, "in project"), "ok");
    assert_eq!(level_of(&checks, repo, "labels present"), "ok");
    assert_eq!(
        level_of(
            &checks,
            "permissions acme/api",
            "GenericContribute, CreateBranch, PullRequestContribute"
        ),
        "ok"
    );
    assert_eq!(
        level_of(&checks, "area acme/api", "area path acme\\api exists"),
        "ok"
    );
    assert_eq!(
        level_of(
            &checks,
            "area acme/api",
            "may edit work items under area path acme\\api (WORK_ITEM_WRITE)"
        ),
        "ok"
    );
    let bypass = level_of(
        &checks,
        "bypass acme",
        "[acme]\\Project Administrators (a group: its members) hold BYPASS_RULES on project acme: they arm only when named in poll.trusted_users",
    );
    assert_eq!(bypass, "warn");
    for t in [
        "Issue",
        "User Story",
        "Product Backlog Item",
        "Requirement",
        "Bug",
    ] {
        assert_eq!(
            level_of(&checks, &format!("type acme/api {t}"), "states"),
            "ok"
        );
    }
    assert_eq!(
        level_of(&checks, "policies acme/api", "no policy applies to afk/*"),
        "ok"
    );
    assert_eq!(
        level_of(&checks, "build validation acme/api", "no build validation"),
        "warn"
    );
    // a tag the project does not have yet: a warning, for afk's first write
    // that adds it makes it; doctor still passes
    let tagless = setup(
        "[watch]\nhuman_label = \"needs-a-person\"\n\n\
         [forge.azure_devops.area_paths]\n\"acme/api\" = 'acme\\api'\n",
    );
    let (code, checks) = run(&tagless);
    assert_eq!(code, 0, "a missing tag does not fail doctor: {checks:?}");
    assert_eq!(
        level_of(&checks, repo, "missing labels \"needs-a-person\""),
        "warn"
    );
    // a person holding BYPASS_RULES is named beside the group; afk's account
    // denied WORK_ITEM_WRITE on the area fails, naming the area
    sb.admin(
        "POST",
        "/ado/acl",
        Some(json!({"namespace": "project", "project": "acme", "who": "mallory", "allow": ["BYPASS_RULES"]})),
    );
    sb.admin(
        "POST",
        "/ado/acl",
        Some(json!({"namespace": "css", "repo": "acme/api", "who": "afk-bot", "deny": ["WORK_ITEM_WRITE"]})),
    );
    let (code, checks) = run(&well);
    assert_eq!(code, 1, "{checks:?}");
    assert_eq!(
        level_of(
            &checks,
            "bypass acme",
            "[acme]\\Project Administrators (a group: its members), mallory@sandbox.invalid hold BYPASS_RULES"
        ),
        "warn"
    );
    assert_eq!(
        level_of(
            &checks,
            "area acme/api",
            "afk's account lacks WORK_ITEM_WRITE on area path acme\\api"
        ),
        "fail"
    );
    assert_eq!(
        level_of(&checks, "area acme/api", "area path acme\\api exists"),
        "ok"
    );
    // afk's account denied CreateBranch on the repository; an area, a type
    // and a close_state the organization does not have
    sb.admin(
        "POST",
        "/ado/acl",
        Some(json!({"namespace": "git", "repo": "acme/api", "who": "afk-bot", "deny": ["CreateBranch"]})),
    );
    let broken = setup(
        "[forge.azure_devops]\nwork_item_types = [\"Issue\", \"Epic\"]\nclose_state = \"Finished\"\n\n\
         [forge.azure_devops.area_paths]\n\"acme/api\" = 'acme\\nowhere'\n",
    );
    let (code, checks) = run(&broken);
    assert_eq!(code, 1, "{checks:?}");
    assert_eq!(
        level_of(&checks, "permissions acme/api", "lacks CreateBranch"),
        "fail"
    );
    assert_eq!(level_of(&checks, "area acme/api", "acme\\nowhere"), "fail");
    assert_eq!(level_of(&checks, "type acme/api Epic", ""), "fail");
    assert_eq!(
        level_of(
            &checks,
            "type acme/api Issue",
            "\"Finished\" is not one of its states"
        ),
        "fail"
    );
}
