"""A relink (relink.py) builds the program link() builds: random small edits to a
tree of all the corpora, each relinked from the program of the tree before it and
compared, part by part and in order, with a link of the edited tree."""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import pytest

from allocscan.cache import FactsCache
from allocscan.discover import discover
from allocscan.extract import extract_file
from allocscan.extract.driver import extract_all
from allocscan.link import Program, link, macros_defined_in
from allocscan.relink import lazy_and_kept, program_fields, relink

from .conftest import CORPORA
from .test_incremental import EDITS, FUNCTION_START, _sources


def shift_lines(repo: Path, rng: random.Random) -> str:
    """A comment above a file's code: every line below it moves."""
    path = rng.choice(_sources(repo))
    path.write_text("/* moved down */\n\n" + path.read_text("latin-1"), "latin-1")
    return f"{path.name}: lines moved"


def add_static_function(repo: Path, rng: random.Random) -> str:
    """A new static function allocating under a lock, between two of the file's
    functions, calling one of them."""
    spots = [(p, m) for p in _sources(repo) if p.suffix == ".c"
             for m in FUNCTION_START.finditer(p.read_text("latin-1"))]
    path, m = rng.choice(spots)
    text = path.read_text("latin-1")
    added = (f"static void *relink_added(spinlock_t *lock)\n{{\n\tvoid *p;\n\n\tspin_lock(lock);\n"
             f"\tp = kmalloc(64, GFP_KERNEL);\n\t{m.group(1)}(NULL);\n\tspin_unlock(lock);\n\treturn p;\n}}\n\n")
    path.write_text(text[:m.start()] + added + text[m.start():], "latin-1")
    return f"{path.name}: relink_added() before {m.group(1)}()"


def remove_static_function(repo: Path, rng: random.Random) -> str:
    spots = []
    for p in _sources(repo):
        text = p.read_text("latin-1")
        for m in FUNCTION_START.finditer(text):
            end = text.find("\n}\n", m.end())
            if p.suffix == ".c" and m.group(0).startswith("static") and end > 0:
                spots.append((p, m, end + 3))
    path, m, end = rng.choice(spots)
    text = path.read_text("latin-1")
    path.write_text(text[:m.start()] + text[end:], "latin-1")
    return f"{path.name}: removed {m.group(1)}()"


def call_from_static(repo: Path, rng: random.Random) -> str:
    """A call added at the top of a static function: a leaf no more, it gets callers."""
    spots = [(p, m) for p in _sources(repo) if p.suffix == ".c"
             for m in FUNCTION_START.finditer(p.read_text("latin-1")) if m.group(0).startswith("static")]
    path, m = rng.choice(spots)
    text = path.read_text("latin-1")
    path.write_text(text[:m.end()] + "\tmsleep(1);\n" + text[m.end():], "latin-1")
    return f"{path.name}: a call in {m.group(1)}()"


RELINK_EDITS = EDITS + [shift_lines, add_static_function, remove_static_function, call_from_static]


def _facts(repo: Path, cache: Path):
    disc = discover([str(repo)])
    return extract_all(disc.files, disc.rel, FactsCache(cache), 1).facts


