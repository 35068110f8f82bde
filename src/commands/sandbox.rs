//! `afk sandbox`: serve the loopback forge until killed; print its URL and a config.

use super::UsageError;
use crate::cli::SandboxArgs;
use crate::sandbox::{self, Seed};
use anyhow::{Context, Result};
use std::io::Write;

pub fn run(a: &SandboxArgs) -> Result<u8> {
    let seed = match &a.seed {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("sandbox: cannot read seed {}", p.display()))?;
            Some(serde_json::from_str::<Seed>(&text).map_err(|e| {
                UsageError(format!("sandbox: seed {}: {e}", p.display()))
            })?)
        }
        None => None,
    };
    if let Some(d) = &a.dir {
        std::fs::create_dir_all(d).with_context(|| format!("sandbox: cannot create {}", d.display()))?;
    }
    let sb = sandbox::start(&a.addr, seed).map_err(|e| UsageError(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "AFK_SANDBOX_URL={}", sb.url)?;
    writeln!(out, "# a config for this sandbox (export AFK_FORGE_TOKEN={}):", sandbox::DEFAULT_TOKEN)?;
    writeln!(out, "[forge]\nkind = \"gitea\"\nurl = \"{}\"\ntoken_env = \"AFK_FORGE_TOKEN\"", sb.url)?;
    writeln!(out, "# admin API: {}/_admin/{{seed,issues,label,faults,requests,state}}", sb.url)?;
    out.flush()?;
    drop(out);
    loop {
        std::thread::park();
    }
}
