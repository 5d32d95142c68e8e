//! Fuzzing the front end (issue 25 item 7): the library calls behind `bmad check`,
//! `bmad fmt` and `bmad graph`, fed workflows assembled from the grammar's pieces, mutated
//! examples, stdlib and UI-test files, arbitrary strings and arbitrary bytes.
//!
//! What must hold for every input: no panic; every diagnostic has a `bmad::` code and a
//! place (only an unreadable root file has none) whose byte offsets lie inside its file,
//! on character boundaries; rendering a diagnostic (text and JSON) does not panic; checking
//! twice gives the same diagnostics; a text `bmad fmt` accepts (nothing stops it parsing)
//! formats, the result formats to itself and checks the same; a workflow without errors
//! draws as a graph. No hang: every input is small (a few KB), so a case that does not end
//! is a loop, not a slow input; the suite as a whole finishing is the check (no clock is
//! read).
//!
//! Bounded for CI: the number of cases per property is set so that this file takes about a
//! minute in a debug `cargo test --test fuzz` on two cores. `BMAD_FUZZ_CASES=N` runs N
//! cases of every property instead (a longer local run: `BMAD_FUZZ_CASES=20000 cargo test
//! --release --test fuzz`). A failure is shrunk and saved under `tests/fuzz.proptest-regressions`,
//! which is committed and replayed first on every run.

use bmad::diagnostic::{Code, Diagnostic};
use bmad::render::RenderOptions;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The name the fuzzed text is checked under (tests/fixtures/fuzz/back.bmad imports it).
const NAME: &str = "fuzz.bmad";

/// Cases of each property: `default`, or `BMAD_FUZZ_CASES`.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("BMAD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking re-runs the check thousands of times on a failure: bounded too.
        max_shrink_iters: 4096,
        // tests/fuzz.proptest-regressions (the default looks for a src/ beside tests/).
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The directory relative imports of the fuzzed text resolve from: files to import, import
/// cycles back to the fuzzed text, broken and good `.rhai` modules.
fn import_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        root("tests/fixtures/fuzz")
            .canonicalize()
            .expect("tests/fixtures/fuzz exists")
    })
}

// ---------------------------------------------------------------------------------------
// The properties.

/// Every property of one text, checked with relative imports resolving from `dir`.
fn examine(text: &str, dir: &Path) -> Result<(), TestCaseError> {
    let checked = bmad::check_text_in(NAME, text, dir);
    places(&checked)?;
    for d in &checked.diagnostics {
        let shown = bmad::render::render(d, &checked.sources, RenderOptions::default());
        prop_assert!(shown.contains(d.code.as_str()), "{shown}");
        let json = bmad::diagnostic::to_json(d, &checked.sources);
        prop_assert!(json.contains(d.code.as_str()), "{json}");
    }
    let again = bmad::check_text_in(NAME, text, dir);
    prop_assert_eq!(
        &again.diagnostics,
        &checked.diagnostics,
        "checking twice gave different diagnostics"
    );
    formats(text, dir)?;
    // `bmad check --emit ir`.
    prop_assert!(serde_json::to_string(&checked.program).is_ok());
    if !checked.io_failed && !checked.has_errors() {
        draws(&checked);
    }
    Ok(())
}

/// Every diagnostic has a stable code and a place inside its file, on char boundaries.
fn places(checked: &bmad::Checked) -> Result<(), TestCaseError> {
    let files: Vec<u32> = checked.sources.files().map(|(id, _)| id).collect();
    for d in &checked.diagnostics {
        prop_assert!(d.code.as_str().starts_with("bmad::"));
        prop_assert!(
            d.primary.is_some() || d.code == Code::Io,
            "{} has no place: {}",
            d.code,
            d.message
        );
        for label in d.primary.iter().chain(&d.secondary) {
            let span = label.span;
            prop_assert!(
                files.contains(&span.file),
                "{}: `{}` points at file {} of {}",
                d.code,
                d.message,
                span.file,
                files.len()
            );
            let file = checked.sources.get(span.file);
            let (start, end) = (span.start as usize, span.end as usize);
            prop_assert!(
                start <= end && end <= file.text.len(),
                "{}: `{}` at {start}..{end} of {} bytes in {}",
                d.code,
                d.message,
                file.text.len(),
                file.name
            );
            prop_assert!(
                file.text.is_char_boundary(start) && file.text.is_char_boundary(end),
                "{}: `{}` at {start}..{end} splits a character of {}: {:?}",
                d.code,
                d.message,
                file.name,
                &file.text[file.text.floor_char_boundary(start)
                    ..file.text.ceil_char_boundary(end).min(file.text.len())]
            );
        }
    }
    Ok(())
}

/// What `bmad fmt` does with `text`: refused when parsing stops (as the command decides);
/// otherwise formatted, the result formatted again unchanged, and checking the result finds
/// the same problems.
fn formats(text: &str, dir: &Path) -> Result<(), TestCaseError> {
    let parsed = bmad::load::parse_text(NAME, text);
    let stops = |d: &Diagnostic| {
        matches!(
            d.code,
            Code::Syntax | Code::TooDeep | Code::Encoding | Code::Io
        )
    };
    let refused = parsed.diagnostics.iter().any(stops);
    // The command formats the decoded text (without a byte order mark).
    let Some(module) = parsed.modules.first() else {
        prop_assert!(parsed.io_failed);
        return Ok(());
    };
    let source = &parsed.sources.get(module.file).text;
    let once = match bmad::format::format(source) {
        Ok(once) => once,
        Err(bmad::format::Error::Syntax) => {
            prop_assert!(
                refused,
                "the parser takes it but the formatter finds a syntax error"
            );
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
    };
    if refused {
        // Encoding: a NUL parses (strings may hold one) but the loader refuses the file.
        prop_assert!(
            parsed
                .diagnostics
                .iter()
                .filter(|d| stops(d))
                .all(|d| d.code == Code::Encoding),
            "the formatter takes a text the parser refuses: {:?}",
            parsed.diagnostics.iter().find(|d| stops(d))
        );
        return Ok(());
    }
    // Nothing lost or doubled: the parser keeps every item the grammar finds in the text.
    let whole = {
        use bmad::syntax::grammar::{BmadParser, Rule};
        use pest::Parser;
        let mut pairs = BmadParser::parse(Rule::file, source).expect("formatted, so it parses");
        pairs.next().map_or(0, |f| {
            f.into_inner().filter(|p| p.as_rule() != Rule::EOI).count()
        })
    };
    prop_assert_eq!(module.items.len(), whole, "items kept / items in the text");
    let twice = bmad::format::format(&once);
    prop_assert_eq!(
        twice.as_deref(),
        Ok(once.as_str()),
        "formatting the formatted text changed it"
    );
    let before = verdict(&bmad::check_text_in(NAME, source, dir));
    let after = verdict(&bmad::check_text_in(NAME, &once, dir));
    prop_assert_eq!(
        before,
        after,
        "formatting changed what the checker finds; formatted:\n{}",
        once
    );
    Ok(())
}

/// What the checker finds, without places (formatting moves them).
fn verdict(checked: &bmad::Checked) -> Vec<(&'static str, String)> {
    let mut found: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.message.clone()))
        .collect();
    found.sort();
    found
}

