//! The one table of afk's exit codes, and everything said about them is
//! made from it: `docs/exit-codes.md`'s table (a test checks the file holds
//! exactly [`markdown_table`]), every command's `Exit status:` in `--help`
//! ([`help_block`], added by `cli::command`) and so every man page's EXIT
//! STATUS. A command says its codes in its own words ([`PER_COMMAND`]); every
//! code it names must be in [`TABLE`].

/// One exit code: what it means, and which commands return it.
pub struct Code {
    pub code: u8,
    /// one line for `afk --help`
    pub short: &'static str,
    /// the table's meaning (Markdown): docs/exit-codes.md's, which its test
    /// holds to this table (no command prints it)
    #[cfg_attr(not(test), allow(dead_code))]
    pub meaning: &'static str,
    /// the table's "who returns it" (docs/exit-codes.md's, likewise)
    #[cfg_attr(not(test), allow(dead_code))]
    pub who: &'static str,
}

/// Every code afk returns.
pub const TABLE: &[Code] = &[
    Code {
        code: 0,
        short: "ran (nothing to do, disabled and stepped-aside ticks count as ran)",
        meaning: "Done. For a tick: it ran, also when there was nothing to do, when it is disabled (kill switch, stop file), and when another tick of the same kind held the lock and this one stepped aside (a lock held past twice `tick_timeout` is taken over instead: docs/operations.md; `afk watch` first waits, within `hook.wait_lock`, for an event's watch tick, then runs its own: docs/hook.md#a-turns-end).",
        who: "every command",
    },
    Code {
        code: 1,
        short: "the command or tick failed in whole or in part",
        meaning: "The command or tick ran but something failed, in whole or in part: the report's `errors` and stderr say which repo, issue or recipe (the others were still processed); or what a command names does not exist.",
        who: "every command",
    },
    Code {
        code: 2,
        short: "usage or configuration error; nothing was touched",
        meaning: "Usage or configuration error (unknown key, bad value, missing or empty token, an empty or blank secret file such as `forge.token_file`, a wrong flag value); nothing was touched. With `--json`: `{\"error\", \"exit\": 2}`.",
        who: "every command",
    },
    Code {
        code: 3,
        short: "afk upgrade verdict: the verdict is PENDING",
        meaning: "The verdict is still PENDING.",
        who: "`afk upgrade verdict`",
    },
    Code {
        code: 4,
        short: "afk upgrade verdict: the verdict cannot be read",
        meaning: "The verdict cannot be read (no such PR, a forge error); never reported as RED.",
        who: "`afk upgrade verdict`",
    },
    Code {
        code: 5,
        short: "a tick reached its deadline (tick_timeout)",
        meaning: "The tick reached its deadline (`tick_timeout`, default 10 minutes; the upgrade tick at least an hour): it started nothing new, finished or abandoned the step in hand (the next tick reconciles it; a step that failed meanwhile, such as a busy state file, is in the report's errors and the code stays 5), reported, pinged the heartbeat's `/fail` and released its lock.",
        who: "the ticks: poll, watch, harvest, upgrade",
    },
    Code {
        code: 6,
        short: "a bug in afk (an internal error): please report it",
        meaning: "A bug in afk, not in its setup: an invariant of afk's own broke (stderr says `internal error (a bug in afk): …`), where the alternative was a panic. Its hint asks for a report on afk's issue tracker, with the error line and what `afk --version` prints. Not a missing file, a refused request or a wrong setting (those are 1 and 2). Inside a tick it is one of the tick's errors, with the same hint, and the tick exits 1.",
        who: "every command",
    },
    Code {
        code: 141,
        short: "stdout was closed early (e.g. `afk status | head -1`); like cargo and coreutils",
        meaning: "stdout was closed before afk finished writing (`afk status \\| head -1`): afk ends on SIGPIPE as cargo and coreutils do (128 + 13), without a panic.",
        who: "every command that prints",
    },
    Code {
        code: 143,
        short: "a tick got SIGTERM: it finished the step in hand and reported",
        meaning: "The tick got SIGTERM (systemd stopping the unit, a CronJob's deadline, `kill`): handled as the deadline is, with at most 10 seconds to finish the step in hand (128 + 15).",
        who: "the ticks",
    },
];

type Says = &'static [(u8, &'static str)];

/// A tick's codes.
const TICK: Says = &[
    (
        0,
        "the tick ran (also when there was nothing to do, when it is disabled, and when another tick of the same kind held the lock and this one stepped aside)",
    ),
    (
        1,
        "the tick failed in whole or in part (the report and stderr say which repo)",
    ),
    (2, "usage or configuration error; nothing was touched"),
    (
        5,
        "the tick reached tick_timeout: it started nothing new, reported, pinged /fail",
    ),
    (6, "a bug in afk (an internal error): please report it"),
    (
        143,
        "SIGTERM: the tick finished the step in hand, reported, pinged /fail",
    ),
];

