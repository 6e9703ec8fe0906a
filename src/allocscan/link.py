"""Link: all files' facts -> one program: a networkx call graph and lookup tables.

Nodes are functions: `path::name` for static functions (scoped to their
file), `name` for global ones; a global name defined more than once (one per
architecture or config) gets one node per definition, `name@path`, and calls
to it keep every candidate with `ambiguous=True` rather than picking one.
Edges are direct calls carrying their call sites, and indirect calls resolved
through ops-struct bindings (`.ndo_start_xmit = foo_xmit`, `urb->complete = f`):
by struct type when the receiver's type is known, by field name only when the
candidates are few and bound in the caller's own file.
"""

from __future__ import annotations

import bisect
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from .exprs import split_args
from .facts import HAS_INDIRECT_CALL, CallSite, FileFacts, FunctionFacts

MAX_FIELD_CANDIDATES = 4
_KEYWORDS = frozenset({"while", "for", "if", "switch", "return", "sizeof", "do", "case", "else"})


@dataclass
class FunctionRef:
    file: FileFacts
    fn: FunctionFacts

    @property
    def path(self) -> str:
        return self.file.path


@dataclass
class Program:
    files: list[FileFacts]
    graph: nx.DiGraph
    functions: dict[str, FunctionRef]  # node id -> definition
    by_name: dict[str, list[str]]  # function name -> node ids
    node_of: dict[int, str]  # id(FunctionFacts) -> node id
    bindings: dict[str, list[tuple[str, str, str, int]]]  # field -> [(struct, function node, path, line)]
    structs: dict[str, list[tuple[str, object]]] = field(default_factory=dict)  # name -> [(path, StructDef)]
    typedefs: dict[str, str] = field(default_factory=dict)
    macro_names: set[str] = field(default_factory=set)  # ALL_CAPS function-like macros anywhere
    _by_path: dict[str, FileFacts] = field(default_factory=dict)
    _by_dir: dict[str, list[FileFacts]] = field(default_factory=dict)
    _shared: dict[str, dict] = field(default_factory=dict)  # table -> name -> (path, value)
    _subtrees: dict[tuple[str, str], dict] = field(default_factory=dict)  # (table, top dir) -> name -> (path, value)
    _dirs_sorted: list[str] = field(default_factory=list)  # the keys of _by_dir, sorted
    _lookup_memo: dict[tuple[str, str, str], object] = field(default_factory=dict)  # (table, name, dir) -> found
    _field_index: dict[str, tuple] = field(default_factory=dict)  # field -> (by struct, by directory)
    direct_targets: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # path -> callee name -> nodes
    indirect_targets: dict[int, list[str]] = field(default_factory=dict)  # id(CallSite) -> nodes
    # (path, name) -> [(line, node)] for a static defined more than once in a file (#ifdef branches)
    static_variants: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    allocating_gfp: set = field(default_factory=set)  # (node, param index) whose gfp_t reaches an allocator

    def targets(self, site: CallSite, path: str) -> list[str]:
        """The function nodes a call site in file `path` may reach (empty when none is in the scan)."""
        if site.callee:
            variants = self.static_variants.get((path, site.callee))
            if variants:
                return [_nearest_preceding(variants, site.line)]
            return self.direct_targets.get(path, {}).get(site.callee, [])
        return self.indirect_targets.get(id(site), [])

    def callers(self, node: str):
        """(caller node, call site) pairs of direct and resolved calls to `node`.

        Edges do not store their call sites: the sites are found in the caller
        when asked, for the few functions an analysis walks up from. A function
        that calls nothing and stores nothing outside itself has no incoming
        edges (see link()): no analysis walks up from it."""
        name = self.functions[node].fn.name
        for pred in self.graph.predecessors(node):
            ref = self.functions[pred]
            for site in ref.fn.calls:
                if site.callee and site.callee != name:
                    continue  # a direct call names what it calls
                if node in self.targets(site, ref.file.path):
                    yield pred, site

    def node_for(self, fn: FunctionFacts) -> str:
        return self.node_of[id(fn)]

    def file(self, path: str) -> FileFacts | None:
        if not self._by_path:
            self._by_path = {ff.path: ff for ff in self.files}
        return self._by_path.get(path)

    def _in_subtree(self, table: str, name: str, path: str):
        """A definition elsewhere in the caller's driver (iwlwifi/mvm/x.c sees
        iwlwifi/fw/api/y.h): the grandparent directory's whole tree, when it is a
        driver-sized tree and the name has one value there."""
        top = posixpath.dirname(posixpath.dirname(path))
        if top.count("/") < 2:
            return None  # drivers/net, fs/ext4: too broad to be one driver
        key = (table, top)
        index = self._subtrees.get(key)
        if index is None:
            index = self._subtrees[key] = _subtree_index(self, table, top)
        found = index.get(name)
        return None if found is None or found is _AMBIGUOUS else found

    def lookup(self, table: str, name: str, path: str):
        """(path, value) of the nearest definition of `name` in a per-file table
        ("defines", "func_macros", "enums"): the same file, the same directory,
        up to two parent directories, then the shared headers; None if none."""
        ff = self.file(path)
        if ff is not None and name in getattr(ff, table):
            return path, getattr(ff, table)[name]
        key = (table, name, posixpath.dirname(path))
        if key in self._lookup_memo:
            return self._lookup_memo[key]
        found = self._lookup_outside(table, name, path)
        self._lookup_memo[key] = found
        return found

    def _lookup_outside(self, table: str, name: str, path: str):
        """lookup() past the file itself: it depends on the file's directory only."""
        if not self._by_dir:
            by_dir = defaultdict(list)
            for f in self.files:
                by_dir[posixpath.dirname(f.path)].append(f)
            self._by_dir = dict(by_dir)
        here = posixpath.dirname(path)
        for _ in range(3):
            for f in self._by_dir.get(here, ()):
                if name in getattr(f, table):
                    return f.path, getattr(f, table)[name]
            if not here:
                break
            here = posixpath.dirname(here)
        found = self._in_subtree(table, name, path)
        if found is not None:
            return found
        shared = self._shared.get(table)
        if shared is None:
            shared = {}
            small = len(self.files) < 2000  # loose files and small trees: every header is shared
            for f in self.files:
                if _is_shared_header(f.path) or (small and f.path.endswith(".h")):
                    for key, value in getattr(f, table).items():
                        shared.setdefault(key, (f.path, value))
            self._shared[table] = shared
        return shared.get(name)


