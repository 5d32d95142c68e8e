//! Writes confined to a directory (the workspace, a story's worktree): every write bmad
//! makes there (artifacts, placeholders, alert files, post-mortems, worktree homes) goes
//! through here. On Linux the path is walked from a handle on the root, one component at a
//! time, opening each without following a symlink; a symlink met on the way is followed
//! only when what it leads to, looked at through the opened handle, is inside the root, and
//! never to create a file. So a link planted before the run or by an agent during its task
//! cannot carry a write outside, however it is swapped. A file is truncated only after it
//! was looked at through the opened handle, and a file with another hard link (which may
//! be a file outside the workspace) is not written. Elsewhere the path is checked before
//! writing (no such guarantee against a concurrent swap).

use std::path::{Component, Path, PathBuf};

/// Why a confined write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfinedError {
    /// A symlink on the way leads outside the root (or nowhere, for the file itself).
    #[error("`{link}` is a symbolic link that leads outside the workspace: not written through")]
    LinkOut {
        /// The link, as a path inside the root.
        link: String,
    },
    /// The path leaves the root by `..`, or is not under it.
    #[error("`{path}` is outside the workspace")]
    Outside {
        /// The path as given.
        path: String,
    },
    /// What is there is not a regular file (a FIFO, a device, a directory).
    #[error("`{path}` is not a regular file: not written")]
    NotAFile {
        /// The path inside the root.
        path: String,
    },
    /// The file has other hard links: it may be a file outside the workspace.
    #[error(
        "`{path}` has {links} hard links (one may be a file outside the workspace): not written through"
    )]
    HardLink {
        /// The path inside the root.
        path: String,
        /// How many names the file has.
        links: u64,
    },
    /// The system refused.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The path inside the root.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Created or replaced.
    Replace,
    /// Created or appended to.
    Append,
}

/// `full` as components under `root`, refusing `..` out of it.
fn inside(root: &Path, full: &Path) -> Result<Vec<PathBuf>, ConfinedError> {
    let outside = || ConfinedError::Outside {
        path: full.display().to_string(),
    };
    let rel = full.strip_prefix(root).map_err(|_| outside())?;
    let mut parts: Vec<PathBuf> = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(PathBuf::from(p)),
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(parts)
}

/// Writes `bytes` to the file `full` (inside `root`), making its parent directories.
///
/// # Errors
///
/// When a part of the path leads out of `root` (a symlink, `..`) or the file cannot be
/// written.
pub fn write(root: &Path, full: &Path, bytes: &[u8], mode: Mode) -> Result<(), ConfinedError> {
    use std::io::Write;
    let parts = inside(root, full)?;
    let Some((name, dirs)) = parts.split_last() else {
        return Err(ConfinedError::NotAFile {
            path: full.display().to_string(),
        });
    };
    let mut file = imp::open_file(root, dirs, name, mode)?;
    file.write_all(bytes).map_err(|source| ConfinedError::Io {
        path: full.display().to_string(),
        source,
    })
}

/// Rewrites the file `full` (inside `root`) under an exclusive lock on its directory
/// (`flock`, which every bmad writing there waits for): `change` is given the file's
/// bytes now (`None` when there is no file) and returns the new bytes, or `None` to leave
/// it as it is. The new bytes go to a temporary file beside it, synced, then renamed over
/// it, so a reader sees the old file or the new one, never half of one. A symbolic link
/// there is not written through. True when the file was written.
///
/// # Errors
///
/// When a part of the path leads out of `root`, the file is no regular file, or it
/// cannot be read, locked or written.
pub fn update(
    root: &Path,
    full: &Path,
    change: impl FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
) -> Result<bool, ConfinedError> {
    let parts = inside(root, full)?;
    let Some((name, dirs)) = parts.split_last() else {
        return Err(ConfinedError::NotAFile {
            path: full.display().to_string(),
        });
    };
    platform::update(root, dirs, name, change)
}

/// Makes the directory `full` (inside `root`) and its parents.
///
/// # Errors
///
/// When a part of the path leads out of `root` or a directory cannot be made.
pub fn create_dir_all(root: &Path, full: &Path) -> Result<(), ConfinedError> {
    let parts = inside(root, full)?;
    imp::open_dirs(root, &parts).map(|_| ())
}

