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
            Some(
                serde_json::from_str::<Seed>(&text)
                    .map_err(|e| UsageError(format!("sandbox: seed {}: {e}", p.display())))?,
            )
        }
        None if a.example => Some(super::demo::example_seed()),
        None => None,
    };
    if let Some(d) = &a.dir {
        std::fs::create_dir_all(d)
            .with_context(|| format!("sandbox: cannot create {}", d.display()))?;
    }
    let dialect = sandbox::Dialect::parse(&a.dialect)
        .ok_or_else(|| UsageError(format!("sandbox: unknown dialect \"{}\"", a.dialect)))?;
    let sb = sandbox::start_with(dialect, &a.addr, seed, a.dir.clone())
        .map_err(|e| UsageError(e.to_string()))?;
    let forge = match dialect {
        sandbox::Dialect::Gitea => format!("kind = \"gitea\"\nurl = \"{}\"", sb.url),
        sandbox::Dialect::Github => format!(
            "kind = \"github\"\nurl = \"{}\"\napi_url = \"{}\"",
            sb.url,
            sb.api_url()
        ),
    };
    let admin = match dialect {
        sandbox::Dialect::Gitea => "seed,issues,label,issue_state,faults,requests,state",
        sandbox::Dialect::Github => {
            "seed,issues,label,issue_state,faults,requests,state,check_run,rename,rate_limit,scopes"
        }
    };
    // A complete config for trying afk against this sandbox with only the
    // binary: the scripted demo agent is written beside the repositories.
    let agent = sb.dir.join("demo-agent.sh");
    std::fs::write(&agent, super::demo::DEMO_AGENT)
        .with_context(|| format!("sandbox: cannot write {}", agent.display()))?;
    let allowlist: Vec<String> = sb
        .state
        .lock()
        .unwrap()
        .repo_names()
        .into_iter()
        .map(|r| format!("\"{r}\""))
        .collect();
    // Whoever reads this may close the pipe after the first line (`| head -1`):
    // a failed write to stdout must not stop the server.
    let text = format!(
        "AFK_SANDBOX_URL={url}\nAFK_SANDBOX_GIT={git}\n\
         # admin API: {url}/_admin/{{{admin}}}\n\
         # --- afk.toml for this sandbox (export AFK_FORGE_TOKEN={tok}); save from this line down ---\n\
         state_path = \"{git}/afk-state/afk.db\"\n\n\
         [forge]\n{forge}\ntoken_env = \"AFK_FORGE_TOKEN\"\n\n\
         [runner]\n# the scripted demo agent; a real one: command = [\"sh\", \"-c\", \"claude -p < \\\"$AFK_PROMPT_FILE\\\"\"]\n{command}\n\n\
         [poll]\nenabled = true\nallowlist = [{allow}]\n\n\
         [watch]\nci_contexts = []\n",
        url = sb.url,
        git = sb.dir.display(),
        tok = sandbox::DEFAULT_TOKEN,
        command = super::demo::agent_command(&sb, &agent),
        allow = allowlist.join(", "),
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
