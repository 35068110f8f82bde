//! Which of a tick's conditional reads its own writes made stale (GitHub,
//! docs/github.md#rate-limits: an idle PR costs no rate limit). GitHub's `ETag`
//! is opaque: no write's answer tells the list's next one, so a tick that wrote
//! re-reads, once at its end, the lists its writes changed; the next tick's
//! `If-None-Match` then matches and is answered 304, free. Everything else
//! it read is left alone.
//!
//! Paths are the API's, from `/repos/{owner}/{name}/` on, with or without a
//! query. A comment created, edited or reacted to changes the comment
//! list and the repo's issue lists (GitHub counts comments there and moves the
//! issue's `updated_at`); a label or a state changes the issue lists; a pull
//! request write (a branch update) changes the pull lists.

/// `/repos/{owner}/{name}/{rest}` → (owner/name in lower case, rest without its query).
fn split(path: &str) -> Option<(String, &str)> {
    let path = path.split('?').next().unwrap_or("");
    let rest = path.strip_prefix("/repos/")?;
    let mut parts = rest.splitn(3, '/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if owner.is_empty() || name.is_empty() {
        return None;
    }
    let repo = format!("{owner}/{name}").to_ascii_lowercase();
    Some((repo, parts.next().unwrap_or("")))
}

/// Whether a write (`POST`/`PATCH`/`PUT`/`DELETE` to `write`) may have
/// changed what a conditional GET of `read` answers, so that the GET is
/// worth repeating after the write to keep its validator current.
pub fn changed_by(write: &str, read: &str) -> bool {
    let (Some((wrepo, w)), Some((rrepo, r))) = (split(write), split(read)) else {
        return false;
    };
    if wrepo != rrepo {
        return false;
    }
    let mut w = w.split('/');
    let mut r = r.split('/');
    match (w.next(), r.next()) {
        (Some("issues"), Some("issues")) => {
            let written = w.next();
            match (r.next(), r.next(), r.next()) {
                // the repo's issue lists
                (None, _, _) => true,
                // an issue's comments: the written issue's, or any when the
                // write names a comment by its id alone
                (Some(n), Some("comments"), None) => {
                    written == Some(n) || written == Some("comments")
                }
                _ => false,
            }
        }
        (Some("pulls"), Some("pulls")) => r.next().is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_refreshes_only_the_lists_it_changed() {
        let list = "/repos/acme/api/issues?state=open&labels=agent-in-progress&per_page=100";
        let comments1 = "/repos/acme/api/issues/1/comments?per_page=100";
        let comments2 = "/repos/acme/api/issues/2/comments?per_page=100&page=2";
        let cases = [
            // the checklist comment edited (by id): the issue lists and every comment list
            ("/repos/acme/api/issues/comments/77", list, true),
            ("/repos/acme/api/issues/comments/77", comments1, true),
            (
                "/repos/acme/api/issues/comments/77/reactions",
                comments2,
                true,
            ),
            // a comment created on #1: #1's comments and the lists, not #2's comments
            ("/repos/acme/api/issues/1/comments", comments1, true),
            ("/repos/acme/api/issues/1/comments", list, true),
            ("/repos/acme/api/issues/1/comments", comments2, false),
            // a label or a state on #1
            (
                "/repos/acme/api/issues/1/labels/ready-for-human",
                list,
                true,
            ),
            ("/repos/acme/api/issues/1", list, true),
            ("/repos/acme/api/issues/1", comments1, true),
            // what a comment does not change
            (
                "/repos/acme/api/issues/1/comments",
                "/repos/acme/api/issues/1",
                false,
            ),
            (
                "/repos/acme/api/issues/1/comments",
                "/repos/acme/api/pulls?state=open",
                false,
            ),
            (
                "/repos/acme/api/issues/1/comments",
                "/repos/acme/api/pulls/2/reviews",
                false,
            ),
            (
                "/repos/acme/api/issues/1/comments",
                "/repos/acme/api/commits/abc/status",
                false,
            ),
            // another repo's lists never
            ("/repos/acme/web/issues/1/comments", list, false),
            ("/repos/ACME/API/issues/1/comments", list, true),
            // a branch update: the pull lists
            (
                "/repos/acme/api/pulls/2/update-branch",
                "/repos/acme/api/pulls?state=open",
                true,
            ),
            (
                "/repos/acme/api/pulls/2/update-branch",
                "/repos/acme/api/pulls/2/reviews",
                false,
            ),
            ("/repos/acme/api/pulls/2/update-branch", list, false),
            // not a repository's path
            ("/user", list, false),
            ("/repos/acme", list, false),
            ("/repos/acme/api/issues/1/comments", "/user", false),
        ];
        for (write, read, want) in cases {
            assert_eq!(changed_by(write, read), want, "{write} -> {read}");
        }
    }
}
