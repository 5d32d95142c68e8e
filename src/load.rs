//! Loads a workflow: reads the root file, follows its imports (relative files and stdlib
//! modules), refuses import cycles, and parses every file once.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::source::{FileId, SourceMap, Span};
use crate::stdlib;
use crate::syntax::{self, ast};
use std::path::{Path, PathBuf};

/// Largest file bmad reads.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One parsed file.
#[derive(Debug)]
pub struct Module {
    /// The file.
    pub file: FileId,
    /// True for embedded stdlib modules.
    pub stdlib: bool,
    /// Its items.
    pub items: Vec<ast::Item>,
}

/// Every file of a workflow, parsed, with what went wrong loading it.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The texts.
    pub sources: SourceMap,
    /// The parsed files, the root first.
    pub modules: Vec<Module>,
    /// Loading and parsing diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// True when the root file itself could not be read (exit code 2).
    pub io_failed: bool,
    /// Imported `.rhai` modules (functions for every script of the workflow).
    pub rhai_modules: Vec<FileId>,
}

enum Origin {
    /// A file: its canonical path (identity) and the path as shown (relative when given so).
    Path {
        canonical: PathBuf,
        shown: PathBuf,
    },
    Std,
}

/// How much of a workflow to load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The root file and its imports, parsed.
    Load,
    /// The root file alone, parsed.
    Parse,
    /// The root file alone as text, not parsed (its module has no items).
    Read,
}

struct Loader {
    out: Loaded,
    /// Files being loaded (for cycle detection): their id and the import that led to them.
    stack: Vec<(FileId, Option<Span>)>,
    mode: Mode,
}

impl Loader {
    fn new(mode: Mode) -> Loader {
        Loader {
            out: Loaded::default(),
            stack: Vec::new(),
            mode,
        }
    }
}

/// Loads the workflow whose root is the file at `path`.
pub fn load_path(path: &Path) -> Loaded {
    open_path(path, Mode::Load)
}

/// Reads and parses the file at `path` alone, without its imports.
pub fn parse_path(path: &Path) -> Loaded {
    open_path(path, Mode::Parse)
}

/// Reads the file at `path` alone as text, without parsing it (`bmad fmt`, which parses
/// it as it lays it out): its module has no items; the diagnostics say only whether it
/// could be read and is text.
pub fn read_path(path: &Path) -> Loaded {
    open_path(path, Mode::Read)
}

/// Parses `text` alone, without its imports.
pub fn parse_text(name: &str, text: &str) -> Loaded {
    open_text(name, text, Mode::Parse)
}

/// Takes `text` alone, without parsing it (see [`read_path`]).
pub fn read_text(name: &str, text: &str) -> Loaded {
    open_text(name, text, Mode::Read)
}

fn open_text(name: &str, text: &str, mode: Mode) -> Loaded {
    let mut loader = Loader::new(mode);
    if let Err(e) = within_limit(text.len() as u64) {
        loader.cannot_read(name, &e);
        return loader.out;
    }
    let origin = Origin::Path {
        canonical: PathBuf::from(name),
        shown: PathBuf::from(name),
    };
    loader.add(name, origin, text.as_bytes().to_vec(), None);
    loader.out
}

fn open_path(path: &Path, mode: Mode) -> Loaded {
    let mut loader = Loader::new(mode);
    let bytes = match read(path) {
        Ok(b) => b,
        Err(e) => {
            loader.cannot_read(&path.display().to_string(), &e);
            return loader.out;
        }
    };
    let name = path.display().to_string();
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let shown = path.to_path_buf();
    loader.add(&name, Origin::Path { canonical, shown }, bytes, None);
    loader.out
}

/// Loads a workflow from text in memory; relative imports resolve against `base`.
pub fn load_text(name: &str, text: &str, base: Option<&Path>) -> Loaded {
    let mut loader = Loader::new(Mode::Load);
    if let Err(e) = within_limit(text.len() as u64) {
        loader.cannot_read(name, &e);
        return loader.out;
    }
    let shown = base.map_or_else(|| PathBuf::from(name), |b| b.join(name));
    let origin = Origin::Path {
        canonical: shown.clone(),
        shown,
    };
    loader.add(name, origin, text.as_bytes().to_vec(), None);
    loader.out
}

/// Refuses a text larger than [`MAX_FILE_BYTES`], whether read from a file or given in
/// memory (places in a text are 32-bit offsets).
fn within_limit(len: u64) -> std::io::Result<()> {
    if len > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it is larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024),
        ));
    }
    Ok(())
}

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    read_regular(path, MAX_FILE_BYTES)
}

