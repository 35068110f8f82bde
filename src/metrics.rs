//! What a tick leaves for the operator's monitoring: the Prometheus
//! textfile-collector file (`metrics_file`, rewritten atomically after every
//! tick: node_exporter's convention) and the heartbeat pings (per tick kind,
//! `/start` when the tick opens, `/fail` appended when it failed: the
//! healthchecks.io convention; see `core::heartbeat`). Neither ever fails a
//! tick: problems are warnings. A disabled, stopped or dry-run tick does neither.

use crate::config::Config;
use crate::core::heartbeat;
pub use crate::core::heartbeat::Ping;
use crate::store::Store;
use crate::types::TickKind;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// What one tick did, for the metrics file.
#[derive(Debug, Clone, Default)]
pub struct TickStats {
    pub kind: TickKind,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    pub dispatches: usize,
    pub ok: bool,
}

/// Ping this tick kind's heartbeat URL (`[notify.heartbeat].<kind>`, else
/// `heartbeat_env`; `{tick}` replaced): `/start` before the work, `/fail`
/// appended when the tick failed. The URL is a secret: it never appears in a
/// message, only the variable's name does.
pub fn heartbeat(cfg: &Config, kind: TickKind, ping: Ping) {
    let n = &cfg.notify;
    let Some(name) = heartbeat::variable(&n.heartbeat_env, n.heartbeat.for_tick(kind)) else {
        return;
    };
    let key = if n.heartbeat.for_tick(kind).trim().is_empty() {
        "notify.heartbeat_env".to_string()
    } else {
        format!("notify.heartbeat.{kind}")
    };
    let Some(base) = cfg.notify.urls.heartbeat(kind) else {
        crate::log::warn(&format!("heartbeat: {name} ({key}) is not set"));
        return;
    };
    // the URL pinged is a secret too (`{tick}` replaced, a suffix added):
    // registered before it is sent, so no text afk writes carries it
    let url = crate::redact::Secret::new(heartbeat::url(base.expose(), kind, ping));
    let agent = crate::client::builder(Duration::from_secs(10)).build();
    let why = match agent.get(url.expose()).call() {
        // afk follows no redirect (crate::client): a 3xx is not a ping
        Ok(r) if r.status() >= 300 => Some(format!("answered {} (a redirect)", r.status())),
        Ok(_) => None,
        Err(crate::client::Error::Status(s, _)) => Some(format!("answered {s}")),
        Err(crate::client::Error::Transport(t)) => {
            Some(format!("could not be reached ({})", t.kind()))
        }
    };
    if let Some(why) = why {
        crate::log::warn(&format!("heartbeat: the URL in {name} ({key}) {why}"));
    }
}

/// The metric lines of one tick kind, with `tick="<kind>"` labels.
pub fn tick_lines(s: &TickStats, now_unix: i64) -> String {
    let k = s.kind;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "afk_tick_duration_seconds{{tick=\"{k}\"}} {:.3}",
        s.seconds
    );
    let _ = writeln!(o, "afk_tick_requests{{tick=\"{k}\"}} {}", s.requests);
    let _ = writeln!(o, "afk_tick_errors{{tick=\"{k}\"}} {}", s.errors);
    let _ = writeln!(o, "afk_tick_dispatches{{tick=\"{k}\"}} {}", s.dispatches);
    let _ = writeln!(o, "afk_tick_success{{tick=\"{k}\"}} {}", u8::from(s.ok));
    let _ = writeln!(
        o,
        "afk_tick_last_run_timestamp_seconds{{tick=\"{k}\"}} {now_unix}"
    );
    o
}

const TICK_HELP: &[(&str, &str)] = &[
    (
        "afk_tick_duration_seconds",
        "Wall time of the last tick of each kind.",
    ),
    (
        "afk_tick_requests",
        "Forge and runner requests the last tick made.",
    ),
    ("afk_tick_errors", "Errors the last tick reported."),
    ("afk_tick_dispatches", "Agents the last tick started."),
    (
        "afk_tick_success",
        "1 when the last tick ran without an error.",
    ),
    (
        "afk_tick_last_run_timestamp_seconds",
        "When the last tick finished (Unix time).",
    ),
];

