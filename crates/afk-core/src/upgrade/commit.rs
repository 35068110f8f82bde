//! The check of afk's own upgrade commit before it is pushed
//! (docs/how-it-works.md#afk-upgrade): the commit, as git made it, may change
//! only the files the edit meant to change, keep their modes, hold exactly the
//! edited text, and that text may differ from upstream `main` only in tag
//! characters after an `image:` key or a Co-op Cloud version label. Whatever
//! git was fed (a hostile file name, a git that adds entries of its own), a
//! commit that does more is not pushed.

/// One path a commit changes against its parent, as `git diff-tree -r` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeChange {
    pub path: String,
    /// `M`, `A`, `D`, `T`, ...
    pub status: String,
    pub old_mode: String,
    pub new_mode: String,
    /// the new blob's text; None when deleted or not UTF-8
    pub text: Option<String>,
}

/// How a commit is more than afk's edit; `Display` is the words after
/// "not pushing afk's commit …: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotTheEdit {
    /// (path, git's status letter): a file afk did not mean to change
    Unmeant(String, String),
    /// a change that is not the text alone: (path, status, old mode, new mode)
    NotText(String, String, String, String),
    /// the blob is not the text afk edited
    OtherText(String),
    /// (lines after, lines before)
    Lines(usize, usize),
    /// the 1-based line that changes more than a tag
    MoreThanATag(usize),
    /// in this file
    In(String, Box<NotTheEdit>),
}

impl std::fmt::Display for NotTheEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotTheEdit::Unmeant(path, status) => write!(
                f,
                "it changes {} ({status}), which afk did not mean to change",
                path.escape_debug()
            ),
            NotTheEdit::NotText(path, status, old, new) => write!(
                f,
                "it changes {path} as {status} (mode {old} → {new}), not only its text"
            ),
            NotTheEdit::OtherText(path) => write!(f, "{path} is not the text afk meant to commit"),
            NotTheEdit::Lines(after, before) => write!(
                f,
                "it has {after} lines instead of {before}: lines were added or removed"
            ),
            NotTheEdit::MoreThanATag(n) => write!(
                f,
                "line {n} changes more than an image tag or version label"
            ),
            NotTheEdit::In(file, why) => write!(f, "{file}: {why}"),
        }
    }
}

impl std::error::Error for NotTheEdit {}

/// Whether the commit whose `changes` are listed is exactly the edit: `meant`
/// holds (file, upstream text, edited text) for every file afk changed.
pub fn commit_is_only_the_edit(
    meant: &[(String, String, String)],
    changes: &[TreeChange],
) -> Result<(), NotTheEdit> {
    for c in changes {
        let Some((_, _, after)) = meant.iter().find(|(f, _, _)| *f == c.path) else {
            return Err(NotTheEdit::Unmeant(c.path.clone(), c.status.clone()));
        };
        if c.status != "M" || c.old_mode != c.new_mode {
            let (path, status) = (c.path.clone(), c.status.clone());
            let (old, new) = (c.old_mode.clone(), c.new_mode.clone());
            return Err(NotTheEdit::NotText(path, status, old, new));
        }
        if c.text.as_deref() != Some(after.as_str()) {
            return Err(NotTheEdit::OtherText(c.path.clone()));
        }
    }
    for (file, before, after) in meant {
        only_tags_changed(before, after).map_err(|e| NotTheEdit::In(file.clone(), Box::new(e)))?;
    }
    Ok(())
}

