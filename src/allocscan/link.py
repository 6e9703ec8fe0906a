"""Link: all files' facts -> one program: a networkx call graph and lookup tables.

Nodes are functions: `path::name` for static functions (scoped to their
file), `name` for global ones; a global name defined more than once (one per
architecture or config) gets one node per definition, `name@path`, and calls
to it keep an edge to every candidate rather than picking one.
Edges are direct calls, and indirect calls resolved through ops-struct bindings
(`.ndo_start_xmit = foo_xmit`, `urb->complete = f`): by struct type when the
receiver's type is known, by field name only when the candidates are few and
bound in the caller's own file. Neither nodes nor edges carry attributes (see
CallGraph): how a call resolved is asked of `Program.targets()` at its site.
"""

from __future__ import annotations

import bisect
import posixpath
import re
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import NamedTuple

import networkx as nx

from .facts import (RECEIVER_MARK, CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_ARGUMENT, HAS_GFP_PARAM, HAS_INDIRECT_CALL,
                    HAS_LOCKED_CALL, IN_CONFIG_BRANCH, CallSite, FileFacts, FunctionFacts, _unpacked)
from .extract.kconfig import reserved_macro
from .kernel.tables import contexts
from .macrocalls import forward_macro_calls

# posixpath.dirname, memoised: the link and the analyses ask for the directories of the
# same 50,000 files over a million times (the cache is one entry per file and directory)
directory_of = lru_cache(maxsize=None)(posixpath.dirname)


def same_driver(a: str, b: str) -> bool:
    """Do two files belong to one driver: the same directory, or one directly inside the other
    (drivers/usb/gadget and drivers/usb/gadget/function). Siblings such as two vendors under
    drivers/net/ethernet are different drivers; so are net/core and net/ethtool."""
    da, db = directory_of(a), directory_of(b)
    if da == db:
        return True
    outer, inner = (da, db) if len(da) < len(db) else (db, da)
    return outer.count("/") >= 2 and inner.startswith(outer + "/") and inner.count("/") == outer.count("/") + 1


MAX_FIELD_CANDIDATES = 4
_KEYWORDS = frozenset({"while", "for", "if", "switch", "return", "sizeof", "do", "case", "else"})


class _NoAttributes(dict):
    """The one attribute dict every node and every edge of a CallGraph shares: empty,
    and refusing any attribute (networkx's add_*_from update it with nothing)."""

    def _refuse(self, *args, **kwargs):
        if args and args[0] or kwargs:
            raise TypeError("CallGraph nodes and edges carry no attributes")

    update = __setitem__ = setdefault = _refuse


_NO_ATTRIBUTES = _NoAttributes()


