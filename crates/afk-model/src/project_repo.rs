//! Azure DevOps' repository names: `project/repository`, exactly two
//! segments, the organization taken from `forge.url`. Each segment is 1 to
//! 64 characters, none of `\ / : * ? " < > | ; # $ { } , + = [ ]` nor a
//! control character, not starting with `_` or `.`, not ending with `.`;
//! spaces are allowed.

/// The longest project or repository name Azure DevOps takes.
const MAX: usize = 64;

/// The characters no Azure DevOps project or repository name holds.
const FORBIDDEN: &[char] = &[
    '\\', '/', ':', '*', '?', '"', '<', '>', '|', ';', '#', '$', '{', '}', ',', '+', '=', '[', ']',
];

/// `s` as `project/repository`, or what is wrong with it.
// Err is a string: the words the config or the name's parse error quotes
pub(crate) fn check(s: &str) -> Result<(), String> {
    let mut parts = s.split('/');
    let (Some(project), Some(repo), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("\"{s}\" is not \"project/repository\""));
    };
    for (what, seg) in [("project", project), ("repository", repo)] {
        if let Some(p) = problem(seg) {
            return Err(format!("\"{s}\" is not \"project/repository\": {what} {p}"));
        }
    }
    Ok(())
}

fn problem(seg: &str) -> Option<&'static str> {
    if seg.is_empty() {
        Some("is empty")
    } else if seg.chars().count() > MAX {
        Some("is longer than 64 characters")
    } else if seg
        .chars()
        .any(|c| c.is_control() || FORBIDDEN.contains(&c))
    {
        Some("holds one of \\ / : * ? \" < > | ; # $ { } , + = [ ] or a control character")
    } else if seg.starts_with('_') || seg.starts_with('.') {
        Some("must not start with '_' or '.'")
    } else if seg.ends_with('.') {
        Some("must not end with '.'")
    } else if seg.trim().is_empty() {
        Some("is only spaces")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (entry, whether it is an Azure DevOps `project/repository`)
    #[test]
    fn a_project_repository_name_follows_azure_devops_naming() {
        let long = format!("p/{}", "r".repeat(65));
        let cases = [
            ("Fabrikam/api", true),
            ("Fabrikam/web app", true),
            ("Fabrikam Fiber/web-app.v2", true),
            ("Fabrikam", false),
            ("a/b/c", false),
            ("/api", false),
            ("p/", false),
            ("p/_api", false),
            ("p/.api", false),
            ("p/api.", false),
            ("p/a#1", false),
            ("p/a;b", false),
            ("p/a[b]", false),
            ("p/a\tb", false),
            ("p/   ", false),
            (long.as_str(), false),
            // what the other kinds refuse and Azure DevOps takes
            ("g/s p", true),
            ("-x/y", true),
            ("g/a%2Fb", true),
            ("ä/b", true),
            ("x/..", false),
        ];
        for (entry, ok) in cases {
            assert_eq!(check(entry).is_ok(), ok, "{entry:?}");
        }
    }
}
