; Volley (.load) highlights with Helix's scope names (the same patterns as
; ../highlights.scm, which uses nvim-treesitter's capture names).

; Helix: the first pattern that matches a node wins, so the general ones come last.
(comment) @comment

[
  "import" "param" "target" "data" "secret" "metric" "let" "var" "fn" "flow"
  "scenario" "setup" "teardown" "thresholds" "fleet" "iteration"
] @keyword

[
  "check" "require" "sleep" "think" "group" "return"
] @keyword

[ "if" "else" ] @keyword.control.conditional

[ "for" "in" "while" "repeat" "break" "continue" ] @keyword.control.repeat

[ "and" "or" "not" ] @keyword.operator

[
  "->" ".." "==" "!=" "<=" ">=" "<" ">" "+" "-" "*" "/" "%" "=" "+=" "-="
] @operator

[ "(" ")" "[" "]" "{" "}" ] @punctuation.bracket
[ "," ":" ";" "." ] @punctuation.delimiter

(string) @string
(escape_sequence) @constant.character.escape
(interpolation
  "{" @punctuation.special
  "}" @punctuation.special)

(number) @constant.numeric
(boolean) @constant.builtin.boolean

(module_path) @namespace

(type_name) @type
(list_type "list" @type.builtin)

(fn_declaration name: (identifier) @function)
(flow_declaration name: (identifier) @function)
(call function: (identifier) @function)
(call function: (field_access field: (identifier) @function.method))

(parameter name: (identifier) @variable.parameter)
(argument name: (identifier) @variable.parameter)

(scenario name: (identifier) @type)
(field name: (identifier) @variable.other.member)
(record_field key: (identifier) @variable.other.member)
(type_field name: (identifier) @variable.other.member)
(field_access field: (identifier) @variable.other.member)
(threshold metric: (identifier) @constant)
(threshold_option name: (identifier) @variable.other.member)

(target name: (identifier) @constant)
(param name: (identifier) @constant)
(data name: (identifier) @constant)
(secret name: (identifier) @constant)
(metric name: (identifier) @constant)

((identifier) @variable.builtin
  (#any-of? @variable.builtin "vu" "test" "runner" "setup" "scenario"))

(identifier) @variable
