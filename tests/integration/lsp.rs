//! `bmad lsp` driven over stdio with JSON-RPC, the real binary: every feature on a
//! workflow that imports a stdlib module and a file of its own, and on a file with a
//! syntax error (the rest of it still has diagnostics, definitions, hover, symbols).

use crate::common::lsp::{Client, pos, uri};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The workflow: every kind of name, an import of the stdlib and of a file beside it.
const MAIN: &str = r#"import std.roles
import "./ops.bmad"

workflow demo {
  start design
}

artifact brief = "input/brief.md" provided

phase design {
  analyst: requirements {
    needs brief
    produces prd = "docs/prd.md"
  }
  check api_up
}

phase build after design {
  call restart
}

story "s1" backend {
  title "First"
}

story "s2" backend {
  title "Second"
  after "s1"
}

incidents {
  level high {
    agents operations_manager
    respond 5m
  }
}

procedure restart {
  escalate high
}
"#;

const OPS: &str = "// Checks shared by the workflows.\ncheck api_up = `true`\n";

/// A directory with the workflow, a client on it with its cache inside, and the
/// workflow's URI, opened.
fn opened() -> (tempfile::TempDir, Client, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("main.bmad"), MAIN).expect("write");
    std::fs::write(dir.path().join("ops.bmad"), OPS).expect("write");
    let mut client = Client::start(&dir.path().join("cache"));
    let main = uri(&dir.path().join("main.bmad"));
    client.open(&main, MAIN);
    (dir, client, main)
}

/// The path of a `file:` URI.
fn path(uri: &Value) -> PathBuf {
    PathBuf::from(
        uri.as_str()
            .expect("a uri")
            .strip_prefix("file://")
            .expect("file:"),
    )
}

/// A change of the text from `old` (first occurrence) to `new`, as an incremental edit.
fn edit(client: &mut Client, uri: &str, text: &str, old: &str, new: &str, version: i64) {
    let start = pos(text, old, 0, 0);
    let end = pos(text, old, 0, old.len());
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": [{ "range": { "start": start, "end": end }, "text": new }]
        }),
    );
}

#[test]
fn diagnostics_on_open_and_change_carry_their_code_and_its_explanation() {
    let (_dir, mut client, main) = opened();
    assert_eq!(
        client.diagnostics(&main),
        Vec::<Value>::new(),
        "clean on open"
    );
    edit(&mut client, &main, MAIN, "needs brief", "needs brieff", 2);
    let diags = client.diagnostics(&main);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d["code"], "bmad::undefined");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["range"]["start"], pos(MAIN, "brief\n", 0, 0));
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("bmad explain undefined")
    );
    let explanation = path(&d["codeDescription"]["href"]);
    assert!(explanation.ends_with("explain/undefined.md"));
    let text = std::fs::read_to_string(&explanation).expect("the explanation is written");
    assert_eq!(
        text,
        bmad::explain::explanation(bmad::diagnostic::Code::Undefined)
    );
    // The quick fix the diagnostic's "did you mean" offers.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": main },
            "range": d["range"],
            "context": { "diagnostics": [d] }
        }),
    );
    assert_eq!(actions[0]["title"], "Replace with `brief`");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edits = &actions[0]["edit"]["changes"][&main];
    assert_eq!(edits[0]["newText"], "brief");
    assert_eq!(edits[0]["range"], d["range"]);
    // Fixed again: the diagnostics go.
    edit(
        &mut client,
        &main,
        &MAIN.replace("needs brief", "needs brieff"),
        "brieff",
        "brief",
        3,
    );
    assert_eq!(client.diagnostics(&main), Vec::<Value>::new());
}

/// The references of what is at `position`, its definition included.
fn references(client: &mut Client, main: &str, position: Value) -> Value {
    client.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": main },
            "position": position,
            "context": { "includeDeclaration": true }
        }),
    )
}

