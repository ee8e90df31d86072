//! Write failures: every way the output cannot be written ends with exit 6, one line, the old
//! file byte-for-byte, and no temp file left behind.
//!
//! CI runs as root, for whom `chmod 0555` is no barrier, so each failure is made in a way root
//! cannot override either: the read-only folder is denied to a run dropped to `nobody`; sysfs
//! refuses new files to everyone; `ulimit -f` caps the file size (with SIGXFSZ ignored the write
//! fails with EFBIG; with the default action the kernel kills kvenv mid-write, which must behave
//! like any other crash); and a full tmpfs, mounted in a private mount namespace, gives ENOSPC.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::kit::{Figures, HEADER, binary, kvenv, mode, program, temps};
use crate::server::server;
use crate::test::Test;

const OLD: &str = "OLD='previous file, must survive'\n";
const NEW_VALUE: &str = "a new value, large enough to need more than one block of disk";

const ABOUT: &str = "\
CI runs as root, and root ignores `chmod 0555`. So each failure is made in a way root cannot
override either:
- the read-only folder is tried by a run dropped to `nobody` (`setuid` in `pre_exec`);
- sysfs refuses new files to everyone;
- `ulimit -f` caps the file size: with SIGXFSZ ignored the write fails with EFBIG; with its
  default action the kernel kills kvenv mid-write, which must behave like any other crash (the
  old file stays, the next run removes the temp file);
- a 64 KiB tmpfs in a private mount namespace (`unshare -m`) gives ENOSPC.

Each must end with exit 6, one line, the old file byte for byte, and no temp file left.
";

/// What the cases checked, counted as they check it.
#[derive(Default)]
struct Checked {
    old_files: usize,
    damaged: usize,
    temp_checks: usize,
    temps_left: usize,
}

impl Checked {
    /// `path` must still hold the old content.
    fn old_file(&mut self, path: &Path) {
        let now = std::fs::read_to_string(path).unwrap();
        self.old_files += 1;
        self.damaged += usize::from(now != OLD);
        assert_eq!(now, OLD, "{}", path.display());
    }

    /// No temp file of the output `name` may be left in `dir`.
    fn no_temps(&mut self, dir: &Path, name: &str, what: &str) {
        let left = temps(dir, name);
        self.temp_checks += 1;
        self.temps_left += left.len();
        assert!(left.is_empty(), "{what}: {left:?}");
    }
}

/// A test dir with a manifest reading one secret into `out` (relative to the dir).
fn setup(out: &str) -> (tempfile::TempDir, String) {
    let t = Test::new()
        .kv1("kv")
        .secret("kv/app", json!({ "A": NEW_VALUE.repeat(200) }));
    let manifest = t.expand(&format!(
        "[output]\npath = \"{out}\"\n[secrets]\nA = \"@/kv/app\"\n"
    ));
    let t = t.write("secrets.toml", &manifest);
    (t.dir, t.prefix)
}

fn new_content() -> String {
    format!("{HEADER}A='{}'\n", NEW_VALUE.repeat(200))
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One line of the figures table: the fault, what kvenv did, and the checks that held.
struct Case {
    fault: &'static str,
    exit: String,
    line: String,
}

fn exit_of(out: &Output) -> String {
    match (out.status.code(), out.status.signal()) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "?".into(),
    }
}

/// Assert exit 6 with exactly `line` on stderr and nothing on stdout.
fn assert_exit_6(out: &Output, line: &str) {
    assert_eq!(out.status.code(), Some(6), "stderr: {}", text(out));
    assert_eq!(text(out), format!("kvenv: error: {line}\n"));
    assert!(out.stdout.is_empty());
}

/// Whether `nobody` can reach the binary (every folder on its path searchable by others).
fn reachable_by_others(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .all(|d| mode(d).is_some_and(|m| m & 0o001 != 0))
}

