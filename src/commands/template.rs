//! `afk template`: add, list, show, promote, reject prompt-template versions.

use super::{Ctx, UsageError, emit, table};
use crate::cli::TemplateCmd;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use serde_json::json;

pub fn run(ctx: &Ctx, cmd: &TemplateCmd) -> Result<u8> {
    // a dry run creates nothing: it reads the file if there is one
    let mut store = if ctx.dry_run {
        Store::open_for_read(&ctx.state_path())?
    } else {
        Store::open(&ctx.state_path())?
    };
    match cmd {
        TemplateCmd::Add { name, file, canary } => {
            check_name(name)?;
            if *canary && !ctx.config.harvest.canary {
                bail!(UsageError(
                    "template: --canary needs harvest.canary = true in the config".into()
                ));
            }
            let body = std::fs::read_to_string(file)
                .with_context(|| format!("template: cannot read {}", file.display()))?;
            if body.trim().is_empty() {
                bail!(UsageError(format!("template: {} is empty", file.display())));
            }
            if ctx.dry_run {
                emit(
                    ctx.json,
                    &json!({"command": "template add", "dry_run": true, "name": name}),
                    &format!("template add (dry run): would add a version of {name}\n"),
                );
                return Ok(0);
            }
            let v = store.add_template(name, &body, *canary)?;
            emit(
                ctx.json,
                &json!({"command": "template add", "dry_run": false, "template": v}),
                &format!(
                    "{}@{} added as {} (sha256 {})\n",
                    v.name,
                    v.version,
                    v.status,
                    &v.hash[..12]
                ),
            );
        }
        TemplateCmd::List { name } => {
            let vs = store.templates(name.as_deref())?;
            let rows: Vec<Vec<String>> = vs
                .iter()
                .map(|v| {
                    vec![
                        v.name.clone(),
                        v.version.to_string(),
                        v.status.clone(),
                        v.hash[..12].to_string(),
                        v.created_at.clone(),
                    ]
                })
                .collect();
            let human = if rows.is_empty() {
                "no template versions yet (poll uses the built-in implementer preamble)\n".into()
            } else {
                table(&["NAME", "VERSION", "STATUS", "SHA256", "CREATED"], &rows)
            };
            emit(
                ctx.json,
                &json!({"command": "template list", "templates": vs}),
                &human,
            );
        }
        TemplateCmd::Show { spec } => {
            let (name, version) = match spec.split_once('@') {
                Some((n, v)) => (
                    n,
                    Some(v.parse::<i64>().map_err(|_| {
                        UsageError(format!("template: \"{v}\" is not a version number"))
                    })?),
                ),
                None => (spec.as_str(), None),
            };
            let v = match version {
                Some(v) => store.template_version(name, v)?,
                None => store.template_with_status(name, "current")?,
            };
            let Some(v) = v else {
                bail!("template: {spec} does not exist (see `afk template list`)");
            };
            let mut doc = serde_json::to_value(&v)?;
            doc["body"] = json!(v.body);
            emit(
                ctx.json,
                &json!({"command": "template show", "template": doc}),
                &v.body,
            );
        }
        TemplateCmd::Promote { name, version } => {
            if !ctx.dry_run {
                store.promote_template(name, *version)?;
            }
            emit(
                ctx.json,
                &json!({"command": "template promote", "dry_run": ctx.dry_run, "name": name, "version": version}),
                &format!("{name}@{version} is current\n"),
            );
        }
        TemplateCmd::Reject { name, version } => {
            if !ctx.dry_run {
                store.reject_template(name, *version)?;
            }
            emit(
                ctx.json,
                &json!({"command": "template reject", "dry_run": ctx.dry_run, "name": name, "version": version}),
                &format!("{name}@{version} is rejected\n"),
            );
        }
    }
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
