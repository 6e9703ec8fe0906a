; functions.scm - function definitions.
; The extractor reads the declarator to find the name and the parameters,
; and uses the body's byte range to attribute calls and assignments.
(function_definition
  declarator: (_) @function.declarator
  body: (compound_statement) @function.body) @function
