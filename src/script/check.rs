//! Compiles every script of a program during `bmad check`: rhai syntax errors, unknown
//! variables (strict), unknown functions, undeclared environment variables and hosts, each
//! reported at its line and column inside the .bmad file. The ASTs are kept, one per
//! script, for the runtime.

use super::{Sandbox, engine, host::HOST_FUNCTIONS, scope::VARIABLES, scope::compile_scope};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::ir::Program;
use crate::model::step::{Cond, Script, Step, StepKind, walk};
use crate::model::{Backend, CheckBody, Gate};
use crate::source::Span;
use rhai::{AST, ASTNode, Engine, Expr, Stmt};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// The compiled scripts of a program, by the span of their code.
#[derive(Default)]
pub struct Compiled {
    asts: HashMap<Span, AST>,
}

impl Compiled {
    /// The AST of the script written at `span`.
    pub fn get(&self, span: Span) -> Option<&AST> {
        self.asts.get(&span)
    }

    /// How many scripts compiled.
    pub fn len(&self) -> usize {
        self.asts.len()
    }

    /// True when the program has no scripts.
    pub fn is_empty(&self) -> bool {
        self.asts.is_empty()
    }
}

/// Built-in functions rhai resolves itself (not listed among registered functions).
const BUILTINS: &[&str] = &[
    "type_of",
    "print",
    "debug",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
];

/// The pieces of rhai in the program, each with its code and where the code starts: those
/// in steps first, then the others.
fn scripts(p: &Program) -> Vec<Script> {
    let mut out = Vec::new();
    for body in p.bodies() {
        walk(body, &mut |s| step_script(s, &mut out));
    }
    scripts_outside_steps(p, &mut out);
    out
}

/// The piece of rhai a step holds, if any.
fn step_script(s: &Step, out: &mut Vec<Script>) {
    let cond = |c: &Cond, out: &mut Vec<Script>| match c {
        Cond::Script(s) => out.push(s.clone()),
        Cond::Path(n) if !n.name.is_empty() => out.push(Script {
            code: n.name.to_string(),
            span: n.span,
        }),
        Cond::Path(_) => {}
    };
    match &s.kind {
        StepKind::If { cond: c, .. }
        | StepKind::Match { subject: c, .. }
        | StepKind::Repeat { until: Some(c), .. } => cond(c, out),
        StepKind::Check {
            script: Some(sc), ..
        } => out.push(sc.clone()),
        _ => {}
    }
}

/// The pieces of rhai outside steps: checks, gates, agents.
fn scripts_outside_steps(p: &Program, out: &mut Vec<Script>) {
    for c in &p.checks {
        if let CheckBody::Script(s) = &c.body {
            out.push(s.clone());
        }
    }
    for e in &p.environments {
        if let Some(Gate::Script(s)) = &e.gate {
            out.push(s.clone());
        }
    }
    out.extend(p.agents.iter().filter_map(agent_script));
}

/// The script a `backend script` agent runs: its inline code, or a call of the named
/// module function with the task (`name(task)`, placed at the name).
pub fn agent_script(a: &crate::model::Agent) -> Option<Script> {
    match &a.backend {
        Some(Backend::Script { code: Some(s), .. }) => Some(s.clone()),
        Some(Backend::Script {
            function: Some(f), ..
        }) => Some(Script {
            code: format!("{}(task)", f.name),
            span: f.span,
        }),
        _ => None,
    }
}

/// The byte span of (line, column) inside `script`, `len` bytes long, at least one
/// character, clamped to the line (its line break when the column is the end of the line;
/// empty at the end of the script) and never ending inside a character. A script whose
/// code is not the text at its span (`name(task)`, made from an agent's `backend script
/// name`) is pointed at as a whole.
pub fn span_at(script: &Script, line: usize, column: usize, len: usize) -> Span {
    if script.code.len() != script.span.len() {
        return script.span;
    }
    let mut offset = 0;
    for (i, l) in script.code.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col: usize = l
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            let rest = &l[col..];
            let in_line = rest.trim_end_matches('\n').len();
            let mut n = len.min(in_line).max(1).min(rest.len());
            while !rest.is_char_boundary(n) {
                n += 1;
            }
            let start = script.span.start as usize + offset + col;
            return Span::new(script.span.file, start, start + n);
        }
        offset += l.len();
    }
    Span::new(
        script.span.file,
        script.span.start as usize,
        script.span.end as usize,
    )
}

