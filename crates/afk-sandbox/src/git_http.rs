//! Git's smart HTTP protocol over the sandbox's bare repositories, served by
//! the real `git http-backend` (CGI) at `<url>/<owner>/<repo>.git`. Fetching is
//! anonymous, as from a public repository; pushing needs HTTP basic auth whose
//! password is the forge token, as Gitea asks for it (GitLab's `oauth2:<token>`
//! is one such: the user is not checked), so a client that pushes
//! here proves it can hand git the token without writing it anywhere. A test
//! can make every git request answer with a redirect to another host
//! (`/_admin/git_redirect`), as a hostile forge or proxy would. A push to a
//! repository with a CI command (`ci_run`) starts its runs before it is
//! answered.

use super::err;
use super::http::{Reply, Request, base64_decode};
use super::model::Forge;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// `/<owner>/<repo>.git/<rest>` → (`owner/repo`, `rest`), for git's paths
/// only; a GitLab project's full path nests (`/group/sub/project.git/...`).
pub(super) fn route(path: &str) -> Option<(String, String)> {
    let p = path.strip_prefix('/')?;
    let (name, rest) = p.split_once(".git/")?;
    let known = ["info/refs", "git-upload-pack", "git-receive-pack"];
    let segments: Vec<&str> = name.split('/').collect();
    let fine = segments.len() >= 2
        && segments
            .iter()
            .all(|s| !s.is_empty() && *s != "." && *s != "..");
    (fine && known.contains(&rest)).then(|| (name.to_string(), rest.to_string()))
}

/// Answer one git request; the forge is locked only to look the repo up.
pub(super) fn serve(st: &Arc<Mutex<Forge>>, req: &Request, repo: &str, rest: &str) -> Reply {
    let (git_dir, (token, push_token), exists, redirect, app_password, ci) = {
        let f = st.lock().unwrap();
        // a GitHub App's installation token, as the password of `x-access-token`
        let app_password = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64_decode(b.trim()))
            .and_then(|up| {
                let (u, p) = up.split_once(':')?;
                (u == "x-access-token" && super::routes::github::app::live_token(&f, p))
                    .then(|| u.to_string())
            });
        let redirect = f.git_redirect.clone();
        (
            f.git_dir(repo),
            (f.token.clone(), f.push_token.clone()),
            f.repos.contains_key(repo),
            redirect,
            app_password,
            f.ci_watches(repo) || f.outbox.on(),
        )
    };
    if let Some(to) = redirect {
        let query = if req.raw_query.is_empty() {
            String::new()
        } else {
            format!("?{}", req.raw_query)
        };
        let to = format!("{}{}{query}", to.trim_end_matches('/'), req.path);
        return err(302, "moved").with_header("Location", &to);
    }
    if !exists || !git_dir.join("HEAD").exists() {
        return err(404, "repository does not exist");
    }
    let push = rest == "git-receive-pack" || req.q("service") == Some("git-receive-pack");
    let user = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|up| {
            let (u, p) = up.split_once(':')?;
            (p == token || p == push_token).then(|| u.to_string())
        })
        .or(app_password);
    if push && user.is_none() {
        return err(401, "push needs the forge token as the password")
            .with_header("WWW-Authenticate", "Basic realm=\"afk sandbox\"");
    }
    // every repository lives at `<root>/<full name>.git`, however deep
    let depth = repo.split('/').count();
    let Some(root) = git_dir.ancestors().nth(depth) else {
        return err(500, "no project root");
    };
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("PATH_INFO", format!("/{repo}.git/{rest}"))
        .env("REQUEST_METHOD", &req.method)
        .env("QUERY_STRING", &req.raw_query)
        .env("CONTENT_LENGTH", req.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (var, header) in [
        ("CONTENT_TYPE", "content-type"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
        ("GIT_PROTOCOL", "git-protocol"),
    ] {
        if let Some(v) = req.header(header) {
            cmd.env(var, v);
        }
    }
    if let Some(u) = &user {
        // an Azure DevOps PAT goes with an empty user name, and git's
        // backend takes a push only from a named `REMOTE_USER`
        cmd.env("REMOTE_USER", if u.is_empty() { "pat" } else { u.as_str() });
    }
    // the branches a push moved, read around it when CI watches the repo
    let before =
        (ci && push && req.method == "POST").then(|| super::ci_run::branch_heads(&git_dir));
    let Ok(mut child) = cmd.spawn() else {
        return err(500, "cannot run git http-backend");
    };
    let mut stdin = child.stdin.take().expect("piped");
    let body = req.body.clone();
    // write on another thread: the backend may answer before reading everything
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let out = child.wait_with_output();
    let _ = writer.join();
    if let Some(before) = before {
        let after = super::ci_run::branch_heads(&git_dir);
        let mut f = st.lock().unwrap();
        for (branch, sha) in after.iter().filter(|b| !before.contains(b)) {
            f.ci_pushed(repo, branch, sha);
            let old = before.iter().find(|(b, _)| b == branch);
            f.webhook(super::webhooks::Event::Push {
                repo: repo.to_string(),
                branch: branch.clone(),
                before: old.map_or_else(|| "0".repeat(40), |(_, s)| s.clone()),
                after: sha.clone(),
            });
        }
    }
    match out {
        Ok(o) => cgi_reply(&o.stdout),
        Err(_) => err(500, "git http-backend failed"),
    }
}

/// A CGI answer (headers, a blank line, the body) as an HTTP reply.
fn cgi_reply(out: &[u8]) -> Reply {
    let (head_end, body_start) = match find(out, b"\r\n\r\n") {
        Some(i) => (i, i + 4),
        None => match find(out, b"\n\n") {
            Some(i) => (i, i + 2),
            None => return err(500, "git http-backend gave no headers"),
        },
    };
    let head = String::from_utf8_lossy(&out[..head_end]);
    let mut status = 200;
    let mut headers = vec![];
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            status = v
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(500);
        } else {
            headers.push((k.trim().to_string(), v.to_string()));
        }
    }
    Reply::Send {
        status,
        headers,
        body: out[body_start..].to_vec(),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_paths_route_and_nothing_else_does() {
        let cases = [
            ("/acme/app.git/info/refs", Some(("acme/app", "info/refs"))),
            (
                "/acme/app.git/git-receive-pack",
                Some(("acme/app", "git-receive-pack")),
            ),
            ("/acme/app.git/objects/info/packs", None),
            ("/api/v1/repos/acme/app", None),
            // a GitLab project in a subgroup
            ("/a/b/c.git/info/refs", Some(("a/b/c", "info/refs"))),
            ("/a/../c.git/info/refs", None),
            ("/c.git/info/refs", None),
        ];
        for (path, want) in cases {
            let got = route(path);
            let want = want.map(|(a, b)| (a.to_string(), b.to_string()));
            assert_eq!(got, want, "case {path}");
        }
    }
}
