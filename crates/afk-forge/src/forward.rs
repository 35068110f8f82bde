//! One way to write a [`Forge`](crate::Forge) method that hands the call on
//! to another forge: the wrappers (a dry run's recording forge, a forge
//! built on first use) name the methods they pass through instead of
//! spelling each signature again. Each method's signature is written here
//! once, beside the trait.

/// The paths [`forward!`](crate::forward) names, so a crate that uses it
/// needs none of them in scope.
#[doc(hidden)]
pub mod paths {
    pub use crate::model::{
        BranchHead, BranchUpdate, CombinedStatus, Comment, Issue, Label, LineComments, PullRequest,
        Review, UpdateStyle, User,
    };
    pub use crate::{Commit, FileDiff};
    pub use afk_model::{IssueNumber, Permission, RepoName, TimelineEvent};
    pub use anyhow::Result;
    pub use time::OffsetDateTime;
}

/// Writes the named `Forge` methods (only those that answer a `Result`) as
/// calls on the forge `$via` gives (anything that dereferences to a
/// `Forge`: a `Box<dyn Forge>`, a reference), `$s` standing for `self` in it:
///
/// ```ignore
/// afk_forge::forward!(f => f.inner; me, issue, pull);      // a field
/// afk_forge::forward!(f => f.get()?; me, issue, pull);     // built on demand
/// ```
#[macro_export]
macro_rules! forward {
    ($s:ident => $via:expr; $($m:ident),+ $(,)?) => {
        $( $crate::forward!(@one $m, $s, $via); )+
    };
    (@one me, $s:ident, $via:expr) => {
        fn me(&self) -> $crate::forward::paths::Result<$crate::forward::paths::User> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.me()
        }
    };
    (@one issues_with_label, $s:ident, $via:expr) => {
        fn issues_with_label(
            &self,
            repo: &$crate::forward::paths::RepoName,
            label: &str,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::Issue>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.issues_with_label(repo, label)
        }
    };
    (@one issue, $s:ident, $via:expr) => {
        fn issue(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::Issue> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.issue(repo, number)
        }
    };
    (@one timeline, $s:ident, $via:expr) => {
        fn timeline(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::TimelineEvent>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.timeline(repo, number)
        }
    };
    (@one permission, $s:ident, $via:expr) => {
        fn permission(
            &self,
            repo: &$crate::forward::paths::RepoName,
            login: &str,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::Permission> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.permission(repo, login)
        }
    };
    (@one is_public, $s:ident, $via:expr) => {
        fn is_public(
            &self,
            repo: &$crate::forward::paths::RepoName,
        ) -> $crate::forward::paths::Result<bool> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.is_public(repo)
        }
    };
    (@one dependencies, $s:ident, $via:expr) => {
        fn dependencies(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::Issue>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.dependencies(repo, number)
        }
    };
    (@one repo_labels, $s:ident, $via:expr) => {
        fn repo_labels(
            &self,
            repo: &$crate::forward::paths::RepoName,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::Label>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.repo_labels(repo)
        }
    };
    (@one add_label, $s:ident, $via:expr) => {
        fn add_label(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
            name: &str,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.add_label(repo, number, name)
        }
    };
    (@one remove_label, $s:ident, $via:expr) => {
        fn remove_label(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
            name: &str,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.remove_label(repo, number, name)
        }
    };
    (@one create_label, $s:ident, $via:expr) => {
        fn create_label(
            &self,
            repo: &$crate::forward::paths::RepoName,
            name: &str,
            color: &str,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.create_label(repo, name, color)
        }
    };
    (@one comments, $s:ident, $via:expr) => {
        fn comments(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::Comment>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.comments(repo, number)
        }
    };
    (@one create_comment, $s:ident, $via:expr) => {
        fn create_comment(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
            body: &str,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::Comment> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.create_comment(repo, number, body)
        }
    };
    (@one edit_comment, $s:ident, $via:expr) => {
        fn edit_comment(
            &self,
            repo: &$crate::forward::paths::RepoName,
            id: i64,
            body: &str,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::Comment> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.edit_comment(repo, id, body)
        }
    };
    (@one open_pulls, $s:ident, $via:expr) => {
        fn open_pulls(
            &self,
            repo: &$crate::forward::paths::RepoName,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::PullRequest>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.open_pulls(repo)
        }
    };
    (@one recent_closed_pulls, $s:ident, $via:expr) => {
        fn recent_closed_pulls(
            &self,
            repo: &$crate::forward::paths::RepoName,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::PullRequest>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.recent_closed_pulls(repo)
        }
    };
    (@one pull, $s:ident, $via:expr) => {
        fn pull(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::PullRequest> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.pull(repo, number)
        }
    };
    (@one combined_status, $s:ident, $via:expr) => {
        fn combined_status(
            &self,
            repo: &$crate::forward::paths::RepoName,
            sha: &str,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::CombinedStatus> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.combined_status(repo, sha)
        }
    };
    (@one close_issue, $s:ident, $via:expr) => {
        fn close_issue(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.close_issue(repo, number)
        }
    };
    (@one edit_issue_body, $s:ident, $via:expr) => {
        fn edit_issue_body(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
            body: &str,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.edit_issue_body(repo, number, body)
        }
    };
    (@one commits, $s:ident, $via:expr) => {
        fn commits(
            &self,
            repo: &$crate::forward::paths::RepoName,
            branch: &str,
            since: $crate::forward::paths::OffsetDateTime,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::Commit>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.commits(repo, branch, since)
        }
    };
    (@one diff, $s:ident, $via:expr) => {
        fn diff(
            &self,
            repo: &$crate::forward::paths::RepoName,
            sha: &str,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::FileDiff>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.diff(repo, sha)
        }
    };
    (@one create_pull, $s:ident, $via:expr) => {
        fn create_pull(
            &self,
            repo: &$crate::forward::paths::RepoName,
            head: &str,
            base: &str,
            title: &str,
            body: &str,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::PullRequest> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.create_pull(repo, head, base, title, body)
        }
    };
    (@one close_pull, $s:ident, $via:expr) => {
        fn close_pull(
            &self,
            repo: &$crate::forward::paths::RepoName,
            number: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.close_pull(repo, number)
        }
    };
    (@one branch, $s:ident, $via:expr) => {
        fn branch(
            &self,
            repo: &$crate::forward::paths::RepoName,
            name: &str,
        ) -> $crate::forward::paths::Result<Option<$crate::forward::paths::BranchHead>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.branch(repo, name)
        }
    };
    (@one reviews, $s:ident, $via:expr) => {
        fn reviews(
            &self,
            repo: &$crate::forward::paths::RepoName,
            pr: $crate::forward::paths::IssueNumber,
        ) -> $crate::forward::paths::Result<Vec<$crate::forward::paths::Review>> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.reviews(repo, pr)
        }
    };
    (@one line_comments, $s:ident, $via:expr) => {
        fn line_comments(
            &self,
            repo: &$crate::forward::paths::RepoName,
            pr: $crate::forward::paths::IssueNumber,
            review: i64,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::LineComments> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.line_comments(repo, pr, review)
        }
    };
    (@one react, $s:ident, $via:expr) => {
        fn react(
            &self,
            repo: &$crate::forward::paths::RepoName,
            comment: i64,
            content: &str,
        ) -> $crate::forward::paths::Result<()> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.react(repo, comment, content)
        }
    };
    (@one update_branch, $s:ident, $via:expr) => {
        fn update_branch(
            &self,
            repo: &$crate::forward::paths::RepoName,
            pr: $crate::forward::paths::IssueNumber,
            style: $crate::forward::paths::UpdateStyle,
            expected_head_sha: &str,
        ) -> $crate::forward::paths::Result<$crate::forward::paths::BranchUpdate> {
            let $s = self;
            let forge: &dyn $crate::Forge = &*$via;
            forge.update_branch(repo, pr, style, expected_head_sha)
        }
    };
}

