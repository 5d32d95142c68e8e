//! The examples at the end of each command's `--help`.

/// `bmad check`.
pub(super) const CHECK: &str = "\
Examples:
  bmad check examples/seed-product.bmad
  bmad check examples stdlib              every .bmad file under both directories
  cat flow.bmad | bmad check -            the workflow on stdin
  bmad check --format json flow.bmad      one JSON object per diagnostic, on stdout
  bmad check --emit ir flow.bmad > ir.json";

/// `bmad run`.
pub(super) const RUN: &str = "\
Examples:
  bmad run --simulate examples/seed-product.bmad --workspace target/demo
  bmad run --simulate --seed 2 --report report.json flow.bmad
  bmad run --agents claude_code flow.bmad  real coding agents for the simulated roles
  bmad run --dry-run flow.bmad             print every prompt, run nothing
  bmad run --resume flow.bmad              continue the newest unfinished run
  bmad run --log-format json flow.bmad 2> run.log
  bmad run --executor temporal://10.0.0.5:7233 flow.bmad   tasks on Temporal workers";

/// `bmad worker`.
#[cfg(feature = "temporal")]
pub(super) const WORKER: &str = "\
Examples:
  bmad worker --temporal 10.0.0.5:7233 --task-queue bmad --concurrency 4
  TEMPORAL_API_KEY=... bmad worker --temporal ns.acct.tmprl.cloud:7233 --namespace ns.acct";

/// `bmad runs`.
pub(super) const RUNS: &str = "\
Examples:
  bmad runs --workspace target/demo
  bmad runs show RUN --workspace target/demo   RUN: the id, or a prefix of it
  bmad runs show RUN --format json         one JSON document
  bmad runs log RUN development/0 --follow";

/// `bmad serve`.
pub(super) const SERVE: &str = "\
Examples:
  bmad serve --workspace target/demo/seed-product   then open http://127.0.0.1:7878/
  bmad serve --addr 127.0.0.1:0                      any free port (printed)
  BMAD_SERVE_TOKEN=... bmad serve --addr 0.0.0.0:7878   other machines: a token is required";

/// `bmad sync`.
pub(super) const SYNC: &str = "\
Examples:
  bmad sync                                the newest running run
  bmad sync RUN --workspace target/demo";

/// `bmad approve`.
pub(super) const APPROVE: &str = "\
Examples:
  bmad approve RUN                         list what the run waits for
  bmad approve RUN production
  bmad approve RUN review@s1 --reject \"the tests do not cover the edge cases\"";

/// `bmad ack`.
pub(super) const ACK: &str = "\
Examples:
  bmad ack RUN INC-0001
  bmad ack RUN INC-0001 --as alice --workspace /srv/ops";

/// `bmad explain`.
pub(super) const EXPLAIN: &str = "\
Examples:
  bmad explain                             list the codes
  bmad explain undefined
  bmad explain bmad::cycle";

/// `bmad graph`.
pub(super) const GRAPH: &str = "\
Every part of the workflow is drawn on a page of its own: phases, stories, monitors,
heals, incidents, emergencies, procedures, maintenance (a part too big for one page takes
several: heals-1, heals-2). An edge to another page ends at a dashed node naming it.
Mermaid prints Markdown, a heading and a ```mermaid block a page; DOT prints one digraph
a page (`dot -Tsvg -O` renders each to a file of its own). --page prints one page alone.

Examples:
  bmad graph flow.bmad > flow.md                 every page, for a Markdown viewer
  bmad graph flow.bmad --pages                   list the pages
  bmad graph flow.bmad --page heals --format dot | dot -Tsvg > heals.svg
  bmad graph flow.bmad --format dot --out graphs && dot -Tsvg -O graphs/*.dot
  bmad graph examples/seed-product.bmad --only ops --format dot | dot -Tsvg -O
  cat flow.bmad | bmad graph - --only stories";

/// `bmad fmt`.
pub(super) const FMT: &str = "\
Examples:
  bmad fmt flow.bmad
  bmad fmt --check examples stdlib         list what is not formatted, exit 1 if any
  cat flow.bmad | bmad fmt -               the formatted text on stdout";

/// `bmad repl`.
pub(super) const REPL: &str = "\
Examples:
  bmad repl
  bmad repl examples/hello.bmad --workspace target/scratch
  printf ':load examples/hello.bmad\\n:check\\n' | bmad repl";

/// `bmad lsp`.
pub(super) const LSP: &str = "\
Started by an editor, which speaks the Language Server Protocol with it on stdin and
stdout (README.md, Editor support: VS Code, Neovim, and editors/README.md).

Examples:
  bmad lsp             what an editor's client runs
  bmad lsp --stdio     the same (some clients add --stdio)";

/// `bmad init`.
pub(super) const INIT: &str = "\
Examples:
  bmad init my-product
  bmad init ops --template operations
  bmad init --from-bmad ~/src/my-bmad-project     a workflow that runs its stories as they are";

/// `bmad monitor`.
pub(super) const MONITOR: &str = "\
Examples:
  bmad monitor examples/seed-operations.bmad
  bmad monitor --simulate --for 7d examples/seed-operations.bmad --workspace target/ops
  bmad monitor --log-format json flow.bmad 2> monitor.log";

/// `bmad completions`.
pub(super) const COMPLETIONS: &str = "\
Examples:
  bmad completions bash > ~/.local/share/bash-completion/completions/bmad
  bmad completions zsh > ~/.zfunc/_bmad     with fpath+=(~/.zfunc) before compinit
  bmad completions fish > ~/.config/fish/completions/bmad.fish
  bmad completions powershell >> $PROFILE";

/// `bmad man`.
pub(super) const MAN: &str = "\
Examples:
  bmad man > bmad.1 && man ./bmad.1
  bmad man --dir target/man                one page per command: bmad.1, bmad-run.1, ...";
