//! A pod of the sandbox's cluster: its containers as LOCAL PROCESSES, run
//! as Kubernetes runs them — init containers one after another, each to its
//! end, then the main container; an init container that fails fails the pod
//! (`restartPolicy: Never`), and no later container starts. Volumes are
//! local folders (`emptyDir`; `configMap` and `secret` written as the
//! kubelet's atomic writer writes them, keys as links through `..data`:
//! `kube_volume`), and
//! every path a container is given under a mount (its command's arguments,
//! its environment's values, `workingDir`, `terminationMessagePath`) is
//! rewritten to the folder of that mount. A container's termination message
//! is read (at most 4096 bytes, as the kubelet does) when it exits.
//!
//! A local process sees every folder, so the sandbox shows what each
//! container is GIVEN (its mounts, its environment), not an isolation; but
//! it runs as the user its spec names, and its volumes' files are owned and
//! moded as a kubelet makes them (`kube_user`), so what that user may not
//! read fails here as on a cluster. A container's `httpGet` liveness probe
//! is run as the kubelet runs it (`kube_probe`): its failure ends the
//! container, and under `restartPolicy: Never` the pod fails.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

pub(super) type Log = Arc<Mutex<Vec<(OffsetDateTime, String)>>>;

/// What Kubernetes keeps of a termination message.
const MESSAGE_MAX: u64 = 4096;

pub(super) struct Proc {
    pub pid: i32,
    pub log: Log,
    pub exit: Arc<Mutex<Option<i32>>>,
    pub started: OffsetDateTime,
    pub finished: Arc<Mutex<Option<OffsetDateTime>>>,
    /// where its termination message is written (local)
    message_file: PathBuf,
}

/// One container of the pod, in the order it runs.
pub(super) struct Ctr {
    pub name: String,
    pub init: bool,
    /// a native sidecar (an init container with `restartPolicy: Always`):
    /// the next container starts once it has started, it counts for no
    /// pod's end, and it is ended (SIGTERM) once the main container ended
    pub sidecar: bool,
    /// a sidecar sent its SIGTERM
    pub ended: bool,
    /// a sidecar's `startupProbe` (an `exec` one) succeeded: only then do
    /// the containers after it start, as the kubelet does
    pub ready: bool,
    pub spec: Value,
    pub proc: Option<Proc>,
    /// waiting reason and message (an image that cannot be pulled)
    pub waiting: Option<(String, String)>,
}

impl Ctr {
    pub fn exit(&self) -> Option<i32> {
        self.proc.as_ref().and_then(|p| *p.exit.lock().unwrap())
    }
}

pub(super) struct Pod {
    pub obj: Value,
    pub job_uid: String,
    pub ctrs: Vec<Ctr>,
}

/// What a pod needs from the cluster to start its next container.
pub(super) struct World<'a> {
    pub config_maps: &'a BTreeMap<(String, String), Value>,
    pub secrets: &'a BTreeMap<String, BTreeMap<String, String>>,
    pub bad_images: &'a std::collections::BTreeSet<String>,
    pub dir: PathBuf,
    pub ns: &'a str,
}

