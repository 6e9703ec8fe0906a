"""Linked programs kept on disk: a scan after a small change starts from the program
the scan before it linked, relinked for the changed files (relink.py), instead of
loading every file's facts and linking the whole tree again.

A full scan with a cache of a whole git checkout, or of a whole revision of one
(a diff's base side), saves its program right after linking, before any analysis
fills it, keyed by the analyzer's code and the content id of every file;
it is written by a forked child while the parent goes on analysing, and the
parent waits for it before returning. Saving then costs a whole-tree scan no wall
time unless its analysis is shorter than the write (about 25 s for 6.1). But the
child's memory is its own: pickling touches every object of the program, and
CPython writes the reference count of each, so every page the child reads becomes
a copy; its pickling memo comes on top. For 6.1 the two processes held 3.25 GB
together (3,102 MiB, the sum of their Pss), where the parent alone peaks at
1.84 GB. So the child is forked only where the system (and the scan's cgroup)
has room for that copy beside the parent's analysis (FORK_ROOM); elsewhere the
parent writes the program itself before analysing, and the scan takes that much longer
(`keep` in --stats), unless even that memory is not free (WRITE_ROOM): then no
program is kept, the scan warns, and the next one links in full. At most `KEPT`
programs stay in a cache; the oldest go first.

What is kept besides the program: the warnings of files rejected for their
content (they are in no file's facts) and the extraction counts. Each file's blob
store (cache.BlobStore) pickles as its token only; where its entry lies is kept
beside it and attached again on load, so bodies are still read from the entries
when first used.

How a program is pickled (_ProgramPickler): each file goes as the items of a
_FileBuilder, its own fields then each of its functions' fields in turn, and every
other reference to a function (field writers, registrars) as (its file, its
index). Pickled one by one, each of the 626,000 functions of 6.1 left its 20-field
argument tuple in the unpickler's memo until the read ended, and then 200-byte
holes no later object of the scan fills: 100 MB of a whole-tree scan's peak. As
one flat tuple per file, the tuples stayed in the pickler's memo to the end of the
write, and in the unpickler's to the end of the read (6.1: 49 MiB of the write's
peak, 110 MiB of the read's); as items they are read a thousand at a time.
The definitions (Program.functions) and the call graph's callees and callers go
as a few flat tuples each, of nodes and indexes: the pickler's memo holds every
object it wrote until the end, and one entry per definition and per _FewCalls,
with their argument tuples, took it past 13 million entries for 6.1, where its
table doubled to 537 MB (805 MB as it did): writing peaked 950 MiB above the
program, now 466 MiB (9.2 million entries). Before pickling, the writer makes
equal strings and tuples of different files one object (share_equal_values):
each file's facts came from an entry of their own, with their own copy of every
name.
"""

from __future__ import annotations

import copyreg
import ctypes
import gc
import hashlib
import operator
import os
import pickle
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cached_property, partial
from itertools import chain, islice, starmap
from operator import attrgetter
from pathlib import Path
from typing import Callable

from .cache import FactsCache
from .facts import Binding, FileFacts, FunctionFacts, StructDef
from .link import (_NO_ATTRIBUTES, NO_CALLS, CallGraph, FunctionRef, Program, Resolver, _FewCalls, _Functions, forget_memos,
                   memos_set_aside)
from .results import code_key, write_pickle

KEPT = 2  # linked programs a cache keeps
# The memory a forked writer needs free, per byte of the parent's RSS at the fork: its
# copy of the pages it pickles, its memo and argument tuples (6.1: the two held 3,102
# MiB together, 1,440 of it the parent's at the fork), and what the parent's analysis
# adds meanwhile (0.3 GB). (1.4 would do for 6.1 now: the margin is kept.)
FORK_ROOM = 1.6
# The memory writing the program in this process needs free, per byte of its RSS: the
# pickler's memo and share_equal_values' tables (6.1: the scan peaked at 1,861 MiB,
# 421 MiB above its 1,440 MiB at the save, 0.29). With less free, it is not kept:
# the next scan links in full, rather than this one pushing the system out of memory.
WRITE_ROOM = 0.45
STALE_SECONDS = 3600  # a partial write this old is no scan's


