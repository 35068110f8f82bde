//! The sandbox CI's state: a responder per repository, and how many runs
//! they answered (`crate::ci` answers test comments with it).

use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};

/// How the CI answers in one repository.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Responder {
    pub repo: String,
    pub trigger: String,
    pub context: String,
    /// the answers to come, in order; empty: no answer
    pub states: VecDeque<String>,
    /// tests branch -> the state a run against it reports
    pub tests: BTreeMap<String, String>,
}

/// The responders, by repository; and how many runs they answered.
#[derive(Default)]
pub(crate) struct Ci {
    pub(crate) responders: BTreeMap<String, Responder>,
    pub(crate) runs: u64,
}

impl Ci {
    /// Set up (or replace) one repository's responder from the admin body.
    pub(crate) fn set(&mut self, body: &Value) -> Result<(), String> {
        let r: Responder = serde_json::from_value(body.clone()).map_err(|e| format!("ci: {e}"))?;
        if r.repo.is_empty() || r.trigger.trim().is_empty() {
            return Err("ci: repo and trigger are required".into());
        }
        self.responders.insert(r.repo.clone(), r);
        Ok(())
    }
}
