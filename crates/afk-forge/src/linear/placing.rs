//! Where a Linear issue goes and what it is to afk: its forge-neutral
//! shape with the repository the map sends it to, by its team's key, its
//! project and its labels; the ready issues the map places nowhere or
//! twice.

use super::{Linear, WireIssue, queries};
use crate::model::{Issue, Label, RepoMeta, State, User};
use crate::types::IssueNumber;
use afk_wire::tracker::{linear as rules, map};
use anyhow::Result;
use serde_json::{Value, json};

impl Linear {
    /// The issue as afk's forge-neutral shape: afk's number, its title, its
    /// description (Markdown, as it is), the repository the map sends it
    /// to by its team's key and labels.
    pub fn to_issue(&self, i: &WireIssue) -> Result<Issue> {
        let labels = self.labels_of(i)?;
        let projects = self.projects_of(i)?;
        let repo = match map::map_issue(&self.setup.map, &i.team.key, &projects, &labels) {
            map::Mapped::To(r) => Some(RepoMeta { full_name: r }),
            _ => None,
        };
        let number = self.numbers.number(&i.id)?;
        Ok(Issue {
            id: number as i64,
            number: IssueNumber(number),
            title: i.title.clone(),
            body: Some(i.description.clone().unwrap_or_default()),
            // with `ready = "delegate"`, an issue no longer delegated to
            // afk is afk's no more: read as closed (its run abandoned)
            state: match i.done() || (self.setup.ready_delegate && !self.delegated(i)?) {
                true => State::Closed,
                false => State::Open,
            },
            labels: labels
                .into_iter()
                .map(|name| Label { id: 0, name })
                .collect(),
            html_url: i.url.clone(),
            pull_request: None,
            repository: repo,
            user: i.creator.as_ref().map(|c| User {
                id: 0,
                login: c.id.clone(),
            }),
            updated_at: None,
        })
    }

    /// The issues carrying `label` that the map sends to no repository or
    /// to several.
    pub fn unplaced(&self, label: &str) -> Result<Vec<crate::Unplaced>> {
        let mut out = vec![];
        for i in self.labelled(label)?.iter() {
            let labels = self.labels_of(i)?;
            let projects = self.projects_of(i)?;
            let entries = match map::map_issue(&self.setup.map, &i.team.key, &projects, &labels) {
                map::Mapped::To(_) => continue,
                map::Mapped::Unmapped => vec![],
                map::Mapped::Ambiguous(e) => e,
            };
            out.push(crate::Unplaced {
                number: IssueNumber(self.numbers.number(&i.id)?),
                key: i.identifier.clone(),
                entries,
            });
        }
        Ok(out)
    }

    /// What of the map's projects the issue is in, as the map names them:
    /// its project's id, and each entry's project name whose project has
    /// that id ([`Linear::project_named`]); none when it is in no project.
    fn projects_of(&self, i: &WireIssue) -> Result<Vec<String>> {
        let Some(p) = &i.project else {
            return Ok(vec![]);
        };
        let mut out = vec![p.id.clone()];
        for named in self.setup.map.iter().filter_map(|e| e.component.as_ref()) {
            if *named != p.id
                && !out.contains(named)
                && self.project_named(named)?.as_deref() == Some(p.id.as_str())
            {
                out.push(named.clone());
            }
        }
        Ok(out)
    }

    /// The id of the project named `name` (its case ignored), read as the
    /// project of an issue in it, once a tick; an id given as the name is
    /// itself. None: no issue afk may see is in a project of that name.
    pub(super) fn project_named(&self, name: &str) -> Result<Option<String>> {
        if rules::event_id(name).is_ok() {
            return Ok(Some(name.to_string()));
        }
        if let Some(id) = self.projects.lock().unwrap().get(name) {
            return Ok(id.clone());
        }
        let filter = json!({"project": {"name": {"eqIgnoreCase": name}}});
        let d = self.read("project", queries::PROJECT_NAMED, json!({"filter": filter}))?;
        let id = d
            .pointer("/issues/nodes/0/project/id")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.projects
            .lock()
            .unwrap()
            .insert(name.to_string(), id.clone());
        Ok(id)
    }
}
