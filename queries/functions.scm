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

; Labels (`err:`), for where a `goto` lands.
(labeled_statement
  label: (statement_identifier) @label.name) @label

; Loops, whose body may run any number of times (path validation), and for a
; counter's bound where the loop leaves: `for (order = 0; (PAGE_SIZE << order) < goal;
; order++)` ends with order no larger than goal's page order (the extractor reads
; the condition field).
[(for_statement) (while_statement) (do_statement)] @loop

; `return expr;`: what a function returns (a function returning an integer, whose
; result may be a size: `static u32 demo_buf_len(struct demo *d) { return d->mtu + 32; }`;
; a function returning a pointer, whether it can return NULL).
(return_statement
  (_) @return.value) @return
