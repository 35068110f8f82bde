//! `afk workspace checkout|forward|gateway`: what the git containers (and
//! the model gateway's, docs/kubernetes.md#the-model-gateway) of a turn's
//! Kubernetes Job run
//! (docs/kubernetes.md#3-the-agents-image-and-the-git-around-it), before and
//! after the agent's container.
//! Not for people: the Job sets everything they read in their environment.

use crate::session::{Outcome, Session};
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub step: Step,
}

#[derive(clap::Subcommand, Debug, Clone, Copy)]
pub enum Step {
    /// Make the agent's checkout on the Job's shared volume
    Checkout,
    /// Push the turn's work; exit with the agent's status
    Forward,
    /// The model gateway on the pod's loopback (docs/kubernetes.md), until the pod ends
    Gateway {
        /// Only say whether the pod's gateway listens: exit 0 when it does,
        /// 1 when not yet (its container's startup probe)
        #[arg(long)]
        ready: bool,
    },
}

pub fn run(_: &Session, a: &Args) -> Result<Outcome> {
    // the gateway's container reads no git step's environment
    match a.step {
        Step::Gateway { ready: true } => {
            let up = crate::runner::kubernetes::gateway_listens()?;
            Ok(Outcome::code(u8::from(!up)))
        }
        Step::Gateway { ready: false } => {
            crate::runner::kubernetes::serve_gateway()?;
            Ok(Outcome::OK)
        }
        Step::Checkout => {
            let env = crate::workspace_pod::PodEnv::from_env()?;
            let said = crate::workspace_pod::checkout(&env)?;
            crate::log::info(&said);
            Ok(Outcome::OK)
        }
        Step::Forward => {
            let env = crate::workspace_pod::PodEnv::from_env()?;
            let (code, said) = crate::workspace_pod::forward(&env);
            crate::log::info(&said);
            Ok(Outcome::code(code))
        }
    }
}