/// Reads the regular file at `path`, refusing anything else at once (a directory, a FIFO
/// that would block, a device that never ends, a socket) and a file over `max` bytes, which
/// is also bounded as it is read (a file that grows while it is read).
///
/// # Errors
///
/// When `path` cannot be opened or read, is not a regular file, or holds more than `max`
/// bytes.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, len) = open_regular(path)?;
    within_limit(len.min(max.saturating_add(1)))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len.min(max)).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it is larger than {} MiB", max / 1024 / 1024),
        ));
    }
    Ok(bytes)
}

/// Opens the regular file at `path` for reading, with its length: anything else (a
/// directory, a FIFO, a device, a socket) is refused at once, never waited on. The file
/// is opened without blocking (a FIFO put there since a look at the path) and looked at
/// again through the handle.
///
/// # Errors
///
/// When `path` cannot be opened or is not a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    let not_regular = |t: std::fs::FileType| {
        #[cfg(unix)]
        use std::os::unix::fs::FileTypeExt;
        let what = if t.is_dir() {
            return std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory");
        } else if cfg!(unix) && t.is_fifo() {
            "it is a FIFO (a named pipe), not a regular file"
        } else if cfg!(unix) && (t.is_char_device() || t.is_block_device()) {
            "it is a device, not a regular file"
        } else if cfg!(unix) && t.is_socket() {
            "it is a socket, not a regular file"
        } else {
            "it is not a regular file"
        };
        std::io::Error::new(std::io::ErrorKind::InvalidInput, what)
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok((file, meta.len()))
}

impl Loader {
    /// Reports that the root file `shown` cannot be read (exit code 2).
    fn cannot_read(&mut self, shown: &str, e: &std::io::Error) {
        self.out.io_failed = true;
        self.out.diagnostics.push(
            Diagnostic::error(Code::Io, format!("cannot read `{shown}`: {}", io_reason(e)))
                .help(io_help(e)),
        );
    }

