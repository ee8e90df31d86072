//! bench/timeit: run a command and write its wall time, peak RSS, exit code and CPU time to a file.
//!
//! usage: timeit RESULT_FILE COMMAND [ARGS...]
//!
//! The file gets one line: `WALL_NS MAXRSS_KIB EXIT_CODE USER_US SYSTEM_US`.
//!
//! Why not time from Python, or with `/usr/bin/time`: a child forked from Python starts as a copy of
//! a ~25 MB process, and Linux counts that copy in the child's peak RSS (`ru_maxrss`), so every
//! command would seem to need 25 MB. This launcher is about 1 MB, like `/usr/bin/time`, and unlike
//! `time -f %e` it reads the clock to the nanosecond. The wall time runs from just before the
//! spawn to the end of `wait4`; the peak RSS is `wait4`'s `ru_maxrss` (the largest of the process
//! and the children it waited for). Compiled by bench/run with plain `rustc`, no dependencies.

use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::Instant;

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` on 64-bit Linux: two timevals, then 14 longs, the first being ru_maxrss.
#[repr(C)]
#[allow(dead_code)] // the fields after ru_maxrss are not read
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, usage: *mut Rusage) -> i32;
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: timeit RESULT_FILE COMMAND [ARGS...]");
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let child = match Command::new(&args[1]).args(&args[2..]).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("timeit: cannot run {}: {e}", args[1]);
            return ExitCode::from(127);
        }
    };
    let mut status = 0i32;
    let mut usage = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        maxrss: 0,
        rest: [0; 13],
    };
    let pid = child.id() as i32;
    // SAFETY: plain syscall wrapper; both pointers are to live, correctly laid out locals.
    let rc = loop {
        let rc = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if rc != -1 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break rc;
        }
    };
    let wall = start.elapsed();
    if rc != pid {
        eprintln!("timeit: wait4 failed: {}", std::io::Error::last_os_error());
        return ExitCode::from(125);
    }
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    };
    let micros = |t: &Timeval| t.sec * 1_000_000 + t.usec;
    let line = format!(
        "{} {} {} {} {}\n",
        wall.as_nanos(),
        usage.maxrss,
        code,
        micros(&usage.utime),
        micros(&usage.stime)
    );
    match std::fs::File::create(&args[0]).and_then(|mut f| f.write_all(line.as_bytes())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("timeit: cannot write {}: {e}", args[0]);
            ExitCode::from(125)
        }
    }
}
