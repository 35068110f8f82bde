//! The poll's WIQL query: one per project and tick, ids only, re-asked
//! past the last id when an answer is full. Every string literal has its
//! `'` doubled.

/// The most ids one WIQL answer carries (`$top`).
pub const TOP: usize = 20_000;

/// The most work items one `workitemsbatch` request reads.
pub const BATCH: usize = 200;

/// `s` as a WIQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The ready work items' query: of `types`, under one of `areas`, carrying
/// `ready_tag`, in none of `closed_states` (the types' Completed and Removed
/// states), with an id above `after` when re-asked.
pub fn ready_query(
    types: &[String],
    areas: &[String],
    ready_tag: &str,
    closed_states: &[String],
    after: Option<u64>,
) -> String {
    let list = |v: &[String]| v.iter().map(|s| literal(s)).collect::<Vec<_>>().join(", ");
    let under = areas
        .iter()
        .map(|a| format!("[System.AreaPath] UNDER {}", literal(a)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let mut q = format!(
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] IN ({}) AND ({under}) AND [System.Tags] CONTAINS {}",
        list(types),
        literal(ready_tag)
    );
    if !closed_states.is_empty() {
        q.push_str(&format!(
            " AND [System.State] NOT IN ({})",
            list(closed_states)
        ));
    }
    if let Some(id) = after {
        q.push_str(&format!(" AND [System.Id] > {id}"));
    }
    q.push_str(" ORDER BY [System.Id]");
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_query_names_types_areas_the_tag_and_open_states_literals_escaped() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let q = ready_query(
            &s(&["Issue", "Bug"]),
            &s(&[r"Fabrikam\API", r"Fabrikam\O'Brien"]),
            "ready-for-agent",
            &s(&["Done", "Removed"]),
            None,
        );
        assert_eq!(
            q,
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] IN ('Issue', 'Bug') AND ([System.AreaPath] UNDER 'Fabrikam\\API' OR [System.AreaPath] UNDER 'Fabrikam\\O''Brien') AND [System.Tags] CONTAINS 'ready-for-agent' AND [System.State] NOT IN ('Done', 'Removed') ORDER BY [System.Id]"
        );
        let next = ready_query(&s(&["Bug"]), &s(&["P"]), "r", &[], Some(20000));
        assert!(
            next.ends_with("AND [System.Id] > 20000 ORDER BY [System.Id]"),
            "{next}"
        );
    }
}