/// Whether `after` differs from `before` only within lines, and there only in
/// tag characters (`A-Za-z0-9_.-`, and `+` of a version label): in the tag of
/// an `image:` reference (after its last `:`), or after a
/// `coop-cloud.<stack>.version` label on the same line.
pub(crate) fn only_tags_changed(before: &str, after: &str) -> Result<(), NotTheEdit> {
    let (b, a): (Vec<&[u8]>, Vec<&[u8]>) = (
        before.as_bytes().split(|c| *c == b'\n').collect(),
        after.as_bytes().split(|c| *c == b'\n').collect(),
    );
    if b.len() != a.len() {
        return Err(NotTheEdit::Lines(a.len(), b.len()));
    }
    for (n, (x, y)) in b.iter().zip(&a).enumerate() {
        if x == y {
            continue;
        }
        let p = x.iter().zip(y.iter()).take_while(|(i, j)| i == j).count();
        let (xr, yr) = (&x[p..], &y[p..]);
        let s = xr
            .iter()
            .rev()
            .zip(yr.iter().rev())
            .take_while(|(i, j)| i == j)
            .count();
        let tag = |m: &[u8]| {
            m.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+'))
        };
        let head = String::from_utf8_lossy(&x[..p]);
        let in_tag = tag_start(x).is_some_and(|t| p >= t);
        let in_label = head
            .find("coop-cloud.")
            .is_some_and(|i| head[i..].contains(".version"));
        let keyed = in_tag || in_label;
        if !keyed || !tag(&xr[..xr.len() - s]) || !tag(&yr[..yr.len() - s]) {
            return Err(NotTheEdit::MoreThanATag(n + 1));
        }
    }
    Ok(())
}

