//! Replacing the output file atomically, with its mode set from the first byte.
//!
//! The seed script deleted `.env` and then appended to it, so a failed run left no file or half
//! a file. kvenv writes a temp file in the same folder (created with the final mode, so the
//! secrets are never readable by others, whatever the umask), fsyncs it, renames it over the
//! target and fsyncs the folder. A reader sees the old file or the new one, never a mix, and a
//! crash at any point leaves the old file whole. Identical content is not rewritten, so the
//! file's mtime (and any watcher) only moves when a secret did.
//!
//! If the output path is a symlink (a `.env` pointing into a shared config folder), its final
//! target is replaced and the link stays. That target must be a regular file, or not exist yet:
//! kvenv never replaces a device, a FIFO or a folder. Renaming over `/dev/null` as root would
//! replace the device itself with a file of secrets, and reading `/dev/zero` or a FIFO to compare
//! would never end (see [`crate::files`]).
//!
//! When kvenv runs as root (`sudo kvenv sync`) and the file exists, the new file gets the old
//! one's owner and group, so the app that read it as its own user still can. A new file belongs
//! to whoever ran kvenv, like any file a program creates.
//!
//! A run killed between creating its temp file and the rename (SIGKILL, OOM killer, power loss)
//! leaves that temp file behind: `.NAME.kvenv-XXXXXX.tmp`, mode 0600, holding some or all of the
//! new secrets. The next write to the same file removes such leftovers, but it must never remove
//! the temp file of a run that is still writing (two `kvenv sync` at once, say from a cron job
//! and a developer). Age cannot tell the two apart: a live run can be slow (a stopped process, a
//! slow disk) and a dead one recent. So each run holds an exclusive `flock` on its temp file
//! from just after creating it until the rename is done, and a leftover is removed only if its
//! lock can be taken. The kernel drops a dead process's locks whatever killed it, so an
//! unlockable temp file belongs to a live run and is left alone. Two narrow races are closed by
//! comparing inodes: the sweeper removes a name only if it still names the file it locked (not a
//! file a live run has just renamed into place under that name), and a writer whose brand-new
//! temp file was swept between its creation and its lock notices that its name is gone and starts
//! over. Where the filesystem has no locks (`try_lock` fails with an error), nothing is removed.

use std::fs::{self, File, TryLockError};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use thiserror::Error;

use crate::error::io_reason;
use crate::files;
use crate::os;

/// The output (or `.gitignore`) could not be read or written (exit 6).
#[derive(Debug, Error)]
#[error("cannot {verb} {}: {reason}", path.display())]
pub struct WriteError {
    /// `read` or `write`.
    pub verb: &'static str,
    pub path: PathBuf,
    pub reason: String,
}

impl WriteError {
    /// Writing `path` failed with `reason`.
    pub fn write(path: &Path, reason: impl Into<String>) -> WriteError {
        WriteError {
            verb: "write",
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    /// Reading `path` (to compare, or to keep its content) failed with `reason`.
    pub fn read(path: &Path, reason: impl Into<String>) -> WriteError {
        WriteError {
            verb: "read",
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    fn new(path: &Path, e: &std::io::Error) -> WriteError {
        WriteError::write(path, io_reason(e))
    }
}

/// What [`write_atomic`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Written,
    /// The content was already there; at most the mode was corrected.
    Unchanged,
}

/// The file a path finally names: the path itself, or its symlink target (followed through
/// chains of links, relative targets resolved against the link's folder).
pub fn resolve_target(path: &Path) -> Result<PathBuf, WriteError> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&current).map_err(|e| WriteError::new(path, &e))?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(WriteError::write(path, "too many levels of symbolic links"))
}

/// The file `path` finally names (see [`resolve_target`]), checked to be a regular file or
/// nothing yet. `path` is what errors name: the path the user gave.
pub fn writable_target(path: &Path) -> Result<PathBuf, WriteError> {
    let target = resolve_target(path)?;
    match fs::metadata(&target) {
        Ok(m) if m.is_file() => Ok(target),
        Ok(m) if m.is_dir() => Err(WriteError::write(path, "is a directory")),
        Ok(m) => Err(WriteError::write(
            path,
            format!(
                "it is {}, not a regular file; kvenv only replaces regular files",
                files::describe(m.file_type())
            ),
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            // A new file: its folder must exist (kvenv does not create folders).
            match fs::metadata(files::parent_or_dot(&target)) {
                Ok(m) if m.is_dir() => Ok(target),
                Ok(_) => Err(WriteError::write(path, "not a directory")),
                Err(e) => Err(WriteError::new(path, &e)),
            }
        }
        Err(e) => Err(WriteError::new(path, &e)),
    }
}

/// Why `path` (whose final target is `target`) must never be an output, if it must not: kvenv
/// would overwrite the manifest it was reading, a `.gitignore` (its rules, and the rule that
/// keeps the secrets out of git, replaced by secrets), or git's own files.
pub fn forbidden_output(path: &Path, target: &Path, manifest: &Path) -> Option<&'static str> {
    let absolute_target = absolute(target);
    for p in [path, target, absolute_target.as_path()] {
        if p.file_name().is_some_and(|n| n == ".gitignore") {
            return Some("it is a .gitignore");
        }
        if p.components().any(|c| c.as_os_str() == ".git") {
            return Some("it is inside .git/, git's own folder");
        }
    }
    if fs::canonicalize(manifest).is_ok_and(|m| m == absolute_target) {
        return Some("it is the manifest itself");
    }
    None
}

/// `path` made absolute with symlinks in its folder resolved, also when the file itself does
/// not exist yet; `path` unchanged when its folder cannot be resolved.
fn absolute(path: &Path) -> PathBuf {
    match (
        fs::canonicalize(files::parent_or_dot(path)),
        path.file_name(),
    ) {
        (Ok(d), Some(name)) => d.join(name),
        _ => path.to_owned(),
    }
}

/// The current content of `path` (through symlinks, at most [`files::LIMIT`]), or `None` if
/// there is no file.
pub fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    files::read(path, files::LIMIT).map_err(|e| WriteError::read(path, io_reason(&e)))
}

