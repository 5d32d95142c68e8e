//! Tests of confined writes: links out, links inside followed, `..`, hard links, FIFOs,
//! updates and the state path.

use super::*;

fn root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    (dir, root)
}

#[test]
fn files_and_directories_are_made_inside() {
    let (_d, root) = root();
    write(&root, &root.join("a/b/c.md"), b"x", Mode::Replace).unwrap();
    write(&root, &root.join("a/b/c.md"), b"y", Mode::Append).unwrap();
    assert_eq!(std::fs::read(root.join("a/b/c.md")).unwrap(), b"xy");
    create_dir_all(&root, &root.join("d/e")).unwrap();
    assert!(root.join("d/e").is_dir());
}

#[cfg(unix)]
#[test]
fn links_out_are_refused_and_links_inside_followed() {
    use std::os::unix::fs::symlink;
    let (_d, root) = root();
    let (_o, outside) = self::root();
    // A dangling link to a file outside, a link to a directory outside.
    symlink(outside.join("new.md"), root.join("dangling.md")).unwrap();
    symlink(&outside, root.join("out")).unwrap();
    for (path, link) in [("dangling.md", "dangling.md"), ("out/x/y.md", "out")] {
        let err = write(&root, &root.join(path), b"x", Mode::Replace).unwrap_err();
        assert!(
            matches!(&err, ConfinedError::LinkOut { link: l } if l == link),
            "{err}"
        );
    }
    let err = create_dir_all(&root, &root.join("out/made")).unwrap_err();
    assert!(matches!(err, ConfinedError::LinkOut { .. }), "{err}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    // A link that stays inside is followed.
    std::fs::create_dir(root.join("real")).unwrap();
    symlink(root.join("real"), root.join("alias")).unwrap();
    write(&root, &root.join("alias/f.md"), b"in", Mode::Replace).unwrap();
    assert_eq!(std::fs::read(root.join("real/f.md")).unwrap(), b"in");
    // `..` out of the root.
    let err = write(&root, &root.join("a/../../x"), b"x", Mode::Replace).unwrap_err();
    assert!(matches!(err, ConfinedError::Outside { .. }), "{err}");
}

#[test]
fn an_update_reads_then_replaces_and_may_leave_the_file() {
    let (_d, root) = root();
    let file = root.join("a/status.yaml");
    let wrote = update(&root, &file, |now| {
        assert!(now.is_none());
        Some(b"one\n".to_vec())
    })
    .unwrap();
    assert!(wrote);
    let wrote = update(&root, &file, |now| {
        assert_eq!(now, Some(&b"one\n"[..]));
        None
    })
    .unwrap();
    assert!(!wrote);
    update(&root, &file, |now| Some([now.unwrap(), b"two\n"].concat())).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"one\ntwo\n");
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(root.join("a")).unwrap().count(), 1);
    let err = update(&root, &root.join("../x"), |_| None).unwrap_err();
    assert!(matches!(err, ConfinedError::Outside { .. }), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_outside_is_neither_truncated_through_a_link_nor_written_through_a_hard_link() {
    use std::os::unix::fs::symlink;
    let (_d, root) = root();
    let (_o, outside) = self::root();
    let victim = outside.join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    symlink(&victim, root.join("link.md")).unwrap();
    let err = write(&root, &root.join("link.md"), b"x", Mode::Replace).unwrap_err();
    assert!(matches!(err, ConfinedError::LinkOut { .. }), "{err}");
    std::fs::hard_link(&victim, root.join("hard.md")).unwrap();
    for mode in [Mode::Replace, Mode::Append] {
        let err = write(&root, &root.join("hard.md"), b"x", mode).unwrap_err();
        assert!(
            matches!(err, ConfinedError::HardLink { links: 2, .. }),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // A file of the workspace's own is replaced as before.
    std::fs::write(root.join("own.md"), b"old text").unwrap();
    write(&root, &root.join("own.md"), b"new", Mode::Replace).unwrap();
    assert_eq!(std::fs::read(root.join("own.md")).unwrap(), b"new");
}

#[cfg(unix)]
#[test]
fn the_state_path_follows_no_link_out() {
    use std::os::unix::fs::symlink;
    let (_d, root) = root();
    let (_o, outside) = self::root();
    assert_eq!(state_path(&root).unwrap(), root.join(".bmad/state.db"));
    std::fs::create_dir(root.join(".bmad")).unwrap();
    symlink(outside.join("x.db"), root.join(".bmad/state.db-wal")).unwrap();
    let err = state_path(&root).unwrap_err();
    assert!(
        matches!(&err, ConfinedError::LinkOut { link } if link == ".bmad/state.db-wal"),
        "{err}"
    );
    let (_e, other) = self::root();
    symlink(&outside, other.join(".bmad")).unwrap();
    let err = state_path(&other).unwrap_err();
    assert!(
        matches!(&err, ConfinedError::LinkOut { link } if link == ".bmad"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_not_written_and_does_not_block() {
    let (_d, root) = root();
    let fifo = root.join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let err = write(&root, &fifo, b"x", Mode::Replace).unwrap_err();
    assert!(matches!(err, ConfinedError::NotAFile { .. }), "{err}");
}
