//! Copying both ways between two sockets: a connection of the box and its
//! way out (the keeper's forwarder and its listeners).

use std::io::{Read, Write};

/// Copy both ways between two sockets until one side closes.
pub(super) fn relay<A, B>(a: A, b: B)
where
    A: Read + Write + Send + TryCloneShut + 'static,
    B: Read + Write + Send + TryCloneShut + 'static,
{
    let (Some(mut a2), Some(mut b2)) = (a.clone_it(), b.clone_it()) else {
        return;
    };
    let Ok(t) = std::thread::Builder::new().spawn(move || {
        let mut a = a;
        let mut b = b;
        let _ = std::io::copy(&mut a, &mut b);
        b.shut_write();
    }) else {
        // no thread to be had now (the turn's task limit): both ends told
        a2.shut_write();
        b2.shut_write();
        return;
    };
    let _ = std::io::copy(&mut b2, &mut a2);
    a2.shut_write();
    let _ = t.join();
}

/// Run `f` on a thread of its own, where one can be made now: the keeper's
/// threads count against the turn's task limit (`runner.box.tasks`), and a
/// connection that gets none is dropped with `f` (closed), never a panic
/// that ends its listener. Whether it runs.
pub(super) fn thread(f: impl FnOnce() + Send + 'static) -> bool {
    std::thread::Builder::new().spawn(f).is_ok()
}

pub(super) trait TryCloneShut: Sized {
    fn clone_it(&self) -> Option<Self>;
    fn shut_write(&self);
}
impl TryCloneShut for std::net::TcpStream {
    fn clone_it(&self) -> Option<Self> {
        self.try_clone().ok()
    }
    fn shut_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}
impl TryCloneShut for std::os::unix::net::UnixStream {
    fn clone_it(&self) -> Option<Self> {
        self.try_clone().ok()
    }
    fn shut_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}
