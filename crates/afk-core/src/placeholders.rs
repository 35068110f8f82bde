//! Where the placeholders of a runner command may stand
//! (docs/runners.md#command-a-local-process).
//!
//! afk substitutes `{run_dir}`, `{repo}`, `{issue}`, `{branch}` and
//! `{prompt_file}` as plain text. In an argument of its own that is harmless:
//! the program gets the value as one argument. Inside a shell's `-c` script
//! the value would become shell code (`{branch}` of an upgrade PR comes from
//! an image path in a recipe), and no quoting is right for every place in a
//! script (inside `"…"`, `'…'` or `$(…)` each needs another). So afk refuses
//! placeholders there; a script reads the same values from the environment
//! (`"$AFK_BRANCH"`), which the shell never parses as code.

/// Each placeholder and the environment variable every agent gets with its value.
pub(crate) const PLACEHOLDERS: [(&str, &str); 5] = [
    ("{run_dir}", "AFK_RUN_DIR"),
    ("{repo}", "AFK_REPO"),
    ("{issue}", "AFK_ISSUE"),
    ("{branch}", "AFK_BRANCH"),
    ("{prompt_file}", "AFK_PROMPT_FILE"),
];

/// The values a turn's placeholders stand for.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub run_dir: &'a std::path::Path,
    pub repo: &'a str,
    pub issue: crate::types::IssueNumber,
    pub branch: &'a str,
    pub prompt_file: &'a std::path::Path,
}

impl Values<'_> {
    /// What the placeholder stands for; its environment variable carries the same.
    fn of(&self, placeholder: &str) -> String {
        match placeholder {
            "{run_dir}" => self.run_dir.to_string_lossy().into_owned(),
            "{repo}" => self.repo.to_string(),
            "{issue}" => crate::prompt::issue_name(self.branch, self.issue),
            "{branch}" => self.branch.to_string(),
            "{prompt_file}" => self.prompt_file.to_string_lossy().into_owned(),
            other => unreachable!("{other} is not in PLACEHOLDERS"),
        }
    }
}

/// `s` with every placeholder replaced by its value, as plain text, in one
/// pass: a value is never read again for placeholders (a branch named
/// `x{prompt_file}` stays that).
pub fn substitute(s: &str, v: &Values) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match PLACEHOLDERS.iter().find(|(p, _)| rest.starts_with(p)) {
            Some((p, _)) => {
                out.push_str(&v.of(p));
                rest = &rest[p.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

const SHELLS: [&str; 9] = [
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "busybox",
];

/// The indexes of the arguments a shell runs as a script: the argument after
/// `-c` (or short flags that include it: `-lc`, `-ec`) following a shell's
/// name anywhere in the command, so also behind `env`, `sudo`, `timeout`.
pub(crate) fn shell_scripts(command: &[String]) -> Vec<usize> {
    let mut out = vec![];
    let mut in_shell = false;
    let mut args = command.iter().enumerate();
    while let Some((i, arg)) = args.next() {
        let base = arg.rsplit('/').next().unwrap_or(arg);
        if SHELLS.contains(&base) {
            in_shell = true;
        } else if !in_shell {
            continue;
        } else if matches!(arg.as_str(), "-o" | "+o" | "-O" | "+O") {
            args.next(); // an option's name: `sh -o pipefail -c …`
        } else if arg.starts_with('-') && !arg.starts_with("--") && arg.contains('c') {
            if i + 1 < command.len() {
                out.push(i + 1);
            }
            in_shell = false;
        } else if !arg.starts_with(['-', '+']) || arg == "--" {
            in_shell = false; // a script file: what follows are its arguments
        }
    }
    out
}

/// The first placeholder written inside a shell script of `command`, and the
/// environment variable to use there instead.
pub fn placeholder_in_shell_script(command: &[String]) -> Option<(&'static str, &'static str)> {
    shell_scripts(command).into_iter().find_map(|i| {
        PLACEHOLDERS
            .iter()
            .find(|(p, _)| command[i].contains(p))
            .copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_replaced_by_its_value_as_plain_text() {
        let v = Values {
            run_dir: std::path::Path::new("/r"),
            repo: "a/b",
            issue: crate::types::IssueNumber(7),
            branch: "afk/issue-7",
            prompt_file: std::path::Path::new("/r/prompt-1.md"),
        };
        let cases = [
            (
                "{run_dir}/w/{repo}/{issue}/{branch}/{prompt_file}",
                "/r/w/a/b/7/afk/issue-7//r/prompt-1.md",
            ),
            ("{issue}{issue}", "77"),
            ("no placeholder", "no placeholder"),
            ("{unknown} {ISSUE}", "{unknown} {ISSUE}"),
            ("", ""),
        ];
        for (s, want) in cases {
            assert_eq!(substitute(s, &v), want, "{s}");
        }
        // a value that looks like a placeholder stays as it is, whichever
        // placeholder comes first in the table
        let tricky = Values {
            repo: "x{prompt_file}",
            branch: "{run_dir}",
            ..v
        };
        assert_eq!(
            substitute("{repo} {branch} {{issue}", &tricky),
            "x{prompt_file} {run_dir} {7"
        );
    }

    #[test]
    fn placeholders_are_refused_inside_shell_scripts_only() {
        let cases: [(&[&str], Option<&str>); 16] = [
            (&["sh", "-c", "git checkout {branch}"], Some("{branch}")),
            (
                &["/bin/bash", "-lc", "cd {run_dir} && agent"],
                Some("{run_dir}"),
            ),
            (
                &["env", "A=1", "sh", "-ec", "agent < {prompt_file}"],
                Some("{prompt_file}"),
            ),
            (
                &["sudo", "-u", "agent", "sh", "-c", "x {repo}"],
                Some("{repo}"),
            ),
            (
                &["timeout", "1h", "dash", "-c", "x {issue}"],
                Some("{issue}"),
            ),
            (&["busybox", "sh", "-c", "x {branch}"], Some("{branch}")),
            (
                &["bash", "--login", "-o", "pipefail", "-c", "x {branch}"],
                Some("{branch}"),
            ),
            // the environment is the way in a script
            (&["sh", "-c", "git checkout \"$AFK_BRANCH\""], None),
            // an argument of its own, also after the script, is no shell code
            (&["sh", "agent.sh", "{branch}"], None),
            (&["sh", "-c", "agent \"$1\"", "sh", "{branch}"], None),
            (
                &["agent", "--branch={branch}", "--prompt", "{prompt_file}"],
                None,
            ),
            (&["agent", "-c", "{branch}"], None),
            (&["sh", "--", "{branch}"], None),
            (&["sh", "agent.sh", "-c", "{branch}"], None),
            (&["sh", "-e", "agent.sh", "{branch}"], None),
            (&["sh", "-c"], None),
        ];
        for (command, want) in cases {
            let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                placeholder_in_shell_script(&command).map(|(p, _)| p),
                want,
                "case {command:?}"
            );
        }
    }

    #[test]
    fn every_placeholder_has_its_environment_variable() {
        let (p, var) = placeholder_in_shell_script(&[
            "sh".to_string(),
            "-c".to_string(),
            "cat {prompt_file}".to_string(),
        ])
        .unwrap();
        assert_eq!((p, var), ("{prompt_file}", "AFK_PROMPT_FILE"));
    }
}
