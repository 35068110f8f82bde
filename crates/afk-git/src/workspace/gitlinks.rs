//! afk pushes no other repository's commit id: a gitlink the turn's commits
//! record that the base did not have refuses the push
//! (`afk_core::gitlinks`), read from afk's cache, never the checkout.

use super::Workspace;
use anyhow::Result;
use std::path::Path;

impl Workspace {
    /// Why the commits `start..work` must not be pushed: one of them (each
    /// against each of its parents, so a gitlink committed and removed
    /// again is found) records a gitlink `start`'s tree does not hold.
    pub(super) fn gitlink_in(
        &self,
        cache: &Path,
        start: &str,
        work: &str,
    ) -> Result<Option<String>> {
        let range = format!("{start}..{work}");
        let changes = self.git.run(
            Some(cache),
            None,
            &[
                "log",
                "--no-color",
                "--raw",
                "-m",
                "--no-renames",
                "--no-abbrev",
                "--format=%x00%H",
                &range,
            ],
            None,
        )?;
        if !changes
            .lines()
            .any(|l| afk_core::gitlinks::in_change(l).is_some())
        {
            return Ok(None);
        }
        let tree = self
            .git
            .run(Some(cache), None, &["ls-tree", "-r", start], None)?;
        let base: Vec<(&str, &str)> = tree
            .lines()
            .filter_map(afk_core::gitlinks::in_tree)
            .collect();
        Ok(afk_core::gitlinks::refusal(&base, changes.lines()))
    }
}
