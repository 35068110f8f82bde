//! `afk init`: write the commented starter config; `--create-labels` makes afk's labels.

use super::UsageError;
use crate::cli::{Cli, InitArgs};
use crate::config::{self, Config};
use anyhow::{Context, Result, bail};

pub fn run(cli: &Cli, a: &InitArgs) -> Result<u8> {
    let path = cli.config.clone().unwrap_or_else(|| "afk.toml".into());
    if a.create_labels {
        let cfg = Config::load(&path)?;
        let ctx = super::Ctx {
            config: cfg,
            config_path: path.clone(),
            state_flag: cli.state.clone(),
            dry_run: cli.dry_run,
            json: cli.json,
        };
        let forge = crate::forge::from_config(&ctx.config)?;
        let c = &ctx.config;
        let wanted = [
            (&c.poll.ready_label, "0e8a16"),
            (&c.poll.in_progress_label, "fbca04"),
            (&c.watch.human_label, "d93f0b"),
        ];
        let mut failed = 0;
        for repo in &c.poll.allowlist {
            let have = forge.repo_labels(repo)?;
            for (name, color) in wanted {
                if have.iter().any(|l| &l.name == name) {
                    println!("{repo}: label \"{name}\" exists");
                } else if cli.dry_run {
                    println!("{repo}: would create label \"{name}\"");
                } else {
                    match forge.create_label(repo, name, color) {
                        Ok(()) => println!("{repo}: created label \"{name}\""),
                        Err(e) => {
                            eprintln!("afk: {e}");
                            failed += 1;
                        }
                    }
                }
            }
        }
        return Ok(if failed == 0 { 0 } else { 1 });
    }
    if path.exists() && !a.force {
        bail!(UsageError(format!(
            "init: {} exists; pass --force to overwrite it",
            path.display()
        )));
    }
    if cli.dry_run {
        println!("init (dry run): would write {}", path.display());
        return Ok(0);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("init: cannot create {}", dir.display()))?;
    }
    // write beside, then rename: never a half-written config
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, config::STARTER)
        .with_context(|| format!("init: cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("init: cannot write {}", path.display()))?;
    println!(
        "wrote {} (afk ships disabled: set poll.enabled and poll.allowlist to arm it)",
        path.display()
    );
    Ok(0)
}
