//! stdout and stderr that go away: a reader that closes its end (`| head -1`), a full device
//! (`> /dev/full`), a closed stderr (`2>&1 | true`). Nothing may panic; a closed stdout ends
//! the output quietly with the command's own exit code; a closed stderr changes nothing.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::server::{ROOT_TOKEN, server};
use crate::test::{Test, WATCHDOG, wait_within};

/// A pipe whose read end is already closed: every write to the other end fails with EPIPE.
fn reader_gone() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// `kvenv ARGS` in the test's folder, with `stdout` and `stderr` as given.
fn kvenv(t: &Test, args: &[&str], stdout: Stdio, stderr: Stdio) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kvenv"));
    cmd.args(args)
        .current_dir(t.dir.path())
        .env_clear()
        .env("HOME", t.dir.path())
        .env("VAULT_ADDR", &server().addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .stdin(Stdio::null());
    let child = cmd.stdout(stdout).stderr(stderr).spawn().unwrap();
    wait_within(child, WATCHDOG)
}

fn app(entries: usize) -> Test {
    let t = Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"A": "CANARY-streams"}));
    let mut manifest = String::from("[secrets]\n");
    for i in 0..entries {
        manifest.push_str(&format!("A{i} = \"@/kv/app#A\"\n"));
    }
    t.manifest(&manifest)
}

#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let t = app(500);
    // validate | head -1
    let out = kvenv(&t, &["validate"], reader_gone(), Stdio::piped());
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "kvenv: secrets.toml is valid: 500 entries, 1 secrets, output .env\n"
    );
    // check --json | head -c1: the exit code is check's own (1: the file would change).
    let out = kvenv(&t, &["check", "--json"], reader_gone(), Stdio::piped());
    assert_eq!(out.status.code(), Some(1), "{:?}", out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // export | head -1
    let out = kvenv(&t, &["export"], reader_gone(), Stdio::piped());
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    // completions and man go through the same writer.
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let out = kvenv(&t, args, reader_gone(), Stdio::piped());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    }
}

#[test]
fn a_full_stdout_is_an_error() {
    let t = app(3);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = kvenv(&t, &["policy"], Stdio::from(full), Stdio::piped());
    assert_eq!(out.status.code(), Some(6), "{:?}", out);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "kvenv: error: cannot write to stdout: no space left on device\n"
    );
}

#[test]
fn a_closed_stderr_changes_nothing() {
    let t = app(3);
    // sync -v 2>&1 | true: the sync finishes, writes the file and exits 0.
    let out = kvenv(&t, &["sync", "-v"], Stdio::null(), reader_gone());
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    assert!(
        std::fs::read_to_string(t.path(".env"))
            .unwrap()
            .contains("A0='CANARY-streams'")
    );
    // An error run keeps its exit code with nobody to read the message.
    let out = kvenv(
        &t,
        &["sync", "-m", "missing.toml"],
        Stdio::null(),
        reader_gone(),
    );
    assert_eq!(out.status.code(), Some(2), "{:?}", out);
}
