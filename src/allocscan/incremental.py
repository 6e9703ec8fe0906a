"""Incremental analysis: after a small change, describe again only the allocation
sites the change can affect (its cone) and take every other finding from the scan
before it.

Extraction is already incremental (the facts cache is keyed by content), and a
change that keeps the changed files' link interface is relinked from the previous
scan's program (relink.py, linkstore.py). The context analysis runs over the
cone's callers within reach; gfp forwarding still runs over the whole program.
What this module saves is the per-site work — values, witnesses, path checks —
which is most of a warm scan. `plan()` compares the two sides' files and returns the cone, or
why a full analysis must run instead; `merge()` joins the findings.

What depends on what. A site is described again when its function is in the cone:

1. Every function of a changed file: its lines may have moved.
2. Changed functions: one whose text changed, was added or removed (when it was
   added or removed, or its parameters or linkage changed: the functions calling
   that name, or a function-like macro forwarding to it, whose calls now resolve
   elsewhere), or whose text
   names a file-scope definition that changed (a macro, enum, struct, typedef,
   global, module parameter, designated initializer) or a definition naming one,
   transitively (`#define RING (BE_SIZE * 2)`, a struct holding the changed
   struct). A changed header's definitions are looked up in every file that names
   them (word match, up to MAX_NAME_ROUNDS definitions deep).
   Each function of the value flow (3) carries the names whose values changed for
   it: for one whose text changed, what its changed statements write and its
   changed conditions read, with those statements (funcdiff: a gfp flip changes one
   call); all of them when the edit cannot be told statement by statement (its
   signature or the skeleton of its control flow changed), for one that calls a
   changed name, or that names a changed function-like macro (its calls may go
   elsewhere); else the
   changed definitions it names, the parameters a changed value is passed in, the
   callees whose returned value changed, the changed fields it reads. What follows
   from those names in it (`_Dependence`, a slice over words) decides which of its
   stores (4), which of the arguments it passes (3) and whether what it hands up
   (3) may have changed.
3. Value flow: within `MAX_DEPTH` calls of a changed function, down to the callees
   it passes a changed value with at most `MAX_CALLERS` callers (the parameters
   the evaluator follows), and up to the direct callers of a function that may hand
   a changed value up: a returned value or a store through a pointer parameter
   (`*len = n`, read by the caller's `&len`) that follows from its changed names, or
   a gfp mask it takes (whether it allocates with it decides its callers' sites);
   callers found by name when the
   function calls nothing and so has no incoming edges. Up only from a changed function
   or one reached upwards: a callee's changed return value reaches only the
   caller that passed the changed arguments, when following the callee shows that
   what it returns for them may have changed (then, or later as the flow goes on
   below it); what such a followed call returns reads the callee's name, not the
   words of its arguments (`_Cone._followed`: `buf = demo_get_buf(n, gfp)` with a
   flipped gfp stores a new buffer all the same).
4. Fields: a (struct, field) that a function of 3 stores a changed value into, or a
   changed file-scope initializer sets, is read by the functions naming the field
   (or a macro of their file naming it) in every file naming the struct. A hub
   field (written in more than HUB_DIRECTORIES directories, by more than
   HUB_JOIN_WRITERS stores) is read only in the store's module, or its file when
   the module has more than HUB_MODULE_WRITERS stores to it
   (fields.Fields._cells_seen_from). Readers start 3 again, one hop further from
   the change (the evaluator's MAX_DEPTH counts field reads as it counts calls). A
   function's calls store too, in its own file: a setter's (usb_fill_bulk_urb(urb,
   ..., len, ...) stores len into urb->transfer_buffer_length) and an allocator's
   setup (alloc_etherdev() runs ether_setup(), whose stores a driver never storing
   max_mtu reads). A changed setup function [setups] runs is read by every module
   allocating with it: a full analysis. Not seen: a reader whose file never names
   the struct (`priv->ring->size`, struct ring named only in a header), or that
   reads the field through a macro of another file.
5. Contexts: within `MAX_HOPS` calls below a changed function or a function that a
   changed function or binding names (a callback armed, bound or registered; of an
   edited function, what its changed statements name, or all its text when one of
   them registers, binds or arms a callback: the callback may be named elsewhere), not
   into an allocator of the table or a quiet function, which no context enters; and
   within `MAX_HOPS` calls below a function with one-time set-up (`FunctionFacts.once`)
   that lies within `SLEEPABLE_HOPS` calls below one of those: whether its atomic
   callers skip the set-up depends on every caller that far up
   (`context.reached_sleepable`).
6. A previous finding whose witness, value flow or related steps pass through a
   changed file is described again; so is every part of a previous finding (the
   function it is reported in, the allocations it names) once one part is in the
   cone: an AS002 finding sits at a caller's call above its allocation, and a core
   allocation described again finds that caller's lock again (merge() then drops
   the previous finding, made again whole).

A full analysis runs instead when the Makefiles, the kernel facts or the options
changed, when a changed file's facts of the previous side are not in the cache, or
when the cone outgrows its bounds: more than FULL_SHARE of the allocating
functions, MAX_STRUCTS structs whose readers are looked up tree-wide, or
MAX_READER_FILES files naming the changed header definitions or the structs the
change stores to. Each is checked as the
cone grows, so that a change reaching everything costs little before the full
analysis.

A full analysis runs too when a changed file names a module-mode flag
(`BLK_MQ_F_BLOCKING`, entries.toml `unless_module_mentions`) a different number of
times: any file of a module naming it decides the context of the module's callbacks.

Known gaps: `entries.early_boot_only()` walks callers without a hop limit, so a new
run-time caller of an early-boot-only function far above a site can change that
site's AS001 finding without this cone reaching it.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Callable, Iterable

from .analyze.context import MAX_HOPS, SLEEPABLE_HOPS
from .analyze.values.evaluator import MAX_CALLERS
from .analyze.values.fields import (HUB_DIRECTORIES, HUB_JOIN_WRITERS, HUB_MODULE_WRITERS, parameter_stores,
                                    setup_functions)
from .analyze.values.scope import MAX_DEPTH
from .analyze.witness import ALLOCATION
from .exprs import split_args
from .facts import HAS_GFP_PARAM, FileFacts, FunctionFacts
from .funcdiff import WORD_RE, FunctionEdit, function_edit, handed_addresses, signature_changed, value_read, written_by
from .kernel.tables import allocators, contexts, source_tables
from .link import Program, directory_of, is_leaf

FULL_SHARE = 0.25  # a cone with more of the allocating functions than this: analyse everything
MAX_STRUCTS = 200  # structs whose readers are looked up tree-wide; more: analyse everything
MAX_READER_FILES = 1000  # files naming the change's headers or stores' structs; more: analyse everything
MAX_NAME_ROUNDS = 4  # header definition -> definitions naming it elsewhere, this many times
ANON_RE = re.compile(r"anon@(\d+)")  # an anonymous struct's name: its byte offset
# fields of the facts' dataclasses that only place things: not a change of meaning
_PLACES = frozenset({"line", "end_line", "col", "end_col", "byte", "start_byte", "end_byte", "block_start",
                     "block_end", "store", "packed", "packed_calls"})
# FileFacts tables compared name by name; a changed entry is a changed definition
_NAMED_TABLES = ("defines", "func_macros", "enums", "typedefs", "globals", "global_types", "global_arrays",
                 "global_inits", "nla_limits")


@dataclass
class Previous:
    """The scan of the same tree before the change, and how to read what it read."""

    findings: list
    suppressed: list
    file_keys: dict[str, str]  # relative path -> content id
    context_key: str  # pipeline.context_key(): kernel facts, Makefiles, options
    read_blobs: Callable[[list[str]], list[bytes | None]]  # content ids -> contents (None: unreadable)
    # (words, most) -> {word: relative paths of the files of the new side naming it}, or
    # None: cannot tell; with `most`, when more files name any of them: {"": more than
    # `most` of those files (not necessarily all)}
    files_naming: Callable[[set[str], int | None], dict[str, set[str]] | None]
    warnings: list[str] = field(default_factory=list)  # what extraction and analysis warned of
    stats: object = None  # its extract.ExtractStats


@dataclass
class Plan:
    changed_files: set[str] = field(default_factory=set)
    cone: set[str] | None = None  # function nodes to describe again; None: analyse everything
    full_reason: str = ""  # why everything is analysed
    changed_functions: int = 0

    def stats(self, allocating: int) -> dict:
        if self.cone is None:
            return {"incremental": f"full analysis: {self.full_reason}"}
        return {"incremental": f"{len(self.changed_files)} changed file(s), {self.changed_functions} changed "
                               f"function(s), {len(self.cone)} function(s) in the cone, "
                               f"{allocating} of them allocating"}


def changed_files(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


MAX_SAME_FACTS_FILES = 20  # changed files compared fact by fact before anything is linked


def same_facts(before: FileFacts, after: FileFacts) -> bool:
    """Do two versions of a file hold the same facts, places included: only their
    content differs (a comment reworded, blank space at the end of a line, the end
    of the file)? Every analysis reads facts, never the text: the scan of the one
    is the scan of the other."""
    for f in fields(FileFacts):
        if f.name not in _NOT_COMPARED and getattr(before, f.name) != getattr(after, f.name):
            return False
    if (before.defines, before.global_inits, before.field_inits) != \
            (after.defines, after.global_inits, after.field_inits):
        return False
    if len(before.functions) != len(after.functions):
        return False
    for old, new in zip(before.functions, after.functions):
        for f in fields(FunctionFacts):
            if f.name not in _NOT_COMPARED and getattr(old, f.name) != getattr(new, f.name):
                return False
        if old.body() != new.body() or old.calls != new.calls:
            return False
    return True


# what same_facts() compares unpacked (or not at all: the content id, where the packed
# parts lie)
_NOT_COMPARED = frozenset({"sha", "store", "functions", "packed", "packed_calls", "packed_defines",
                           "packed_global_inits", "packed_field_inits"})


def plan(previous: Previous, program: Program, file_keys: dict[str, str], context_key: str,
         head_text: Callable[[str], bytes | None], base_facts: Callable[[str, str], FileFacts | None],
         allocating: set[str]) -> Plan:
    """The cone of the change from `previous` to `program` (see the module docstring)."""
    result = Plan(changed_files(previous.file_keys, file_keys))
    if context_key != previous.context_key:
        result.full_reason = "the kernel facts, the Makefiles or the options changed"
        return result
    changes = _Changes()
    base_shas = [previous.file_keys[rel] for rel in sorted(result.changed_files) if rel in previous.file_keys]
    base_texts = dict(zip(base_shas, previous.read_blobs(base_shas)))
    for rel in sorted(result.changed_files):
        before = after = None
        before_text = after_text = b""
        if rel in previous.file_keys:
            before = base_facts(rel, previous.file_keys[rel])
            before_text = base_texts.get(previous.file_keys[rel])
            if before is None or before_text is None:
                result.full_reason = f"{rel}: the facts or text of its previous version are not at hand"
                return result
        if rel in file_keys:
            after = program.file(rel)
            after_text = head_text(rel)
            if after is None or after_text is None:
                result.full_reason = f"{rel}: its facts or text are not at hand"
                return result
        flag = _mode_mention_changed(before_text or b"", after_text or b"")
        if flag:
            result.full_reason = f"{rel}: it changes how it names {flag}, which decides its module's callbacks' context"
            return result
        changes.compare(rel, before, before_text, after, after_text)
    cone = _Cone(program, previous.files_naming, allocating, head_text)
    try:
        reason = cone.grow(changes, previous)
    except _Unbounded as err:
        reason = str(err)
    if reason:
        result.full_reason = reason
        return result
    result.changed_functions = len(cone.changed)
    if allocating and len(cone.nodes & allocating) > FULL_SHARE * len(allocating):
        result.full_reason = (f"the change reaches {len(cone.nodes & allocating)} of {len(allocating)} "
                              f"allocating functions")
        return result
    result.cone = cone.nodes
    return result


def _mode_mention_changed(before: bytes, after: bytes) -> str:
    """The name among the context tables' `unless_module_mentions` (BLK_MQ_F_BLOCKING)
    that one side of a changed file names more often than the other, or "". Whether any
    file of a module names it decides the context of the module's callbacks in other
    files (entries._module_mentions), beyond the cone's reach: a full analysis."""
    for name in sorted({n for fc in contexts().fields for n in fc.unless_module_mentions}):
        word = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
        if name.encode() in before or name.encode() in after:
            if len(word.findall(before)) != len(word.findall(after)):
                return name
    return ""


