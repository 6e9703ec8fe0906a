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

; `return expr;`: what a function returns (kept for functions returning an integer, whose
; result may be a size: `static u32 demo_buf_len(struct demo *d) { return d->mtu + 32; }`).
(return_statement
  (_) @return.value) @return

; Loops, for a counter's bound where the loop leaves: `for (order = 0; (PAGE_SIZE <<
; order) < goal; order++)` ends with order no larger than goal's page order.
(for_statement
  condition: (_) @loop.cond) @loop

(while_statement
  condition: (parenthesized_expression) @loop.cond) @loop
