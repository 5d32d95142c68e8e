//! Following log files: the lines appended since the last look, surviving rotation (the
//! path now names a new file: the old one is read to its end first, then the new one from
//! its start) and truncation (the file shrank: read again from its start). A file that does
//! not exist yet is read from its start once it appears.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// At most this much is read from a file per look; the rest waits for the next.
const MAX_READ: u64 = 4 << 20;
/// A line longer than this is cut (the rest of it is still consumed).
const MAX_LINE: usize = 64 << 10;

/// One followed file.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    file: Option<(File, u64)>,
    offset: u64,
    partial: Vec<u8>,
}

impl LogTail {
    /// Follows `path` from its current end (only lines written from now on count).
    pub fn new(path: &Path) -> LogTail {
        let mut tail = LogTail {
            path: path.to_path_buf(),
            file: None,
            offset: 0,
            partial: Vec::new(),
        };
        if let Ok(f) = File::open(path)
            && let Ok(meta) = f.metadata()
        {
            tail.offset = meta.len();
            tail.file = Some((f, meta.ino()));
        }
        tail
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The complete lines appended since the last call.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or read.
    pub fn poll(&mut self) -> std::io::Result<Vec<String>> {
        let mut lines = Vec::new();
        // What the open file still holds (all of it, when it was rotated away).
        self.read_open(&mut lines)?;
        match std::fs::metadata(&self.path) {
            Ok(meta) => {
                let same = self
                    .file
                    .as_ref()
                    .is_some_and(|(_, ino)| *ino == meta.ino());
                if !same {
                    // Rotated or created: the new file from its start.
                    self.flush_partial(&mut lines);
                    self.file = File::open(&self.path).ok().map(|f| (f, meta.ino()));
                    self.offset = 0;
                    self.read_open(&mut lines)?;
                } else if meta.len() < self.offset {
                    // Truncated: from its start again.
                    self.partial.clear();
                    self.offset = 0;
                    self.read_open(&mut lines)?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Rotated away and not created again yet: done with the old one.
                self.flush_partial(&mut lines);
                self.file = None;
                self.offset = 0;
            }
            Err(e) => return Err(e),
        }
        Ok(lines)
    }

    fn read_open(&mut self, lines: &mut Vec<String>) -> std::io::Result<()> {
        let Some((file, _)) = self.file.as_mut() else {
            return Ok(());
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            return Ok(());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        let n = file.take(MAX_READ).read_to_end(&mut buf)?;
        self.offset += n as u64;
        for chunk in buf.split_inclusive(|b| *b == b'\n') {
            if chunk.ends_with(b"\n") {
                self.push(&chunk[..chunk.len() - 1]);
                let line = std::mem::take(&mut self.partial);
                lines.push(
                    String::from_utf8_lossy(&line)
                        .trim_end_matches('\r')
                        .to_string(),
                );
            } else {
                self.push(chunk);
            }
        }
        Ok(())
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// A last line without its newline, when its file is left behind.
    fn flush_partial(&mut self, lines: &mut Vec<String>) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            lines.push(String::from_utf8_lossy(&line).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follows_appends_rotation_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "old line before we started\n");
        let mut tail = LogTail::new(&log);
        assert!(tail.poll().unwrap().is_empty());
        append(&log, "one\ntw");
        assert_eq!(tail.poll().unwrap(), ["one"]);
        append(&log, "o\n");
        assert_eq!(tail.poll().unwrap(), ["two"]);
        // Rotation: a last line lands in the old file, then a new file takes the path.
        append(&log, "last of the old file\n");
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        append(&log, "first of the new file\n");
        assert_eq!(
            tail.poll().unwrap(),
            ["last of the old file", "first of the new file"]
        );
        // Truncation: the file is emptied and written again.
        std::fs::write(&log, "").unwrap();
        assert!(tail.poll().unwrap().is_empty());
        append(&log, "after truncation\n");
        assert_eq!(tail.poll().unwrap(), ["after truncation"]);
    }

    #[test]
    fn a_file_that_appears_later_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("late.log");
        let mut tail = LogTail::new(&log);
        assert!(tail.poll().unwrap().is_empty());
        append(&log, "hello\n");
        assert_eq!(tail.poll().unwrap(), ["hello"]);
        std::fs::remove_file(&log).unwrap();
        assert!(tail.poll().unwrap().is_empty());
        append(&log, "again\n");
        assert_eq!(tail.poll().unwrap(), ["again"]);
    }
}
