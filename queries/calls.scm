; calls.scm - every call expression.
; Direct calls by name, and indirect calls through a struct field
; (`ops->ndo_start_xmit(skb, dev)`), whose field name is what the linker
; resolves against ops-struct bindings.
(call_expression
  function: (identifier) @call.name
  arguments: (argument_list) @call.args) @call

(call_expression
  function: (field_expression
    argument: (_) @call.receiver
    field: (field_identifier) @call.field)
  arguments: (argument_list) @call.args) @call.indirect

(call_expression
  function: (parenthesized_expression
    (pointer_expression
      argument: (field_expression
        argument: (_) @call.receiver
        field: (field_identifier) @call.field)))
  arguments: (argument_list) @call.args) @call.indirect