class _NoCalls(dict):
    """The one adjacency dict every function of a CallGraph that calls nothing, or that
    nothing calls, shares (6.1: 186,000 and 276,000 of 627,000 functions): empty, and
    refusing items, so that a function gains callees or callers in a dict of its own
    (CallGraph.add_calls, relink). Pickled as this module's NO_CALLS: one object in a
    kept program too."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a call graph's shared empty adjacency takes no call: give the function a dict of its own")

    update = __setitem__ = setdefault = _refuse

    def __reduce__(self):
        return "NO_CALLS"


NO_CALLS = _NoCalls()

# A function's callees or callers kept as a tuple when they are at most this many
# (6.1: 98 % of the 794,000 non-empty adjacencies; a dict holds one to five in 184
# bytes, a tuple 56 plus 8 each). Membership is a scan, short at this length.
MAX_FEW_CALLS = 16


class _FewCalls(tuple):
    """A function's few callees or callers (CallGraph.compact), read as the adjacency
    dict networkx expects: its keys in order, each mapping to the shared empty
    attributes. Immutable: CallGraph.calls_to_change() gives the function a dict
    before an edge is added or removed."""

    __slots__ = ()

    def __getitem__(self, node):
        if node in self:
            return _NO_ATTRIBUTES
        raise KeyError(node)

    def get(self, node, default=None):
        return _NO_ATTRIBUTES if node in self else default

    def keys(self):
        return iter(self)

    def values(self):
        return (_NO_ATTRIBUTES for _ in self)

    def items(self):
        return ((node, _NO_ATTRIBUTES) for node in self)

    def __reversed__(self):  # (reversed() would index through __getitem__ above)
        return iter(tuple.__getitem__(self, slice(None, None, -1)))

    def __eq__(self, other):
        return (isinstance(other, (Mapping, _FewCalls)) and len(self) == len(other)
                and all(node in other for node in self))

    def __ne__(self, other):
        return not self == other

    __hash__ = None  # a mapping

    def __repr__(self):
        return repr(dict.fromkeys(self, {}))


class _Functions(Mapping):
    """A CallGraph's `_node`, networkx's node -> attributes dict: every function of its
    `_succ`, each with the shared empty attributes. A dict of its own would repeat
    `_succ`'s keys (6.1: 627,000, 15 MB). networkx sets a node's adjacency before its
    attributes and removes the attributes first: those writes have nothing to do."""

    __slots__ = ("_succ",)

    def __init__(self, succ: dict):
        self._succ = succ

    def __getitem__(self, node):
        if node in self._succ:
            return _NO_ATTRIBUTES
        raise KeyError(node)

    def __contains__(self, node) -> bool:
        return node in self._succ

    def __iter__(self):
        return iter(self._succ)

    def __len__(self) -> int:
        return len(self._succ)

    def __setitem__(self, node, attributes) -> None:
        if node not in self._succ or attributes:
            raise KeyError(f"{node}: a function's node comes with its adjacency, and without attributes")

    def __delitem__(self, node) -> None:
        pass

    def __reduce__(self):
        return _Functions, (self._succ,)


class CallGraph(nx.DiGraph):
    """The call graph: a networkx DiGraph whose nodes and edges hold no attributes, so
    all of them share one empty attribute dict (networkx's documented factory hook).
    A whole 6.1 tree has 627,000 nodes and 1.44 million edges: a dict of their own
    each cost about 130 MB and a second of linking, for data no analysis read."""

    node_attr_dict_factory = staticmethod(lambda: _NO_ATTRIBUTES)
    edge_attr_dict_factory = staticmethod(lambda: _NO_ATTRIBUTES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._node = _Functions(self._succ)  # (the nodes are the adjacency's keys)

    # add_nodes_from() and add_edges_from() check each item's form, None and its
    # attributes: for 627,000 new nodes and 1.44 million edges between them that was
    # 3 s of a 13 s link. These two fill the adjacency (DiGraph's documented
    # `_succ` and `_pred` dicts; `_node` reads `_succ`) directly, with the same result
    # and order.

    # A function with no callee or no caller has NO_CALLS as that adjacency, not an
    # empty dict of its own: networkx's add_edge() refuses to add to it, add_calls()
    # gives the function its own dict.

    def add_functions(self, nodes) -> None:
        """add_nodes_from() for nodes not in the graph yet."""
        succ, pred = self._succ, self._pred
        for node in nodes:
            succ[node] = NO_CALLS
            pred[node] = NO_CALLS
        _clear_cache(self)

    # After the link, a function's few callees or callers are a _FewCalls tuple
    # (compact()): 107 MB less for 6.1's 1.44 million edges. Whatever adds or removes
    # an edge then asks calls_to_change() for a dict of the function's own.

    def add_calls(self, edges) -> None:
        """add_edges_from() for (caller, callee) pairs of nodes already in the graph."""
        succ, pred = self._succ, self._pred
        for caller, callee in edges:
            callees = succ[caller]
            if type(callees) is not dict:  # NO_CALLS, or compacted (then link compacts again)
                callees = succ[caller] = dict.fromkeys(callees, _NO_ATTRIBUTES)
            callees[callee] = _NO_ATTRIBUTES
            callers = pred[callee]
            if type(callers) is not dict:
                callers = pred[callee] = dict.fromkeys(callers, _NO_ATTRIBUTES)
            callers[caller] = _NO_ATTRIBUTES
        _clear_cache(self)

    def calls_to_change(self, adjacency: dict, node: str) -> dict:
        """`node`'s callees (adjacency: `_succ`) or callers (`_pred`) as a dict of its own,
        that an edge can be added to or removed from; compact_changed() makes it a
        tuple again if it stays few."""
        calls = adjacency[node]
        if type(calls) is not dict:
            calls = adjacency[node] = dict.fromkeys(calls, _NO_ATTRIBUTES)
        self._changed(adjacency, node)  # (a dict of many may become few)
        return calls

    def set_calls(self, adjacency: dict, node: str, nodes) -> None:
        """`node`'s callees (adjacency: `_succ`) or callers (`_pred`) are now `nodes`, in order."""
        adjacency[node] = dict.fromkeys(nodes, _NO_ATTRIBUTES) if nodes else NO_CALLS
        self._changed(adjacency, node)

    def _changed(self, adjacency: dict, node: str) -> None:
        self.__dict__.setdefault("_changed_calls", set()).add((adjacency is self._succ, node))

    def compact(self) -> None:
        """Every function's callees and callers that are few, as a _FewCalls tuple."""
        few = MAX_FEW_CALLS
        for adjacency in (self._succ, self._pred):
            for node, calls in adjacency.items():
                if type(calls) is dict and 0 < len(calls) <= few:
                    adjacency[node] = _FewCalls(calls)
        self.__dict__.pop("_changed_calls", None)

    def compact_changed(self) -> None:
        """compact() for the functions calls_to_change() gave a dict since."""
        for is_callees, node in self.__dict__.pop("_changed_calls", ()):
            adjacency = self._succ if is_callees else self._pred
            calls = adjacency.get(node)
            if type(calls) is dict:
                adjacency[node] = (_FewCalls(calls) if 0 < len(calls) <= MAX_FEW_CALLS else
                                   calls if calls else NO_CALLS)


# networkx 3.3+ caches views on the graph and drops them when it changes
_clear_cache = getattr(nx, "_clear_cache", lambda graph: None)


class FunctionRef(NamedTuple):
    """A function's definition: its file, its facts and its node (a tuple: 626,000 of
    them in a tree). The node is the very key of Program.functions: the edges and
    indexes made from a definition hold that one string, not an equal one each."""

    file: FileFacts
    fn: FunctionFacts
    node: str = ""

    @property
    def path(self) -> str:
        return self.file.path


@dataclass
class Program:
    files: list[FileFacts]
    graph: CallGraph
    functions: dict[str, FunctionRef]  # node id -> definition
    by_name: dict[str, tuple[str, ...]]  # function name -> node ids (node_for() finds a definition's)
    bindings: dict[str, list[tuple[str, str, str, int]]]  # field -> [(struct, function node, path, line)]
    structs: dict[str, list[tuple[str, object]]] = field(default_factory=dict)  # name -> [(path, StructDef)]
    typedefs: dict[str, str] = field(default_factory=dict)
    macro_names: set[str] = field(default_factory=set)  # ALL_CAPS function-like macros anywhere
    _by_path: dict[str, FileFacts] = field(default_factory=dict)
    _by_dir: dict[str, list[FileFacts]] = field(default_factory=dict)
    _shared: dict[str, dict] = field(default_factory=dict)  # table -> name -> the first shared header defining it
    _shared_files: list[FileFacts] | None = None  # see _shared_headers()
    _subtrees: dict[tuple[str, str], dict] = field(default_factory=dict)  # (table, top dir) -> name -> file
    _dirs_sorted: list[str] = field(default_factory=list)  # the keys of _by_dir, sorted
    _lookup_memo: dict[tuple[str, str, str], object] = field(default_factory=dict)  # (table, name, dir) -> found
    _included_memo: dict[tuple[str, str, str], object] = field(default_factory=dict)  # (table, name, path) -> found
    _headers_by_name: dict[str, list[str]] = field(default_factory=dict)  # header base name -> paths
    _include_targets: dict[tuple[str, str], object] = field(default_factory=dict)  # (#include, dir) -> file
    _dir_tables: dict[tuple[str, str], list[tuple[str, dict]]] = field(default_factory=dict)  # see _tables_in()
    _field_index: dict[str, tuple] = field(default_factory=dict)  # field -> (by struct, by directory)
    _typed_index: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)  # see _typed_candidates()
    resolver: "Resolver | None" = None  # direct calls: name -> nodes, per calling file
    # (path, byte, end column, field) of a call through a pointer -> nodes
    indirect_targets: dict[tuple[str, int, int, str], list[str]] = field(default_factory=dict)
    _resolved: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # path -> name -> nodes (resolve())
    # (path, name) -> [(line, node)] for a static defined more than once in a file (#ifdef branches)
    static_variants: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    # (struct type, field) -> [(path, function)] of the functions that assign it, in file order
    # (function None: a file-scope initializer, FileFacts.field_inits)
    field_writers: dict[tuple[str, str], tuple] = field(default_factory=dict)
    # The -D macros of the kernel tree's Makefiles when the scan reads the whole tree (then
    # a macro no file defines is defined nowhere), else None: the scan does not see every
    # definition, and no #if branch is decided by a macro (see analyze.preproc)
    command_line_defines: frozenset[str] | None = None
    # Which C files Kbuild links into one module (kbuild.Modules), when the scan reads the
    # whole tree's Makefiles; else None: files of one directory count as one driver
    modules: object = None
    # Which Makefiles command_line_defines and modules were read from (a digest; "" when
    # the scan is not of a whole tree): pipeline._read_build()
    build_key: str = ""
    nodes_flagged: dict[int, list[str]] = field(default_factory=dict)  # see functions_with()
    flagged_in_files: dict[int, list[tuple[FileFacts, FunctionFacts]]] = field(default_factory=dict)
    # field -> the access paths through which a field of that name is stored to, (struct type,
    # field) -> all its writers, typed and through access paths (see field_writers_of),
    # and (access path, directory) -> the struct it names: all built on first use
    _access_paths_by_field: dict[str, list[str]] | None = None  # see _access_paths_storing()
    _writers_memo: dict[tuple[str, str], tuple] = field(default_factory=dict)  # see field_writers_of()
    _receiver_memo: dict[tuple[str, str], str] = field(default_factory=dict)
    _callers: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  # node -> callers()
    never_run_memo: dict[str, bool] = field(default_factory=dict)  # node -> entries.never_run()
    _global_inits: dict[str, tuple[str, ...]] | None = None  # see global_init_files()
    # path -> the calls of the file's functions that register, bind or arm a callback
    # (registrar_calls_of()), made with the link and kept with it: an incremental scan's
    # entry points would otherwise unpack the calls of 10,000 functions of 6.1 for
    # their 14,000 such calls. A file with none has no entry.
    registrar_calls: dict[str, tuple[tuple[FunctionFacts, CallSite], ...]] = field(default_factory=dict)
    # path -> the file's bindings of the fields the context tables name (an ops field
    # the kernel calls atomically, an armed callback's `function`), made with the link
    # and kept with it: 3,000 of the 500,000 bindings of 6.1 (context_bindings_of())
    context_bindings: dict[str, tuple] = field(default_factory=dict)
    # Of the names the files' #if branches test, those some file #defines (see
    # macros_defined_in()), made with the link and kept with it; None once a relink
    # changed what a file defines or tests: made again when asked (analyze.preproc)
    macros_defined: frozenset[str] | None = None
    # Kept from linking for a relink (relink.py): the functions that get no incoming
    # edges (_Definitions.leaves), and the forwarding macros (macrocalls._Macros)
    leaves: set[str] = field(default_factory=set)
    forwarding: object = None

    def targets(self, site: CallSite, path: str) -> list[str]:
        """The function nodes a call site in file `path` may reach (empty when none is in the scan)."""
        if site.callee:
            return self.resolve(path, site.callee, site.line)
        return self.indirect_targets.get((path, site.byte, site.end_col, site.field), [])

    def resolve(self, path: str, name: str, line: int = 0) -> list[str]:
        """The function nodes a direct call of `name` at `line` of file `path` may reach."""
        memo = self._resolved.get(path)
        if memo is None:
            memo = self._resolved[path] = {}
        found = memo.get(name)
        if found is None:
            ff = self.file(path)
            found = self.resolver.resolve(path, name, line, ff.func_macros if ff is not None else {})
            if (path, name) not in self.static_variants:  # those depend on the line
                memo[name] = found
        return found

    def global_init_files(self) -> dict[str, tuple[str, ...]]:
        """global name -> the files that define it with a brace initializer (built when
        first asked, once for all the rules' path checks)."""
        if self._global_inits is None:
            index: dict[str, tuple[str, ...]] = {}
            for ff in self.files:
                for name in ff.init_names:
                    index[name] = index.get(name, ()) + (ff.path,)
            self._global_inits = index
        return self._global_inits

    def callers(self, node: str):
        """(caller node, call site) pairs of direct and resolved calls to `node`.

        Edges do not store their call sites: the sites are found in the caller
        when asked, for the few functions an analysis walks up from, once per
        function (the analyses ask for half of them again). A function that calls
        nothing and stores nothing outside itself has no incoming edges (see
        link()): no analysis walks up from it.

        The memo keeps where each call lies among its caller's calls, not the call:
        the sites stay with their function's unpacked calls, which FunctionFacts.calls
        keeps for the last functions it unpacked. Kept in the memo, the calls of
        every caller an analysis walked were 60 MB of a whole-tree scan of 6.1, and
        its peak."""
        found = self._callers.get(node)
        if found is None:
            found = self._callers[node] = tuple(self._call_sites_to(node))
        functions = self.functions
        return ((pred, functions[pred].fn.calls[index]) for pred, index in found)

    def _call_sites_to(self, node: str):
        """(caller node, index of the call in the caller's calls) of each call to `node`."""
        name = self.functions[node].fn.name
        for pred in self.graph.predecessors(node):
            ref = self.functions[pred]
            for index, site in enumerate(ref.fn.calls):
                if site.callee and site.callee != name:
                    continue  # a direct call names what it calls
                if node in self.targets(site, ref.file.path):
                    yield pred, index

    def functions_with(self, mask: int) -> list[str]:
        """Nodes whose function's flags meet `mask`, in definition order."""
        found = self.nodes_flagged.get(mask)
        if found is None:
            found = self.nodes_flagged[mask] = [node for node, ref in self.functions.items() if ref.fn.flags & mask]
        return found

    def definitions_with(self, mask: int) -> list[tuple[FileFacts, FunctionFacts]]:
        """(file, function) pairs whose function's flags meet `mask`, in file order."""
        found = self.flagged_in_files.get(mask)
        if found is None:
            found = self.flagged_in_files[mask] = [(ff, fn) for ff in self.files for fn in ff.functions
                                                   if fn.flags & mask]
        return found

    def defined_more_than_once(self, name: str) -> bool:
        """Do several files define a struct of this name (sfc's and siena's efx_nic,
        natsemi's and winbond-840's netdev_private)?"""
        return len(self.structs.get(name, ())) > 1

    def struct_def(self, name: str, near: str = ""):
        """(path, StructDef) of the struct `name` as file `near` sees it: of several
        definitions, the nearest up its tree, else the one sharing the longest path."""
        defs = self.structs.get(name)
        if not defs:
            return None
        if len(defs) == 1 or not near:
            return defs[0]
        return max(defs, key=lambda d: _shared_path(d[0], near))

    def field_writers_of(self, key: tuple[str, str]) -> tuple:
        """(path, function) of every store to (struct type, field): those whose receiver
        extraction typed, then those through an access path (`priv->rx.buf_sz = n`)
        that resolves to that struct. Function None: a file-scope initializer."""
        found = self._writers_memo.get(key)
        if found is None:
            struct, fname = key
            # only the access paths ending in this field are resolved, when first asked:
            # an incremental scan asks for a few fields of the 185,000 stores of a tree
            paths = self._access_paths_storing().get(fname, ()) if struct else ()
            through = [(path, fn) for receiver in paths for path, fn in self.field_writers[(receiver, fname)]
                       if self.receiver_struct(receiver, path) == struct]
            typed = self.field_writers.get(key, ())
            found = self._writers_memo[key] = (*typed, *through) if through else typed
        return found

    def _access_paths_storing(self) -> dict[str, list[str]]:
        """field -> the access paths through which some function stores to a field of
        that name, in field_writers' order (their writers are field_writers'; a copy of
        each (access path, path, function) was 16 MB of a whole-tree scan of 6.1)."""
        if self._access_paths_by_field is None:
            by_field: dict[str, list[str]] = {}
            for receiver, fname in self.field_writers:
                if RECEIVER_MARK in receiver:
                    by_field.setdefault(fname, []).append(receiver)
            self._access_paths_by_field = by_field
        return self._access_paths_by_field

    def receiver_struct(self, receiver: str, path: str) -> str:
        """The struct type an access path (Assignment.receiver) written in file `path`
        names: its root variable's type through typedefs, then each member's type in the
        struct definition that file sees; '' when a step is not a struct."""
        key = (receiver, directory_of(path))
        found = self._receiver_memo.get(key)
        if found is None:
            root, _, chain = receiver.partition(RECEIVER_MARK)
            found = struct_name(root, self.typedefs)
            for member in chain.split(".") if chain else ():
                sd = self.struct_def(found, path) if found else None
                m = next((m for m in sd[1].members if m.name == member), None) if sd is not None else None
                found = struct_name(m.type_text, self.typedefs) if m is not None else ""
            self._receiver_memo[key] = found
        return found

    def same_module(self, a: str, b: str) -> bool:
        """Are two files parts of one driver: linked into one module, by the Makefiles, or
        (without them) in one directory?"""
        if self.modules is None:
            return directory_of(a) == directory_of(b)
        return self.modules.same(a, b)

    def node_for(self, fn: FunctionFacts, path: str) -> str:
        """The node of `fn`, defined in the file at `path` (KeyError: not in the program)."""
        node = self.find_node(fn, path)
        if node is None:
            raise KeyError(f"{path}: {fn.name}")
        return node

    def find_node(self, fn: FunctionFacts, path: str) -> str | None:
        """The node of `fn`, defined in the file at `path`, or None: a function of
        another program (an older side of a relinked file).

        Nodes are named as _define() names them, so the usual name is tried first (a
        static's `path::name`, a global's `name`); a name defined more than once is
        looked for among its nodes. A table from each function to its node would
        cost a whole-tree scan 41 MB (626,000 functions of 6.1, keyed by id())."""
        name = fn.name
        functions = self.functions
        ref = functions.get(f"{path}::{name}" if fn.is_static else name)
        if ref is not None and ref.fn is fn:
            return ref.node
        for node in self.by_name.get(name, ()):
            if functions[node].fn is fn:
                return node
        return None

    def file(self, path: str) -> FileFacts | None:
        if not self._by_path:
            self._by_path = {ff.path: ff for ff in self.files}
        return self._by_path.get(path)

    def _in_subtree(self, table: str, name: str, path: str):
        """A definition elsewhere in the caller's driver (iwlwifi/mvm/x.c sees
        iwlwifi/fw/api/y.h): the grandparent directory's whole tree, when it is a
        driver-sized tree and the name has one value there."""
        top = directory_of(directory_of(path))
        if top.count("/") < 2:
            return None  # drivers/net, fs/ext4: too broad to be one driver
        key = (table, top)
        index = self._subtrees.get(key)
        if index is None:
            index = self._subtrees[key] = _subtree_index(self, table, top)
        found = index.get(name)
        return None if found is None or found is _AMBIGUOUS else (found.path, getattr(found, table)[name])

    def lookup(self, table: str, name: str, path: str, includes: bool = True):
        """(path, value) of the nearest definition of `name` in a per-file table
        ("defines", "func_macros", "enums"): the same file, the same directory,
        up to two parent directories, then the shared headers, then (`includes`) the
        headers the file includes; None if none."""
        ff = self.file(path)
        if ff is not None and _defines(ff, table, name):
            return path, getattr(ff, table)[name]
        key = (table, name, directory_of(path))
        if key in self._lookup_memo:
            found = self._lookup_memo[key]
        else:
            found = self._lookup_memo[key] = self._lookup_outside(table, name, path)
        if found is None and includes and ff is not None and ff.includes and _CONSTANT_NAME.fullmatch(name):
            found = self._through_includes(table, name, ff)
        return found

    def _through_includes(self, table: str, name: str, ff: FileFacts):
        """A name no nearer file defines, looked up in the headers the file includes,
        and the headers they include, breadth first (`NUM_IRQ_TYPES` of um's irq.c is in
        <irq_user.h>, which arch/um/include/shared provides; dc_stream.h's MAX_DWB_PIPES
        two includes down, in ../inc/hw/hw_shared.h)."""
        key = (table, name, ff.path)
        if key not in self._included_memo:
            found = None
            for header in self._included_headers(ff):
                if _defines(header, table, name):
                    found = (header.path, getattr(header, table)[name])
                    break
            self._included_memo[key] = found
        return self._included_memo[key]

    def _included_headers(self, ff: FileFacts) -> Iterator[FileFacts]:
        """The scanned headers `ff` includes, then those they include, breadth first, at
        most INCLUDE_DEPTH levels and INCLUDE_FILES headers."""
        seen = {ff.path}
        frontier = [ff]
        for _ in range(INCLUDE_DEPTH):
            following = []
            for including in frontier:
                for target in including.includes:
                    header = self._included_file(target, including.path)
                    if header is None or header.path in seen:
                        continue
                    if len(seen) > INCLUDE_FILES:
                        return
                    seen.add(header.path)
                    yield header
                    following.append(header)
            frontier = following

    def _included_file(self, target: str, includer: str) -> FileFacts | None:
        """The scanned header an `#include` names (resolved once per including directory)."""
        key = (target, posixpath.dirname(includer))
        if key not in self._include_targets:
            self._include_targets[key] = self._resolve_include(target, includer)
        return self._include_targets[key]

    def _resolve_include(self, target: str, includer: str) -> FileFacts | None:
        """`"x.h"` beside the including file first; else (and for `<x.h>`) a header whose
        path ends in the name under an include directory, the including file's
        architecture's before the top include/, x86's (the target) before any other."""
        quoted, name = target[0] == '"', target[1:]
        if quoted:
            near = self.file(posixpath.normpath(posixpath.join(posixpath.dirname(includer), name)))
            if near is not None:
                return near
        if not self._headers_by_name:
            for f in self.files:
                if f.path.endswith(".h"):
                    self._headers_by_name.setdefault(posixpath.basename(f.path), []).append(f.path)
        candidates = [p for p in self._headers_by_name.get(posixpath.basename(name), ())
                      if p.endswith("/" + name) and (quoted or "include/" in p[:len(p) - len(name)])]
        if not candidates:
            return None
        arch = includer.split("/", 2)[1] if includer.startswith("arch/") else "x86"

        def rank(p: str) -> tuple:
            # a quoted name the Makefile's -I finds: in the includer's own driver tree, nearest first
            shared = len(posixpath.commonpath([p, includer]).split("/")) if quoted else 0
            return (-shared, not p.startswith(f"arch/{arch}/"), not p.startswith("include/"),
                    not p.startswith("arch/x86/"), p)

        best = min(candidates, key=rank)
        if quoted and not best.startswith(("include/", "arch/")) and posixpath.commonpath([best, includer]).count("/") < 2:
            return None  # another driver's header of the same name
        return self.file(best)

    def _tables_in(self, table: str, directory: str) -> list[tuple[str, dict]]:
        """(path, table) of the files in `directory` whose table is not empty, in file
        order. Made once per directory: a look-up missing in include/linux would
        otherwise ask each of its thousand headers for the table anew. Not for
        "defines" (_first_defining()): that would unpack every file's #defines."""
        key = (table, directory)
        found = self._dir_tables.get(key)
        if found is None:
            found = self._dir_tables[key] = [(f.path, values) for f in self._by_dir.get(directory, ())
                                             if (values := getattr(f, table))]
        return found

    def files_in(self, directory: str) -> list[FileFacts]:
        """The scanned files of one directory, in file order."""
        if not self._by_dir:
            by_dir = defaultdict(list)
            for f in self.files:
                by_dir[posixpath.dirname(f.path)].append(f)
            self._by_dir = dict(by_dir)
        return self._by_dir.get(directory, [])

    def _lookup_outside(self, table: str, name: str, path: str):
        """lookup() past the file itself: it depends on the file's directory only."""
        self.files_in("")  # the directory index, made on first use
        here = directory_of(path)
        for _ in range(3):
            if table == "defines":
                found = _first_defining(self._by_dir.get(here, ()), name)
                if found is not None:
                    return found
            else:
                for file_path, values in self._tables_in(table, here):
                    if name in values:
                        return file_path, values[name]
            if not here:
                break
            here = directory_of(here)
        found = self._in_subtree(table, name, path)
        if found is not None:
            return found
        shared = self._shared.get(table)
        if shared is None:
            shared = {}
            for f in self._shared_headers():
                for key in getattr(f, table):
                    shared.setdefault(key, f)
            self._shared[table] = shared
        f = shared.get(name)
        return None if f is None else (f.path, getattr(f, table)[name])

    def _shared_headers(self) -> list[FileFacts]:
        """The headers whose definitions any file sees (_is_shared_header), in file order;
        in loose files and small trees, every header."""
        if self._shared_files is None:
            small = len(self.files) < 2000
            self._shared_files = [f for f in self.files
                                  if _is_shared_header(f.path) or (small and f.path.endswith(".h"))]
        return self._shared_files