SUBTREE_FILES = 400  # a driver's tree: searched whole for a name its own directories lack
_AMBIGUOUS = ("", None)  # a name with different values in one subtree


def _subtree_index(program: "Program", table: str, top: str) -> dict:
    index: dict = {}
    if not program._dirs_sorted:
        program._dirs_sorted = sorted(program._by_dir)
    dirs = program._dirs_sorted
    # every directory under `top`: those sorting from "top/" up to "top0" ('0' follows '/')
    below = dirs[bisect.bisect_left(dirs, top + "/"):bisect.bisect_left(dirs, top + "0")]
    files = list(program._by_dir.get(top, ())) + [f for d in below for f in program._by_dir[d]]
    if len(files) > SUBTREE_FILES:
        return index
    for f in files:
        for key, value in getattr(f, table).items():
            seen = index.get(key)
            if seen is None:
                index[key] = (f.path, value)
            elif seen is not _AMBIGUOUS and seen[1] != value:
                index[key] = _AMBIGUOUS
    return index



def link(files: list[FileFacts]) -> Program:
    graph = nx.DiGraph()
    functions: dict[str, FunctionRef] = {}
    by_name: dict[str, list[str]] = defaultdict(list)
    node_of: dict[int, str] = {}
    static_in_file: dict[tuple[str, str], str] = {}
    static_variants: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    header_statics: dict[str, list[str]] = defaultdict(list)
    global_defs: dict[str, list[tuple[FileFacts, FunctionFacts]]] = defaultdict(list)

    for ff in files:
        for fn in ff.functions:
            if fn.is_static:
                node = f"{ff.path}::{fn.name}"
                if node in functions:
                    node = f"{node}@{fn.line}"  # same static defined under two #ifdef branches
                static_in_file.setdefault((ff.path, fn.name), node)
                static_variants[(ff.path, fn.name)].append((fn.line, node))
                if ff.path.endswith(".h"):
                    header_statics[fn.name].append(node)
                _add(graph, functions, by_name, node_of, node, ff, fn)
            else:
                global_defs[fn.name].append((ff, fn))
    for name, defs in global_defs.items():
        for ff, fn in defs:
            node = name if len(defs) == 1 else f"{name}@{ff.path}:{fn.line}"
            _add(graph, functions, by_name, node_of, node, ff, fn)

    graph.add_nodes_from(functions)
    locations = {node: ref.file.path for node, ref in functions.items()}
    globals_by_name = {name: [n for n in nodes if "::" not in n] for name, nodes in by_name.items()}
    # Most names resolve the same from every file: one generic definition and no
    # header inline competing with it, or (for code built for the target) only
    # inlines from headers. Resolved once here, not per calling file.
    uniform = {name: nodes for name, nodes in globals_by_name.items()
               if len(nodes) == 1 and name not in header_statics and not locations[nodes[0]].startswith("arch/")}
    header_only = {name: [n for n in nodes if _links_with(None, locations[n])][:1]
                   for name, nodes in header_statics.items() if not globals_by_name.get(name)}
    # Edges into functions that call nothing and store nothing outside themselves
    # are not kept: no context flows on from them, and no value analysis asks for
    # their callers (see Program.callers). Most are one-line accessors.
    leaves = {node for node, ref in functions.items()
              if ref.fn.call_count == 0 and not ref.fn.field_writes and not ref.fn.global_writes}
    program = Program(files=files, graph=graph, functions=functions, by_name=dict(by_name),
                      node_of=node_of, bindings=defaultdict(list),
                      static_variants={k: v for k, v in static_variants.items() if len(v) > 1})
    _tables(program)
    _bindings(program, static_in_file)

    # Call resolution is by name, once per (file, callee name); edges carry only
    # how they were resolved ("indirect" through a function pointer, "ambiguous"
    # among several definitions); the sites stay in the functions' facts.
    # A dict, not a set: its insertion order (files sorted, calls in source order)
    # makes the graph's adjacency order, and so every walk over callers, the same
    # from run to run whatever the string hash seed.
    edges: dict[tuple[str, str], None] = {}
    uncertain: dict[tuple[str, str], dict] = {}
    macro_names = program.macro_names  # ALL_CAPS function-like macros: expanded, not called
    for ff in files:
        path = ff.path
        resolved = program.direct_targets[path] = {}
        followed: dict[str, list[str]] = {}  # name -> targets that get an edge (not leaves)
        built_for_target = _arch_of(path) in (None, TARGET_ARCH)
        for fn in ff.functions:
            caller = node_of[id(fn)]
            for name in fn.callees:
                kept = followed.get(name)
                if kept is None:
                    variants = program.static_variants.get((path, name))
                    if variants:  # the definition under the same #ifdef branch: the nearest before the caller
                        edges[(caller, _nearest_preceding(variants, fn.line))] = None
                        continue
                    if name in ff.func_macros or name in macro_names or name in _KEYWORDS:
                        targets = []  # a macro invocation: it expands in place, it calls no function
                    elif (path, name) in static_in_file:
                        targets = [static_in_file[(path, name)]]
                    elif name in uniform:
                        targets = uniform[name]
                    elif built_for_target and name in header_only:
                        targets = header_only[name]
                    elif name not in globals_by_name and name not in header_statics:
                        targets = []  # defined nowhere in the scan
                    else:
                        targets = _resolve_direct(name, path, static_in_file, globals_by_name,
                                                  header_statics, locations)
                    if targets:
                        resolved[name] = targets
                    kept = followed[name] = [t for t in targets if t not in leaves]
                if not kept:
                    continue
                if len(kept) == 1:
                    edges[(caller, kept[0])] = None
                    continue
                for t in kept:
                    uncertain[(caller, t)] = {"ambiguous": True}
                    edges[(caller, t)] = None
            if not fn.flags & HAS_INDIRECT_CALL:
                continue
            for site in fn.calls:
                if not site.callee and site.field:
                    targets = _resolve_field(program, site, path, caller)
                    if targets:
                        program.indirect_targets[id(site)] = targets
                        for t in targets:
                            if t not in leaves and (caller, t) not in edges:
                                edges[(caller, t)] = None
                                uncertain[(caller, t)] = {"indirect": True, "ambiguous": len(targets) > 1}
    graph.add_edges_from(edges)
    for (u, v), data in uncertain.items():
        graph.edges[u, v].update(data)
    return program


