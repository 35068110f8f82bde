//! afk pushes no other repository's commit id
//! (docs/security.md#the-workspace-the-agent-holds-no-forge-credential): a
//! gitlink (a tree entry of mode 160000, what a submodule is) records a
//! commit of another repository by its id. A nested `sub/.git` file naming
//! another repository (`gitdir: …`) in the agent's checkout makes `git add`
//! record one, and an agent can commit one by hand: either way the id of a
//! commit of a repository afk's user can read would leave in afk's push. A
//! turn whose commits record a gitlink the base did not have (that path at
//! that commit) is refused, naming the path, never the id. Pure: the lines
//! come in as git printed them (`git log --raw -m`, `git ls-tree -r`).

/// A gitlink's mode.
pub(crate) const GITLINK: &str = "160000";

/// The gitlink a line of `git ls-tree -r` names: (path, commit id); None
/// for any other entry.
pub fn in_tree(line: &str) -> Option<(&str, &str)> {
    let (meta, path) = line.split_once('\t')?;
    let mut f = meta.split_whitespace();
    let (mode, _kind, id) = (f.next()?, f.next()?, f.next()?);
    (mode == GITLINK).then_some((path, id))
}

/// The gitlink a line of `git log --raw` (`:<old mode> <new mode> <old id>
/// <new id> <status>\t<path>`) leaves in its commit: (path, commit id);
/// None for any other line or entry (one that ends a gitlink leaves none).
pub fn in_change(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let (meta, paths) = rest.split_once('\t')?;
    let f: Vec<&str> = meta.split_whitespace().collect();
    let [_, new_mode, _, new_id, status] = f[..] else {
        return None;
    };
    if new_mode != GITLINK || status.starts_with('D') {
        return None;
    }
    // a rename or copy names two paths; the second is where it now is
    let path = paths.rsplit('\t').next().unwrap_or(paths);
    Some((path, new_id))
}

/// Why the turn must not be pushed: the first gitlink its changes record
/// (`changes`: lines of `git log --raw -m` over the turn's commits) that the
/// base's tree (`base`: its gitlinks) does not hold as it is. None: push.
pub fn refusal<'a>(
    base: &[(&str, &str)],
    changes: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let (path, _) = changes
        .into_iter()
        .filter_map(in_change)
        .find(|link| !base.contains(link))?;
    Some(format!(
        "the turn's commits record a gitlink at {path} (mode {GITLINK}: a commit of another repository, what a nested .git or a submodule makes) that the base does not have: afk pushes no other repository's commit id"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn a_gitlink_the_base_did_not_have_is_refused_naming_its_path() {
        let add = format!(":000000 {GITLINK} {Z} {A} A\tsub");
        let moved = format!(":{GITLINK} {GITLINK} {A} {B} M\tvendor/lib");
        let gone = format!(":{GITLINK} 000000 {A} {Z} D\tvendor/lib");
        let file = format!(":000000 100644 {Z} {A} A\tsub.txt");
        let into_file = format!(":{GITLINK} 100644 {A} {B} T\tvendor/lib");
        let renamed = format!(":{GITLINK} {GITLINK} {A} {A} R100\told\tnew");
        // (the rule's case, the base's gitlinks, the turn's raw lines, the path refused)
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a [&'a str],
            Option<&'a str>,
        );
        let table: &[Case] = &[
            ("a new gitlink", &[], &[&add], Some("sub")),
            ("a file is no gitlink", &[], &[&file], None),
            (
                "a commit's header line",
                &[],
                &["\0abc", "", "    message"],
                None,
            ),
            (
                "the base's own gitlink, unchanged",
                &[("sub", A)],
                &[&add],
                None,
            ),
            (
                "the base's path at another commit",
                &[("vendor/lib", A)],
                &[&moved],
                Some("vendor/lib"),
            ),
            (
                "the same commit at another path",
                &[("vendor/lib", B)],
                &[&add],
                Some("sub"),
            ),
            (
                "a gitlink removed leaves none",
                &[("vendor/lib", A)],
                &[&gone],
                None,
            ),
            (
                "a gitlink made a file leaves none",
                &[("vendor/lib", A)],
                &[&into_file],
                None,
            ),
            (
                "renamed: where it now is",
                &[("old", A)],
                &[&renamed],
                Some("new"),
            ),
            (
                "added then removed: its commit still carries it",
                &[],
                &[&add, &gone],
                Some("sub"),
            ),
        ];
        for (name, base, changes, want) in table {
            let got = refusal(base, changes.iter().copied());
            match (want, &got) {
                (None, None) => {}
                (Some(path), Some(why)) => {
                    assert!(
                        why.contains(&format!("gitlink at {path} ")),
                        "{name}: {why}"
                    );
                    assert!(
                        !why.contains(A) && !why.contains(B),
                        "{name}: names the id: {why}"
                    );
                }
                _ => panic!("{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_trees_gitlinks_are_read_from_ls_tree() {
        let table = [
            (format!("{GITLINK} commit {A}\tsub"), Some(("sub", A))),
            (format!("100644 blob {A}\tREADME"), None),
            (format!("040000 tree {A}\tsrc"), None),
            ("garbage".to_string(), None),
        ];
        for (line, want) in &table {
            assert_eq!(in_tree(line), *want, "{line}");
        }
    }
}
