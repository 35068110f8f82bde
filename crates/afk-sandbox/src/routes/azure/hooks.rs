//! Service-hook deliveries, as a `webHooks` subscription with basic
//! authentication sends them: `POST` to the hook URL with `Authorization:
//! Basic` (user `sandbox`, the hook secret as the password), no signature,
//! each event `{subscriptionId, notificationId, id, eventType, publisherId,
//! message, resource, resourceVersion, resourceContainers, createdDate}`;
//! `workitem.updated` and `workitem.commented` for a work item,
//! `git.pullrequest.created`, `.updated` and `.merged` for a pull request,
//! `ms.vss-code.git-pullrequest-comment-event` for a comment in a pull
//! request's thread, `git.push` for a push, `build.complete` for a CI
//! run that ended (the sandbox's CI is the project's pipeline: a final
//! commit status is a completed build). Each subscription numbers its
//! notifications; a redelivery (`/_admin/ado/redeliver`) sends one again
//! with the same `notificationId`.

use super::git::repo_json;
use super::{now, org_url};
use crate::model::Forge;
use crate::model::azure::{guid, project_id, split};
use crate::model::outbox::Event;
use serde_json::{Value, json};

/// The event types the sandbox delivers, one subscription each.
pub(crate) const EVENTS: &[&str] = &[
    "workitem.updated",
    "workitem.commented",
    "git.pullrequest.created",
    "git.pullrequest.updated",
    "git.pullrequest.merged",
    "ms.vss-code.git-pullrequest-comment-event",
    "git.push",
    "build.complete",
];

/// The id of the subscription of event type `event`.
pub(crate) fn subscription(event: &str) -> String {
    guid(&format!("subscription:{event}"))
}

impl Forge {
    /// A shared-model event as the service hook that tells of it.
    pub(crate) fn az_webhook(&mut self, event: &Event) {
        self.az_sync();
        match event {
            Event::Labeled { repo, number, .. } | Event::State { repo, number, .. } => {
                if let Some(item) = self.az_item_of(repo, *number) {
                    self.az_item_updated(item);
                } else if let Some(pr) = self.az.pr_of(repo, *number) {
                    let kind = match event {
                        Event::State {
                            action: "opened", ..
                        } => "git.pullrequest.created",
                        _ if self.repos[repo].issues[number].merged => "git.pullrequest.merged",
                        _ => "git.pullrequest.updated",
                    };
                    self.az_pr_event(pr, kind);
                }
            }
            Event::Comment { repo, number, .. } => {
                if let Some(item) = self.az_item_of(repo, *number) {
                    let resource = {
                        let w = &self.az.items[&item];
                        super::wit::item_json(self, w, None, false)
                    };
                    self.az_deliver(
                        "workitem.commented",
                        split(repo).0,
                        resource,
                        format!("A comment on work item {item}"),
                    );
                } else if let Some(pr) = self.az.pr_of(repo, *number)
                    // the thread the comment became (`sync`)
                    && let Some(t) = self
                        .az
                        .threads
                        .values()
                        .filter(|t| t.pr == pr)
                        .map(|t| t.id)
                        .max()
                {
                    self.az_comment_event(pr, t, 1);
                }
            }
            Event::Push {
                repo,
                branch,
                before,
                after,
            } => {
                let me = self.me.clone();
                let who = self.az.ensure(&me);
                let pushed_by = self
                    .az
                    .by_id(&who)
                    .map(|i| i.as_ref(&self.base))
                    .unwrap_or(Value::Null);
                let at = now(self);
                let resource = json!({"refUpdates": [{"name": format!("refs/heads/{branch}"), "oldObjectId": before, "newObjectId": after}],
                    "repository": repo_json(self, repo), "pushedBy": pushed_by, "date": at, "pushId": self.az.notifications.len() + 1});
                self.az_deliver(
                    "git.push",
                    split(repo).0,
                    resource,
                    format!("{me} pushed to {branch}"),
                );
            }
            Event::Status {
                repo,
                sha,
                state,
                context,
            } if matches!(state.as_str(), "success" | "failure" | "error") => {
                self.az_build_complete(repo, sha, context, state == "success");
            }
            _ => {}
        }
    }

    /// `build.complete` for a CI run on `sha` of `repo` that ended
    /// (learn.microsoft.com/azure/devops/service-hooks/events, "Build
    /// completed": resource `build`, resourceVersion `2.0`): the build kept
    /// (`GET _apis/build/builds/{id}` answers it), its result `succeeded` or
    /// `failed`, its source the PR's branch whose head it ran on.
    fn az_build_complete(&mut self, repo: &str, sha: &str, context: &str, ok: bool) {
        if !self.outbox.on() {
            return;
        }
        let (project, _) = split(repo);
        let project = project.to_string();
        let source = (self.az.prs.values())
            .filter(|p| p.repo == repo)
            .find(|p| {
                let issue = &self.repos[repo].issues[&p.number];
                self.head_sha(repo, issue) == sha
            })
            .map_or_else(|| "refs/heads/main".to_string(), |p| p.source.clone());
        let id = self.az.builds.keys().max().copied().unwrap_or(0) + 1;
        let at = now(self);
        let api = super::project_api(self, &project);
        let def =
            u32::from_str_radix(&guid(&format!("definition:{context}"))[..4], 16).unwrap_or(1);
        let result = if ok { "succeeded" } else { "failed" };
        let number = format!("2026.{id}");
        let build = json!({"id": id, "buildNumber": number, "status": "completed", "result": result,
            "uri": format!("vstfs:///Build/Build/{id}"), "queueTime": at, "startTime": at, "finishTime": at,
            "reason": "individualCI", "sourceBranch": source, "sourceVersion": sha,
            "definition": {"id": def, "name": context, "url": format!("{api}/build/definitions/{def}")},
            "project": {"id": project_id(&project), "name": project},
            "repository": {"id": crate::model::azure::repo_id(repo), "type": "TfsGit"},
            "url": format!("{api}/build/builds/{id}")});
        self.az.builds.insert(id, build.clone());
        self.az_deliver(
            "build.complete",
            &project,
            build,
            format!("Build {number} {result}"),
        );
    }