impl Pod {
    pub fn new(obj: Value, job_uid: String) -> Pod {
        let spec = &obj["spec"];
        let list = |k: &str, init: bool| -> Vec<Ctr> {
            spec[k]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| Ctr {
                    name: c["name"].as_str().unwrap_or("").to_string(),
                    init,
                    sidecar: init && c["restartPolicy"] == "Always",
                    ended: false,
                    ready: c["startupProbe"]["exec"]["command"].as_array().is_none(),
                    spec: c.clone(),
                    proc: None,
                    waiting: None,
                })
                .collect()
        };
        let mut ctrs = list("initContainers", true);
        // one main container: what afk's Jobs have
        ctrs.extend(list("containers", false).into_iter().take(1));
        Pod { obj, job_uid, ctrs }
    }

    /// The container that has not ended yet, in order; None when the pod
    /// is over (all ended, or an init container failed).
    fn current(&self) -> Option<usize> {
        for (i, c) in self.ctrs.iter().enumerate() {
            if c.sidecar && c.proc.is_some() && c.ready {
                continue;
            }
            match c.exit() {
                None => return Some(i),
                Some(0) => continue,
                Some(_) if c.init => return None,
                Some(_) => continue,
            }
        }
        None
    }

    /// The pod's end: the first failing init container's exit code, else the
    /// main container's; None while it runs.
    pub fn exit(&self) -> Option<i32> {
        for c in self.ctrs.iter().filter(|c| !c.sidecar) {
            match c.exit() {
                None => return None,
                Some(code) if c.init && code != 0 => return Some(code),
                Some(code) if !c.init => return Some(code),
                Some(_) => {}
            }
        }
        None
    }

    pub fn pids(&self) -> Vec<i32> {
        self.ctrs
            .iter()
            .filter_map(|c| c.proc.as_ref().map(|p| p.pid))
            .collect()
    }

    /// The pod's other containers ended: its sidecars are sent SIGTERM,
    /// as the kubelet does, once each.
    fn end_sidecars(&mut self) {
        for c in self.ctrs.iter_mut().filter(|c| c.sidecar) {
            if let Some(p) = c.proc.as_ref().filter(|_| c.exit().is_none())
                && !c.ended
            {
                // SAFETY: kill(2) on the process group the sandbox started
                unsafe { libc::kill(-p.pid, libc::SIGTERM) };
                c.ended = true;
            }
        }
    }

    /// Start the next container when the one before it ended well and its
    /// volumes are there (a ConfigMap not created yet keeps it waiting).
    pub fn step(&mut self, w: &World) {
        if self.exit().is_some() {
            self.end_sidecars();
        }
        self.probe_sidecars();
        let Some(i) = self.current() else { return };
        if self.ctrs[i].proc.is_some() || self.ctrs[i].waiting.is_some() {
            return;
        }
        let image = self.ctrs[i].spec["image"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if w.bad_images.contains(&image) {
            self.ctrs[i].waiting = Some((
                "ImagePullBackOff".into(),
                format!("Back-off pulling image \"{image}\""),
            ));
            return;
        }
        let pod_dir = w
            .dir
            .join(w.ns)
            .join(self.obj["metadata"]["name"].as_str().unwrap_or("pod"));
        let Some(volumes) = self.volumes(w, &pod_dir) else {
            return;
        };
        let ns_dir = w.dir.join(w.ns);
        let vol_dir = pod_dir.join("volumes");
        let sandbox_dir = w.dir.parent().unwrap_or(&w.dir);
        super::kube_user::reachable(&[sandbox_dir, &w.dir, &ns_dir, &pod_dir, &vol_dir]);
        let ctr = &self.ctrs[i];
        let env_from: Vec<(String, String)> = ctr.spec["envFrom"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["secretRef"]["name"].as_str())
            .filter_map(|n| w.secrets.get(n))
            .flat_map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        let mounts: Vec<(String, PathBuf)> = ctr.spec["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let local = volumes.get(m["name"].as_str()?)?;
                Some((m["mountPath"].as_str()?.to_string(), local.clone()))
            })
            .collect();
        let run_as = super::kube_user::run_as(&self.obj["spec"], &ctr.spec);
        let started = spawn(
            &pod_dir,
            (&ctr.name, &ctr.spec, run_as.as_ref()),
            &mounts,
            &env_from,
        );
        let ctr = &mut self.ctrs[i];
        match started {
            Ok(p) => {
                // the kubelet probes its liveness while it runs
                super::kube_probe::watch(&self.obj["spec"], &ctr.spec, p.pid, p.exit.clone());
                ctr.proc = Some(p)
            }
            Err(e) => ctr.waiting = Some(("CreateContainerError".into(), e)),
        }
    }

    /// Run the `exec` startup probe of each running sidecar not started
    /// yet, in its environment (its spec's `env`; `afk` is this program):
    /// exit 0 starts it.
    fn probe_sidecars(&mut self) {
        for c in self.ctrs.iter_mut().filter(|c| c.sidecar && !c.ready) {
            if c.proc.is_none() || c.exit().is_some() {
                continue;
            }
            let argv: Vec<&str> = c.spec["startupProbe"]["exec"]["command"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let Some((prog, args)) = argv.split_first() else {
                continue;
            };
            let prog = match *prog {
                "afk" => std::env::current_exe().unwrap_or_else(|_| PathBuf::from("afk")),
                p => PathBuf::from(p),
            };
            let mut cmd = std::process::Command::new(prog);
            cmd.args(args)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            for e in c.spec["env"].as_array().into_iter().flatten() {
                cmd.env(
                    e["name"].as_str().unwrap_or(""),
                    e["value"].as_str().unwrap_or(""),
                );
            }
            c.ready = cmd.status().is_ok_and(|s| s.success());
        }
    }

    /// Each volume's local folder, made and filled; None while a ConfigMap
    /// it needs does not exist.
    fn volumes(&self, w: &World, pod_dir: &Path) -> Option<BTreeMap<String, PathBuf>> {
        use super::kube_user;
        let mut out = BTreeMap::new();
        let fs_group = self.obj["spec"]["securityContext"]["fsGroup"]
            .as_u64()
            .and_then(|g| u32::try_from(g).ok());
        let mode = |v: &Value| v.as_u64().and_then(|m| u32::try_from(m).ok());
        for v in self.obj["spec"]["volumes"].as_array().into_iter().flatten() {
            let name = v["name"].as_str().unwrap_or("").to_string();
            let dir = pod_dir.join("volumes").join(&name);
            let source = if v["configMap"].is_object() {
                &v["configMap"]
            } else {
                &v["secret"]
            };
            let data: BTreeMap<String, String> = if let Some(cm) = v["configMap"]["name"].as_str() {
                let data = &w.config_maps.get(&(w.ns.to_string(), cm.to_string()))?["data"];
                data.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            } else if let Some(s) = v["secret"]["secretName"].as_str() {
                // a Secret that does not exist: the kubelet waits; here, empty
                w.secrets.get(s).cloned().unwrap_or_default()
            } else {
                BTreeMap::new()
            };
            // (path, text, the item's own mode)
            let files: Vec<super::kube_volume::File> = match source["items"].as_array() {
                Some(items) => items
                    .iter()
                    .filter_map(|i| {
                        Some((
                            i["path"].as_str()?.to_string(),
                            data.get(i["key"].as_str()?)?.clone(),
                            mode(&i["mode"]),
                        ))
                    })
                    .collect(),
                None => data.into_iter().map(|(k, v)| (k, v, None)).collect(),
            };
            if !dir.exists() {
                std::fs::create_dir_all(&dir).ok()?;
                if v["emptyDir"].is_object() {
                    kube_user::empty_dir(&dir, fs_group);
                } else {
                    kube_user::own(&dir, 0o755, 0);
                }
                if v["configMap"].is_object() || v["secret"].is_object() {
                    let default_mode = mode(&source["defaultMode"]);
                    super::kube_volume::write(&dir, &files, default_mode, fs_group).ok()?;
                }
            }
            out.insert(name, dir);
        }
        Some(out)
    }
}