def finding_places(f) -> set[tuple[str, str]]:
    """(path, function) of what a finding is made of: the function it is reported in,
    and the allocations it names (its witness's last step, its related allocations). An
    AS002 finding sits at a lock holder's call, its allocation may lie calls below."""
    steps = (*f.witness[-1:], *f.related)
    return {(f.path, f.function)} | {(s.path, s.function) for s in steps if s.kind == ALLOCATION and s.function}


def merge(previous: Previous, program: Program, plan: Plan, kept: list, suppressed: list) -> tuple[list, list]:
    """The previous findings outside the cone, with the cone's new ones. A previous
    finding any part of which the cone described again is made again, whole (plan()
    put all its parts in the cone), or is gone."""
    redone = {(ref.path, ref.fn.name) for node in plan.cone for ref in (program.functions[node],)}

    def outside(f) -> bool:
        return f.path not in plan.changed_files and finding_places(f).isdisjoint(redone)

    return ([f for f in previous.findings if outside(f)] + kept,
            [f for f in previous.suppressed if outside(f)] + suppressed)


def _normal(value):
    """A fact without what only places it (lines, bytes): equal when its meaning is."""
    if is_dataclass(value):
        unpacked = getattr(value, "UNPACKED_AS", {})  # a packed field compares as what it unpacks to
        return (type(value).__name__,) + tuple(_normal(getattr(value, unpacked.get(f.name, f.name)))
                                               for f in fields(value) if f.name not in _PLACES)
    if isinstance(value, dict):
        return tuple(sorted((k, repr(_normal(v))) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    return value


def _definitions(ff: FileFacts | None) -> dict[tuple[str, int], FunctionFacts]:
    """(name, n-th definition of it) -> its facts, for each function of a file."""
    out: dict[tuple[str, int], FunctionFacts] = {}
    for fn in ff.functions if ff is not None else ():
        n = 0
        while (fn.name, n) in out:
            n += 1
        out[fn.name, n] = fn
    return out


def _function_texts(ff: FileFacts | None, text: bytes) -> dict[tuple[str, int], bytes]:
    """(name, n-th definition of it) -> its text, for each function of a file."""
    return {key: text[fn.start_byte:fn.end_byte] for key, fn in _definitions(ff).items()}


def _file_tables(ff: FileFacts | None) -> dict[tuple[str, str], str]:
    """(table, name) -> the normalised definition, for each file-scope definition.
    An anonymous struct is named by its byte offset (`be_adapter::anon@16844`): here
    by its rank in the file, so that text moving above it does not change it."""
    out: dict[tuple[str, str], object] = {}
    if ff is None:
        return out
    for table in _NAMED_TABLES:
        for name, value in getattr(ff, table).items():
            out[table, name] = value
    for struct in ff.structs:
        out["struct", struct.name] = struct
    for param in ff.module_params:
        out["module_param", param.name] = param
    offsets = sorted({int(m.group(1)) for struct in ff.structs for m in ANON_RE.finditer(struct.name)})
    rank = {str(offset): f"anon#{i}" for i, offset in enumerate(offsets)}

    def renamed(text: str) -> str:
        return ANON_RE.sub(lambda m: rank.get(m.group(1), "anon"), text)

    def normal_text(value) -> str:
        try:
            return renamed(repr(_normal(value)))
        except RecursionError:  # an expression nested too deep to compare: take it as changed
            return f"<unreadable {id(value)}>"

    return {(table, renamed(name)): normal_text(value) for (table, name), value in out.items()}


def _changed_definitions(tables_old: dict, tables_new: dict) -> set[str]:
    """The file-scope definitions two versions of a file's tables (_file_tables) differ
    in, by name, with the definitions naming one of them."""
    names = {key[1] for key in tables_old.keys() | tables_new.keys() if tables_old.get(key) != tables_new.get(key)}
    # a definition naming a changed one (`#define RING (BE_SIZE * 2)`) changed with it
    names |= _naming(tables_old, names) | _naming(tables_new, names)
    return {name.partition("::")[0] for name in names}  # an anonymous struct: its parent


def header_question(versions: dict[str, tuple[FileFacts | None, FileFacts | None]]) -> frozenset[str]:
    """The words the cone's first search of the tree asks for (Previous.files_naming,
    with MAX_READER_FILES), when these are the changed files' facts (relative path ->
    (before, after)): the changed definitions of the changed headers, which
    _Cone._header_users() looks for in every file. A diff asks it of git while it
    reads the program the cone grows in (diff.FilesNaming.start())."""
    words: set[str] = set()
    for rel, (before, after) in versions.items():
        if rel.endswith(".h"):
            words |= _changed_definitions(_file_tables(before), _file_tables(after))
    return frozenset(words)


class _Changes:
    """What differs between the two versions of the changed files."""

    def __init__(self):
        self.functions: dict[str, set[str]] = {}  # path -> names of changed functions
        # path -> the changed functions whose own text changed (the others changed only with
        # a definition they name: rule 2), each with what its edit changed (funcdiff; None:
        # anything)
        self.edited: dict[str, dict[str, FunctionEdit | None]] = {}
        # names whose calls may now resolve elsewhere or bind other parameters: functions
        # added, or whose parameters or linkage changed (with `removed`)
        self.rebound: set[str] = set()
        self.macros: set[str] = set()  # changed function-like macros: calls through them may go elsewhere
        self.names: set[str] = set()  # file-scope definitions that changed
        self.header_names: set[str] = set()  # ... of them in headers: looked up tree-wide
        self.fields: set[tuple[str, str, str]] = set()  # (struct, field, file) of stores that changed
        self.named: set[str] = set()  # identifiers a changed function or binding names
        self.removed: set[str] = set()  # function names a changed file no longer defines here

    def compare(self, rel: str, before: FileFacts | None, before_text: bytes, after: FileFacts | None,
                after_text: bytes) -> None:
        old, new = _function_texts(before, before_text), _function_texts(after, after_text)
        changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
        self.edited[rel] = edits = _edits(changed, before, before_text, after, after_text)
        tables_old, tables_new = _file_tables(before), _file_tables(after)
        names = _changed_definitions(tables_old, tables_new)
        self.names |= names
        self.macros |= {name for table, name in tables_old.keys() | tables_new.keys()
                        if table == "func_macros" and name in names}
        if rel.endswith(".h"):
            self.header_names |= names
        if names:  # a function naming a changed definition changed with it
            pattern = _words_pattern(names)
            changed |= {key for key, text in new.items() if pattern.search(text)}
        for key in changed:
            edit = edits.get(key[0])
            if edit is not None and not edit.registers:  # what its changed items name
                self.named |= edit.named
                continue
            for text in (old.get(key), new.get(key)):
                if text:
                    self.named |= set(WORD_RE.findall(text.decode("utf-8", "replace")))
        self.functions[rel] = {name for name, _ in changed}
        self.removed |= {name for name, _ in old.keys() - new.keys()}
        self.rebound |= {name for name, _ in new.keys() - old.keys()}
        self.rebound |= {name for name, edit in edits.items() if edit is None and _signature_changed(
            name, before, after)}
        for name, edit in edits.items():
            if edit is not None:
                self.fields |= {(struct, fname, rel) for struct, fname in edit.fields}
        for ff in (before, after):  # what an edited function stored, before or after (a changed
            for fn in ff.functions if ff is not None else ():  # definition's namers: _Cone.stores)
                if fn.name in edits and edits[fn.name] is None:
                    self.fields |= {(struct, fname, rel) for struct, fname in fn.field_writes}
        self._compare_sets(rel, before, after)

    def _compare_sets(self, rel: str, before: FileFacts | None, after: FileFacts | None) -> None:
        """Bindings, file-scope calls (DEFINE_TIMER) and designated initializers: what
        a changed one names, and the fields a changed initializer sets."""
        def of(ff, attr):
            return {_normal(item): item for item in getattr(ff, attr)} if ff is not None else {}

        for attr in ("bindings", "top_calls", "field_inits"):
            old, new = of(before, attr), of(after, attr)
            for key in old.keys() ^ new.keys():
                item = old.get(key) or new.get(key)
                self.named |= set(WORD_RE.findall(repr(key)))
                if attr == "field_inits":
                    self.fields.add((item.struct_type or item.receiver, item.target, rel))


def _edits(changed: set[tuple[str, int]], before: FileFacts | None, before_text: bytes, after: FileFacts | None,
           after_text: bytes) -> dict[str, FunctionEdit | None]:
    """name -> what the edit of each function whose text changed changed in it
    (funcdiff.function_edit), joined over its definitions; None: anything (also for
    one added or removed)."""
    old, new = _definitions(before), _definitions(after)
    edits: dict[str, FunctionEdit | None] = {}
    for key in sorted(changed):
        name = key[0]
        edit = None
        if key in old and key in new:
            edit = function_edit(old[key], new[key], before_text[old[key].start_byte:old[key].end_byte],
                                 after_text[new[key].start_byte:new[key].end_byte],
                                 before.macro_branches, after.macro_branches)
        if name not in edits:
            edits[name] = edit
        elif edits[name] is not None:
            if edit is None:
                edits[name] = None
            else:
                edits[name].join(edit)
    return edits


def _signature_changed(name: str, before: FileFacts | None, after: FileFacts | None) -> bool:
    """Do the definitions of `name` in the file bind their callers otherwise now?"""
    old = [fn for fn in before.functions if fn.name == name] if before is not None else []
    new = [fn for fn in after.functions if fn.name == name] if after is not None else []
    return len(old) != len(new) or any(signature_changed(a, b) for a, b in zip(old, new))


def _words_pattern(words: Iterable[str]) -> re.Pattern:
    return re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in sorted(words)) + rb")\b")


