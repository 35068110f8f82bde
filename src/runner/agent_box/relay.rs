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
    let t = std::thread::spawn(move || {
        let mut a = a;
        let mut b = b;
        let _ = std::io::copy(&mut a, &mut b);
        b.shut_write();
    });
    let _ = std::io::copy(&mut b2, &mut a2);
    a2.shut_write();
    let _ = t.join();
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
