//! `bmad repl`, driven through a pipe (every command, definitions, rhai) and through a
//! pseudo-terminal (prompt, completion, highlighting, multi-line input, history).

use crate::common;
use crate::common::pty;

/// Runs a piped session; its stdout, stderr and exit code.
fn session(args: &[&str], input: &[u8]) -> (String, String, Option<i32>) {
    let mut all = vec!["repl"];
    all.extend_from_slice(args);
    let out = common::run_with_stdin_bytes(env!("CARGO_BIN_EXE_bmad"), &all, input);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// A piped session's stdout and stderr (any exit code).
fn repl(args: &[&str], input: &str) -> (String, String) {
    let (out, err, _) = session(args, input.as_bytes());
    (out, err)
}

#[test]
fn definitions_typed_at_the_prompt_build_a_workflow_that_checks_draws_and_runs() {
    let ws = tempfile::tempdir().unwrap();
    let w = ws.path().to_str().unwrap();
    let (out, err) = repl(
        &["--workspace", w],
        "import std.roles\n\
         phase write {\n\
           analyst: brainstorming {\n\
             produces notes = \"/docs/notes.md\"\n\
           }\n\
           ghost: haunt\n\
         }\n\
         :check\n\
         phase write {\n\
           analyst: brainstorming {\n\
             produces notes = \"/docs/notes.md\"\n\
           }\n\
           pm: review\n\
         }\n\
         :check\n\
         :list\n\
         :ir write\n\
         :graph write\n\
         :graph write --format dot\n\
         :run write --simulate\n\
         :quit\n\
         1 + 1\n",
    );
    // The undefined agent is shown when the phase is typed, which is not added: :check
    // finds the session clean.
    assert!(out.starts_with("defined import std.roles\nclean"), "{out}");
    assert_eq!(err.matches("undefined agent `ghost`").count(), 1, "{err}");
    assert!(err.contains("<repl>:6:"), "{err}");
    assert!(err.contains("not added"), "{err}");
    // The phase typed again without the error is defined, and checks clean.
    assert!(
        out.contains("defined phase write\nclean: no errors, no warnings\n"),
        "{out}"
    );
    assert!(out.contains("agent: analyst, pm,"), "{out}");
    assert!(out.contains("phase: write\n"), "{out}");
    // :ir prints the phase's IR as JSON.
    assert!(out.contains("// phases: write\n{\n"), "{out}");
    assert!(out.contains("\"step\": \"task\""), "{out}");
    assert!(out.contains("\"agent\": \"pm\""), "{out}");
    // :graph draws it, as Mermaid and as DOT.
    assert!(out.contains("flowchart TB"), "{out}");
    assert!(out.contains("[\"analyst: brainstorming\"]"), "{out}");
    assert!(out.contains("digraph"), "{out}");
    // :run runs it with simulated agents and writes the artifact in the workspace.
    assert!(out.contains("run succeeded"), "{out}");
    assert!(ws.path().join("docs/notes.md").is_file());
    // Nothing after :quit is read.
    assert!(!out.trim_end().ends_with('2'), "{out}");
}

#[test]
fn rhai_expressions_evaluate_in_the_workflows_scope() {
    let (out, err) = repl(
        &[],
        "1 + 2\n\
         let x = 40\n\
         x + 2\n\
         \"ab\" + \"c\"\n\
         approved\n\
         check double = `1`\n\
         :load examples/self-healing.bmad\n\
         nope(1)\n",
    );
    assert!(out.starts_with("3\n42\n\"abc\"\nfalse\n"), "{out}");
    assert!(out.contains("defined check double"), "{out}");
    assert!(err.contains("error: Function not found: nope"), "{err}");
}

#[test]
fn a_loaded_file_runs_one_phase_and_draws_a_procedure() {
    let ws = tempfile::tempdir().unwrap();
    let w = ws.path().to_str().unwrap();
    let (out, err) = repl(
        &["examples/seed-product.bmad", "--workspace", w],
        ":run ideation --simulate\n\
         :graph webrtc_connection_failure\n\
         :run production --simulate\n\
         :run ideation\n\
         :ir nothing_here\n\
         :grph\n\
         phase {\n\
         :list\n",
    );
    assert!(
        out.starts_with("loaded examples/seed-product.bmad: "),
        "{out}"
    );
    assert!(out.contains("run succeeded"), "{out}");
    assert!(ws.path().join("docs/requirements/prd.md").is_file());
    assert!(out.contains("heal webrtc_connection_failure"), "{out}");
    assert!(err.contains("nothing named `production` to run"), "{err}");
    assert!(err.contains("add --simulate"), "{err}");
    assert!(err.contains("nothing named `nothing_here`"), "{err}");
    assert!(
        err.contains("no command `:grph` (did you mean `graph`?)"),
        "{err}"
    );
    // A block left open ends at the next command: its error shows, the command runs.
    assert!(err.contains("bmad::syntax"), "{err}");
    assert!(out.contains("phase: ideation, architecture"), "{out}");
}

#[test]
fn items_on_one_line_loaded_definitions_and_text_blocks_keep_their_meaning() {
    let (out, err) = repl(
        &["examples/seed-product.bmad"],
        "phase p { qa: a } phase q { qa: b }\n\
         phase p { qa: z }\n\
         phase ideation { qa: x }\n\
         procedure notes {\n\
           sh \"\"\"\n\
             : ${FOO:=bar}\n\
             echo done\n\
           \"\"\"\n\
         }\n\
         :list\n",
    );
    // Two items typed on one line are two definitions; replacing one keeps the other.
    assert!(
        out.contains("defined phase p\ndefined phase q\nreplaced phase p\n"),
        "{out}"
    );
    let phases = out
        .lines()
        .find(|l| l.starts_with("phase: "))
        .unwrap_or_default();
    assert!(phases.contains(" p,") && phases.contains(" q"), "{phases}");
    // A definition the loaded file has already is a duplicate, shown as it is typed, and
    // not added.
    assert!(err.contains("phase `ideation` is defined twice"), "{err}");
    assert!(err.contains("not added"), "{err}");
    // The diagnostics of typed definitions never quote the loaded file's import.
    assert!(!err.contains("import \""), "{err}");
    // A `:` line inside a text block is text.
    assert!(out.contains("defined procedure notes"), "{out}");
    assert!(!err.contains("no command"), "{err}");
    // Kinds are listed once each.
    assert_eq!(out.matches("\nprocedure: ").count(), 1, "{out}");
}

#[test]
fn a_phase_run_alone_knows_the_artifacts_other_phases_produce() {
    let ws = tempfile::tempdir().unwrap();
    let w = ws.path().to_str().unwrap();
    // Architecture needs the PRD that ideation produces: run alone, it still knows its path.
    let (out, err) = repl(
        &["examples/seed-product.bmad", "--workspace", w],
        ":run architecture --simulate\n",
    );
    assert!(out.contains("run succeeded"), "{out}{err}");
    assert!(
        ws.path()
            .join("docs/architecture/architecture.md")
            .is_file(),
        "{out}{err}"
    );
}

#[test]
fn an_indented_line_continues_the_input_before_it() {
    // As `bmad fmt` wraps a long header; rhai continues the same way.
    let (out, err, code) = session(
        &[],
        b"artifact notes = \"docs/notes.md\"\n  provided\nlet y = 1 +\n  2\ny\n:list\n",
    );
    assert_eq!(out, "defined artifact notes\n3\nartifact: notes\n", "{err}");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn functions_persist_and_a_failing_piped_session_exits_1() {
    let (out, err, code) = session(
        &[],
        b"fn twice(x) { x * 2 }\ntwice(21)\nstory\n\xff\n1 + 1\n",
    );
    assert!(out.starts_with("42\n"), "{out}{err}");
    // `story` alone is the script variable (an empty map here), not a definition.
    assert!(!err.contains("bmad::syntax"), "{err}");
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(
        out.trim_end().ends_with('2'),
        "the line after a bad one is read: {out}"
    );
    assert_eq!(code, Some(1));
    let (_, _, code) = session(&[], b"1 + 1\n:check\n");
    assert_eq!(code, Some(0));
    let (_, err, code) = session(&["no/such.bmad"], b"");
    assert!(err.contains("no such file"), "{err}");
    assert_eq!(code, Some(1));
}

#[test]
fn on_a_terminal_it_completes_highlights_reads_blocks_and_keeps_history() {
    let home = tempfile::tempdir().unwrap();
    let history = home.path().join("history");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"));
    command
        .arg("repl")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("BMAD_HISTORY", &history)
        .env("HOME", home.path());
    let mut term = pty::Pty::spawn(command);
    let at = term.expect(0, "bmad> ");

    // Tab completes a keyword; the line is highlighted as it is typed.
    term.send("imp\t");
    let at = term.expect(at, "import");
    term.send(" std.roles\r");
    let at = term.expect(at, "defined import std.roles");
    assert!(
        term.raw().contains("\x1b[1;34mimport\x1b[0m"),
        "{:?}",
        term.raw()
    );

    // A block spans lines: the input goes on until its brace closes.
    term.send("phase build {\r");
    term.send("  backend_d\t");
    let at = term.expect(at, "backend_dev");
    term.send(": implement\r}\r");
    let at = term.expect(at, "defined phase build");

    // Names defined so far complete too, after a command.
    term.send(":graph bui\t\r");
    let at = term.expect(at, "backend_dev: implement");

    // Up recalls the last input.
    term.send("\x1b[A");
    let at = term.expect(at, ":graph build");
    term.send("\x15:quit\r");
    let status = term.child.wait().unwrap();
    assert!(status.success(), "{}", term.raw());
    let _ = at;
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("import std.roles"), "{saved}");
    assert!(saved.contains(":graph build"), "{saved}");
}

/// The loaded file is imported by a line the session adds: no diagnostic of a typed
/// definition quotes it, and the definition's lines are numbered from 1 (issue 26 item 5).
#[test]
fn diagnostics_of_a_typed_definition_do_not_quote_the_internal_import() {
    let (_, err) = repl(&["examples/hello.bmad"], "phase x {\n  analyst: y\n}\n");
    assert!(err.contains("can never run"), "{err}");
    assert!(err.contains("[<repl>:1:7]"), "{err}");
    assert!(!err.contains("import \""), "{err}");
}

#[test]
fn a_line_that_drops_an_earlier_value_gets_no_credit_for_it_against_the_memory_limit() {
    // Each `s + i` is a string of about 1 MB. 40 of them fit in 64 MB; 76 do not, even on
    // a line that first drops the 40 an earlier line built.
    let settings = "settings {\n  script_max_memory 64MB\n  script_max_string 200MB\n  \
                    script_max_operations 100_000_000\n  script_timeout 30s\n}\n";
    let build = |name: &str, n: u32| {
        format!(
            "let {name} = #{{}}; for i in 0..{n} {{ {name}[\"k\" + i] = s + i; }}; {name}.len()\n"
        )
    };
    let input = format!(
        "{settings}let s = \"x\"; s.pad(1000000, \"y\");\n{}m = (); {}{}",
        build("m", 40),
        build("p", 76),
        build("q", 40)
    );
    let (out, err) = repl(&[], &input);
    assert_eq!(out, "defined settings\n40\n40\n", "{out}\n{err}");
    assert_eq!(
        err.matches("took more than 64MB (limit `script_max_memory`)")
            .count(),
        1,
        "{err}"
    );
}
