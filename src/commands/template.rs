//! `afk template`: add, canary, list, show, promote, reject prompt-template
//! versions (SPEC 7.1). Refusals are one line, exit 1, nothing changed; the
//! rules are `core::canary::refusal`, the transactions `store::templates`.

use super::{Ctx, UsageError, emit, table};
use crate::cli::TemplateCmd;
use crate::core::canary::{Checkpoint, HandChange, HandTarget, refusal};
use crate::core::prompt::DEFAULT_PREAMBLE;
use crate::store::Store;
use crate::store::templates::TemplateVersion;
use anyhow::{Context, Result, bail};
use serde::Serialize;

pub fn run(ctx: &Ctx, cmd: &TemplateCmd) -> Result<u8> {
    match cmd {
        TemplateCmd::Add { name, file, canary } => add(ctx, name, file, *canary),
        TemplateCmd::Canary { name, version } => start_canary(ctx, name, *version),
        TemplateCmd::List { name } => list(ctx, name.as_deref()),
        TemplateCmd::Show { spec } => show(ctx, spec),
        TemplateCmd::Promote { name, version } => by_hand(ctx, HandChange::Promote, name, *version),
        TemplateCmd::Reject { name, version } => by_hand(ctx, HandChange::Reject, name, *version),
    }
}

/// A version as `template list --json` shows it (SPEC 7.1); `template show`
/// adds the body and, for a canary or a decided version, the decision trail.
#[derive(Serialize)]
pub struct VersionDoc<'a> {
    name: &'a str,
    version: i64,
    status: &'a str,
    sha256: &'a str,
    created_at: &'a str,
    outcomes: Outcomes,
    #[serde(skip_serializing_if = "Option::is_none")]
    canary_since: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoints: Option<&'a [Checkpoint]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<Decision<'a>>,
}

#[derive(Serialize)]
struct Outcomes {
    success: u64,
    failure: u64,
}

#[derive(Serialize)]
struct Decision<'a> {
    decision: &'a str,
    reason: Option<&'a str>,
    at: &'a str,
}

impl<'a> VersionDoc<'a> {
    pub fn of(v: &'a TemplateVersion) -> VersionDoc<'a> {
        let (success, failure) = v.tally();
        VersionDoc {
            name: &v.name,
            version: v.version,
            status: &v.status,
            sha256: &v.hash,
            created_at: &v.created_at,
            outcomes: Outcomes { success, failure },
            canary_since: v.canary_since.as_deref(),
            success_rate: success_rate(v),
            body: None,
            checkpoints: None,
            decision: None,
        }
    }
}

/// What `template add` and `template canary` print with `--json`: the version
/// written, or with `--dry-run` the one that would be.
#[derive(Serialize)]
struct Changed<'a> {
    command: &'static str,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<VersionDoc<'a>>,
}

impl<'a> Changed<'a> {
    fn would(command: &'static str, name: &'a str, version: i64) -> Changed<'a> {
        Changed {
            command,
            dry_run: true,
            name: Some(name),
            version: Some(version),
            template: None,
        }
    }
    fn did(command: &'static str, v: &'a TemplateVersion) -> Changed<'a> {
        Changed {
            command,
            dry_run: false,
            name: None,
            version: None,
            template: Some(VersionDoc::of(v)),
        }
    }
}

/// What `template promote` and `template reject` print with `--json`.
#[derive(Serialize)]
struct HandChanged<'a> {
    #[serde(flatten)]
    changed: Changed<'a>,
    /// the version that was current before a promotion
    retired: Option<i64>,
    events: Vec<&'static str>,
    notifications: crate::notify::Delivery,
}

/// What `template list` and `template show` print with `--json`.
#[derive(Serialize)]
struct Listed<T> {
    command: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    templates: Option<Vec<T>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<T>,
}

/// The built-in preamble, shown when no version of it is stored.
#[derive(Serialize)]
struct BuiltIn<'a> {
    name: &'a str,
    version: Option<i64>,
    status: &'static str,
    body: &'static str,
}

fn success_rate(v: &TemplateVersion) -> Option<f64> {
    let (s, f) = v.tally();
    (s + f > 0).then(|| s as f64 / (s + f) as f64)
}

