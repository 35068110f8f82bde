//! The runner's values the store keeps: which kind of runner started a run,
//! and how to find its agent again on a later tick. Shapes only; starting and
//! observing agents is the binary's `runner` module.

crate::named_enum! {
    /// `runner.kind`.
    #[derive(PartialOrd, Ord)]
    RunnerKind {
        Command => "command",
        Http => "http",
        Kubernetes => "kubernetes",
    }
}

crate::named_enum! {
    /// `runner.agent` (docs/runners.md, named agents): which program the agent
    /// is, so afk knows its command line, where it reports its spend and its
    /// final message.
    AgentKind {
        Claude => "claude": "Claude Code (`claude -p`): its result record carries the spend and the final message",
        Codex => "codex": "OpenAI Codex CLI (`codex exec --json`): its token usage priced by [runner.prices]",
        Custom => "custom": "runner.command as written",
    }
}

crate::named_enum! {
    /// `runner.workspace` (docs/how-it-works.md#the-workspace): who does the
    /// git around the agent.
    Workspace {
        Afk => "afk": "afk makes the checkout, pushes the run's branch and opens the PR; the agent holds no forge credential",
        Agent => "agent": "the agent does its own git with credentials of its own",
    }
}

/// How to find a started agent again on a later tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerHandle {
    /// A local process group: pid plus its start time, so a reused pid is not
    /// mistaken for the agent.
    Process { pid: i32, start_time: u64 },
    /// A thread of the agent-thread service.
    Thread { id: String },
    /// The Job of the turn being followed (kubernetes).
    Job { name: String },
}

impl RunnerHandle {
    /// The form stored in `runs.runner_handle`.
    pub fn stored(&self) -> String {
        match self {
            RunnerHandle::Process { pid, .. } => format!("pid:{pid}"),
            RunnerHandle::Thread { id } => format!("thread:{id}"),
            RunnerHandle::Job { name } => format!("job:{name}"),
        }
    }

    /// From the stored columns; None when nothing usable was recorded.
    pub fn from_stored(
        handle: Option<&str>,
        pid: Option<i64>,
        start_time: Option<i64>,
    ) -> Option<RunnerHandle> {
        if let Some(id) = handle.and_then(|h| h.strip_prefix("thread:")) {
            return Some(RunnerHandle::Thread { id: id.to_string() });
        }
        if let Some(name) = handle.and_then(|h| h.strip_prefix("job:")) {
            return Some(RunnerHandle::Job {
                name: name.to_string(),
            });
        }
        pid.map(|pid| RunnerHandle::Process {
            pid: pid as i32,
            start_time: start_time.unwrap_or(0) as u64,
        })
    }

    pub fn pid(&self) -> Option<(i64, i64)> {
        match self {
            RunnerHandle::Process { pid, start_time } => Some((*pid as i64, *start_time as i64)),
            RunnerHandle::Thread { .. } | RunnerHandle::Job { .. } => None,
        }
    }
}

/// What a conditional GET keeps per URL: the `ETag`, the body and the `Link`
/// header the service last answered (the forge asks, the store keeps it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    pub etag: String,
    pub body: String,
    pub link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runner_kind_reads_back_as_written_and_a_wrong_one_lists_the_right_ones() {
        for (k, s) in RunnerKind::ALL
            .iter()
            .zip(["command", "http", "kubernetes"])
        {
            assert_eq!(k.as_str(), s);
            assert_eq!(RunnerKind::parse(s), Some(*k));
        }
        assert_eq!(RunnerKind::parse("docker"), None);
        let e = serde_json::from_str::<RunnerKind>("\"docker\"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("\"docker\" is not one of command, http, kubernetes"),
            "{e}"
        );
    }

    #[test]
    fn a_handle_reads_back_from_its_stored_columns() {
        let cases = [
            (
                RunnerHandle::Thread { id: "t1".into() },
                Some("thread:t1"),
                None,
                None,
            ),
            (
                RunnerHandle::Job { name: "j1".into() },
                Some("job:j1"),
                None,
                None,
            ),
            (
                RunnerHandle::Process {
                    pid: 7,
                    start_time: 9,
                },
                Some("pid:7"),
                Some(7),
                Some(9),
            ),
        ];
        for (h, text, pid, start) in cases {
            assert_eq!(h.stored().as_str(), text.unwrap());
            assert_eq!(RunnerHandle::from_stored(text, pid, start), Some(h));
        }
        assert_eq!(RunnerHandle::from_stored(None, None, None), None);
    }
}
