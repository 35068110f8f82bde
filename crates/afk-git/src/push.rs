//! A push to the mirror: one commit to one branch, with the mirror's
//! credentials, overwriting only what its [`Lease`] allows.

use crate::git::Git;
use anyhow::{Context, Result};
use std::path::Path;

/// What a push may overwrite on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The branch must not exist yet.
    Absent,
    /// The branch must still point at this commit (the one afk checked).
    At(String),
}

impl Git {
    /// Push `sha` to `branch` of the mirror at `url` (with the credentials),
    /// overwriting only what `lease` allows.
    pub fn push(
        &self,
        dir: &Path,
        url: &str,
        sha: &str,
        branch: &str,
        lease: &Lease,
    ) -> Result<()> {
        let dst = format!("refs/heads/{branch}");
        let lease = match lease {
            Lease::Absent => format!("--force-with-lease={dst}:"),
            Lease::At(s) => format!("--force-with-lease={dst}:{s}"),
        };
        self.run(
            Some(dir),
            Some(url),
            &[
                "push",
                "-q",
                "--no-verify",
                &lease,
                url,
                &format!("{sha}:{dst}"),
            ],
            None,
        )
        .with_context(|| format!("push to {branch}"))?;
        Ok(())
    }
}
