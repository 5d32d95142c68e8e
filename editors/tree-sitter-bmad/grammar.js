// A tree-sitter grammar for .bmad workflows, for editors that highlight, fold and indent
// with tree-sitter (Neovim, Helix, Zed). It is structural, not the language's full grammar:
// a file is a list of items, each an item keyword and the tokens (its name first) and braced
// blocks that follow it up to the next item keyword. The full grammar is grammar/bmad.pest
// and checking is `bmad lsp`'s (its diagnostics and semantic tokens); this one only has to
// cut a file into items, blocks and tokens, so it never drifts from the language and a
// file with a syntax error still highlights. Its keyword lists are those of grammar/bmad.pest
// (tests/integration/editors.rs checks it).

/// The words a top-level item starts with (src/syntax/keywords.rs ITEM).
const ITEM_KEYWORDS = [
    'agent', 'artifact', 'budget', 'check', 'emergency', 'env', 'environment', 'epic',
    'handoffs', 'heal', 'import', 'incidents', 'kpi', 'limits', 'maintenance', 'monitor',
    'notifications', 'override', 'phase', 'procedure', 'settings', 'stories', 'story',
    'sync', 'workflow',
];

/// Every other keyword of grammar/bmad.pest.
const KEYWORDS = [
    'accept', 'after', 'agents', 'alert', 'approve', 'artifacts', 'assign', 'at',
    'attempts', 'audit', 'backend', 'backoff', 'base', 'before', 'bmad', 'by', 'ca_file',
    'cached', 'call', 'completed', 'conflict', 'context', 'cooldown', 'core', 'cores',
    'create', 'critical', 'cron', 'cwd', 'deploy', 'description', 'detection', 'diagnose',
    'duration', 'else', 'escalate', 'every', 'exec', 'expect', 'fail', 'failure', 'fix',
    'for', 'from', 'from_arch', 'from_prd', 'gate', 'get', 'git', 'global', 'handoff',
    'head', 'health', 'healthy', 'if', 'immediate', 'in', 'input', 'isolate', 'level',
    'logs', 'manual', 'match', 'max', 'metric', 'mode', 'model', 'modes', 'modify', 'needs',
    'notes', 'notify', 'of', 'on', 'otherwise', 'output', 'overlap', 'parallel', 'pattern',
    'pending', 'per_agent', 'per_story', 'post', 'postmortem', 'pr', 'price', 'produces',
    'prompt', 'provided', 'put', 'recovery', 'repeat', 'report', 'resolution', 'respond',
    'retry', 'role', 'rollback', 'run', 'scale', 'script', 'secret', 'seed', 'severity',
    'sh', 'sim', 'start', 'stdin', 'stop_writes', 'strategy', 'tcp', 'team', 'template',
    'tests', 'timeout', 'title', 'to', 'token', 'tokens', 'tools', 'triage', 'try', 'type',
    'until', 'url', 'verdict', 'verify', 'wait', 'warning', 'watch',
];

module.exports = grammar({
  name: 'bmad',

  extras: $ => [/\s/, $.comment],

  word: $ => $.identifier,

  rules: {
    source_file: $ => repeat($.item),

    // `phase build after design { ... }`: the kind, then everything up to the next item
    // keyword (queries/highlights.scm takes the word right after the kind for its name).
    item: $ => prec.right(seq(
      field('kind', alias(choice(...ITEM_KEYWORDS), $.item_keyword)),
      repeat($._element),
    )),

    _element: $ => choice(
      $.block,
      $.keyword,
      $.identifier,
      $.string,
      $.text_block,
      $.rhai,
      $.rhai_block,
      $.number,
      $.operator,
      $.punctuation,
    ),

    // Inside braces an item keyword is a keyword like any other (`check api_up`).
    block: $ => seq('{', repeat(choice($._element, alias(choice(...ITEM_KEYWORDS), $.keyword))), '}'),

    keyword: _ => choice(...KEYWORDS),

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    number: _ => /[0-9][0-9_.]*[A-Za-z%]*(\/[a-z]+)?/,

    string: _ => token(seq('"', repeat(choice(/[^"\\\n]/, /\\./)), '"')),

    text_block: _ => token(seq('"""', repeat(choice(/[^"]/, /"[^"]/, /""[^"]/)), '"""')),

    rhai: _ => token(seq('`', /[^`\n]*/, '`')),

    rhai_block: _ => token(seq('```', repeat(choice(/[^`]/, /`[^`]/, /``[^`]/)), '```')),

    operator: _ => choice('=>', '->', '>=', '<=', '==', '!=', '<', '>', '='),

    punctuation: _ => choice(':', ',', '.', '(', ')', '[', ']', '-', '+', '*', '/', '%', '|', '!', '&', '?', ';', '@', '#', '$', '^', '~', "'"),

    comment: _ => token(choice(
      seq('//', /[^\n]*/),
      seq('/*', /[^*]*\*+([^/*][^*]*\*+)*/, '/'),
    )),
  },
});