def struct_name(type_text: str, typedefs: dict[str, str]) -> str:
    """The struct (or union) a type names, through typedefs; '' when it is none."""
    t = type_text.replace("*", "").strip()
    for _ in range(4):
        if t.startswith("struct ") or t.startswith("union "):
            return t.split(" ", 1)[1].strip()
        alias = typedefs.get(t)
        if alias is None:
            return ""
        t = alias.replace("*", "").strip()
    return ""


def _shared_path(definition: str, reader: str) -> tuple[bool, int]:
    """How near a struct's definition is to a reader: up the reader's tree first
    (sfc/siena/x.c sees sfc/siena/net_driver.h), then by the path they share."""
    d, r = posixpath.dirname(definition), posixpath.dirname(reader)
    up = r == d or r.startswith(d + "/")
    shared = len(posixpath.commonpath([d, r])) if d and r else 0
    return (up, len(d) if up else shared)


SUBTREE_FILES = 400  # a driver's tree: searched whole for a name its own directories lack
_AMBIGUOUS = ("", None)  # a name with different values in one subtree


def _subtree_index(program: "Program", table: str, top: str) -> dict:
    """name -> the first file under `top` to define it (in `table`), or _AMBIGUOUS when
    another gives it another value; {} for a tree too large to be one driver's. The
    file, not its value: of the #defines, the values are those of tables unpacked
    only to make the index (FileFacts.defines), 70 MB of a whole-tree scan of 6.1."""
    first: dict = {}  # name -> (file, value) while the index is made
    if not program._dirs_sorted:
        program._dirs_sorted = sorted(program._by_dir)
    dirs = program._dirs_sorted
    # every directory under `top`: those sorting from "top/" up to "top0" ('0' follows '/')
    below = dirs[bisect.bisect_left(dirs, top + "/"):bisect.bisect_left(dirs, top + "0")]
    files = list(program._by_dir.get(top, ())) + [f for d in below for f in program._by_dir[d]]
    if len(files) > SUBTREE_FILES:
        return {}
    for f in files:
        for key, value in getattr(f, table).items():
            seen = first.get(key)
            if seen is None:
                first[key] = (f, value)
            elif seen is not _AMBIGUOUS and seen[1] != value:
                first[key] = _AMBIGUOUS
    return {key: seen if seen is _AMBIGUOUS else seen[0] for key, seen in first.items()}


