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
//! Two things git does that a naive check gets wrong, each of which would let `git add -A` stage
//! the secrets while kvenv reports the file as ignored:
//! - **A `.gitignore` that is a symbolic link does not count.** Git (since 2.32) does not follow
//!   an in-tree `.gitignore` symlink, so kvenv treats one as absent when it asks "is the file
//!   ignored?", and never writes through one: it refuses (exit 6) and says so.
//! - **The bytes land in a symlink's target.** When the output is a link (`.env ->
//!   envs/local.env`), the file that holds the secrets is the target; if that target lies inside
//!   a repository, it must be ignored too, so kvenv checks (and if needed adds a rule for) both.
//!
//! Every `.gitignore` is read through [`crate::files`]: regular files only, bounded, so a FIFO
//! or device named `.gitignore` cannot hang or exhaust a run.
//!
//! Runs at the same time (a deploy hook and a developer, or twenty CI jobs sharing a checkout)
//! must add the rule once, not once each. Check-then-append is a race, so the append happens
//! under an exclusive `flock` on the output's folder, and the check is repeated once the lock is
//! held: a run that waited finds the rule its predecessor added. The folder itself is locked
//! because the `.gitignore` is replaced by rename (a lock on the old file would not bind a run
//! that opens the new one) and a lock file of its own would be one more file in the user's
//! folder. Runs that find the file already ignored, the usual case, take no lock.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::io_reason;
use crate::files;
use crate::write::{WriteError, write_atomic};

/// A rule kvenv added.
#[derive(Debug, PartialEq, Eq)]
pub struct Added {
    /// The rule as written: `/.env`.
    pub rule: String,
    /// The `.gitignore` it went into, named as the user would: next to the path they gave.
    pub gitignore: PathBuf,
    /// The file the rule is for is the target of the output symlink, not the output itself.
    pub for_link_target: bool,
}

/// Make sure git ignores `output` (the path the user names) and, when `output` is a symlink to
/// a file inside a repository, that file too. Returns the rules added.
pub fn ensure_ignored(output: &Path) -> Result<Vec<Added>, WriteError> {
    let mut added = Vec::new();
    if let Some(rule) = ensure_one(output, false)? {
        added.push(rule);
    }
    let target = crate::write::resolve_target(output)?;
    if target != output
        && let Ok(dir) = absolute_dir(&target)
        && repo_root(&dir).is_some()
        && let Some(rule) = ensure_one(&target, true)?
    {
        added.push(rule);
    }
    Ok(added)
}

/// Make sure git ignores the file `path` (not followed if a symlink).
fn ensure_one(path: &Path, for_link_target: bool) -> Result<Option<Added>, WriteError> {
    let dir = absolute_dir(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.chars().any(char::is_control) {
        // A line break in the name would write a rule of the attacker's choosing.
        return Err(WriteError::write(
            path,
            "its name has control characters, which no .gitignore rule can name safely",
        ));
    }
    if is_ignored(&dir, &name) {
        return Ok(None);
    }
    let _lock = lock_folder(&dir);
    if is_ignored(&dir, &name) {
        return Ok(None);
    }

    let gitignore = dir.join(".gitignore");
    // Errors name the file as the user would: next to the output path they gave.
    let shown = path.with_file_name(".gitignore");
    if fs::symlink_metadata(&gitignore).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(WriteError::write(
            &shown,
            format!(
                "it is a symbolic link, which git does not read, so it cannot keep {name} out of commits; replace it with a regular file (or ignore {name} in a .gitignore higher up)"
            ),
        ));
    }
    crate::write::writable_target(&gitignore).map_err(|e| WriteError {
        path: shown.clone(),
        ..e
    })?;
    let mut content = files::read(&gitignore, files::LIMIT)
        .map_err(|e| WriteError::read(&shown, io_reason(&e)))?
        .unwrap_or_default();
    if !content.is_empty() && !content.ends_with(b"\n") {
        content.push(b'\n');
    }
    let rule = format!("/{}", escape(&name));
    content.extend_from_slice(format!("{rule}\n").as_bytes());
    let mode = fs::metadata(&gitignore)
        .ok()
        .and_then(|m| crate::os::mode(&m))
        .unwrap_or(0o644);
    write_atomic(&gitignore, &content, mode).map_err(|e| WriteError {
        path: shown.clone(),
        ..e
    })?;
    Ok(Some(Added {
        rule,
        gitignore: shown,
        for_link_target,
    }))
}