def snapshot(program: Program) -> dict:
    """Every product of the link, in its order, with facts named by place."""
    def fn_id(ref_or_none, fn=None):
        return None if fn is None else (fn.name, fn.line)

    functions = program.functions
    graph = program.graph
    r = program.resolver
    return {
        "files": [ff.path for ff in program.files],
        "functions": [(node, ref.file.path, ref.fn.name, ref.fn.line) for node, ref in functions.items()],
        # each definition's node is found from its facts (relinked files' too), and is the
        # very key of `functions`: edges and indexes hold that one string
        "same_objects": all(program.node_for(ref.fn, ref.file.path) is node is ref.node
                            for node, ref in functions.items()),
        # each node's adjacency in order (walks follow it); the nodes' own order is no
        # analysis's (none walks all the graph's nodes)
        "nodes": sorted(graph._node),
        "succ": sorted((n, list(graph._succ[n])) for n in graph._succ),
        "pred": sorted((n, list(graph._pred[n])) for n in graph._pred),
        # and its form: a relinked function's few calls are a tuple again, as link() leaves them
        "forms": sorted((n, type(graph._succ[n]).__name__, type(graph._pred[n]).__name__) for n in graph._node),
        "by_name": program.by_name,  # each name's nodes in order; the names' order is no one's
        "bindings": {k: list(v) for k, v in program.bindings.items() if v},
        "structs": list(program.structs.items()),
        "typedefs": program.typedefs, "macro_names": program.macro_names,
        "indirect": program.indirect_targets,
        "variants": program.static_variants,
        "writers": [(k, [(p, fn_id(None, fn)) for p, fn in v]) for k, v in program.field_writers.items()],
        "writers_form": {type(v).__name__ for v in program.field_writers.values()},  # tuples, as link() makes
        "flagged": program.nodes_flagged,
        "in_files": {m: [(ff.path, fn.name, fn.line) for ff, fn in v] for m, v in program.flagged_in_files.items()},
        "leaves": program.leaves,
        "macros_defined": program.macros_defined if program.macros_defined is not None
        else macros_defined_in(program.files),
        "registrar_calls": {p: [(fn.name, fn.line, repr(site)) for fn, site in v]
                            for p, v in program.registrar_calls.items()},
        "resolver": (r.functions is program.functions, r.header_statics, r.globals_by_name, r.locations,
                     r.uniform, r.never, r.header_only, r.variant_names),
        "summaries": [(node, ref.fn.callees, ref.fn.flags, [repr(c) for c in ref.fn.calls])
                      for node, ref in functions.items()],
    }


@pytest.fixture
def tree(tmp_path):
    repo = tmp_path / "tree"
    shutil.copytree(CORPORA, repo)
    return repo


@pytest.mark.parametrize("seed", range(6))
def test_a_relinked_program_is_the_linked_one(tree, tmp_path, seed):
    rng = random.Random(seed)
    cache = tmp_path / "cache"
    pristine = tmp_path / "pristine"
    shutil.copytree(tree, pristine)
    relinked = 0
    for edit in rng.sample(RELINK_EDITS, len(RELINK_EDITS)):
        shutil.rmtree(tree)
        shutil.copytree(pristine, tree)
        program = link(_facts(tree, cache))
        what = edit(tree, rng)
        head = _facts(tree, cache)
        before = {ff.path: ff.sha for ff in program.files}
        changed = [ff for ff in head if before.get(ff.path) != ff.sha]
        refused = len(head) != len(program.files) or relink(program, changed)
        if refused:
            continue
        relinked += 1
        assert snapshot(program) == snapshot(link(_facts(tree, cache))), what
    assert relinked >= len(RELINK_EDITS) // 2


def test_a_relink_refuses_a_changed_interface(tree, tmp_path):
    cache = tmp_path / "cache"
    program = link(_facts(tree, cache))
    header = next(p for p in _sources(tree) if p.suffix == ".h" and "#define" in p.read_text("latin-1"))
    header.write_text(header.read_text("latin-1") + "\n#define relink_new_macro(x) kmalloc(x, GFP_KERNEL)\n")
    rel = header.relative_to(tree).as_posix()
    changed = [ff for ff in _facts(tree, cache) if ff.path == rel]
    assert "macros" in relink(program, changed)


def test_every_program_field_is_kept_or_emptied_by_a_relink():
    # a field added to Program must be patched by relink or emptied by it
    lazy, kept = lazy_and_kept()
    assert lazy | kept == program_fields()
    assert not lazy & kept


ANON_HEADER = """#define DEMO_RX_SIZE 256

struct demo_ring {
	union {
		void (*kick)(struct demo_ring *ring);
		unsigned long raw;
	};
	struct {
		int (*refill)(struct demo_ring *ring, int n);
	} ops;
	char name[DEMO_RX_SIZE];
};
"""