@dataclass
class Linked:
    """What a scan kept of its link: the program, the warnings of its rejected files by
    relative path, and its extraction counts (extract.driver.ExtractStats)."""

    program: Program
    rejected: dict[str, str] = field(default_factory=dict)
    stats: object = None
    # relative path -> (cache entry, offset of its blob region) of each file's store
    stores: dict[str, tuple[str, int]] = field(default_factory=dict)


def program_key(file_keys: dict[str, str]) -> str:
    """The key of the program linked from these files (relative path -> content id)."""
    h = hashlib.sha1(code_key().encode())
    for rel in sorted(file_keys):
        h.update(f"{rel}\0{file_keys[rel]}\n".encode())
    return h.hexdigest()


class LinkStore:
    """The programs a cache keeps: `KEY.pkl` (a Linked) and `KEY.files` (the file keys it
    was linked from, read alone to tell which revision a program is of)."""

    def __init__(self, cache: FactsCache):
        self.directory = cache.directory / "programs" if cache.directory is not None else None
        self._writer: int | None = None  # the forked child writing a program
        self.written_here = False  # the last save() wrote in this process: too little memory to fork
        # why the last save() kept nothing: too little memory even to write in this process
        self.not_kept: str | None = None

    def _file(self, key: str) -> Path:
        return self.directory / f"{key}.pkl"

    def has(self, file_keys: dict[str, str]) -> bool:
        return self.directory is not None and self._file(program_key(file_keys)).is_file()

    def save(self, linked: Linked, file_keys: dict[str, str]) -> None:
        """Write `linked` under the files' key: in a forked child (wait() reaps it), or in
        this process where the memory for the child's copy is not free (written_here), or
        not at all where not even the memory for writing here is (not_kept says why)."""
        if self.directory is None or not hasattr(os, "fork"):
            return
        linked.stores = {ff.path: (ff.store.path, ff.store.base) for ff in linked.program.files
                         if getattr(ff.store, "path", None)}
        target = self._file(program_key(file_keys))
        available, resident = available_memory(), resident_memory()
        self.written_here, self.not_kept = False, None
        if available is not None and available < WRITE_ROOM * resident:
            self.not_kept = (f"the linked program is not kept for the next scan: {available >> 20} MiB of memory "
                             f"free, writing it needs about {int(WRITE_ROOM * resident) >> 20} MiB")
            return
        self.written_here = available is not None and available < FORK_ROOM * resident
        if self.written_here:
            with memos_set_aside(linked.program):
                self._keep(linked, file_keys, target)
            return
        pid = os.fork()
        if pid:
            self._writer = pid
            return
        status = 1
        try:
            # dropped, not set aside: the child needs them no more, and the link filled
            # them with 900,000 objects (6.1) that would stay in its memory as it writes
            forget_memos(linked.program)  # filled again when asked, if a scan asks
            status = 0 if self._keep(linked, file_keys, target) else 1
        finally:
            os._exit(status)  # the child runs nothing of the parent's: no atexit, no finally above

    def _keep(self, linked: Linked, file_keys: dict[str, str], target: Path) -> bool:
        """Share the program's equal values and write it; False (with a warning) if it failed."""
        try:
            program = linked.program
            share_equal_values(program.files, tuple(getattr(program, name) for name in _SHARED_INDEXES))
            self._write(linked, file_keys, target)
            return True
        except Exception as err:  # the scan goes on; the next one links in full
            sys.stderr.write(f"allocscan: warning: the linked program was not kept ({type(err).__name__}: {err})\n")
            return False

    def _write(self, linked: Linked, file_keys: dict[str, str], target: Path) -> None:
        write_pickle(target.with_suffix(".files"), file_keys)
        write_pickle(target, linked, lambda fh: _ProgramPickler(fh, linked.program))
        kept = sorted(self.directory.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEPT:]:
            old.unlink(missing_ok=True)
            old.with_suffix(".files").unlink(missing_ok=True)
        for left in self.directory.glob("*.tmp"):  # a write killed midway (an interrupted scan)
            if time.time() - left.stat().st_mtime > STALE_SECONDS:
                left.unlink(missing_ok=True)

    def wait(self) -> None:
        """Wait for the program being written, if any; say so if a signal killed its writer
        (the kernel's OOM killer: the child's own failures are warned of by the child)."""
        if self._writer is not None:
            _, status = os.waitpid(self._writer, 0)
            self._writer = None
            if os.WIFSIGNALED(status):
                signal = os.WTERMSIG(status)
                sys.stderr.write(f"allocscan: warning: the linked program was not kept (its writer was killed by "
                                 f"signal {signal}{', out of memory?' if signal == 9 else ''})\n")

    def load(self, file_keys: dict[str, str], sources: dict[str, str], config=None) -> Linked | None:
        """The program linked from these files, with each file's store attached to its
        cache entry (`sources`: relative path -> the file, to extract it again if its
        entry is gone); None when none is kept or it cannot be read."""
        if self.directory is None:
            return None
        target = self._file(program_key(file_keys))
        linked = _read_ahead.pop(str(target), None)
        drop_read_ahead()  # (before reading another: two programs would be held at once)
        if linked is None:
            linked = _read(target)
        if linked is None:
            return None
        try:
            os.utime(target)  # used: the last to go (KEPT)
        except OSError:
            pass
        for ff in linked.program.files:
            where = linked.stores.get(ff.path)
            if where is not None and ff.store is not None:
                ff.store.attach(where[0], where[1], sources.get(ff.path), ff.path, ff.sha, config)
        return linked

    def kept_for(self, of: Callable[[dict[str, str]], bool]) -> Path | None:
        """The newest kept program whose file keys `of` accepts."""
        return next((program for program, file_keys in self._kept() if of(file_keys)), None)

    def nearest(self, file_keys: dict[str, str], most: int) -> dict[str, str] | None:
        """The file keys of the kept program linked from the same files as `file_keys`
        with the fewest of them changed, at most `most` (a relink makes it the program of
        `file_keys`); None when there is none."""
        best, fewest = None, most + 1
        for _, kept in self._kept():
            if kept.keys() != file_keys.keys():
                continue  # another tree's, or files added or removed since
            changed = sum(1 for rel, sha in file_keys.items() if kept[rel] != sha)
            if changed < fewest:
                best, fewest = kept, changed
        return best

    def _kept(self):
        """(program file, its file keys) of the kept programs, newest first, of those this
        analyzer's code kept: one an older allocscan kept of the same files is in the same
        directory (its facts' key did not change), and load() cannot use it."""
        for program in self._newest_first():
            try:
                with open(program.with_suffix(".files"), "rb") as fh:
                    file_keys = pickle.load(fh)
            except (OSError, pickle.UnpicklingError, EOFError, ValueError):
                continue
            if program.stem == program_key(file_keys):
                yield program, file_keys

    def newest(self) -> Path | None:
        """The program kept last (or used last), whichever files it is of."""
        return next(iter(self._newest_first()), None)

    def _newest_first(self) -> list[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)

    def read_file_ahead(self, program: Path, stop: Callable[[], bool] | None = None) -> bool:
        """Read the kept program in file `program` now, for a load() to come (a diff reads
        the base's while the base side is scanned in another process); whether it was
        read. `stop`, asked as it is read, ends the read when it says the program is
        not needed after all."""
        if str(program) in _read_ahead:
            return True
        linked = _read(program, stop)
        if linked is not None:
            _read_ahead[str(program)] = linked
        return linked is not None