/// `bmad graph` in every format and selection.
fn draws(checked: &bmad::Checked) {
    use bmad::graph::{Only, build, render::Format, render::render};
    for only in [Only::All, Only::Phases, Only::Stories, Only::Ops] {
        let graph = build(&checked.program, only);
        for format in [Format::Mermaid, Format::Dot] {
            let _ = render(&graph, format);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Structure-aware: workflows assembled from the grammar's pieces (grammar/bmad.pest).

/// A piece of a workflow: tokens, joined later with varied white space and comments.
type Toks = Vec<String>;

fn one(s: &str) -> Toks {
    vec![s.to_string()]
}

fn cat(parts: Vec<Toks>) -> Toks {
    parts.into_iter().flatten().collect()
}

fn pick(words: &'static [&'static str]) -> BoxedStrategy<Toks> {
    select(words).prop_map(one).boxed()
}

fn maybe(s: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
    prop::option::weighted(0.4, s)
        .prop_map(Option::unwrap_or_default)
        .boxed()
}

const NAMES: &[&str] = &[
    "a",
    "b",
    "c",
    "p",
    "q",
    "dev",
    "qa",
    "pm",
    "analyst",
    "architect",
    "sm",
    "devops",
    "monitor",
    "self_healer",
    "operations_manager",
    "helper",
    "shared",
    "stories",
    "story",
    "approved",
    "prod",
    "staging",
    "critical",
    "high",
    "low",
    "web_tier",
    "notes",
    "draft",
    "implement",
    "review",
    "_",
    "x1",
    "phase",
    "if",
    "else",
    "on",
    "a_name_long_enough_to_wrap_a_line_of_the_formatter_all_on_its_own_width",
];

fn name() -> BoxedStrategy<Toks> {
    pick(NAMES)
}

/// `a, b, c`
fn names() -> BoxedStrategy<Toks> {
    prop::collection::vec(select(NAMES), 1..4)
        .prop_map(|ns| {
            let mut out = Vec::new();
            for (i, n) in ns.into_iter().enumerate() {
                if i > 0 {
                    out.push(",".to_string());
                }
                out.push(n.to_string());
            }
            out
        })
        .boxed()
}

const STRINGS: &[&str] = &[
    "\"x\"",
    "\"\"",
    "\"/docs/a.md\"",
    "\"docs/b.md\"",
    "\"/shared.md\"",
    "\"http://127.0.0.1:8080/health\"",
    "\"127.0.0.1:5432\"",
    "\"https://[::1]:99999/\"",
    "\"é 🦀 \\\" \\\\ \\n\"",
    "\"0 4 * * 0\"",
    "\"*/5 * * * *\"",
    "\"60 25 * * *\"",
    "\"* * *\"",
    "\"s1\"",
    "\"s2\"",
    "\"tab\there\"",
    "\"\"\"multi\n  line ``` ` \"\"\"",
    "\"\"\"\"\"\"",
    "\"\\u{0}\"",
];

fn string() -> BoxedStrategy<Toks> {
    pick(STRINGS)
}

const QUANTITIES: &[&str] = &[
    "30s",
    "0s",
    "5m",
    "1h",
    "2d",
    "1w",
    "100ms",
    "4GB",
    "512MiB",
    "4gb",
    "80%",
    "150%",
    "0%",
    "1000/hour",
    "5/second",
    "3/fortnight",
    "2 cores",
    "3",
    "0",
    "1.5",
    "007",
    "1_000",
    "99999999999999999999",
    "18446744073709551616ms",
    "999999999999999w",
    "4294967296GB",
    "0.0001ms",
    "9007199254740993",
    "10parsecs",
];

fn quantity() -> BoxedStrategy<Toks> {
    pick(QUANTITIES)
}

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "64",
    "1_000",
    "4294967296",
    "99999999999999999999",
];

fn int() -> BoxedStrategy<Toks> {
    pick(INTS)
}

const RHAI: &[&str] = &[
    "`a > b`",
    "`true`",
    "`1 +`",
    "`é`",
    "`x é`",
    "`loop {}`",
    "`while true {}`",
    "`env(\"STUN_HOST\") == \"x\"`",
    "`env(\"NOT_DECLARED\")`",
    "`http_get(\"http://evil.example/\")`",
    "`tcp_connect(\"127.0.0.1\", 1, 1)`",
    "`unknown_fn(1)`",
    "`double(2) > 3`",
    "`let x = 1; x`",
    "`undefined_variable`",
    "`story.title`",
    "```\nlet a = 1;\na > 0\n```",
    "```\n\tlet é = 1;\n```",
    "```\r\nfoo(\r\n```",
    "```\nlet s = \"🦀\";\nnope(s)\n```",
    "``",
    "`\"🦀\" + ä`",
    "`fn f() { f() } f()`",
    "`[1,2,3].map(|x| x * 2)`",
    "`#{a: 1}`",
    "`a.b.c`",
    "```\n```",
    "`  )`",
    "`\u{feff}1`",
    "`ä(1)`",
];

fn rhai() -> BoxedStrategy<Toks> {
    pick(RHAI)
}

fn cond() -> BoxedStrategy<Toks> {
    prop_oneof![rhai(), name(), pick(&["a.b", "story.type", "approved"])].boxed()
}

fn artifact_ref() -> BoxedStrategy<Toks> {
    prop_oneof![name(), string()].boxed()
}

fn list_of(item: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
    prop::collection::vec(item, 1..3)
        .prop_map(|items| {
            let mut out = Vec::new();
            for (i, it) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push(",".to_string());
                }
                out.extend(it);
            }
            out
        })
        .boxed()
}