def _add(graph, functions, by_name, node_of, node, ff, fn) -> None:
    functions[node] = FunctionRef(ff, fn)
    by_name[fn.name].append(node)
    node_of[id(fn)] = node


def _resolve_direct(name, path, static_in_file, globals_by_name, header_statics, locations) -> list[str]:
    local = static_in_file.get((path, name))
    if local is not None:
        return [local]
    arch = _arch_of(path)
    candidates = globals_by_name.get(name, ())
    # Inlines of shared headers (include/) are config stubs of the global definition;
    # those of a driver's own headers (rtw88/hci.h) compete with same-named globals.
    statics = [n for n in header_statics.get(name, ()) if _links_with(arch, locations[n])]
    if statics and candidates and all(locations[n].startswith(SANITIZER_RUNTIMES) for n in candidates):
        # kmsan_ioremap_page_range() of mm/kmsan/ exists only in CONFIG_KMSAN builds;
        # every other kernel links include/linux/kmsan.h's empty inline.
        return statics[:1]
    private = [n for n in statics if not _is_shared_header(locations[n])]
    if len(candidates) == 1 and not private and not locations[candidates[0]].startswith("arch/"):
        if statics and _another_drivers(locations[candidates[0]], path):
            # ath9k's ieee80211_rx() is mac80211's inline, not the global a staging
            # driver defines under the same name: another driver's global is not linked in.
            return statics[:1]
        return list(candidates)  # the common case: one generic definition
    candidates = [n for n in candidates if _links_with(arch, locations[n])]
    if candidates and private:
        # rtw88's pci.c calls the rtw_read32() inline of rtw88's own header, not
        # the global one a staging driver defines: the nearer definition wins.
        nearest = _nearest_definitions(candidates + private, path, locations)
        if all(n in private for n in nearest):
            return nearest[:1]
    if len(candidates) > 1:
        candidates = _nearest_definitions(candidates, path, locations)
    if candidates:
        return candidates
    return statics[:1]  # a static inline from a header


