//! Reading the files kvenv did not write: regular files only, and never more than a bound.
//!
//! kvenv reads several files it does not control: the manifest, the output it is about to
//! replace (to compare), `.gitignore` files, a hand-kept `.env`, token and credential files, CA
//! bundles. Any of them can be something other than a file. A FIFO blocks `open` until a writer
//! comes (forever, and `--timeout` cannot interrupt a blocked syscall); `/dev/zero` or
//! `/dev/urandom` never end, so reading them "to the end" grows the process until the kernel
//! kills it; a symlink to either is just as bad. So every such read goes through [`read`]:
//!
//! - the file is opened with `O_NONBLOCK` (an `open` of a FIFO returns at once) and checked with
//!   `fstat` on the open descriptor, so what is checked is what is read, whatever is renamed in
//!   between: anything but a regular file is refused;
//! - at most `limit` bytes are read (one more, to tell "exactly at the limit" from "over it").
//!
//! Errors are plain `io::Error`s with a short reason, for each caller to wrap in its own error
//! type with the path and what the file was for.

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Read};
use std::path::Path;

/// The largest manifest, `.gitignore`, hand-kept `.env` or CA bundle kvenv reads (64 MiB): far
/// above any real one, far below what would hurt.
pub const LIMIT: u64 = 64 << 20;

/// The largest token or credential file (1 MiB): a JWT is a few kilobytes.
pub const CREDENTIAL_LIMIT: u64 = 1 << 20;

/// The content of the regular file at `path` (symlinks followed), `None` if nothing is there.
pub fn read(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "it is larger than {}, the most kvenv reads",
            size(limit)
        )));
    }
    Ok(Some(bytes))
}

/// Like [`read`], as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> io::Result<Option<String>> {
    match read(path, limit)? {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            io::Error::new(ErrorKind::InvalidData, "stream did not contain valid UTF-8")
        }),
    }
}

/// Open `path` for reading if it is a regular file, without blocking on a FIFO.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = crate::os::open_nonblocking(OpenOptions::new().read(true), path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::other(format!(
            "it is {}, not a regular file",
            describe(kind)
        )));
    }
    // O_NONBLOCK has no effect on reads of a regular file.
    Ok(file)
}

/// The folder `path` is in, `.` for a bare file name: where its temp files, `.gitignore` and
/// relative neighbours live.
pub fn parent_or_dot(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// What kind of thing a non-regular file is, for messages: "a directory", "a FIFO".
pub fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if let Some(special) = crate::os::special_kind(kind) {
        special
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// `64 MiB`, `1 MiB`, `512 bytes`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read(&p, 5).unwrap().unwrap(), b"12345");
        let err = read(&p, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is larger than 4 bytes, the most kvenv reads"
        );
        assert!(read(&dir.path().join("missing"), 5).unwrap().is_none());
    }

    #[test]
    fn devices_fifos_and_folders_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Nobody writes to the FIFO: a blocking open would never return.
        let err = read(&fifo, LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "it is a FIFO, not a regular file");
        let err = read(Path::new("/dev/zero"), LIMIT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is a character device, not a regular file"
        );
        let err = read(dir.path(), LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read(&link, LIMIT).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(2048), "2 KiB");
        assert_eq!(size(100), "100 bytes");
    }
}