fn add(ctx: &Ctx, name: &str, file: &std::path::Path, canary: bool) -> Result<u8> {
    check_name(name)?;
    let body = std::fs::read_to_string(file)
        .with_context(|| format!("template: cannot read {}", file.display()))?;
    if body.trim().is_empty() {
        bail!(UsageError(format!("template: {} is empty", file.display())));
    }
    if canary && !ctx.config.harvest.canary {
        // refused before the state file is even opened
        let t = HandTarget {
            name,
            version: 0,
            status: Some("candidate"),
            live_canary: None,
            canary_on: false,
        };
        bail!(refusal(HandChange::StartCanary, &t).unwrap_or_default());
    }
    if ctx.dry_run {
        let store = Store::open_reading(&ctx.state_path())?;
        let versions = store.templates(Some(name))?;
        let live = versions
            .iter()
            .find(|v| v.status == "canary")
            .map(|v| v.version);
        let next = versions.last().map_or(1, |v| v.version + 1);
        if canary {
            if versions.is_empty() {
                bail!(
                    "template: {name} has no current version yet: add one without --canary first"
                );
            }
            if let Some(why) = refusal(
                HandChange::StartCanary,
                &HandTarget {
                    name,
                    version: next,
                    status: Some("candidate"),
                    live_canary: live,
                    canary_on: ctx.config.harvest.canary,
                },
            ) {
                bail!(why);
            }
        }
        emit(
            ctx.json,
            &Changed::would("template add", name, next),
            &format!("template add (dry run): would add {name}@{next}\n"),
        );
        return Ok(0);
    }
    let mut store = Store::open(&ctx.state_path())?;
    let v = store.add_template(name, &body, canary, ctx.config.harvest.canary)?;
    emit(
        ctx.json,
        &Changed::did("template add", &v),
        &format!(
            "{}@{} added as {} (sha256 {})\n",
            v.name,
            v.version,
            if v.status == "canary" {
                "the live canary"
            } else {
                &v.status
            },
            &v.hash[..12]
        ),
    );
    Ok(0)
}

fn start_canary(ctx: &Ctx, name: &str, version: i64) -> Result<u8> {
    let canary_on = ctx.config.harvest.canary;
    if ctx.dry_run {
        let store = Store::open_reading(&ctx.state_path())?;
        let this = store.template_version(name, version)?;
        let live = store
            .template_with_status(name, "canary")?
            .map(|v| v.version);
        let t = HandTarget {
            name,
            version,
            status: this.as_ref().map(|v| v.status.as_str()),
            live_canary: live,
            canary_on,
        };
        if let Some(why) = refusal(HandChange::StartCanary, &t) {
            bail!(why);
        }
        emit(
            ctx.json,
            &Changed::would("template canary", name, version),
            &format!("template canary (dry run): {name}@{version} would become the live canary\n"),
        );
        return Ok(0);
    }
    let mut store = Store::open(&ctx.state_path())?;
    let v = store.start_canary(name, version, canary_on)?;
    emit(
        ctx.json,
        &Changed::did("template canary", &v),
        &format!(
            "{name}@{version} is the live canary since {} (sample {})\n",
            v.canary_since.as_deref().unwrap_or(""),
            ctx.config.harvest.sample
        ),
    );
    Ok(0)
}

fn list(ctx: &Ctx, name: Option<&str>) -> Result<u8> {
    let store = Store::open_reading(&ctx.state_path())?;
    let vs = store.templates(name)?;
    let rows: Vec<Vec<String>> = vs
        .iter()
        .map(|v| {
            let (s, f) = v.tally();
            vec![
                v.name.clone(),
                v.version.to_string(),
                v.status.clone(),
                format!("{s}/{f}"),
                success_rate(v).map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
                v.hash[..12].to_string(),
                v.created_at.clone(),
            ]
        })
        .collect();
    let human = if rows.is_empty() {
        "no template versions yet (poll uses the built-in implementer preamble; see `afk template show implementer`)\n".into()
    } else {
        table(
            &[
                "NAME", "VERSION", "STATUS", "S/F", "SUCCESS", "SHA256", "CREATED",
            ],
            &rows,
        )
    };
    emit(
        ctx.json,
        &Listed {
            command: "template list",
            templates: Some(vs.iter().map(VersionDoc::of).collect()),
            template: None,
        },
        &human,
    );
    Ok(0)
}

fn show(ctx: &Ctx, spec: &str) -> Result<u8> {
    let (name, version) =
        match spec.split_once('@') {
            Some((n, v)) => (
                n,
                Some(v.parse::<i64>().map_err(|_| {
                    UsageError(format!("template: \"{v}\" is not a version number"))
                })?),
            ),
            None => (spec, None),
        };
    let store = Store::open_reading(&ctx.state_path())?;
    let v = match version {
        Some(v) => store.template_version(name, v)?,
        None => store.template_with_status(name, "current")?,
    };
    let Some(v) = v else {
        let builtin = version.is_none()
            && (name == "implementer" || name == ctx.config.poll.template)
            && store.templates(Some(name))?.is_empty();
        if builtin {
            emit(
                ctx.json,
                &Listed {
                    command: "template show",
                    templates: None,
                    template: Some(BuiltIn {
                        name,
                        version: None,
                        status: "built-in",
                        body: DEFAULT_PREAMBLE,
                    }),
                },
                &format!("{DEFAULT_PREAMBLE}\n"),
            );
            return Ok(0);
        }
        bail!("template: {spec} does not exist (see `afk template list`)");
    };
    let checkpoints = store.checkpoints(v.id)?;
    let trail = v.canary_since.is_some() || v.decision.is_some() || !checkpoints.is_empty();
    let doc = VersionDoc {
        body: Some(&v.body),
        checkpoints: trail.then_some(checkpoints.as_slice()),
        decision: v.decision.as_deref().filter(|_| trail).map(|d| Decision {
            decision: d,
            reason: v.decision_reason.as_deref(),
            at: &v.status_at,
        }),
        ..VersionDoc::of(&v)
    };
    let mut human = v.body.clone();
    if trail {
        human.push_str(&trail_text(ctx, &v, &checkpoints));
    }
    emit(
        ctx.json,
        &Listed {
            command: "template show",
            templates: None,
            template: Some(doc),
        },
        &human,
    );
    Ok(0)
}

