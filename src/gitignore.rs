//! Making sure the output file stays out of git.
//!
//! A `.env` full of secrets committed by accident is the leak teams fear most. After writing,
//! kvenv checks whether git would already ignore the file: every `.gitignore` from the output's
//! folder up to the repository root (the first folder with a `.git`), plus `.git/info/exclude`,
//! matched with the `ignore` crate (the gitignore engine ripgrep uses), the deepest rule winning.
//! If nothing ignores it, kvenv appends the anchored name (`/.env`) to the `.gitignore` in the
//! output's folder, creating it if needed, keeping every byte already there and ending with a
//! newline; that file too is replaced atomically. Outside a repository the same check runs up to
//! the output's folder, so a later `git init` is covered.
//!
//! kvenv does not read git's global excludes: a rule only on one developer's machine does not
//! protect the teammate who clones the repository.
//!
//! Runs at the same time (a deploy hook and a developer, or twenty CI jobs sharing a checkout)
//! must add the rule once, not once each. Check-then-append is a race, so the append happens
//! under an exclusive `flock` on the output's folder, and the check is repeated once the lock is
//! held: a run that waited finds the rule its predecessor added. The folder itself is locked
//! because the `.gitignore` is replaced by rename (a lock on the old file would not bind a run
//! that opens the new one) and a lock file of its own would be one more file in the user's
//! folder. Runs that find the file already ignored, the usual case, take no lock.

use std::fs::{self, File, TryLockError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ignore::Match;
use ignore::gitignore::Gitignore;

use crate::write::{WriteError, read_existing, write_atomic};

/// What [`ensure_ignored`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    AlreadyIgnored,
    /// The rule was added to this `.gitignore`.
    Added(PathBuf),
}

/// Make sure git ignores `output` (the path the user names, not a symlink's target).
pub fn ensure_ignored(output: &Path) -> Result<Outcome, WriteError> {
    let dir = absolute_dir(output)?;
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_ignored(&dir, &name) {
        return Ok(Outcome::AlreadyIgnored);
    }
    let _lock = lock_folder(&dir);
    if is_ignored(&dir, &name) {
        return Ok(Outcome::AlreadyIgnored);
    }

    let gitignore = dir.join(".gitignore");
    // Errors name the file as the user would: next to the output path they gave.
    let named = |e: WriteError| WriteError {
        path: match output.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.join(".gitignore"),
            _ => PathBuf::from(".gitignore"),
        },
        reason: e.reason,
    };
    let mut content = read_existing(&gitignore)
        .map_err(named)?
        .unwrap_or_default();
    if !content.is_empty() && !content.ends_with(b"\n") {
        content.push(b'\n');
    }
    content.extend_from_slice(format!("/{}\n", escape(&name)).as_bytes());
    let mode = fs::metadata(&gitignore)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    write_atomic(&gitignore, &content, mode).map_err(named)?;
    Ok(Outcome::Added(gitignore))
}

/// Whether a `.gitignore` from `dir` up to the repository root, or `.git/info/exclude`,
/// ignores the file `name` in `dir`.
fn is_ignored(dir: &Path, name: &str) -> bool {
    let file = dir.join(name);
    let root = repo_root(dir);

    let mut layers: Vec<PathBuf> = Vec::new();
    let mut current = Some(dir);
    while let Some(d) = current {
        layers.push(d.join(".gitignore"));
        if Some(d) == root.as_deref() {
            layers.push(d.join(".git/info/exclude"));
            break;
        }
        current = if root.is_some() { d.parent() } else { None };
    }
    for layer in &layers {
        if !layer.is_file() {
            continue;
        }
        let base = if layer.ends_with(".git/info/exclude") {
            layer.parent().and_then(Path::parent).and_then(Path::parent)
        } else {
            layer.parent()
        };
        let Some(base) = base else { continue };
        let mut builder = ignore::gitignore::GitignoreBuilder::new(base);
        if builder.add(layer).is_some() {
            continue;
        }
        let Ok(matcher): Result<Gitignore, _> = builder.build() else {
            continue;
        };
        match matcher.matched_path_or_any_parents(&file, false) {
            Match::Ignore(_) => return true,
            Match::Whitelist(_) => return false,
            Match::None => {}
        }
    }
    false
}

