//! The upgrade fixers in `afk runs` (issue #31: nothing fails silently):
//! every fixer run folder (`upgrade-<row>-<run>`, `…-tests`) of the upgrade
//! PRs afk started a fixer for, with its recipe, PR, state and exit status;
//! `afk runs show upgrade-3-1` shows one with its log's last lines (all of its
//! log's end with `--log`). Reads the state file and the run folders only.

use crate::core::fixer_exit;
use crate::output::emit;
use crate::output::table;
use crate::runner::TurnOf;
use crate::session::{Outcome, Session};
use crate::store::Store;
use crate::store::upgrades::Upgrade;
use crate::types::PrNumber;
use anyhow::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One fixer run in `afk runs --json`'s `fixers`.
#[derive(Serialize, Debug)]
pub(super) struct FixerRow {
    /// its run folder's name and `AFK_RUN_ID`: what `afk runs show` takes
    pub id: String,
    /// `fixer` (the recipe's) or `tests_fixer` (`--with-tests`, in the tests
    /// repository)
    pub kind: &'static str,
    pub recipe: String,
    pub repo: String,
    pub pr: PrNumber,
    pub pr_url: String,
    /// the test run it was started after
    pub run: u32,
    /// `running`, `exited` or `ended` (`core::fixer_exit::state`)
    pub state: &'static str,
    /// its exit status, once written
    pub exit: Option<i32>,
    /// its PR's flow: a final outcome (`FAILED`, …) or the step it is at
    pub flow: Option<String>,
    pub run_dir: String,
}

/// Every fixer run, newest PR first, its runs newest first; `repo`: only
/// those of that mirror; at most `limit`.
pub(super) fn rows(
    ctx: &Session,
    store: &Store,
    repo: Option<&str>,
    limit: usize,
) -> Result<Vec<FixerRow>> {
    let runs_dir = ctx.runs_dir();
    let mut names: Vec<(TurnOf, String)> = std::fs::read_dir(runs_dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    TurnOf::parse_fixer(&n).map(|t| (t, n))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|(t, n)| (std::cmp::Reverse(turn_key(t)), n.clone()));
    let mut out = vec![];
    for row in store.upgrades_with_fixers()? {
        if repo.is_some_and(|r| r != row.mirror) {
            continue;
        }
        for (t, name) in names.iter().filter(|(t, _)| upgrade_of(t) == row.id) {
            out.push(fixer_row(&row, *t, name, &runs_dir.join(name)));
        }
    }
    out.truncate(limit);
    Ok(out)
}

fn upgrade_of(t: &TurnOf) -> i64 {
    match t {
        TurnOf::Fixer { upgrade, .. } => *upgrade,
        TurnOf::Run(_) => -1,
    }
}

fn turn_key(t: &TurnOf) -> (i64, u32, bool) {
    match t {
        TurnOf::Fixer {
            upgrade,
            run,
            tests,
        } => (*upgrade, *run, *tests),
        TurnOf::Run(_) => (-1, 0, false),
    }
}

/// What the row and the folder say of one fixer run.
fn fixer_row(row: &Upgrade, t: TurnOf, name: &str, dir: &Path) -> FixerRow {
    let exit = std::fs::read_to_string(dir.join("exit_status"))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let current = row
        .fixer_dir
        .as_deref()
        .and_then(|d| Path::new(d).file_name().map(|f| f == name))
        .unwrap_or(false);
    let open = row.outcome.is_none() && row.closed_reason.is_none();
    let (run, tests) = match t {
        TurnOf::Fixer { run, tests, .. } => (run, tests),
        TurnOf::Run(_) => (0, false),
    };
    FixerRow {
        id: name.to_string(),
        kind: fixer_exit::kind(tests),
        recipe: row.recipe.clone(),
        repo: row.mirror.clone(),
        pr: row.pr,
        pr_url: row.url.clone(),
        run,
        state: fixer_exit::state(exit, current && open),
        exit,
        flow: fixer_exit::flow(
            row.outcome.as_deref(),
            row.closed_reason.is_some(),
            row.step.as_deref(),
        ),
        run_dir: dir.to_string_lossy().into_owned(),
    }
}

/// The fixers' table under the runs' (empty when there are none).
pub(super) fn human_table(rows: &[FixerRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|f| {
            vec![
                f.id.clone(),
                f.kind.to_string(),
                f.recipe.clone(),
                format!("{}#{}", f.repo, f.pr),
                f.state.to_string(),
                f.exit.map_or("-".into(), |e| e.to_string()),
                f.flow.clone().unwrap_or("-".into()),
            ]
        })
        .collect();
    format!(
        "\nupgrade fixers:\n{}",
        table(
            &["FIXER", "KIND", "RECIPE", "PR", "STATE", "EXIT", "FLOW"],
            &cells
        )
    )
}

/// What `afk runs show upgrade-3-1 --json` prints.
#[derive(Serialize)]
struct Shown<'a> {
    command: &'static str,
    fixer: &'a FixerRow,
    files: Vec<String>,
    /// its log's last lines (`core::fixer_exit`: bounded, escaped)
    log_tail: Vec<String>,
    /// with `--log`: the log's end, as `afk runs show N --log` prints a run's
    agent_log: Option<String>,
}

/// `afk runs show <fixer>`: one fixer run (exit 1 when there is none).
pub(super) fn show(ctx: &Session, store: &Store, name: &str, log: bool) -> Result<Outcome> {
    let all = rows(ctx, store, None, usize::MAX)?;
    let Some(f) = all.iter().find(|f| f.id == name) else {
        return Err(crate::hint::hinted(
            anyhow::anyhow!("runs: no fixer run {name}"),
            "`afk runs` lists them",
        ));
    };
    let dir = PathBuf::from(&f.run_dir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| crate::core::run_history::listed_file(n))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let log_tail = match crate::runner::output::tail(&dir.join("agent.log"), fixer_exit::READ_BYTES)
    {
        Some(t) => fixer_exit::log_tail(&t.bytes, t.from == 0),
        None => vec![],
    };
    let doc = Shown {
        command: "runs show",
        fixer: f,
        files,
        log_tail,
        agent_log: log.then(|| crate::run_files::log_tail(&dir.join("agent.log"))),
    };
    emit(ctx.json(), &doc, &human_show(&doc));
    Ok(Outcome::OK)
}

fn human_show(d: &Shown) -> String {
    let f = d.fixer;
    let mut h = format!(
        "fixer {}: {} {}#{} ({}) — {}{}; flow {}\n",
        f.id,
        f.recipe,
        f.repo,
        f.pr,
        f.pr_url,
        f.state,
        match (f.state, f.exit) {
            ("exited", e) => format!(", {}", fixer_exit::exit_text(e)),
            _ => String::new(),
        },
        f.flow.as_deref().unwrap_or("-")
    );
    h.push_str(&format!("\nfiles in {} (on this host):\n", f.run_dir));
    for n in &d.files {
        h.push_str(&format!("  {n}\n"));
    }
    match &d.agent_log {
        Some(text) => {
            h.push_str("\n--- agent.log ---\n");
            h.push_str(&crate::core::sanitize::for_terminal(text));
            if !text.ends_with('\n') {
                h.push('\n');
            }
        }
        None if !d.log_tail.is_empty() => {
            h.push_str(&format!(
                "\nthe last {} of agent.log (--log prints its end):\n",
                crate::core::plural(d.log_tail.len(), "line", "lines")
            ));
            for l in &d.log_tail {
                h.push_str(&format!("  | {l}\n"));
            }
        }
        None => {}
    }
    h
}
