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
