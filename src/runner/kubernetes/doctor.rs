//! `afk doctor` for the kubernetes runner: the image, the pod spec's git
//! credential, the API and the namespace, every verb the runner needs
//! (SelfSubjectAccessReview); each failure with its one-line fix. The
//! verdicts are `core::kube`'s.

use super::KubernetesRunner;
use super::client::{SA_DIR, kind_of};
use crate::core::doctor::Level;
use crate::core::kube as k8s;
use crate::forge::Failure;
use std::path::Path;

impl KubernetesRunner {
    /// The runner's one doctor line: the worst finding's level; a FAIL says
    /// only what failed, otherwise every finding, the WARNs first.
    pub(super) fn summary(&self) -> (Level, String) {
        let checks = self.doctor_checks();
        let worst = checks.iter().map(|c| c.0).max().unwrap_or(Level::Ok);
        // a FAIL says only what failed; otherwise every finding, the WARNs first
        let mut shown: Vec<&(Level, String)> = checks
            .iter()
            .filter(|c| worst != Level::Fail || c.0 == Level::Fail)
            .collect();
        shown.sort_by_key(|c| std::cmp::Reverse(c.0));
        let text: Vec<&str> = shown.iter().map(|c| c.1.as_str()).collect();
        (worst, text.join("; "))
    }

    /// In afk's workspace: the pod afk will send, checked against how the
    /// kubelet writes the git credential (`core::kube::workspace::secret_verdict`):
    /// the git containers can read it, the agent's container cannot mount it.
    /// Offline: built as a turn builds it, sent nowhere.
    pub(super) fn pod_spec_check(&self) -> Option<(Level, String)> {
        let (forge, url) = self.forge_url.as_ref()?;
        let env: Vec<(String, String)> = vec![];
        let spec = self.spec("afk-doctor", "doctor", "0", 1, &self.command, &env);
        let mut manifest = k8s::job(&spec);
        let git = crate::core::kube::workspace::GitSide {
            // the image does not change who may read the credential
            image: "afk",
            secret: &self.cfg.git_secret,
            auth: self.git_auth,
            url: &forge.git_url(url, "doctor"),
            gate: &self.gate,
        };
        crate::core::kube::workspace::with_git(&mut manifest, &git, &env);
        let (ok, said) =
            crate::core::kube::workspace::secret_verdict(&manifest["spec"]["template"]["spec"]);
        Some((Level::of(ok), format!("pod spec: {said}")))
    }

    /// `afk doctor`: the API answers, the namespace exists, every verb is
    /// allowed (SelfSubjectAccessReview), the image is set; each failure with
    /// its one-line fix. Read-only (an access review creates nothing).
    pub(super) fn doctor_checks(&self) -> Vec<(Level, String)> {
        let ns = &self.api.namespace;
        let mut out = vec![];
        out.push(if self.cfg.image.trim().is_empty() {
            (
                Level::Fail,
                "runner.kubernetes.image is not set: set it to the agent's container image".into(),
            )
        } else {
            (Level::Ok, format!("image {}", self.cfg.image))
        });
        if let Some(check) = self.pod_spec_check() {
            out.push(check);
        }
        let read = self
            .api
            .call("GET", &format!("/api/v1/namespaces/{ns}"), None);
        let (status, error) = match &read {
            Ok(_) => (Some(200), String::new()),
            Err(e) => (kind_of(e).and_then(Failure::status), e.to_string()),
        };
        let (level, text, go_on) = k8s::namespace_read(ns, status, &error);
        out.push((level, text));
        if !go_on {
            return out;
        }
        // where afk itself runs, when it runs in a cluster (its pod's account)
        let own = std::env::var_os("KUBERNETES_SERVICE_HOST")
            .and_then(|_| std::fs::read_to_string(Path::new(SA_DIR).join("namespace")).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let (ok, text) = k8s::namespace_split(ns, own.as_deref());
        out.push((Level::of(ok), text));
        let mut missing = vec![];
        for (group, resource, sub, verb) in k8s::VERBS {
            let review = serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {
                    "namespace": ns, "group": group, "resource": resource,
                    "subresource": sub, "verb": verb
                }}
            });
            let what = if sub.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}/{sub}")
            };
            match self.api.json(
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                Some(&review),
            ) {
                Ok(v) if v["status"]["allowed"] == true => {}
                Ok(_) => missing.push(format!("{verb} {what}")),
                Err(e) => {
                    out.push((Level::Fail, format!("cannot review access: {e}")));
                    return out;
                }
            }
        }
        let (ok, text) = k8s::access_verdict(&missing, ns);
        out.push((Level::of(ok), text));
        out
    }
}
