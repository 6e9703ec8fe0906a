"""Values: an interval of bytes for every size expression, and who controls it.

Each integer expression evaluates to a `Value`: an interval [lo, hi] (hi None
= unbounded), the user-controlled sources that reach it, and a short witness
(`steps`) of where the value came from. Unknown is not big: an expression the
analysis cannot bound evaluates to `TOP`, which no rule reports.

Evaluated: literals, `#define`s (same file, same directory, then the tree),
enums, builtin kernel constants (`PAGE_SIZE`, `SZ_*`, `U16_MAX` ...),
`sizeof` through struct layouts, arithmetic, shifts, casts, ternaries (join),
kernel macros (`min/max/clamp*`, `ALIGN`, `struct_size` ...), function-like
macros of the tree; locals from their assignments, parameters from the join
of their call sites' arguments, struct fields from one tree-wide cell per
(struct, field), module parameters and values parsed from user buffers
(`kstrto*`, `sscanf`, `copy_from_user`) as user-controlled sources.

A `+=` in a loop: a term that can pass a page on its own makes the sum its
sources' without a bound; a smaller term (a u8 descriptor length) grows only
with how often the loop runs, so the sum is the count's (`i < req.count`:
at most the count times the term, after the store before the loop) or,
with no count to read (a walk over a list), unknown.

The parts: `lattice` (Value, join, arithmetic), `evaluator` (ValueAnalysis:
expressions, locals, parameters, the memo and cycle guard), `builtins` (kernel
macros, constants, sizeof), `sources` (module parameters, user buffers,
netlink, descriptors), `narrowing` (guards and branches), `fields` (field
cells and hubs).
"""

from .evaluator import MAX_CALLERS, MAX_DEPTH, Scope, ValueAnalysis
from ...link import same_driver
from .lattice import TOP, Value, arith, const, join, unknown

__all__ = ["MAX_CALLERS", "MAX_DEPTH", "TOP", "Scope", "Value", "ValueAnalysis", "arith", "const", "join",
           "same_driver", "unknown"]
