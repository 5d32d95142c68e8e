//! Tests of starting children: what a child gets, and what becomes of a dropped or bad one.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A runtime for a test, none where children cannot be started this way.
fn runtime() -> Option<tokio::runtime::Runtime> {
    available().then(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

#[test]
fn a_child_gets_its_arguments_directory_environment_and_input() {
    let Some(rt) = runtime() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut spec = Spec::new(
        "/bin/sh",
        vec![
            "-c".into(),
            "echo \"$1 $SPAWN_TEST $HOME\"; pwd; cat; echo oops >&2; exit 3".into(),
            "sh".into(),
            "arg".into(),
        ],
    );
    spec.dir = Some(dir.path().to_path_buf());
    spec.env("SPAWN_TEST", "first")
        .env("HOME", "/nowhere")
        .env("SPAWN_TEST", "second");
    let (status, out, err) = rt.block_on(async {
        let mut started = start(&spec, true).expect("it starts");
        let mut stdin = started.stdin.take().expect("piped");
        stdin.write_all(b"input\n").await.expect("written");
        drop(stdin);
        let (mut out, mut err) = (String::new(), String::new());
        started.stdout.read_to_string(&mut out).await.expect("read");
        started.stderr.read_to_string(&mut err).await.expect("read");
        (started.child.wait().await.expect("waited"), out, err)
    });
    let here = dir.path().canonicalize().expect("canonical");
    assert_eq!(
        out,
        format!("arg second /nowhere\n{}\ninput\n", here.display())
    );
    assert_eq!(err, "oops\n");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn a_dropped_child_is_killed_and_reaped_and_a_bad_one_fails() {
    let Some(rt) = runtime() else {
        return;
    };
    let pid = rt.block_on(async {
        let started =
            start(&Spec::new("/bin/sleep", vec!["1000".into()]), false).expect("it starts");
        started.child.id()
    });
    // Reaped: no zombie is left with its pid (the reaper thread may take a moment).
    let gone = (0..200).any(|_| {
        let there = std::path::Path::new(&format!("/proc/{pid}")).exists();
        if there {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        !there
    });
    assert!(gone, "{pid} was left");
    rt.block_on(async {
        let missing = Spec::new("/nonexistent/program", Vec::new());
        assert!(start(&missing, false).is_err());
        let mut bad_dir = Spec::new("/bin/true", Vec::new());
        bad_dir.dir = Some("/nonexistent/dir".into());
        assert!(start(&bad_dir, false).is_err());
        let nul = Spec::new("/bin/true", vec!["a\0b".into()]);
        assert!(start(&nul, false).is_err());
    });
}

/// The mask of a `Sig...:` line of `/proc/<pid>/status`.
fn signal_mask(status: &str, line: &str) -> u64 {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .expect("the line is there");
    u64::from_str_radix(hex.trim(), 16).expect("a hex mask")
}

#[test]
fn a_child_has_no_signal_blocked_or_handled_and_a_process_group_of_its_own() {
    let Some(rt) = runtime() else {
        return;
    };
    // bmad handles some signals itself (as the runtime does SIGINT once asked): none is
    // blocked in the child, and SIGPIPE (ignored by Rust programs) is back at its
    // default. (No handler survives an exec in any case; that the child resets them
    // before it unblocks signals, while it still shares bmad's memory, no test sees.)
    let signals = rt.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
    });
    let (pid, out) = rt.block_on(async {
        let spec = Spec::new("/bin/cat", vec!["/proc/self/status".into()]);
        let mut started = start(&spec, false).expect("it starts");
        let mut out = String::new();
        started.stdout.read_to_string(&mut out).await.expect("read");
        started.child.wait().await.expect("waited");
        (started.child.id(), out)
    });
    drop(signals);
    assert_eq!(signal_mask(&out, "SigBlk:"), 0, "{out}");
    assert_eq!(signal_mask(&out, "SigCgt:"), 0, "{out}");
    let pipe = 1 << (libc::SIGPIPE - 1);
    assert_eq!(signal_mask(&out, "SigIgn:") & pipe, 0, "{out}");
    // Its process group is its own: the `NSpgid` line, else the `Pid` line's group.
    let group = out
        .lines()
        .find_map(|l| l.strip_prefix("NSpgid:"))
        .map(|g| g.trim().parse::<u32>().expect("a group id"));
    if let Some(group) = group {
        assert_eq!(group, pid, "{out}");
    }
}

#[test]
fn a_child_runs_under_its_resource_limits() {
    let Some(rt) = runtime() else {
        return;
    };
    let mut spec = Spec::new("/bin/cat", vec!["/proc/self/limits".into()]);
    spec.limits = vec![
        Rlimit {
            resource: Resource::Data,
            soft: 1 << 30,
            hard: (1 << 30) + 1,
        },
        Rlimit {
            resource: Resource::CpuSeconds,
            soft: 7,
            hard: 8,
        },
        Rlimit {
            resource: Resource::FileSize,
            soft: 1 << 20,
            hard: (1 << 20) + 1,
        },
    ];
    let out = rt.block_on(async {
        let mut started = start(&spec, false).expect("it starts");
        let mut out = String::new();
        started.stdout.read_to_string(&mut out).await.expect("read");
        started.child.wait().await.expect("waited");
        out
    });
    let limit = |name: &str| {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"));
        let words: Vec<&str> = line[name.len()..].split_whitespace().collect();
        (words[0].to_string(), words[1].to_string())
    };
    assert_eq!(
        limit("Max data size"),
        ((1u64 << 30).to_string(), ((1u64 << 30) + 1).to_string())
    );
    assert_eq!(limit("Max cpu time"), ("7".into(), "8".into()));
    assert_eq!(
        limit("Max file size"),
        ((1u64 << 20).to_string(), ((1u64 << 20) + 1).to_string())
    );
    // More limits than resources are refused before anything starts.
    let mut too_many = Spec::new("/bin/true", Vec::new());
    too_many.limits = vec![spec.limits[0]; 4];
    rt.block_on(async { assert!(start(&too_many, false).is_err()) });
}

#[test]
fn the_command_fallback_sets_the_same_limits() {
    let mut spec = Spec::new("/bin/cat", vec!["/proc/self/limits".into()]);
    spec.limits = vec![Rlimit {
        resource: Resource::CpuSeconds,
        soft: 9,
        hard: 10,
    }];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let out = rt.block_on(async { spec.to_command().output().await.expect("it runs") });
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("Max cpu time"))
        .expect("the cpu line");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&words[3..5], ["9", "10"], "{line}");
}
