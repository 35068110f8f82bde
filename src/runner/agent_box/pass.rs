//! Descriptors passed over a socket pair (nothing on any file system) with
//! `SCM_RIGHTS`: the box's namespaces and listeners, from the child that
//! makes them to the keeper (inside.rs).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A pair of connected Unix sockets of `kind`, closed on exec.
pub(super) fn pair(kind: i32) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair(2) into a two-element array
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            kind | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: two new descriptors, each owned here only
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Room for one descriptor's control message.
const CONTROL: usize = 64;

/// Send `fd` over `channel`: one byte (`tag`, what it is), the descriptor
/// beside it.
pub(super) fn send(channel: RawFd, tag: u8, fd: &OwnedFd) -> std::io::Result<()> {
    let mut byte = [tag];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u8; CONTROL];
    // SAFETY: a msghdr over this function's buffers; CMSG_* within `control`
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd.as_raw_fd());
        if libc::sendmsg(channel, &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What one message on the channel brought.
pub(super) enum Got {
    /// A descriptor (closed on exec) and its tag.
    Conn(u8, OwnedFd),
    /// A message without a descriptor (ignored).
    Nothing,
    /// The other end is closed: nothing comes any more.
    End,
}

/// Receive one message from `channel`.
pub(super) fn receive(channel: RawFd) -> std::io::Result<Got> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u8; CONTROL];
    // SAFETY: a msghdr over this function's buffers; every descriptor the
    // kernel put in `control` is taken (owned) once, so none leaks
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = CONTROL as _;
        let n = libc::recvmsg(channel, &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut got: Vec<OwnedFd> = vec![];
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    got.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        if n == 0 && got.is_empty() {
            return Ok(Got::End);
        }
        // one descriptor a message: any more are closed
        Ok(match got.into_iter().next() {
            Some(fd) => Got::Conn(byte[0], fd),
            None => Got::Nothing,
        })
    }
}