# Program fields that memoise answers computed from the rest, filled when first asked:
# emptied, they lose nothing but the time to fill them again. A relink empties all
# but the last two (their answers depend on the bindings, which a relink keeps), and
# a kept program is saved without any of them (linkstore.py): on 6.1 the link had
# filled them with 900,000 objects that a diff read back for the few it asks again.
MEMOS = {
    "_by_path": dict, "_by_dir": dict, "_shared": dict, "_shared_files": lambda: None, "_subtrees": dict,
    "_dirs_sorted": list, "_lookup_memo": dict, "_included_memo": dict, "_headers_by_name": dict,
    "_include_targets": dict, "_dir_tables": dict, "_resolved": dict, "_access_paths_by_field": lambda: None,
    "_writers_memo": dict, "_receiver_memo": dict, "_callers": dict, "never_run_memo": dict,
    "_global_inits": lambda: None, "_field_index": dict, "_typed_index": dict,
}
MEMOS_OF_BINDINGS = ("_field_index", "_typed_index")


def forget_memos(program: Program, names=MEMOS) -> None:
    """Empty the program's memos (`names` of MEMOS), and the resolver's."""
    for name in names:
        setattr(program, name, MEMOS[name]())
    if names is MEMOS and program.resolver is not None:
        program.resolver.forget_memos()


