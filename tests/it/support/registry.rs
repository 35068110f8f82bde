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
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let digest = format!("sha256:{:x}", Sha256::digest(config));
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
            .send_bytes(config)
            .unwrap_or_else(|e| panic!("upload the config blob of {repo}: {e}"));
        assert_eq!(put.status(), 201);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest,
                "size": config.len(),
            },
            "layers": [],
        })
        .to_string();
        for tag in tags {
            let r = self
                .agent
                .put(&format!("{}/v2/{repo}/manifests/{tag}", self.url))
                .set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .send_string(&manifest)
                .unwrap_or_else(|e| panic!("push {repo}:{tag}: {e}"));
            assert_eq!(r.status(), 201, "push {repo}:{tag}");
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
