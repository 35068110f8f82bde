//! The forge token's one way into git: `GIT_ASKPASS`, a script in the work
//! dir (holding no secret) that answers only prompts for the forge's own
//! origin and reads the password from a sealed memfd only that git call
//! inherits ([`SecretFd`]). Never an argument, a remote URL, a
//! `.git/config` or a child's environment. (Written and handed to git by
//! `run.rs`.)

use anyhow::{Context, Result};
use std::io::Write;

/// The askpass script. git prompts `Username for '<scheme>://<host>': ` and
/// `Password for '<scheme>://<user>@<host>': `; the script answers only when
/// that is the forge's own origin (`AFK_GIT_ORIGIN`, afk's username in
/// `AFK_GIT_USERNAME`): the username, or the token read from the descriptor
/// `AFK_GIT_SECRET_FD` it inherited. Anything else (a redirect to another
/// host) is refused.
pub(crate) const ASKPASS: &str = r#"#!/bin/sh
# afk: hands git the forge credentials for the forge's own host only. It holds no
# secret: the token is in a sealed memfd only this git call inherited.
o="$AFK_GIT_ORIGIN"
case "$1" in
  "Username for '$o': ") printf '%s\n' "$AFK_GIT_USERNAME" ;;
  "Password for '${o%%://*}://$AFK_GIT_USERNAME@${o#*://}': ") case "$AFK_GIT_SECRET_FD" in *[!0-9]*|"") exit 1 ;; esac; cat "/proc/self/fd/$AFK_GIT_SECRET_FD" ;;
  *) echo "afk askpass: answers only for $o" >&2; exit 1 ;;
esac
"#;

/// The environment variables the askpass script reads (never inherited).
pub(crate) const ASKPASS_ENV: [&str; 4] = [
    "AFK_GIT_ORIGIN",
    "AFK_GIT_USERNAME",
    "AFK_GIT_SECRET_FD",
    "AFK_GIT_PASSWORD",
];

/// `<scheme>://<host>[:<port>]` of an http(s) URL, as git names it in its
/// credential prompts (any `user@` left out); None for anything else.
pub fn credential_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit('@').next().unwrap_or("");
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The password of one git call, in a sealed anonymous memory file (memfd)
/// that no path names: only the git call it is handed to inherits it (its
/// descriptor is close-on-exec everywhere else), and askpass reads it
/// through that descriptor. No other process of afk's user can open it by a
/// name, as it could a file (and no agent of a turn left running could
/// watch for one).
pub(crate) struct SecretFd(std::os::fd::OwnedFd);

