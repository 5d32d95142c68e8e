//! Whole items (agents, stories, monitors, heals, phases, ...) from the pieces, a phase
//! nested as deep as the parser takes, and a whole file of items with varied white space
//! and comments between the tokens.

use crate::pieces::*;
use proptest::prelude::*;
use proptest::sample::select;

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
pub(crate) fn workflow() -> impl Strategy<Value = String> {
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