fn task() -> BoxedStrategy<Toks> {
    let opt = prop_oneof![
        (pick(&["needs"]), list_of(artifact_ref())).prop_map(|(a, b)| cat(vec![a, b])),
        (
            pick(&["produces"]),
            list_of(
                prop_oneof![
                    (name(), string()).prop_map(|(n, s)| cat(vec![n, one("="), s])),
                    string(),
                    name()
                ]
                .boxed()
            )
        )
            .prop_map(|(a, b)| cat(vec![a, b])),
        (pick(&["context", "tests"]), names()).prop_map(|(a, b)| cat(vec![a, b])),
        (pick(&["prompt"]), string()).prop_map(|(a, b)| cat(vec![a, b])),
        (pick(&["timeout"]), quantity()).prop_map(|(a, b)| cat(vec![a, b])),
        pick(&["verdict"]),
    ];
    let body = prop::collection::vec(opt, 0..4).prop_map(|opts| {
        cat(vec![
            one("{"),
            opts.into_iter().flatten().collect(),
            one("}"),
        ])
    });
    (
        name(),
        names(),
        maybe(
            (pick(&["mode"]), name())
                .prop_map(|(a, b)| cat(vec![a, b]))
                .boxed(),
        ),
        maybe(body.boxed()),
    )
        .prop_map(|(agent, tasks, mode, body)| cat(vec![agent, one(":"), tasks, mode, body]))
        .boxed()
}

fn probe() -> BoxedStrategy<Toks> {
    let spec = prop_oneof![
        (pick(&["get", "post", "head", "put"]), string()).prop_map(|(a, b)| cat(vec![a, b])),
        (pick(&["tcp"]), string()).prop_map(|(a, b)| cat(vec![a, b])),
    ];
    let opt = prop_oneof![
        (pick(&["expect"]), int()).prop_map(|(a, b)| cat(vec![a, b])),
        (pick(&["timeout", "every"]), quantity()).prop_map(|(a, b)| cat(vec![a, b])),
    ];
    (spec, prop::collection::vec(opt, 0..3))
        .prop_map(|(s, opts)| cat(vec![s, opts.into_iter().flatten().collect()]))
        .boxed()
}

/// A step with no block inside.
fn simple_step() -> BoxedStrategy<Toks> {
    let kw = |k: &'static str, rest: BoxedStrategy<Toks>| {
        rest.prop_map(move |r| cat(vec![one(k), r])).boxed()
    };
    prop_oneof![
        4 => task(),
        1 => (kw("sh", string()), maybe(kw("timeout", quantity()))).prop_map(|(a, b)| cat(vec![a, b])),
        1 => kw("wait", quantity()),
        1 => probe(),
        1 => kw("check", prop_oneof![rhai(), names()].boxed()),
        1 => kw("verify", names()),
        1 => (select(&["call", "heal", "escalate", "rollback", "isolate", "stop_writes", "watch"][..]), name())
            .prop_map(|(k, n)| cat(vec![one(k), n])),
        1 => (maybe(name()), string()).prop_map(|(n, s)| cat(vec![one("alert"), n, s])),
        1 => (names(), maybe(string())).prop_map(|(n, s)| cat(vec![one("notify"), n, s])),
        1 => (name(), maybe(kw("by", name()))).prop_map(|(n, b)| cat(vec![one("deploy"), n, b])),
        1 => (name(), cond(), prop::collection::vec((name(), name(), any::<bool>()), 0..3))
            .prop_map(|(n, by, arms)| {
                let mut out = cat(vec![one("assign"), n, one("by"), by, one("{")]);
                for (a, b, comma) in arms {
                    out.extend(cat(vec![a, one("=>"), b]));
                    if comma {
                        out.push(",".into());
                    }
                }
                out.push("}".into());
                out
            }),
        1 => kw("report", maybe(string())),
        1 => (name(), name(), maybe(
            prop::collection::vec(prop_oneof![
                kw("artifacts", list_of(artifact_ref())),
                kw("completed", names()),
                kw("pending", names()),
                kw("notes", string()),
            ], 0..3)
            .prop_map(|es| cat(vec![one("{"), es.into_iter().flatten().collect(), one("}")]))
            .boxed()
        ))
            .prop_map(|(a, b, body)| cat(vec![one("handoff"), a, one("->"), b, body])),
    ]
    .boxed()
}

/// `{ steps [on failure { steps }] }`
fn block_of(step: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
    (
        prop::collection::vec(step.clone(), 0..4),
        prop::option::weighted(0.2, prop::collection::vec(step, 0..2)),
    )
        .prop_map(|(steps, guard)| {
            let mut out = one("{");
            out.extend(steps.into_iter().flatten());
            if let Some(g) = guard {
                out.extend(cat(vec![one("on"), one("failure"), one("{")]));
                out.extend(g.into_iter().flatten());
                out.push("}".into());
            }
            out.push("}".into());
            out
        })
        .boxed()
}

fn max_clause() -> BoxedStrategy<Toks> {
    maybe(int().prop_map(|n| cat(vec![one("max"), n])).boxed())
}