#[test]
fn every_write_failure_exits_6_and_keeps_the_old_file() {
    let mut cases = Vec::new();
    let mut checked = Checked::default();

    // The output path is a directory.
    {
        let (dir, _) = setup("out");
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/.keep"), OLD).unwrap();
        let out = kvenv(dir.path(), &server().addr, &["sync"])
            .output()
            .unwrap();
        assert_exit_6(&out, "cannot write out: is a directory");
        checked.old_file(&dir.path().join("out/.keep"));
        checked.no_temps(dir.path(), "out", "directory");
        cases.push(Case {
            fault: "output path is a directory",
            exit: exit_of(&out),
            line: text(&out),
        });
    }

    // A read-only folder, for a run that cannot override permissions (root runs it as nobody).
    {
        let (dir, _) = setup("ro/.env");
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::write(ro.join(".env"), OLD).unwrap();
        std::fs::set_permissions(ro.join(".env"), PermissionsExt::from_mode(0o600)).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        let mut binary = binary().to_path_buf();
        if root {
            for p in [
                dir.path(),
                &ro,
                &ro.join(".env"),
                &dir.path().join("secrets.toml"),
            ] {
                std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
            }
            if !reachable_by_others(&binary) {
                let copy = dir.path().join("kvenv");
                std::fs::copy(&binary, &copy).unwrap();
                binary = copy;
            }
        }
        std::fs::set_permissions(&ro, PermissionsExt::from_mode(0o555)).unwrap();
        let mut cmd = program(&binary, dir.path(), &server().addr);
        cmd.arg("sync");
        if root {
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(65534) != 0
                        || libc::setuid(65534) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let out = cmd.output().unwrap();
        assert_exit_6(&out, "cannot write ro/.env: permission denied");
        std::fs::set_permissions(&ro, PermissionsExt::from_mode(0o755)).unwrap();
        checked.old_file(&ro.join(".env"));
        checked.no_temps(&ro, ".env", "read-only folder");
        cases.push(Case {
            fault: if root {
                "read-only folder (0555, run as nobody)"
            } else {
                "read-only folder (0555)"
            },
            exit: exit_of(&out),
            line: text(&out),
        });
    }

    // A folder where nobody, root included, may create a file.
    {
        let (dir, _) = setup(".env");
        let target = "/sys/kernel/kvenv-robustness.env";
        let out = kvenv(dir.path(), &server().addr, &["sync", "--output", target])
            .output()
            .unwrap();
        assert_exit_6(&out, &format!("cannot write {target}: permission denied"));
        checked.no_temps(Path::new("/sys/kernel"), "kvenv-robustness.env", "sysfs");
        cases.push(Case {
            fault: "folder in sysfs (no new files, even for root)",
            exit: exit_of(&out),
            line: text(&out),
        });
    }

    // File size limit, SIGXFSZ ignored: the write fails with EFBIG.
    {
        let (dir, _) = setup(".env");
        std::fs::write(dir.path().join(".env"), OLD).unwrap();
        let out = limited(dir.path(), true).output().unwrap();
        assert_exit_6(&out, "cannot write .env: file too large");
        checked.old_file(&dir.path().join(".env"));
        checked.no_temps(dir.path(), ".env", "the temp file was left");
        cases.push(Case {
            fault: "file size limit (`ulimit -f 1`, SIGXFSZ ignored)",
            exit: exit_of(&out),
            line: text(&out),
        });
    }

    // File size limit, default SIGXFSZ: killed mid-write; the next run cleans up.
    {
        let (dir, _) = setup(".env");
        std::fs::write(dir.path().join(".env"), OLD).unwrap();
        let out = limited(dir.path(), false).output().unwrap();
        assert_eq!(out.status.signal(), Some(libc::SIGXFSZ), "{}", text(&out));
        let kept = std::fs::read_to_string(dir.path().join(".env")).unwrap() == OLD;
        checked.old_file(&dir.path().join(".env"));
        let left = temps(dir.path(), ".env");
        let killed_left = left.len();
        assert_eq!(left.len(), 1, "the killed run's temp file");
        assert_eq!(mode(&left[0]), Some(0o600));
        let next = kvenv(dir.path(), &server().addr, &["sync", "-q"])
            .output()
            .unwrap();
        assert!(next.status.success(), "{}", text(&next));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".env")).unwrap(),
            new_content()
        );
        let next_left = temps(dir.path(), ".env").len();
        checked.no_temps(dir.path(), ".env", "the next run left it");
        cases.push(Case {
            fault: "file size limit (`ulimit -f 1`, SIGXFSZ default): killed mid-write; next run",
            exit: format!("{}; next run {}", exit_of(&out), exit_of(&next)),
            line: format!(
                "(none: killed) — old file {}; temp files: {killed_left} after the kill, {next_left} after the next run",
                if kept { "intact" } else { "changed" }
            ),
        });
    }

    // The .gitignore cannot be written (it is a directory): exit 6, and the secrets are not
    // written where nothing keeps them out of git; the old file stays.
    {
        let (dir, _) = setup(".env");
        std::fs::write(dir.path().join(".env"), OLD).unwrap();
        std::fs::create_dir(dir.path().join(".gitignore")).unwrap();
        let out = kvenv(dir.path(), &server().addr, &["sync"])
            .output()
            .unwrap();
        assert_exit_6(&out, "cannot write .gitignore: is a directory");
        checked.old_file(&dir.path().join(".env"));
        checked.no_temps(dir.path(), ".env", ".gitignore is a directory");
        cases.push(Case {
            fault: ".gitignore is a directory (output not replaced)",
            exit: exit_of(&out),
            line: text(&out),
        });
    }

    // No space left: a full tmpfs in a private mount namespace.
    let tmpfs = no_space_left(&mut checked);
    cases.push(tmpfs);

    let mut f = Figures::new(
        "write_failures",
        "Write failures (`write_failures.rs`)",
        ABOUT,
    );
    for c in &cases {
        f.add(
            c.fault,
            format!("exit {} — `` {} ``", c.exit, c.line.trim_end()),
        );
    }
    f.add("old files checked after a failure", checked.old_files);
    f.add("old files damaged", checked.damaged);
    f.add(
        "temp-file checks (after each failure; after the run that followed the kill)",
        checked.temp_checks,
    );
    f.add("temp files left", checked.temps_left);
    f.save();
}