/// Any other command's codes, unless [`PER_COMMAND`] words them.
const COMMAND: Says = &[
    (0, "done"),
    (
        1,
        "it failed, or what it names does not exist (one line on stderr says what, where and what to do; with --json: {\"error\", \"exit\"})",
    ),
    (2, "usage or configuration error; nothing was touched"),
    (6, "a bug in afk (an internal error): please report it"),
];

/// The commands (their path below `afk`) whose codes are not [`COMMAND`]'s.
pub const PER_COMMAND: &[(&str, Says)] = &[
    ("poll", TICK),
    ("watch", TICK),
    ("harvest", TICK),
    ("upgrade", TICK),
    (
        "upgrade verdict",
        &[
            (0, "GREEN"),
            (1, "RED"),
            (2, "usage or configuration error; nothing was touched"),
            (3, "PENDING"),
            (
                4,
                "the verdict could not be read (no such PR, a forge error): never reported as RED",
            ),
        ],
    ),
    (
        "doctor",
        &[
            (0, "every check passed"),
            (1, "at least one check failed (its line says what to fix)"),
            (2, "the config cannot be read or is invalid"),
        ],
    ),
    (
        "init",
        &[
            (0, "written (or every label exists)"),
            (1, "a label could not be created"),
            (2, "the file exists (pass --force) or the config is invalid"),
        ],
    ),
    #[cfg(feature = "test-world")]
    (
        "sandbox",
        &[(
            2,
            "the address is not loopback or the seed is invalid (otherwise it serves until killed)",
        )],
    ),
    #[cfg(feature = "test-world")]
    ("demo", &[(0, "the demo ran"), (1, "a step failed")]),
    ("completions", &[(0, "printed")]),
    (
        "man",
        &[
            (0, "printed or written"),
            (1, "a page could not be written"),
        ],
    ),
    (
        "lessons update",
        &[
            (0, "updated"),
            (
                1,
                "no lesson with that id, or nothing to update; nothing changed",
            ),
            (2, "a value outside the allowed ones"),
        ],
    ),
];

/// What `path` (e.g. `"upgrade verdict"`, `""` for `afk` itself) says.
fn says(path: &str) -> Option<Says> {
    if path.is_empty() {
        return None;
    }
    Some(
        PER_COMMAND
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(COMMAND, |(_, s)| *s),
    )
}

/// The `Exit status:` block of `path`'s long help (`""`: afk's own, every
/// code), ending in a blank line.
pub fn help_block(path: &str) -> String {
    let mut out = String::from("Exit status:\n");
    match says(path) {
        None => {
            for c in TABLE {
                out.push_str(&item(c.code, c.short));
            }
            out.push_str("  The one table: docs/exit-codes.md\n");
        }
        Some(s) => {
            for (code, text) in s {
                out.push_str(&item(*code, text));
            }
            out.push_str("  (every code: docs/exit-codes.md)\n");
        }
    }
    out.push('\n');
    out
}

/// `  <code>  <text>`, wrapped under the text at 80 columns.
fn item(code: u8, text: &str) -> String {
    const WIDTH: usize = 80;
    let head = format!("  {code:<4} ");
    let indent = " ".repeat(head.len());
    let mut out = head.clone();
    let mut col = head.len();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 && col + 1 + word.len() > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            col = indent.len();
        } else if i > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.len();
    }
    out.push('\n');
    out
}

/// The table of `docs/exit-codes.md` (its test holds the page to it).
#[cfg(test)]
fn markdown_table() -> String {
    let mut out = String::from("| code | meaning | who returns it |\n|---|---|---|\n");
    for c in TABLE {
        out.push_str(&format!("| {} | {} | {} |\n", c.code, c.meaning, c.who));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_a_command_names_is_in_the_one_table() {
        for (path, s) in PER_COMMAND.iter().chain([("(default)", COMMAND)].iter()) {
            for (code, _) in s.iter() {
                assert!(
                    TABLE.iter().any(|c| c.code == *code),
                    "{path} names exit {code}, which is not in TABLE"
                );
            }
        }
    }

    #[test]
    fn docs_exit_codes_md_holds_the_table_made_from_the_code() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/exit-codes.md"),
        )
        .unwrap();
        assert!(
            doc.contains(&markdown_table()),
            "docs/exit-codes.md's table differs from src/exit_status.rs; put this in it:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn a_help_block_wraps_under_its_text_and_names_the_table() {
        let cases: &[(&str, &[&str])] = &[
            (
                "",
                &["Exit status:\n  0    ran", "  141  stdout", "The one table"],
            ),
            (
                "poll",
                &[
                    "  5    the tick reached",
                    "  6    a bug in afk",
                    "  143  SIGTERM",
                ],
            ),
            (
                "template list",
                &[
                    "  0    done\n",
                    "  6    a bug in afk",
                    "every code: docs/exit-codes.md",
                ],
            ),
            ("upgrade verdict", &["  3    PENDING\n"]),
        ];
        for (path, wants) in cases {
            let b = help_block(path);
            for want in *wants {
                assert!(b.contains(want), "{path:?}: {want:?} not in {b}");
            }
            assert!(b.lines().all(|l| l.len() <= 80), "{path:?}: {b}");
            assert!(b.ends_with("\n\n"), "{path:?}");
        }
    }
}