def _nearest_preceding(variants: list[tuple[int, str]], line: int) -> str:
    """The last definition above `line` (C defines before use), else the first one."""
    best = variants[0][1]
    for def_line, node in sorted(variants):
        if def_line <= line:
            best = node
    return best


def _another_drivers(defined_in: str, caller: str) -> bool:
    """Is `defined_in` inside another driver than `caller` (they share at most `drivers/`)?"""
    if not defined_in.startswith(("drivers/", "sound/")):
        return False
    a, b = defined_in.split("/"), caller.split("/")
    return not (len(a) > 2 and len(b) > 2 and a[:2] == b[:2])


def _nearest_definitions(candidates: list[str], path: str, locations: dict[str, str]) -> list[str]:
    """Of several global definitions of one name, those closest to the caller in the tree.

    enic and fnic each define vnic_dev_notify_set(); they are separate modules, and
    enic_main.c calls enic's. A strictly closer group wins; a tie keeps them all."""
    here = path.split("/")[:-1]

    def shared(node: str) -> int:
        there = locations[node].split("/")[:-1]
        n = 0
        while n < min(len(here), len(there)) and here[n] == there[n]:
            n += 1
        return n

    depth = {n: shared(n) for n in candidates}
    best = max(depth.values())
    closest = [n for n in candidates if depth[n] == best]
    return closest if best > min(depth.values()) else candidates


# Runtimes of debugging sanitizers: built only into kernels configured to debug
# with them; a production build links the header's stub instead.
SANITIZER_RUNTIMES = ("mm/kmsan/", "mm/kasan/", "kernel/kcsan/")