# program file -> the Linked read from it ahead of its load(): see LinkStore.read_file_ahead()
_read_ahead: dict[str, Linked] = {}


def drop_read_ahead() -> None:
    """Let go of what was read ahead and not loaded (a scan that links in full)."""
    for linked in _read_ahead.values():
        linked.program.forwarding = None  # the one cycle: freed now, not by the collector
    _read_ahead.clear()


_FILE_FIELDS = [f.name for f in fields(FileFacts) if f.name != "functions"]
_file_fields = attrgetter(*_FILE_FIELDS)
_FUNCTION_FIELDS = [f.name for f in fields(FunctionFacts)]
_function_fields = attrgetter(*_FUNCTION_FIELDS)


# Program fields share_equal_values() walks after the files: the tables link() makes
# from the facts' values (see its docstring), each walked in place
_SHARED_INDEXES = ("field_writers", "bindings", "structs", "registrar_calls", "context_bindings", "indirect_targets",
                   "static_variants", "typedefs", "macro_names")
# The facts objects every one of which hangs from the files (a table holds some)
_WALKED_WITH_FILES = frozenset({FileFacts, FunctionFacts, StructDef, Binding})
# Fields share_equal_values() leaves: where the packed parts lie, the parts themselves
# (references, or what a stage unpacked: it is pickled as it is), and raw bytes.
_NOT_SHARED = frozenset({"store", "packed", "packed_calls", "macro_hashes"})
_shared_fields: dict[type, tuple[str, ...]] = {}
_PLAIN = frozenset({str, int, type(None)})  # what a shared tuple may hold (besides such tuples)