ANON_USER = """#include <linux/slab.h>
#include "ring.h"

static int demo_refill(struct demo_ring *ring, int n)
{
	return kmalloc(n, GFP_ATOMIC) != NULL;
}

static const struct demo_ring demo_template = {
	.ops.refill = demo_refill,
};

int demo_poll(struct demo_ring *ring)
{
	return ring->ops.refill(ring, DEMO_RX_SIZE);
}
"""


def test_a_header_edit_above_an_anonymous_struct(tmp_path):
    """Anonymous structs are named by their offset (`demo_ring::anon@40`): an edit above
    one renames it, and a relink renames it too."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ring.h").write_text(ANON_HEADER)
    (tree / "ring.c").write_text(ANON_USER)
    cache = tmp_path / "cache"
    program = link(_facts(tree, cache))
    assert any("anon@" in name for name in program.structs)
    (tree / "ring.h").write_text("/* a comment */\n" + ANON_HEADER.replace("256", "(256 << 10)"))
    changed = [ff for ff in _facts(tree, cache) if ff.path == "ring.h"]
    assert relink(program, changed) is None
    assert snapshot(program) == snapshot(link(_facts(tree, cache)))


def _one_file_relinked(tmp_path, before: str, after: str, check_before) -> Program:
    """demo.c linked as `before` (`check_before(program)` asserts what it has), then
    relinked as `after`; the relinked program is the one link() makes of `after`."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "demo.c").write_text(before)
    cache = tmp_path / "cache"
    program = link(_facts(tree, cache))
    check_before(program)
    (tree / "demo.c").write_text(after)
    assert relink(program, [ff for ff in _facts(tree, cache) if ff.path == "demo.c"]) is None
    assert snapshot(program) == snapshot(link(_facts(tree, cache)))
    return program


def test_a_static_leaf_that_gains_a_call(tmp_path):
    """A static function that called nothing gets no incoming edges; once it calls
    something it does. Only its file's functions call it: a relink takes the change."""
    user = ("#include <linux/slab.h>\n\nstatic int demo_size(void)\n{\n\treturn 64;\n}\n\n"
            "void *demo_get(void)\n{\n\treturn kmalloc(demo_size(), GFP_ATOMIC);\n}\n")

    def a_leaf(program):
        assert "demo.c::demo_size" in program.leaves

    program = _one_file_relinked(tmp_path, user, user.replace("\treturn 64;", "\tmsleep(1);\n\treturn 64;"), a_leaf)
    assert "demo.c::demo_size" not in program.leaves
    assert list(program.graph.predecessors("demo.c::demo_size")) == ["demo_get"]


def test_a_static_defined_under_two_ifdef_branches(tmp_path):
    """The second definition's node is named by its line (`demo_stats@N`), and the stub
    is a leaf: an edit elsewhere in the file keeps both nodes, and the calls to the
    stub out of the graph, as a full link has them."""
    source = ("#include <linux/slab.h>\n#ifdef CONFIG_DEMO_STATS\nstatic void demo_stats(int *n)\n{\n"
              "\tkfree(n);\n}\n#else\nstatic inline void demo_stats(int *n) {}\n#endif\n\n"
              "int demo_run(int *n)\n{\n\tdemo_stats(n);\n\treturn 0;\n}\n")

    def a_leaf_named_by_line(program):
        assert "demo.c::demo_stats@8" in program.leaves

    _one_file_relinked(tmp_path, source, source.replace("return 0;", "return 3;"), a_leaf_named_by_line)