/// `path` as the container sees it, as the local folder it is: the longest
/// mount that holds it.
fn local(path: &str, mounts: &[(String, PathBuf)]) -> Option<PathBuf> {
    mounts
        .iter()
        .filter(|(mp, _)| path == mp || path.starts_with(&format!("{}/", mp.trim_end_matches('/'))))
        .max_by_key(|(mp, _)| mp.len())
        .map(|(mp, dir)| {
            let rest = path[mp.len()..].trim_start_matches('/');
            if rest.is_empty() {
                dir.clone()
            } else {
                dir.join(rest)
            }
        })
}

fn rewrite(v: &str, mounts: &[(String, PathBuf)]) -> String {
    local(v, mounts).map_or_else(|| v.to_string(), |p| p.to_string_lossy().into_owned())
}

/// Run one container's command as a local process, as the user its spec
/// names: stdout and stderr into its log, line by line. `afk` is this
/// program (the git containers of afk's workspace run afk's own image).
fn spawn(
    pod_dir: &Path,
    (name, spec, run_as): (&str, &Value, Option<&super::kube_user::RunAs>),
    mounts: &[(String, PathBuf)],
    env_from: &[(String, String)],
) -> Result<Proc, String> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(pod_dir).map_err(|e| e.to_string())?;
    // another user reaches the pod's folder, its home and the mounts in it
    super::kube_user::own(pod_dir, 0o755, 0);
    let argv: Vec<String> = spec["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(|a| rewrite(a, mounts)))
        .collect();
    let Some((prog, args)) = argv.split_first() else {
        return Err("no command".into());
    };
    let prog = match prog.as_str() {
        // by a descriptor of this very program: another user may not be
        // able to walk to the folder it lives in
        "afk" if run_as.is_some() && super::kube_user::root() => self_exe()?,
        "afk" => std::env::current_exe().map_err(|e| e.to_string())?,
        p => PathBuf::from(p),
    };
    let message_file = pod_dir.join(format!("{name}.termination-log"));
    let _ = std::fs::remove_file(&message_file);
    // the kubelet makes the termination log, writable by the container
    std::fs::write(&message_file, "").map_err(|e| e.to_string())?;
    super::kube_user::own(&message_file, 0o666, 0);
    // the container's home: its user's (an image's home, here a folder of the pod's)
    let home = pod_dir.join("home").join(name);
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    super::kube_user::reachable(&[&pod_dir.join("home")]);
    if let Some(r) = run_as {
        super::kube_user::give(&home, r);
    }
    let mut mounts = mounts.to_vec();
    let message_path = spec["terminationMessagePath"]
        .as_str()
        .unwrap_or("/dev/termination-log");
    mounts.push((message_path.to_string(), message_file.clone()));
    let cwd = spec["workingDir"].as_str().map_or_else(
        || pod_dir.to_path_buf(),
        |w| PathBuf::from(rewrite(w, &mounts)),
    );
    // a container's stdout and stderr are its user's, as runc gives them
    // (so a program that opens /dev/stdout, e.g. to append progress there,
    // can): pipes made here and handed to that user before the start
    let owned = match run_as {
        Some(r) if super::kube_user::root() => Some((owned_pipe(r)?, owned_pipe(r)?)),
        _ => None,
    };
    let mut cmd = std::process::Command::new(&prog);
    cmd.args(args)
        .current_dir(&cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    let mut owned_readers: Vec<Box<dyn std::io::Read + Send>> = vec![];
    match owned {
        Some(((out_r, out_w), (err_r, err_w))) => {
            cmd.stdout(std::process::Stdio::from(out_w))
                .stderr(std::process::Stdio::from(err_w));
            owned_readers.push(Box::new(std::fs::File::from(out_r)));
            owned_readers.push(Box::new(std::fs::File::from(err_r)));
        }
        None => {
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
        }
    }
    for (k, v) in env_from {
        cmd.env(k, v);
    }
    for e in spec["env"].as_array().into_iter().flatten() {
        let (k, v) = (
            e["name"].as_str().unwrap_or(""),
            e["value"].as_str().unwrap_or(""),
        );
        cmd.env(k, rewrite(v, &mounts));
    }
    if let Some(r) = run_as {
        super::kube_user::switch(&mut cmd, r);
    }
    let mut child =
        super::kube_proc::spawn_owned(cmd).map_err(|e| format!("{}: {e}", prog.display()))?;
    // the write ends went with the command, dropped by the spawn: only the
    // child's copies keep the pipes open
    let log: Log = Arc::default();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .chain(owned_readers)
    .map(|out| {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                log.lock().unwrap().push((super::kube_proc::now(), line));
            }
        })
    })
    .collect();
    let pid = child.id() as i32;
    let exit: Arc<Mutex<Option<i32>>> = Arc::default();
    let finished: Arc<Mutex<Option<OffsetDateTime>>> = Arc::default();
    let (done, at) = (exit.clone(), finished.clone());
    std::thread::spawn(move || {
        for r in readers {
            let _ = r.join();
        }
        let code = child
            .wait()
            .ok()
            .map(|s| {
                use std::os::unix::process::ExitStatusExt;
                s.code().unwrap_or(128 + s.signal().unwrap_or(9))
            })
            .unwrap_or(1);
        *at.lock().unwrap() = Some(super::kube_proc::now());
        *done.lock().unwrap() = Some(code);
    });
    Ok(Proc {
        pid,
        log,
        exit,
        started: super::kube_proc::now(),
        finished,
        message_file,
    })
}