/// Where the tag of a line's `image:` reference starts: after the
/// reference's last `:` that follows its last `/` (a registry's port is not
/// the tag).
fn tag_start(line: &[u8]) -> Option<usize> {
    let key = line.windows(6).position(|w| w == b"image:")? + 6;
    let start = key
        + line[key..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'"' | b'\''))
            .count();
    let len = line[start..]
        .iter()
        .take_while(|c| !matches!(c, b' ' | b'"' | b'\'' | b'}' | b',' | b'#' | b'\r'))
        .count();
    let r = &line[start..start + len];
    let name = r.iter().rposition(|c| *c == b'/').map_or(0, |i| i + 1);
    let colon = r[name..].iter().rposition(|c| *c == b':')?;
    Some(start + name + colon + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_a_commit_is_not_the_edit_is_said_in_one_line() {
        use NotTheEdit::*;
        let s = |x: &str| x.to_string();
        let cases = [
            (
                Unmeant(s("a\tb"), s("A")),
                "it changes a\\tb (A), which afk did not mean to change",
            ),
            (
                NotText(s("c.yml"), s("T"), s("100644"), s("120000")),
                "it changes c.yml as T (mode 100644 → 120000), not only its text",
            ),
            (
                OtherText(s("c.yml")),
                "c.yml is not the text afk meant to commit",
            ),
            (
                Lines(3, 2),
                "it has 3 lines instead of 2: lines were added or removed",
            ),
            (
                In(s("c.yml"), Box::new(MoreThanATag(4))),
                "c.yml: line 4 changes more than an image tag or version label",
            ),
        ];
        for (e, words) in cases {
            assert_eq!(e.to_string(), words, "{e:?}");
        }
    }

    const COMPOSE: &str = "services:\r\n  app:\r\n    image: \"nginx:1.25.3\"   # keep\r\n    deploy:\r\n      labels:\r\n        - \"coop-cloud.${STACK_NAME}.version=1.2.3+1.25.3\"\r\n";

    #[test]
    fn only_tags_after_an_image_key_or_version_label_may_change() {
        let bumped = COMPOSE
            .replace("nginx:1.25.3", "nginx:1.26.0")
            .replace("1.2.3+1.25.3", "1.3.0+1.26.0");
        let map = "labels:\n  coop-cloud.${STACK_NAME}.version: 1.9.8+0\n";
        let traefik = "labels:\n  - traefik.enable=false\n";
        let port = "services:\n  a: {image: reg.example:5000/x:1.0}\n";
        let cases: Vec<(&str, &str, String, bool)> = vec![
            ("the tag and the label", COMPOSE, bumped, true),
            ("nothing", COMPOSE, COMPOSE.into(), true),
            (
                "a map-form label",
                map,
                map.replace("1.9.8+0", "1.10.0+1"),
                true,
            ),
            (
                "the image's name",
                COMPOSE,
                COMPOSE.replace("nginx:", "evil:"),
                false,
            ),
            (
                "a host's port",
                port,
                port.replace(":5000/", ":5001/"),
                false,
            ),
            (
                "a path after a port",
                port,
                port.replace("/x:", "/y:"),
                false,
            ),
            (
                "a tag after a port",
                port,
                port.replace(":1.0", ":1.1"),
                true,
            ),
            (
                "yaml after the tag",
                COMPOSE,
                COMPOSE.replace("1.25.3\"", "1.26.0\", privileged: true"),
                false,
            ),
            (
                "a line without a key",
                COMPOSE,
                COMPOSE.replace("services:", "services: {}"),
                false,
            ),
            (
                "a line added",
                COMPOSE,
                COMPOSE.replace("  app:\r\n", "  app:\r\n    privileged: true\r\n"),
                false,
            ),
            (
                "a line removed",
                COMPOSE,
                COMPOSE.replace("    deploy:\r\n", ""),
                false,
            ),
            (
                "a label that is not the version",
                traefik,
                traefik.replace("false", "true"),
                false,
            ),
            (
                "a multibyte change",
                COMPOSE,
                COMPOSE.replace("keep", "kéép"),
                false,
            ),
        ];
        for (name, before, after, ok) in cases {
            assert_eq!(only_tags_changed(before, &after).is_ok(), ok, "case {name}");
        }
    }

    #[test]
    fn afks_commit_changes_only_the_files_it_meant_and_only_their_text() {
        let after = COMPOSE.replace("nginx:1.25.3", "nginx:1.26.0");
        let meant = vec![(
            "compose.yml".to_string(),
            COMPOSE.to_string(),
            after.clone(),
        )];
        let change =
            |path: &str, status: &str, modes: (&str, &str), text: Option<&str>| TreeChange {
                path: path.into(),
                status: status.into(),
                old_mode: modes.0.into(),
                new_mode: modes.1.into(),
                text: text.map(str::to_string),
            };
        let plain = ("100644", "100644");
        let edit = change("compose.yml", "M", plain, Some(&after));
        let cases: Vec<(&str, Vec<TreeChange>, Option<&str>)> = vec![
            ("the edit", vec![edit.clone()], None),
            (
                "abra.sh made executable too",
                vec![
                    change("abra.sh", "M", ("100644", "100755"), Some("#!/bin/sh\n")),
                    edit.clone(),
                ],
                Some("abra.sh"),
            ),
            (
                "a file added",
                vec![
                    edit.clone(),
                    change("compose.b.yml", "A", ("000000", "100644"), Some("")),
                ],
                Some("compose.b.yml"),
            ),
            (
                "the mode of the file",
                vec![change(
                    "compose.yml",
                    "M",
                    ("100644", "100755"),
                    Some(&after),
                )],
                Some("mode"),
            ),
            (
                "other text",
                vec![change("compose.yml", "M", plain, Some(COMPOSE))],
                Some("not the text"),
            ),
            (
                "deleted",
                vec![change("compose.yml", "D", ("100644", "000000"), None)],
                Some("compose.yml"),
            ),
        ];
        for (name, changes, err) in cases {
            match (commit_is_only_the_edit(&meant, &changes), err) {
                (Ok(()), None) => {}
                (Err(e), Some(want)) => assert!(e.to_string().contains(want), "case {name}: {e}"),
                (got, _) => panic!("case {name}: {got:?}"),
            }
        }
        // an edit that itself changed more than tags is refused too
        let wide = vec![(
            "compose.yml".to_string(),
            COMPOSE.to_string(),
            COMPOSE.replace("services:", "services: {}"),
        )];
        assert!(commit_is_only_the_edit(&wide, &[]).is_err());
    }
}
