//! Area paths: a work item belongs to the repository whose configured area
//! path is its `System.AreaPath` or an ancestor of it, compared
//! case-insensitively and per `\`-separated segment.

/// The segments of an area path (`Fabrikam\API` → `Fabrikam`, `API`),
/// each trimmed, a leading or trailing `\` ignored, with no copy made.
fn raw_segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_matches('\\').split('\\').map(str::trim)
}

/// Two segments the same in any case (lower-cased, with no copy made when
/// both are ASCII).
fn same_segment(a: &str, b: &str) -> bool {
    match a.is_ascii() && b.is_ascii() {
        true => a.eq_ignore_ascii_case(b),
        false => a.to_lowercase() == b.to_lowercase(),
    }
}

/// Whether `path` is `area` or under it (`UNDER` in WIQL). A tick asks
/// this of every item its project's query found against every configured
/// area, so nothing is copied.
pub fn is_under(path: &str, area: &str) -> bool {
    let mut p = raw_segments(path);
    raw_segments(area).all(|a| !a.is_empty() && p.next().is_some_and(|s| same_segment(s, a)))
}

/// The repository (`project/repository`) whose area `path` is under, of the
/// configured `(repository, area)` pairs; the deepest area wins, though the
/// config refuses two nested areas of one project ([`nested_pair`]).
pub fn repo_of<'a>(areas: &'a [(String, String)], path: &str) -> Option<&'a str> {
    areas
        .iter()
        .filter(|(_, area)| is_under(path, area))
        .max_by_key(|(_, area)| raw_segments(area).count())
        .map(|(repo, _)| repo.as_str())
}

/// Two configured areas where one is under the other (the same project's:
/// an area path's first segment is its project), as `(outer, inner)`
/// repositories: a config error, for a work item under the inner area
/// would belong to both.
pub fn nested_pair(areas: &[(String, String)]) -> Option<(String, String)> {
    for (i, (r1, a1)) in areas.iter().enumerate() {
        for (j, (r2, a2)) in areas.iter().enumerate() {
            if i != j && is_under(a2, a1) {
                return Some((r1.clone(), r2.clone()));
            }
        }
    }
    None
}

/// The project an area path names: its first segment, as written.
pub fn project_of(area: &str) -> &str {
    area.trim_matches('\\').split('\\').next().unwrap_or("")
}

/// The segments of an area path below its project, as written
/// (`Fabrikam\API\Auth` → `API`, `Auth`; a project's root area: none),
/// as `classificationnodes/Areas/{path}` takes them, one segment each.
pub fn below_project(area: &str) -> Vec<&str> {
    area.trim_matches('\\').split('\\').skip(1).collect()
}

/// The CSS namespace's token of an area node: the
/// `vstfs:///Classification/Node/{identifier}` of each node from the
/// project's root area down to it, joined by `:` (the namespace's
/// separator, so a node's token is under each of its ancestors').
pub fn node_token<S: AsRef<str>>(identifiers: &[S]) -> String {
    identifiers
        .iter()
        .map(|i| format!("vstfs:///Classification/Node/{}", i.as_ref().trim()))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (a work item's area path, a configured area, whether it is under it)
    #[test]
    fn a_work_item_is_under_an_area_per_segment_and_case_insensitively() {
        let cases = [
            (r"Fabrikam\API", r"Fabrikam\API", true),
            (r"Fabrikam\API\Auth", r"Fabrikam\API", true),
            (r"fabrikam\api\auth", r"Fabrikam\API", true),
            (r"Fabrikam\APIs", r"Fabrikam\API", false),
            (r"Fabrikam", r"Fabrikam\API", false),
            (r"Other\API", r"Fabrikam\API", false),
            (r"Fabrikam\API", "", false),
            (r"Fabrikam\API", r"\", false),
            // a leading or trailing `\`, spaces about a segment
            (r"\Fabrikam\API\", r"Fabrikam\API", true),
            (r"Fabrikam \ API \Auth", r" fabrikam\api ", true),
            // letters past ASCII compare in any case too
            (r"Équipe\Données\Été", r"ÉQUIPE\données", true),
            (r"Équipe\Donnée", r"Équipe\Données", false),
            (r"Fabrikam\\API", r"Fabrikam\API", false),
        ];
        for (path, area, want) in cases {
            assert_eq!(is_under(path, area), want, "{path} under {area}");
        }
    }

    #[test]
    fn a_work_item_belongs_to_the_repository_whose_area_it_is_under() {
        let areas = vec![
            ("Fabrikam/api".to_string(), r"Fabrikam\API".to_string()),
            ("Fabrikam/web app".to_string(), r"Fabrikam\Web".to_string()),
        ];
        let cases = [
            (r"Fabrikam\API\Auth", Some("Fabrikam/api")),
            (r"Fabrikam\web", Some("Fabrikam/web app")),
            (r"Fabrikam\Docs", None),
        ];
        for (path, want) in cases {
            assert_eq!(repo_of(&areas, path), want, "{path}");
        }
        assert_eq!(nested_pair(&areas), None);
        let nested = vec![
            ("P/a".to_string(), r"P\A".to_string()),
            ("P/b".to_string(), r"P\A\B".to_string()),
        ];
        assert_eq!(nested_pair(&nested), Some(("P/a".into(), "P/b".into())));
        assert_eq!(project_of(r"Fabrikam\API"), "Fabrikam");
    }

    /// (an area path, the segments afk reads below its project)
    #[test]
    fn an_area_node_is_read_below_its_project_and_its_token_chains_its_ancestors() {
        let cases: [(&str, &[&str]); 4] = [
            (r"Fabrikam", &[]),
            (r"Fabrikam\API", &["API"]),
            (r"\Fabrikam\web app\Auth\", &["web app", "Auth"]),
            ("", &[]),
        ];
        for (area, want) in cases {
            assert_eq!(below_project(area), want, "{area}");
        }
        assert_eq!(
            node_token(&["r00t", " ch1ld "]),
            "vstfs:///Classification/Node/r00t:vstfs:///Classification/Node/ch1ld"
        );
        assert_eq!(node_token(&["r00t"]), "vstfs:///Classification/Node/r00t");
    }
}
