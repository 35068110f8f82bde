//! afk's own commits: the identity they are made with and the trailer that
//! tells them from a fixer's or a person's.

/// The identity of afk's commits.
pub const AFK_NAME: &str = "afk";
pub const AFK_EMAIL: &str = "afk@afk.invalid";
/// The trailer every upgrade commit of afk carries: `Afk-Upgrade: <recipe> <image> <tag>`.
pub const TRAILER: &str = "Afk-Upgrade";

/// Whether a commit was made by afk: afk's committer address and the
/// `Afk-Upgrade:` trailer in its message (a fixer's or a person's commit has
/// neither, so afk never pushes over it).
pub fn made_by_afk(committer_email: &str, message: &str) -> bool {
    committer_email.eq_ignore_ascii_case(AFK_EMAIL)
        && message
            .lines()
            .any(|l| l.strip_prefix(TRAILER).is_some_and(|r| r.starts_with(": ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_afks_identity_with_its_trailer_is_afks() {
        let msg = "Upgrade nginx 1.25.3 → 1.26.0\n\nAfk-Upgrade: nginx library/nginx 1.26.0\n";
        let cases = [
            (AFK_EMAIL, msg, true),
            ("AFK@AFK.INVALID", msg, true),
            ("agent@afk.invalid", msg, false),
            (AFK_EMAIL, "Fix the test\n", false),
            (AFK_EMAIL, "mentions Afk-Upgrade:x in passing\n", false),
            ("", "", false),
        ];
        for (email, message, want) in cases {
            assert_eq!(
                made_by_afk(email, message),
                want,
                "case {email} {message:?}"
            );
        }
    }
}
