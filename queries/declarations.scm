; declarations.scm - typed names: parameters' and locals' types let the
; linker resolve `x->field(...)` by struct type and size `sizeof(*x)`.
(declaration
  type: (_) @decl.type
  declarator: (_) @decl.declarator) @decl

; Struct and union bodies, for layouts (`sizeof(struct foo)`).
(struct_specifier
  name: (type_identifier) @struct.name
  body: (field_declaration_list) @struct.body) @struct

(union_specifier
  name: (type_identifier) @struct.name
  body: (field_declaration_list) @struct.body) @union

(type_definition
  type: (_) @typedef.type
  declarator: (_) @typedef.declarator) @typedef
