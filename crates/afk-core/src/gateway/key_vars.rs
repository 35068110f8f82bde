//! The variables a boxed agent loses because they hold the model's key
//! (nothing in the box carries the key). The named ones (the
//! agent's key and base-URL variables, `key_env`) are always unset; afk's
//! environment may hold the same key under other names too (`afk sandbox
//! --model` prints it for Claude Code and for Codex's provider at once; an
//! operator's env file may keep a copy), and a box inherits every variable
//! it is not told to drop, so each variable whose value carries the key is
//! dropped as well, whatever its name.

/// A key shorter than this is only matched whole (a short value would be
/// found inside unrelated ones).
pub(crate) const MIN_INSIDE: usize = 8;

/// The names among `vars` (name, value) whose value carries `key`: equal
/// to it, or holding it (`Bearer <key>`, a URL with it) when it is at least
/// [`MIN_INSIDE`] characters; none for an empty key.
pub fn holding_key<'a>(
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    key: &str,
) -> Vec<String> {
    let key = key.trim();
    if key.is_empty() {
        return vec![];
    }
    vars.into_iter()
        .filter(|(_, v)| {
            let v = v.trim();
            v == key || (key.len() >= MIN_INSIDE && v.contains(key))
        })
        .map(|(n, _)| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_carrying_the_key_is_dropped_whatever_its_name() {
        let key = "sk-ant-0123456789";
        // (why, afk's environment, the key, the names dropped)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a [&'a str]);
        let cases: [Case; 6] = [
            (
                "the same key under another name",
                &[("AFK_MODEL_KEY", key), ("PATH", "/usr/bin")],
                key,
                &["AFK_MODEL_KEY"],
            ),
            (
                "inside another value",
                &[("AUTH", "Bearer sk-ant-0123456789"), ("HOME", "/root")],
                key,
                &["AUTH"],
            ),
            (
                "with spaces around it",
                &[("K", " sk-ant-0123456789\n")],
                key,
                &["K"],
            ),
            (
                "nothing holds it",
                &[("PATH", "/usr/bin"), ("K", "sk-ant-other")],
                key,
                &[],
            ),
            (
                "no key: nothing",
                &[("EMPTY", ""), ("PATH", "/usr/bin")],
                "  ",
                &[],
            ),
            (
                "a short key only whole",
                &[("A", "abc"), ("B", "xabcx")],
                "abc",
                &["A"],
            ),
        ];
        for (why, vars, key, want) in cases {
            assert_eq!(holding_key(vars.iter().copied(), key), want, "{why}");
        }
    }
}