/// Functions a script may call: the packages', the host API, rhai's built-ins and the
/// workflow's `.rhai` modules'.
fn known_functions(modules: &[(AST, &Script)]) -> BTreeSet<String> {
    let mut known = super::package_functions().clone();
    known.extend(
        BUILTINS
            .iter()
            .chain(HOST_FUNCTIONS)
            .map(std::string::ToString::to_string),
    );
    for (ast, _) in modules {
        known.extend(ast.iter_functions().map(|f| f.name.to_string()));
    }
    known
}

/// The scripts and probe hosts of a program's steps, gathered by `bmad check` in its
/// shared walk over every step (a workflow's steps are read once, not once per pass).
#[derive(Default)]
pub struct InSteps {
    scripts: Vec<Script>,
    hosts: BTreeSet<String>,
}

impl InSteps {
    /// Takes what `s` holds.
    pub fn step(&mut self, s: &Step) {
        step_script(s, &mut self.scripts);
        super::probe_host(s, &mut self.hosts);
    }
}

/// The diagnostics of every script of `p`, compiled and never run (`bmad check`), given
/// what its steps hold. The sandbox is made only when there is a script to compile.
pub fn check_scripts(p: &Program, in_steps: InSteps) -> Vec<Diagnostic> {
    let mut list = in_steps.scripts;
    scripts_outside_steps(p, &mut list);
    if p.rhai_modules.is_empty() && list.is_empty() {
        return Vec::new();
    }
    let mut hosts = in_steps.hosts;
    super::hosts_outside_steps(p, &mut hosts);
    // The sandbox's workspace does not matter to compiling.
    let sandbox = Sandbox::new(p, std::path::PathBuf::from("."), hosts);
    compile_list(p, &list, &sandbox).2
}

/// Compiles every script of `p` in the sandbox `p` declares; returns the engine with the
/// workflow's `.rhai` modules registered, the compiled scripts and the diagnostics.
pub fn compile_program(p: &Program, sandbox: &Sandbox) -> (Engine, Compiled, Vec<Diagnostic>) {
    compile_list(p, &scripts(p), sandbox)
}

/// Compiles the `.rhai` modules of `p` and `list`, the scripts of `p`.
fn compile_list(
    p: &Program,
    list: &[Script],
    sandbox: &Sandbox,
) -> (Engine, Compiled, Vec<Diagnostic>) {
    let mut compiled = Compiled::default();
    let mut diags = Vec::new();
    let mut engine = engine(sandbox);
    if list.is_empty() && p.rhai_modules.is_empty() {
        return (engine, compiled, diags);
    }
    let mut modules = Vec::new();
    for module in &p.rhai_modules {
        match engine.compile(&module.code) {
            Err(e) => diags.push(parse_error(&e, module)),
            Ok(ast) if !ast.statements().is_empty() => diags.push(
                Diagnostic::error(Code::ScriptSyntax, "a .rhai module holds only functions")
                    .at(span_at(module, 1, 1, 1), "statements outside a function")
                    .help("move the statements into a `fn`; a module's functions are shared by every script of the workflow"),
            ),
            Ok(ast) => match rhai::Module::eval_ast_as_new(rhai::Scope::new(), &ast, &engine) {
                Ok(m) => modules.push((m, ast, module)),
                Err(e) => diags.push(
                    Diagnostic::error(Code::ScriptSyntax, format!("rhai module: {e}"))
                        .at(span_at(module, 1, 1, 1), "here"),
                ),
            },
        }
    }
    let module_asts: Vec<(AST, &Script)> = modules
        .into_iter()
        .map(|(m, ast, script)| {
            engine.register_global_module(m.into());
            (ast, script)
        })
        .collect();
    // A module that did not compile leaves its functions undefined: calling them is not
    // a second error.
    let modules_failed = diags.len();
    let known = known_functions(&module_asts);
    for (ast, script) in &module_asts {
        check_calls(ast, script, &known, sandbox, &mut diags);
    }
    let scope = compile_scope();
    let mut cache: HashMap<&str, Result<AST, rhai::ParseError>> = HashMap::default();
    for script in list {
        let result = cache
            .entry(script.code.as_str())
            .or_insert_with(|| engine.compile_with_scope(&scope, &script.code));
        match result {
            Ok(ast) => {
                if modules_failed == 0 {
                    check_calls(ast, script, &known, sandbox, &mut diags);
                }
                compiled.asts.insert(script.span, ast.clone());
            }
            Err(e) => diags.push(parse_error(e, script)),
        }
    }
    (engine, compiled, diags)
}

