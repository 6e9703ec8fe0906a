"""Where an expression is evaluated: its file, its function, the program point,
and how many hops (callers, fields, macros) the evaluation has taken to get there."""

from __future__ import annotations

from dataclasses import dataclass

from ...facts import FileFacts, FunctionFacts

MAX_DEPTH = 6  # interprocedural hops when following parameters and fields, and macro nesting


@dataclass
class Scope:
    file: FileFacts
    fn: FunctionFacts | None
    depth: int = 0
    at_byte: int = 0  # the program point being evaluated (guards before it narrow values)
    # Field tests the path below needs, when this is a caller's argument: ((struct, field),
    # non-zero?) pairs a callee tests on its way to the read (see Narrowing.field_tests_at)
    field_tests: tuple = ()
