//! The ready work items of a repository: its project's WIQL query, once a
//! tick for all the project's allowlisted repositories, the batch reads of
//! what it found, and every condition re-checked by afk itself on each item.

use super::wire::{self, WorkItem};
use super::{AzureDevops, v};
use crate::http::{MAX_PAGES, enc};
use crate::model::*;
use crate::types::RepoName;
use afk_wire::azure::repo as repo_ids;
use afk_wire::azure::{API_VERSION, tags, wiql};
use anyhow::{Result, anyhow};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// A project's tagged work items by the repository whose area each is
/// under (`repo_ids::key`), as one tick read them.
pub(super) type Tagged = Arc<HashMap<String, Vec<WorkItem>>>;

impl AzureDevops {
    /// The WIQL query (re-asked past the last id while full), the batch read,
    /// and every condition re-checked on each item. The query is the
    /// project's, once a tick ([`AzureDevops::project_tagged`]): `repo`'s own
    /// items are those under its area.
    pub(super) fn ready_items(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        if self.areas(repo).is_empty() {
            return Err(anyhow!(
                "azure-devops: {repo} has no area path ([forge.azure_devops.area_paths])"
            ));
        }
        // the repository's own read goes out beside its project's query,
        // which names the project without it
        let (r, tagged) = std::thread::scope(|s| {
            let r = s.spawn(|| self.repository(repo));
            let tagged = self.project_tagged(repo, label);
            (
                r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                tagged,
            )
        });
        let (r, tagged) = (r?, tagged?);
        let mut out = vec![];
        for item in tagged
            .get(&repo_ids::key(repo.as_str()))
            .into_iter()
            .flatten()
        {
            if self.still_ready(repo, &r, item, label)? {
                out.push(self.to_issue(repo, item, false)?);
            }
        }
        Ok(out)
    }

    /// The open work items tagged `label` under the areas of every
    /// allowlisted repository of `repo`'s project, as the config names it,
    /// by the repository whose area each is under (lower-cased): one WIQL
    /// query a project a tick, its ids read in batches, kept for the
    /// project's other repositories this tick.
    fn project_tagged(&self, repo: &RepoName, label: &str) -> Result<Tagged> {
        let project = self.project_ref(repo)?;
        let key = (
            project.to_lowercase(),
            repo.owner().to_lowercase(),
            label.to_lowercase(),
        );
        self.tagged.get(key, || {
            let mut areas: Vec<String> = (self.setup.area_paths.iter())
                .filter(|(name, _)| {
                    name.rsplit_once('/')
                        .is_some_and(|(p, _)| p.eq_ignore_ascii_case(repo.owner()))
                })
                .map(|(_, a)| a.clone())
                .collect();
            areas.sort_by_key(|a| a.to_lowercase());
            areas.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            let closed = self.closed_states(repo)?;
            let path = v(
                &format!("/{}/_apis/wit/wiql?$top={}", enc(&project), wiql::TOP),
                API_VERSION,
            );
            let (mut ids, mut after) = (vec![], None);
            for page in 0..=MAX_PAGES {
                if page == MAX_PAGES {
                    return Err(anyhow!(
                        "forge: WIQL for {repo}: more than {MAX_PAGES} full answers"
                    ));
                }
                let q =
                    wiql::ready_query(&self.setup.work_item_types, &areas, label, &closed, after);
                // a read sent as a POST: asked again after a 5xx or a lost answer
                let answer: wire::QueryResult =
                    self.http.query_json(&path, &json!({ "query": q }))?;
                let n = answer.work_items.len();
                ids.extend(answer.work_items.into_iter().map(|w| w.id));
                if n < wiql::TOP {
                    break;
                }
                after = ids.last().copied();
            }
            // every item found names people, whose logins are told apart
            // from afk's own: afk's account is asked for beside the batch
            // reads, not after them (an idle tick finds none and asks none;
            // a failure is met again, and asked again, where it is needed)
            let items = match ids.is_empty() {
                true => vec![],
                false => std::thread::scope(|s| {
                    s.spawn(|| self.connected());
                    self.batch(repo, &ids)
                })?,
            };
            let mut by_repo: HashMap<String, Vec<WorkItem>> = HashMap::new();
            for item in items {
                if let Some(owner) = self.owner_of(&item) {
                    by_repo.entry(repo_ids::key(&owner)).or_default().push(item);
                }
            }
            Ok(Arc::new(by_repo))
        })
    }

    /// The checks afk makes itself: the type, the project, the area's
    /// repository, the tag (whole, any case), an open state.
    fn still_ready(
        &self,
        repo: &RepoName,
        r: &wire::Repository,
        item: &WorkItem,
        label: &str,
    ) -> Result<bool> {
        let kind = Self::field(item, "System.WorkItemType")?;
        let typed = self
            .setup
            .work_item_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(kind));
        let project = Self::field(item, "System.TeamProject")?;
        let ours = self
            .owner_of(item)
            .is_some_and(|o| o.eq_ignore_ascii_case(repo));
        let tagged = tags::has(&tags::parse(item.text("System.Tags")), label);
        Ok(typed
            && project.eq_ignore_ascii_case(&r.project.name)
            && ours
            && tagged
            && !self.is_closed(repo, item)?)
    }
}
