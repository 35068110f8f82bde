//! A CI that answers test comments, as the seed's `!testme` bridge does: for
//! a repository it is set up for (`/_admin/ci`), a comment on a pull request
//! whose body is the trigger (alone or followed by whitespace and more) gets
//! a commit status on the PR's head at once. `tests=<branch>` in the comment
//! runs against that branch of the tests (`afk upgrade --with-tests`): its
//! state comes from `tests` when the branch is named there. Otherwise the next
//! of `states` is used; with none left the CI never answers (a CI that only
//! reports by comment, or a bridge that rejects afk's account).

use super::model::{Forge, Status};
use serde_json::Value;

impl Forge {
    /// Set up a repository's CI responder (the admin API's `/ci`, and the
    /// demo); a body with `command` sets up the CI that runs it on pushes
    /// (`crate::ci_run`) instead.
    pub fn set_ci(&mut self, body: &Value) -> Result<(), String> {
        if body.get("command").is_some() {
            return self.set_push_ci(body);
        }
        self.ci.set(body)
    }

    /// Answer a comment on `repo#n` when it is the test trigger on a PR.
    pub(super) fn ci_answer(&mut self, repo: &str, n: u64, body: &str) {
        let Some(r) = self.ci.responders.get_mut(repo) else {
            return;
        };
        let rest = match body.trim_start().strip_prefix(r.trigger.trim()) {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
            _ => return,
        };
        let tests = rest
            .split_whitespace()
            .find_map(|w| w.strip_prefix("tests="))
            .map(str::to_string);
        let state = match tests.as_ref().and_then(|b| r.tests.get(b)) {
            Some(s) => s.clone(),
            None => match r.states.pop_front() {
                Some(s) => s,
                None => return,
            },
        };
        let context = if r.context.is_empty() {
            "ci".to_string()
        } else {
            r.context.clone()
        };
        let Some(issue) = self.repos.get(repo).and_then(|x| x.issues.get(&n)) else {
            return;
        };
        if !issue.pull {
            return;
        }
        let sha = self.head_sha(repo, issue);
        self.ci.runs += 1;
        let status = Status {
            id: 0,
            state,
            context,
            target_url: format!("{}/ci/{}", self.base, self.ci.runs),
            description: match &tests {
                Some(b) => format!("run {} with tests {b}", self.ci.runs),
                None => format!("run {}", self.ci.runs),
            },
            creator: "ci-bot".into(),
            updated_at: String::new(),
        };
        let _ = self.push_status(repo, &sha, status);
    }
}