def share_equal_values(files: list[FileFacts], indexes: tuple = ()) -> None:
    """Make equal strings and tuples of the files' facts one object, across files: the
    program is then pickled, and read back, with each value once. Then the same in
    `indexes`, the program's tables made from the facts (_SHARED_INDEXES): a table
    keyed by a facts tuple (field_writers' (struct, field) pairs) holds the shared
    one, not the one it was made with (the walk replaced that in the facts: kept
    alive by the table alone, it was pickled a second time, with its strings).

    Each file's facts were unpickled from an entry of their own, so the values every
    file holds are an object per file. FileFacts.share_across() shares the names,
    pairs, positions and whole table values as the scan loads them, with C-level calls
    where time counts; the rest stays an object per file (the tags of value IR nested
    in distinct values: `"num"` in 22,000 files of 6.1). The writer's child has time
    (the parent analyses meanwhile; 15 s for 6.1, whose 3.7 million strings hold 1.8 million values, and
    2.8 million tuples 1.8 million): a kept program of 6.1 then reads back 140 MB
    smaller (1,669 MB) and about a second faster. Lists, dicts and sets are
    changed in place and facts objects field by field, so every object the program's
    indexes refer to stays the same one."""
    first: dict = {}
    same = first.setdefault
    # id(tuple) -> its shared value: IR shares subtrees (an enum's chain). Each tuple is
    # held so that its id stays its own while the walk replaces it (a list of them: a
    # pair per tuple would be 2.8 million small blocks, left as holes once freed).
    done: dict[int, tuple] = {}
    held: list[tuple] = []
    # Tuples only of strings, ints, None and such tuples are shared: (1,) == (True,) ==
    # (1.0,), and sharing must not turn one into another. The ids of the others:
    mixed: set[int] = set()

    def share(value):
        kind = type(value)
        if kind is str:
            return same(value, value)
        if kind is tuple:
            got = done.get(id(value))
            if got is not None:
                return got
            items = tuple(map(share, value))
            if all(map(operator.is_, items, value)):
                items = value
            if _PLAIN.issuperset(map(type, items)):
                # a leaf (of the IR) is the first equal one, however often it is met: not
                # remembered (half the tuples: done and held took 560 MB beside the program)
                return same(items, items)
            if all(type(item) in _PLAIN or (type(item) is tuple and id(item) not in mixed) for item in items):
                got = same(items, items)
            else:
                got = items
                mixed.add(id(got))
            done[id(value)] = got
            held.append(value)
            held.append(got)
            return got
        if kind is list:
            value[:] = map(share, value)
        elif kind is dict or kind is defaultdict:
            if value:
                items = [(share(k), share(v)) for k, v in value.items()]
                value.clear()
                value.update(items)
        elif kind is set:
            items = list(map(share, value))
            value.clear()
            value.update(items)
        elif kind is frozenset:
            return frozenset(map(share, value))
        elif kind not in skipped:
            for name in _shared_fields_of(kind):
                setattr(value, name, share(getattr(value, name)))
        return value

    skipped: frozenset = frozenset()
    for ff in files:
        share(ff)
    skipped = _WALKED_WITH_FILES  # (the tables' facts objects are the files' own, walked)
    for index in indexes:
        share(index)
    first.clear()  # the tables go back to the system now, before the pickler's memo grows
    done.clear()
    held.clear()
    mixed.clear()
    _give_back_free_memory()