/// The decision trail under a canary's or decided version's text.
fn trail_text(ctx: &Ctx, v: &TemplateVersion, checkpoints: &[Checkpoint]) -> String {
    let (s, f) = v.tally();
    let mut out = format!(
        "\n---- {}@{} ({}): {s} successes, {f} failures{} ----\n",
        v.name,
        v.version,
        v.status,
        v.canary_since
            .as_deref()
            .map(|c| format!("; canary since {c}"))
            .unwrap_or_default()
    );
    if checkpoints.is_empty() {
        out.push_str("no checkpoint evaluated\n");
    } else {
        out.push_str(&checkpoint_table(checkpoints));
    }
    match &v.decision {
        Some(d) => out.push_str(&format!(
            "decision: {d}{} at {}\n",
            v.decision_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            v.status_at
        )),
        None if v.status == "canary" => {
            let h = &ctx.config.harvest;
            let next = crate::core::canary::next_checkpoint(
                &super::harvest::policy(h),
                checkpoints.last().map(|c| c.at),
            );
            out.push_str(&format!(
                "live: next checkpoint at {} outcomes (confidence {}, graduate_at_max {})\n",
                next.map_or("-".into(), |n| n.to_string()),
                h.confidence,
                h.graduate_at_max
            ));
        }
        None => {}
    }
    out
}

/// AT, canary s/f, control s/f, P(worse), P(better), result.
pub fn checkpoint_table(checkpoints: &[Checkpoint]) -> String {
    let rows: Vec<Vec<String>> = checkpoints
        .iter()
        .map(|c| {
            vec![
                c.at.to_string(),
                format!("{}/{}", c.canary.success, c.canary.failure),
                format!("{}/{}", c.control.success, c.control.failure),
                format!("{:.3}", c.p_worse),
                format!("{:.3}", c.p_better),
                c.result.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "AT",
            "CANARY S/F",
            "CONTROL S/F",
            "P(WORSE)",
            "P(BETTER)",
            "RESULT",
        ],
        &rows,
    )
}

fn by_hand(ctx: &Ctx, change: HandChange, name: &str, version: i64) -> Result<u8> {
    let (verb, command) = match change {
        HandChange::Promote => ("promote", "template promote"),
        _ => ("reject", "template reject"),
    };
    if ctx.dry_run {
        let store = Store::open_reading(&ctx.state_path())?;
        let this = store.template_version(name, version)?;
        let live = store
            .template_with_status(name, "canary")?
            .map(|v| v.version);
        let t = HandTarget {
            name,
            version,
            status: this.as_ref().map(|v| v.status.as_str()),
            live_canary: live,
            canary_on: true,
        };
        if let Some(why) = refusal(change, &t) {
            bail!(why);
        }
        emit(
            ctx.json,
            &Changed::would(command, name, version),
            &format!("template {verb} (dry run): {name}@{version} would be {verb}d\n"),
        );
        return Ok(0);
    }
    let mut store = Store::open(&ctx.state_path())?;
    let done = store.change_by_hand(change, name, version)?;
    let delivery = crate::notify::Notifier::new(&ctx.config).flush(&store);
    let mut human = match (change, done.retired) {
        (HandChange::Promote, Some(old)) => {
            format!("{name}@{version} is current; {name}@{old} is retired\n")
        }
        (HandChange::Promote, None) => format!("{name}@{version} is current\n"),
        _ => format!("{name}@{version} is rejected\n"),
    };
    if let Some(kind) = done.event {
        human.push_str(&format!("event: {kind}\n"));
    }
    emit(
        ctx.json,
        &HandChanged {
            changed: Changed {
                name: Some(name),
                version: Some(version),
                ..Changed::did(command, &done.version)
            },
            retired: done.retired,
            events: done.event.into_iter().collect(),
            notifications: delivery,
        },
        &human,
    );
    Ok(0)
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!(UsageError(format!(
            "template: \"{name}\" is not a valid name (letters, digits, - _ .)"
        )));
    }
    Ok(())
}
