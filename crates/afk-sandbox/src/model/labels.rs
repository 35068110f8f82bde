//! Labels on issues, Gitea's organisation labels, and the timeline
//! entries a forge hides or cannot show: what every dialect's timeline is
//! made of beside comments and renames.

use super::{Forge, LabelEvent};

/// A timeline entry afk's account cannot read ([`Forge::timeline_gaps`]).
#[derive(Clone, Copy)]
pub(crate) enum Gap {
    Hidden,
    Null,
}

impl Forge {
    pub(crate) fn label(
        &mut self,
        repo: &str,
        number: u64,
        name: &str,
        by: &str,
        add: bool,
    ) -> Result<(), String> {
        self.label_of(repo, number, name, by, add, None)
    }

    /// Make `name` an organisation label of `repo`'s owner, as a person
    /// does in the organisation's settings: `beside` a new one next to the
    /// repository's label of that name, else the repository's label moved
    /// to the organisation (the issues carrying it keep it). Every
    /// repository of the owner holds it. Its id.
    pub(crate) fn org_label(
        &mut self,
        repo: &str,
        name: &str,
        beside: bool,
    ) -> Result<i64, String> {
        let owner = repo.split('/').next().unwrap_or("").to_string();
        let r = self.repos.get(repo).ok_or(format!("no repo {repo}"))?;
        let id = if beside {
            self.id()
        } else {
            r.labels
                .iter()
                .find(|(id, n)| n == name && !r.org_labels.contains(id))
                .map(|(id, _)| *id)
                .ok_or(format!("no label {name} in {repo}"))?
        };
        for r in self
            .repos
            .values_mut()
            .filter(|r| r.full_name.split('/').next() == Some(owner.as_str()))
        {
            if !r.labels.iter().any(|(l, _)| *l == id) {
                r.labels.push((id, name.to_string()));
            }
            r.org_labels.insert(id);
        }
        Ok(id)
    }

    /// [`Forge::label`] with the label chosen among those of that name by
    /// scope: `Some(true)` the owner's organisation label, `Some(false)`
    /// the repository's, None the first.
    pub(crate) fn label_of(
        &mut self,
        repo: &str,
        number: u64,
        name: &str,
        by: &str,
        add: bool,
        org: Option<bool>,
    ) -> Result<(), String> {
        let ev = self.id();
        let at = self.stamp();
        let r = self.repos.get_mut(repo).ok_or(format!("no repo {repo}"))?;
        let (lid, lname) = r
            .labels
            .iter()
            .find(|(id, n)| n == name && org.is_none_or(|o| r.org_labels.contains(id) == o))
            .cloned()
            .ok_or(format!("no label {name} in {repo}"))?;
        let issue = r
            .issues
            .get_mut(&number)
            .ok_or(format!("no issue {repo}#{number}"))?;
        let has = issue.labels.contains(&lid);
        if add && !has {
            issue.labels.push(lid);
        } else if !add && has {
            issue.labels.retain(|l| *l != lid);
        } else {
            return Ok(());
        }
        issue.timeline.push(LabelEvent {
            id: ev,
            label: lid,
            name: lname,
            by: by.to_string(),
            added: add,
            at: at.clone(),
        });
        issue.updated_at = Some(at);
        Ok(())
    }

    /// `count` timeline entries of `repo#number` afk's account cannot read:
    /// references from a repository it cannot see (`Gap::Hidden`: its pages
    /// skip them, at most 1000) or, on Gitea, entries it cannot convert
    /// (`Gap::Null`: `null` elements, at most 100), after the entries there
    /// are.
    pub(crate) fn timeline_gaps(
        &mut self,
        repo: &str,
        number: u64,
        count: u64,
        gap: Gap,
    ) -> Result<(), String> {
        let most = match gap {
            Gap::Hidden => 1000,
            Gap::Null => 100,
        };
        let ids = self.entry_ids(repo, number, count.min(most))?;
        let issue = self.issue_mut(repo, number)?;
        match gap {
            Gap::Hidden => issue.hidden.extend(ids),
            Gap::Null => issue.broken.extend(ids),
        }
        Ok(())
    }

    /// `count` new ids for timeline entries of an issue that exists.
    fn entry_ids(&mut self, repo: &str, number: u64, count: u64) -> Result<Vec<i64>, String> {
        self.issue_mut(repo, number)?;
        Ok((0..count).map(|_| self.id()).collect())
    }

    fn issue_mut(&mut self, repo: &str, number: u64) -> Result<&mut super::Issue, String> {
        self.repos
            .get_mut(repo)
            .ok_or(format!("no repo {repo}"))?
            .issues
            .get_mut(&number)
            .ok_or(format!("no issue {repo}#{number}"))
    }
}
