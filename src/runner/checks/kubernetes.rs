//! The Kubernetes runner's doctor checks beside its cluster's own
//! (`runner/kubernetes/doctor.rs`, its `Runner::check`): each Job's git
//! containers make the checkout, and the model gateway is a container of
//! each turn's pod.

use super::{Checks, Probe, Report};
use crate::config::Config;
use crate::core::doctor::Level;
use std::path::Path;

/// The Kubernetes runner of a config.
pub(super) struct Cluster<'a>(pub(super) &'a Config);

impl Checks for Cluster<'_> {
    fn agent_holds_forge_token(&self) -> bool {
        !super::afk_checkouts(self.0)
    }
    fn gate(&self, r: &mut dyn Report) {
        if !super::afk_checkouts(self.0) {
            return super::Threads.gate(r);
        }
        r.add(
            "gate",
            Level::Ok,
            format!(
                "{} (applied by each turn's forwarding container, which lists the dependency changes for the PR body)",
                super::gate_line(self.0)
            ),
        );
    }

    fn metered_by_gateway(&self) -> bool {
        matches!(
            crate::runner::kubernetes::gateway_setup(self.0),
            crate::runner::kubernetes::PodGateway::On { .. }
        )
    }

    fn workspace(&self, _: &Path, r: &mut dyn Report) {
        if !super::afk_checkouts(self.0) {
            return;
        }
        let k = &self.0.runner.kubernetes;
        let image = match k.git_image.trim() {
            "" => "afk's own image (the tick's pod's)",
            i => i,
        };
        r.add(
            "workspace",
            Level::Ok,
            format!(
                "each Job's git containers make the checkout and push ({image}), with the credential of Secret {} (afk does not read Secrets: kubectl -n {} get secret {} checks it is there)",
                k.git_secret,
                if k.namespace.is_empty() { "<namespace>" } else { &k.namespace },
                k.git_secret
            ),
        );
    }

    fn confinement(&self, _: &Probe, r: &mut dyn Report) {
        gateway(self.0, r);
    }
}

/// The model gateway on Kubernetes (docs/kubernetes.md#the-model-gateway): a container of each
/// turn's pod, the key's Secret mounted in it alone; `env_secret` beside it
/// must not carry the key.
fn gateway(c: &Config, r: &mut dyn Report) {
    use crate::core::gateway::doctor::{Decided, gateway_line};
    use crate::runner::kubernetes::PodGateway;
    let k = &c.runner.kubernetes;
    let setup = crate::runner::kubernetes::gateway_setup(c);
    let decided = match &setup {
        PodGateway::On { on, secret, .. } => {
            let (_, text) = gateway_line(&Decided::On {
                api: on.api,
                key_env: &on.key_env,
                upstream: &on.upstream,
            });
            r.add(
                "gateway",
                Level::Ok,
                format!(
                    "{text}; on Kubernetes a container of each turn's pod (afk's own image), which alone mounts Secret {secret}"
                ),
            );
            if let Some(line) =
                crate::core::kube::gateway::env_secret_line(&k.env_secret, &on.key_env)
            {
                r.add("gateway", Level::Warn, line);
            }
            return;
        }
        PodGateway::Off(why) => Decided::Off(why),
        PodGateway::Refused(why) => Decided::Refused(why),
    };
    let (level, text) = gateway_line(&decided);
    r.add("gateway", level, text);
}