impl SecretFd {
    pub(crate) fn create(secret: &str) -> Result<SecretFd> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: memfd_create(2) with a NUL-terminated name; the descriptor
        // it returns is owned here from now on.
        let fd = unsafe {
            libc::memfd_create(
                c"afk-git-secret".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error())
                .context("git: cannot make the secret's memfd");
        }
        // SAFETY: fd is a fresh descriptor nothing else owns.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let mut f = std::fs::File::from(owned);
        f.write_all(secret.as_bytes())
            .context("git: cannot write the secret's memfd")?;
        // sealed: nobody who gets the descriptor can change the secret
        // SAFETY: fcntl(2) on our own descriptor.
        unsafe {
            libc::fcntl(
                f.as_raw_fd(),
                libc::F_ADD_SEALS,
                libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL,
            );
        }
        Ok(SecretFd(f.into()))
    }

    pub(crate) fn raw(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

/// What an authenticated git call is given: the origin askpass answers for
/// and the file holding the password.
pub(crate) struct Auth {
    pub(crate) origin: String,
    /// askpass's password; None when the credential is a header
    pub(crate) secret: Option<SecretFd>,
    /// the call's URL, which a header credential is scoped to
    pub(crate) scope: String,
}

/// HTTP credentials for the mirror; `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    /// the forge token (what the workspace's scan looks for in a turn)
    pub password: String,
    /// Instead of askpass, the whole `Authorization` header git sends to
    /// the call's URL (Azure DevOps's `Basic` of `:` + a PAT, or `Bearer`
    /// and an Entra token), handed to that one git call as
    /// `http.<url>.extraHeader` through `GIT_CONFIG_COUNT`/`_KEY_0`/
    /// `_VALUE_0` in its environment: never an argument, a URL or a file.
    pub header: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The askpass script run as git runs it: (prompt) → its answer, or None
    /// when it refuses (exit status not 0).
    fn ask(prompt: &str, secret: &SecretFd) -> Option<String> {
        let fd = secret.raw();
        let mut c = Command::new("sh");
        c.args(["-c", ASKPASS, "askpass", prompt])
            .env("AFK_GIT_ORIGIN", "http://127.0.0.1:3000")
            .env("AFK_GIT_USERNAME", "afk-bot")
            .env("AFK_GIT_SECRET_FD", fd.to_string());
        use std::os::unix::process::CommandExt;
        // SAFETY: as in `Git::cmd`: the descriptor survives this exec only
        unsafe {
            c.pre_exec(move || {
                libc::fcntl(fd, libc::F_SETFD, 0);
                Ok(())
            });
        }
        let out = c.output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }

    #[test]
    fn askpass_answers_only_for_the_forges_own_host() {
        let secret = SecretFd::create("s3cret").unwrap();
        let cases = [
            ("Username for 'http://127.0.0.1:3000': ", Some("afk-bot\n")),
            (
                "Password for 'http://afk-bot@127.0.0.1:3000': ",
                Some("s3cret"),
            ),
            // another host, port, scheme or user: a redirect, never answered
            ("Username for 'http://127.0.0.3:3000': ", None),
            ("Password for 'http://afk-bot@127.0.0.3:3000': ", None),
            ("Password for 'http://afk-bot@127.0.0.1:30000': ", None),
            ("Password for 'https://afk-bot@127.0.0.1:3000': ", None),
            ("Password for 'http://mallory@127.0.0.1:3000': ", None),
            (
                "Password for 'http://afk-bot@127.0.0.1:3000.evil.example': ",
                None,
            ),
            (
                "Password for 'http://afk-bot@evil.example/http://127.0.0.1:3000': ",
                None,
            ),
            ("Password: ", None),
            ("xPassword for 'http://afk-bot@127.0.0.1:3000': ", None),
        ];
        for (prompt, want) in cases {
            assert_eq!(ask(prompt, &secret).as_deref(), want, "case {prompt}");
        }
        assert!(!ASKPASS.contains("s3cret"), "the script holds no secret");
        // another process (without the inherited descriptor) reads nothing
        let out = Command::new("sh")
            .args([
                "-c",
                ASKPASS,
                "askpass",
                "Password for 'http://afk-bot@127.0.0.1:3000': ",
            ])
            .env("AFK_GIT_ORIGIN", "http://127.0.0.1:3000")
            .env("AFK_GIT_USERNAME", "afk-bot")
            .env("AFK_GIT_SECRET_FD", secret.raw().to_string())
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("s3cret"),
            "only the call handed the descriptor reads it"
        );
    }

    #[test]
    fn the_credential_origin_is_scheme_and_host_of_http_urls_only() {
        let cases = [
            (
                "http://127.0.0.1:3000/maint/nginx.git",
                Some("http://127.0.0.1:3000"),
            ),
            (
                "https://git.example.org/a/b.git",
                Some("https://git.example.org"),
            ),
            (
                "https://afk@git.example.org/a/b.git",
                Some("https://git.example.org"),
            ),
            ("https://[::1]:8443/a.git", Some("https://[::1]:8443")),
            ("file:///srv/git/a.git", None),
            ("/srv/git/a.git", None),
            ("https:///a.git", None),
            ("https://git.example.org'/a.git", None),
        ];
        for (url, want) in cases {
            assert_eq!(credential_origin(url).as_deref(), want, "case {url}");
        }
    }
}
