//! Which repository a tracker issue is work for (docs/trackers.md#the-map):
//! exactly one `[[tracker.map]]` entry matches it, or it is skipped
//! `unmapped` or `ambiguous-mapping`. afk never picks one of several.

/// One `[[tracker.map]]` entry: a project (Jira key) narrowed by a component
/// and a label, both optional, to a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub project: String,
    pub component: Option<String>,
    pub label: Option<String>,
    pub repo: String,
}

/// Where an issue goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// the one matching entry's repository
    To(String),
    Unmapped,
    /// the matching entries, by their place in the config (from 1)
    Ambiguous(Vec<usize>),
}

/// The issue's project key (matched whole, as Jira compares keys in the
/// map: `PLAT`), its components' names and its labels (each compared whole
/// and case-sensitively) against the map.
pub fn map_issue(map: &[Entry], project: &str, components: &[String], labels: &[String]) -> Mapped {
    let hits: Vec<usize> = map
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.project == project
                && e.component.as_ref().is_none_or(|c| components.contains(c))
                && e.label.as_ref().is_none_or(|l| labels.contains(l))
        })
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [] => Mapped::Unmapped,
        [one] => Mapped::To(map[*one].repo.clone()),
        many => Mapped::Ambiguous(many.iter().map(|i| i + 1).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(project: &str, component: Option<&str>, label: Option<&str>, repo: &str) -> Entry {
        Entry {
            project: project.into(),
            component: component.map(str::to_string),
            label: label.map(str::to_string),
            repo: repo.into(),
        }
    }

    /// The rule "exactly one entry maps an issue; none is unmapped, more
    /// than one is ambiguous".
    #[test]
    fn exactly_one_map_entry_maps_an_issue() {
        let map = vec![
            entry("PLAT", Some("api"), None, "acme/api"),
            entry("PLAT", Some("web"), None, "acme/web"),
            entry("OPS", None, Some("infra"), "acme/infra"),
        ];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        type Case<'a> = (&'a str, &'a str, Vec<String>, Vec<String>, Mapped);
        let cases: Vec<Case> = vec![
            (
                "component api",
                "PLAT",
                s(&["api"]),
                s(&[]),
                Mapped::To("acme/api".into()),
            ),
            (
                "both components",
                "PLAT",
                s(&["api", "web"]),
                s(&[]),
                Mapped::Ambiguous(vec![1, 2]),
            ),
            ("no component", "PLAT", s(&[]), s(&[]), Mapped::Unmapped),
            (
                "component case differs",
                "PLAT",
                s(&["API"]),
                s(&[]),
                Mapped::Unmapped,
            ),
            (
                "label",
                "OPS",
                s(&[]),
                s(&["infra", "x"]),
                Mapped::To("acme/infra".into()),
            ),
            (
                "label missing",
                "OPS",
                s(&[]),
                s(&["Infra"]),
                Mapped::Unmapped,
            ),
            (
                "another project",
                "HR",
                s(&["api"]),
                s(&["infra"]),
                Mapped::Unmapped,
            ),
            (
                "the key's case",
                "plat",
                s(&["api"]),
                s(&[]),
                Mapped::Unmapped,
            ),
        ];
        for (name, project, components, labels, want) in cases {
            assert_eq!(
                map_issue(&map, project, &components, &labels),
                want,
                "{name}"
            );
        }
    }
}