/// Checks, writing nothing, that no existing part of `full` (inside `root`) is a symbolic
/// link that leads outside `root` or nowhere: for a file another program opens by its path
/// (the state database), looked at just before it is opened.
///
/// # Errors
///
/// When `..` or a symbolic link leads out of `root`.
pub fn check_inside(root: &Path, full: &Path) -> Result<(), ConfinedError> {
    let mut at = root.to_path_buf();
    let mut shown = PathBuf::new();
    for part in inside(root, full)? {
        at.push(&part);
        shown.push(&part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => match at.canonicalize() {
                Ok(real) if real.starts_with(root) => {}
                _ => {
                    return Err(ConfinedError::LinkOut {
                        link: shown.display().to_string(),
                    });
                }
            },
            Ok(_) => {}
            // Nothing there: nothing further down to follow.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// The state database bmad keeps in `workspace` (`.bmad/state.db`), refused when `.bmad`,
/// the database or its journal files are symbolic links that lead out of the workspace (a
/// planted link would have the store, and its `.gitignore`, written elsewhere). Looked at
/// just before the store opens it (`SQLite` opens it by its path).
///
/// # Errors
///
/// When a part of the path leads out of the workspace.
pub fn state_path(workspace: &Path) -> Result<PathBuf, ConfinedError> {
    let root = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let path = root.join(crate::state::DEFAULT_STATE_PATH);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        check_inside(&root, Path::new(&file))?;
    }
    Ok(path)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{ConfinedError, Mode};
    use rustix::fs::{Mode as Perm, OFlags, fstat, mkdirat, openat};
    use rustix::io::Errno;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::path::{Path, PathBuf};

    fn io(path: &Path, e: Errno) -> ConfinedError {
        ConfinedError::Io {
            path: path.display().to_string(),
            source: e.into(),
        }
    }

    /// The real path of an open handle.
    fn real(fd: &OwnedFd) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()
    }

    /// Opens `name` in `dir` (at `at`, for messages) following a symlink there, and keeps
    /// it only if what was opened is inside `root`.
    fn through_link(
        root: &Path,
        dir: &OwnedFd,
        name: &Path,
        at: &Path,
        flags: OFlags,
    ) -> Result<OwnedFd, ConfinedError> {
        let link_out = || ConfinedError::LinkOut {
            link: at.display().to_string(),
        };
        let fd = openat(dir, name, flags | OFlags::CLOEXEC, Perm::empty()).map_err(|e| {
            if e == Errno::NOENT {
                link_out()
            } else {
                io(at, e)
            }
        })?;
        match real(&fd) {
            Some(p) if p.starts_with(root) => Ok(fd),
            _ => Err(link_out()),
        }
    }

    /// Opens (making them) the directories `parts` under `root`.
    pub(super) fn open_dirs(root: &Path, parts: &[PathBuf]) -> Result<OwnedFd, ConfinedError> {
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut dir =
            openat(rustix::fs::CWD, root, dir_flags, Perm::empty()).map_err(|e| io(root, e))?;
        let mut at = PathBuf::new();
        for part in parts {
            at.push(part);
            let nofollow = dir_flags | OFlags::NOFOLLOW;
            let next = match openat(&dir, part, nofollow, Perm::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match mkdirat(&dir, part, Perm::from_bits_truncate(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io(&at, e)),
                    }
                    openat(&dir, part, nofollow, Perm::empty()).map_err(|e| match e {
                        Errno::LOOP | Errno::NOTDIR => ConfinedError::LinkOut {
                            link: at.display().to_string(),
                        },
                        e => io(&at, e),
                    })?
                }
                // A symlink (or something else that is no directory).
                Err(Errno::LOOP | Errno::NOTDIR) => through_link(root, &dir, part, &at, dir_flags)?,
                Err(e) => return Err(io(&at, e)),
            };
            dir = next;
        }
        Ok(dir)
    }

    /// Opens the file `name` in the directories `dirs` under `root` for writing.
    pub(super) fn open_file(
        root: &Path,
        dirs: &[PathBuf],
        name: &Path,
        mode: Mode,
    ) -> Result<std::fs::File, ConfinedError> {
        let dir = open_dirs(root, dirs)?;
        let at: PathBuf = dirs.iter().collect::<PathBuf>().join(name);
        // Never blocking on a FIFO; never creating through a link; truncated only once
        // what was opened is known to be a file of the workspace's own.
        let flags = OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let flags = match mode {
            Mode::Replace => flags,
            Mode::Append => flags | OFlags::APPEND,
        };
        let fd = match openat(
            &dir,
            name,
            flags | OFlags::CREATE | OFlags::NOFOLLOW,
            Perm::from_bits_truncate(0o666),
        ) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => through_link(root, &dir, name, &at, flags)?,
            Err(Errno::NXIO) => {
                return Err(ConfinedError::NotAFile {
                    path: at.display().to_string(),
                });
            }
            Err(e) => return Err(io(&at, e)),
        };
        let stat = fstat(&fd).map_err(|e| io(&at, e))?;
        if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(ConfinedError::NotAFile {
                path: at.display().to_string(),
            });
        }
        #[allow(clippy::useless_conversion)] // nlink_t is u32 on some targets
        let links = u64::from(stat.st_nlink);
        if links > 1 {
            return Err(ConfinedError::HardLink {
                path: at.display().to_string(),
                links,
            });
        }
        if mode == Mode::Replace {
            rustix::fs::ftruncate(&fd, 0).map_err(|e| io(&at, e))?;
        }
        let file = std::fs::File::from(fd);
        // Writes block as usual from here.
        let flags = rustix::fs::fcntl_getfl(&file).map_err(|e| io(&at, e))?;
        rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK).map_err(|e| io(&at, e))?;
        Ok(file)
    }
}

