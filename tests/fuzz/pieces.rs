//! The pieces of a workflow the generators assemble (grammar/bmad.pest): tokens, names,
//! literals, scripts, tasks, probes and steps nested a few levels.

use proptest::prelude::*;
use proptest::sample::select;

/// A piece of a workflow: tokens, joined later with varied white space and comments.
pub(crate) type Toks = Vec<String>;

/// One token.
pub(crate) fn one(s: &str) -> Toks {
    vec![s.to_string()]
}

/// Pieces one after the other.
pub(crate) fn cat(parts: Vec<Toks>) -> Toks {
    parts.into_iter().flatten().collect()
}

/// One of `words`.
pub(crate) fn pick(words: &'static [&'static str]) -> BoxedStrategy<Toks> {
    select(words).prop_map(one).boxed()
}

/// `s` two times in five, nothing otherwise.
pub(crate) fn maybe(s: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
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

/// One of the names above.
pub(crate) fn name() -> BoxedStrategy<Toks> {
    pick(NAMES)
}

/// `a, b, c`
pub(crate) fn names() -> BoxedStrategy<Toks> {
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

/// One of the strings above.
pub(crate) fn string() -> BoxedStrategy<Toks> {
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

/// One of the quantities above.
pub(crate) fn quantity() -> BoxedStrategy<Toks> {
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

/// One of the integers above.
pub(crate) fn int() -> BoxedStrategy<Toks> {
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

/// One of the scripts above.
pub(crate) fn rhai() -> BoxedStrategy<Toks> {
    pick(RHAI)
}

/// A condition: a script or a name.
pub(crate) fn cond() -> BoxedStrategy<Toks> {
    prop_oneof![rhai(), name(), pick(&["a.b", "story.type", "approved"])].boxed()
}

/// An artifact: its name or its path.
pub(crate) fn artifact_ref() -> BoxedStrategy<Toks> {
    prop_oneof![name(), string()].boxed()
}

/// `item` once or twice, comma-separated.
pub(crate) fn list_of(item: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
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

/// `agent: tasks`, with a mode and a block of options now and then.
pub(crate) fn task() -> BoxedStrategy<Toks> {
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

/// A health probe of a monitor.
pub(crate) fn probe() -> BoxedStrategy<Toks> {
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
pub(crate) fn simple_step() -> BoxedStrategy<Toks> {
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

/// `max N`, or nothing.
pub(crate) fn max_clause() -> BoxedStrategy<Toks> {
    maybe(int().prop_map(|n| cat(vec![one("max"), n])).boxed())
}

/// Any step, blocks nested a few levels.
pub(crate) fn step() -> BoxedStrategy<Toks> {
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

/// A block of steps.
pub(crate) fn block() -> BoxedStrategy<Toks> {
    block_of(step())
}

/// `{ entries }` of a declaration.
pub(crate) fn braces(entries: BoxedStrategy<Toks>, most: usize) -> BoxedStrategy<Toks> {
    prop::collection::vec(entries, 0..most)
        .prop_map(|es| cat(vec![one("{"), es.into_iter().flatten().collect(), one("}")]))
        .boxed()
}

/// Keyword `k` then `rest`.
pub(crate) fn kw_then(k: &'static str, rest: BoxedStrategy<Toks>) -> BoxedStrategy<Toks> {
    rest.prop_map(move |r| cat(vec![one(k), r])).boxed()
}

/// The entries of a `limits` block.
pub(crate) fn limit_entries() -> BoxedStrategy<Toks> {
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