    fn add(&mut self, name: &str, origin: Origin, bytes: Vec<u8>, via: Option<Span>) {
        let (path, shown, stdlib) = match origin {
            Origin::Path { canonical, shown } => (Some(canonical), Some(shown), false),
            Origin::Std => (None, None, true),
        };
        let (text, bad_at, why) = decode(bytes);
        let file = self.out.sources.add(name.to_string(), path.clone(), text);
        if let Some(at) = bad_at {
            self.out.diagnostics.push(
                Diagnostic::error(
                    Code::Encoding,
                    format!("`{name}` is not a text file: {why}"),
                )
                .at(self.char_at(file, at), why)
                .help("a .bmad file is UTF-8 text"),
            );
            self.out.modules.push(Module {
                file,
                stdlib,
                items: Vec::new(),
            });
            return;
        }
        if self.mode == Mode::Read {
            self.out.modules.push(Module {
                file,
                stdlib,
                items: Vec::new(),
            });
            return;
        }
        let parsed = syntax::parse(file, &self.out.sources.get(file).text);
        if via.is_none() && parsed.items.is_empty() && parsed.diagnostics.is_empty() {
            let text = &self.out.sources.get(file).text;
            let first_line = text.find('\n').unwrap_or(text.len());
            self.out.diagnostics.push(
                Diagnostic::error(Code::EmptyFile, format!("`{name}` defines nothing"))
                    .at(Span::new(file, 0, first_line), "only white space and comments")
                    .help("a workflow has at least one item: `import`, `agent`, `phase`, ... (see GRAMMAR.md)"),
            );
        }
        self.out.diagnostics.extend(parsed.diagnostics);
        let imports: Vec<ast::Import> = parsed
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Import(imp) => Some(imp.clone()),
                _ => None,
            })
            .collect();
        self.out.modules.push(Module {
            file,
            stdlib,
            items: parsed.items,
        });
        if self.mode != Mode::Load {
            return;
        }
        self.stack.push((file, via));
        for import in imports {
            self.import(&import, shown.as_deref());
        }
        self.stack.pop();
    }

    /// Resolves one import of the file shown as `from` (`None` for stdlib modules, whose
    /// relative imports resolve from the current directory).
    fn import(&mut self, import: &ast::Import, from: Option<&Path>) {
        match &import.target {
            ast::ImportTarget::Module(module) => {
                let display = stdlib::display_name(module);
                if let Some(id) = self.out.sources.find_name(&display) {
                    self.seen(id, import.span);
                    return;
                }
                let Some(text) = stdlib::module(module) else {
                    let help = did_you_mean(module, stdlib::MODULES.iter().map(|(n, _)| *n))
                        .unwrap_or_else(|| {
                            let names: Vec<&str> =
                                stdlib::MODULES.iter().map(|(n, _)| *n).collect();
                            format!("the stdlib modules are {}", names.join(", "))
                        });
                    self.out.diagnostics.push(
                        Diagnostic::error(
                            Code::ImportNotFound,
                            format!("no stdlib module `{module}`"),
                        )
                        .at(import.span, "not in the stdlib")
                        .help(help),
                    );
                    return;
                };
                self.add(
                    &display,
                    Origin::Std,
                    text.as_bytes().to_vec(),
                    Some(import.span),
                );
            }
            ast::ImportTarget::File(rel) => {
                let base = from
                    .and_then(Path::parent)
                    .unwrap_or_else(|| Path::new("."));
                let target = base.join(rel);
                let canonical = target.canonicalize().unwrap_or_else(|_| target.clone());
                // The language names rhai modules by their `.rhai` suffix, as written.
                #[allow(clippy::case_sensitive_file_extension_comparisons)]
                let is_rhai = rel.ends_with(".rhai");
                if let Some(id) = self.out.sources.find_path(&canonical) {
                    if !is_rhai {
                        self.seen(id, import.span);
                    }
                    return;
                }
                match read(&target) {
                    Ok(bytes) if is_rhai => self.add_rhai(&display_path(&target), canonical, bytes, import.span),
                    Ok(bytes) => {
                        let name = display_path(&target);
                        let origin = Origin::Path {
                            canonical,
                            shown: target,
                        };
                        self.add(&name, origin, bytes, Some(import.span));
                    }
                    Err(e) => self.out.diagnostics.push(
                        Diagnostic::error(Code::ImportNotFound, format!("cannot import `{rel}`: {}", io_reason(&e)))
                            .at(import.span, format!("looked for {}", target.display()))
                            .help("a relative import is resolved from the directory of the importing file"),
                    ),
                }
            }
        }
    }

    /// A `.rhai` module: kept as text for the script compiler; it imports nothing.
    fn add_rhai(&mut self, name: &str, canonical: PathBuf, bytes: Vec<u8>, via: Span) {
        let (text, bad_at, why) = decode(bytes);
        let file = self
            .out
            .sources
            .add(name.to_string(), Some(canonical), text);
        match bad_at {
            Some(at) => self.out.diagnostics.push(
                Diagnostic::error(
                    Code::Encoding,
                    format!("`{name}` is not a text file: {why}"),
                )
                .at(self.char_at(file, at), why)
                .also(via, "imported here")
                .help("a .rhai module is UTF-8 text"),
            ),
            None => self.out.rhai_modules.push(file),
        }
    }

    /// The character at byte `at` of `file` (what is shown for a bad byte: U+FFFD or U+2400,
    /// three bytes).
    fn char_at(&self, file: FileId, at: usize) -> Span {
        let len = self.out.sources.get(file).text[at..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        Span::new(file, at, at + len)
    }

    /// An import of a file loaded before: fine unless that file is still being loaded.
    fn seen(&mut self, id: FileId, at: Span) {
        let Some(pos) = self.stack.iter().position(|(f, _)| *f == id) else {
            return;
        };
        let chain: Vec<String> = self.stack[pos..]
            .iter()
            .map(|(f, _)| self.out.sources.get(*f).name.clone())
            .chain(std::iter::once(self.out.sources.get(id).name.clone()))
            .collect();
        let mut diag = Diagnostic::error(
            Code::ImportCycle,
            format!("import cycle: {}", chain.join(" -> ")),
        )
        .at(at, "this import closes the cycle")
        .help(if chain.len() == 2 {
            "a file cannot import itself: remove this import"
        } else {
            "move what the files need from each other into a file that they all import"
        });
        for (_, via) in &self.stack[pos + 1..] {
            if let Some(span) = via {
                diag = diag.also(*span, "imported here");
            }
        }
        self.out.diagnostics.push(diag);
    }
}

/// Why a file could not be read, in words that are the same on every platform.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// What to do about a file that could not be read.
fn io_help(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::FileTooLarge => "split the workflow into files that import each other",
        std::io::ErrorKind::IsADirectory => "name a .bmad file, not a directory",
        std::io::ErrorKind::InvalidInput => {
            "bmad reads workflows, imports and story files only from regular files"
        }
        _ => "check the path and its permissions",
    }
}

fn display_path(path: &Path) -> String {
    let s = path.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Text of `bytes`, and where and why it is not text, if it is not.
fn decode(mut bytes: Vec<u8>) -> (String, Option<usize>, &'static str) {
    // A UTF-8 byte order mark (some Windows editors write one) is no part of the text.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(text) => match text.find('\0') {
            // A NUL would reach the terminal when the source is shown: show U+2400 instead.
            Some(at) => (
                text.replace('\0', "\u{2400}"),
                Some(at),
                "it holds a NUL byte (binary data)",
            ),
            None => (text, None, ""),
        },
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            (text, Some(at), "invalid UTF-8")
        }
    }
}
