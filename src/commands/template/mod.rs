//! `afk template`: add, canary, list, show, promote, reject prompt-template
//! versions (docs/reports.md#afk-template). Refusals are one line, exit 1,
//! nothing changed; the rules are `core::canary::refusal`, the transactions
//! `store::templates`.

use crate::session::{Outcome, Session};

use crate::command_error::UsageError;
use crate::core::canary::VersionStatus;
use crate::core::canary::{HandChange, HandTarget, refusal};
use crate::core::prompt::DEFAULT_PREAMBLE;
use crate::output::emit;
use crate::output::table;
use anyhow::{Context, Result, bail};
use report::{
    BuiltIn, Changed, HandChanged, Listed, VersionDoc, figures_text, measured, success_rate,
    survival_window, trail_text,
};

#[derive(clap::Subcommand, Debug)]
pub enum Args {
    /// Add a version: the first of a name becomes current, later ones candidates
    #[command(after_long_help = "\
Examples:
  afk template add implementer --file prompts/implementer.md
  afk template add implementer --file v2.md --canary   # needs harvest.canary = true")]
    Add {
        /// Template name: letters, digits, - _ . (poll uses poll.template, default implementer)
        name: String,
        /// File holding the template text (the preamble of every prompt)
        #[arg(long, value_name = "F")]
        file: std::path::PathBuf,
        /// Make it the live canary (needs harvest.canary)
        #[arg(long)]
        canary: bool,
    },
    /// Make a candidate the live canary (needs harvest.canary)
    #[command(after_long_help = "\
Examples:
  afk template canary implementer 3")]
    Canary {
        /// Template name
        name: String,
        /// The candidate version to start as the canary
        version: i64,
    },
    /// Versions with their status, outcomes and success rate
    #[command(after_long_help = "\
Examples:
  afk template list
  afk --json template list implementer")]
    List {
        /// Only this template's versions [default: every template]
        name: Option<String>,
    },
    /// One version's text (default: the current one) and its decision trail
    #[command(after_long_help = "\
Examples:
  afk template show implementer       the current version's text
  afk template show implementer@2     version 2 and, for a canary, its checkpoints")]
    Show {
        /// Template name, optionally with @VERSION (default: the current version)
        #[arg(value_name = "NAME[@VERSION]")]
        spec: String,
    },
    /// Make a version current by hand; the old current becomes retired
    #[command(after_long_help = "\
Examples:
  afk template promote implementer 2")]
    Promote {
        /// Template name
        name: String,
        /// Version number to make current
        version: i64,
    },
    /// Reject a version
    #[command(after_long_help = "\
Examples:
  afk template reject implementer 3")]
    Reject {
        /// Template name
        name: String,
        /// Version number to reject
        version: i64,
    },
}

mod report;

pub fn run(ctx: &Session, cmd: &Args) -> Result<Outcome> {
    ctx.load()?;
    match cmd {
        Args::Add { name, file, canary } => add(ctx, name, file, *canary),
        Args::Canary { name, version } => start_canary(ctx, name, *version),
        Args::List { name } => list(ctx, name.as_deref()),
        Args::Show { spec } => show(ctx, spec),
        Args::Promote { name, version } => by_hand(ctx, HandChange::Promote, name, *version),
        Args::Reject { name, version } => by_hand(ctx, HandChange::Reject, name, *version),
    }
}

fn add(ctx: &Session, name: &str, file: &std::path::Path, canary: bool) -> Result<Outcome> {
    check_name(name)?;
    let body = std::fs::read_to_string(file)
        .with_context(|| format!("template: cannot read {}", file.display()))?;
    if body.trim().is_empty() {
        bail!(UsageError(format!("template: {} is empty", file.display())));
    }
    if canary && !ctx.config().harvest.canary {
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
        .add_template(name, &body, canary, ctx.config().harvest.canary)?;
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
    emit(ctx.json(), &doc, &human);
    Ok(Outcome::OK)
}

fn start_canary(ctx: &Session, name: &str, version: i64) -> Result<Outcome> {
    let canary_on = ctx.config().harvest.canary;
    let mut local = ctx.local()?;
    let v = local.store.start_canary(name, version, canary_on)?;
    let did = format!(
        "{name}@{version} is the live canary since {} (sample {})\n",
        v.canary_since.as_deref().unwrap_or(""),
        ctx.config().harvest.sample
    );
    let would =
        format!("template canary (dry run): {name}@{version} would become the live canary\n");
    let (doc, human) = local.tense().pick(
        (Changed::did("template canary", &v), did),
        (Changed::would("template canary", name, version), would),
    );
    emit(ctx.json(), &doc, &human);
    Ok(Outcome::OK)
}

fn list(ctx: &Session, name: Option<&str>) -> Result<Outcome> {
    let store = ctx.read_store()?;
    let vs = store.templates(name)?;
    let figures = measured(ctx, &store)?;
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
        ctx.json(),
        &Listed {
            command: "template list",
            templates: Some(
                vs.iter()
                    .map(|v| {
                        let f = figures.get(&(v.name.clone(), v.version));
                        VersionDoc::of(v).measured(f, None)
                    })
                    .collect(),
            ),
            template: None,
        },
        &human,
    );
    Ok(Outcome::OK)
}

fn show(ctx: &Session, spec: &str) -> Result<Outcome> {
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
    let store = ctx.read_store()?;
    let v = match version {
        Some(v) => store.template_version(name, v)?,
        None => store.template_with_status(name, VersionStatus::Current)?,
    };
    let Some(v) = v else {
        let builtin = version.is_none()
            && (name == "implementer" || name == ctx.config().poll.template)
            && store.templates(Some(name))?.is_empty();
        if builtin {
            emit(
                ctx.json(),
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
            return Ok(Outcome::OK);
        }
        return Err(crate::hint::hinted(
            anyhow::anyhow!("template: {spec} does not exist"),
            "`afk template list` lists them",
        ));
    };
    let checkpoints = store.checkpoints(v.id)?;
    let trail = v.canary_since.is_some() || v.decision.is_some() || !checkpoints.is_empty();
    let figures = measured(ctx, &store)?;
    let f = figures.get(&(v.name.clone(), v.version));
    let window = survival_window(ctx);
    let doc = VersionDoc::shown(&v, trail.then_some(checkpoints.as_slice()))
        .measured(f, Some(window.as_str()));
    let mut human = v.body.clone();
    if trail {
        human.push_str(&trail_text(ctx, &v, &checkpoints));
    }
    human.push_str(&figures_text(&v, f));
    emit(
        ctx.json(),
        &Listed {
            command: "template show",
            templates: None,
            template: Some(doc),
        },
        &human,
    );
    Ok(Outcome::OK)
}

fn by_hand(ctx: &Session, change: HandChange, name: &str, version: i64) -> Result<Outcome> {
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
    emit(ctx.json(), &doc, &tense.pick(human, would));
    Ok(Outcome::OK)
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