def _shared_fields_of(kind: type) -> tuple[str, ...]:
    """The fields of a facts dataclass share_equal_values() walks; none of other objects."""
    names = _shared_fields.get(kind)
    if names is None:
        names = tuple(f.name for f in fields(kind) if f.name not in _NOT_SHARED and f.type not in ("int", "bool")) \
            if is_dataclass(kind) else ()
        _shared_fields[kind] = names
    return names


class _ProgramPickler(pickle.Pickler):
    """Pickles a kept program's files as the items of a _FileBuilder (their functions'
    fields flat), and its definitions (Program.functions) and its call graph's
    callees and callers as flat tuples of nodes and indexes (see the module's
    docstring)."""

    def __init__(self, fh, program: Program):
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.program = program
        # id(function) -> (its file, its index), for the program's files
        self.places = {id(fn): (ff, i) for ff in program.files for i, fn in enumerate(ff.functions)}
        # Pickled in place of Program.functions (the resolver's too) and of the graph's
        # adjacencies: made when first pickled, and held, so that every reference to
        # one is the same in the pickle, and one object read back
        self._definitions: _Rebuilt | None = None
        self._adjacencies: dict[str, _Rebuilt] | None = None

    def reducer_override(self, obj):
        kind = type(obj)
        if kind is FileFacts:
            # its values as the items of a _FileBuilder (APPENDS, a thousand at a time):
            # never one tuple, that the memo would hold to the end of the write
            return (_file_builder, (len(_FILE_FIELDS) + len(obj.functions) * len(_FUNCTION_FIELDS),), None,
                    chain(_file_fields(obj), chain.from_iterable(map(_function_fields, obj.functions))))
        if kind is FunctionFacts:
            place = self.places.get(id(obj))
            if place is not None:  # its file is pickled whole, here or before: the function is its own
                return _function_of, place
        elif kind is Program or kind is Resolver:
            if obj.functions is self.program.functions and self.definitions() is not None:
                return copyreg.__newobj__, (kind,), {**obj.__dict__, "functions": self._definitions}
        elif kind is CallGraph and obj is self.program.graph:
            flat = self.adjacencies()
            if flat is not None:
                # (networkx's views, cached on the graph as asked, each hold an adjacency: made again when asked)
                state = {name: value for name, value in obj.__dict__.items() if name not in _GRAPH_VIEWS}
                return copyreg.__newobj__, (kind,), {**state, **flat, "__networkx_cache__": {}}
        # (exact dicts, lists and tuples never come here: the C pickler saves them itself)
        return NotImplemented

    def definitions(self) -> _Rebuilt | None:
        """Program.functions as three tuples: its nodes, their files' indexes, and their
        functions' indexes in those files. Pickled one by one, each of the 627,000
        definitions of 6.1 put itself, its argument tuple, its function and the
        function's (file, index) in the pickler's memo (see the module's docstring).
        None when a definition is not of the program's files: then pickled as it is."""
        if self._definitions is None:
            files = self.program.files
            file_index = {id(ff): i for i, ff in enumerate(files)}
            file_indexes, indexes, places = [], [], self.places
            for node, ref in self.program.functions.items():
                place = places.get(id(ref.fn))
                if place is None or place[0] is not ref.file or ref.node is not node:
                    return None
                file_indexes.append(file_index[id(ref.file)])
                indexes.append(place[1])
            self._definitions = _Rebuilt(_definitions_from, (files, tuple(self.program.functions), tuple(file_indexes),
                                                             tuple(indexes)))
        return self._definitions

    def adjacencies(self) -> dict[str, _Rebuilt] | None:
        """The call graph's attributes that hold its adjacencies, each flat
        (_flat_adjacency; its 782,000 _FewCalls of 6.1 were 2.3 million entries of the
        memo); None when an edge has attributes of its own (then pickled as it is)."""
        if self._adjacencies is None:
            graph = self.program.graph
            succ, pred = _flat_adjacency(graph._succ), _flat_adjacency(graph._pred)
            if succ is None or pred is None or graph._adj is not graph._succ:
                return None
            callees = _Rebuilt(_adjacency_from, succ)
            self._adjacencies = {"_succ": callees, "_adj": callees, "_pred": _Rebuilt(_adjacency_from, pred),
                                 "_node": _Rebuilt(_Functions, (callees,))}
        return self._adjacencies