/// The permission bits of the existing file at `path` (through symlinks), if there is one.
pub fn existing_mode(path: &Path) -> Option<u32> {
    fs::metadata(path).ok().and_then(|m| os::mode(&m))
}

/// Whether the regular file `target` holds exactly `content`: reads at most one byte more than
/// `content`, so a huge (or endless) file costs no more than the new content does.
fn holds(target: &Path, content: &[u8]) -> std::io::Result<bool> {
    let file = match files::open_regular(target) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut old = Vec::with_capacity(content.len() + 1);
    file.take(content.len() as u64 + 1).read_to_end(&mut old)?;
    Ok(old == content)
}

/// Replace `path` with `content`, atomically, with `mode`.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<Outcome, WriteError> {
    stage(path, content, mode)?.commit()
}

/// New content, written and flushed to a temp file next to the target but not yet in place:
/// [`Staged::commit`] renames it over the target; dropping it removes it. `kvenv sync` stages
/// the output, then makes sure git ignores it, and only then commits, so a run that cannot
/// keep the file out of git leaves the old one as it was.
#[must_use = "nothing is written until the staged file is committed"]
pub enum Staged {
    /// The file already holds the content (its mode has been corrected).
    Unchanged,
    Ready {
        temp: NamedTempFile,
        target: PathBuf,
        dir: PathBuf,
        /// The path the user gave, for messages.
        path: PathBuf,
    },
}

/// Stage `content` for `path` with `mode` (see [`Staged`]).
pub fn stage(path: &Path, content: &[u8], mode: u32) -> Result<Staged, WriteError> {
    let target = writable_target(path)?;
    let dir = files::parent_or_dot(&target).to_owned();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Before the up-to-date check: most runs end there, and a leftover must not outlive them.
    remove_stale_temps(&dir, &name);
    if holds(&target, content).map_err(|e| WriteError::read(path, io_reason(&e)))? {
        if existing_mode(&target).is_some_and(|m| m != mode) {
            os::set_mode(&target, mode).map_err(|e| WriteError::new(path, &e))?;
        }
        return Ok(Staged::Unchanged);
    }
    let owner = fs::metadata(&target).ok().and_then(|m| os::owner(&m));

    let mut temp = locked_temp(&dir, &name, mode).map_err(|e| WriteError::new(path, &e))?;
    // Created with at most owner read/write (the umask can only take bits away); the exact mode
    // is set before any content is written, so it never exposes more than `mode` allows.
    os::set_file_mode(temp.as_file(), mode).map_err(|e| WriteError::new(path, &e))?;
    if let Some(owner) = owner
        && os::is_root()
    {
        os::chown(temp.as_file(), owner).map_err(|e| WriteError::new(path, &e))?;
    }
    temp.write_all(content)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| WriteError::new(path, &e))?;
    Ok(Staged::Ready {
        temp,
        target,
        dir,
        path: path.to_owned(),
    })
}

impl Staged {
    /// Put the staged content in place.
    pub fn commit(self) -> Result<Outcome, WriteError> {
        let Staged::Ready {
            temp,
            target,
            dir,
            path,
        } = self
        else {
            return Ok(Outcome::Unchanged);
        };
        temp.persist(&target)
            .map_err(|e| WriteError::new(&path, &e.error))?;
        // The rename is durable only once the folder's entry is.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(Outcome::Written)
    }
}

