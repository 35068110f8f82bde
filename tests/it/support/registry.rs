//! A real registry for tests: Debian's `docker-registry` (distribution 2.8)
//! on 127.0.0.1 with a free port and a scratch storage directory, and tags
//! pushed over its HTTP API (an OCI config blob and one manifest per tag).

use super::Scratch;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(10);

fn docker_registry_bin() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("docker-registry"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "docker-registry is not installed: these tests need a real registry. \
             Install it with `apt-get install -y docker-registry` (Debian's distribution 2.8; \
             .ci/run installs it)"
        )
    })
}

/// `docker-registry serve` on 127.0.0.1, storage in a scratch directory, no auth; killed on drop.
pub struct RealRegistry {
    child: Child,
    _scratch: Scratch,
    pub url: String,
    agent: ureq::Agent,
}

impl RealRegistry {
    pub fn start() -> RealRegistry {
        let bin = docker_registry_bin();
        let scratch = Scratch::new();
        let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
        // The port is free when we look; another process may take it before the
        // registry binds it, so a registry that exits at once is started again.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = scratch.write(
                "config.yml",
                &format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                     http:\n  addr: 127.0.0.1:{port}\n",
                    scratch.path("data").display()
                ),
            );
            let log = std::fs::File::create(scratch.path("registry.log")).unwrap();
            let mut child = Command::new(&bin)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
            let url = format!("http://127.0.0.1:{port}");
            if ready(&mut child, &agent, &url) {
                return RealRegistry {
                    child,
                    _scratch: scratch,
                    url,
                    agent,
                };
            }
            let _ = child.wait();
            let log = std::fs::read_to_string(scratch.path("registry.log")).unwrap_or_default();
            assert!(
                log.contains("address already in use"),
                "docker-registry did not come up:\n{log}"
            );
        }
        panic!("docker-registry could not bind a free port in 3 attempts");
    }

    pub fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Push `tags` of `repo` over the registry API: one OCI config blob, then
    /// one OCI image manifest (no layers) per tag.
    pub fn push(&self, repo: &str, tags: &[String]) {
        self.push_image(repo, tags, None, false);
    }

    /// Upload one blob; its digest.
    fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        let start = self
            .agent
            .post(&format!("{}/v2/{repo}/blobs/uploads/", self.url))
            .call()
            .unwrap_or_else(|e| panic!("start upload to {repo}: {e}"));
        assert_eq!(start.status(), 202);
        let location = start.header("Location").expect("an upload location");
        let location = if location.starts_with('/') {
            format!("{}{location}", self.url)
        } else {
            location.to_string()
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self
            .agent
            .put(&format!("{location}{sep}digest={digest}"))
            .set("Content-Type", "application/octet-stream")
            .send_bytes(bytes)
            .unwrap_or_else(|e| panic!("upload a blob of {repo}: {e}"));
        assert_eq!(put.status(), 201);
        digest
    }

    /// PUT a manifest under `reference` (a tag or its own digest).
    fn manifest(&self, repo: &str, reference: &str, media_type: &str, body: &str) {
        let r = self
            .agent
            .put(&format!("{}/v2/{repo}/manifests/{reference}", self.url))
            .set("Content-Type", media_type)
            .send_string(body)
            .unwrap_or_else(|e| panic!("push {repo}:{reference}: {e}"));
        assert_eq!(r.status(), 201, "push {repo}:{reference}");
    }

    /// Push `tags` of `repo` whose config says `created` (or nothing), each an
    /// image manifest, or with `index` an OCI index of a `linux/arm64` and a
    /// `linux/amd64` manifest (the arm64 one with no `created`).
    pub fn push_image(&self, repo: &str, tags: &[String], created: Option<&str>, index: bool) {
        const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
        let image_manifest = |arch: &str, created: Option<&str>| {
            let mut config = json!({"architecture": arch, "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []}});
            if let Some(c) = created {
                config["created"] = json!(c);
            }
            let config = config.to_string();
            let digest = self.blob(repo, config.as_bytes());
            json!({
                "schemaVersion": 2,
                "mediaType": IMAGE,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": digest,
                    "size": config.len(),
                },
                "layers": [],
            })
            .to_string()
        };
        let amd64 = image_manifest("amd64", created);
        if !index {
            for tag in tags {
                self.manifest(repo, tag, IMAGE, &amd64);
            }
            return;
        }
        let arm64 = image_manifest("arm64", None);
        let mut entries = vec![];
        for (arch, m) in [("arm64", &arm64), ("amd64", &amd64)] {
            let d = format!("sha256:{:x}", Sha256::digest(m.as_bytes()));
            self.manifest(repo, &d, IMAGE, m);
            entries.push(json!({"mediaType": IMAGE, "digest": d, "size": m.len(),
                "platform": {"os": "linux", "architecture": arch}}));
        }
        const INDEX: &str = "application/vnd.oci.image.index.v1+json";
        let index =
            json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}).to_string();
        for tag in tags {
            self.manifest(repo, tag, INDEX, &index);
        }
    }
}

/// Readiness probe: `GET /v2/` until it answers 200, a bounded number of
/// times; false when the registry exited (it is then reaped by the caller).
fn ready(child: &mut Child, agent: &ureq::Agent, url: &str) -> bool {
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if let Ok(r) = agent.get(&format!("{url}/v2/")).call()
            && r.status() == 200
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("docker-registry at {url} did not answer GET /v2/ in time");
}

impl Drop for RealRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
