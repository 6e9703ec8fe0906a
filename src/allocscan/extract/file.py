"""One file's extraction: mask, parse, run every fact extractor, pack.

`extract_file()` is the stage's entry point for one file. The extractors of
each fact kind (definitions, calls, stores, conditions, lock states,
suppressions) read the query matches bucketed once per file and write into
one `FileFacts`; they share the state held by `FileExtraction`.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field

from ..facts import CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_PARAM, CallSite, FileFacts
from ..kernel.tables import ContextTables, allocators, contexts
from . import treesitter as ts
from .masking import Masked, mask_source
from .source import InputError, decode_source


@dataclass
class FileExtraction:
    """What the extractors of one file share: its facts so far, the parse, the query
    matches by kind, and where each function's body lies."""

    facts: FileFacts
    root: object  # the tree-sitter root node
    masked: Masked
    original: str  # the text before masking
    m: dict  # query matches by kind (treesitter.bucketed_matches)
    ctx: ContextTables
    fn_nodes: list = field(default_factory=list)  # body nodes, parallel to facts.functions
    fn_starts: list[int] = field(default_factory=list)
    call_bytes: list[tuple[int, CallSite]] = field(default_factory=list)  # (start byte, site) for the lock walk
    integer_functions: set[int] = field(default_factory=set)  # body start bytes of functions returning integers

    def enclosing(self, byte: int) -> int:
        """Index of the function whose body contains `byte`, or -1."""
        i = bisect.bisect_right(self.fn_starts, byte) - 1
        if i >= 0 and byte < self.facts.functions[i].end_byte:
            return i
        return -1


def extract_file(path: str, data: bytes) -> FileFacts:
    """Parse `data` (the content of `path`) and return its facts."""
    from . import calls, conditions, definitions, locks, stores, suppressions

    text = decode_source(path, data)
    masked = mask_source(text)
    src = masked.text.encode("utf-8")
    tree = ts.parser().parse(src)
    root = tree.root_node
    facts = FileFacts(path=path, sha=hashlib.sha1(data).hexdigest())
    if root.type != "translation_unit":
        raise InputError(f"{path}: tree-sitter could not parse this file")

    fx = FileExtraction(facts, root, masked, text, ts.bucketed_matches(root), contexts())
    definitions.toplevel(fx)
    definitions.functions(fx)
    definitions.declarations(fx)
    definitions.returns(fx)
    definitions.loops(fx)
    calls.calls(fx)
    stores.assignments(fx)
    conditions.guards(fx)
    conditions.switches(fx)
    locks.lock_states(fx)
    calls.module_params(fx)
    suppressions.suppressions(fx)
    # After extraction, file-scope calls are read only as callback registrations
    # (DEFINE_TIMER, ...): EXPORT_SYMBOL(), MODULE_*() and the like are not kept.
    facts.top_calls = [s for s in facts.top_calls if s.callee in fx.ctx.registrations]
    facts.pack()
    mark_table_calls(facts)
    return facts


def mark_table_calls(facts: FileFacts) -> None:
    """Flag the functions the analyses look for by name, so that a whole-tree scan
    finds them without comparing every function's callees with the tables."""
    allocating = allocators().keys()
    registering = contexts().registrations.keys()
    for fn in facts.functions:
        if not allocating.isdisjoint(fn.callees):
            fn.flags |= CALLS_ALLOCATOR
        if not registering.isdisjoint(fn.callees):
            fn.flags |= CALLS_REGISTRAR
        if any("gfp_t" in typ for _, typ in fn.params):
            fn.flags |= HAS_GFP_PARAM
