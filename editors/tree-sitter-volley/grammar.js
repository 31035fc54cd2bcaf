/**
 * @file Volley load-test files (`.load`): a tree-sitter grammar for highlighting and
 * structure in editors (Neovim, Helix). It follows grammar/load.pest, the compiler's own
 * grammar; where the two differ, load.pest decides (this one is more lenient: a call's
 * `(` may sit on the next line).
 * @license MIT
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const PREC = {
  stage: 1,
  range: 2,
  or: 3,
  and: 4,
  compare: 5,
  add: 7,
  mul: 8,
  unary: 9,
  postfix: 10,
};

// Words the grammar reserves somewhere; any of them may still name a field, a key, a
// named argument or a type.
const KEYWORDS = [
  'import', 'param', 'target', 'data', 'secret', 'metric', 'let', 'fn', 'flow', 'scenario',
  'setup', 'teardown', 'thresholds', 'fleet', 'iteration', 'check', 'require', 'sleep',
  'think', 'group', 'if', 'else', 'repeat', 'return', 'true', 'false', 'and', 'or', 'not',
  'var', 'for', 'in', 'while', 'break', 'continue', 'list',
];

const commaSep = (rule) => optional(seq(rule, repeat(seq(',', rule)), optional(',')));

module.exports = grammar({
  name: 'volley',

  extras: ($) => [/\s/, $.comment],

  word: ($) => $.identifier,

  conflicts: ($) => [],

  rules: {
    source_file: ($) => repeat(seq($._item, repeat(';'))),

    _item: ($) =>
      choice(
        $.import,
        $.param,
        $.target,
        $.data,
        $.secret,
        $.metric,
        $.let_statement,
        $.fn_declaration,
        $.flow_declaration,
        $.scenario,
        $.setup,
        $.teardown,
        $.thresholds,
        $.fleet,
      ),

    comment: (_) => token(seq('//', /[^\n]*/)),

    identifier: (_) => /[A-Za-z_][A-Za-z0-9_]*/,

    import: ($) =>
      seq('import', choice($.string, $.module_path), optional($.import_names)),
    module_path: (_) => token(seq(/[A-Za-z_][A-Za-z0-9_]*/, repeat(seq('/', /[A-Za-z_][A-Za-z0-9_]*/)))),
    import_names: ($) => seq('{', commaSep($.identifier), '}'),

    param: ($) =>
      seq('param', field('name', $.identifier), ':', field('type', $._type), '=', field('value', $._expression)),
    target: ($) => seq('target', field('name', $.identifier), '=', field('value', $._expression)),
    data: ($) => seq('data', field('name', $.identifier), '=', field('value', $._expression)),
    secret: ($) => seq('secret', field('name', $.identifier), '=', field('value', $._expression)),
    metric: ($) => seq('metric', field('name', $.identifier), '=', field('value', $._expression)),

    fn_declaration: ($) =>
      seq(
        'fn',
        field('name', $.identifier),
        $.parameters,
        optional(seq('->', field('return_type', $._type))),
        '{',
        field('body', $._expression),
        '}',
      ),
    flow_declaration: ($) =>
      seq(
        'flow',
        field('name', $.identifier),
        $.parameters,
        optional(seq('->', field('return_type', $._type))),
        field('body', $.block),
      ),
    parameters: ($) => seq('(', commaSep($.parameter), ')'),
    parameter: ($) =>
      seq(field('name', $.identifier), ':', field('type', $._type), optional(seq('=', field('default', $._expression)))),

    _type: ($) => choice($.list_type, $.record_type, $.type_name),
    list_type: ($) => seq('list', '<', $._type, '>'),
    record_type: ($) => seq('{', commaSep($.type_field), '}'),
    type_field: ($) => seq(field('name', $._word), ':', $._type),
    type_name: ($) => $._word,

    scenario: ($) =>
      seq(
        'scenario',
        field('name', $.identifier),
        '{',
        repeat(seq(choice($.let_statement, $.var_statement, $.iteration, $.field), repeat(';'))),
        '}',
      ),
    iteration: ($) => seq('iteration', $.block),
    field: ($) => seq(field('name', $.identifier), '=', field('value', $._expression)),

    setup: ($) => seq('setup', $.block),
    teardown: ($) => seq('teardown', $.block),

    thresholds: ($) => seq('thresholds', '{', repeat(seq($.threshold, repeat(';'))), '}'),
    threshold: ($) =>
      seq(
        field('metric', $._word),
        optional(field('filter', $.record)),
        ':',
        $._threshold_item,
        repeat(seq(',', $._threshold_item)),
      ),
    _threshold_item: ($) => choice($.threshold_option, $._expression),
    threshold_option: ($) => prec(1, seq(field('name', $.identifier), ':', field('value', $._expression))),

    fleet: ($) => seq('fleet', '{', repeat(seq($.field, repeat(';'))), '}'),

    // ------------------------------------------------------------------ statements
    block: ($) => seq('{', repeat(seq($._statement, repeat(';'))), '}'),

    _statement: ($) =>
      choice(
        $.let_statement,
        $.check_statement,
        $.require_statement,
        $.sleep_statement,
        $.think_statement,
        $.group_statement,
        $.if_statement,
        $.repeat_statement,
        $.return_statement,
        $.var_statement,
        $.for_statement,
        $.while_statement,
        $.break_statement,
        $.continue_statement,
        $.assignment,
        $.expression_statement,
      ),

    let_statement: ($) => seq('let', field('name', $.identifier), '=', field('value', $._expression)),
    var_statement: ($) => seq('var', field('name', $.identifier), '=', field('value', $._expression)),
    check_statement: ($) => seq('check', optional(seq(field('name', $.string), ':')), field('condition', $._expression)),
    require_statement: ($) =>
      seq('require', optional(seq(field('name', $.string), ':')), field('condition', $._expression)),
    sleep_statement: ($) => seq('sleep', $._expression),
    think_statement: ($) => seq('think', $._expression),
    group_statement: ($) => seq('group', field('name', $._expression), $.block),
    if_statement: ($) =>
      seq(
        'if',
        field('condition', $._expression),
        field('consequence', $.block),
        optional(seq('else', field('alternative', choice($.if_statement, $.block)))),
      ),
    repeat_statement: ($) => seq('repeat', field('count', $._expression), $.block),
    return_statement: ($) => prec.right(seq('return', optional($._expression))),
    for_statement: ($) =>
      seq('for', field('variable', $.identifier), 'in', field('iterable', $._expression), $.block),
    while_statement: ($) => seq('while', field('condition', $._expression), $.block),
    break_statement: (_) => 'break',
    continue_statement: (_) => 'continue',
    assignment: ($) =>
      seq(field('name', $.identifier), field('operator', choice('=', '+=', '-=')), field('value', $._expression)),
    expression_statement: ($) => prec(-1, $._expression),

    // ------------------------------------------------------------------ expressions
    _expression: ($) =>
      choice(
        $.binary_expression,
        $.unary_expression,
        $.call,
        $.field_access,
        $.index,
        $.number,
        $.boolean,
        $.string,
        $.list,
        $.record,
        $.parenthesized,
        $.identifier,
      ),

    binary_expression: ($) => {
      const table = [
        [PREC.stage, '->'],
        [PREC.range, '..'],
        [PREC.or, 'or'],
        [PREC.and, 'and'],
        [PREC.compare, choice('==', '!=', '<=', '>=', '<', '>')],
        [PREC.add, choice('+', '-')],
        [PREC.mul, choice('*', '/', '%')],
      ];
      return choice(
        ...table.map(([p, op]) =>
          prec.left(
            /** @type {number} */ (p),
            seq(field('left', $._expression), field('operator', /** @type {any} */ (op)), field('right', $._expression)),
          ),
        ),
      );
    },

    unary_expression: ($) => prec(PREC.unary, seq(field('operator', choice('not', '-')), field('operand', $._expression))),

    call: ($) => prec(PREC.postfix, seq(field('function', $._expression), $.arguments)),
    arguments: ($) => seq('(', commaSep($.argument), ')'),
    // A named argument's name is an identifier (a keyword there would be read as the
    // keyword where an expression may start: `log(data.x)`).
    argument: ($) => seq(optional(seq(field('name', choice($.identifier, $.string)), ':')), field('value', $._expression)),

    field_access: ($) => prec(PREC.postfix, seq(field('value', $._expression), '.', field('field', $._word))),
    index: ($) => prec(PREC.postfix, seq(field('value', $._expression), token.immediate('['), field('index', $._expression), ']')),

    parenthesized: ($) => seq('(', $._expression, ')'),
    list: ($) => seq('[', commaSep($._expression), ']'),
    record: ($) => seq('{', commaSep($.record_field), '}'),
    record_field: ($) => seq(field('key', choice($._word, $.string)), ':', field('value', $._expression)),

    boolean: (_) => choice('true', 'false'),

    // `42`, `1.5s`, `200/s`, `512Mi`, `99.9%` (a number with its unit as written).
    number: (_) =>
      token(seq(/[0-9]+(\.[0-9]+)?/, optional(choice('%', /\/(us|ms|s|m|h)/, /[A-Za-z_][A-Za-z0-9_]*/)))),

    string: ($) =>
      seq('"', repeat(choice($.string_content, $.escape_sequence, $.interpolation)), token.immediate('"')),
    string_content: (_) => token.immediate(prec(1, /[^"\\{\n]+/)),
    escape_sequence: (_) => token.immediate(/\\[^\n]?/),
    interpolation: ($) => seq(token.immediate('{'), $._expression, '}'),

    // Any word, keywords included (fields, keys, named arguments, types).
    _word: ($) => alias(choice($.identifier, ...KEYWORDS), $.identifier),
  },
});
