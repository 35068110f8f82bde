//! The box's seccomp filter (docs/security.md#the-boxs-system-calls): the
//! system calls a box may not make, written as the classic BPF program
//! bubblewrap hands the kernel, and the descriptor bubblewrap reads it from.

/// The descriptor bubblewrap reads the box's seccomp filter from.
pub const SECCOMP_FD: i32 = 5;

/// The machines a box's seccomp filter is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// This build's machine, where a filter is written for it.
    pub fn native() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The kernel's AUDIT_ARCH value, the system call numbers of keyctl,
    /// add_key, request_key and ioctl.
    fn numbers(self) -> (u32, [u32; 4]) {
        match self {
            Arch::X86_64 => (0xC000_003E, [250, 248, 249, 16]),
            Arch::Aarch64 => (0xC000_00B7, [219, 217, 218, 29]),
        }
    }
}

/// The terminal ioctls a box may not make: typing into a terminal it
/// shares (`TIOCSTI`) and the console's own (`TIOCLINUX`).
pub const TIOCSTI: u32 = 0x5412;
pub(crate) const TIOCLINUX: u32 = 0x541C;

/// io_uring's calls (`io_uring_setup`, `io_uring_enter`,
/// `io_uring_register`): the same numbers on both machines. A ring's
/// operations run in the kernel without a system call each, past any
/// filter of calls, so a box makes none.
pub(crate) const IO_URING: [u32; 3] = [425, 426, 427];

/// The box's seccomp filter (classic BPF, as bubblewrap's `--seccomp` reads
/// it: 8 bytes a rule): the kernel's keyrings (`keyctl`, `add_key`,
/// `request_key`: afk's session keyring, or any other, is out of reach),
/// io_uring ([`IO_URING`]) and terminal injection (`ioctl` with `TIOCSTI`
/// or `TIOCLINUX`) answer EPERM; so does every call of another ABI (x32,
/// 32-bit) that could name them by other numbers. Everything else is let
/// through (docs/security.md#the-boxs-system-calls).
pub fn seccomp_filter(arch: Arch) -> Vec<u8> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0000 | 1;
    let (audit, [keyctl, add_key, request_key, ioctl]) = arch.numbers();
    let denied: Vec<u32> = [keyctl, add_key, request_key]
        .into_iter()
        .chain(IO_URING)
        .collect();
    // (code, jump if true, jump if false, k): jumps count the rules skipped
    let mut p: Vec<(u16, u8, u8, u32)> = vec![
        (LD_W_ABS, 0, 0, 4), // the ABI
        (JEQ_K, 1, 0, audit),
        (RET_K, 0, 0, EPERM),
        (LD_W_ABS, 0, 0, 0), // the call
    ];
    // the tail after the call is loaded: [x32 check], the denied calls,
    // ioctl, its request's load, the two requests, ALLOW, EPERM
    let x32 = usize::from(arch == Arch::X86_64);
    let eperm = x32 + denied.len() + 5;
    let allow = eperm - 1;
    let to = |from: usize, target: usize| (target - from - 1) as u8;
    if x32 == 1 {
        // x32's numbers have bit 30 set
        p.push((JGE_K, to(0, eperm), 0, 0x4000_0000));
    }
    for (i, nr) in denied.iter().enumerate() {
        p.push((JEQ_K, to(x32 + i, eperm), 0, *nr));
    }
    let at = x32 + denied.len();
    p.extend([
        (JEQ_K, 0, to(at, allow), ioctl),
        (LD_W_ABS, 0, 0, 24), // ioctl's request (args[1], low half)
        (JEQ_K, to(at + 2, eperm), 0, TIOCSTI),
        (JEQ_K, to(at + 3, eperm), 0, TIOCLINUX),
        (RET_K, 0, 0, ALLOW),
        (RET_K, 0, 0, EPERM),
    ]);
    let mut out = Vec::with_capacity(p.len() * 8);
    for (code, jt, jf, k) in p {
        out.extend(code.to_ne_bytes());
        out.push(jt);
        out.push(jf);
        out.extend(k.to_ne_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a classic BPF program over (arch, nr, args[1]) as the kernel would.
    fn run(prog: &[u8], arch: u32, nr: u32, arg1: u32) -> u32 {
        let rules: Vec<(u16, u8, u8, u32)> = prog
            .chunks(8)
            .map(|c| {
                (
                    u16::from_ne_bytes([c[0], c[1]]),
                    c[2],
                    c[3],
                    u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let (code, jt, jf, k) = rules[pc];
            match code {
                0x20 => {
                    a = match k {
                        0 => nr,
                        4 => arch,
                        24 => arg1,
                        _ => panic!("load of {k}"),
                    };
                    pc += 1;
                }
                0x15 | 0x35 => {
                    let t = if code == 0x15 { a == k } else { a >= k };
                    pc += 1 + usize::from(if t { jt } else { jf });
                }
                0x06 => return k,
                _ => panic!("code {code:#x}"),
            }
        }
    }

    #[test]
    fn the_boxs_filter_refuses_keyrings_io_uring_and_terminal_injection_and_lets_the_rest_through()
    {
        const ALLOW: u32 = 0x7fff_0000;
        const EPERM: u32 = 0x0005_0001;
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let (audit, [keyctl, add_key, request_key, ioctl]) = arch.numbers();
            let prog = seccomp_filter(arch);
            let cases = [
                // (ABI, call, args[1], verdict)
                (audit, keyctl, 0, EPERM),
                (audit, add_key, 0, EPERM),
                (audit, request_key, 0, EPERM),
                (audit, IO_URING[0], 0, EPERM),
                (audit, IO_URING[1], 0, EPERM),
                (audit, IO_URING[2], 0, EPERM),
                (audit, 424, 0, ALLOW),
                (audit, 428, 0, ALLOW),
                (audit, ioctl, TIOCSTI, EPERM),
                (audit, ioctl, TIOCLINUX, EPERM),
                (audit, ioctl, 0x5401, ALLOW), // TCGETS
                (audit, 0, 0, ALLOW),
                (audit, 59, 0, ALLOW),
                (audit, 1, TIOCSTI, ALLOW), // TIOCSTI's number to another call
                (0x4000_0003, keyctl, 0, EPERM), // another ABI
            ];
            for (abi, nr, arg, want) in cases {
                assert_eq!(
                    run(&prog, abi, nr, arg),
                    want,
                    "{arch:?} {abi:#x} {nr} {arg:#x}"
                );
            }
            if arch == Arch::X86_64 {
                assert_eq!(run(&prog, audit, 0x4000_0000 | keyctl, 0), EPERM, "x32");
            }
        }
    }
}
