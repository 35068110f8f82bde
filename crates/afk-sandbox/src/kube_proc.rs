//! The sandbox's cluster at the process level: the clock its objects are
//! stamped with and the one spawner of every container's process. A leaf:
//! `kube` and `kube_pod` name it, it names neither.

use std::sync::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(super) fn stamp(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

type SpawnReply = std::sync::mpsc::Sender<std::io::Result<std::process::Child>>;

/// Spawn from one long-lived thread with PR_SET_PDEATHSIG, so every Job's
/// process dies with the sandbox (the signal follows the thread that forked,
/// and the connection threads come and go).
pub(super) fn spawn_owned(mut cmd: std::process::Command) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    static SPAWNER: std::sync::OnceLock<
        Mutex<std::sync::mpsc::Sender<(std::process::Command, SpawnReply)>>,
    > = std::sync::OnceLock::new();
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<(std::process::Command, SpawnReply)>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    });
    // SAFETY: prctl(2) in the child before exec; async-signal-safe
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (reply, answer) = std::sync::mpsc::channel();
    tx.lock()
        .unwrap()
        .send((cmd, reply))
        .map_err(|_| std::io::Error::other("the sandbox's spawner is gone"))?;
    answer
        .recv()
        .map_err(|_| std::io::Error::other("the sandbox's spawner is gone"))?
}