fn parse_error(e: &rhai::ParseError, script: &Script) -> Diagnostic {
    let (line, col) = (e.1.line().unwrap_or(1), e.1.position().unwrap_or(1));
    match e.0.as_ref() {
        rhai::ParseErrorType::VariableUndefined(name) => {
            let span = span_at(script, line, col, name.len());
            let names = VARIABLES.iter().map(|(n, _)| *n);
            let help = did_you_mean(name, names).unwrap_or_else(|| {
                let all: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
                format!(
                    "a script may use its own `let` variables and {}",
                    all.join(", ")
                )
            });
            Diagnostic::error(
                Code::ScriptUndefined,
                format!("undefined variable `{name}` in rhai"),
            )
            .at(span, "not a variable here")
            .help(help)
        }
        other => Diagnostic::error(Code::ScriptSyntax, format!("rhai: {other}"))
            .at(span_at(script, line, col, 1), "here")
            .help("see GRAMMAR.md, \"rhai\", for what scripts may use"),
    }
}

fn check_calls(
    ast: &AST,
    script: &Script,
    known: &BTreeSet<String>,
    sandbox: &Sandbox,
    diags: &mut Vec<Diagnostic>,
) {
    let own: BTreeSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    ast.walk(&mut |path: &[ASTNode]| {
        let Some(
            ASTNode::Expr(Expr::FnCall(call, pos) | Expr::MethodCall(call, pos))
            | ASTNode::Stmt(Stmt::FnCall(call, pos)),
        ) = path.last()
        else {
            return true;
        };
        if call.op_token.is_some() || !call.namespace.is_empty() {
            return true;
        }
        let name = call.name.as_str();
        let (line, col) = (pos.line().unwrap_or(1), pos.position().unwrap_or(1));
        if !known.contains(name) && !own.contains(name) {
            let help = did_you_mean(name, known.iter().map(String::as_str).chain(own.iter().map(String::as_str)))
                .unwrap_or_else(|| format!("the host functions are {}", HOST_FUNCTIONS.join(", ")));
            diags.push(
                Diagnostic::error(Code::ScriptUndefined, format!("unknown function `{name}` in rhai"))
                    .at(span_at(script, line, col, name.len()), "no such function")
                    .help(help),
            );
            return true;
        }
        let literal = match call.args.first() {
            Some(Expr::StringConstant(s, _)) => s.as_str(),
            _ => return true,
        };
        let span = span_at(script, line, col, name.len());
        match name {
            "env" if !sandbox.env.iter().any(|(n, _, _)| n == literal) => diags.push(
                Diagnostic::error(Code::ScriptUndefined, format!("environment variable `{literal}` is not declared"))
                    .at(span, "reads an undeclared variable")
                    .help(format!("declare it: `env {literal}` (scripts read only declared variables)")),
            ),
            "http_get" | "tcp_connect" => {
                if let Some(host) = super::host_of(literal).filter(|h| !sandbox.hosts.contains(h)) {
                    diags.push(
                        Diagnostic::error(Code::ScriptUndefined, format!("host `{host}` is not declared"))
                            .at(span, "reaches an undeclared host")
                            .help(format!("declare it: `settings {{ hosts \"{host}\" }}` (scripts reach only declared hosts)")),
                    );
                }
            }
            _ => {}
        }
        true
    });
}
