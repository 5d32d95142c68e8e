//! Kills processes by a mark in their environment. A process that left its process group
//! (`setsid`, a double fork) still carries the environment it was started with, so on Linux
//! a scan of `/proc/<pid>/environ` finds it; elsewhere nothing is scanned.

use thiserror::Error;

/// How a sweep failed.
#[derive(Debug, Error)]
pub enum SweepError {
    /// `/proc` could not be listed (not mounted, or hidden from bmad).
    #[error("cannot list the processes in /proc: {0}")]
    Proc(#[from] std::io::Error),
}

/// The value of the variable `name` in an environment block as `/proc/<pid>/environ` holds
/// it (`NAME=value` entries, each ended by a NUL byte); the first one when it is repeated.
pub fn env_value<'e>(environ: &'e [u8], name: &str) -> Option<&'e [u8]> {
    environ
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
}

/// Sends SIGKILL to every process of bmad's user (bmad itself aside) whose environment
/// `marked` accepts (given as [`env_value`] reads it), scanning again until a scan finds
/// none left: a process may fork while its tree is killed. Returns how many processes
/// were killed. Outside Linux nothing is scanned and none are killed.
///
/// # Errors
///
/// A [`SweepError`] when `/proc` cannot be listed.
pub fn kill_marked(marked: &dyn Fn(&[u8]) -> bool) -> Result<usize, SweepError> {
    #[cfg(target_os = "linux")]
    {
        linux::kill_marked(marked)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = marked;
        Ok(0)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::SweepError;
    use rustix::io::Errno;
    use rustix::process::{
        Pid, PidfdFlags, Signal, getuid, kill_process, pidfd_open, pidfd_send_signal,
    };
    use std::collections::HashSet;
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    /// Scans one sweep makes at most: a process that forks faster than it is killed, or
    /// one that cannot die at once (in uninterruptible sleep), does not hold bmad forever.
    const MAX_SCANS: usize = 32;

    pub(super) fn kill_marked(marked: &dyn Fn(&[u8]) -> bool) -> Result<usize, SweepError> {
        let me = std::process::id();
        let uid = getuid().as_raw();
        let mut killed = HashSet::new();
        let mut environ = Vec::with_capacity(16 * 1024);
        for _ in 0..MAX_SCANS {
            let mut found = false;
            for entry in std::fs::read_dir("/proc")?.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                // Gone, another user's, a kernel thread, a zombie: nothing to read.
                if pid == me || !read_environ(pid, &mut environ) || !marked(&environ) {
                    continue;
                }
                if kill(pid, uid, marked, &mut environ) {
                    found = true;
                    killed.insert(pid);
                }
            }
            if !found {
                break;
            }
            // What was killed leaves the process table (its environment empties) once
            // it is scheduled.
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(killed.len())
    }

    /// Reads the environment of `pid` into `buf`; false when it cannot (gone, another
    /// user's) or it is empty (a kernel thread, a zombie, a process exiting).
    fn read_environ(pid: u32, buf: &mut Vec<u8>) -> bool {
        buf.clear();
        std::fs::File::open(format!("/proc/{pid}/environ"))
            .and_then(|mut f| f.read_to_end(buf))
            .is_ok_and(|n| n > 0)
    }

    /// Kills `pid` if it is still a marked process of `uid`. The process is pinned with a
    /// pidfd before it is looked at again, so a pid reused since the scan is never
    /// signalled; where the kernel has no pidfd (before Linux 5.3), by its pid.
    fn kill(pid: u32, uid: u32, marked: &dyn Fn(&[u8]) -> bool, buf: &mut Vec<u8>) -> bool {
        let Some(id) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return false;
        };
        let still = |buf: &mut Vec<u8>| {
            let own = std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == uid);
            own && read_environ(pid, buf) && marked(buf)
        };
        match pidfd_open(id, PidfdFlags::empty()) {
            Ok(fd) => still(buf) && pidfd_send_signal(&fd, Signal::KILL).is_ok(),
            Err(Errno::SRCH) => false,
            Err(_) => still(buf) && kill_process(id, Signal::KILL).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_is_read_from_an_environment_block() {
        let block = b"PATH=/bin\0BMAD_PROCESS_MARK=a.1:b.2\0EMPTY=\0";
        assert_eq!(env_value(block, "BMAD_PROCESS_MARK"), Some(&b"a.1:b.2"[..]));
        assert_eq!(env_value(block, "EMPTY"), Some(&b""[..]));
        assert_eq!(env_value(block, "PATH"), Some(&b"/bin"[..]));
        // A name is matched whole, not as the start of a longer one.
        assert_eq!(env_value(block, "BMAD_PROCESS"), None);
        assert_eq!(env_value(b"", "PATH"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn marked_processes_are_killed_and_the_others_left() {
        use std::os::unix::process::ExitStatusExt;
        use std::process::{Command, Stdio};
        let start = |token: &str| {
            Command::new("sleep")
                .arg("1000")
                .env("SWEEP_TEST_MARK", token)
                .stdin(Stdio::null())
                .spawn()
                .expect("sleep starts")
        };
        let token = format!("sweep-{}", std::process::id());
        let mut marked = start(&token);
        let mut other = start(&format!("{token}-other"));
        let wanted = |env: &[u8]| env_value(env, "SWEEP_TEST_MARK") == Some(token.as_bytes());
        assert_eq!(kill_marked(&wanted).expect("/proc is readable"), 1);
        let status = marked.wait().expect("the marked process ends");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(other.try_wait().expect("waitable").is_none(), "killed too");
        let _ = other.kill();
        let _ = other.wait();
        // Nothing left: a second sweep kills nothing.
        assert_eq!(kill_marked(&wanted).expect("/proc is readable"), 0);
    }
}