# The views networkx caches on a graph (functools.cached_property): `in_degree` and the like
_GRAPH_VIEWS = frozenset(name for klass in CallGraph.__mro__ for name, attribute in vars(klass).items()
                         if isinstance(attribute, cached_property))


class _Rebuilt:
    """Pickled as `make(*args)`: what _ProgramPickler pickles in place of a dict of the
    program (the C pickler saves an exact dict itself, without asking its
    reducer_override)."""

    def __init__(self, make: Callable, args: tuple):
        self.make, self.args = make, args

    def __reduce__(self):
        return self.make, self.args


def _flat_adjacency(adjacency: dict) -> tuple | None:
    """A call graph's callees or callers (CallGraph._succ or _pred) as three tuples: the
    nodes, how each holds its calls (0: the shared NO_CALLS, n: n of them in a
    _FewCalls, -n - 1: n in a dict of its own), and all their calls in turn. None
    when an edge has attributes of its own (none has: CallGraph): then the graph is
    pickled as it is."""
    counts, calls = [], []
    count, extend = counts.append, calls.extend
    for held in adjacency.values():
        kind = type(held)
        if held is NO_CALLS:
            count(0)
        elif kind is _FewCalls and held:
            count(len(held))
            extend(held)
        elif kind is dict and all(value is _NO_ATTRIBUTES for value in held.values()):
            count(-len(held) - 1)
            extend(held)
        else:
            return None
    return tuple(adjacency), tuple(counts), tuple(calls)


def _adjacency_from(nodes: tuple, counts: tuple, calls: tuple) -> dict:
    """The adjacency _flat_adjacency() flattened."""
    taken, few, none, no_attributes = iter(calls), _FewCalls, NO_CALLS, _NO_ATTRIBUTES
    return dict(zip(nodes, [few(islice(taken, count)) if count > 0 else
                            none if count == 0 else dict.fromkeys(islice(taken, -count - 1), no_attributes)
                            for count in counts]))


def _definitions_from(files: list[FileFacts], nodes: tuple, file_indexes: tuple, indexes: tuple) -> dict:
    """The Program.functions _ProgramPickler.definitions() flattened (C calls for each
    of 627,000 definitions, not a function of Python's: they are read on every diff)."""
    in_files = list(map(files.__getitem__, file_indexes))
    functions = map(operator.getitem, map(attrgetter("functions"), in_files), indexes)
    return dict(zip(nodes, map(partial(tuple.__new__, FunctionRef), zip(in_files, functions, nodes))))


class _FileBuilder(FileFacts):
    """A FileFacts being read back from a kept program: the unpickler extends it with
    the values _ProgramPickler wrote for it (its fields but `functions`, then each
    function's fields in turn), a thousand at a time.
    With the last it takes its fields and becomes a FileFacts: the same object, that
    the unpickler's memo gives to every later reference to the file. Its layout is
    FileFacts' own (no slot added), so that its class can be set to FileFacts."""

    __slots__ = ()

    def extend(self, values: list) -> None:
        pending, expected = _files_being_read[id(self)]
        pending.extend(values)
        if len(pending) < expected:
            return
        del _files_being_read[id(self)]
        n_file = len(_FILE_FIELDS)
        for name, value in zip(_FILE_FIELDS, pending):
            setattr(self, name, value)
        in_turn = islice(pending, n_file, None)
        # (zip over one iterator n times: each function's n fields, in a tuple zip reuses)
        self.functions = list(starmap(FunctionFacts, zip(*[in_turn] * len(_FUNCTION_FIELDS))))
        self.__class__ = FileFacts

    def append(self, value) -> None:  # (APPEND, one item: the C unpickler calls extend() for it too)
        self.extend([value])


