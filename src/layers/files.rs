//! What afk writes to files (docs/security.md#nothing-afk-writes-carries-a-secret):
//! no file is opened for writing but by the few modules whose files these
//! are, and each of those that writes text from outside (the status page,
//! the metrics file) writes it through the redaction. A raw write elsewhere
//! (a `fs::write` of a forge's text into a report file) would carry a secret
//! afk holds past every sink.

use super::production_lines;
use super::sinks::{production_files, raw_in};

/// A file opened or made for writing by hand.
fn raw_write(line: &str) -> bool {
    [
        "fs::write(",
        "File::create(",
        "File::options(",
        ".write(true)",
        ".append(true)",
    ]
    .iter()
    .any(|w| line.contains(w))
}

/// What an allowed writer writes.
#[derive(PartialEq)]
enum Writes {
    /// text others read that may carry outside text: through `redact::text`
    Redacted,
    /// afk's own bytes (locks, scripts, afk's own configs, records it
    /// composed), or a file handed to someone else to write (an agent's log)
    Own,
}

/// The modules that write files themselves (a folder's files by its
/// prefix), and why that is safe. Kept short: a new writer goes through one
/// of these, never a `fs::write` of its own.
const WRITERS: [(&str, Writes, &str); 13] = [
    (
        "src/metrics.rs",
        Writes::Redacted,
        "replace_file, the atomic writer of the metrics file and the status page (which others read: node_exporter, a web server)",
    ),
    (
        "crates/afk-host/src/private_files.rs",
        Writes::Own,
        "private_write (0600): run records, prompts, cursors, the box's spec, each composed by its caller and read by afk or its agent alone",
    ),
    (
        "crates/afk-store/src/lib.rs",
        Writes::Own,
        "the new state file, created empty (0600) and never truncated: SQLite writes it",
    ),
    (
        "src/lock.rs",
        Writes::Own,
        "the ticks' lock files: no content",
    ),
    (
        "crates/afk-git/",
        Writes::Own,
        "git's askpass script, the checkout's config afk writes for the agent, the cache's lock",
    ),
    (
        "src/runner/",
        Writes::Own,
        "an agent's log and progress files, opened for the agent's own output (the command runner's is its stdout; the Kubernetes runner mirrors the pod's log the same way), and the box's id maps and env files; what afk shows of them is redacted where it is shown",
    ),
    (
        "src/workspace_pod.rs",
        Writes::Own,
        "the Job's git container's termination message: afk's own words of what it forwarded, read back by the tick",
    ),
    (
        "src/edges/files.rs",
        Writes::Own,
        "init's starter config and man --dir's pages: afk's own text",
    ),
    (
        "src/commands/doctor/local.rs",
        Writes::Own,
        "the probe file doctor writes and removes to see a folder is writable",
    ),
    (
        "src/commands/demo/",
        Writes::Own,
        "the demo's worlds: its configs and recipes (the sandbox's made-up token, never afk's)",
    ),
    (
        "src/events.rs",
        Writes::Own,
        "a repository's due flag: afk's own lines (a delivery id, a body's digest, a time), appended by the events a burst folds",
    ),
    (
        "src/ops/session_ack.rs",
        Writes::Own,
        "an agent session's flag: an empty file named by the session and its issue, made once (`create_new`)",
    ),
    (
        "src/example.rs",
        Writes::Own,
        "the demo's scripted agent, public text, for the demo and `sandbox --example`",
    ),
];

/// Where `file` may write, if anywhere.
fn writer_of(file: &str) -> Option<&'static (&'static str, Writes, &'static str)> {
    WRITERS.iter().find(|(w, ..)| {
        if w.ends_with('/') {
            file.starts_with(w)
        } else {
            file == *w
        }
    })
}

/// Every file afk writes is written by a listed writer: no other file opens
/// one for writing, and the writers of text others read redact it.
#[test]
fn no_file_is_written_but_by_a_listed_writer_and_text_others_read_is_redacted() {
    let mut wrong = vec![];
    for (file, lines) in production_files() {
        let writes = raw_in(&file, &lines, raw_write);
        match writer_of(&file) {
            None => wrong.extend(writes),
            Some((_, Writes::Redacted, _)) => {
                let code: String = lines.iter().map(|(_, l)| l.as_str()).collect();
                if !code.contains("redact::text(") {
                    wrong.push(format!(
                        "{file}: writes text others read, none through redact::text"
                    ));
                }
            }
            Some((_, Writes::Own, _)) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "a file written outside the listed writers (metrics::replace_file for text others read, private_files::private_write for a run's own files):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_file_rule_sees_each_way_of_writing_a_file_and_skips_tests() {
    let code = "fn f() {\n    std::fs::write(p, body)?;\n    let f = File::create(p)?;\n    let g = std::fs::OpenOptions::new()\n        .append(true)\n        .open(p)?;\n    let h = OpenOptions::new().read(true).open(p)?;\n    let r = std::fs::read_to_string(p)?;\n}\n#[cfg(test)]\nmod tests {\n    fn t() { std::fs::write(p, \"x\").unwrap(); }\n}\n";
    let lines = production_lines(code);
    assert_eq!(
        raw_in("f.rs", &lines, raw_write),
        [
            "f.rs:2: std::fs::write(p, body)?;",
            "f.rs:3: let f = File::create(p)?;",
            "f.rs:5: .append(true)",
        ]
    );
    assert!(writer_of("src/commands/poll/report.rs").is_none());
    assert!(writer_of("src/runner/command.rs").is_some());
    assert!(writer_of("src/metrics.rs.bak").is_none());
}