/// `sh -c 'ulimit -f 1; exec kvenv sync'`, with SIGXFSZ ignored or not.
fn limited(dir: &Path, ignore_xfsz: bool) -> Command {
    let trap = if ignore_xfsz { "trap '' XFSZ; " } else { "" };
    let mut sh = program(Path::new("sh"), dir, &server().addr);
    sh.arg("-c")
        .arg(format!("{trap}ulimit -f 1; exec \"$0\" sync"))
        .arg(binary());
    sh
}

/// Mount a 64 KiB tmpfs in a private mount namespace, put the old file in it, fill it, run
/// kvenv against it, and report from inside the namespace what was left.
fn no_space_left(checked: &mut Checked) -> Case {
    let (dir, _) = setup(".env");
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(dir.path().join("old.env"), OLD).unwrap();
    let script = r#"
set -e
mount -t tmpfs -o size=64k,mode=0755 kvenv-full full
cp old.env full/.env
chmod 600 full/.env
dd if=/dev/zero of=full/filler bs=4096 2>/dev/null || true
set +e
"$0" sync --output full/.env
echo "exit=$?"
ls -a full | grep -c 'kvenv-' || true
cat full/.env
"#;
    let probe = Command::new("unshare").args(["-m", "true"]).output();
    let available = probe.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        available || unsafe { libc::geteuid() } != 0,
        "root cannot make a mount namespace: {probe:?}"
    );
    if !available {
        // Without root there is no way to fill a filesystem safely; say so in the figures.
        eprintln!("write_failures: no tmpfs (not root): the no-space case did not run");
        return Case {
            fault: "no space left (full tmpfs)",
            exit: "not run: needs root for a mount namespace".into(),
            line: String::new(),
        };
    }
    let mut sh = program(Path::new("unshare"), dir.path(), &server().addr);
    sh.args(["-m", "--propagation", "private", "sh", "-c", script])
        .arg(binary());
    let out = sh.output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = text(&out);
    // The report: `exit=N`, the number of temp files left, the old file's content.
    let mut report_lines = report.splitn(3, '\n');
    let (exit, left, kept) = (
        report_lines.next().and_then(|l| l.strip_prefix("exit=")),
        report_lines.next().and_then(|n| n.parse::<usize>().ok()),
        report_lines.next().unwrap_or(""),
    );
    checked.old_files += 1;
    checked.damaged += usize::from(kept != OLD);
    checked.temp_checks += 1;
    checked.temps_left += left.unwrap_or(1);
    assert!(out.status.success(), "{stderr}\n{report}");
    assert_eq!(
        report,
        format!("exit=6\n0\n{OLD}"),
        "exit code, temp files left, old file; stderr: {stderr}"
    );
    assert_eq!(
        stderr,
        "kvenv: error: cannot write full/.env: no space left on device\n"
    );
    Case {
        fault: "no space left (full 64 KiB tmpfs)",
        exit: exit.unwrap_or("?").to_owned(),
        line: stderr,
    }
}