def test_loading_shares_equal_values_across_files_and_changes_none():
    """extract_all(): equal names, positions and tables of different files become one
    object as each file is loaded (FileFacts.share_across: pickle then writes a kept
    program's once), and every value stays what extraction made it."""
    disc = discover([str(CORPORA)])
    alone = [extract_file(disc.rel(p), p.read_bytes()) for p in disc.files]
    alone = [pickle.loads(pickle.dumps(ff)) for ff in alone]  # packed as a worker's are
    alone.sort(key=lambda ff: ff.path)
    callees = [c for ff in alone for fn in ff.functions for c in fn.callees]
    assert len({id(c) for c in callees}) > len(set(callees))  # as extracted: a name per file
    files = extract_all(disc.files, disc.rel, FactsCache(None), 1).facts
    assert files == alone
    names = [n for ff in files for fn in ff.functions for n in (fn.name, *fn.callees)]
    names += [n for ff in files for b in ff.bindings for n in (b.struct_type, b.field, b.function)]
    names += [n for ff in files for n in (*ff.init_names, *ff.exports, *ff.typedefs)]
    assert len({id(n) for n in names}) == len(set(names))
    # and the pairs of parameter lists, field writes and initializers' writes
    pairs = [p for ff in files for p in (*ff.init_writes, *(q for fn in ff.functions for q in (*fn.params,
                                                                                            *fn.field_writes)))]
    assert len(pairs) > len(set(pairs)) and len({id(p) for p in pairs}) == len(set(pairs))
    # and the values of the files' enumerator, array and function-like macro tables
    values = [v for ff in files for table in (ff.enums, ff.global_arrays, ff.func_macros, ff.globals)
              for v in table.values()]
    assert len(values) > len(set(values)) and len({id(v) for v in values}) == len(set(values))
    # and the strings inside those pairs, one-time regions, calls through pointers and macros
    strings = names + [s for ff in files for fn in ff.functions for p in (*fn.params, *fn.field_writes) for s in p]
    once = [s for ff in files for fn in ff.functions for _, _, state in fn.once for p in state for s in p]
    indirect = [s for ff in files for fn in ff.functions for call in fn.indirect for s in call[2:4]]
    macros = [p for ff in files for params, _ in ff.func_macros.values() for p in params]
    assert once and indirect and macros
    strings += once + indirect + macros
    assert len({id(s) for s in strings}) == len(set(strings))
    # and the functions' and bindings' positions (ints past 256 are an object each)
    positions = [n for ff in files for fn in ff.functions for n in (fn.line, fn.end_line, fn.start_byte, fn.end_byte)]
    positions += [n for ff in files for b in ff.bindings for n in (b.line, b.byte)]
    assert len(positions) > len(set(positions)) > 100
    assert len({id(n) for n in positions}) == len(set(positions))
    program = link(files)  # its indexes are keyed by the shared names
    names = [fn.name for ff in program.files for fn in ff.functions] + list(program.by_name)
    assert len({id(n) for n in names}) == len(set(names))


def test_loading_shares_one_read_only_empty_table_and_pickles_it_as_a_plain_one():
    """A table a file leaves empty (a header's functions, a driver's enums) is one object
    shared by every such file once loaded: a write to it fails instead of reaching every
    file, and pickling it (a kept program, a worker) writes a plain empty dict or list."""
    disc = discover([str(CORPORA)])
    files = extract_all(disc.files, disc.rel, FactsCache(None), 1).facts
    empty_enums = [ff.enums for ff in files if not ff.enums]
    empty_warnings = [ff.warnings for ff in files if not ff.warnings]
    assert len(empty_enums) > 1 and len({id(t) for t in empty_enums}) == 1
    assert len(empty_warnings) > 1 and len({id(t) for t in empty_warnings}) == 1
    with pytest.raises(TypeError):
        empty_enums[0]["DEMO"] = ("num", 1)
    with pytest.raises(TypeError):
        empty_warnings[0].append("demo.c: a warning")
    assert not empty_enums[0] and not empty_warnings[0]
    again = pickle.loads(pickle.dumps(next(ff for ff in files if not ff.enums)))
    assert type(again.enums) is dict and type(again.warnings) is list
    again.enums["DEMO"] = ("num", 1)  # a file of its own again
