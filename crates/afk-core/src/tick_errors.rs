//! A tick's errors as the operator reads them: a configuration mistake (a
//! refused connection, an unknown host, a refused token) fails every call the
//! same way, so it is one error for the tick, not one per repository.

/// Items sharing a cause (`Some`) become the first of them, with how many
/// there were; items without one stay as they are, in order.
pub fn one_per_cause<T>(items: Vec<T>, cause: impl Fn(&T) -> Option<String>) -> Vec<(T, usize)> {
    let mut out: Vec<(T, usize, Option<String>)> = vec![];
    for item in items {
        let c = cause(&item);
        if let Some(c) = &c
            && let Some(first) = out.iter_mut().find(|(_, _, k)| k.as_ref() == Some(c))
        {
            first.1 += 1;
            continue;
        }
        out.push((item, 1, c));
    }
    out.into_iter().map(|(t, n, _)| (t, n)).collect()
}

/// The one line for `n` calls that failed of the same cause.
pub fn merged_message(cause: &str, n: usize) -> String {
    if n > 1 {
        format!("{cause} ({n} calls this tick failed the same way)")
    } else {
        cause.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_cause_is_one_error_and_the_rest_stay() {
        let items = vec![
            ("a", Some("refused")),
            ("b", None),
            ("c", Some("refused")),
            ("d", Some("401")),
            ("e", None),
            ("f", Some("refused")),
        ];
        let got = one_per_cause(items, |i| i.1.map(str::to_string));
        let names: Vec<(&str, usize)> = got.iter().map(|(i, n)| (i.0, *n)).collect();
        assert_eq!(names, vec![("a", 3), ("b", 1), ("d", 1), ("e", 1)]);
        assert_eq!(merged_message("x", 1), "x");
        assert_eq!(
            merged_message("x", 3),
            "x (3 calls this tick failed the same way)"
        );
    }
}