/// How long a run waits for another one to finish its append. The lock is held for a few file
/// reads and one small write, so only a stopped or hung process holds it this long; kvenv then
/// goes on without it rather than hang: the worst outcome is a duplicate line.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// An exclusive lock on `dir`, released when the returned handle is dropped; `None` if the
/// folder cannot be opened, the filesystem has no locks, or [`LOCK_WAIT`] passed.
fn lock_folder(dir: &Path) -> Option<File> {
    let folder = File::open(dir).ok()?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match folder.try_lock() {
            Ok(()) => return Some(folder),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
}

/// Whether git tracks `output` already (then ignoring it changes nothing: it must be removed
/// with `git rm --cached`). `None` when git is not installed or this is not a repository.
pub fn tracked_by_git(output: &Path) -> Option<bool> {
    let dir = absolute_dir(output).ok()?;
    repo_root(&dir)?;
    let name = output.file_name()?;
    let status = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    Some(status.success())
}

fn absolute_dir(output: &Path) -> Result<PathBuf, WriteError> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::canonicalize(dir).map_err(|e| WriteError {
        path: dir.to_owned(),
        reason: crate::error::io_reason(&e),
    })
}

fn repo_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_owned)
}

/// Escape gitignore's special characters so the rule names exactly this file.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') || (i == 0 && matches!(c, '#' | '!')) {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join(".git")).unwrap();
        d
    }

    #[test]
    fn creates_a_gitignore() {
        let d = repo();
        let out = d.path().join(".env");
        assert_eq!(
            ensure_ignored(&out).unwrap(),
            Outcome::Added(fs::canonicalize(d.path()).unwrap().join(".gitignore"))
        );
        assert_eq!(
            fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            "/.env\n"
        );
        assert_eq!(ensure_ignored(&out).unwrap(), Outcome::AlreadyIgnored);
    }

    #[test]
    fn appends_after_a_missing_newline() {
        let d = repo();
        fs::write(d.path().join(".gitignore"), "target").unwrap();
        ensure_ignored(&d.path().join(".env")).unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            "target\n/.env\n"
        );
    }

    #[test]
    fn a_pattern_in_a_parent_counts() {
        let d = repo();
        fs::write(d.path().join(".gitignore"), "*.env\n").unwrap();
        fs::create_dir(d.path().join("app")).unwrap();
        assert_eq!(
            ensure_ignored(&d.path().join("app/prod.env")).unwrap(),
            Outcome::AlreadyIgnored
        );
        assert!(!d.path().join("app/.gitignore").exists());
    }

    #[test]
    fn a_negation_below_wins() {
        let d = repo();
        fs::write(d.path().join(".gitignore"), ".env\n").unwrap();
        fs::create_dir(d.path().join("app")).unwrap();
        fs::write(d.path().join("app/.gitignore"), "!.env\n").unwrap();
        assert!(matches!(
            ensure_ignored(&d.path().join("app/.env")).unwrap(),
            Outcome::Added(_)
        ));
        assert_eq!(
            fs::read_to_string(d.path().join("app/.gitignore")).unwrap(),
            "!.env\n/.env\n"
        );
    }

    #[test]
    fn runs_at_once_add_one_rule() {
        let d = repo();
        fs::write(d.path().join(".gitignore"), "target/\n").unwrap();
        let out = d.path().join(".env");
        let barrier = std::sync::Barrier::new(16);
        let added = std::thread::scope(|s| {
            let runs: Vec<_> = (0..16)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        ensure_ignored(&out).unwrap()
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap())
                .filter(|o| matches!(o, Outcome::Added(_)))
                .count()
        });
        assert_eq!(added, 1);
        assert_eq!(
            fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            "target/\n/.env\n"
        );
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(escape("a*b"), "a\\*b");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape("x "), "x\\ ");
    }
}
