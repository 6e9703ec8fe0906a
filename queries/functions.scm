; functions.scm - function definitions.
; The extractor reads the declarator to find the name and the parameters,
; and uses the body's byte range to attribute calls and assignments.
(function_definition
  declarator: (_) @function.declarator
  body: (compound_statement) @function.body) @function

; Guards: `if (cond) return ...;` / `goto err;` (or a block ending so) leave
; the function, so values after the `if` satisfy !cond.
(if_statement
  condition: (parenthesized_expression) @guard.cond
  consequence: (_) @guard.body) @guard

; Switches on a parameter: a caller passing a constant reaches only its case.
(switch_statement
  condition: (parenthesized_expression) @switch.cond
  body: (compound_statement) @switch.body) @switch

; Labels (`err:`), for where a `goto` lands; loops, whose body may run any number
; of times; `return` statements, for what a function may return.
(labeled_statement
  label: (statement_identifier) @label.name) @label

[(for_statement) (while_statement) (do_statement)] @loop

(return_statement) @return