#[cfg(target_os = "linux")]
mod replace {
    use super::ConfinedError;
    use rustix::fs::{AtFlags, FlockOperation, Mode as Perm, OFlags, flock, fstat, openat};
    use rustix::io::Errno;
    use std::io::{Read, Write};
    use std::path::{Path, PathBuf};

    fn io(path: &Path, e: impl Into<std::io::Error>) -> ConfinedError {
        ConfinedError::Io {
            path: path.display().to_string(),
            source: e.into(),
        }
    }

    /// See [`super::update`].
    pub(super) fn update(
        root: &Path,
        dirs: &[PathBuf],
        name: &Path,
        change: impl FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, ConfinedError> {
        let dir = super::imp::open_dirs(root, dirs)?;
        let at: PathBuf = dirs.iter().collect::<PathBuf>().join(name);
        // Held until `dir` is closed, when this returns.
        flock(&dir, FlockOperation::LockExclusive).map_err(|e| io(&at, e))?;
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK;
        let current = match openat(&dir, name, flags, Perm::empty()) {
            Ok(fd) => {
                let stat = fstat(&fd).map_err(|e| io(&at, e))?;
                if rustix::fs::FileType::from_raw_mode(stat.st_mode)
                    != rustix::fs::FileType::RegularFile
                {
                    return Err(ConfinedError::NotAFile {
                        path: at.display().to_string(),
                    });
                }
                let mut bytes = Vec::new();
                std::fs::File::from(fd)
                    .read_to_end(&mut bytes)
                    .map_err(|e| io(&at, e))?;
                Some(bytes)
            }
            Err(Errno::NOENT) => None,
            Err(Errno::LOOP) => {
                return Err(ConfinedError::NotAFile {
                    path: at.display().to_string(),
                });
            }
            Err(e) => return Err(io(&at, e)),
        };
        let Some(bytes) = change(current.as_deref()) else {
            return Ok(false);
        };
        let temp = PathBuf::from(format!(".{}.bmad-{}", name.display(), std::process::id()));
        let write = || -> Result<(), ConfinedError> {
            let create = OFlags::WRONLY
                | OFlags::CREATE
                | OFlags::TRUNC
                | OFlags::NOFOLLOW
                | OFlags::CLOEXEC;
            let fd = openat(&dir, &temp, create, Perm::from_bits_truncate(0o666))
                .map_err(|e| io(&at, e))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(&bytes).map_err(|e| io(&at, e))?;
            file.sync_all().map_err(|e| io(&at, e))?;
            rustix::fs::renameat(&dir, &temp, &dir, name).map_err(|e| io(&at, e))
        };
        write().inspect_err(|_| {
            let _ = rustix::fs::unlinkat(&dir, &temp, AtFlags::empty());
        })?;
        Ok(true)
    }
}

#[cfg(not(target_os = "linux"))]
use imp as platform;
/// Where [`update`] is done: a locked atomic replace on Linux, a checked write elsewhere.
#[cfg(target_os = "linux")]
use replace as platform;

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{ConfinedError, Mode};
    use std::path::{Path, PathBuf};

    fn checked(root: &Path, path: &Path) -> Result<(), ConfinedError> {
        // The deepest existing part decides where the path really is.
        let mut existing = path;
        loop {
            if let Ok(real) = existing.canonicalize() {
                return if real.starts_with(root) {
                    Ok(())
                } else {
                    Err(ConfinedError::LinkOut {
                        link: existing.display().to_string(),
                    })
                };
            }
            match existing.parent() {
                Some(p) if p.starts_with(root) => existing = p,
                _ => return Ok(()),
            }
        }
    }

    pub fn open_dirs(root: &Path, parts: &[PathBuf]) -> Result<(), ConfinedError> {
        let full = root.join(parts.iter().collect::<PathBuf>());
        checked(root, &full)?;
        std::fs::create_dir_all(&full).map_err(|source| ConfinedError::Io {
            path: full.display().to_string(),
            source,
        })
    }

    /// See [`super::update`]: checked before writing, with no lock.
    pub fn update(
        root: &Path,
        dirs: &[PathBuf],
        name: &Path,
        change: impl FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, ConfinedError> {
        use std::io::Write;
        let full = root.join(dirs.iter().collect::<PathBuf>()).join(name);
        let current = std::fs::read(&full).ok();
        let Some(bytes) = change(current.as_deref()) else {
            return Ok(false);
        };
        let mut file = open_file(root, dirs, name, Mode::Replace)?;
        file.write_all(&bytes).map_err(|source| ConfinedError::Io {
            path: full.display().to_string(),
            source,
        })?;
        Ok(true)
    }

    pub fn open_file(
        root: &Path,
        dirs: &[PathBuf],
        name: &Path,
        mode: Mode,
    ) -> Result<std::fs::File, ConfinedError> {
        open_dirs(root, dirs)?;
        let full = root.join(dirs.iter().collect::<PathBuf>()).join(name);
        if std::fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(ConfinedError::LinkOut {
                link: full.display().to_string(),
            });
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true);
        match mode {
            Mode::Replace => options.write(true).truncate(true),
            Mode::Append => options.append(true),
        };
        options.open(&full).map_err(|source| ConfinedError::Io {
            path: full.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests;