/// Append `content` to the existing regular file `path` in one write (the `$GITHUB_ENV` file
/// the runner made for the step). Not a FIFO or device: opened without blocking and checked.
pub fn append(path: &Path, content: &[u8]) -> Result<(), WriteError> {
    let mut file = os::open_nonblocking(fs::OpenOptions::new().append(true), path)
        .map_err(|e| WriteError::new(path, &e))?;
    let kind = file
        .metadata()
        .map_err(|e| WriteError::new(path, &e))?
        .file_type();
    if !kind.is_file() {
        return Err(WriteError::write(
            path,
            format!("it is {}, not a regular file", files::describe(kind)),
        ));
    }
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| WriteError::new(path, &e))
}

/// `.NAME.kvenv-`: the start of every temp file name for the output `NAME`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.kvenv-")
}

const TEMP_SUFFIX: &str = ".tmp";

/// A new temp file next to the output, locked for as long as it lives (see the module doc).
fn locked_temp(dir: &Path, name: &str, mode: u32) -> std::io::Result<NamedTempFile> {
    // A handful of tries: each lost race needs a sweep to land in a window of microseconds.
    for _ in 0..8 {
        let prefix = temp_prefix(name);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TEMP_SUFFIX);
        if let Some(p) = os::permissions(mode & 0o600) {
            builder.permissions(p);
        }
        let temp = builder.tempfile_in(dir)?;
        if temp.as_file().lock().is_err() {
            // No locks on this filesystem: no sweeper can lock it either, so none removes it.
            return Ok(temp);
        }
        if names_file(temp.path(), temp.as_file()) {
            return Ok(temp);
        }
    }
    Err(std::io::Error::other(
        "its temp file kept being removed by another process",
    ))
}

/// Whether `path` (not followed if a symlink) is the file open as `file`. (Windows cannot tell,
/// and needs not: a file open there cannot be removed by a sweeper.)
fn names_file(path: &Path, file: &File) -> bool {
    if cfg!(not(unix)) {
        return true;
    }
    match (fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => os::same_file(&a, &b),
        _ => false,
    }
}

/// Remove the temp files that killed runs left next to the output `name` in `dir`: those whose
/// lock nobody holds. Best effort: a leftover that cannot be removed is no reason to fail a run.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let is_ours = n.len() > prefix.len() + TEMP_SUFFIX.len()
            && n.starts_with(&prefix)
            && n.ends_with(TEMP_SUFFIX);
        // Only regular files: opening a FIFO someone named like a temp file would block.
        if !is_ours || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        match file.try_lock() {
            Ok(()) if names_file(&path, &file) => {
                let _ = fs::remove_file(&path);
            }
            // Renamed into place by the run that made it, just now.
            Ok(()) => {}
            // A live run holds it.
            Err(TryLockError::WouldBlock) => {}
            // No locks on this filesystem: its owner may be alive.
            Err(TryLockError::Error(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_replaces_and_skips_identical() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        assert_eq!(
            write_atomic(&p, b"A='1'\n", 0o600).unwrap(),
            Outcome::Written
        );
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            write_atomic(&p, b"A='1'\n", 0o600).unwrap(),
            Outcome::Unchanged
        );
        assert_eq!(
            write_atomic(&p, b"A='2'\n", 0o640).unwrap(),
            Outcome::Written
        );
        assert_eq!(fs::read(&p).unwrap(), b"A='2'\n");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn symlinks_keep_the_link() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("shared")).unwrap();
        let target = dir.path().join("shared/app.env");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("shared/app.env", &link).unwrap();
        write_atomic(&link, b"new", 0o600).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn leftovers_of_killed_runs_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        fs::write(&p, "A='1'\n").unwrap();
        let dead = dir.path().join("..env.kvenv-dead01.tmp");
        fs::write(&dead, "A='half").unwrap();
        let live = dir.path().join("..env.kvenv-live01.tmp");
        fs::write(&live, "A='2").unwrap();
        // Another open file description: its lock conflicts with the sweeper's, as another
        // process's would.
        let holder = File::open(&live).unwrap();
        holder.lock().unwrap();
        let other = dir.path().join(".other.kvenv-dead02.tmp");
        fs::write(&other, "").unwrap();

        // Even a run that finds the file up to date sweeps.
        assert_eq!(
            write_atomic(&p, b"A='1'\n", 0o600).unwrap(),
            Outcome::Unchanged
        );
        assert!(!dead.exists());
        assert!(live.exists(), "a live run's temp file was removed");
        assert!(other.exists(), "another output's temp file was removed");

        drop(holder);
        write_atomic(&p, b"A='3'\n", 0o600).unwrap();
        assert!(!live.exists());
        assert_eq!(fs::read(&p).unwrap(), b"A='3'\n");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x", 0o600).unwrap_err();
        assert_eq!(err.reason, "is a directory");
    }
}
