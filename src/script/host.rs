//! The host API scripts call: artifacts (exists, read, sha256), declared environment
//! variables, time, text and log matching, and network probes to declared hosts. Files
//! are confined to the workspace; nothing else of the machine is reachable.

use super::Sandbox;
use rhai::{Dynamic, Engine, EvalAltResult, Map};
use std::collections::HashMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Names of every host function, for the compile-time check of function calls.
pub const HOST_FUNCTIONS: &[&str] = &[
    "exists",
    "read",
    "sha256",
    "env",
    "now",
    "ms",
    "seconds",
    "minutes",
    "hours",
    "matches",
    "log_contains",
    "tcp_connect",
    "http_get",
];

fn fail<T>(message: String) -> Res<T> {
    Err(message.into())
}

/// `path` inside the workspace: absolute-looking paths (`/docs/prd.md`) are taken from
/// the workspace root; `..` that leaves it and symlinks that point out are refused.
pub fn confine(workspace: &Path, path: &str) -> Result<PathBuf, String> {
    let mut inside = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => inside.push(part),
            Component::ParentDir => {
                if !inside.pop() {
                    return Err(format!("`{path}` is outside the workspace"));
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let full = workspace.join(&inside);
    if let (Ok(real), Ok(root)) = (full.canonicalize(), workspace.canonicalize())
        && !real.starts_with(&root)
    {
        return Err(format!("`{path}` leads outside the workspace"));
    }
    Ok(full)
}

fn declared(sandbox: &Sandbox, host: &str) -> Res<()> {
    let host = host.to_ascii_lowercase();
    if sandbox.hosts.contains(&host) {
        Ok(())
    } else {
        fail(format!(
            "host `{host}` is not declared by the workflow (declare it with `settings {{ hosts \"{host}\" }}`)"
        ))
    }
}

fn timeout(ms: i64) -> Duration {
    Duration::from_millis(ms.clamp(1, 60_000) as u64)
}

/// Registers the host API on `engine` for `sandbox`.
pub fn register(engine: &mut Engine, sandbox: Arc<Sandbox>) {
    let s = sandbox.clone();
    engine.register_fn("exists", move |path: &str| -> Res<bool> {
        Ok(confine(&s.workspace, path)
            .map_err(|e| e.to_string())?
            .exists())
    });
    let s = sandbox.clone();
    engine.register_fn("read", move |path: &str| -> Res<String> {
        let full = confine(&s.workspace, path)?;
        let meta = std::fs::metadata(&full).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        if meta.len() as usize > s.limits.max_string {
            return fail(format!(
                "`{path}` is larger than the longest string a script may hold ({} bytes)",
                s.limits.max_string
            ));
        }
        std::fs::read_to_string(&full).map_err(|e| format!("cannot read `{path}`: {e}").into())
    });
    let s = sandbox.clone();
    engine.register_fn("sha256", move |path: &str| -> Res<String> {
        use sha2::{Digest, Sha256};
        let full = confine(&s.workspace, path)?;
        let mut file =
            std::fs::File::open(&full).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            use std::io::Read;
            let n = file
                .read(&mut buf)
                .map_err(|e| format!("cannot read `{path}`: {e}"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    });
    let s = sandbox.clone();
    engine.register_fn("env", move |name: &str| -> Res<String> {
        let Some((_, default)) = s.env.iter().find(|(n, _)| n == name) else {
            return fail(format!(
                "environment variable `{name}` is not declared (declare it with `env {name}`)"
            ));
        };
        match std::env::var(name) {
            Ok(v) => Ok(v),
            Err(_) => default.clone().ok_or_else(|| {
                format!("environment variable `{name}` is not set and has no default").into()
            }),
        }
    });
    engine.register_fn("now", || -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    engine.register_fn("ms", |n: i64| n);
    engine.register_fn("seconds", |n: i64| n.saturating_mul(1_000));
    engine.register_fn("minutes", |n: i64| n.saturating_mul(60_000));
    engine.register_fn("hours", |n: i64| n.saturating_mul(3_600_000));
    let cache: Arc<Mutex<HashMap<String, regex::Regex>>> = Arc::default();
    let regex = move |pattern: &str| -> Res<regex::Regex> {
        let mut cache = cache
            .lock()
            .map_err(|_| "regex cache poisoned".to_string())?;
        if let Some(r) = cache.get(pattern) {
            return Ok(r.clone());
        }
        let r =
            regex::Regex::new(pattern).map_err(|e| format!("invalid pattern `{pattern}`: {e}"))?;
        if cache.len() < 256 {
            cache.insert(pattern.to_string(), r.clone());
        }
        Ok(r)
    };
    let re = regex.clone();
    engine.register_fn("matches", move |text: &str, pattern: &str| -> Res<bool> {
        Ok(re(pattern)?.is_match(text))
    });
    let s = sandbox.clone();
    engine.register_fn(
        "log_contains",
        move |path: &str, pattern: &str| -> Res<bool> {
            use std::io::BufRead;
            let r = regex(pattern)?;
            let full = confine(&s.workspace, path)?;
            let file =
                std::fs::File::open(&full).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            for line in std::io::BufReader::new(file).lines() {
                if r.is_match(&line.map_err(|e| format!("cannot read `{path}`: {e}"))?) {
                    return Ok(true);
                }
            }
            Ok(false)
        },
    );
    let s = sandbox.clone();
    engine.register_fn(
        "tcp_connect",
        move |host: &str, port: i64, timeout_ms: i64| -> Res<bool> {
            declared(&s, host)?;
            let port = u16::try_from(port).map_err(|_| format!("{port} is not a port"))?;
            let addrs = (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
            Ok(addrs
                .into_iter()
                .any(|a| TcpStream::connect_timeout(&a, timeout(timeout_ms)).is_ok()))
        },
    );
    let s = sandbox;
    engine.register_fn("http_get", move |url: &str, timeout_ms: i64| -> Res<Map> {
        let host = super::host_of(url).ok_or_else(|| format!("`{url}` has no host"))?;
        declared(&s, &host)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout(timeout_ms)))
            .http_status_as_error(false)
            .build()
            .into();
        let start = Instant::now();
        let mut result = Map::new();
        match agent.get(url).call() {
            Ok(resp) => {
                result.insert(
                    "status".into(),
                    Dynamic::from(i64::from(resp.status().as_u16())),
                );
                result.insert("ok".into(), Dynamic::from(resp.status().is_success()));
            }
            Err(e) => {
                result.insert("status".into(), Dynamic::from(0_i64));
                result.insert("ok".into(), Dynamic::from(false));
                result.insert("error".into(), Dynamic::from(e.to_string()));
            }
        }
        result.insert(
            "latency_ms".into(),
            Dynamic::from(start.elapsed().as_millis() as i64),
        );
        Ok(result)
    });
}

#[cfg(test)]
mod tests {
    use super::confine;
    use std::path::Path;

    #[test]
    fn paths_stay_in_the_workspace() {
        let ws = Path::new("/work/space");
        assert_eq!(
            confine(ws, "/docs/prd.md").unwrap(),
            Path::new("/work/space/docs/prd.md")
        );
        assert_eq!(
            confine(ws, "docs/../prd.md").unwrap(),
            Path::new("/work/space/prd.md")
        );
        assert!(confine(ws, "../etc/passwd").is_err());
        assert!(confine(ws, "/../../etc/passwd").is_err());
    }
}
