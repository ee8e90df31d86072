//! A kvenv left running in the background (`--watch`, `run` with leases), for tests that change
//! things under it and read what it says and does.
//!
//! Its stderr is collected as it comes. Every wait is bounded, and a test that gives up (or
//! panics) leaves no kvenv behind: dropping a [`Running`] kills it. [`Running::finish`] makes the
//! same checks as the builder's `run`: no panic, no token and no secret value in what it printed.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::server::ROOT_TOKEN;

pub struct Running {
    child: Child,
    pub dir: TempDir,
    pub prefix: String,
    stderr: Arc<Mutex<String>>,
    canaries: Vec<String>,
}

impl Running {
    pub fn start(mut cmd: Command, dir: TempDir, prefix: String, canaries: Vec<String>) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start kvenv");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Running {
            child,
            dir,
            prefix,
            stderr,
            canaries,
        }
    }

    /// What kvenv printed so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until `check` holds (polled every 50 ms), or fail after `limit` showing stderr.
    pub fn wait_until(&self, what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
        let start = Instant::now();
        while !check() {
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {what}; kvenv said:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until stderr has said `text` `times` times.
    pub fn wait_for(&self, text: &str, times: usize, limit: Duration) {
        self.wait_until(&format!("{times}× {text:?} on stderr"), limit, || {
            self.stderr().matches(text).count() >= times
        });
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A file of the test folder, or "" while it does not exist.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Wait for kvenv to exit (within `limit`), check what it printed, and return its exit
    /// code and stderr.
    pub fn finish(&mut self, limit: Duration) -> (i32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < limit,
                "kvenv did not exit within {limit:?}; it said:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread drains what is left once the pipe closes.
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr();
        assert!(!stderr.contains("panicked"), "a panic: {stderr}");
        assert!(!stderr.contains(ROOT_TOKEN), "the token leaked: {stderr}");
        for value in self.canaries.iter().filter(|v| v.len() >= 6) {
            assert!(
                !stderr.contains(value.as_str()),
                "a secret value leaked to stderr:\n{stderr}"
            );
        }
        let code = std::os::unix::process::ExitStatusExt::signal(&status)
            .map(|s| 128 + s)
            .unwrap_or_else(|| status.code().unwrap_or(-1));
        (code, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