/// The whole file: every tick kind's last lines (the other kinds' kept from
/// the file as it was), then the state-file gauges.
pub fn render(previous: &str, s: &TickStats, now_unix: i64, state: &str) -> String {
    let own = format!("tick=\"{}\"", s.kind);
    let mut ticks: Vec<String> = previous
        .lines()
        .filter(|l| l.starts_with("afk_tick_") && !l.contains(&own))
        .map(str::to_string)
        .collect();
    ticks.extend(tick_lines(s, now_unix).lines().map(str::to_string));
    let mut o = String::new();
    for (name, help) in TICK_HELP {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge");
        for l in ticks.iter().filter(|l| l.starts_with(&format!("{name}{{"))) {
            let _ = writeln!(o, "{l}");
        }
    }
    o.push_str(&build_info());
    o.push_str(state);
    o
}

/// Spend (`[budget]`): what the runs dispatched on the current UTC day spent,
/// in all and per repo, how many reported nothing, all-time spend, and the
/// limits that are set, so an alert can compare the two.
pub fn spend_lines(
    store: &Store,
    budget: &crate::config::Budget,
    now: time::OffsetDateTime,
) -> anyhow::Result<String> {
    use crate::core::budget::spend;
    let day = spend::day_of(now);
    let runs = store.runs_of_day(day)?;
    // each run's spend by the UTC day each of its turns started
    let mut day_runs: Vec<spend::DayRun> = vec![];
    for r in &runs {
        day_runs.extend(store.day_entries(r, r.spend_usd, None, now)?);
    }
    let all = spend::day_spend(&day_runs, day, None);
    let mut o = String::new();
    o.push_str("# HELP afk_spend_day_usd Spend of the runs dispatched on the current UTC day (what budget.day_usd counts): metered by the model gateway where a run has a record, else the agent's report.\n# TYPE afk_spend_day_usd gauge\n");
    let _ = writeln!(o, "afk_spend_day_usd {}", all.spend_usd);
    o.push_str("# HELP afk_spend_day_repo_usd The same, per repository (what budget.repo_day_usd counts).\n# TYPE afk_spend_day_repo_usd gauge\n");
    let mut repos: Vec<&str> = runs.iter().map(|r| r.repo.as_str()).collect();
    repos.sort();
    repos.dedup();
    for repo in repos {
        let s = spend::day_spend(&day_runs, day, Some(repo));
        let _ = writeln!(
            o,
            "afk_spend_day_repo_usd{{repo=\"{}\"}} {}",
            label_value(repo),
            s.spend_usd
        );
    }
    o.push_str("# HELP afk_spend_day_unreported_runs Runs dispatched on the current UTC day that reported no spend yet (counted as 0).\n# TYPE afk_spend_day_unreported_runs gauge\n");
    let _ = writeln!(o, "afk_spend_day_unreported_runs {}", all.unreported);
    o.push_str("# HELP afk_spend_usd_total Spend of every run afk has dispatched: metered by the model gateway where a run has a record, else the agent's report.\n# TYPE afk_spend_usd_total counter\n");
    let _ = writeln!(
        o,
        "afk_spend_usd_total {}",
        spend::round(store.spend_total()?)
    );
    o.push_str("# HELP afk_budget_limit_usd The [budget] limits that are set.\n# TYPE afk_budget_limit_usd gauge\n");
    for (key, v) in [
        ("run_usd", budget.run_usd),
        ("day_usd", budget.day_usd),
        ("repo_day_usd", budget.repo_day_usd),
    ] {
        if v > 0.0 {
            let _ = writeln!(o, "afk_budget_limit_usd{{limit=\"{key}\"}} {v}");
        }
    }
    Ok(o)
}

/// `afk_build_info{version="…"} 1`: which afk wrote the file (the
/// Prometheus convention for a build's version).
fn build_info() -> String {
    format!(
        "# HELP afk_build_info The afk that wrote this file.\n# TYPE afk_build_info gauge\nafk_build_info{{version=\"{}\"}} 1\n",
        label_value(env!("CARGO_PKG_VERSION"))
    )
}

