"""Extract: one source file in, one `FileFacts` out (pure, no global state).

The stage, in the order data flows:

- `driver`: over many files: content hashes, cache look-ups, a process pool
  for the misses (`extract_all`).
- `source`: bytes to text, or one line saying why the file is not C.
- `kconfig`: with `--kconfig`, the `#if` branches the kernel config does not
  compile blanked with same-length whitespace, and which lines depend on it.
- `masking`: known macro shapes (`list_for_each_entry(...) {`, `__acquires(x)`,
  `__must_check` ...) replaced with same-length text, so offsets stay exact.
- `treesitter`: the C parser and the queries of the top-level `queries/`
  directory (shipped as package data), compiled once per process.
- `file`: one file end to end; the extractors by fact kind run over the query
  matches: `definitions` (macros, enums, functions, structs, typedefs),
  `calls`, `stores` (assignments, bindings), `conditions` (guards, branches,
  one-time set-up), `locks` (the flow-sensitive walk of `lockflow`),
  `suppressions`.

Arguments are turned into the expression IR only for the calls the analyses
read most; the others keep their argument text, which `exprs.ir_from_text`
parses on demand.
"""

from __future__ import annotations

from .file import extract_file, mark_table_calls
from .source import InputError, decode_source

__all__ = ["InputError", "decode_source", "extract_file", "mark_table_calls"]
