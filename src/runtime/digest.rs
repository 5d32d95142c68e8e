//! sha256 of artifacts: a file's content, or a directory's entries (relative paths and
//! contents, in name order), as lowercase hex.

use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::io::Read;
use std::path::Path;

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The sha256 of `bytes`.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The sha256 of `texts` one after the other (as of their concatenation).
pub fn sha256_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for t in texts {
        h.update(t.as_bytes());
    }
    hex(&h.finalize())
}

/// Feeds the regular file at `path`, as long as it was when opened (a FIFO or a device is
/// refused at once, never waited on or read without end; a file that grows while it is
/// read is hashed as it was).
fn feed_file(h: &mut Sha256, path: &Path) -> std::io::Result<()> {
    let (f, len) = crate::load::open_regular(path)?;
    let mut f = f.take(len);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

fn feed_dir(h: &mut Sha256, root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let path = e.path();
        let rel = path.strip_prefix(root).unwrap_or(&path);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        // Symlinks are hashed as their target's name, never followed out.
        let kind = e.file_type()?;
        if kind.is_symlink() {
            h.update(std::fs::read_link(&path)?.to_string_lossy().as_bytes());
        } else if kind.is_dir() {
            feed_dir(h, root, &path)?;
        } else {
            feed_file(h, &path)?;
        }
        h.update([0]);
    }
    Ok(())
}

/// The sha256 of a file, or of a directory's tree.
///
/// # Errors
///
/// When the file, or a file or directory of the tree, cannot be read.
pub fn sha256_path(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    if path.is_dir() {
        feed_dir(&mut h, path, path)?;
    } else {
        feed_file(&mut h, path)?;
    }
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hash_their_content_and_directories_their_tree() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.md");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(
            sha256_path(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let before = sha256_path(dir.path()).unwrap();
        std::fs::write(&f, "abd").unwrap();
        assert_ne!(sha256_path(dir.path()).unwrap(), before);
    }
}