#[test]
fn definition_and_references_for_every_kind_of_name_and_import() {
    let (dir, mut client, main) = opened();
    let here = |needle: &str, nth: usize| pos(MAIN, needle, nth, 1);
    let def = |client: &mut Client, needle: &str, nth: usize| {
        client.at("textDocument/definition", &main, here(needle, nth))
    };
    // In the document: phase, story, artifact, procedure, level.
    for (used, defined) in [
        (("design", 1), "phase design"),
        (("design", 2), "phase design"),
        (("\"s1\"", 1), "story \"s1\""),
        (("brief\n", 0), "artifact brief"),
        (("restart", 0), "procedure restart"),
        (("high", 1), "level high"),
    ] {
        let found = def(&mut client, used.0, used.1);
        assert_eq!(found["uri"], main.as_str(), "{used:?}");
        let word_at = defined.find(' ').unwrap() + 1;
        assert_eq!(
            found["range"]["start"],
            pos(MAIN, defined, 0, word_at),
            "{used:?}"
        );
    }
    // A check of the imported file, and the file itself from its import.
    let found = def(&mut client, "api_up", 0);
    assert_eq!(path(&found["uri"]), dir.path().join("ops.bmad"));
    assert_eq!(found["range"]["start"], pos(OPS, "api_up", 0, 0));
    let found = def(&mut client, "./ops.bmad", 0);
    assert_eq!(path(&found["uri"]), dir.path().join("ops.bmad"));
    // An agent of the stdlib, and the stdlib module: a file under the cache directory.
    let found = def(&mut client, "analyst", 0);
    let roles = path(&found["uri"]);
    assert_eq!(roles, dir.path().join("cache/bmad/0.1.0/std/roles.bmad"));
    let text = std::fs::read_to_string(&roles).expect("written");
    assert_eq!(text, bmad::stdlib::module("std.roles").unwrap());
    assert_eq!(found["range"]["start"], pos(&text, "agent analyst", 0, 6));
    let found = def(&mut client, "std.roles", 0);
    assert_eq!(path(&found["uri"]), roles);
    // References: the definition and both uses of the phase.
    let refs = references(&mut client, &main, here("design", 0));
    let mut starts: Vec<Value> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["range"]["start"].clone())
        .collect();
    starts.sort_by_key(|p| p["line"].as_u64());
    assert_eq!(
        starts,
        [here("design", 0), here("design", 1), here("design", 2)].map(|p| {
            json!({ "line": p["line"], "character": p["character"].as_u64().unwrap() - 1 })
        })
    );
    // The agent's references reach into the stdlib file.
    let refs = references(&mut client, &main, here("analyst", 0));
    let files: Vec<PathBuf> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| path(&r["uri"]))
        .collect();
    assert!(files.contains(&roles) && files.contains(&dir.path().join("main.bmad")));
}

#[test]
fn hover_tells_names_imports_and_keywords() {
    let (_dir, mut client, main) = opened();
    let hover = |client: &mut Client, needle: &str, nth: usize| {
        let h = client.at("textDocument/hover", &main, pos(MAIN, needle, nth, 1));
        h["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let agent = hover(&mut client, "analyst", 0);
    assert!(
        agent.starts_with("**agent** `analyst` (in std/roles.bmad)"),
        "{agent}"
    );
    assert!(agent.contains("role \"Business analyst\""), "{agent}");
    let phase = hover(&mut client, "design", 1);
    assert!(
        phase.starts_with("**phase** `design`, used 2 times"),
        "{phase}"
    );
    assert!(
        phase.contains("phase design {\n  analyst: requirements {"),
        "{phase}"
    );
    let check = hover(&mut client, "api_up", 0);
    assert!(check.contains("check api_up = `true`"), "{check}");
    let import = hover(&mut client, "std.roles", 0);
    assert!(
        import.starts_with("**import** `std/roles.bmad`"),
        "{import}"
    );
    let keyword = hover(&mut client, "procedure", 0);
    assert!(keyword.starts_with("**keyword** `procedure`"), "{keyword}");
    assert!(keyword.contains("GRAMMAR.md"));
}

/// The labels of a completion at `position`.
fn labels(client: &mut Client, main: &str, position: Value) -> Vec<String> {
    let list = client.at("textDocument/completion", main, position);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn completion_offers_the_keywords_valid_here_and_the_names_in_scope() {
    let (_dir, mut client, main) = opened();
    // At the start of a line in a phase: steps (keywords and agents' names).
    let text = MAIN.replace("  check api_up\n", "  check api_up\n  \n");
    edit(
        &mut client,
        &main,
        MAIN,
        "  check api_up\n",
        "  check api_up\n  \n",
        2,
    );
    let in_phase = labels(&mut client, &main, pos(&text, "api_up\n  \n", 0, 9));
    for want in ["parallel", "check", "call", "analyst", "operations_manager"] {
        assert!(in_phase.iter().any(|l| l == want), "{want} in {in_phase:?}");
    }
    assert!(!in_phase.iter().any(|l| l == "workflow"), "{in_phase:?}");
    // Between items: the words an item starts with, no names.
    let top = labels(&mut client, &main, pos(&text, "\nphase build", 0, 0));
    for want in ["phase", "story", "monitor", "import"] {
        assert!(top.iter().any(|l| l == want), "{want} in {top:?}");
    }
    assert!(
        !top.iter().any(|l| l == "needs" || l == "analyst"),
        "{top:?}"
    );
    // In a task's block, a prefix typed: only what starts with it.
    let text2 = text.replace("    needs brief\n", "    ne\n    needs brief\n");
    edit(
        &mut client,
        &main,
        &text,
        "    needs brief\n",
        "    ne\n    needs brief\n",
        3,
    );
    let typed = labels(&mut client, &main, pos(&text2, "    ne\n", 0, 6));
    assert_eq!(typed, ["needs"]);
}

#[test]
fn formatting_is_bmad_fmt() {
    let (dir, mut client, _main) = opened();
    let messy = "phase   a {\n      dev:   build\n}\n";
    let messy_uri = uri(&dir.path().join("messy.bmad"));
    client.open(&messy_uri, messy);
    let edits = client.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": messy_uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let formatted = bmad::format::format(messy).expect("formats");
    assert_eq!(edits[0]["newText"], formatted.as_str());
    assert_eq!(
        edits[0]["range"]["start"],
        json!({ "line": 0, "character": 0 })
    );
    assert_eq!(
        edits[0]["range"]["end"],
        json!({ "line": 3, "character": 0 })
    );
}

#[test]
fn rename_edits_every_place_and_refuses_the_stdlib() {
    let (_dir, mut client, main) = opened();
    let at = pos(MAIN, "design", 1, 2);
    let range = client.at("textDocument/prepareRename", &main, at.clone());
    assert_eq!(range["start"], pos(MAIN, "design", 1, 0));
    let edit = client.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": main }, "position": at, "newName": "plan" }),
    );
    let edits = edit["changes"][&main].as_array().unwrap();
    assert_eq!(edits.len(), 3, "{edits:?}");
    assert!(edits.iter().all(|e| e["newText"] == "plan"));
    let refused = client.call(
        "textDocument/rename",
        json!({ "textDocument": { "uri": main }, "position": pos(MAIN, "analyst", 0, 1), "newName": "writer" }),
    );
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("stdlib"), "{refused}");
    let bad = client.call(
        "textDocument/rename",
        json!({ "textDocument": { "uri": main }, "position": at, "newName": "two words" }),
    );
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a name")
    );
}