def _naming(tables: dict[tuple[str, str], str], names: set[str]) -> set[str]:
    """The definitions of `tables` (see _file_tables) naming any of `names`, directly
    or through one another (a macro over a macro, a struct holding a struct)."""
    texts: dict[str, str] = {}
    for (_, name), value in tables.items():
        texts[name] = texts.get(name, "") + value
    found, pending = set(names), set(names)
    while pending:
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(pending)) + r")\b")
        pending = {name for name, text in texts.items() if name not in found and pattern.search(text)}
        found |= pending
    return found - names


class _Unbounded(Exception):
    """The cone outgrew what is worth analysing apart: analyse everything."""


class _Cone:
    def __init__(self, program: Program, files_naming, allocating: set[str], head_text):
        self.program = program
        self.head_text = head_text
        self.files_naming = files_naming
        self.allocating = allocating
        self.limit = int(FULL_SHARE * len(allocating))
        self.changed: set[str] = set()
        self.nodes: set[str] = set()
        self.modules_seen: dict[str, list[str]] = {}
        self.sorted_paths: list[str] | None = None
        # node -> the names whose values changed for it (see _Dependence), or None: anything
        # in it may have changed (its text did, or a call through a changed macro)
        self.changed_names: dict[str, set[str] | None] = {}
        self.edits: dict[str, FunctionEdit] = {}  # node -> what its edit changed, item by item
        self._dependence: dict[str, _Dependence] = {}
        self._grown: set[str] = set()  # nodes whose changed names grew since the value flow looked
        # node -> the callers passing it changed values, with their hops and whether they
        # were reached upwards
        self._passed_from: dict[str, dict[str, tuple[int, bool]]] = {}
        self._followed_memo: dict[str, frozenset[str]] = {}  # see _followed()
        self._macro_bodies: dict[tuple[str, str], str] | None = None  # see _forwarding_to()

    def grow(self, changes: _Changes, previous: Previous) -> str:
        """Fill `nodes`; a reason when the cone cannot be bounded."""
        program = self.program
        # what a function changed only with a definition reads; anything, when a changed
        # function-like macro may make its calls go elsewhere
        anything = None if changes.macros else changes.names
        for rel, names in changes.functions.items():
            ff = program.file(rel)
            edits = changes.edited[rel]
            for fn in ff.functions if ff is not None else ():
                node = program.node_for(fn, rel)
                self.nodes.add(node)
                if fn.name not in names:
                    continue
                self.changed.add(node)
                if fn.name not in edits:
                    self._taint(node, anything)
                elif edits[fn.name] is None or anything is None:
                    self._taint(node, None)
                else:  # what its changed items write, and the changed definitions it names
                    edit = self.edits[node] = self._through_calls(node, edits[fn.name])
                    self._taint(node, edit.words | anything)
        for node in self._calling(changes.removed | changes.rebound):  # their calls may now resolve elsewhere
            self.changed.add(node)
            self._taint(node, None)
        if changes.header_names:
            users = self._header_users(changes.header_names, bool(changes.macros))
            if users is None:
                return "cannot tell which files name the changed header's definitions"
            for node, read in users.items():
                self.changed.add(node)
                self._taint(node, read)
        self._check(self.changed)
        setups = {spec.runs for spec in source_tables().setups.values() if spec.runs}
        changed_setups = sorted({program.functions[n].fn.name for n in self.changed} & setups)
        if changed_setups:
            return (f"{changed_setups[0]}() changed: every module allocating its objects with it "
                    "reads what it stores")
        # node -> the fewest evaluator hops (calls, field reads) between it and a change
        value = self._value_flow(dict.fromkeys(self.changed, 0))
        stores: dict[tuple[str, str, str], int] = dict.fromkeys(changes.fields, 0)
        done: dict[tuple[str, str, str], int] = {}
        while True:  # ends: each field hop costs one of the MAX_DEPTH hops
            for node, depth in value.items():
                path = program.functions[node].path
                for struct, fname in self._stores(node) if depth < MAX_DEPTH else ():
                    key = (struct, fname, path)
                    stores[key] = min(depth, stores.get(key, depth))
            stores = {key: depth for key, depth in stores.items() if depth < done.get(key, MAX_DEPTH)}
            if not stores:
                break
            readers = self._field_readers(stores)
            if readers is None:
                return "cannot tell which files read the changed fields"
            done.update(stores)
            stores = {}
            for node, depth in self._value_flow(readers).items():
                if depth < value.get(node, MAX_DEPTH + 1):
                    value[node] = depth
            self._check(value.keys())
        value = set(value)
        named = {n for name in changes.named for n in program.by_name.get(name, ())}
        # (an allocator a changed function names, kmalloc(), is no callback: no context enters it)
        table = allocators()
        named_callbacks = {n for n in named if program.functions[n].fn.name not in table}
        self.nodes |= value | self._below(value | named_callbacks, MAX_HOPS, into_allocators=False)
        self.nodes |= self._below(self._set_up_below(value | named), MAX_HOPS)
        self._check(self.nodes)
        changed_paths = set(changes.functions)
        for f in previous.findings + previous.suppressed:
            if any(step.path in changed_paths for step in (*f.witness, *f.value_flow, *f.related)):
                self.nodes |= {n for n in program.by_name.get(f.function, ())
                               if program.functions[n].path == f.path}
        # A finding made of several sites (the call reporting them, the allocations it
        # reaches) is made again whole, or not at all: when one of them is described
        # again, so are the others (see merge()).
        places = {(program.functions[n].path, program.functions[n].fn.name) for n in self.nodes}
        parts = [made_of for f in previous.findings + previous.suppressed if len(made_of := finding_places(f)) > 1]
        while True:  # a part brought in may be a part of another finding
            grown = [made_of for made_of in parts if not made_of.isdisjoint(places) and not made_of <= places]
            if not grown:
                break
            for made_of in grown:
                places |= made_of
                self.nodes |= {n for path, name in made_of for n in program.by_name.get(name, ())
                               if program.functions[n].path == path}
        self._check(self.nodes)
        return ""

    def _taint(self, node: str, names: set[str] | None) -> bool:
        """Record that the values of `names` (None: of anything) changed for `node`;
        whether that is news."""
        known = self.changed_names.get(node, set())
        if known is None or (names is not None and names <= known and node in self.changed_names):
            return False
        self.changed_names[node] = None if names is None else known | names
        self._dependence.pop(node, None)
        self._grown.add(node)
        return True

    def _depends(self, node: str) -> "_Dependence | None":
        """What in the function may follow from the names whose values changed for it;
        None: anything."""
        names = self.changed_names.get(node)
        if names is None:
            return None
        found = self._dependence.get(node)
        if found is None:
            ref = self.program.functions[node]
            found = self._dependence[node] = _Dependence(ref.fn, names, ref.file.macro_branches,
                                                         self.edits.get(node), self._followed(node))
        return found

    def _through_calls(self, node: str, edit: FunctionEdit) -> FunctionEdit:
        """The edit, with each store or return that changed only in the arguments of
        its calls (FunctionEdit.through_calls) counted as changed unless the value flow
        follows every one of those callees: then what they return for the new arguments
        decides it (`priv->buf = demo_get_buf(64, GFP_ATOMIC)`: a new buffer all the
        same)."""
        if not edit.through_calls:
            return edit
        followed = self._followed(node)
        at, words = set(edit.at), set(edit.words)
        for byte, (callees, written) in edit.through_calls.items():
            if not callees <= followed:
                at.add(byte)
                words |= written
        return replace(edit, at=at, words=words)

    def _followed(self, node: str) -> frozenset[str]:
        """The names the function calls whose every call resolves to callees the value
        flow follows (an edge, at most MAX_CALLERS callers): whether what such a call
        returns changed is learnt from the callee (_value_flow), not from the words of its
        arguments. `pagep = be_alloc_pages(size, gfp)` with a flipped gfp returns a new
        page all the same. A function calling nothing has no incoming edges: its calls
        are read by their words."""
        found = self._followed_memo.get(node)
        if found is not None:
            return found
        program = self.program
        ref = program.functions[node]
        edges = program.graph.succ[node]
        followed, not_followed = set(), set()
        for site in ref.fn.calls:
            if not site.callee:
                continue
            targets = program.targets(site, ref.path)
            if targets and all(t in edges and program.graph.in_degree(t) <= MAX_CALLERS for t in targets):
                followed.add(site.callee)
            else:
                not_followed.add(site.callee)
        found = self._followed_memo[node] = frozenset(followed - not_followed)
        return found

    def _stores(self, node: str) -> list[tuple[str, str]]:
        """The (struct, field) pairs the function stores into whose stored value may
        have changed: every one when anything in it may have, else those _Dependence
        finds; with those its calls store (_call_stores)."""
        ref = self.program.functions[node]
        dependence = self._depends(node)
        if dependence is None:
            return [*ref.fn.field_writes, *self._call_stores(node)]
        written = [(a.struct_type or a.receiver, a.target) for a in ref.fn.assignments
                   if a.kind == "field" and (a.struct_type or a.receiver) and dependence.stores(a)]
        return written + self._call_stores(node, dependence)

    def _call_stores(self, node: str, dependence: "_Dependence | None" = None) -> list[tuple[str, str]]:
        """The fields the function's calls store into, as stores of its own file
        (fields.Fields._setter_calls, _setup_cells): those a setter it calls stores one
        of its parameters into (usb_fill_bulk_urb(): urb.transfer_buffer_length), and
        those the setup of an allocator it calls stores (alloc_etherdev(): what
        ether_setup() stores; alloc_netdev(..., demo_setup): what demo_setup() stores).
        With a `dependence`, only those that may store a changed value: a setter's
        store of an argument carrying one, a setup run by a call that may now run or
        not, or is handed a changed value."""
        program = self.program
        ref = program.functions[node]
        setups = source_tables().setups
        if dependence is None:
            found = [w for callee in program.graph.successors(node)
                     for w in _setter_fields(program.functions[callee].fn)]
            sites = ref.fn.calls
        else:
            found, sites, edges = [], [], program.graph.succ[node]
            for site in ref.fn.calls:
                passed = dependence.passes(site)
                if not passed:
                    continue
                sites.append(site)
                for target in program.targets(site, ref.path):
                    if target in edges:
                        found += _setter_fields(program.functions[target].fn, passed)
        for site in sites:
            spec = setups.get(site.callee)
            if spec is not None:
                found += [w for setup in setup_functions(program, spec, site, ref.path)
                          for w in program.functions[setup].fn.field_writes]
        return found

    def _header_users(self, names: set[str], macros_changed: bool) -> dict[str, set[str] | None] | None:
        """The functions, in any file, whose text names a changed header definition or
        a definition naming one (rule 2), each with the definitions it may read (None:
        anything, when a function-like macro is among them); None: cannot tell."""
        program = self.program
        names, pending, files = set(names), set(names), set()
        for _ in range(MAX_NAME_ROUNDS):
            if len(names) > MAX_STRUCTS:
                raise _Unbounded(f"the changed header definitions are named by more than {MAX_STRUCTS} others")
            naming = self.files_naming(pending, MAX_READER_FILES)
            if naming is None:
                return None
            if "" in naming:
                raise _Unbounded(f"the changed header definitions are named in more than {MAX_READER_FILES} files")
            found = set().union(*naming.values()) if naming else set()
            files |= found
            pending = set()
            for rel in found:
                tables = _file_tables(program.file(rel))
                named = _naming(tables, names)
                macros_changed |= any(("func_macros", name) in tables for name in named)
                pending |= {name.partition("::")[0] for name in named}
            pending -= names
            names |= pending
            if not pending:
                break
        else:
            raise _Unbounded(f"the changed header definitions are named through more than {MAX_NAME_ROUNDS} others")
        users: dict[str, set[str] | None] = {}
        for rel in files:
            read: set[str] = set()
            found = self._naming_in_file(rel, names, read)
            if found is None:
                return None
            func_macros = program.file(rel).func_macros
            through_macro = macros_changed or any(name in func_macros for name in read)
            for node in found:
                users[node] = None if through_macro else read
        return users

    def _calling(self, names: set[str]) -> set[str]:
        """Functions that call any of `names` directly (by name: leaves have no edges), or
        through a function-like macro forwarding to one (`demo_pool_get(...)` expanding to
        a removed `demo_pool_get_node(...)`: the call no longer resolves)."""
        if not names:
            return set()
        names = names | self._forwarding_to(names)
        return {node for node, ref in self.program.functions.items() if not names.isdisjoint(ref.fn.callees)}

    def _forwarding_to(self, names: set[str]) -> set[str]:
        """The lowercase function-like macros whose body names any of `names`, directly or
        through one another (ALL_CAPS macros are never calls: link.Resolver)."""
        if self._macro_bodies is None:  # asked again for each leaf the value flow walks up from
            self._macro_bodies = {(ff.path, name): body for ff in self.program.files  # _naming joins a name's
                                  for name, (_, body) in ff.func_macros.items() if not name.isupper()}  # definitions
        return _naming(self._macro_bodies, names)

    def _value_flow(self, start: dict[str, int]) -> dict[str, int]:
        """Functions within MAX_DEPTH calls of `start` (node -> hops already spent) that
        changed values flow to, with their hops: the callees a function passes a
        changed value (_Dependence.passes; every callee when anything in it may have
        changed), when few enough call them (their parameters are followed), and the
        direct callers of a function whose returned value (or forwarded gfp mask) may
        have changed. A callee's changed return value reaches only the caller that
        passed the changed arguments, already here: from a function reached
        downwards, the flow goes on only downwards, and the caller learns that the
        callee's value changed (its name joins the caller's changed names)."""
        graph = self.program.graph
        nearest: dict[str, int] = {}  # node -> fewest hops, either way
        nearest_up: dict[str, int] = {}  # node -> fewest hops, reached upwards (or a start)
        queue = deque((node, depth, True) for node, depth in start.items())
        next_check = 0
        while queue:
            node, depth, up = queue.popleft()
            news = node in self._grown and node in nearest  # seen, but its changed names grew since
            if depth >= (nearest_up if up else nearest).get(node, MAX_DEPTH + 1) and not news:
                continue
            self._grown.discard(node)
            if news:  # look again from where it was nearest
                depth, up = min(depth, nearest[node]), up or node in nearest_up
            nearest[node] = min(depth, nearest.get(node, depth))
            if up:
                nearest_up[node] = min(depth, nearest_up.get(node, depth))
            if len(nearest) >= next_check:
                self._check(nearest.keys())
                next_check = len(nearest) + 1024
            if self._passed_from.get(node) and self._returns_changed(node):
                # what it returns changed since its callers passing it changed values
                # looked (its own callees' values did): they learn it now
                name = self.program.functions[node].fn.name
                for caller, (at_depth, was_up) in sorted(self._passed_from[node].items()):
                    if self._taint(caller, {name}):
                        queue.append((caller, at_depth, was_up))
            if depth == MAX_DEPTH:
                continue
            for callee, params in self._passed_to(node):
                if graph.in_degree(callee) > MAX_CALLERS:
                    continue
                self._taint(callee, params)
                self._passed_from.setdefault(callee, {})[node] = (depth, up)
                queue.append((callee, depth + 1, False))
                if self._returns_changed(callee) and self._taint(node, {self.program.functions[callee].fn.name}):
                    queue.append((node, nearest[node], up))  # look again at what its value changes
            if up and self._hands_values_up(node):
                # its callers' sites depend on it; their values, when its own changed
                handed = {self.program.functions[node].fn.name} if self._returns_changed(node) else set()
                for caller in self._direct_callers(node):
                    self._taint(caller, handed)
                    queue.append((caller, depth + 1, True))
        return nearest

    def _direct_callers(self, node: str) -> list[str]:
        """The functions calling `node` by name. A function that calls nothing and
        stores no field or global has no incoming edges (link._Definitions.leaves):
        its callers are found by the names they call (`demo_len()` returning
        DEMO_LEN, `demo_get_len(priv, &len)` storing it through `len`)."""
        program = self.program
        if program.graph.in_degree(node) or not is_leaf(program.functions[node].fn):
            return list(dict.fromkeys(caller for caller, site in program.callers(node) if site.callee))
        name = program.functions[node].fn.name
        found = []
        for caller in sorted(self._calling({name})):
            ref = program.functions[caller]
            if any(site.callee == name and node in program.targets(site, ref.path) for site in ref.fn.calls):
                found.append(caller)
        return found

    def _passed_to(self, node: str) -> list[tuple[str, set[str] | None]]:
        """(callee, its parameters that may receive a changed value, None: all) of each
        callee the function may pass a changed value."""
        graph = self.program.graph
        dependence = self._depends(node)
        if dependence is None:
            return [(c, None) for c in graph.successors(node)]
        ref = self.program.functions[node]
        edges = graph.succ[node]
        found: dict[str, set[str]] = {}
        for site in ref.fn.calls:
            positions = dependence.passes(site)
            if not positions:
                continue
            for target in self.program.targets(site, ref.path):
                if target in edges:
                    params = [name for name, _ in self.program.functions[target].fn.params]
                    chosen = params if positions is ALL_ARGUMENTS or len(params) != len(positions) else \
                        [name for name, passed in zip(params, positions) if passed]
                    found.setdefault(target, set()).update(chosen)
        return list(found.items())

    def _hands_values_up(self, node: str) -> bool:
        """Do the function's callers' sites depend on it: does it take a gfp mask
        (whether it allocates with it decides its callers' sites), or hand them a
        changed value (_returns_changed)?"""
        return bool(self.program.functions[node].fn.flags & HAS_GFP_PARAM) or self._returns_changed(node)

    def _returns_changed(self, node: str) -> bool:
        """May the function return a changed value, or store one through a pointer
        parameter (`*len = n`: its caller's `&len` reads it): one that follows from the
        names whose values changed for it (_Dependence)?"""
        fn = self.program.functions[node].fn
        dependence = self._depends(node)
        if dependence is None:
            return bool(fn.returns or fn.pointer_returns or any(a.kind == "deref" for a in fn.assignments))
        return (any(dependence.returns(text, byte) for text, byte, _ in fn.returns)
                or any(dependence.returns(text, byte) for byte, text in fn.pointer_returns)
                or any(a.kind == "deref" and dependence.stores(a) for a in fn.assignments))

    def _check(self, nodes: set[str]) -> None:
        """Stop as soon as the cone is too large to be worth it (see FULL_SHARE)."""
        if len(nodes) > self.limit and len(nodes & self.allocating) > self.limit:
            raise _Unbounded(f"the change reaches more than {self.limit} of {len(self.allocating)} "
                             f"allocating functions")

    def _set_up_below(self, start: set[str]) -> set[str]:
        """The functions with one-time set-up within SLEEPABLE_HOPS calls below `start`
        (rule 5): whether an atomic caller skips their set-up depends on every caller
        that far up (context.reached_sleepable)."""
        functions = self.program.functions
        return {node for node in self._below(start, SLEEPABLE_HOPS) if functions[node].fn.once}

    def _below(self, start: set[str], hops: int, into_allocators: bool = True) -> set[str]:
        """`start` and the functions within `hops` calls below it. Without
        `into_allocators`, an allocator of the table and a quiet function stop the walk,
        as they stop an atomic context (context._push_callees, _atomic_callers): a lock
        taken around kmalloc() puts nothing of mm/slub.c in the cone."""
        graph = self.program.graph
        functions = self.program.functions
        stop = None if into_allocators else allocators().keys() | contexts().quiet_functions
        seen, frontier = set(start), set(start)
        for _ in range(hops):
            frontier = {c for node in frontier for c in graph.successors(node)} - seen
            if stop is not None:
                frontier = {c for c in frontier if functions[c].fn.name not in stop}
            seen |= frontier
        return seen

    def _field_readers(self, stores: dict[tuple[str, str, str], int]) -> dict[str, int] | None:
        """The functions that may read what `stores` ((struct, field, file of the store)
        -> its hops from the change) wrote, with their hops (rule 4): those naming the
        field, in every file naming the struct, or for a hub field
        (fields.Fields._cells_seen_from) in the store's module only."""
        program = self.program
        tree_wide: dict[str, dict[str, int]] = {}  # struct word -> its fields -> hops
        local: dict[str, dict[str, int]] = {}  # file -> the fields its functions may read -> hops

        def add(table: dict, where: str, fname: str, depth: int) -> None:
            fields_there = table.setdefault(where, {})
            fields_there[fname] = min(depth, fields_there.get(fname, depth))

        hubs = []
        for (struct, fname, path), depth in stores.items():
            writers = program.field_writers_of((struct, fname))
            directories = {directory_of(where) for where, _ in writers}
            root = _struct_word(struct)
            if root and (len(directories) <= HUB_DIRECTORIES or len(writers) <= HUB_JOIN_WRITERS):
                add(tree_wide, root, fname, depth)
            else:
                hubs.append((fname, path, depth, writers))
        if len(tree_wide) > MAX_STRUCTS:
            raise _Unbounded(f"the change's stores reach fields of {len(tree_wide)} structs")
        for fname, path, depth, writers in hubs:
            # A hub: a reader sees the stores of its own file, else of its module when
            # there are at most HUB_MODULE_WRITERS of them.
            in_module = sum(1 for where, _ in writers if program.same_module(where, path))
            for rel in self._module_files(path) if in_module <= HUB_MODULE_WRITERS else (path,):
                add(local, rel, fname, depth)
        if tree_wide:
            naming = self.files_naming(set(tree_wide), MAX_READER_FILES)
            if naming is None:
                return None
            if "" in naming:
                raise _Unbounded(f"the change's stores may be read in more than {MAX_READER_FILES} files")
            for word, paths in naming.items():
                for rel in paths:
                    for fname, depth in tree_wide[word].items():
                        add(local, rel, fname, depth)
        if len(local) > MAX_READER_FILES:
            raise _Unbounded(f"the change's stores may be read in {len(local)} files")
        readers: dict[str, int] = {}
        for rel, fields_there in local.items():
            for depth in sorted(set(fields_there.values())):
                read: set[str] = set()
                found = self._naming_in_file(rel, {f for f, d in fields_there.items() if d == depth}, read)
                if found is None:
                    return None
                for node in found:  # the read is one more hop
                    readers[node] = min(depth + 1, readers.get(node, depth + 1))
                    self._taint(node, read)
        return readers

    def _module_files(self, path: str) -> list[str]:
        """The scanned files linked into one module with `path` (link.Program.same_module):
        among the files of its directory and of its composites' directories (a
        composite's parts lie at or below the directory of its Makefile)."""
        found = self.modules_seen.get(path)
        if found is None:
            program = self.program
            modules = program.modules
            directories = {directory_of(path)}
            if modules is not None and path.endswith(".c"):
                directories |= {directory_of(c) for c in modules.composites.get(path[:-2], ())}
            candidates = {ff.path for d in directories for ff in self._files_under(d, d != directory_of(path))}
            found = self.modules_seen[path] = sorted(rel for rel in candidates if program.same_module(rel, path))
        return found

    def _files_under(self, directory: str, deep: bool) -> list:
        """The scanned files of `directory`, and when `deep` of its subdirectories too."""
        if not deep:
            return self.program.files_in(directory)
        if self.sorted_paths is None:
            self.sorted_paths = sorted(ff.path for ff in self.program.files)
        prefix = f"{directory}/" if directory else ""
        start = bisect.bisect_left(self.sorted_paths, prefix)
        end = bisect.bisect_left(self.sorted_paths, prefix + "\U0010ffff")
        return [self.program.file(rel) for rel in self.sorted_paths[start:end]]

    def _naming_in_file(self, rel: str, words: set[str], named: set[str] | None = None) -> set[str] | None:
        """The functions of file `rel` whose text names any of `words`, or a macro of
        the file naming one; None: its text is not at hand. `named` receives the words
        and those macros."""
        ff = self.program.file(rel)
        if ff is None or not ff.functions:
            return set()
        text = self.head_text(rel)
        if text is None:
            return None
        macros = {("define", name): text for name, text in ff.defines.items()}
        macros.update((("func_macro", name), repr(value)) for name, value in ff.func_macros.items())
        words = words | _naming(macros, words)
        if named is not None:
            named |= words
        pattern = _words_pattern(words)
        return {self.program.node_for(fn, ff.path) for fn in ff.functions
                if pattern.search(text, fn.start_byte, fn.end_byte)}


