//! A repository's ids and names: after its first read afk addresses an
//! allowlisted repository by the GUIDs that read gave (kept between ticks
//! under the allowlist's name), so a rename keeps them and cannot send a
//! later request elsewhere. What the service names the repository now is
//! what the allowlist re-check compares: a renamed one is
//! `not-allowlisted`, under its new name, and afk writes nothing there.

/// The name a repository's ids are kept under: the allowlist's
/// `project/repository`, lower-cased (names compare case-insensitively).
pub fn key(entry: &str) -> String {
    entry.trim().to_lowercase()
}

/// The name the service gives a repository now, `project/repository`:
/// `project.name` and `name` of `GET .../git/repositories/{id}`.
pub fn name_now(project: &str, repository: &str) -> String {
    format!("{project}/{repository}")
}

/// The repository's new name when its project or its own name, as read,
/// is no longer the allowlist entry's (compared case-insensitively): it was
/// renamed, and is not the entry's until someone edits the allowlist. None
/// while the entry names it still.
pub fn renamed(entry: &str, project: &str, repository: &str) -> Option<String> {
    let now = name_now(project, repository);
    (!now.eq_ignore_ascii_case(entry.trim())).then_some(now)
}

/// Whether a read's ids are kept for `entry`: only at its first read (none
/// kept yet; a read by the kept ids never changes them), and only when the
/// answer is the repository the entry names.
pub fn records(kept: bool, entry: &str, project: &str, repository: &str) -> bool {
    !kept && renamed(entry, project, repository).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (the allowlist entry, the project and repository names as read, the
    /// new name)
    #[test]
    fn a_repository_is_renamed_when_its_project_or_its_name_as_read_is_not_the_entry() {
        let cases = [
            ("acme/old", "acme", "old", None),
            ("acme/old", "Acme", "OLD", None),
            ("Fabrikam/web app", "fabrikam", "Web App", None),
            (" acme/old ", "acme", "old", None),
            ("acme/old", "acme", "new", Some("acme/new")),
            ("acme/old", "widgets", "old", Some("widgets/old")),
            ("acme/old", "Widgets", "New", Some("Widgets/New")),
            ("acme/old", "acme", "old-2", Some("acme/old-2")),
        ];
        for (entry, project, repository, want) in cases {
            assert_eq!(
                renamed(entry, project, repository).as_deref(),
                want,
                "{entry} read as {project}/{repository}"
            );
        }
    }

    /// (ids kept already, the entry, the names as read, kept now)
    #[test]
    fn ids_are_kept_at_the_first_read_and_only_of_the_repository_the_entry_names() {
        let cases = [
            (false, "acme/old", "acme", "old", true),
            (false, "acme/old", "ACME", "Old", true),
            (true, "acme/old", "acme", "old", false),
            (true, "acme/old", "acme", "new", false),
            (false, "acme/old", "acme", "new", false),
        ];
        for (kept, entry, project, repository, want) in cases {
            assert_eq!(
                records(kept, entry, project, repository),
                want,
                "kept {kept}, {entry} read as {project}/{repository}"
            );
        }
    }

    #[test]
    fn ids_are_kept_under_the_entry_lower_cased() {
        assert_eq!(key("Fabrikam/Web App"), "fabrikam/web app");
        assert_eq!(key(" acme/old "), "acme/old");
        assert_eq!(key("acme/old"), key("ACME/OLD"));
    }
}
