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
//! target is replaced and the link stays.

use std::fs::{self, File, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::error::io_reason;

/// The output (or `.gitignore`) could not be written (exit 6).
#[derive(Debug, Error)]
#[error("cannot write {}: {reason}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub reason: String,
}

impl WriteError {
    fn new(path: &Path, e: &std::io::Error) -> WriteError {
        WriteError {
            path: path.to_owned(),
            reason: io_reason(e),
        }
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
    Err(WriteError {
        path: path.to_owned(),
        reason: "too many levels of symbolic links".into(),
    })
}

/// The current content of `path` (through symlinks), or `None` if there is no file.
pub fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(WriteError::new(path, &e)),
    }
}

/// Replace `path` with `content`, atomically, with `mode`.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<Outcome, WriteError> {
    let target = resolve_target(path)?;
    if let Ok(meta) = fs::metadata(&target)
        && meta.is_dir()
    {
        return Err(WriteError {
            path: path.to_owned(),
            reason: "is a directory".into(),
        });
    }
    if read_existing(&target)?.as_deref() == Some(content) {
        let meta = fs::metadata(&target).map_err(|e| WriteError::new(path, &e))?;
        if meta.permissions().mode() & 0o7777 != mode {
            fs::set_permissions(&target, Permissions::from_mode(mode))
                .map_err(|e| WriteError::new(path, &e))?;
        }
        return Ok(Outcome::Unchanged);
    }

    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.kvenv-"))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(mode & 0o600))
        .tempfile_in(&dir)
        .map_err(|e| WriteError::new(path, &e))?;
    // Created with at most owner read/write (the umask can only take bits away); the exact mode
    // is set before any content is written, so it never exposes more than `mode` allows.
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(|e| WriteError::new(path, &e))?;
    temp.write_all(content)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| WriteError::new(path, &e))?;
    temp.persist(&target)
        .map_err(|e| WriteError::new(path, &e.error))?;
    // The rename is durable only once the folder's entry is.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(Outcome::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x", 0o600).unwrap_err();
        assert_eq!(err.reason, "is a directory");
    }
}
