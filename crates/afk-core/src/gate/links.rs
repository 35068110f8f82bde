//! The gate judges a path through git's links (docs/security.md#links):
//! a link is judged by its own path and by the paths it makes reachable.
//!
//! - A link the turn adds or changes is refused when it leads out of the
//!   checkout, to a protected path, to a folder, or through more links
//!   than afk follows: a tool that reads the link's path reads what it
//!   leads to (`.github → tools/gh` makes `tools/gh/workflows/*` the
//!   forge's workflows).
//! - A change to a path a protected link leads to (`AGENTS.md →
//!   docs/guide.md`) is a change to what the protected path says: refused
//!   as the link's own path would be.
//!
//! An `allow` glob lifts a link's reason when it matches the path the
//! reason names. The targets are resolved lexically, as git stores them
//! (a link's text relative to its folder), never through the checkout.

use super::{Commit, Did, Policy, Reason};
use std::collections::BTreeSet;

/// A link at the turn's head: its path and its text as git stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub path: String,
    pub target: String,
}

/// The most links afk follows from one path before it calls the chain
/// unreadable (the kernel's own limit on nested links is 40; afk's reasons
/// need far fewer).
pub(crate) const HOPS: usize = 8;

/// Where `target` leads from the link at `path`, as a path from the
/// repository's root; None: out of the checkout (absolute, or `..` above
/// the root), or empty.
pub fn resolve(path: &str, target: &str) -> Option<String> {
    if target.is_empty() || target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Where `path` leads once every link on its way is followed (a link at
/// the path itself or at one of its folders); None: out of the checkout,
/// or more than [`HOPS`] links.
pub fn follow(links: &[Link], path: &str) -> Option<String> {
    let mut at = path.to_string();
    for _ in 0..=HOPS {
        let through = links.iter().find_map(|l| {
            if at == l.path {
                Some((l, String::new()))
            } else {
                at.strip_prefix(&format!("{}/", l.path))
                    .map(|rest| (l, format!("/{rest}")))
            }
        });
        let Some((link, rest)) = through else {
            return Some(at);
        };
        at = format!("{}{rest}", resolve(&link.path, &link.target)?);
    }
    None
}

/// The paths afk asks git about (is it a folder at the head?): where each
/// link the turn adds or changes leads.
pub fn targets_to_ask(commits: &[Commit], links: &[Link]) -> Vec<String> {
    let changed = changed_links(commits, links);
    let mut out: Vec<String> = changed
        .iter()
        .filter_map(|l| follow(links, &l.path))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The links at the head that the turn's commits add or change.
fn changed_links<'a>(commits: &[Commit], links: &'a [Link]) -> Vec<&'a Link> {
    let touched: BTreeSet<&str> = commits
        .iter()
        .flat_map(|c| c.changes.iter())
        .filter(|(did, _)| *did != Did::Deleted)
        .map(|(_, p)| p.as_str())
        .collect();
    links
        .iter()
        .filter(|l| touched.contains(l.path.as_str()))
        .collect()
}

/// Why the turn's links refuse it (docs/security.md#links): `links` are
/// those at the turn's head, `folders` the paths of [`targets_to_ask`] that
/// are folders there. A path already protected by its own name is left to
/// [`super::judge`].
pub fn through_links(
    policy: &Policy,
    commits: &[Commit],
    links: &[Link],
    folders: &BTreeSet<String>,
) -> Vec<Reason> {
    let allowed = |p: &str| policy.allow.iter().any(|g| g.matches(p));
    let mut out: Vec<Reason> = vec![];
    // a link the turn adds or changes, by where it leads
    for l in changed_links(commits, links) {
        if policy.protects(&l.path) || allowed(&l.path) {
            continue;
        }
        let why = match follow(links, &l.path) {
            None => "a link out of the checkout, or through more links than afk follows".into(),
            Some(t) if policy.protects(&t) => {
                format!("a link to the protected {}", super::shown(&t))
            }
            Some(t) if folders.contains(&t) => format!("a link to the folder {}", super::shown(&t)),
            Some(_) => continue,
        };
        add(&mut out, commits, &l.path, why);
    }
    // a change to what a protected link leads to
    let protected: Vec<(&Link, String)> = links
        .iter()
        .filter(|l| policy.protects(&l.path))
        .filter_map(|l| follow(links, &l.path).map(|t| (l, t)))
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for c in commits {
        for (_, path) in &c.changes {
            if policy.protects(path) || allowed(path) || !seen.insert(path) {
                continue;
            }
            let reached = protected.iter().find(|(_, t)| {
                path == t
                    || path.starts_with(&format!("{t}/"))
                    || follow(links, path).as_ref() == Some(t)
            });
            if let Some((link, _)) = reached {
                let why = format!(
                    "reached through the protected link {}",
                    super::shown(&link.path)
                );
                add(&mut out, commits, path, why);
            }
        }
    }
    out
}

/// One [`Reason::Linked`] for `path`, with what every commit did to it.
fn add(out: &mut Vec<Reason>, commits: &[Commit], path: &str, why: String) {
    let mut did: Vec<Did> = vec![];
    let mut ids: Vec<String> = vec![];
    for c in commits {
        for (d, p) in &c.changes {
            if p == path {
                if !did.contains(d) {
                    did.push(*d);
                }
                if !ids.contains(&c.short) {
                    ids.push(c.short.clone());
                }
            }
        }
    }
    out.push(Reason::Linked {
        path: path.to_string(),
        why,
        did,
        commits: ids,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(path: &str, target: &str) -> Link {
        Link {
            path: path.into(),
            target: target.into(),
        }
    }

    fn commit(changes: &[(Did, &str)]) -> Commit {
        Commit {
            short: "abc1234".into(),
            changes: changes.iter().map(|(d, p)| (*d, p.to_string())).collect(),
        }
    }

    #[test]
    fn a_links_target_resolves_lexically_from_its_folder() {
        let cases = [
            ("AGENTS.md", "docs/guide.md", Some("docs/guide.md")),
            ("a/b/c", "../d", Some("a/d")),
            ("a/b", "./c/./d", Some("a/c/d")),
            ("a", "..", None),
            ("a/b", "../../etc/passwd", None),
            ("x", "/etc/passwd", None),
            ("x", "", None),
            (".github", "tools/gh", Some("tools/gh")),
        ];
        for (path, target, want) in cases {
            assert_eq!(resolve(path, target).as_deref(), want, "{path} -> {target}");
        }
    }

    /// The attacker's cases of round ten, and the controls that pass.
    #[test]
    fn a_link_is_judged_by_its_own_path_and_by_the_paths_it_makes_reachable() {
        let p = Policy::of(&[], &[], 0, 0).unwrap();
        let allow = Policy::of(&[], &["docs/guide.md".into(), "out".into()], 0, 0).unwrap();
        // (policy, links at the head, folders there, the turn's changes, the paths refused)
        type Case<'a> = (
            &'a Policy,
            Vec<Link>,
            Vec<&'a str>,
            Vec<(Did, &'a str)>,
            Vec<&'a str>,
        );
        let cases: Vec<Case> = vec![
            // editing only the target of a protected link
            (
                &p,
                vec![link("AGENTS.md", "docs/guide.md")],
                vec![],
                vec![(Did::Modified, "docs/guide.md")],
                vec!["docs/guide.md"],
            ),
            // ... a file under a protected link's folder
            (
                &p,
                vec![link(".github", "tools/gh")],
                vec![],
                vec![(Did::Added, "tools/gh/workflows/release.yml")],
                vec!["tools/gh/workflows/release.yml"],
            ),
            // ... through a chain of links
            (
                &p,
                vec![
                    link("CLAUDE.md", "AGENTS2.md"),
                    link("AGENTS2.md", "docs/a.md"),
                ],
                vec![],
                vec![(Did::Modified, "docs/a.md")],
                vec!["docs/a.md"],
            ),
            // ... unless `allow` names the target
            (
                &allow,
                vec![link("AGENTS.md", "docs/guide.md")],
                vec![],
                vec![(Did::Modified, "docs/guide.md")],
                vec![],
            ),
            // a new link to a folder
            (
                &p,
                vec![link("tools/ci", "../scripts")],
                vec!["scripts"],
                vec![(Did::Added, "tools/ci")],
                vec!["tools/ci"],
            ),
            // a new link into a protected tree
            (
                &p,
                vec![link("docs/ci.yml", "../.github/workflows/ci.yml")],
                vec![],
                vec![(Did::Added, "docs/ci.yml")],
                vec!["docs/ci.yml"],
            ),
            // a new link out of the checkout
            (
                &p,
                vec![link("data", "/etc/passwd")],
                vec![],
                vec![(Did::Added, "data")],
                vec!["data"],
            ),
            // ... unless `allow` names the link
            (
                &allow,
                vec![link("out", "/etc/passwd")],
                vec![],
                vec![(Did::Added, "out")],
                vec![],
            ),
            // a chain longer than afk follows
            (
                &p,
                (0..=HOPS)
                    .map(|i| link(&format!("l{i}"), &format!("l{}", i + 1)))
                    .collect(),
                vec![],
                vec![(Did::Added, "l0")],
                vec!["l0"],
            ),
            // a link's own protected path is the plain gate's (not twice)
            (
                &p,
                vec![link(".github", "tools/gh")],
                vec!["tools/gh"],
                vec![(Did::Added, ".github")],
                vec![],
            ),
            // controls: a new link to a plain file, an edit no protected
            // link leads to, an edit of a file a plain link leads to
            (
                &p,
                vec![link("README", "docs/readme.md")],
                vec![],
                vec![(Did::Added, "README")],
                vec![],
            ),
            (
                &p,
                vec![link("AGENTS.md", "docs/guide.md")],
                vec![],
                vec![
                    (Did::Modified, "docs/other.md"),
                    (Did::Modified, "docs/guide.mdx"),
                ],
                vec![],
            ),
            (
                &p,
                vec![link("README", "docs/readme.md")],
                vec![],
                vec![(Did::Modified, "docs/readme.md")],
                vec![],
            ),
            // a deleted link is judged by its own path only
            (&p, vec![], vec![], vec![(Did::Deleted, "tools/ci")], vec![]),
        ];
        for (i, (policy, links, folders, changes, want)) in cases.into_iter().enumerate() {
            let folders: BTreeSet<String> = folders.into_iter().map(str::to_string).collect();
            let commits = [commit(&changes)];
            let got: Vec<String> = through_links(policy, &commits, &links, &folders)
                .into_iter()
                .map(|r| match r {
                    Reason::Linked { path, commits, .. } => {
                        assert_eq!(commits, vec!["abc1234".to_string()]);
                        path
                    }
                    other => panic!("case {i}: {other:?}"),
                })
                .collect();
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn the_paths_asked_are_where_the_turns_new_links_lead() {
        let links = [link("a", "b/c"), link("x", "y"), link("d", "/abs")];
        let commits = [commit(&[
            (Did::Added, "a"),
            (Did::Added, "d"),
            (Did::Modified, "z"),
        ])];
        assert_eq!(targets_to_ask(&commits, &links), vec!["b/c".to_string()]);
    }
}