/// Any step, blocks nested a few levels.
fn step() -> BoxedStrategy<Toks> {
    simple_step()
        .prop_recursive(4, 48, 4, |inner| {
            let block = block_of(inner.clone());
            prop_oneof![
                3 => inner.clone(),
                1 => (max_clause(), prop::collection::vec(inner.clone(), 0..4)).prop_map(|(m, s)| {
                    cat(vec![one("parallel"), m, one("{"), s.into_iter().flatten().collect(), one("}")])
                }),
                1 => (name(), name(), max_clause(), block.clone()).prop_map(|(v, c, m, b)| {
                    cat(vec![one("for"), v, one("in"), c, m, b])
                }),
                1 => (max_clause(), block.clone(), maybe(cond().prop_map(|c| cat(vec![one("until"), c])).boxed()))
                    .prop_map(|(m, b, u)| cat(vec![one("repeat"), m, b, u])),
                1 => (max_clause(), maybe(quantity().prop_map(|q| cat(vec![one("backoff"), q])).boxed()), block.clone())
                    .prop_map(|(m, q, b)| cat(vec![one("retry"), m, q, b])),
                1 => (cond(), block.clone(), prop::collection::vec((cond(), block.clone()), 0..3), maybe(block.clone()))
                    .prop_map(|(c, b, elifs, other)| {
                        let mut out = cat(vec![one("if"), c, b]);
                        for (c, b) in elifs {
                            out.extend(cat(vec![one("else"), one("if"), c, b]));
                        }
                        if !other.is_empty() {
                            out.extend(cat(vec![one("else"), other]));
                        }
                        out
                    }),
                1 => (cond(), prop::collection::vec((prop_oneof![name(), pick(&["_"])], prop_oneof![block.clone(), inner.clone()]), 0..3))
                    .prop_map(|(c, arms)| {
                        let mut out = cat(vec![one("match"), c, one("{")]);
                        for (p, body) in arms {
                            out.extend(cat(vec![p, one("=>"), body]));
                        }
                        out.push("}".into());
                        out
                    }),
                1 => (block.clone(), block).prop_map(|(a, b)| {
                    cat(vec![one("try"), a, one("on"), one("failure"), b])
                }),
            ]
        })
        .boxed()
}

fn block() -> BoxedStrategy<Toks> {
    block_of(step())
}

/// `{ entries }` of a declaration.
fn braces(entries: BoxedStrategy<Toks>, most: usize) -> BoxedStrategy<Toks> {
    prop::collection::vec(entries, 0..most)
        .prop_map(|es| cat(vec![one("{"), es.into_iter().flatten().collect(), one("}")]))
        .boxed()
}

fn kw_then(k: &'static str, rest: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
    rest.prop_map(move |r| cat(vec![one(k), r])).boxed()
}

fn limit_entries() -> BoxedStrategy<Toks> {
    (
        pick(&[
            "cpu",
            "memory",
            "disk",
            "max_concurrent_agents",
            "max_memory",
            "max_api_calls",
            "bogus",
        ]),
        quantity(),
    )
        .prop_map(|(n, q)| cat(vec![n, q]))
        .boxed()
}

fn agent() -> BoxedStrategy<Toks> {
    let backend = prop_oneof![
        (
            string(),
            prop::collection::vec(
                prop_oneof![
                    pick(&["stdin"]),
                    kw_then("cwd", string()),
                    kw_then("timeout", quantity()),
                    kw_then("output", name()),
                ],
                0..3
            )
        )
            .prop_map(|(s, o)| cat(vec![
                one("exec"),
                s,
                o.into_iter().flatten().collect()
            ])),
        prop_oneof![rhai(), name()].prop_map(|r| cat(vec![one("script"), r])),
        prop::collection::vec(
            prop_oneof![
                kw_then("duration", quantity()),
                kw_then("fail", quantity()),
                kw_then("seed", int()),
            ],
            0..3
        )
        .prop_map(|o| cat(vec![one("sim"), o.into_iter().flatten().collect()])),
        prop::collection::vec(
            prop_oneof![kw_then("pr", string()), kw_then("base", string())],
            0..2
        )
        .prop_map(|o| cat(vec![one("git"), o.into_iter().flatten().collect()])),
    ];
    let entry = prop_oneof![
        kw_then("role", string()),
        kw_then("prompt", string()),
        kw_then("modes", names()),
        kw_then("model", string()),
        kw_then("tools", names()),
        kw_then("limits", braces(limit_entries(), 3)),
        kw_then("backend", backend.boxed()),
    ];
    (any::<bool>(), name(), braces(entry.boxed(), 5))
        .prop_map(|(over, n, body)| {
            let head = if over {
                vec!["override".into(), "agent".into()]
            } else {
                one("agent")
            };
            cat(vec![head, n, body])
        })
        .boxed()
}

fn story() -> BoxedStrategy<Toks> {
    let entry = prop_oneof![
        kw_then("accept", string()),
        kw_then("title", string()),
        kw_then("after", list_of(string())),
        kw_then("epic", string()),
        (string(), maybe(kw_then("template", string()))).prop_map(|(s, t)| cat(vec![
            one("create"),
            s,
            t
        ])),
        (string(), maybe(string())).prop_map(|(s, t)| cat(vec![one("modify"), s, t])),
        kw_then("from_prd", string()),
        kw_then("from_arch", string()),
    ];
    (string(), name(), braces(entry.boxed(), 5))
        .prop_map(|(s, t, b)| cat(vec![one("story"), s, t, b]))
        .boxed()
}

fn monitor() -> BoxedStrategy<Toks> {
    let action = prop_oneof![
        (
            pick(&["alert"]),
            maybe(prop_oneof![string(), name()].boxed())
        )
            .prop_map(|(a, b)| cat(vec![a, b])),
        (
            pick(&["scale", "heal", "escalate", "call", "emergency"]),
            name()
        )
            .prop_map(|(a, b)| cat(vec![a, b])),
    ];
    let actions = (
        list_of(action.boxed()),
        maybe(kw_then("cooldown", quantity())),
    )
        .prop_map(|(a, c)| cat(vec![one("=>"), a, c]))
        .boxed();
    let level = pick(&["healthy", "warning", "critical"]);
    let entry = prop_oneof![
        kw_then("agent", name()),
        kw_then("every", quantity()),
        kw_then("logs", list_of(string())),
        (
            name(),
            prop_oneof![probe(), kw_then("sh", string()), kw_then("check", name())],
            maybe(actions.clone())
        )
            .prop_map(|(n, p, a)| cat(vec![one("health"), n, p, a])),
        (
            name(),
            maybe(kw_then("of", name())),
            pick(&[">", ">=", "<", "<=", "==", "!="]),
            quantity(),
            maybe(level.clone()),
            actions.clone()
        )
            .prop_map(|(n, of, op, q, l, a)| cat(vec![one("metric"), n, of, op, q, l, a])),
        (
            string(),
            maybe(kw_then("severity", name())),
            actions.clone()
        )
            .prop_map(|(s, sev, a)| cat(vec![one("pattern"), s, sev, a])),
        (level, actions).prop_map(|(l, a)| cat(vec![one("on"), l, a])),
    ];
    (name(), braces(entry.boxed(), 5))
        .prop_map(|(n, b)| cat(vec![one("monitor"), n, b]))
        .boxed()
}