/// Every method [`forward!`](crate::forward) writes, for a wrapper that
/// hands on all of them: `forward_all!(f => f.get()?)`.
#[macro_export]
macro_rules! forward_all {
    ($s:ident => $via:expr) => {
        $crate::forward!($s => $via;
            me, issues_with_label, issue, timeline, permission, is_public, dependencies, repo_labels,
            add_label, remove_label, create_label, comments, create_comment, edit_comment,
            open_pulls, recent_closed_pulls, pull, combined_status, close_issue,
            edit_issue_body, commits, diff, create_pull, close_pull, branch, reviews,
            line_comments, react, update_branch);
    };
}

/// The reads a dry run's forge hands on to the real one (its writes are
/// recorded instead): `forward_reads!(f => f.inner)`.
#[macro_export]
macro_rules! forward_reads {
    ($s:ident => $via:expr) => {
        $crate::forward!($s => $via;
            me, issues_with_label, issue, timeline, permission, is_public, dependencies, repo_labels,
            comments, open_pulls, recent_closed_pulls, pull, combined_status, commits, diff,
            branch, reviews, line_comments);
    };
}

#[cfg(test)]
mod tests {
    use crate::Forge;
    use crate::memory::MemoryForge;
    use afk_model::RepoName;

    /// A wrapper that hands every call on, written with the macro.
    struct Through(Box<dyn Forge>);
    impl Forge for Through {
        fn requests(&self) -> usize {
            self.0.requests()
        }
        crate::forward_all!(f => f.0);
    }

    /// The memory forge behind a shared handle, so the test can look at it.
    struct Shared(std::sync::Arc<MemoryForge>);
    impl Forge for Shared {
        fn requests(&self) -> usize {
            self.0.requests()
        }
        crate::forward_all!(f => f.0);
    }

    #[test]
    fn a_forwarded_method_answers_as_the_forge_it_wraps() {
        let repo: RepoName = "acme/api".parse().unwrap();
        let memory = std::sync::Arc::new(
            MemoryForge::new("afk")
                .repo("acme/api")
                .labels("acme/api", &["ready"]),
        );
        let through = Through(Box::new(Shared(memory.clone())));
        let names = |f: &dyn Forge| -> Vec<String> {
            let labels = f.repo_labels(&repo).unwrap();
            labels.into_iter().map(|l| l.name).collect()
        };
        assert_eq!(names(&through), ["ready"]);
        through
            .create_label(&repo, "afk:in-progress", "ededed")
            .unwrap();
        assert_eq!(names(&through), ["ready", "afk:in-progress"]);
        assert_eq!(
            memory.calls("create_label"),
            1,
            "a write handed on reaches it"
        );
        assert_eq!(through.me().unwrap().login, "afk");
    }
}
