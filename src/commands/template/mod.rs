//! `afk template`: add, canary, list, show, promote, reject prompt-template
//! versions (SPEC 7.1). Refusals are one line, exit 1, nothing changed; the
//! rules are `core::canary::refusal`, the transactions `store::templates`.

use super::Ctx;
use crate::cli::TemplateCmd;
use crate::command_error::UsageError;
use crate::core::canary::VersionStatus;
use crate::core::canary::{HandChange, HandTarget, refusal};
use crate::core::prompt::DEFAULT_PREAMBLE;
use crate::output::emit;
use crate::output::table;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use report::{BuiltIn, Changed, HandChanged, Listed, VersionDoc, success_rate, trail_text};

mod report;

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
            status: Some(VersionStatus::Candidate),
            live_canary: None,
            canary_on: false,
        };
        bail!(refusal(HandChange::StartCanary, &t).unwrap_or_default());
    }
    let mut local = ctx.local()?;
    let v = local
        .store
        .add_template(name, &body, canary, ctx.config.harvest.canary)?;
    let did = format!(
        "{}@{} added as {} (sha256 {})\n",
        v.name,
        v.version,
        if v.status == VersionStatus::Canary {
            "the live canary"
        } else {
            v.status.as_str()
        },
        &v.hash[..12]
    );
    let would = format!("template add (dry run): would add {name}@{}\n", v.version);
    let (doc, human) = local.tense().pick(
        (Changed::did("template add", &v), did),
        (Changed::would("template add", name, v.version), would),
    );
    emit(ctx.json, &doc, &human);
    Ok(0)
}

fn start_canary(ctx: &Ctx, name: &str, version: i64) -> Result<u8> {
    let canary_on = ctx.config.harvest.canary;
    let mut local = ctx.local()?;
    let v = local.store.start_canary(name, version, canary_on)?;
    let did = format!(
        "{name}@{version} is the live canary since {} (sample {})\n",
        v.canary_since.as_deref().unwrap_or(""),
        ctx.config.harvest.sample
    );
    let would =
        format!("template canary (dry run): {name}@{version} would become the live canary\n");
    let (doc, human) = local.tense().pick(
        (Changed::did("template canary", &v), did),
        (Changed::would("template canary", name, version), would),
    );
    emit(ctx.json, &doc, &human);
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
                v.status.to_string(),
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
        None => store.template_with_status(name, VersionStatus::Current)?,
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
    let doc = VersionDoc::shown(&v, trail.then_some(checkpoints.as_slice()));
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

fn by_hand(ctx: &Ctx, change: HandChange, name: &str, version: i64) -> Result<u8> {
    let (command, becomes) = match change {
        HandChange::Promote => ("template promote", "promoted"),
        _ => ("template reject", "rejected"),
    };
    let mut local = ctx.local()?;
    let done = local.store.change_by_hand(change, name, version)?;
    let delivery = local.notify();
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
    let did = HandChanged {
        changed: Changed {
            name: Some(name),
            version: Some(version),
            ..Changed::did(command, &done.version)
        },
        retired: done.retired,
        events: done.event.map(|k| k.as_str()).into_iter().collect(),
        notifications: delivery,
    };
    let tense = local.tense();
    let would = format!("{command} (dry run): {name}@{version} would be {becomes}\n");
    let doc = tense.tell(did, Changed::would(command, name, version));
    emit(ctx.json, &doc, &tense.pick(human, would));
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
