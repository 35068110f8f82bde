//! A turn's Job and the objects around it (docs/runners.md#kubernetes-a-job-per-turn):
//! the Job and its prompt's ConfigMap made (or found, when an answer was
//! lost: [`Pending`]), a dead tick's claim reconciled, the tick's two lists
//! of this instance's Jobs and pods, a Job deleted, and why a pod cannot
//! start kept in the run folder. The manifests and names are
//! `core::kube`'s; the calls go through [`super::client::Api`].

use super::client::{SA_DIR, cfg_err, kind_of, outcome_unknown};
use super::views::{job_view, pod_view};
use super::{FAILED_FILE, KubernetesRunner, PENDING_FILE, Snapshot};
use crate::core::kube::{self as k8s, JobView, PodView};
use crate::forge::Failure;
use crate::private_files::read_run_file;
use crate::types::Invalid;
use anyhow::{Context, Result, anyhow};
use serde_json::Value;
use std::path::Path;

/// A turn whose create was sent and not answered, kept in the run folder
/// until the next step finds or makes its Job and ConfigMap: the two
/// manifests exactly as sent (no secret is in them: `envFrom` names the
/// Secret, never its values).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Pending {
    job: String,
    manifest: Value,
    config_map: Value,
}

impl KubernetesRunner {
    /// The git containers' image: `git_image`, else the image of the pod
    /// this tick runs in (afk's own, docs/configuration.md), read once (its
    /// service account may `get` its own pod; else set `git_image`).
    pub(super) fn git_image(&self) -> Result<String> {
        if !self.cfg.git_image.trim().is_empty() {
            return Ok(self.cfg.git_image.trim().to_string());
        }
        let got = self.own_image.get_or_init(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_default();
            if host.is_empty() || !k8s::is_dns_subdomain(&host) {
                return Err("this tick does not run in a pod".into());
            }
            // the tick's own namespace (its service account's), not the agents'
            let ns = std::fs::read_to_string(Path::new(SA_DIR).join("namespace"))
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|_| self.api.namespace.clone());
            self.api
                .json("GET", &format!("/api/v1/namespaces/{ns}/pods/{host}"), None)
                .map_err(|e| Invalid(format!("{e:#}")))
                .and_then(|pod| {
                    pod["spec"]["containers"][0]["image"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| Invalid(format!("pod {host} names no image")))
                })
        });
        got.clone().map_err(|why| {
            crate::hint::hinted(
                cfg_err(format!(
                    "config: runner.kubernetes.git_image is empty and afk's own image could not be read ({why})"
                )),
                "set runner.kubernetes.git_image to afk's image (it runs the Job's checkout and forwarding)",
            )
        })
    }

    pub(super) fn job_name(&self, run_id: &str, turn: u32) -> Result<String> {
        k8s::job_name(self.instance()?, run_id, turn)
            .ok_or_else(|| anyhow!("kubernetes: run id {run_id} makes no valid Job name"))
    }

    pub(super) fn env(t: &crate::runner::Turn) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AFK_RUN_ID", t.run_id.to_string()),
            ("AFK_REPO", t.repo.to_string()),
            (
                "AFK_ISSUE",
                crate::core::prompt::issue_name(t.branch, t.issue),
            ),
            ("AFK_BRANCH", t.branch.to_string()),
            ("AFK_TURN", t.turn.to_string()),
            ("AFK_PROMPT_FILE", k8s::PROMPT_PATH.to_string()),
            ("AFK_PROGRESS_FILE", "/dev/stdout".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in t.env {
            env.push((k.to_string(), v.to_string()));
        }
        env.extend(t.budget_var());
        env
    }

    /// The agent container's command (the resume command for a later turn
    /// where one is set), its placeholders the pod's own paths: its run
    /// folder and its prompt's mount.
    fn pod_command(&self, t: &crate::runner::Turn, resume: bool) -> Vec<String> {
        let base = if resume && !self.resume_command.is_empty() {
            &self.resume_command
        } else {
            &self.command
        };
        let values = crate::core::placeholders::Values {
            run_dir: Path::new("/afk"),
            repo: t.repo,
            issue: t.issue,
            branch: t.branch,
            prompt_file: Path::new(k8s::PROMPT_PATH),
        };
        base.iter()
            .map(|a| crate::core::placeholders::substitute(a, &values))
            .collect()
    }

    /// Create the turn's Job, then its ConfigMap owned by the Job. A Job that
    /// exists already (a dead tick's create, an answer that was lost) is this
    /// turn, started: never a second one. Both manifests are kept in the run
    /// folder first, so that when an answer is lost the next step can find or
    /// finish what this one began ([`StartUnknown`](crate::runner::StartUnknown)).
    pub(super) fn create_turn(
        &self,
        t: &crate::runner::Turn,
        resume: bool,
    ) -> Result<crate::runner::RunnerHandle> {
        let name = self.job_name(&t.run_id.to_string(), t.turn)?;
        crate::private_files::private_dir(t.run_dir)
            .context("runner: cannot create the run folder")?;
        crate::private_files::private_write(
            &t.run_dir.join(format!("prompt-{}.md", t.turn)),
            t.prompt.as_bytes(),
        )
        .context("runner: cannot keep the prompt")?;
        let command = self.pod_command(t, resume);
        let env = Self::env(t);
        let run_id = t.run_id.to_string();
        let instance = self.instance()?;
        let spec = self.spec(&name, instance, &run_id, t.turn, &command, &env);
        let mut manifest = k8s::job(&spec);
        if let (Some((forge, url)), crate::runner::TurnOf::Run(_)) = (&self.forge_url, t.run_id) {
            let image = self.git_image()?;
            let url = forge.git_url(url, t.repo.as_str());
            let git = crate::core::kube::workspace::GitSide {
                image: &image,
                secret: &self.cfg.git_secret,
                auth: self.git_auth,
                url: &url,
                gate: &self.gate,
            };
            crate::core::kube::workspace::with_git(&mut manifest, &git, &env);
        }
        match &self.gateway {
            super::PodGateway::On {
                on,
                secret,
                secret_key,
            } => {
                let image = self.git_image()?;
                super::gateway::add(
                    &mut manifest,
                    &name,
                    &image,
                    (on, secret, secret_key),
                    (t.budget_usd, t.turn),
                )?;
            }
            super::PodGateway::Refused(why) => {
                return Err(cfg_err(format!("config: {why}")));
            }
            super::PodGateway::Off(_) => {}
        }
        let pending = Pending {
            job: name.clone(),
            manifest,
            config_map: k8s::config_map(&spec, "", t.prompt),
        };
        let kept = serde_json::to_vec(&pending)?;
        crate::private_files::private_write(&t.run_dir.join(PENDING_FILE), &kept)
            .context("runner: cannot keep the turn's manifests")?;
        let handle = crate::runner::RunnerHandle::Job { name: name.clone() };
        match self.finish(&pending, t.run_dir, false) {
            Ok(()) => Ok(handle),
            Err(e) if outcome_unknown(&e) => Err(anyhow!(crate::runner::StartUnknown {
                handle: Some(handle),
                why: e.to_string(),
            })),
            Err(e) => Err(e),
        }
    }

    /// Make sure the pending turn's Job and ConfigMap exist: each looked up
    /// when its create went unanswered, created when absent (its fixed name
    /// makes a second create a `409`, never a second Job). `again`: a turn a
    /// tick began earlier, looked up before anything is sent. Done: the
    /// pending file goes.
    pub(super) fn finish(&self, p: &Pending, run_dir: &Path, again: bool) -> Result<()> {
        let job = self.ensure("jobs", &p.job, &p.manifest, again)?;
        crate::crash::point("kubernetes:job-created");
        let mut cm = p.config_map.clone();
        cm["metadata"]["ownerReferences"][0]["uid"] = job["metadata"]["uid"].clone();
        self.ensure("configmaps", &p.job, &cm, again)?;
        let _ = std::fs::remove_file(run_dir.join(PENDING_FILE));
        Ok(())
    }

    /// Create `body` as `kind`/`name`, or find it: `409` and an unanswered
    /// create are looked up by name; one found is the object. An unanswered
    /// create whose object is not there is sent once more. `look_first`: the
    /// object may exist already (an earlier tick's create): read it first.
    pub(super) fn ensure(
        &self,
        kind: &str,
        name: &str,
        body: &Value,
        look_first: bool,
    ) -> Result<Value> {
        let get = || {
            self.api
                .json("GET", &format!("{}/{name}", self.api.ns(kind)), None)
        };
        if look_first {
            match get() {
                Ok(v) => return Ok(v),
                Err(e) if kind_of(&e) == Some(Failure::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        for attempt in 0..2 {
            match self.api.json("POST", &self.api.ns(kind), Some(body)) {
                Ok(v) => return Ok(v),
                Err(e) if kind_of(&e) == Some(Failure::Conflict) => return get(),
                Err(e) if outcome_unknown(&e) => match get() {
                    Ok(v) => return Ok(v),
                    Err(g) if kind_of(&g) == Some(Failure::NotFound) && attempt == 0 => continue,
                    // still unknown: the create may yet land
                    Err(_) => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
        // each try returns or goes on to the second, which returns
        Err(anyhow::Error::new(crate::types::InternalError::new(
            format!("kubernetes: creating {kind} {name} ended with no answer and no error"),
        )))
    }

    /// A turn begun and not known to have been made: finish it now.
    pub(super) fn pending(&self, run_dir: &Path, job: &str) -> Option<Pending> {
        let text = read_run_file(&run_dir.join(PENDING_FILE), super::super::SMALL_RECORD).ok()?;
        serde_json::from_str::<Pending>(&text)
            .ok()
            .filter(|p| p.job == job)
    }

    pub(super) fn spec<'a>(
        &'a self,
        name: &'a str,
        instance: &'a str,
        run_id: &'a str,
        turn: u32,
        command: &'a [String],
        env: &'a [(String, String)],
    ) -> k8s::JobSpec<'a> {
        k8s::JobSpec {
            name,
            instance,
            namespace: &self.api.namespace,
            run_id,
            turn,
            image: &self.cfg.image,
            command,
            env,
            service_account: &self.cfg.service_account,
            env_secret: &self.cfg.env_secret,
            cpu: &self.cfg.cpu,
            memory: &self.cfg.memory,
            active_deadline: self.cfg.active_deadline,
            ttl_after_finished: self.cfg.ttl_after_finished,
        }
    }

    /// A dead tick's claim: a turn it began and did not finish is finished
    /// now (looked up, created when absent); else the first turn's Job found
    /// by name means the agent started (its ConfigMap completed from the
    /// kept prompt); not found, it never did. An unanswered call decides
    /// nothing.
    pub(super) fn reconcile_claim(
        &self,
        run_id: &str,
        run_dir: &Path,
    ) -> Result<Option<crate::runner::RunnerHandle>> {
        let name = self.job_name(run_id, 1)?;
        // a claim the previous version left names its Job without the
        // instance (`afk-<run>-1`): looked for too, never started again
        let legacy = format!("afk-{run_id}-1");
        for name in [name, legacy] {
            if let Some(p) = self.pending(run_dir, &name) {
                self.finish(&p, run_dir, true)?;
                return Ok(Some(crate::runner::RunnerHandle::Job { name }));
            }
            let job = match self
                .api
                .json("GET", &format!("{}/{name}", self.api.ns("jobs")), None)
            {
                Ok(j) => j,
                Err(e) if kind_of(&e) == Some(Failure::NotFound) => continue,
                Err(e) => return Err(e),
            };
            if let Ok(prompt) =
                read_run_file(&run_dir.join("prompt-1.md"), super::super::PROMPT_FILE_MAX)
            {
                let spec = self.spec(&name, self.instance()?, run_id, 1, &[], &[]);
                let uid = job["metadata"]["uid"].as_str().unwrap_or("");
                self.ensure(
                    "configmaps",
                    &name,
                    &k8s::config_map(&spec, uid, &prompt),
                    false,
                )?;
            }
            return Ok(Some(crate::runner::RunnerHandle::Job { name }));
        }
        Ok(None)
    }

    /// The Job and its newest pod: from the tick's two lists when the Job is
    /// this instance's, else (a Job made before instances had ids, followed
    /// to its end by its name) one Job and one pod read.
    pub(super) fn lookup(&self, name: &str) -> Result<(Option<JobView>, Option<PodView>)> {
        let own = self
            .instance
            .get()
            .is_some_and(|i| k8s::is_own_job(i, name));
        if let Some(s) = self.snapshot.lock().unwrap().as_ref().filter(|_| own) {
            let job = s.jobs.iter().find(|j| j.name == name).cloned();
            let pod = newest(s.pods.iter().filter(|p| p.job == name));
            return Ok((job, pod));
        }
        let job = match self
            .api
            .json("GET", &format!("{}/{name}", self.api.ns("jobs")), None)
        {
            Ok(v) => Some(job_view(&v)),
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => None,
            Err(e) => return Err(e),
        };
        let pods = self.api.json(
            "GET",
            &format!("{}?labelSelector=job-name%3D{name}", self.api.ns("pods")),
            None,
        )?;
        let pods: Vec<PodView> = items(&pods).map(pod_view).collect();
        Ok((job, newest(pods.iter())))
    }

    /// Why Job `job`'s pod cannot start, as watch reports it (`agent-failed`,
    /// docs/runners.md#kubernetes-a-job-per-turn). `seen`: the reason in the
    /// pod's status now. It is kept in the run folder, so that once the
    /// escalation has deleted the Job, a later tick finishing the escalation's
    /// writes still has the reason.
    pub(super) fn cannot_start(
        &self,
        job: &str,
        seen: Option<&str>,
        run_dir: &Path,
    ) -> Result<Option<String>> {
        let kept = kept_reason(run_dir, Some(job));
        let Some(reason) = seen else {
            return Ok(kept);
        };
        if kept.as_deref() != Some(reason) {
            let marker = run_dir.join(FAILED_FILE);
            crate::private_files::private_write(&marker, format!("{job}\n{reason}\n").as_bytes())?;
        }
        Ok(Some(reason.to_string()))
    }
}

impl KubernetesRunner {
    /// ONE Job list and ONE pod list for every run of the tick, of this
    /// instance's objects alone.
    pub(super) fn list_own(&self) -> Result<Snapshot> {
        let sel = format!(
            "labelSelector={}",
            k8s::selector(self.instance()?)
                .replace('/', "%2F")
                .replace('=', "%3D")
                .replace(',', "%2C")
        );
        let jobs = self
            .api
            .json("GET", &format!("{}?{sel}", self.api.ns("jobs")), None)?;
        let pods = self
            .api
            .json("GET", &format!("{}?{sel}", self.api.ns("pods")), None)?;
        Ok(Snapshot {
            jobs: items(&jobs).map(job_view).collect(),
            pods: items(&pods).map(pod_view).collect(),
        })
    }

    /// `DELETE` the Job, its pods in the background; gone already is stopped.
    pub(super) fn delete_job(&self, name: &str) {
        let body = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
        match self.api.call(
            "DELETE",
            &format!(
                "{}/{name}?propagationPolicy=Background",
                self.api.ns("jobs")
            ),
            Some(&body),
        ) {
            Ok(_) => {}
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => {}
            Err(e) => crate::log::warn(&format!("runner: could not delete Job {name}: {e:#}")),
        }
    }
}

/// The reason kept in the run folder for a pod that could not start: of Job
/// `job`, or of whichever Job it was (None).
pub(crate) fn kept_reason(run_dir: &Path, job: Option<&str>) -> Option<String> {
    let s = read_run_file(&run_dir.join(FAILED_FILE), super::super::SMALL_RECORD).ok()?;
    let (j, reason) = s.split_once('\n')?;
    let reason = reason.trim();
    (job.is_none_or(|job| j == job) && !reason.is_empty()).then(|| reason.to_string())
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v["items"].as_array().into_iter().flatten()
}

fn newest<'a>(pods: impl Iterator<Item = &'a PodView>) -> Option<PodView> {
    pods.max_by_key(|p| p.created).cloned()
}