@contextmanager
def memos_set_aside(program: Program):
    """The program without any memo for the time of the block, and with them again
    after it: a kept program is pickled without them (linkstore.py), by a scan that
    goes on analysing with them."""
    kept = {name: getattr(program, name) for name in MEMOS}
    resolved = program.resolver._in_directory if program.resolver is not None else None
    forget_memos(program)
    try:
        yield
    finally:
        for name, value in kept.items():
            setattr(program, name, value)
        if program.resolver is not None:
            program.resolver._in_directory = resolved


class Resolver:
    """Direct-call resolution: which definitions a name called in a file reaches.

    Most names resolve alike from every file (one generic definition, an
    ALL_CAPS macro, a keyword): those are answered from one table. A name the
    file defines itself (a static, a function-like macro) is the file's; the
    rest depend on the caller's directory (its architecture, the nearest of
    several definitions) and are resolved once per directory."""

    def __init__(self, defs: "_Definitions", macro_names: set[str], macro_dirs: dict[str, frozenset[str]] | None = None):
        self.static_variants = defs.static_variants
        # node -> definition, the program's own (Program.functions): a file's static is
        # `path::name` there (a table of each file's statics cost 6.1 17 MB)
        self.functions = defs.functions
        self.variant_names: dict[str, set[str]] = {}  # path -> names in static_variants
        for path, name in self.static_variants:
            self.variant_names.setdefault(path, set()).add(name)
        self.header_statics = header_statics = defs.header_statics
        self.config_stubs = defs.config_stubs
        self.globals_by_name = globals_by_name = defs.globals_by_name
        self.locations = locations = defs.locations
        # Expanded in place, never called: ALL_CAPS function-like macros anywhere, keywords.
        self.never = set(macro_names) | _KEYWORDS
        # name -> directories of the files outside the shared headers that #define a
        # lowercase function-like macro of a header inline's or a global's name
        # (header_inline(), resolve_in_directory())
        self.macro_dirs = macro_dirs or {}
        # Resolved alike from every file: one generic definition and no header inline
        # competing with it (nor, for a driver's unexported global, a macro of its name
        # somewhere). For code built for the target, only inlines from headers count too
        # (see resolve()).
        self.uniform = {name: nodes for name, nodes in globals_by_name.items()
                        if len(nodes) == 1 and name not in header_statics and not locations[nodes[0]].startswith("arch/")
                        and not (name in self.macro_dirs and self._module_private(nodes[0], name))}
        # name -> the inlines of headers a target build links, for names no global defines
        self.header_only = {name: found for name, nodes in header_statics.items() if name not in globals_by_name
                            and (found := [n for n in nodes if _links_with(None, locations[n])])}
        self._in_directory: dict[str, dict[str, list[str]]] = {}  # directory -> name -> targets

    def forget_memos(self) -> None:
        """Empty what resolve() memoised (see link.MEMOS)."""
        self._in_directory = {}

    def local_names(self, ff: FileFacts) -> set[str]:
        """Names whose resolution in `ff` depends on the file itself: its statics and macros."""
        return {fn.name for fn in ff.functions if fn.is_static} | ff.func_macros.keys()

    def resolve(self, path: str, name: str, line: int, macros) -> list[str]:
        """The nodes a call of `name` at `line` of file `path` reaches; `macros` are
        the file's function-like macros."""
        variants = self.static_variants.get((path, name))
        if variants:  # the definition under the same #ifdef branch: the nearest before the call
            return [_nearest_preceding(variants, line)]
        if name in macros or name in self.never:
            return []  # a macro invocation: it expands in place, it calls no function
        local = self.functions.get(f"{path}::{name}")  # the file's static (its first definition)
        if local is not None:
            return [local.node]
        return self.resolve_outside(path, name)

    def resolve_outside(self, path: str, name: str) -> list[str]:
        """resolve() for a name the file neither defines nor expands."""
        found = self.uniform.get(name)
        if found is not None:
            return found
        memo = self.directory_memo(path)
        found = memo.get(name)
        if found is None:
            found = memo[name] = self.resolve_in_directory(path, name)
        return found

    def directory_memo(self, path: str) -> dict[str, list[str]]:
        """name -> targets resolved so far from the directory of `path`."""
        here = directory_of(path)
        memo = self._in_directory.get(here)
        if memo is None:
            memo = self._in_directory[here] = {}
        return memo

    def resolve_in_directory(self, path: str, name: str) -> list[str]:
        """What a name resolves to from `path`; it depends on the directory only."""
        if _arch_of(path) in (None, TARGET_ARCH) and name in self.header_only:
            return self.header_inline(path, name, self.header_only[name])
        if name not in self.globals_by_name and name not in self.header_statics:
            return []  # defined nowhere in the scan
        if self._macro_near(path, name) and not any(self._may_call_global(node, path, name)
                                                    for node in self.globals_by_name.get(name, ())):
            # mt76's mt76_poll() is mt76.h's macro (__mt76_poll()), not mt7601u's global of
            # that name, which no other module can call: the call is the macro's
            return []
        return _resolve_direct(name, path, self.globals_by_name, self.header_statics, self.locations,
                               self.config_stubs)

    def header_inline(self, path: str, name: str, inlines: list[str]) -> list[str]:
        """Which header inline a call of `name` from `path` reaches, when no global
        defines the name. A driver's private header is seen from its own directory and
        those below it (`#include "../mt76.h"`); several drivers' headers define the same
        name each (ufs' and befs' fs32_to_cpu()), and a call reaches the one it sees, the
        nearest, not the first in the tree. A driver-private inline the caller does not
        see, where a function-like macro of the name is defined in the caller's directory
        or the two above it, is not what the call is: mt76's `mt76_rr()` is mt76.h's
        macro calling through the bus ops, not mt7601u.h's inline of the same name."""
        seen = [n for n in inlines if _seen_from(self.locations[n], path)]
        if seen:
            return _nearest_definitions(seen, path, self.locations)[:1]
        if self._macro_near(path, name):
            return []
        return _nearest_definitions(inlines, path, self.locations)[:1]

    def _macro_near(self, path: str, name: str) -> bool:
        """Is a function-like macro `name` defined outside the shared headers, in the
        file's directory or one of the two above it?"""
        macros = self.macro_dirs.get(name)
        return bool(macros) and not macros.isdisjoint(_directories_above(path))

    def _module_private(self, node: str, name: str) -> bool:
        """Is the global a driver's (drivers/, sound/) that its module does not export?"""
        return self.locations[node].startswith(("drivers/", "sound/")) and name not in self.functions[node].file.exports

    def _may_call_global(self, node: str, path: str, name: str) -> bool:
        """May a file at `path` call this global definition of `name`: one of its own
        driver's (same_driver), or one its module exports (EXPORT_SYMBOL)?"""
        return same_driver(self.locations[node], path) or not self._module_private(node, name)