/// Whether a `.gitignore` from `dir` up to the repository root, or `.git/info/exclude`,
/// ignores the file `name` in `dir`. A `.gitignore` that is a symlink, or that cannot be read
/// as a regular file, counts as absent: git would not use it either.
fn is_ignored(dir: &Path, name: &str) -> bool {
    let file = dir.join(name);
    let root = repo_root(dir);

    let mut layers: Vec<(PathBuf, &Path)> = Vec::new();
    let mut current = Some(dir);
    while let Some(d) = current {
        layers.push((d.join(".gitignore"), d));
        if Some(d) == root.as_deref() {
            layers.push((d.join(".git/info/exclude"), d));
            break;
        }
        current = if root.is_some() { d.parent() } else { None };
    }
    for (layer, base) in &layers {
        let in_tree = layer.ends_with(".gitignore");
        if in_tree && fs::symlink_metadata(layer).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        let Ok(Some(text)) = files::read(layer, files::LIMIT) else {
            continue;
        };
        let mut builder = GitignoreBuilder::new(base);
        for line in String::from_utf8_lossy(&text).lines() {
            // A line the matcher cannot parse is skipped, as git skips it.
            let _ = builder.add_line(Some(layer.clone()), line);
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
    let dir = files::parent_or_dot(output);
    fs::canonicalize(dir).map_err(|e| WriteError::write(dir, io_reason(&e)))
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
            [Added {
                rule: "/.env".into(),
                gitignore: d.path().join(".gitignore"),
                for_link_target: false
            }]
        );
        assert_eq!(
            fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            "/.env\n"
        );
        assert_eq!(ensure_ignored(&out).unwrap(), []);
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
        assert_eq!(ensure_ignored(&d.path().join("app/prod.env")).unwrap(), []);
        assert!(!d.path().join("app/.gitignore").exists());
    }

    #[test]
    fn a_negation_below_wins() {
        let d = repo();
        fs::write(d.path().join(".gitignore"), ".env\n").unwrap();
        fs::create_dir(d.path().join("app")).unwrap();
        fs::write(d.path().join("app/.gitignore"), "!.env\n").unwrap();
        assert_eq!(ensure_ignored(&d.path().join("app/.env")).unwrap().len(), 1);
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
                .filter(|o| !o.is_empty())
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

    #[test]
    fn a_symlinked_gitignore_is_absent_and_never_written_through() {
        let d = repo();
        fs::write(d.path().join("rules"), ".env\n").unwrap();
        std::os::unix::fs::symlink("rules", d.path().join(".gitignore")).unwrap();
        let err = ensure_ignored(&d.path().join(".env")).unwrap_err();
        assert_eq!(err.verb, "write");
        assert!(
            err.reason
                .starts_with("it is a symbolic link, which git does not read")
        );
        assert_eq!(
            fs::read_to_string(d.path().join("rules")).unwrap(),
            ".env\n"
        );

        // A symlinked .gitignore higher up does not count either: the rule goes next to the file.
        fs::create_dir(d.path().join("app")).unwrap();
        assert_eq!(ensure_ignored(&d.path().join("app/.env")).unwrap().len(), 1);
        assert_eq!(
            fs::read_to_string(d.path().join("app/.gitignore")).unwrap(),
            "/.env\n"
        );
    }

    #[test]
    fn the_target_of_a_symlinked_output_is_ignored_too() {
        let d = repo();
        fs::write(d.path().join(".gitignore"), "/.env\n").unwrap();
        fs::create_dir(d.path().join("envs")).unwrap();
        fs::write(d.path().join("envs/local.env"), "").unwrap();
        std::os::unix::fs::symlink("envs/local.env", d.path().join(".env")).unwrap();
        assert_eq!(
            ensure_ignored(&d.path().join(".env")).unwrap(),
            [Added {
                rule: "/local.env".into(),
                gitignore: d.path().join("envs/.gitignore"),
                for_link_target: true
            }]
        );
        assert_eq!(ensure_ignored(&d.path().join(".env")).unwrap(), []);
    }

    #[test]
    fn a_gitignore_that_is_not_a_file_is_refused_at_once() {
        let d = repo();
        let fifo = d.path().join(".gitignore");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = ensure_ignored(&d.path().join(".env")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: it is a FIFO, not a regular file; kvenv only replaces regular files",
                fifo.display()
            )
        );
    }

    #[test]
    fn control_characters_in_the_name_are_refused() {
        let d = repo();
        let err = ensure_ignored(&d.path().join("x\n!.env")).unwrap_err();
        assert!(err.reason.contains("control characters"));
        assert!(!d.path().join(".gitignore").exists());
    }
}