/// A pipe whose ends belong to the container's user (its stdout or stderr).
fn owned_pipe(
    r: &super::kube_user::RunAs,
) -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd), String> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) into a two-element array; each end owned once below
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fchown(2) on a descriptor this function owns
    if unsafe { libc::fchown(wr.as_raw_fd(), r.uid, r.gid) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok((rd, wr))
}

/// A container's status as the API gives it.
fn status(c: &Ctr, initializing: bool) -> Value {
    let stamp = super::kube_proc::stamp;
    let state = match (&c.proc, c.exit(), &c.waiting) {
        (_, _, Some((reason, msg))) => json!({"waiting": {"reason": reason, "message": msg}}),
        (None, _, None) if initializing => json!({"waiting": {"reason": "PodInitializing"}}),
        (None, _, None) => json!({"waiting": {"reason": "ContainerCreating"}}),
        (Some(p), None, None) => json!({"running": {"startedAt": stamp(p.started)}}),
        (Some(p), Some(code), None) => {
            let mut t = json!({"exitCode": code, "reason": if code == 0 {"Completed"} else {"Error"},
                "startedAt": stamp(p.started),
                "finishedAt": stamp(p.finished.lock().unwrap().unwrap_or_else(super::kube_proc::now))});
            let mut text = String::new();
            if let Ok(f) = std::fs::File::open(&p.message_file) {
                use std::io::Read;
                let _ = f.take(MESSAGE_MAX).read_to_string(&mut text);
            }
            if !text.is_empty() {
                t["message"] = json!(text);
            }
            json!({"terminated": t})
        }
    };
    let running = c.proc.is_some() && c.exit().is_none();
    json!({
        "name": c.name, "image": c.spec["image"], "imageID": "", "ready": running && !c.init,
        "restartCount": 0, "started": running, "state": state
    })
}