def _seen_from(header: str, path: str) -> bool:
    """Does a file at `path` see the header by where it lies: a shared header, or one in
    the file's directory or a directory above it?"""
    if _is_shared_header(header):
        return True
    where = directory_of(header)
    return directory_of(path) == where or path.startswith(where + "/")


def _directories_above(path: str) -> tuple[str, ...]:
    """The file's directory and the two above it (Program.lookup's reach)."""
    here = directory_of(path)
    up = directory_of(here)
    return (here, up, directory_of(up))


def macro_directories(files: list[FileFacts], names) -> dict[str, frozenset[str]]:
    """name -> the directories of the files outside the shared headers that define a
    function-like macro of that name, for the lowercase `names` (Resolver.macro_dirs)."""
    found: dict[str, set[str]] = defaultdict(set)
    for ff in files:
        if ff.func_macros and not _is_shared_header(ff.path):
            for name in names.intersection(ff.func_macros):
                found[name].add(directory_of(ff.path))
    return {name: frozenset(dirs) for name, dirs in found.items()}


def link(files: list[FileFacts]) -> Program:
    """The files' facts linked into one program. extract_all has made equal names of
    different files one object as it loaded them (FileFacts.share_across), so the
    indexes made here hold each name once."""
    defs = _define(files)
    graph = CallGraph()
    graph.add_functions(defs.functions)
    program = Program(files=files, graph=graph, functions=defs.functions, by_name=defs.by_name,
                      bindings=defaultdict(list), static_variants=defs.static_variants,
                      field_writers=defs.field_writers, nodes_flagged=defs.nodes_flagged,
                      flagged_in_files=defs.flagged_in_files, leaves=defs.leaves)
    _tables(program)
    macro_dirs = macro_directories(files, {name for name in (*defs.header_statics, *defs.globals_by_name)
                                           if not name.isupper()})
    resolver = program.resolver = Resolver(defs, program.macro_names, macro_dirs)
    gained = forward_macro_calls(program, resolver)  # calls through `#define f(x) g(x, 1)` call g
    if gained:
        _reindex_flags(program, gained)
    _bindings(program)
    # Edges go in in a fixed order (files sorted, calls in source order): it makes the
    # graph's adjacency order, and so every walk over callers, the same from run to
    # run whatever the string hash seed.
    graph.add_calls(_call_edges(program, resolver, defs.leaves))
    graph.compact()
    program.registrar_calls = registrar_calls(program)
    fields = context_fields()
    program.context_bindings = {ff.path: found for ff in files if (found := context_bindings_of(ff, fields))}
    program.macros_defined = macros_defined_in(files)
    # The bindings' indexes served the calls through pointers, whose targets are in
    # indirect_targets now; a relink fills them again for its files. Kept to the end
    # of a whole-tree scan of 6.1, they were 80 MB, and 97 MiB of its peak.
    forget_memos(program, MEMOS_OF_BINDINGS)
    return program


def macros_defined_in(files: list[FileFacts]) -> frozenset[str]:
    """Of the names the files' #if branches test (FileFacts.macro_branches), those some
    file #defines. Files keep the names they define as CRC-32s: the candidates are
    hashed and looked up in every file's list once (a collision only keeps a branch
    alive, analyze.preproc)."""
    candidates: dict[int, list[str]] = {}
    for ff in files:
        for _, _, cond in ff.macro_branches:
            for name in _MACRO_NAME_RE.findall(cond):
                if name != "defined" and not reserved_macro(name):
                    candidates.setdefault(zlib.crc32(name.encode()), []).append(name)
    wanted = set(candidates)
    found: set[int] = set()
    for ff in files:
        if ff.macro_hashes:
            found |= wanted.intersection(memoryview(ff.macro_hashes).cast("I"))
    return frozenset(name for h in found for name in candidates[h])


_MACRO_NAME_RE = re.compile(r"[A-Za-z_]\w*")


def registrar_calls(program: Program) -> dict[str, tuple[tuple[FunctionFacts, CallSite], ...]]:
    """Program.registrar_calls, made for every file (after the calls through forwarding
    macros are rewritten: a macro may register a callback)."""
    files: dict[str, FileFacts] = {}
    for ff, _ in program.definitions_with(CALLS_REGISTRAR):
        files.setdefault(ff.path, ff)
    return {path: found for path, ff in files.items() if (found := registrar_calls_of(ff))}


def registrar_calls_of(ff: FileFacts) -> tuple[tuple[FunctionFacts, CallSite], ...]:
    """(function, call) of each call in the file's functions whose callee registers,
    binds or arms a callback (the context tables' callback_calls), in file order. Each
    call is a copy with its argument IR (an incremental scan would parse 7,000 argument
    lists of 6.1 again; `args` of a function's own calls tells the analyses which
    calls extraction kept the IR of, so theirs stay as they are)."""
    names = contexts().callback_calls
    return tuple((fn, site if site.args is not None else replace(site, args=site.arguments()))
                 for fn in ff.functions if fn.flags & CALLS_REGISTRAR
                 for site in _calls_left_packed(fn) if site.callee in names)


def reindex_context_facts(program: Program, ff: FileFacts) -> None:
    """Program.registrar_calls and context_bindings of one file, made again (a file a
    relink takes)."""
    for table, found in ((program.registrar_calls, registrar_calls_of(ff)),
                         (program.context_bindings, context_bindings_of(ff, context_fields()))):
        if found:
            table[ff.path] = found
        else:
            table.pop(ff.path, None)


def context_fields() -> frozenset[str]:
    """The fields whose bindings make entry points: the context tables' ops fields and
    the armed kinds' callback fields."""
    tables = contexts()
    return frozenset({fc.field for fc in tables.fields} | {f for kind in tables.armed for _, f in kind.fields})


def context_bindings_of(ff: FileFacts, fields: frozenset[str]) -> tuple:
    """The file's bindings of one of `fields` (context_fields()), in file order."""
    return tuple(b for b in ff.bindings if b.field in fields)


def _calls_left_packed(fn: FunctionFacts) -> list[CallSite]:
    """A function's calls, left packed on it (FunctionFacts.calls keeps the last ones it
    unpacked in their place; a program kept right after its link would hold those)."""
    packed = fn.packed_calls
    if packed is None or type(packed) is list:  # none, or rewritten (macrocalls)
        return packed or []
    return _unpacked(packed, fn.store)


def _reindex_flags(program: Program, gained: int) -> None:
    """Redo _define()'s flag indexes that forwarded calls gave some functions new flags
    of (a macro that calls an allocator): same order, definition order and file order."""
    for mask in program.nodes_flagged:
        if mask & gained:
            program.nodes_flagged[mask] = [node for node, ref in program.functions.items() if ref.fn.flags & mask]
    for mask in program.flagged_in_files:
        if mask & gained:
            program.flagged_in_files[mask] = [(ff, fn) for ff in program.files for fn in ff.functions
                                              if fn.flags & mask]