ALL_ARGUMENTS = "all"  # _Dependence.passes(): the call may pass a changed value in any argument


def _words(text: str) -> set[str]:
    return set(WORD_RE.findall(text))


def _value_words(text: str, followed: frozenset[str] = frozenset()) -> set[str]:
    """The words a value reads, but for the arguments of an allocator or of a followed
    function (funcdiff.value_read)."""
    return _words(value_read(text, followed))


class _Dependence:
    """What in one function may follow from names whose values changed for it: a
    slice over words, as coarse as the text and no finer than the evaluator.

    The changed names are those of definitions the function names, of its parameters a
    caller passes changed values in, of callees whose returned value changed, or of
    fields it reads that a change stores. A word follows from them when a statement
    computing it reads one: an assignment writes its target (and the object it stores
    through); a condition, loop bound or guard reading one narrows every word it
    compares; a call's arguments reading one may write what it is handed the address
    of (`get_len(dev, &len)`); a local whose type, array bounds or brace initializer reads one changes
    with it, and so does a parameter whose type does (`sizeof(*adapter)`). Code inside
    a branch, loop or #if whose condition reads one, or after a guard reading one, may
    now run or not.

    The evaluator reaches a value only through these (a store's value text, the
    locals' assignments and declarations, the guards and branches over them, calls'
    arguments and results, fields and definitions by name). So a store whose value
    reads no changed word, outside such code, stores what it stored before; a call
    passing no changed word, outside such code, hands its callee the same values.
    (What a call writes back is read only through an argument that takes an address,
    `&len`: evaluator.ValueAnalysis._filled_by_callees.) What a call of a followed
    function returns reads the function's name, not its arguments: the value flow
    follows the changed arguments into it and names it here when what it returns for
    them may have changed (_Cone._value_flow)."""

    def __init__(self, fn, names: set[str], macro_branches, edit: FunctionEdit | None = None,
                 followed: frozenset[str] = frozenset()):
        # the items an edit of the function changed (funcdiff): the bytes of its stores,
        # calls and returns, and of its calls the arguments
        self.changed_at = frozenset(edit.at) if edit is not None else frozenset()
        self.changed_arguments = edit.arguments if edit is not None else {}
        # called functions whose returned value is learnt by following them (_Cone._followed)
        self.followed = followed
        words = set(names)
        flows: list[tuple[set[str], set[str]]] = []  # (words read, words written)
        decisions: list[tuple[set[str], tuple[tuple[int, int], ...]]] = []  # (words read, code decided)
        for a in fn.assignments:
            flows.append((_value_words(a.value_text, followed), written_by(a)))
        for name, inits in fn.inits.items():
            flows.append((_words(" ".join(value for _, value in inits)), {name}))
        for name, type_text in (*fn.params, *fn.locals.items()):
            flows.append((_words(type_text), {name}))
        for name, dims in fn.local_arrays.items():
            flows.append((_words(repr(dims)), {name}))
        for site in fn.calls:
            written = handed_addresses(site)
            if written:
                flows.append((_words(site.args_text), written))
        for g in fn.guards:
            decisions.append((_words(g.cond_text), ((g.end_byte, g.block_end),)))
        for cond, then_start, then_end, else_start, else_end, *_ in (*fn.conditions, *fn.branches):
            decisions.append((_words(cond), ((then_start, then_end), (else_start, else_end))))
        for cond, start, end in fn.loops:
            decisions.append((_words(cond), ((start, end),)))
        flows += [(read, read) for read, _ in decisions]
        grew = True
        while grew:
            grew = False
            for read, written in flows:
                if not written <= words and not read.isdisjoint(words):
                    words |= written
                    grew = True
        self.words = words
        decided = [span for read, spans in decisions if not read.isdisjoint(words) for span in spans]
        decided += [(start, end) for start, end, cond in macro_branches if not _words(cond).isdisjoint(words)]
        self.decided = sorted((start, end) for start, end in decided if end > start)

    def _decided(self, byte: int) -> bool:
        return any(start <= byte < end for start, end in self.decided)

    def stores(self, a) -> bool:
        """May the assignment store another value than before (or now run, or not)?"""
        return (a.byte in self.changed_at or not _value_words(a.value_text, self.followed).isdisjoint(self.words)
                or self._decided(a.byte))

    def returns(self, text: str, byte: int) -> bool:
        """May a `return` of this text at this byte return another value than before
        (or now run, or not)?"""
        return (byte in self.changed_at or not _value_words(text, self.followed).isdisjoint(self.words)
                or self._decided(byte))

    def passes(self, site):
        """Which arguments of the call may carry a changed value: a list of booleans by
        position, ALL_ARGUMENTS when the call itself may now run or not, or [] if none."""
        if site.byte in self.changed_at or self._decided(site.byte):
            return ALL_ARGUMENTS
        args = split_args(site.args_text) if site.args_text.strip() else []
        changed = self.changed_arguments.get(site.byte, ())
        passed = [i in changed or not _words(arg).isdisjoint(self.words) for i, arg in enumerate(args)]
        return passed if any(passed) else []


def _setter_fields(fn, passed=ALL_ARGUMENTS) -> list[tuple[str, str]]:
    """The fields a setter stores its parameters into (fields.parameter_stores); with
    `passed` (_Dependence.passes()), those of the arguments it marks."""
    if not fn.field_writes or not fn.params:
        return []
    stored = {a.target for a, _, value in parameter_stores(fn)
              if passed is ALL_ARGUMENTS or len(passed) != len(fn.params) or passed[value]}
    return [(struct, fname) for struct, fname in fn.field_writes if fname in stored]


def _struct_word(struct: str) -> str:
    """The struct's name in a field key: `be_adapter`, or the root of an access path
    (`struct velocity_info *>rx`: velocity_info)."""
    words = [w for w in WORD_RE.findall(struct.partition(">")[0]) if w not in ("struct", "union", "const")]
    return words[0] if words else ""