fn heal() -> BoxedStrategy<Toks> {
    let entry = prop_oneof![
        kw_then("agent", name()),
        kw_then("attempts", int()),
        kw_then("diagnose", names()),
        (name(), block()).prop_map(|(n, b)| cat(vec![one("fix"), n, b])),
        kw_then("verify", names()),
        kw_then("otherwise", step()),
    ];
    (name(), braces(entry.boxed(), 5))
        .prop_map(|(n, b)| cat(vec![one("heal"), n, b]))
        .boxed()
}

fn item() -> BoxedStrategy<Toks> {
    prop_oneof![
        3 => agent(),
        5 => (name(), maybe(kw_then("after", names())), max_clause(), block())
            .prop_map(|(n, a, m, b)| cat(vec![one("phase"), n, a, m, b])),
        2 => story(),
        1 => (string(), maybe(string())).prop_map(|(a, b)| cat(vec![one("epic"), a, b])),
        1 => (name(), string(), any::<bool>()).prop_map(|(n, s, p)| {
            let mut out = cat(vec![one("artifact"), n, one("="), s]);
            if p {
                out.push("provided".into());
            }
            out
        }),
        2 => pick(&[
            "std.roles",
            "std.agents",
            "std.nope",
            "\"lib.bmad\"",
            "\"loop_a.bmad\"",
            "\"back.bmad\"",
            "\"fuzz.bmad\"",
            "\"broken.bmad\"",
            "\"funcs.rhai\"",
            "\"statements.rhai\"",
            "\"broken.rhai\"",
            "\"unicode.rhai\"",
            "\"latin1.rhai\"",
            "\"nul.rhai\"",
            "\"missing.bmad\"",
            "\"../fuzz/lib.bmad\"",
            "\"/dev/null\"",
            "\".\"",
            "\"\"",
        ])
        .prop_map(|t| cat(vec![one("import"), t])),
        1 => (name(), prop::collection::vec(prop_oneof![kw_then("start", name()), kw_then("description", string())], 0..3))
            .prop_map(|(n, es)| cat(vec![one("workflow"), n, one("{"), es.into_iter().flatten().collect(), one("}")])),
        1 => braces(
            (
                pick(&["workspace", "hosts", "agents", "agent_timeout", "script_timeout", "script_max_operations", "script_max_string", "seed", "bogus"]),
                prop_oneof![quantity(), string(), names()]
            )
                .prop_map(|(n, v)| cat(vec![n, v]))
                .boxed(),
            4,
        )
        .prop_map(|b| cat(vec![one("settings"), b])),
        1 => (pick(&["STUN_HOST", "TOKEN", "a"]), maybe(string().prop_map(|s| cat(vec![one("="), s])).boxed()), any::<bool>())
            .prop_map(|(n, v, secret)| {
                let mut out = cat(vec![one("env"), n, v]);
                if secret {
                    out.push("secret".into());
                }
                out
            }),
        1 => (name(), braces(prop_oneof![kw_then("after", name()), kw_then("url", string()), kw_then("gate", prop_oneof![pick(&["manual"]), rhai(), names()].boxed())].boxed(), 4))
            .prop_map(|(n, b)| cat(vec![one("environment"), n, b])),
        2 => (name(), prop_oneof![rhai().prop_map(|r| cat(vec![one("="), r])), block()])
            .prop_map(|(n, b)| cat(vec![one("check"), n, b])),
        2 => monitor(),
        2 => heal(),
        2 => (name(), block()).prop_map(|(n, b)| cat(vec![one("procedure"), n, b])),
        1 => (name(), prop::collection::vec(prop_oneof![kw_then("cron", string()), kw_then("type", name()), kw_then("overlap", pick(&["skip", "queue", "nope"])), kw_then("agent", name())], 0..4), block())
            .prop_map(|(n, o, b)| cat(vec![one("maintenance"), n, o.into_iter().flatten().collect(), b])),
        1 => braces(prop_oneof![
            (name(), braces(prop_oneof![kw_then("agents", names()), kw_then("respond", prop_oneof![pick(&["immediate"]), quantity()].boxed())].boxed(), 3))
                .prop_map(|(n, b)| cat(vec![one("level"), n, b])),
            (pick(&["detection", "triage", "resolution", "postmortem"]), block()).prop_map(|(s, b)| cat(vec![s, b])),
        ].boxed(), 4)
        .prop_map(|b| cat(vec![one("incidents"), b])),
        1 => (name(), braces(prop_oneof![kw_then("immediate", block()), kw_then("recovery", block()), kw_then("team", names())].boxed(), 3))
            .prop_map(|(n, b)| cat(vec![one("emergency"), n, b])),
        1 => braces(prop_oneof![kw_then("per_agent", braces(limit_entries(), 3)), kw_then("global", braces(limit_entries(), 3))].boxed(), 3)
            .prop_map(|b| cat(vec![one("limits"), b])),
        1 => braces(prop_oneof![
            kw_then("every", quantity()),
            kw_then("strategy", name()),
            kw_then("at", names()),
            (name(), maybe(braces(prop_oneof![pick(&["audit"]), kw_then("notify", name())].boxed(), 3)))
                .prop_map(|(n, b)| cat(vec![one("conflict"), n, b])),
        ].boxed(), 4)
        .prop_map(|b| cat(vec![one("sync"), b])),
        1 => braces(prop_oneof![kw_then("before", names()), kw_then("after", names())].boxed(), 3)
            .prop_map(|b| cat(vec![one("handoffs"), b])),
        1 => (name(), pick(&["deploys_per_day", "lead_time", "incident_resolution_time", "open_incidents", "bogus"]), pick(&[">", ">=", "<", "<=", "==", "!="]), quantity())
            .prop_map(|(n, m, op, q)| cat(vec![one("kpi"), n, one(":"), m, op, q])),
        1 => string().prop_map(|s| cat(vec![one("stories"), one("from"), s])),
        1 => deep(),
    ]
    .boxed()
}

