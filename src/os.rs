//! What differs between Unix and Windows, in one place.
//!
//! kvenv is written for Unix, where its guarantees are made: the output is created with mode
//! 0600 from its first byte, ownership is kept under `sudo`, FIFOs and devices are opened
//! without blocking and refused, and `run` replaces itself with the command. On Windows (built
//! by the release workflow, not tested here) the same code runs with these differences:
//!
//! - **No mode bits.** Files get the folder's inherited ACL; `[output] mode` is not applied and
//!   `check` does not compare it. Keep the project folder private to your user.
//! - **No ownership changes**, and nothing is "root".
//! - **Atomic replace** is `MoveFileEx` with replace-existing (what `std::fs::rename` does):
//!   atomic on NTFS for readers that open the file after it.
//! - **No FIFOs or devices** to refuse: a path that is not a regular file (a folder) is refused
//!   as on Unix.
//! - **`run` spawns and waits** (there is no exec): the command's exit code is kvenv's. Only
//!   Ctrl-C can be caught, and it reaches the command from the console itself; a restart under
//!   `--watch` ends the command with `TerminateProcess` (no grace signal exists).

use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io;
use std::path::Path;

/// Open `path` with `options`, without blocking on a FIFO (Unix: `O_NONBLOCK`).
pub fn open_nonblocking(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The permission bits of a file (Unix); `None` where there are none.
pub fn mode(meta: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Permissions with these mode bits (Unix); `None` where there are none.
pub fn permissions(mode: u32) -> Option<Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        None
    }
}

/// Set the mode bits of the file at `path` (nothing where there are none).
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    match permissions(mode) {
        Some(p) => std::fs::set_permissions(path, p),
        None => Ok(()),
    }
}

/// Set the mode bits of an open file (nothing where there are none).
pub fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    match permissions(mode) {
        Some(p) => file.set_permissions(p),
        None => Ok(()),
    }
}

/// The owner and group of a file (Unix).
pub fn owner(meta: &Metadata) -> Option<(u32, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.uid(), meta.gid()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Give an open file to `owner` (Unix, as root).
pub fn chown(file: &File, owner: (u32, u32)) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::fchown(file, Some(owner.0), Some(owner.1))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, owner);
        Ok(())
    }
}

/// Whether this process may give files away (`chown` to another user).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Whether two files are one (same device and inode); `false` where that cannot be told.
pub fn same_file(a: &Metadata, b: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// What a special file is, for messages: "a FIFO", "a character device"...
pub fn special_kind(kind: std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO");
        }
        if kind.is_char_device() {
            return Some("a character device");
        }
        if kind.is_block_device() {
            return Some("a block device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    let _ = kind;
    None
}