@dataclass
class _Definitions:
    """Every function definition of the scan, and the tables that name them."""

    functions: dict[str, FunctionRef] = field(default_factory=dict)  # node -> definition
    by_name: dict[str, tuple[str, ...]] = field(default_factory=dict)  # function name -> nodes
    # (path, name) -> [(line, node)] for a static defined more than once in a file (#ifdef branches)
    static_variants: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    header_statics: dict[str, list[str]] = field(default_factory=dict)  # name -> static inlines of headers
    globals_by_name: dict[str, list[str]] = field(default_factory=dict)  # name -> global definitions
    locations: dict[str, str] = field(default_factory=dict)  # node -> path, for globals and header statics
    # header statics defined under a CONFIG_ conditional (facts.IN_CONFIG_BRANCH): config stubs
    config_stubs: set[str] = field(default_factory=set)
    # Functions that call nothing and store nothing outside themselves get no incoming
    # edges: no context flows on from them, and no value analysis asks for their
    # callers (see Program.callers). Most are one-line accessors.
    leaves: set[str] = field(default_factory=set)
    # (struct type, field) -> [(path, function)] of the functions that assign it
    field_writers: dict[tuple[str, str], tuple] = field(default_factory=dict)
    # The functions whose summary flags the analyses start from, found in this one pass
    # rather than in a pass of each analysis over all of them: flag mask -> nodes in
    # definition order, and flag mask -> (file, function) in file order.
    nodes_flagged: dict[int, list[str]] = field(
        default_factory=lambda: {mask: [] for mask in INDEXED_IN_NODE_ORDER})
    flagged_in_files: dict[int, list[tuple[FileFacts, FunctionFacts]]] = field(
        default_factory=lambda: {mask: [] for mask in INDEXED_IN_FILE_ORDER})


ALLOCATES = CALLS_ALLOCATOR | HAS_GFP_ARGUMENT  # calls an allocator or passes a gfp mask
INDEXED_IN_NODE_ORDER = (HAS_LOCKED_CALL, HAS_GFP_PARAM, ALLOCATES)
INDEXED_IN_FILE_ORDER = (ALLOCATES, CALLS_REGISTRAR)


def _define(files: list[FileFacts]) -> _Definitions:
    """Name every function. Static functions are `path::name` (`path::name@line` for a
    second definition under another #ifdef branch); a global defined once is its name,
    one defined several times (per architecture or config) is `name@path:line` each."""
    defs = _Definitions()
    functions, leaves = defs.functions, defs.leaves
    by_name: dict[str, list[str]] = defaultdict(list)
    header_statics: dict[str, list[str]] = defaultdict(list)
    global_defs: dict[str, list[tuple[FileFacts, FunctionFacts]]] = defaultdict(list)

    defs.field_writers = field_writers(files)
    nodes_flagged = tuple(defs.nodes_flagged.items())
    flagged_in_files = tuple(defs.flagged_in_files.items())

    def add(node: str, ff: FileFacts, fn: FunctionFacts) -> None:
        functions[node] = FunctionRef(ff, fn, node)
        by_name[fn.name].append(node)
        if is_leaf(fn):
            leaves.add(node)
        if fn.flags:
            for mask, nodes in nodes_flagged:
                if fn.flags & mask:
                    nodes.append(node)

    for ff in files:
        path = ff.path
        in_header = path.endswith(".h")
        for fn in ff.functions:
            if fn.flags:
                for mask, found in flagged_in_files:
                    if fn.flags & mask:
                        found.append((ff, fn))
            if not fn.is_static:
                global_defs[fn.name].append((ff, fn))
                continue
            first = f"{path}::{fn.name}"  # the node of the file's first definition of the name
            if first not in functions:
                node = first
            else:
                node = f"{first}@{fn.line}"
                defs.static_variants.setdefault((path, fn.name), [(functions[first].fn.line, first)]).append(
                    (fn.line, node))
            if in_header:
                header_statics[fn.name].append(node)
                defs.locations[node] = path
                if fn.flags & IN_CONFIG_BRANCH:
                    defs.config_stubs.add(node)
            add(node, ff, fn)
    for name, definitions in global_defs.items():
        for ff, fn in definitions:
            node = name if len(definitions) == 1 else f"{name}@{ff.path}:{fn.line}"
            defs.globals_by_name.setdefault(name, []).append(node)
            defs.locations[node] = ff.path
            add(node, ff, fn)
    # tuples: most names have one definition, and a list read back from a kept program
    # holds room for four (88 bytes against a tuple's 48)
    defs.by_name = {name: tuple(nodes) for name, nodes in by_name.items()}
    defs.header_statics = dict(header_statics)
    return defs


def field_writers(files: list[FileFacts]) -> dict[tuple[str, str], tuple]:
    """(struct type, field) -> ((path, function), ...) of the stores to it, in file
    order: a file's initializers first (function None), then its functions' stores.
    Tuples: 6.1 has 430,000 fields stored to, most by one function, and a list of one
    holds room for four."""
    found: dict[tuple[str, str], list] = {}
    for ff in files:
        _add_writers(found, ff)
    return {key: tuple(writers) for key, writers in found.items()}


def _add_writers(found: dict[tuple[str, str], list], ff: FileFacts) -> None:
    """field_writers() of one file, added to `found`. One (path, function) pair serves
    all the fields a function stores to: 6.1's 760,000 stores are 200,000 pairs."""
    initializer = (ff.path, None)
    for written in ff.init_writes:
        found.setdefault(written, []).append(initializer)
    for fn in ff.functions:
        if fn.field_writes:
            writer = (ff.path, fn)
            for written in fn.field_writes:
                found.setdefault(written, []).append(writer)


def is_leaf(fn: FunctionFacts) -> bool:
    """A function that calls nothing and stores no field or global: it gets no incoming
    edges (_Definitions.leaves)."""
    return fn.call_count == 0 and not fn.field_writes and not fn.global_writes


def _call_edges(program: Program, resolver: Resolver, leaves: set[str]) -> Iterator[tuple[str, str]]:
    """Edges of direct calls, then of the function's calls through pointers.

    Direct calls resolve by name: once for the names that resolve alike everywhere,
    once per file for those the file defines, once per directory for the rest.
    The call sites stay in the facts."""
    everywhere = {name: [t for t in nodes if t not in leaves] for name, nodes in resolver.uniform.items()}
    everywhere.update(dict.fromkeys(resolver.never, []))  # a macro's name hides a function's
    in_directory: dict[str, dict[str, list[str]]] = {}
    for ff in program.files:
        yield from file_call_edges(program, resolver, ff, leaves, everywhere, in_directory)


class UniformTargets:
    """_call_edges()'s `everywhere` table, asked name by name: what a relink of a few
    files asks for (building the whole table is a tenth of a link)."""

    def __init__(self, resolver: Resolver, leaves: set[str]):
        self.resolver, self.leaves = resolver, leaves

    def get(self, name: str) -> list[str] | None:
        if name in self.resolver.never:
            return []
        nodes = self.resolver.uniform.get(name)
        return None if nodes is None else [t for t in nodes if t not in self.leaves]


def file_call_edges(program: Program, resolver: Resolver, ff: FileFacts, leaves: set[str], everywhere,
                    in_directory: dict[str, dict[str, list[str]]]) -> Iterator[tuple[str, str]]:
    """The call edges of one file's functions, in order (see _call_edges); `everywhere`
    holds the targets of the names resolved alike from every file, `in_directory` the
    targets found so far per directory."""
    path = ff.path
    local = resolver.local_names(ff)
    here = in_directory.setdefault(directory_of(path), {})
    resolved_here = resolver.directory_memo(path)
    mine: dict[str, list[str]] = {}
    per_line = resolver.variant_names.get(path, ())  # statics defined under several #ifdef branches
    for fn in ff.functions:
        caller = program.node_for(fn, path)
        edges: dict[str, None] = {}  # what this function calls, in order
        for name in fn.callees:
            if name in local:
                kept = mine.get(name)
                if kept is None:
                    kept = [t for t in resolver.resolve(path, name, fn.line, ff.func_macros) if t not in leaves]
                    if name not in per_line:
                        mine[name] = kept
            else:
                kept = everywhere.get(name)
                if kept is None:
                    kept = here.get(name)
                    if kept is None:
                        targets = resolved_here.get(name)
                        if targets is None:
                            targets = resolved_here[name] = resolver.resolve_in_directory(path, name)
                        kept = here[name] = [t for t in targets if t not in leaves]
            for t in kept:
                edges[t] = None
        if fn.flags & HAS_INDIRECT_CALL:
            _indirect_edges(program, path, fn, caller, leaves, edges)
        for target in edges:
            yield caller, target