/// A phase nested about as deep as the parser takes ([`bmad::syntax::split::MAX_DEPTH`]),
/// one side or the other: the lowering, the checks, the formatter and the graph walk it
/// recursively.
fn deep() -> BoxedStrategy<Toks> {
    let head = select(
        &[
            "repeat max 2 {",
            "retry max 2 {",
            "parallel {",
            "for s in stories max 2 {",
            "if `a` {",
            "try {",
            "match x { _ =>",
            "match x { _ => {",
        ][..],
    );
    (
        prop::collection::vec(head, 55..70),
        simple_step(),
        prop::collection::vec(any::<bool>(), 0..8),
    )
        .prop_map(|(heads, inner, elses)| {
            let mut out = cat(vec![one("phase"), one("deep"), one("{")]);
            let mut closes = Vec::new();
            for head in &heads {
                out.extend(head.split(' ').map(str::to_string));
                closes.push(match *head {
                    "match x { _ =>" => "}",
                    "match x { _ => {" => "} }",
                    "try {" => "} on failure { }",
                    "if `a` {" if elses.get(closes.len() % 8) == Some(&true) => "} else { }",
                    _ => "}",
                });
            }
            out.extend(inner);
            for close in closes.into_iter().rev() {
                out.extend(close.split(' ').map(str::to_string));
            }
            out.push("}".into());
            out
        })
        .boxed()
}

/// White space and comments between two tokens: mostly a space.
const SEPARATORS: &[&str] = &[
    " ",
    " ",
    " ",
    " ",
    " ",
    " ",
    "\n",
    "\n  ",
    "\n\n",
    "\t",
    " // note\n",
    " /* c */ ",
    "\r\n",
    "",
];

/// A whole file: items, each token followed by a separator, an item a line.
fn workflow() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(item(), 0..8),
        prop::collection::vec(select(SEPARATORS), 1..24),
    )
        .prop_map(|(roles, items, seps)| {
            let mut out = String::new();
            if roles {
                out.push_str("import std.roles\n");
            }
            let mut k = 0;
            for item in items {
                for (i, tok) in item.iter().enumerate() {
                    if i > 0 {
                        out.push_str(seps[k % seps.len()]);
                        k += 1;
                    }
                    out.push_str(tok);
                }
                out.push('\n');
            }
            out
        })
}

// ---------------------------------------------------------------------------------------
// Mutations of real files.

/// The bundled examples, the stdlib and the UI tests' broken files, with the directory
/// their relative imports resolve from.
fn seeds() -> &'static [(String, PathBuf)] {
    static SEEDS: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        for dir in ["examples", "stdlib", "stdlib/templates", "tests/ui"] {
            let dir = root(dir);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "bmad"))
                .collect();
            files.sort();
            for f in files {
                let bytes = std::fs::read(&f).unwrap();
                out.push((String::from_utf8_lossy(&bytes).into_owned(), dir.clone()));
            }
        }
        assert!(out.len() > 50, "{} seed files", out.len());
        out
    })
}

/// Text worth inserting: tokens of the grammar, unbalanced openers, odd characters, huge
/// numbers, deep nesting.
const INSERTS: &[&str] = &[
    "{",
    "}",
    "{ }",
    ":",
    ",",
    "=>",
    "->",
    "=",
    "\"",
    "\"\"\"",
    "`",
    "```",
    "//",
    "/*",
    "*/",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "phase",
    "agent",
    "story",
    "import",
    "on failure",
    "else",
    "if",
    "max",
    "parallel",
    "repeat",
    "until",
    "verdict",
    "produces",
    "needs",
    "dev: implement",
    "call x",
    "é",
    "🦀",
    "\u{200B}",
    "\u{FEFF}",
    "\u{0}",
    "\u{7F}",
    "\u{2028}",
    "ä",
    "99999999999999999999",
    "18446744073709551616",
    "4294967296",
    "1e309",
    "-1",
    "0.0.0",
    "30s",
    "80%",
    "1000/hour",
    "4GB",
    "2 cores",
    "`1 +`",
    "`é`",
    "```\né(\n```",
    "import \"back.bmad\"\n",
    "import std.roles\n",
    "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
    "}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Removes up to `len` bytes at a place.
    Delete(Index, usize),
    /// Copies up to `len` bytes from one place to another.
    Duplicate(Index, usize, Index),
    /// Moves up to `len` bytes from one place to another.
    Move(Index, usize, Index),
    Insert(Index, &'static str),
    /// Inserts a character, any.
    InsertChar(Index, char),
    Truncate(Index),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Wraps the text from a place to the end of its line in `n` braces.
    Nest(Index, usize),
    /// Every `\n` becomes `\r\n`.
    Crlf,
    /// A byte order mark in front.
    Bom,
}

/// The largest char boundary of `s` not after `at`.
fn floor(s: &str, at: usize) -> usize {
    s.floor_char_boundary(at.min(s.len()))
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<Index>(), 1usize..64, any::<Index>()).prop_map(|(i, n, j)| Mutation::Duplicate(i, n, j)),
        2 => (any::<Index>(), 1usize..64, any::<Index>()).prop_map(|(i, n, j)| Mutation::Move(i, n, j)),
        6 => (any::<Index>(), select(INSERTS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        2 => (any::<Index>(), any::<char>()).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::SwapLines(i, j)),
        1 => (any::<Index>(), 55usize..72).prop_map(|(i, n)| Mutation::Nest(i, n)),
        1 => Just(Mutation::Crlf),
        1 => Just(Mutation::Bom),
    ]
}

/// Line ranges of `s` (each with its `\n`).
fn lines(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for l in s.split_inclusive('\n') {
        out.push((start, start + l.len()));
        start += l.len();
    }
    out
}