/// Gauges read from the state file: runs in flight by state, escalations by
/// reason, the outbox backlog, live canaries.
pub fn state_lines(store: &Store) -> anyhow::Result<String> {
    let g = store.gauges()?;
    let mut o = String::new();
    o.push_str("# HELP afk_runs_in_flight Runs not yet ended, by state.\n# TYPE afk_runs_in_flight gauge\n");
    for (s, n) in &g.in_flight {
        let _ = writeln!(o, "afk_runs_in_flight{{state=\"{s}\"}} {n}");
    }
    // a run paused at a limit
    let _ = writeln!(o, "afk_runs_in_flight{{state=\"paused\"}} {}", g.paused);
    // all time and never decreasing: a counter, named as one
    o.push_str("# HELP afk_escalations_total Runs escalated to a person, by reason (all time).\n# TYPE afk_escalations_total counter\n");
    for (reason, n) in &g.escalations {
        let _ = writeln!(
            o,
            "afk_escalations_total{{reason=\"{}\"}} {n}",
            label_value(reason)
        );
    }
    o.push_str(&pause_lines(&g.pauses));
    o.push_str("# HELP afk_outbox_backlog Events not yet delivered to every channel.\n# TYPE afk_outbox_backlog gauge\n");
    let _ = writeln!(o, "afk_outbox_backlog {}", g.outbox_backlog);
    o.push_str("# HELP afk_canary_live Live canary template versions (1 per live canary).\n# TYPE afk_canary_live gauge\n");
    for (name, version) in &g.live_canaries {
        let _ = writeln!(
            o,
            "afk_canary_live{{template=\"{}\",version=\"{version}\"}} 1",
            label_value(name)
        );
    }
    Ok(o)
}

/// The counter `afk_pauses_total{limit}`: runs paused at a budget
/// limit, all time, one line per limit a run pauses at (0 when none
/// did), from the stored count per limit's key.
pub fn pause_lines(pauses: &[(String, i64)]) -> String {
    use crate::core::budget::Limit;
    let mut o = String::new();
    o.push_str("# HELP afk_pauses_total Runs paused at a budget limit, by limit (all time).\n# TYPE afk_pauses_total counter\n");
    for limit in [
        Limit::RunUsd,
        Limit::RunTime,
        Limit::DayUsd,
        Limit::RepoDayUsd,
    ] {
        let key = limit.key();
        let n = pauses.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n);
        let _ = writeln!(o, "afk_pauses_total{{limit=\"{key}\"}} {n}");
    }
    o
}

/// The pilot figures of the last 30 days (`core::status::report`, `afk report`'s
/// default window; docs/reports.md#afk-report), read from the tick's store.
pub fn report_lines(
    store: &Store,
    now: time::OffsetDateTime,
    kept_floor: f64,
) -> anyhow::Result<String> {
    use crate::core::status::report;
    let window = Duration::from_secs(report::DEFAULT_DAYS * 86_400);
    let from = report::window_start(window, now).map_err(anyhow::Error::msg)?;
    Ok(pilot_lines(
        &report::report(&store.report_runs(from)?, window, now, kept_floor),
        window,
    ))
}