def _indirect_edges(program: Program, path: str, fn: FunctionFacts, caller: str, leaves: set[str],
                    edges: dict) -> None:
    """Targets (into `edges`) of the function's calls through a pointer (`x->field(...)`),
    resolved by binding; a target it also calls directly keeps the direct edge."""
    for byte, end_col, field_name, receiver_type, arity in fn.indirect:
        # (an access path is no struct name: by the field name within the file, as for an untyped receiver)
        targets = _resolve_field(program, field_name, receiver_type, arity, path, caller)
        if not targets and RECEIVER_MARK in receiver_type:
            targets = _resolve_through_members(program, field_name, receiver_type, arity, path, caller)
        if targets:
            program.indirect_targets[(path, byte, end_col, field_name)] = targets
            for t in targets:
                if t not in leaves:
                    edges.setdefault(t)


def _resolve_through_members(program: Program, field_name: str, receiver: str, arity: int, path: str,
                             caller: str) -> list[str]:
    """Targets of `priv->hw_ops->reset(priv)` (an access path, Assignment.receiver's form):
    the struct the members' definitions give, and only the functions bound to it within
    the caller's driver (same_driver: one directory, or one directly inside the other):
    a driver's own ops table (mt76's queue_ops). Another subsystem's ops reached through a
    member (`tty->ops->write()` in a line discipline) could be any driver's: no edge, as
    for a receiver of no known type."""
    struct = program.receiver_struct(receiver, path)
    if not struct:
        return []
    return [t for t in _resolve_field(program, field_name, struct, arity, path, caller)
            if same_driver(path, program.functions[t].path)]


def _resolve_direct(name, path, globals_by_name, header_statics, locations, config_stubs=frozenset()) -> list[str]:
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
        unconditional = [n for n in statics if n not in config_stubs]
        if unconditional and _another_drivers(locations[candidates[0]], path):
            # ath9k's ieee80211_rx() is mac80211's inline, not the global a staging
            # driver defines under the same name: another driver's global is not linked in.
            # An inline under `#ifndef CONFIG_GPIOLIB` is the stub of a subsystem's global
            # (drivers/gpio's devm_gpiod_get()), which every config with it links instead.
            return unconditional[:1]
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
    """The structs (name -> every definition, in file order), the typedefs (the first
    file's wins) and the ALL_CAPS function-like macros of the program's files."""
    structs = defaultdict(list)
    typedefs: dict[str, str] = {}
    for ff in program.files:
        for sd in ff.structs:
            structs[sd.name].append((ff.path, sd))
        for alias, target in ff.typedefs.items():
            typedefs.setdefault(alias, target)
    program.structs = dict(structs)
    program.typedefs = typedefs
    program.macro_names = {name for ff in program.files for name in ff.func_macros if name.isupper()}


def _defines_hash(header: FileFacts, crc: int) -> bool:
    """Does the header #define a name of this CRC-32 (FileFacts.macro_hashes, sorted)?"""
    if not header.macro_hashes:
        return False
    hashes = memoryview(header.macro_hashes).cast("I")
    i = bisect.bisect_left(hashes, crc)
    return i < len(hashes) and hashes[i] == crc


def _defines(ff: FileFacts, table: str, name: str) -> bool:
    """Does the file's `table` hold `name`? A file's #defines are not unpacked unless
    the CRC-32s of the names it defines (every one, see extract.file._macro_facts) say
    it may define this one."""
    if table != "defines":
        return name in getattr(ff, table)
    return ff.packed_defines is not None and _defines_hash(ff, zlib.crc32(name.encode())) and name in ff.defines


def _first_defining(files, name: str):
    """(path, body) of the first of `files` that #defines `name`, or None."""
    return next(((f.path, f.defines[name]) for f in files if _defines(f, "defines", name)), None)


_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9_]*")  # what an #include is searched for: a macro or enum constant
INCLUDE_DEPTH = 3  # #include levels a name is looked for through
INCLUDE_FILES = 400  # headers read at most, for one name and file


def _is_shared_header(path: str) -> bool:
    """Headers whose definitions any file may use: include/, arch/x86/include/ (x86_64 is the target)."""
    return path.startswith(("include/", "arch/x86/include/"))


def _bindings(program: Program) -> None:
    functions = program.functions
    for ff in program.files:
        for b in ff.bindings:
            static = functions.get(f"{ff.path}::{b.function}")  # the file's own, first
            if static is not None:
                node = static.node
            else:
                candidates = [n for n in program.by_name.get(b.function, ()) if "::" not in n]
                if len(candidates) != 1:
                    continue
                node = candidates[0]
            program.bindings[b.field].append((b.struct_type, node, ff.path, b.line))


def _resolve_field(program: Program, field_name: str, receiver_type: str, arity: int, path: str,
                   caller: str) -> list[str]:
    """Targets of `x->field(...)` with `arity` arguments, narrowly: by struct type, else
    by field name nearby; a function whose parameter count differs from the call's
    arguments is not one, nor is the caller itself: cxl_pci_slot_reset() calling
    `err_handler->slot_reset()` hands the event to the AFU drivers' handlers, not
    back to itself."""
    return [t for t in _field_candidates(program, field_name, receiver_type, path)
            if t != caller and _accepts(program.functions[t].fn, arity)]


def _accepts(fn: FunctionFacts, arity: int) -> bool:
    # Extraction keeps no `...`: a variadic callback counts its named parameters only.
    return len(fn.params) == arity


def _typed_candidates(program: Program, field_name: str, receiver_type: str, typed: set[str], path: str) -> list[str]:
    """The functions bound to `receiver_type`'s `field_name` nearest to `path` (as
    _nearest_definitions() ranks them), if few: flexcop-pci's `fc->read_ibi_reg()` is
    flexcop-pci's, not flexcop-usb's.

    The nearest are those under the longest leading part of the caller's directory
    that any of them lies under: ranking the functions one by one at each call was a
    third of linking the edges, with ops fields (`ndo_open`) bound by a thousand drivers
    and called from a thousand sites."""
    key = (field_name, receiver_type)
    under = program._typed_index.get(key)
    if under is None:
        under = program._typed_index[key] = {}  # directory prefix -> the functions under it, sorted
        for node in sorted(typed):
            parts = program.functions[node].path.split("/")[:-1]
            for depth in range(len(parts) + 1):
                under.setdefault("/".join(parts[:depth]), []).append(node)
    parts = path.split("/")[:-1]
    for depth in range(len(parts), -1, -1):
        nearest = under.get("/".join(parts[:depth]))
        if nearest is not None:
            return nearest if len(nearest) <= MAX_FIELD_CANDIDATES else []
    return []


def _field_candidates(program: Program, field_name: str, receiver_type: str, path: str) -> list[str]:
    index = program._field_index.get(field_name)
    if index is None:
        bound = program.bindings.get(field_name)
        if not bound:
            return []
        by_struct: dict[str, set[str]] = defaultdict(set)
        by_file: dict[str, set[str]] = defaultdict(set)
        for struct, node, bpath, _ in bound:
            by_struct[struct].add(node)
            by_file[bpath].add(node)
        index = program._field_index[field_name] = (by_struct, by_file)
    by_struct, by_file = index
    if receiver_type:
        typed = by_struct.get(receiver_type)
        if typed:
            return _typed_candidates(program, field_name, receiver_type, typed, path)
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