fn apply(text: &mut String, m: &Mutation) {
    let len = text.len();
    let at = |i: &Index, text: &str| floor(text, i.index(len + 1));
    match m {
        Mutation::Delete(i, n) => {
            let a = at(i, text);
            let b = floor(text, a + n);
            text.replace_range(a..b, "");
        }
        Mutation::Duplicate(i, n, j) => {
            let a = at(i, text);
            let piece = text[a..floor(text, a + n)].to_string();
            let to = at(j, text);
            text.insert_str(to, &piece);
        }
        Mutation::Move(i, n, j) => {
            let a = at(i, text);
            let piece = text[a..floor(text, a + n)].to_string();
            text.replace_range(a..a + piece.len(), "");
            let to = floor(text, j.index(text.len() + 1));
            text.insert_str(to, &piece);
        }
        Mutation::Insert(i, s) => {
            let a = at(i, text);
            text.insert_str(a, s);
        }
        Mutation::InsertChar(i, c) => {
            let a = at(i, text);
            text.insert(a, *c);
        }
        Mutation::Truncate(i) => {
            let a = at(i, text);
            text.truncate(a);
        }
        Mutation::DeleteLine(i) | Mutation::DuplicateLine(i) => {
            let ls = lines(text);
            if ls.is_empty() {
                return;
            }
            let (a, b) = ls[i.index(ls.len())];
            if matches!(m, Mutation::DeleteLine(_)) {
                text.replace_range(a..b, "");
            } else {
                let line = text[a..b].to_string();
                text.insert_str(b, &line);
            }
        }
        Mutation::SwapLines(i, j) => {
            let ls = lines(text);
            if ls.is_empty() {
                return;
            }
            let (x, y) = (ls[i.index(ls.len())], ls[j.index(ls.len())]);
            let (first, second) = if x.0 <= y.0 { (x, y) } else { (y, x) };
            if first == second {
                return;
            }
            let (f, s) = (
                text[first.0..first.1].to_string(),
                text[second.0..second.1].to_string(),
            );
            text.replace_range(second.0..second.1, &f);
            text.replace_range(first.0..first.1, &s);
        }
        Mutation::Nest(i, n) => {
            let a = at(i, text);
            let end = text[a..].find('\n').map_or(text.len(), |e| a + e);
            text.insert_str(end, &" }".repeat(*n));
            text.insert_str(a, &"{ ".repeat(*n));
        }
        Mutation::Crlf => *text = text.replace('\n', "\r\n"),
        Mutation::Bom => text.insert(0, '\u{feff}'),
    }
}

/// A bundled file, or now and then a generated workflow, with one to three mutations.
fn mutated() -> impl Strategy<Value = (String, PathBuf)> {
    let base = prop_oneof![
        3 => any::<Index>().prop_map(|which| which.get(seeds()).clone()),
        1 => workflow().prop_map(|text| (text, import_dir().to_path_buf())),
    ];
    (base, prop::collection::vec(mutation(), 1..4)).prop_map(|((mut text, dir), ms)| {
        for m in &ms {
            apply(&mut text, m);
        }
        (text, dir)
    })
}

// ---------------------------------------------------------------------------------------
// The tests. Per-case costs in a debug build: about 15 ms for a generated or mutated
// workflow, 2.5 ms for arbitrary text or bytes; the defaults add up to about 40 s on one
// core, 20-25 s as `cargo test` runs them (two at a time on two cores).

proptest! {
    #![proptest_config(config(1000))]

    /// Workflows built from the grammar: most parse, many check clean, all hold.
    #[test]
    fn generated_workflows_hold_every_property(text in workflow()) {
        examine(&text, import_dir())?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// The bundled files, the UI tests' broken files and generated workflows, mutated.
    #[test]
    fn mutated_files_hold_every_property((text, dir) in mutated()) {
        examine(&text, &dir)?;
    }
}

/// The generators reach past the parser: a fair share of generated workflows parse and some
/// check clean, so the checker, the formatter and the graph are fuzzed too, not only the
/// syntax errors (the same 200 cases every run).
#[test]
fn the_generators_reach_the_checker() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let parses = |c: &bmad::Checked| {
        !c.diagnostics
            .iter()
            .any(|d| matches!(d.code, Code::Syntax | Code::TooDeep))
    };
    let (mut parsed, mut clean) = (0, 0);
    for _ in 0..200 {
        let text = workflow().new_tree(&mut runner).unwrap().current();
        let checked = bmad::check_text_in(NAME, &text, import_dir());
        parsed += usize::from(parses(&checked));
        clean += usize::from(!checked.has_errors());
    }
    assert!(parsed >= 60 && clean >= 10, "{parsed} parse, {clean} clean");
    let mut parsed = 0;
    for _ in 0..200 {
        let (text, dir) = mutated().new_tree(&mut runner).unwrap().current();
        parsed += usize::from(parses(&bmad::check_text_in(NAME, &text, &dir)));
    }
    assert!(parsed >= 20, "{parsed} mutated files parse");
}

/// The characters the grammar cares about, and a few it does not.
const SOUP: &str = "[a-z_{}():,=>\"`/*%. \n\t0-9\\-é🦀\r]{0,300}";

proptest! {
    #![proptest_config(config(2000))]

    /// Arbitrary text: any characters, and a soup of the grammar's own.
    #[test]
    fn arbitrary_text_holds_every_property(text in prop_oneof![any::<String>(), SOUP]) {
        examine(&text, import_dir())?;
    }
}

proptest! {
    #![proptest_config(config(1500))]

    /// Arbitrary bytes from a file, as `bmad check`, `bmad fmt` and `bmad graph` read them:
    /// invalid UTF-8 and NUL bytes are an encoding error with a place, never a panic.
    #[test]
    fn arbitrary_bytes_in_a_file_are_read_safely(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            (SOUP, prop::collection::vec(any::<u8>(), 0..4), any::<Index>()).prop_map(|(s, junk, at)| {
                let mut b = s.into_bytes();
                let at = at.index(b.len() + 1);
                b.splice(at..at, junk);
                b
            }),
        ]
    ) {
        let mut f = tempfile::Builder::new().suffix(".bmad").tempfile().unwrap();
        f.write_all(&bytes).unwrap();
        f.flush().unwrap();
        let checked = bmad::check_path(f.path());
        places(&checked)?;
        for d in &checked.diagnostics {
            let _ = bmad::render::render(d, &checked.sources, RenderOptions::default());
            let _ = bmad::diagnostic::to_json(d, &checked.sources);
        }
        let parsed = bmad::load::parse_path(f.path());
        if let Ok(text) = std::str::from_utf8(&bytes) && !text.contains('\0') {
            // Valid text: the same as checking it from memory.
            examine(text, import_dir())?;
        } else {
            prop_assert!(checked.diagnostics.iter().any(|d| d.code == Code::Encoding));
            prop_assert!(parsed.diagnostics.iter().any(|d| d.code == Code::Encoding));
        }
    }
}

// ---------------------------------------------------------------------------------------
// What the fuzzing found, each input kept as a test.