/// The pilot figures as gauges. Counts are per repository only (the
/// overall is their sum); the medians, p90s and per-merged-PR figures per
/// repository and for `repo="all"` (a repository's name always has a `/`).
/// A figure with nothing measured has no line, never a 0.
pub fn pilot_lines(r: &crate::core::status::report::Report, window: Duration) -> String {
    use crate::core::status::report::{Figures, Outcome};
    let mut o = String::new();
    let family = |o: &mut String, name: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    family(
        &mut o,
        "afk_report_window_seconds",
        "The window the afk_report_ figures cover (runs dispatched in it).",
    );
    let _ = writeln!(o, "afk_report_window_seconds {}", window.as_secs());
    family(
        &mut o,
        "afk_report_runs",
        "Runs dispatched in the window, by repository and outcome.",
    );
    for x in &r.repos {
        for out in Outcome::ALL {
            let _ = writeln!(
                o,
                "afk_report_runs{{repo=\"{}\",outcome=\"{}\"}} {}",
                label_value(&x.repo),
                out.name(),
                x.figures.outcomes.of(out)
            );
        }
    }
    family(
        &mut o,
        "afk_report_escalations",
        "Runs of the window escalated to a person, by repository and reason.",
    );
    for x in &r.repos {
        for (reason, n) in &x.figures.escalations {
            let _ = writeln!(
                o,
                "afk_report_escalations{{repo=\"{}\",reason=\"{}\"}} {n}",
                label_value(&x.repo),
                label_value(reason)
            );
        }
    }
    let each: Vec<(String, &Figures)> = r
        .repos
        .iter()
        .map(|x| (label_value(&x.repo), &x.figures))
        .chain(std::iter::once(("all".to_string(), &r.overall)))
        .collect();
    for (name, help, spread) in [
        (
            "afk_report_to_pr_seconds",
            "Seconds from the arming (else dispatch) to the run's PR, median and p90 (nearest rank).",
            (|f: &Figures| f.to_pr.clone()) as fn(&Figures) -> crate::core::status::report::Spread,
        ),
        (
            "afk_report_to_merge_seconds",
            "Seconds from the arming (else dispatch) to the merge, median and p90 (nearest rank).",
            |f: &Figures| f.to_merge.clone(),
        ),
    ] {
        family(&mut o, name, help);
        for (repo, f) in &each {
            let s = spread(f);
            // `stat`, not `quantile`: that label is a summary's alone
            for (stat, v) in [("median", s.median_s), ("p90", s.p90_s)] {
                if let Some(v) = v {
                    let _ = writeln!(o, "{name}{{repo=\"{repo}\",stat=\"{stat}\"}} {v}");
                }
            }
        }
    }
    for (name, help, figure) in [
        (
            "afk_report_corrective_turns_per_merged_pr",
            "Corrective turns of the merged runs over their number.",
            (|f: &Figures| f.corrective_turns.per_merged_pr) as fn(&Figures) -> Option<f64>,
        ),
        (
            "afk_report_spend_per_merged_pr_usd",
            "Every run's reported spend over the merged runs.",
            |f: &Figures| f.spend.per_merged_pr_usd,
        ),
        (
            "afk_report_zero_touch_rate",
            "Zero-touch merges (merged with no person's hand on them) over the merged runs with a verdict.",
            |f: &Figures| f.zero_touch.rate,
        ),
        (
            "afk_report_survival_rate",
            "Added lines still there survival_window after the merge, pooled over the merged runs counted.",
            |f: &Figures| f.survival.rate,
        ),
        (
            "afk_report_reverts_per_1000",
            "Merged runs whose merge was later reverted on its base branch (found at any time), per 1000 merged runs.",
            |f: &Figures| f.reverts.per_1000,
        ),
        (
            "afk_report_churn_7d_rate",
            "Of the files the merged runs' PRs changed, the share changed again on the base branch within 7 days of the merge (pooled).",
            |f: &Figures| f.churn.rate,
        ),
        (
            "afk_report_cost_per_kept_usd",
            "Every run's reported spend over the merged runs not reverted that kept at least report.kept_floor of their added lines.",
            |f: &Figures| f.cost.per_kept_usd,
        ),
    ] {
        family(&mut o, name, help);
        for (repo, f) in &each {
            if let Some(v) = figure(f) {
                let _ = writeln!(o, "{name}{{repo=\"{repo}\"}} {v}");
            }
        }
    }
    o
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Rewrite the metrics file atomically: read it, render, write a temporary
/// file beside it and rename that over it. Two ticks finishing together take
/// turns (a lock in the state directory), so neither's lines are lost. The
/// state's lines come from the tick's `store` (none without one); `now` is
/// the tick's end.
pub fn write(
    path: &Path,
    stats: &TickStats,
    (store, state_dir): (Option<&Store>, &Path),
    cfg: &Config,
    now: time::OffsetDateTime,
) {
    let res = (|| -> anyhow::Result<()> {
        let _turn = crate::lock::wait_for(state_dir, "metrics")?;
        let previous = std::fs::read_to_string(path).unwrap_or_default();
        let state = match store {
            Some(s) => {
                state_lines(s)?
                    + &spend_lines(s, &cfg.budget, now)?
                    + &report_lines(s, now, cfg.report.kept_floor)?
            }
            None => String::new(),
        };
        let text = render(&previous, stats, now.unix_timestamp(), &state);
        // 0644: node_exporter's textfile collector reads it as its own user
        replace_file(path, &text, 0o644)?;
        Ok(())
    })();
    if let Err(e) = res {
        crate::log::warn(&format!("metrics: cannot write {}: {e}", path.display()));
    }
}

/// Replace `path` with `text` atomically: a new temporary file with a name
/// no one can guess, created exclusively (so a symlink or file planted there
/// is never followed or reused) in the same directory, then renamed over it.
/// Others read these files (a web server, node_exporter) and they show
/// outside text (repository and template names, a run's words), so the text
/// passes the redaction first: no secret afk holds is written there
/// (`layers::files`).
pub fn replace_file(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = crate::redact::text(text);
    let bytes = text.as_bytes();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("afk");
    for attempt in 0..16u32 {
        let tmp = dir.join(format!(".{name}.{}.tmp", unguessable(attempt)));
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        // the umask (077) narrowed the mode at create: set the one asked for
        let written = f
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
            .and_then(|()| f.write_all(bytes))
            .and_then(|()| f.sync_all());
        let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return renamed;
    }
    Err(std::io::Error::other("no free temporary name"))
}

/// A temporary name's random part: the process, the time to the nanosecond
/// and the attempt, hashed.
fn unguessable(attempt: u32) -> String {
    use sha2::{Digest, Sha256};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = format!("{}-{}-{attempt}", std::process::id(), now.as_nanos());
    let digest = Sha256::digest(seed.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_others_read_is_written_without_any_secret_afk_holds() {
        let _held = crate::redact::Secret::new("mtr-5e1d7c9a03b4");
        let dir = std::env::temp_dir().join(format!("afk-metrics-redact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("afk.prom");
        let text = "afk_runs_in_flight{repo=\"acme/mtr-5e1d7c9a03b4\"} 1\n";
        replace_file(&path, text, 0o644).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(written, "afk_runs_in_flight{repo=\"acme/[redacted]\"} 1\n");
    }

    #[test]
    fn each_tick_kind_keeps_its_own_lines() {
        let poll = TickStats {
            kind: TickKind::Poll,
            seconds: 0.5,
            requests: 7,
            errors: 0,
            dispatches: 2,
            ok: true,
        };
        let first = render("", &poll, 100, "");
        assert!(first.contains("afk_tick_dispatches{tick=\"poll\"} 2"));
        let watch = TickStats {
            kind: TickKind::Watch,
            ok: false,
            errors: 1,
            ..poll.clone()
        };
        let second = render(&first, &watch, 200, "afk_outbox_backlog 3\n");
        assert!(
            second.contains("afk_tick_dispatches{tick=\"poll\"} 2"),
            "poll's kept"
        );
        assert!(second.contains("afk_tick_success{tick=\"watch\"} 0"));
        assert!(second.contains("afk_tick_last_run_timestamp_seconds{tick=\"watch\"} 200"));
        assert_eq!(second.matches("# TYPE afk_tick_errors gauge").count(), 1);
        assert!(second.ends_with("afk_outbox_backlog 3\n"));
        let third = render(&second, &poll, 300, "");
        assert_eq!(
            third.matches("afk_tick_requests{tick=\"poll\"}").count(),
            1,
            "replaced, not added"
        );
    }

    #[test]
    fn pilot_lines_give_counts_per_repo_and_no_line_for_none() {
        use crate::core::status::report::{RunFacts, report};
        use crate::types::RunStatus;
        let at =
            |m: i64| time::macros::datetime!(2026-05-01 00:00 UTC) + time::Duration::minutes(m);
        let run = |repo: &str, state, merged: Option<i64>| RunFacts {
            board: Default::default(),
            repo: repo.into(),
            state,
            armed_at: None,
            dispatched_at: Some(at(-120)),
            pr_at: Some(at(-110)),
            merged_at: merged.map(at),
            ended_at: merged.map(at),
            turns: 3,
            turn_reasons: vec![],
            spend_usd: Some(2.5),
            end_reason: Some("stalled".into()),
            reverted: false,
            zero_touch: None,
            survival: None,
            template: None,
        };
        let day = Duration::from_secs(86_400);
        let mut api = run("acme/api", RunStatus::Succeeded, Some(-60));
        api.zero_touch = Some(crate::core::zero_touch::ZeroTouch::Yes);
        api.survival = Some(crate::core::survival::Survived::of(10, 6));
        let r = report(
            &[api, run("acme/web", RunStatus::Escalated, None)],
            day,
            at(0),
            0.5,
        );
        let text = pilot_lines(&r, day);
        for want in [
            "afk_report_window_seconds 86400",
            "afk_report_runs{repo=\"acme/api\",outcome=\"succeeded\"} 1",
            "afk_report_runs{repo=\"acme/api\",outcome=\"escalated\"} 0",
            "afk_report_runs{repo=\"acme/web\",outcome=\"escalated\"} 1",
            "afk_report_escalations{repo=\"acme/web\",reason=\"stalled\"} 1",
            "afk_report_to_pr_seconds{repo=\"acme/web\",stat=\"median\"} 600",
            "afk_report_to_merge_seconds{repo=\"acme/api\",stat=\"p90\"} 3600",
            "afk_report_to_merge_seconds{repo=\"all\",stat=\"median\"} 3600",
            "afk_report_corrective_turns_per_merged_pr{repo=\"all\"} 2",
            "afk_report_spend_per_merged_pr_usd{repo=\"all\"} 5",
            "afk_report_zero_touch_rate{repo=\"acme/api\"} 1",
            "afk_report_zero_touch_rate{repo=\"all\"} 1",
            "afk_report_survival_rate{repo=\"all\"} 0.6",
        ] {
            assert!(text.lines().any(|l| l == want), "{want} in\n{text}");
        }
        // acme/web merged nothing: no merge time, no per-merged-PR figure
        assert!(
            !text.contains("afk_report_to_merge_seconds{repo=\"acme/web\""),
            "{text}"
        );
        assert!(!text.contains("per_merged_pr{repo=\"acme/web\""), "{text}");
        assert!(
            !text.contains("per_merged_pr_usd{repo=\"acme/web\""),
            "{text}"
        );
        assert!(!text.contains("afk_report_runs{repo=\"all\""), "{text}");
        assert!(!text.contains("rate{repo=\"acme/web\""), "{text}");
        assert_eq!(text.matches("# TYPE afk_report_runs gauge").count(), 1);
    }

    /// (the stored counts by limit, the lines wanted)
    type PauseCase<'a> = (&'a [(&'a str, i64)], [&'a str; 4]);

    #[test]
    fn pauses_are_counted_by_limit_with_every_limit_named() {
        let table: [PauseCase; 3] = [
            (
                &[],
                [
                    "afk_pauses_total{limit=\"run_usd\"} 0",
                    "afk_pauses_total{limit=\"run_time\"} 0",
                    "afk_pauses_total{limit=\"day_usd\"} 0",
                    "afk_pauses_total{limit=\"repo_day_usd\"} 0",
                ],
            ),
            (
                &[("day_usd", 1), ("run_usd", 3)],
                [
                    "afk_pauses_total{limit=\"run_usd\"} 3",
                    "afk_pauses_total{limit=\"run_time\"} 0",
                    "afk_pauses_total{limit=\"day_usd\"} 1",
                    "afk_pauses_total{limit=\"repo_day_usd\"} 0",
                ],
            ),
            // a stored reason no limit has is no line
            (
                &[("run_time", 2), ("lunch", 9)],
                [
                    "afk_pauses_total{limit=\"run_usd\"} 0",
                    "afk_pauses_total{limit=\"run_time\"} 2",
                    "afk_pauses_total{limit=\"day_usd\"} 0",
                    "afk_pauses_total{limit=\"repo_day_usd\"} 0",
                ],
            ),
        ];
        for (stored, want) in table {
            let stored: Vec<(String, i64)> =
                stored.iter().map(|(k, n)| (k.to_string(), *n)).collect();
            let text = pause_lines(&stored);
            let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
            assert_eq!(samples, want, "{stored:?}");
            assert!(text.contains("# TYPE afk_pauses_total counter"), "{text}");
            assert!(!text.contains("lunch"), "{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