/// The names of the top-level document symbols.
fn names(symbols: &Value) -> Vec<&str> {
    symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

#[test]
fn symbols_folding_and_semantic_tokens() {
    let (_dir, mut client, main) = opened();
    let doc = json!({ "textDocument": { "uri": main } });
    let symbols = client.request("textDocument/documentSymbol", doc.clone());
    let names = names(&symbols);
    for want in ["design", "build", "s1", "s2", "restart", "brief"] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let design = symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "design")
        .unwrap();
    assert_eq!(
        design["children"][0]["name"], "prd",
        "the artifact it produces"
    );
    let folds = client.request("textDocument/foldingRange", doc.clone());
    let design_line = pos(MAIN, "phase design", 0, 0)["line"].clone();
    assert!(
        folds
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["startLine"] == design_line),
        "{folds}"
    );
    let tokens = client.request("textDocument/semanticTokens/full", doc);
    let data: Vec<u64> = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    // Decoded: (line, column, length, type, modifiers).
    let (mut line, mut col) = (0, 0);
    let mut decoded = Vec::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            col = 0;
        }
        line += t[0];
        col += t[1];
        decoded.push((line, col, t[2], t[3], t[4]));
    }
    let at = |needle: &str, nth: usize| {
        let p = pos(MAIN, needle, nth, 0);
        decoded
            .iter()
            .find(|t| t.0 == p["line"].as_u64().unwrap() && t.1 == p["character"].as_u64().unwrap())
            .copied()
    };
    assert_eq!(at("import", 0).map(|t| t.3), Some(0), "a keyword");
    assert_eq!(
        at("\"input/brief.md\"", 0).map(|t| t.3),
        Some(1),
        "a string"
    );
    assert_eq!(
        at("analyst", 0).map(|t| (t.3, t.4)),
        Some((5, 0)),
        "an agent used"
    );
    assert_eq!(
        at("design", 0).map(|t| (t.3, t.4)),
        Some((6, 0)),
        "a phase used"
    );
    assert_eq!(
        at("design", 1).map(|t| (t.3, t.4)),
        Some((6, 1)),
        "a phase defined"
    );
}

#[test]
fn a_file_with_a_syntax_error_keeps_its_other_diagnostics_and_features() {
    let (_dir, mut client, main) = opened();
    client.diagnostics(&main);
    // A phase broken in the middle, and a misspelt artifact after it.
    let broken = MAIN
        .replace(
            "phase build after design {",
            "phase build after design {\n  dev: {{",
        )
        .replace("needs brief", "needs brieff");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": main, "version": 2 }, "contentChanges": [{ "text": broken }] }),
    );
    let diags = client.diagnostics(&main);
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"bmad::syntax"), "{codes:?}");
    assert!(
        codes.contains(&"bmad::undefined"),
        "the rest is still checked: {codes:?}"
    );
    // Nothing reported only because the broken phase is missing (its `call restart`).
    assert!(
        !codes.contains(&"bmad::unreachable") && !codes.contains(&"bmad::unused"),
        "{codes:?}"
    );
    // Definition, hover and symbols after the broken item.
    let found = client.at("textDocument/definition", &main, pos(&broken, "high", 1, 1));
    assert_eq!(found["range"]["start"], pos(&broken, "level high", 0, 6));
    let hover = client.at("textDocument/hover", &main, pos(&broken, "restart", 1, 1));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .starts_with("**procedure** `restart`")
    );
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": main } }),
    );
    let names = names(&symbols);
    assert!(
        names.contains(&"s2") && names.contains(&"restart"),
        "{names:?}"
    );
    let list = client.at(
        "textDocument/completion",
        &main,
        pos(&broken, "\nstory \"s1\"", 0, 0),
    );
    assert!(!list["items"].as_array().unwrap().is_empty());
}