/// The parser cut a file before every item keyword in column 0 even inside an open brace
/// (to recover from a missing `}`), and before any word in column 0 outside braces: a
/// valid item whose next line starts with a name that is a keyword (`phase`, `monitor`),
/// or an item written over several lines, was refused with syntax errors `bmad fmt`
/// did not find.
#[test]
fn an_item_continued_in_column_zero_parses() {
    for text in [
        "handoffs { after a ,\nphase }\n",
        "kpi\n\na\n\n:\n\ndeploys_per_day\n\n>\n\n30s\n",
        "import std.roles\nphase p after a,\nmonitor {\n  dev: implement\n}\nphase a {\n  dev: x\n}\n",
        "incidents {\n  level high {\n    agents dev,\nmonitor\n  }\n}\n",
        "story \"s1\"\nstory {\n  accept \"it works\"\n}\n",
    ] {
        let parsed = bmad::load::parse_text(NAME, text);
        let syntax: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::Syntax)
            .collect();
        assert!(syntax.is_empty(), "{text:?}: {syntax:?}");
        assert!(bmad::format::format(text).is_ok(), "{text:?}");
    }
    // A missing `}` is still found where it is, and the items after it still parse.
    let text = "phase a {\n  dev: x\nphase b {\n  dev: y\n}\nkpi\nk: deploys_per_day >= 3\n";
    let parsed = bmad::load::parse_text(NAME, text);
    let errors: Vec<_> = parsed.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(errors, [Code::Syntax], "{:?}", parsed.diagnostics);
    let secondary = &parsed.diagnostics[0].secondary[0];
    assert_eq!(secondary.text, "this `{` is never closed");
    assert_eq!(secondary.span.start, 8);
    assert_eq!(parsed.modules[0].items.len(), 2, "phase b and the kpi");
}

/// A rhai error at a character of more than one byte (`é`) was placed on its first byte
/// only: the span ended inside the character (a JSON consumer or an editor slicing the
/// text there would fail). The same for a `.rhai` module starting with one.
#[test]
fn a_rhai_error_at_a_wide_character_covers_the_character() {
    let text =
        "check a {\n  check ```\n\tlet é = 1;\n```\n}\nphase p {\n  check `ä(1)`\n  check a\n}\n";
    let checked = bmad::check_text_in(NAME, text, import_dir());
    assert!(checked.has_errors());
    for d in &checked.diagnostics {
        let span = d.primary.as_ref().unwrap().span;
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "{d:?}"
        );
        assert!(end > start, "{d:?}");
    }
    let module = "import \"unicode.rhai\"\nphase p {\n  check `true`\n}\n";
    let checked = bmad::check_text_in(NAME, module, import_dir());
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ScriptSyntax)
        .expect("the module does not compile");
    let span = d.primary.as_ref().unwrap().span;
    let file = checked.sources.get(span.file);
    assert!(file.name.ends_with("unicode.rhai"), "{}", file.name);
    assert_eq!(&file.text[span.start as usize..span.end as usize], "ä");
}

/// `bmad::format::format` counted the nesting of a text with the parser's recovery split,
/// which starts again at an item keyword in column 0 even inside open braces: a text
/// nested 10,000 deep with `stories` (a loop's collection) in column 0 at every level
/// passed the depth check and overflowed the stack in pest. `bmad fmt` was safe (it
/// parses the file first); a program calling the library was not. The parser now also
/// names the nesting (it reported only syntax errors).
#[test]
fn a_deep_text_with_item_keywords_in_column_zero_is_refused_not_overflowed() {
    let n = 10_000;
    let text = format!(
        "phase p {{\n{}{}",
        "for s in\nstories {\n".repeat(n),
        "}\n".repeat(n + 1)
    );
    assert_eq!(
        bmad::format::format(&text),
        Err(bmad::format::Error::Syntax)
    );
    let checked = bmad::check_text(NAME, &text);
    assert!(
        checked.diagnostics.iter().any(|d| d.code == Code::TooDeep),
        "{:?}",
        checked.diagnostics.first()
    );
    // Shallow enough, the same text parses and formats.
    let text = format!(
        "phase p {{\n{}{}",
        "for s in\nstories {\n".repeat(40),
        "}\n".repeat(41)
    );
    assert!(bmad::load::parse_text(NAME, &text).diagnostics.is_empty());
    assert!(bmad::format::format(&text).is_ok());
}

/// Where only a string may stand, the grammar read `"""x"` as the empty string then `"x"`
/// while the parser's item splitter read a text block left open: `bmad fmt` would lay out a
/// file `bmad check` refuses. Three quotes now always open a text block.
#[test]
fn three_quotes_open_a_text_block_wherever_they_stand() {
    let text = "story \"x\" a { modify \"\"\"x\" }\n";
    let parsed = bmad::load::parse_text(NAME, text);
    assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    assert_eq!(parsed.diagnostics[0].message, "unterminated text block");
    assert_eq!(bmad::format::format(text), Err(bmad::format::Error::Syntax));
    // With a space, two strings.
    let text = "story \"x\" a { modify \"\" \"x\" }\n";
    assert!(bmad::load::parse_text(NAME, text).diagnostics.is_empty());
    assert!(bmad::format::format(text).is_ok());
}

/// `backend script NAME` is compiled as the call `NAME(task)`, placed at the name: an
/// error after the name (a keyword as the name: `if(task)`) was placed past it, beyond
/// the end of the file. It is placed on the name.
#[test]
fn an_error_in_a_script_made_from_a_name_is_placed_on_the_name() {
    let text = "import std.roles\nagent a { backend script if }\n";
    let checked = bmad::check_text(NAME, text);
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ScriptSyntax)
        .expect("`if(task)` does not compile");
    let span = d.primary.as_ref().unwrap().span;
    assert_eq!(&text[span.start as usize..span.end as usize], "if");
}

/// A `.rhai` module that is not UTF-8 text (or holds a NUL) was placed on the first byte
/// of the replacement character shown for the bad byte, inside it.
#[test]
fn a_rhai_module_that_is_not_text_is_placed_on_a_whole_character() {
    for module in ["latin1.rhai", "nul.rhai"] {
        let text = format!("import \"{module}\"\nphase p {{\n  check `true`\n}}\n");
        let checked = bmad::check_text_in(NAME, &text, import_dir());
        let d = checked
            .diagnostics
            .iter()
            .find(|d| d.code == Code::Encoding)
            .expect("the module is not text");
        let span = d.primary.as_ref().unwrap().span;
        let file = checked.sources.get(span.file);
        let shown = file.text.get(span.start as usize..span.end as usize);
        assert!(
            matches!(shown, Some("\u{FFFD}" | "\u{2400}")),
            "{module}: {shown:?}"
        );
    }
}
