; Volley (.load) highlights with nvim-treesitter's capture names (Neovim); Helix's
; scope names are in helix/highlights.scm.

; Neovim: a later pattern overrides an earlier one, so the general ones come first.
(identifier) @variable

((identifier) @variable.builtin
  (#any-of? @variable.builtin "vu" "test" "runner" "setup" "scenario"))

(comment) @comment

[
  "import" "param" "target" "data" "secret" "metric" "let" "var" "fn" "flow"
  "scenario" "setup" "teardown" "thresholds" "fleet" "iteration"
] @keyword

[
  "check" "require" "sleep" "think" "group" "return"
] @keyword

[ "if" "else" ] @keyword.conditional

[ "for" "in" "while" "repeat" "break" "continue" ] @keyword.repeat

[ "and" "or" "not" ] @keyword.operator

[
  "->" ".." "==" "!=" "<=" ">=" "<" ">" "+" "-" "*" "/" "%" "=" "+=" "-="
] @operator

[ "(" ")" "[" "]" "{" "}" ] @punctuation.bracket
[ "," ":" ";" "." ] @punctuation.delimiter

(string) @string
(escape_sequence) @string.escape
(interpolation
  "{" @punctuation.special
  "}" @punctuation.special)

(number) @number
(boolean) @boolean

(module_path) @module

(type_name) @type
(list_type "list" @type.builtin)

(fn_declaration name: (identifier) @function)
(flow_declaration name: (identifier) @function)
(call function: (identifier) @function.call)
(call function: (field_access field: (identifier) @function.method.call))

(parameter name: (identifier) @variable.parameter)
(argument name: (identifier) @variable.parameter)

(scenario name: (identifier) @type)
(field name: (identifier) @property)
(record_field key: (identifier) @property)
(type_field name: (identifier) @property)
(field_access field: (identifier) @property)
(threshold metric: (identifier) @constant)
(threshold_option name: (identifier) @property)

(target name: (identifier) @constant)
(param name: (identifier) @constant)
(data name: (identifier) @constant)
(secret name: (identifier) @constant)
(metric name: (identifier) @constant)
