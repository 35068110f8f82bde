//! What the demo prints and collects, act by act.

/// What the demo prints and collects: each tick's human text (or, with
/// `--json`, its report) and the worst exit code.
pub(crate) struct Show {
    pub(crate) json: bool,
    pub(crate) ticks: Vec<serde_json::Value>,
    pub(crate) worst: u8,
}

impl Show {
    pub(crate) fn say(&self, s: &str) {
        if !self.json {
            crate::output::line(s);
        }
    }

    pub(crate) fn step(&mut self, title: &str, t: crate::tick::Done) {
        self.say(&format!("== {title}"));
        if !self.json {
            crate::output::text(&t.human);
        }
        self.worst = self.worst.max(t.code);
        self.ticks.push(t.report);
        self.say("");
    }
}
