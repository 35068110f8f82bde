//! The labels watch puts on a run's issue mid-flight (the human label at an
//! escalation, the paused label at a pause): a label the config names and
//! the repository lacks (a new version's label after an upgrade, one a
//! person deleted) never fails the run. afk makes it where its account may,
//! with one line in the log, and adds it; where it may not, the run goes on
//! without it, with one warning (doctor's labels line FAILs it).

use super::lists::Watch;
use crate::store::runs::Run;
use anyhow::Result;

/// Add `name` to `run`'s issue, making the label first when the repository
/// lacks it (docs/operations.md#labels-afk-makes-itself).
pub(super) fn add(w: &Watch, run: &Run, name: &str) -> Result<()> {
    let forge = w.t.forge()?;
    let e = match forge.add_label(&run.repo, run.issue, name) {
        Ok(()) => return Ok(()),
        Err(e) if e.downcast_ref::<afk_forge::NoSuchLabel>().is_some() => e,
        Err(e) => return Err(e),
    };
    let cfg = w.t.config();
    let color = cfg
        .labels()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map_or("ededed", |(_, c)| c);
    match forge.create_label(&run.repo, name, color) {
        Ok(()) => {
            crate::log::info(&format!(
                "{}: made label \"{name}\", which the config names and the repository lacked (afk init --create-labels makes them all)",
                run.repo
            ));
            forge.add_label(&run.repo, run.issue, name)
        }
        Err(made) => {
            crate::log::warn(&format!(
                "{}#{} run {}: {}; afk could not make it ({}): the run goes on without it",
                run.repo,
                run.issue,
                run.id,
                crate::command_error::person_line(&e),
                crate::command_error::person_line(&made),
            ));
            Ok(())
        }
    }
}