    /// `workitem.updated` for work item `id`'s latest revision, once.
    pub(crate) fn az_item_updated(&mut self, id: u64) {
        let Some(w) = self.az.items.get(&id) else {
            return;
        };
        let rev = w.revisions.len();
        let sent = self.az.notifications.iter().any(|(_, e, p)| {
            e == "workitem.updated"
                && p["resource"]["workItemId"] == json!(id)
                && p["resource"]["rev"] == json!(rev)
        });
        if sent || rev == 0 || !self.outbox.on() {
            return;
        }
        let mut resource = super::wit::update_json(self, w, rev - 1);
        resource["revision"] = super::wit::item_json(self, w, None, false);
        let project = split(&w.repo).0.to_string();
        self.az_deliver(
            "workitem.updated",
            &project,
            resource,
            format!("Work item {id} was updated"),
        );
    }

    /// `git.pullrequest.updated` for pull request `n`.
    pub(crate) fn az_pr_updated(&mut self, n: u64) {
        self.az_pr_event(n, "git.pullrequest.updated");
    }

    fn az_pr_event(&mut self, n: u64, kind: &str) {
        if !self.outbox.on() {
            return;
        }
        let Some(p) = self.az.prs.get(&n) else {
            return;
        };
        let resource = super::pulls::pr_json(self, p, false);
        let project = split(&p.repo).0.to_string();
        self.az_deliver(
            kind,
            &project,
            resource,
            format!("Pull request {n} changed"),
        );
    }

    /// `ms.vss-code.git-pullrequest-comment-event` for comment `c` of thread `t`.
    pub(crate) fn az_comment_event(&mut self, n: u64, t: u64, c: u64) {
        if !self.outbox.on() {
            return;
        }
        let (Some(p), Some(th)) = (self.az.prs.get(&n), self.az.threads.get(&t)) else {
            return;
        };
        let thread = super::threads::thread_json(self, th);
        let comment = thread["comments"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == json!(c)).cloned())
            .unwrap_or(Value::Null);
        let resource =
            json!({"comment": comment, "pullRequest": super::pulls::pr_json(self, p, false)});
        let project = split(&p.repo).0.to_string();
        self.az_deliver(
            "ms.vss-code.git-pullrequest-comment-event",
            &project,
            resource,
            format!("A comment on pull request {n}"),
        );
    }

    /// Send `resource` as event `kind` of `project`, numbered by its subscription.
    fn az_deliver(&mut self, kind: &str, project: &str, resource: Value, text: String) {
        if !self.outbox.on() {
            return;
        }
        let number = self
            .az
            .notifications
            .iter()
            .filter(|(_, e, _)| e == kind)
            .count() as u64
            + 1;
        let at = now(self);
        let account = guid("account");
        let payload = json!({"subscriptionId": subscription(kind), "notificationId": number,
            "id": guid(&format!("event:{kind}:{number}:{at}")), "eventType": kind, "publisherId": "tfs",
            "message": {"text": text, "html": text, "markdown": text},
            "detailedMessage": {"text": text, "html": text, "markdown": text},
            "resource": resource, "resourceVersion": match kind {
                k if k.starts_with("workitem") => "1.0",
                "build.complete" => "2.0",
                _ => "1.0-preview.1",
            },
            "resourceContainers": {"collection": {"id": guid("collection"), "baseUrl": format!("{}/", org_url(self))},
                "account": {"id": account, "baseUrl": format!("{}/", org_url(self))},
                "project": {"id": project_id(project), "baseUrl": format!("{}/", org_url(self))}},
            "createdDate": at});
        self.az
            .notifications
            .push((number, kind.to_string(), payload.clone()));
        self.az_send(kind, &payload);
    }

    /// Post one delivery (again, for a redelivery).
    fn az_send(&mut self, kind: &str, payload: &Value) {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("sandbox:{}", self.outbox.secret()));
        let headers = vec![
            (
                "User-Agent".to_string(),
                "VSServices/16.255.35115.2 (NetStandard; Linux)".to_string(),
            ),
            ("Authorization".to_string(), format!("Basic {auth}")),
            (
                "Content-Type".to_string(),
                "application/json; charset=utf-8".to_string(),
            ),
        ];
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let id = payload["id"].as_str().unwrap_or("").to_string();
        self.outbox.queue(kind.to_string(), headers, body, id);
    }

    /// Send notification `number` of `kind` again (the last one when none is
    /// named), the same `notificationId` and body.
    pub(crate) fn az_redeliver(
        &mut self,
        kind: Option<&str>,
        number: Option<u64>,
    ) -> Result<Value, String> {
        let found = self
            .az
            .notifications
            .iter()
            .rev()
            .find(|(n, e, _)| kind.is_none_or(|k| k == e) && number.is_none_or(|want| want == *n))
            .map(|(_, e, p)| (e.clone(), p.clone()))
            .ok_or("no such notification was delivered")?;
        if !self.outbox.on() {
            return Err("no hook URL is set".into());
        }
        self.az_send(&found.0, &found.1);
        Ok(json!({"eventType": found.0, "notificationId": found.1["notificationId"]}))
    }
}
