//! What kvenv prints, and how it survives a reader that goes away.
//!
//! stdout carries only what a command is asked to print (`export`, `validate`, `policy`,
//! `check --json`); every message goes to stderr as one line starting `kvenv: `.
//!
//! Printing never panics: `println!` and `eprintln!` panic when the stream is closed, which turned
//! `kvenv validate | head -1` into a crash (exit 134) and `kvenv sync -v 2>&1 | true` into a
//! finished sync that still "failed". Here:
//! - a **closed stdout** (the reader exited: `EPIPE`) ends the output quietly, as ripgrep and
//!   other Unix tools do: nothing more is written to stdout, the command finishes, and its exit
//!   code stays what it would have been;
//! - **any other stdout failure** (`/dev/full`) is an error (exit 6): the user asked for that
//!   output and did not get it;
//! - **stderr failures are ignored**: a message nobody can read must not change what was
//!   written or the exit code.
//!
//! Rust ignores `SIGPIPE` for its own process (so a write fails with `EPIPE` instead of killing
//! kvenv), and restores the default for the programs `kvenv run` starts.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, io_reason};

/// Set once stdout's reader has gone: later output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Write `bytes` to stdout and flush.
pub fn stdout(bytes: &[u8]) -> Result<(), Error> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Error::Stdout(io_reason(&e))),
    }
}

/// Whether stdout is the file at `path` (the same device and inode).
pub fn stdout_is(path: &std::path::Path) -> bool {
    let Ok(file) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    let out = {
        use std::os::fd::AsFd;
        std::io::stdout().as_fd().try_clone_to_owned()
    };
    #[cfg(windows)]
    let out = {
        use std::os::windows::io::AsHandle;
        std::io::stdout().as_handle().try_clone_to_owned()
    };
    let Ok(out) = out else {
        return false;
    };
    std::fs::File::from(out)
        .metadata()
        .is_ok_and(|m| crate::os::same_file(&m, &file))
}

/// One line on stderr, `kvenv: ` first. Control characters in `line` (from a server's message,
/// a path) become spaces, so a line stays one line and cannot drive the terminal.
pub fn line(line: &str) {
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let _ = writeln!(std::io::stderr().lock(), "kvenv: {clean}");
}

/// What the user sees on stderr, at the verbosity asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub quiet: bool,
    pub verbose: bool,
}

impl Ui {
    /// The summary and notices: shown unless `--quiet`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            line(text);
        }
    }

    /// Per-variable detail: shown with `--verbose`.
    pub fn detail(&self, text: &str) {
        if self.verbose {
            line(text);
        }
    }

    /// Always shown.
    pub fn warn(&self, text: &str) {
        line(&format!("warning: {text}"));
    }
}

/// A duration for people: `45s`, `12m 5s`, `3h 20m`, `2d 4h` (the two largest units).
pub fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) if seconds == 0 => format!("{minutes}m"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, 0) => format!("{hours}h"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        (_, 0, _) => format!("{days}d"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_like_people_write_them() {
        use std::time::Duration;
        for (secs, text) in [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (725, "12m 5s"),
            (3600, "1h"),
            (12_000, "3h 20m"),
            (86_400 * 2 + 3600 * 4 + 5, "2d 4h"),
            (86_400 * 32, "32d"),
        ] {
            assert_eq!(super::duration(Duration::from_secs(secs)), text);
        }
    }
}
