"""One file's extraction: mask, parse, run every fact extractor, pack.

`extract_file()` is the stage's entry point for one file. The extractors of
each fact kind (definitions, calls, stores, conditions, lock states,
suppressions) read the query matches bucketed once per file and write into
one `FileFacts`; they share the state held by `FileExtraction`.
"""

from __future__ import annotations

import bisect
import re
import zlib
from array import array
from dataclasses import dataclass, field

from ..facts import CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_PARAM, CallSite, FileFacts
from ..kernel.tables import ContextTables, allocators, contexts
from . import treesitter as ts
from ..kernel.kconfig import KernelConfig
from .kconfig import apply_config, macro_branches
from .masking import Masked, mask_source
from .source import content_id, decode_source, line_matches


@dataclass
class FileExtraction:
    """What the extractors of one file share: its facts so far, the parse, the query
    matches by kind, and where each function's body lies."""

    facts: FileFacts
    trees: list  # the tree-sitter trees: the file's, or one per piece (treesitter.parse)
    masked: Masked
    original: str  # the text before masking
    m: dict  # query matches by kind (treesitter.bucketed_matches)
    ctx: ContextTables
    fn_nodes: list = field(default_factory=list)  # body nodes, parallel to facts.functions
    fn_starts: list[int] = field(default_factory=list)
    call_bytes: list[tuple[int, CallSite]] = field(default_factory=list)  # (start byte, site) for the lock walk
    integer_functions: set[int] = field(default_factory=set)  # body start bytes of functions returning integers
    define_names: set[str] = field(default_factory=set)  # the #define names the queries saw: object-like
    macro_names: set[str] = field(default_factory=set)  # and function-like

    def enclosing(self, byte: int) -> int:
        """Index of the function whose body contains `byte`, or -1."""
        i = bisect.bisect_right(self.fn_starts, byte) - 1
        if i >= 0 and byte < self.facts.functions[i].end_byte:
            return i
        return -1


def extract_file(path: str, data: bytes, config: KernelConfig | None = None) -> FileFacts:
    """Parse `data` (the content of `path`) and return its facts. With a kernel
    `config`, the #if branches it does not compile are blanked first (`kconfig`)."""
    from . import calls, conditions, definitions, locks, stores, suppressions

    decoded = decode_source(path, data)
    text = decoded.text
    configured = apply_config(text, config) if config is not None else None
    if configured is not None:
        text = configured.text
    masked = mask_source(text)
    src = masked.text.encode(decoded.encoding)  # the file's own bytes where nothing was masked
    parsed = ts.parse(src)
    facts = FileFacts(path=path, sha=content_id(data))
    if decoded.warning:
        facts.warnings.append(decoded.warning)
    if not parsed.whole:
        facts.pieces = len(parsed.trees)
    if configured is not None:
        facts.kconfig_lines = configured.depends
        facts.kconfig_blanked = configured.blanked_lines
        if configured.unbalanced:
            facts.warnings.append(f"{path}: #if/#endif do not balance; --kconfig not applied to this file")

    fx = FileExtraction(facts, parsed.trees, masked, text, parsed.matches, contexts())
    definitions.toplevel(fx)
    _macro_facts(fx, text, decoded.encoding)
    definitions.functions(fx)
    facts.bodies_unparsed = unparsed_bodies(src, fx.fn_starts, facts.functions)
    definitions.declarations(fx)
    definitions.returns(fx)
    definitions.loops(fx)
    calls.calls(fx)
    stores.assignments(fx)
    stores.addressed_locals(fx)
    conditions.guards(fx)
    conditions.assertions(fx)
    conditions.switches(fx)
    locks.lock_states(fx)
    calls.module_params(fx)
    suppressions.suppressions(fx)
    # After extraction, file-scope calls are read only as callback registrations
    # (DEFINE_TIMER, ...); the names EXPORT_SYMBOL*() makes reachable from other modules
    # are read from the text (the parser takes some of those lines for declarations).
    # MODULE_*() and the like are not kept.
    facts.exports = tuple(dict.fromkeys(m.group(1) for m in line_matches(_EXPORT_RE, text, _EXPORT_HINT)))
    facts.includes = tuple(dict.fromkeys(m.group(1) + m.group(2) for m in line_matches(_INCLUDE_RE, text, _INCLUDE_HINT)))
    registering = fx.ctx.callback_calls  # (a property that builds the set: once, not per call)
    facts.top_calls = [s for s in facts.top_calls if s.callee in registering]
    facts.pack()
    mark_table_calls(facts)
    return facts


# Only blanks before it on its line: `^\s*` would also start at a blank line above,
# and `line_matches` tries the pattern at the start of the line holding the word.
_EXPORT_RE = re.compile(r"^[^\S\n]*EXPORT_SYMBOL\w*\(\s*(\w+)", re.MULTILINE)
_INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.MULTILINE)
_EXPORT_HINT, _INCLUDE_HINT = re.compile("EXPORT_SYMBOL"), re.compile("include")  # for `line_matches`


def _macro_facts(fx: FileExtraction, text: str, encoding: str) -> None:
    """The names the file #defines (as CRC-32s: a whole tree defines five million, and
    the analysis only asks whether one is defined anywhere), and the #if branches such
    a name or a literal may rule out, in bytes of the parsed text."""
    names = fx.define_names | fx.macro_names  # (definitions.toplevel)
    names.update(fx.facts.defines, fx.facts.func_macros)  # and those read from the text (definitions._unparsed_macros)
    names.discard("")
    if names:
        fx.facts.macro_hashes = array("I", sorted({zlib.crc32(n.encode()) for n in names})).tobytes()
    branches = macro_branches(text, frozenset(names))
    if branches:
        to_byte = _byte_offsets(text, encoding, sorted({x for s, e, _ in branches for x in (s, e)}))
        fx.facts.macro_branches = tuple((to_byte[s], to_byte[e], c) for s, e, c in branches)


def _byte_offsets(text: str, encoding: str, offsets: list[int]) -> dict[int, int]:
    """Character offsets -> byte offsets in the parsed bytes (tree-sitter's), for sorted
    offsets. Latin-1 is one byte per character."""
    if encoding == "latin-1" or text.isascii():
        return {o: o for o in offsets}
    out, byte, prev = {}, 0, 0
    for o in offsets:
        byte += len(text[prev:o].encode(encoding))
        out[o] = byte
        prev = o
    return out


def unparsed_bodies(src: bytes, starts: list[int], functions) -> int:
    """Function bodies in the text that no extracted function definition holds: what
    the parse lost (`SYSCALL_DEFINE3(...) {`, a head tree-sitter could not read)."""
    lost = 0
    for m in ts.BODY_OPEN_RE.finditer(src):
        brace = m.end() - 1
        i = bisect.bisect_right(starts, brace) - 1
        if i < 0 or not (starts[i] <= brace < functions[i].end_byte):
            lost += 1
    return lost


def mark_table_calls(facts: FileFacts) -> None:
    """Flag the functions the analyses look for by name, so that a whole-tree scan
    finds them without comparing every function's callees with the tables."""
    allocating = allocators().keys()
    registering = contexts().callback_calls
    for fn in facts.functions:
        if not allocating.isdisjoint(fn.callees):
            fn.flags |= CALLS_ALLOCATOR
        if not registering.isdisjoint(fn.callees):
            fn.flags |= CALLS_REGISTRAR
        if any("gfp_t" in typ for _, typ in fn.params):
            fn.flags |= HAS_GFP_PARAM
