//! Files as the editor names them: `file:` URIs to and from paths; the stdlib modules and
//! the explanations of diagnostic codes, which live in the binary, written under the
//! user's cache directory so that an editor opens them like any file (go to definition
//! into `std.roles`, a diagnostic's code as a link).

use lsp_types::Uri;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The path of a `file:` URI.
pub(crate) fn to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let rest = text.strip_prefix("file://")?;
    // `file:///path` or `file://localhost/path`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = decode(path)?;
    let path = String::from_utf8(bytes).ok()?;
    Some(PathBuf::from(path))
}

/// The `file:` URI of an absolute path.
pub(crate) fn from_path(path: &Path) -> Option<Uri> {
    let text = path.to_str()?;
    if !text.starts_with('/') {
        return None;
    }
    let mut uri = String::from("file://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    Uri::from_str(&uri).ok()
}

/// `%XX` escapes decoded.
fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The cache directory of this version of bmad: `$XDG_CACHE_HOME/bmad/VERSION`, or
/// `~/.cache/bmad/VERSION`.
fn cache_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("bmad").join(env!("CARGO_PKG_VERSION")))
}

/// The file `name` of the cache directory's `dir`, holding `text`: written there if it is
/// not yet (or holds another text); `None` when it cannot be written.
fn cached(dir: &str, name: &str, text: &str) -> Option<PathBuf> {
    let dir = cache_dir()?.join(dir);
    let path = dir.join(name);
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return Some(path);
    }
    std::fs::create_dir_all(&dir).ok()?;
    // Written whole or not at all: another server may read it at the same time.
    let mut file = tempfile::NamedTempFile::new_in(&dir).ok()?;
    std::io::Write::write_all(&mut file, text.as_bytes()).ok()?;
    file.persist(&path).ok()?;
    Some(path)
}

/// The file of stdlib module `display` (`std/roles.bmad`), under the cache directory:
/// `std/roles.bmad` there.
pub(crate) fn std_file(display: &str) -> Option<PathBuf> {
    let (name, text) = crate::stdlib::MODULES
        .iter()
        .find(|(n, _)| crate::stdlib::display_name(n) == display)?;
    cached(
        "std",
        &format!("{}.bmad", name.trim_start_matches("std.")),
        text,
    )
}

/// The explanation of a diagnostic code (what `bmad explain CODE` prints), as a Markdown
/// file under the cache directory: `explain/CODE.md` there.
pub(crate) fn explain_file(code: crate::diagnostic::Code) -> Option<Uri> {
    let short = code.as_str().trim_start_matches("bmad::");
    let path = cached(
        "explain",
        &format!("{short}.md"),
        crate::explain::explanation(code),
    )?;
    from_path(&path)
}

#[cfg(test)]
mod tests {
    use super::{from_path, to_path};
    use std::path::Path;

    #[test]
    fn paths_round_trip() {
        let path = Path::new("/tmp/a dir/caf\u{e9}#1.bmad");
        let uri = from_path(path).expect("a uri");
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/caf%C3%A9%231.bmad");
        assert_eq!(to_path(&uri).as_deref(), Some(path));
    }
}
