; assignments.scm - values flowing into locals, fields and function-pointer slots.
; `x = e`, `p->len = e`, `x += e`, and initialised declarations `size_t n = e;`.
(assignment_expression
  left: (_) @assign.left
  operator: _ @assign.op
  right: (_) @assign.right) @assign

(init_declarator
  declarator: (_) @init.declarator
  value: (_) @init.value) @init

; Designated initializers that bind functions to ops-struct fields:
; `.ndo_start_xmit = foo_xmit` or `.complete = &foo_complete`.
(initializer_pair
  designator: (field_designator (field_identifier) @bind.field)
  value: [(identifier) (pointer_expression)] @bind.value) @bind

; `count++`, `--order`: updates of locals and fields (the value analysis takes them as
; growth or shrinking, not as the variable keeping its first value).
(update_expression
  argument: (_) @update.arg) @update

; Every designated initializer (`.ring_size = 1024`), for the fields a table or a
; local struct's initializer sets; function bindings are `bind` above.
(initializer_pair
  designator: (field_designator (field_identifier) @fieldinit.field)
  value: (_) @fieldinit.value) @fieldinit