TARGET_ARCH = "x86"  # the layout and constants are x86_64's (LP64)


def _arch_of(path: str) -> str | None:
    """`arch/powerpc/mm/ioremap.c` -> "powerpc"; None outside arch/."""
    if path.startswith("arch/"):
        parts = path.split("/", 2)
        return parts[1] if len(parts) > 2 else None
    return None


def _links_with(caller_arch: str | None, callee_path: str) -> bool:
    """Can a caller built for `caller_arch` (None: generic code) link to a definition in
    `callee_path`? One kernel image holds generic code and one architecture: powerpc
    code never calls hexagon's ioremap(), and generic code sees the target's."""
    callee_arch = _arch_of(callee_path)
    return callee_arch is None or callee_arch == (caller_arch or TARGET_ARCH)


def _tables(program: Program) -> None:
    structs = defaultdict(list)
    for ff in program.files:
        for sd in ff.structs:
            structs[sd.name].append((ff.path, sd))
        for alias, target in ff.typedefs.items():
            program.typedefs.setdefault(alias, target)
    program.structs = dict(structs)
    program.macro_names = {name for ff in program.files for name in ff.func_macros if name.isupper()}


def _is_shared_header(path: str) -> bool:
    """Headers whose definitions any file may use: include/, arch/x86/include/ (x86_64 is the target)."""
    return path.startswith(("include/", "arch/x86/include/"))


def _bindings(program: Program, static_in_file) -> None:
    for ff in program.files:
        for b in ff.bindings:
            node = static_in_file.get((ff.path, b.function))
            if node is None:
                candidates = [n for n in program.by_name.get(b.function, ()) if "::" not in n]
                if len(candidates) != 1:
                    continue
                node = candidates[0]
            program.bindings[b.field].append((b.struct_type, node, ff.path, b.line))


def _resolve_field(program: Program, site: CallSite, path: str, caller: str) -> list[str]:
    """Targets of `x->field(...)`, narrowly: by struct type, else by field name nearby;
    a function whose parameter count differs from the call's arguments is not one, nor
    is the caller itself: cxl_pci_slot_reset() calling `err_handler->slot_reset()` hands
    the event to the AFU drivers' handlers, not back to itself."""
    arity = len(split_args(site.args_text)) if site.args_text.strip() else 0
    return [t for t in _field_candidates(program, site, path)
            if t != caller and _accepts(program.functions[t].fn, arity)]


def _accepts(fn: FunctionFacts, arity: int) -> bool:
    # Extraction keeps no `...`: a variadic callback counts its named parameters only.
    return len(fn.params) == arity


def _field_candidates(program: Program, site: CallSite, path: str) -> list[str]:
    index = program._field_index.get(site.field)
    if index is None:
        bound = program.bindings.get(site.field)
        if not bound:
            return []
        by_struct: dict[str, set[str]] = defaultdict(set)
        by_file: dict[str, set[str]] = defaultdict(set)
        for struct, node, bpath, _ in bound:
            by_struct[struct].add(node)
            by_file[bpath].add(node)
        index = program._field_index[site.field] = (by_struct, by_file)
    by_struct, by_file = index
    if site.receiver_type:
        typed = by_struct.get(site.receiver_type)
        if typed:
            # flexcop-pci's `fc->read_ibi_reg()` is flexcop-pci's, not flexcop-usb's
            locations = {n: program.functions[n].path for n in typed}
            typed = _nearest_definitions(sorted(typed), path, locations) if len(typed) > 1 else sorted(typed)
            return typed if len(typed) <= MAX_FIELD_CANDIDATES else []
    # By field name alone only within the caller's own file, and only for a name
    # that one struct type binds tree-wide: a midlayer calling `hostt->scan_start()`
    # would otherwise reach every driver's method, and `vcc->send()` in a file that
    # also fills an atmdev_ops `.send` is not that function.
    if len([s for s in by_struct if s]) > 1:
        return []
    nearby = by_file.get(path)
    if nearby and len(nearby) <= MAX_FIELD_CANDIDATES:
        return sorted(nearby)
    return []
