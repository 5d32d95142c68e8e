//! A pseudo-terminal for driving `bmad repl` as a person would: keystrokes in, the
//! screen's bytes out. The reader answers the terminal's cursor-position query.
// benches/authoring.rs includes this file too and uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process on a pseudo-terminal.
pub struct Pty {
    master: std::fs::File,
    /// Everything the child wrote.
    pub screen: Arc<Mutex<Vec<u8>>>,
    /// The child.
    pub child: Child,
}

impl Pty {
    /// Starts `command` with a new pseudo-terminal as its stdin, stdout and stderr.
    pub fn spawn(mut command: Command) -> Pty {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two new descriptors; null name, termios and winsize.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both descriptors were just opened and are owned here.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        command
            .stdin(io(&slave))
            .stdout(io(&slave))
            .stderr(io(&slave));
        command.env("TERM", "xterm").env_remove("NO_COLOR");
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("the child starts");
        drop(slave);
        let master = std::fs::File::from(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, mut answer) = (
            master.try_clone().expect("dup"),
            master.try_clone().expect("dup"),
        );
        let seen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            screen,
            child,
        }
    }

    /// Types `keys`.
    pub fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("typed");
        self.master.flush().expect("flushed");
    }

    /// Waits until the screen (colours removed) holds `text` after byte `from` of the
    /// raw screen; panics with the screen after 20 s. Returns the raw screen's length.
    pub fn expect(&self, from: usize, text: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let raw = self.screen.lock().unwrap().clone();
            let shown = plain(&raw[from.min(raw.len())..]);
            if shown.contains(text) {
                return raw.len();
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen shows:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The raw screen so far.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }
}

/// Terminal output without escape sequences and carriage returns.
pub fn plain(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
