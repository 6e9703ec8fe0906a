"""Relink: a linked program brought up to date with a few changed files, instead of
linking the whole tree again (issue 17; linkstore.py keeps linked programs on disk).

A file's facts reach the link in two ways. What other files see of it, its *link
interface* (`interface()`), decides node names, how names resolve everywhere, the
forwarding macros, the struct and typedef tables and the ops bindings. The bodies
of its functions (their calls, flags, stores and calls through pointers) decide
only their own out-edges and entries in the indexes. A relink takes a change
only when every changed file keeps its interface. It then redoes what the file's
functions contribute, in the places a full link puts it, so that the program is
the one link() builds: the same nodes in the same order, the same edges in the
same adjacency order, the same indexes.

What depends on what:

- A file's interface: the names of its functions, in order, with their linkage,
  parameter count (an indirect call elsewhere takes a bound function by its arity)
  and whether each is a leaf (a leaf gets no incoming edges, so a change there
  changes its callers' edges), the last two not for a static of a `.c` file that
  none of its bindings names (only the file's own functions reach it); the line of
  a static defined twice in the file and of a global defined in several files
  (their nodes are named by line); whether a header's function is defined under
  a CONFIG_ conditional (a config stub: see link._resolve_direct); its function-like macros (name resolution and
  forwarding chains in every file), its structs' and members' names and its
  members' types, its typedefs (receiver types; an anonymous struct's offset aside,
  see unnamed()), its ops bindings without their lines, and its includes (the
  headers a forwarding chain looks through), and the names it exports (whether a
  call elsewhere under a macro of the name may reach its global: link.Resolver). A `.c` file may gain or lose a static
  function whose name it does not define twice: only the file's own functions and
  bindings name it, and both are redone.
- What is redone for a changed file: its entry in the file list and the file
  indexes; its functions' definitions (`functions`, which the resolver reads too,
  `leaves`, `by_name`); the forwarding of its calls through macros
  (macrocalls.forward_file_calls) and its calls that register, bind or arm a
  callback (`registrar_calls`); its functions' out-edges, direct and through
  pointers (`indirect_targets`), each caller kept in file order in its callees'
  predecessor lists; the flag indexes; its field writers; its bindings' lines (and
  those of the context tables' fields, `context_bindings`); the macros defined
  somewhere (`macros_defined`) when the file's #defines or #if tests changed; its
  structs' entries (the struct and typedef tables whole when an anonymous struct's
  name moved).
- What is dropped: every table the program fills lazily when asked (`_LAZY`).
- A relink is refused, and the caller links in full, when a file is added or
  removed, when a changed file was or is rejected, or when a changed file's
  interface changed (`relink()` says why).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import fields

from .facts import IN_CONFIG_BRANCH, FileFacts
from .incremental import ANON_RE
from .link import (_NO_ATTRIBUTES, MEMOS, MEMOS_OF_BINDINGS, NO_CALLS, CallGraph, FunctionRef, Program, UniformTargets,
                   _add_writers, _clear_cache, _tables, field_writers, file_call_edges, forget_memos, is_leaf,
                   reindex_context_facts)
from .macrocalls import forward_file_calls

# Program fields filled lazily, on first use: emptied by a relink (a value may hold
# an old file's facts or depend on its defines)
_LAZY = tuple(name for name in MEMOS if name not in MEMOS_OF_BINDINGS)
# Program fields a relink keeps as they are or updates in place (see the docstring)
_KEPT = {"files", "graph", "functions", "by_name", "bindings", "structs", "typedefs", "macro_names",
         "_field_index", "_typed_index", "resolver", "indirect_targets", "static_variants", "field_writers",
         "command_line_defines", "modules", "nodes_flagged", "flagged_in_files", "leaves", "forwarding",
         "registrar_calls", "context_bindings", "macros_defined", "build_key"}


def interface(ff: FileFacts, globals_by_name: dict[str, list[str]] | None = None) -> tuple:
    """What of `ff` other files' part of the link depends on (the module docstring).
    `globals_by_name` (the resolver's) tells which globals several files define, whose
    nodes are named by line; without it, no global's line counts."""
    twice = {name for name, n in Counter(fn.name for fn in ff.functions if fn.is_static).items() if n > 1}
    bound = {b.function for b in ff.bindings}
    private = not ff.path.endswith(".h")
    signature = []
    for fn in ff.functions:
        named_by_line = fn.name in twice if fn.is_static else \
            globals_by_name is not None and len(globals_by_name.get(fn.name, ())) > 1
        line = fn.line if named_by_line else None
        if fn.is_static and private and fn.name not in bound:
            # only the file's own functions call it, and their edges are made again
            signature.append((fn.name, True, None, None, line))
        else:
            # (a header's inline under a CONFIG_ conditional does not shadow another
            # directory's global of its name: link._resolve_direct)
            signature.append((fn.name, fn.is_static, len(fn.params), is_leaf(fn), line,
                              bool(fn.flags & IN_CONFIG_BRANCH)))
    return (signature, ff.func_macros, _struct_names(ff, unnamed), {a: unnamed(t) for a, t in ff.typedefs.items()},
            [(b.struct_type, b.field, b.function) for b in ff.bindings], ff.includes, ff.exports)


def unnamed(text: str) -> str:
    """`text` with no anonymous struct's offset: `be_adapter::anon@16844` is named by
    its place in the file, which any edit above it moves."""
    return ANON_RE.sub("anon@", text) if "anon@" in text else text


def _struct_names(ff: FileFacts, name=lambda text: text) -> list:
    """What link reads of a file's structs: their names, and their members' names and
    types (an access path's receiver type, Program.receiver_struct)."""
    return [(name(sd.name), tuple((m.name, name(m.type_text)) for m in sd.members)) for sd in ff.structs]


def relink(program: Program, changed: list[FileFacts]) -> str | None:
    """Bring `program` up to date with `changed`, new facts of files it holds. None when
    done; else why not (the program is then left as it was, and must be linked again)."""
    by_path = {ff.path: ff for ff in program.files}
    for new in changed:
        old = by_path.get(new.path)
        if old is None:
            return f"{new.path}: a file the linked program does not hold"
        reason = refusal(old, new, program.resolver.globals_by_name)
        if reason:
            return f"{new.path}: {reason}"
    position = {ff.path: i for i, ff in enumerate(program.files)}
    for new in changed:
        _relink_file(program, by_path[new.path], new, position)
    program.graph.compact_changed()
    forget_memos(program, _LAZY)
    _clear_cache(program.graph)
    return None


def refusal(old: FileFacts, new: FileFacts, globals_by_name: dict[str, list[str]] | None = None) -> str:
    """Why a relink cannot take `new` in place of `old` ("" when it can); without
    `globals_by_name`, what can be told before the program is at hand."""
    before, after = interface(old, globals_by_name), interface(new, globals_by_name)
    if before[1:] != after[1:]:
        return "its macros, structs, typedefs, bindings or includes changed"
    if before[0] == after[0]:
        return ""
    if new.path.endswith(".h"):
        return "its functions changed"
    names_before = [s[0] for s in before[0] if s[1]]
    names_after = [s[0] for s in after[0] if s[1]]
    gone = set(names_before) - set(names_after)
    added = set(names_after) - set(names_before)
    if any(names_before.count(n) > 1 for n in gone) or any(names_after.count(n) > 1 for n in added):
        return "a static function it defines twice changed"
    if any(b.function in gone | added for b in new.bindings):
        return "a static function it binds was added or removed"
    kept_before = [s for s in before[0] if not (s[1] and s[0] in gone)]
    kept_after = [s for s in after[0] if not (s[1] and s[0] in added)]
    return "" if kept_before == kept_after else "its functions changed"


def _relink_file(program: Program, old: FileFacts, new: FileFacts, position: dict[str, int]) -> None:
    resolver = program.resolver
    path = new.path
    program.files[position[path]] = new
    old_nodes = [program.node_for(fn, path) for fn in old.functions]
    new_nodes = _node_names(path, old, old_nodes, new)
    added = [n for n in new_nodes if n not in program.functions]
    gone = set(old_nodes) - set(new_nodes)
    for node, fn in zip(new_nodes, new.functions):
        program.functions[node] = FunctionRef(new, fn, node)
        program.leaves.discard(node)
        if is_leaf(fn):
            program.leaves.add(node)
    for node in gone:
        program.leaves.discard(node)
    if added or gone:
        _restatic(program, path, new, new_nodes, added, gone)
    forward_file_calls(program, resolver, new)  # before the flags are indexed: it may add some
    reindex_context_facts(program, new)
    if old.macro_hashes != new.macro_hashes or _macro_tests(old) != _macro_tests(new):
        program.macros_defined = None  # what the file defines or tests changed
    _redo_edges(program, new, old_nodes, new_nodes, gone, position)
    _reindex(program, old, new, new_nodes, position)
    _rebind(program, new, path)
    if _struct_names(old) != _struct_names(new) or old.typedefs != new.typedefs:
        _tables(program)  # an anonymous struct moved in the file: its name did
        return
    for name in {sd.name for sd in old.structs}:
        mine = iter([sd for sd in new.structs if sd.name == name])
        program.structs[name] = [(p, next(mine)) if p == path else (p, sd) for p, sd in program.structs[name]]


def _macro_tests(ff: FileFacts) -> list[str]:
    """The conditions of the file's #if branches a macro decides (without their places)."""
    return [cond for _, _, cond in ff.macro_branches]


def _node_names(path: str, old: FileFacts, old_nodes: list[str], new: FileFacts) -> list[str]:
    """The nodes link._define() names the new file's functions: the n-th definition of
    a name (and linkage) has the node of the n-th one of the old file. The interface is
    unchanged, so a name the file defines twice (a static under two #ifdef branches:
    `demo_stats@254`, named by its line) keeps its definitions and their lines."""
    before: dict[tuple[str, bool], list[str]] = {}
    for ofn, node in zip(old.functions, old_nodes):
        before.setdefault((ofn.name, ofn.is_static), []).append(node)
    seen: dict[tuple[str, bool], int] = {}
    names = []
    for fn in new.functions:
        key = (fn.name, fn.is_static)
        n = seen[key] = seen.get(key, -1) + 1
        known = before.get(key, [])
        # else a static the file did not define before (relink() allows no other)
        names.append(known[n] if n < len(known) else f"{path}::{fn.name}")
    return names


def _restatic(program: Program, path: str, new: FileFacts, new_nodes: list[str], added: list[str],
              gone: set[str]) -> None:
    """A static function added or removed: the definition order of `functions` (statics
    file by file, then the globals: functions_with() lists nodes in it; the resolver
    reads it too), `by_name`, the graph's nodes (no analysis walks those in order)."""
    functions, graph = program.functions, program.graph
    mine = [n for n, fn in zip(new_nodes, new.functions) if fn.is_static]
    dropped = gone | set(mine)
    others = [n for n in functions if n not in dropped]
    at = bisect.bisect_left(others, (False, path),
                            key=lambda n: (not functions[n].fn.is_static, functions[n].file.path))
    refs = [(n, functions[n]) for n in (*others[:at], *mine, *others[at:])]
    gone_refs = {node: functions[node] for node in gone}
    functions.clear()  # in place: the resolver reads the same dict
    functions.update(refs)
    for node in gone:
        name = gone_refs[node].fn.name
        remaining = tuple(n for n in program.by_name[name] if n != node)
        if remaining:
            program.by_name[name] = remaining
        else:
            del program.by_name[name]
        for target in graph._succ.pop(node):
            del graph.calls_to_change(graph._pred, target)[node]
        for caller in graph._pred.pop(node):
            del graph.calls_to_change(graph._succ, caller)[node]
    for node in added:
        name = functions[node].fn.name
        # by_name lists definitions in order: statics by file, then the globals
        nodes = program.by_name.get(name, ())
        later = next((i for i, n in enumerate(nodes) if not functions[n].fn.is_static or functions[n].file.path > path),
                     len(nodes))
        program.by_name[name] = (*nodes[:later], node, *nodes[later:])
        graph._succ[node], graph._pred[node] = NO_CALLS, NO_CALLS  # (the graph's _node reads _succ)


def _redo_edges(program: Program, new: FileFacts, old_nodes: list[str], new_nodes: list[str], gone: set[str],
                position: dict[str, int]) -> None:
    """The out-edges of the file's functions, as link's _call_edges() makes them; a
    caller new to a callee goes where link() adds it: callers in file order."""
    graph, resolver = program.graph, program.resolver
    path = new.path
    program.indirect_targets = {k: v for k, v in program.indirect_targets.items() if k[0] != path}
    found: dict[str, dict[str, None]] = {node: {} for node in new_nodes}
    for caller, target in file_call_edges(program, resolver, new, program.leaves,
                                          UniformTargets(resolver, program.leaves), {}):
        found[caller][target] = None
    rank_memo: dict[int, dict[int, int]] = {}

    def rank(node: str) -> tuple[int, int]:
        ref = program.functions[node]
        index = rank_memo.get(id(ref.file))
        if index is None:
            index = rank_memo[id(ref.file)] = {id(fn): i for i, fn in enumerate(ref.file.functions)}
        return position[ref.file.path], index[id(ref.fn)]

    for caller in set(old_nodes) - gone:
        for target in list(graph._succ[caller]):
            if target not in found.get(caller, ()):
                del graph.calls_to_change(graph._pred, target)[caller]
    for caller, targets in found.items():
        before = graph._succ[caller]
        for target in targets:
            if target not in before:
                _insert_caller(graph, target, caller, rank)
        graph.set_calls(graph._succ, caller, targets)


def _insert_caller(graph: CallGraph, target: str, caller: str, rank) -> None:
    """Add `caller` to `target`'s predecessors where link() puts it: in file order."""
    callers = graph._pred[target]
    mine = rank(caller)
    if not callers or rank(next(reversed(callers))) < mine:
        graph.calls_to_change(graph._pred, target)[caller] = _NO_ATTRIBUTES
        return
    ordered = list(callers)
    at = bisect.bisect_left(ordered, mine, key=rank)
    ordered.insert(at, caller)
    graph.set_calls(graph._pred, target, ordered)


def _reindex(program: Program, old: FileFacts, new: FileFacts, new_nodes: list[str],
             position: dict[str, int]) -> None:
    """The flag indexes and the field writers, with the file's functions in their place."""
    mine = set(new_nodes)
    # the definition order of the nodes the indexes hold (not of all 600,000)
    indexed = mine.union(*program.nodes_flagged.values())
    order = {node: i for i, node in enumerate(program.functions) if node in indexed}
    old_ids = {id(fn) for fn in old.functions}
    for mask, nodes in program.nodes_flagged.items():
        kept = [n for n in nodes if n not in mine and n in order]
        kept.extend(n for n, fn in zip(new_nodes, new.functions) if fn.flags & mask)
        program.nodes_flagged[mask] = sorted(kept, key=order.__getitem__)
    for mask, pairs in program.flagged_in_files.items():
        kept = [(ff, fn) for ff, fn in pairs if id(fn) not in old_ids]
        at = bisect.bisect_left(kept, position[new.path], key=lambda pair: position[pair[0].path])
        kept[at:at] = [(new, fn) for fn in new.functions if fn.flags & mask]
        program.flagged_in_files[mask] = kept
    _rewrite_field_writers(program, old, new, position)


def _rewrite_field_writers(program: Program, old: FileFacts, new: FileFacts, position: dict[str, int]) -> None:
    """`field_writers` with the new file's stores in file order; when a field gains its
    first writer or loses its last, in the key order link() gives (the first store)."""
    mine: dict[tuple[str, str], list] = {}
    _add_writers(mine, new)
    keys = set(old.init_writes).union(*(fn.field_writes for fn in old.functions)) | mine.keys()
    writers = program.field_writers
    for key in keys:
        kept = [w for w in writers.get(key, ()) if w[0] != new.path]
        at = bisect.bisect_left(kept, position[new.path], key=lambda w: position[w[0]])
        kept[at:at] = mine.get(key, ())
        if kept and key in writers:
            writers[key] = tuple(kept)
        else:  # a key appears or goes: its place in the table is its first writer's
            program.field_writers = field_writers(program.files)
            return


def _rebind(program: Program, new: FileFacts, path: str) -> None:
    """The file's bindings with their new lines (the interface kept the rest)."""
    lines = {}
    for b in new.bindings:
        lines.setdefault(b.field, []).append(b.line)
    for field_name, new_lines in lines.items():
        left = iter(new_lines)
        program.bindings[field_name] = [(s, n, p, next(left)) if p == path else (s, n, p, line)
                                        for s, n, p, line in program.bindings[field_name]]


def lazy_and_kept() -> tuple[set[str], set[str]]:
    """The Program fields a relink empties and those it keeps (tests check that every
    field is one or the other)."""
    return set(_LAZY), set(_KEPT)


def program_fields() -> set[str]:
    return {f.name for f in fields(Program)}