# id(_FileBuilder) -> (its values so far, how many it is given): emptied as each file is
# read whole, and when a read ends (_read)
_files_being_read: dict[int, tuple[list, int]] = {}


def _file_builder(expected: int) -> _FileBuilder:
    """A FileFacts to be given its `expected` values (_FileBuilder.extend)."""
    ff = _FileBuilder.__new__(_FileBuilder)
    _files_being_read[id(ff)] = ([], expected)
    return ff


def _function_of(ff: FileFacts, index: int) -> FunctionFacts:
    return ff.functions[index]


def resident_memory() -> int:
    """This process's resident memory now, in bytes (0 where /proc is not)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def available_memory(root: str = "/") -> int | None:
    """Bytes this process can still take: the system's MemAvailable, or less where its
    cgroup (v2 `memory.max`, or v1 `memory.limit_in_bytes`), or one above it, has a
    limit closer to its usage; None where neither is known (not Linux)."""
    roots = Path(root)
    found = []
    try:
        for line in (roots / "proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    found.extend(_cgroup_room(roots))
    return min(found) if found else None


def _cgroup_room(roots: Path) -> list[int]:
    """Limit minus usage of this process's cgroup and of each one above it that has a
    limit. A cgroup's usage counts the page cache its reads filled (a whole-tree scan
    reads 2 GB of facts entries), which the kernel gives back before it kills: the
    inactive file pages are not counted, as container runtimes count a working set."""
    room = []
    try:
        lines = (roots / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        return room
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2: one hierarchy
            base, limit_file, usage_file, cache = roots / "sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"
        elif "memory" in controllers.split(","):
            base, limit_file, usage_file, cache = (roots / "sys/fs/cgroup/memory", "memory.limit_in_bytes",
                                                   "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        here = base / path.lstrip("/")
        while True:
            try:
                limit = (here / limit_file).read_text().strip()
                if limit != "max" and int(limit) < 1 << 60:  # v1 writes "no limit" as a huge number
                    usage = int((here / usage_file).read_text()) - _stat(here / "memory.stat", cache)
                    room.append(max(0, int(limit) - usage))
            except (OSError, ValueError):
                pass
            if here == base or base not in here.parents:
                break
            here = here.parent
    return room


def _stat(path: Path, name: str) -> int:
    """A counter of a cgroup's memory.stat; 0 when it has none."""
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _give_back_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's malloc_trim): the
    unpickler's memo held each file's flat tuple to the end of the read."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc: its free pages stay
        pass


class _Stopped(Exception):
    """A read ahead its `stop` ended."""


class _StoppableFile:
    """A file pickle reads through, asking `stop` every STOP_EVERY reads (a read is a
    pickle frame, 64 KB: a program of 6.1 is about 5,600 of them)."""

    STOP_EVERY = 64

    def __init__(self, fh, stop: Callable[[], bool]):
        self.fh, self.stop, self.reads = fh, stop, 0

    def _asked(self) -> None:
        self.reads += 1
        if self.reads % self.STOP_EVERY == 0 and self.stop():
            raise _Stopped

    def read(self, size: int = -1) -> bytes:
        self._asked()
        return self.fh.read(size)

    def readinto(self, buffer) -> int:
        self._asked()
        return self.fh.readinto(buffer)

    def readline(self) -> bytes:
        return self.fh.readline()


def _read(target: Path, stop: Callable[[], bool] | None = None) -> Linked | None:
    """The Linked kept in `target`; None if it cannot be read,
    or `stop` said to stop reading it.
    The collector is kept off while it is read, and what was read is frozen (never
    walked again): a diff reads ahead before its scan turns the collector off
    (pipeline.run_scan), and collections walking the millions of objects as they
    came made the read four times slower."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with open(target, "rb") as fh:
            linked = pickle.load(fh if stop is None else _StoppableFile(fh, stop))
        _give_back_free_memory()
    except Exception:  # stopped; or a partial file, or one another version of the analyzer
        return None    # kept (a diff's first guess, diff._read_base_program): other fields
    finally:
        _files_being_read.clear()  # (a read ended midway leaves its files there)
        if collecting:
            gc.freeze()
            gc.enable()
    return linked