/// The pod object with its status: phase, init and main container statuses.
pub(super) fn out(p: &Pod) -> Value {
    let mut v = p.obj.clone();
    let created = v["metadata"]["creationTimestamp"].clone();
    let waiting = p.ctrs.iter().any(|c| c.waiting.is_some());
    let inits_done = p
        .ctrs
        .iter()
        .filter(|c| c.init)
        .all(|c| c.exit() == Some(0) || (c.sidecar && c.proc.is_some()));
    let main_running = p
        .ctrs
        .iter()
        .any(|c| !c.init && c.proc.is_some() && c.exit().is_none());
    let phase = match p.exit() {
        Some(0) => "Succeeded",
        Some(_) => "Failed",
        None if main_running && !waiting => "Running",
        None => "Pending",
    };
    let statuses = |init: bool| -> Vec<Value> {
        p.ctrs
            .iter()
            .filter(|c| c.init == init)
            .map(|c| status(c, !init && !inits_done))
            .collect()
    };
    v["status"] = json!({
        "phase": phase,
        "startTime": created,
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": created}],
        "containerStatuses": statuses(false)
    });
    if p.ctrs.iter().any(|c| c.init) {
        v["status"]["initContainerStatuses"] = json!(statuses(true));
    }
    v
}

/// `/proc/self/fd/N` of a descriptor of this program, open for the life of
/// the sandbox and inherited by its children (no close-on-exec): a child
/// that became another user runs it without walking its folders.
fn self_exe() -> Result<PathBuf, String> {
    static FD: std::sync::OnceLock<Result<i32, String>> = std::sync::OnceLock::new();
    let fd = FD.get_or_init(|| {
        use std::os::unix::ffi::OsStrExt;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let c = std::ffi::CString::new(exe.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: open(2) of a NUL-terminated path this function owns
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        Ok(fd)
    });
    fd.clone()
        .map(|fd| PathBuf::from(format!("/proc/self/fd/{fd}")))
}
