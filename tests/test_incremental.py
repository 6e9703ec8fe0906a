"""Incremental analysis equals a full one: random small edits to a tree of all the
corpora, each diffed against the committed tree (the head side then analyses only
the change's cone, incremental.py), and its findings compared, witnesses included,
with a scan of the edited tree from scratch."""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from allocscan import diff, incremental, link, linkstore, pipeline
from allocscan.discover import DiscoverError
from allocscan.diff import _from_stored, checkout_scan_previous, diff_revisions
from allocscan.cache import FactsCache
from allocscan.link import MEMOS
from allocscan.linkstore import LinkStore, drop_read_ahead
from allocscan.pipeline import ScanOptions, run_scan
from allocscan.results import ResultCache

from .conftest import CORPORA, git

LOCK_DECL = "\nstatic DEFINE_SPINLOCK(edit_lock);\n"
ALLOCATION_LINE = re.compile(r"^\t+[^\n]*\b(?:kmalloc|kzalloc|kcalloc|vmalloc|alloc_skb|netdev_alloc_skb)\([^\n]*;$", re.M)
NUMBER_DEFINE = re.compile(r"^#define\s+\w+\s+\(?(\d+)\)?\s*$", re.M)
FUNCTION_START = re.compile(r"^(?:static\s+)?[a-z][\w \*]*\b(\w+)\([^;{]*\)\n\{\n", re.M)


def _sources(repo: Path) -> list[Path]:
    return sorted(p for p in repo.rglob("*") if p.suffix in (".c", ".h") and ".git" not in p.parts)


def flip_gfp(repo: Path, rng: random.Random) -> str:
    spots = [(p, m) for p in _sources(repo) for m in re.finditer(r"GFP_(ATOMIC|KERNEL)", p.read_text("latin-1"))]
    path, m = rng.choice(spots)
    text = path.read_text("latin-1")
    other = "GFP_KERNEL" if m.group(1) == "ATOMIC" else "GFP_ATOMIC"
    path.write_text(text[:m.start()] + other + text[m.end():], "latin-1")
    return f"{path.name}: {m.group(0)} -> {other}"


def _lock_around(path: Path, m: re.Match) -> str:
    """Put the line `m` matched in `path` under a spinlock the file declares."""
    text = path.read_text("latin-1")
    indent = m.group(0)[:len(m.group(0)) - len(m.group(0).lstrip("\t"))]
    locked = f"{indent}spin_lock(&edit_lock);\n{m.group(0)}\n{indent}spin_unlock(&edit_lock);"
    include_end = text.rfind("#include")
    at = text.find("\n", include_end) + 1 if include_end >= 0 else 0
    text = text[:m.start()] + locked + text[m.end():]
    path.write_text(text[:at] + LOCK_DECL + text[at:], "latin-1")
    return f"{path.name}: lock around {m.group(0).strip()}"


def add_lock(repo: Path, rng: random.Random) -> str:
    spots = [(p, m) for p in _sources(repo) if p.suffix == ".c" for m in ALLOCATION_LINE.finditer(p.read_text("latin-1"))]
    return _lock_around(*rng.choice(spots))


def lock_call(repo: Path, rng: random.Random) -> str:
    """A lock around a call of a function the tree defines: what it allocates below is
    then under the lock (the cone's context rule)."""
    sources = _sources(repo)
    defined = {m.group(1) for p in sources for m in FUNCTION_START.finditer(p.read_text("latin-1"))}
    spots = [(p, m) for p in sources if p.suffix == ".c"
             for m in re.finditer(r"^\t+(?:\w+ = )?(\w+)\([^\n]*\);$", p.read_text("latin-1"), re.M)
             if m.group(1) in defined]
    return _lock_around(*rng.choice(spots))


def grow_constant(repo: Path, rng: random.Random) -> str:
    """A stored or returned number made large: its readers and callers see it."""
    spots = [(p, m) for p in _sources(repo) if p.suffix == ".c"
             for m in re.finditer(r"(?:->\w+ = |\breturn )(\d+);", p.read_text("latin-1"))]
    path, m = rng.choice(spots)
    text = path.read_text("latin-1")
    path.write_text(text[:m.start(1)] + str(int(m.group(1)) * 4096 + 3) + text[m.end(1):], "latin-1")
    return f"{path.name}: {m.group(0)} x4096"


def remove_unlock(repo: Path, rng: random.Random) -> str:
    spots = [(p, m) for p in _sources(repo) if p.suffix == ".c"
             for m in re.finditer(r"^\t+spin_unlock\w*\([^\n]*\);\n", p.read_text("latin-1"), re.M)]
    path, m = rng.choice(spots)
    text = path.read_text("latin-1")
    path.write_text(text[:m.start()] + text[m.end():], "latin-1")
    return f"{path.name}: dropped {m.group(0).strip()}"


def grow_define(repo: Path, rng: random.Random) -> str:
    spots = [(p, m) for p in _sources(repo) for m in NUMBER_DEFINE.finditer(p.read_text("latin-1"))]
    path, m = rng.choice(spots)
    text = path.read_text("latin-1")
    path.write_text(text[:m.start(1)] + str(int(m.group(1)) * 1024 + 7) + text[m.end(1):], "latin-1")
    return f"{path.name}: {m.group(0).strip()} x1024"


def move_function(repo: Path, rng: random.Random) -> str:
    """A function moved to a new file of the same directory, with the first file's
    includes (a static one then is not seen by its old callers: still a change)."""
    spots = []
    for p in _sources(repo):
        if p.suffix != ".c":
            continue
        text = p.read_text("latin-1")
        for m in FUNCTION_START.finditer(text):
            end = text.find("\n}\n", m.end())
            if end > 0:
                spots.append((p, m.start(), end + 3))
    path, start, end = rng.choice(spots)
    text = path.read_text("latin-1")
    includes = "".join(line + "\n" for line in text.splitlines() if line.startswith("#include"))
    (path.parent / f"moved_{path.stem}.c").write_text(includes + "\n" + text[start:end], "latin-1")
    path.write_text(text[:start] + text[end:], "latin-1")
    return f"{path.name}: moved {text[start:text.find('(', start)].split()[-1]}()"


def delete_file(repo: Path, rng: random.Random) -> str:
    path = rng.choice(_sources(repo))
    path.unlink()
    return f"deleted {path.name}"


EDITS = [flip_gfp, add_lock, lock_call, remove_unlock, grow_define, grow_constant, move_function, delete_file]


def comparable(findings) -> list:
    out = []
    for f in findings:
        record = {k.name: getattr(f, k.name) for k in dataclasses.fields(f) if k.name not in ("site", "choice")}
        for steps in ("witness", "value_flow", "related"):
            record[steps] = [dataclasses.asdict(s) for s in record[steps]]
        out.append(record)
    return sorted(out, key=lambda r: (r["path"], r["line"], r["rule_id"], r["fingerprint"]))


@pytest.fixture
def tree(tmp_path):
    repo = tmp_path / "tree"
    shutil.copytree(CORPORA, repo)
    # a whole kernel tree: its Makefiles are read (modules, -D flags), and count as context
    shutil.copy(CORPORA / "whole_tree" / "Makefile", repo / "Makefile")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A", ".")
    git(repo, "commit", "-q", "-m", "base")
    return repo


# ALLOCSCAN_INCREMENTAL_SEEDS=40 runs more rounds of random edits (a deeper check before a
# change to the cone rules lands)
@pytest.mark.parametrize("seed", range(int(os.environ.get("ALLOCSCAN_INCREMENTAL_SEEDS", "4"))))
def test_incremental_equals_full(tree, tmp_path, monkeypatch, seed):
    # The corpora are small: any cone is a large share of them. Never fall back here.
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    rng = random.Random(seed)
    cache = tmp_path / "cache"
    ran_incrementally = relinked = 0
    for edit in rng.sample(EDITS, len(EDITS)):
        git(tree, "reset", "-q", "--hard", "HEAD")
        git(tree, "clean", "-q", "-fd")
        what = edit(tree, rng)
        options = ScanOptions(cache_dir=cache)
        result = diff_revisions(tree, "HEAD", None, [], options)
        note = result.head.incremental  # (no analysis when the changed files kept their facts)
        ran_incrementally += "in the cone" in note
        relinked += "relink" in result.head.timings  # from the base's linked program (relink.py)
        full = run_scan([str(tree)], ScanOptions(cache_dir=cache))
        missing = [f for f in comparable(full.findings) if f not in comparable(result.head.findings)]
        extra = [f for f in comparable(result.head.findings) if f not in comparable(full.findings)]
        assert (missing, extra) == ([], []), f"{what} ({note})"
        # as many of each: a finding kept from the base side and made again is there twice
        assert comparable(result.head.findings) == comparable(full.findings), f"{what} ({note})"
        assert comparable(result.head.suppressed) == comparable(full.suppressed), what
    assert ran_incrementally >= len(EDITS) - 1  # only a change of the tree's context falls back
    assert relinked >= len(EDITS) // 2  # a file added or removed is linked in full


def test_removing_a_function_reaches_the_callers_of_a_macro_forwarding_to_it(tree, tmp_path, monkeypatch):
    """macro_calls' driver calls demo_pool_get(), a macro over the port core's
    demo_pool_get_node(). With the core's file gone the call resolves to nothing, and the
    driver's function is in the cone although it never names the removed function."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    (tree / "macro_calls" / "net" / "core" / "demo_port.c").unlink()
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert "in the cone" in result.head.analysis.stats["incremental"]
    full = run_scan([str(tree)], ScanOptions(cache_dir=tmp_path / "cache"))
    assert comparable(result.head.findings) == comparable(full.findings)


def test_a_comment_reanalyses_only_its_file(tree, tmp_path):
    """A comment above the code moves every line of the file: its functions are
    described again (their places changed), nothing else."""
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    note = result.head.analysis.stats["incremental"]
    assert note.startswith("1 changed file(s), 0 changed function(s)"), note
    # the context analysis ran over the cone's callers, not over every function
    within, entered = result.head.analysis.contexts.visited
    assert f"contexts: {within} function(s) within" in note and within < len(result.head.analysis.program.functions)
    assert not result.new and not result.fixed
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.head.findings) == comparable(full.findings)


def test_the_base_program_is_read_while_the_base_side_is_scanned(tree, tmp_path, monkeypatch):
    """A change a relink takes: the program kept of the base is read ahead, in the
    diff's process while its base side is scanned in another (diff._read_base_program),
    and the head side relinks it. A comment at the end of a file needs no program:
    what was read of it (the program kept last, read before the answer came) is let go."""
    reads = []
    original = linkstore._read
    monkeypatch.setattr(linkstore, "_read", lambda *args: reads.append(args[0]) or original(*args))
    cache = tmp_path / "cache"
    # the base's program is kept (a scan of a whole checkout, as the command line runs it)
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text(path.read_text("latin-1") + "\n/* a comment */\n", "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert "relink" not in result.head.timings and not linkstore._read_ahead
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    reads.clear()
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert len(reads) == 1 and "relink" in result.head.timings  # read once: ahead, and loaded
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.head.findings) == comparable(full.findings)


def test_a_program_read_ahead_that_is_not_the_bases_is_let_go(tree, tmp_path, monkeypatch):
    """The program kept last is read ahead before the diff knows which it needs; when
    it is another than the base's (here one another version of the analyzer kept), it
    is let go, and the head side relinks the base's, with a full scan's findings."""
    reads = []
    original = linkstore._read
    monkeypatch.setattr(linkstore, "_read", lambda *args: reads.append(args[0]) or original(*args))
    cache = tmp_path / "cache"
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    store = LinkStore(FactsCache(cache))
    base_program = store.newest()
    other = base_program.with_name("0" * 40 + ".pkl")
    shutil.copyfile(base_program, other)
    shutil.copyfile(base_program.with_suffix(".files"), other.with_suffix(".files"))
    os.utime(other, (other.stat().st_mtime + 10, other.stat().st_mtime + 10))
    assert store.newest() == other and store.kept_for(lambda keys: True) == base_program
    path = tree / "net_ring" / "demo_rx.c"
    text = path.read_text("latin-1")
    path.write_text("/* another comment */\n" + text, "latin-1")
    reads.clear()
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert reads[-1] == base_program and len(reads) == 2 and "relink" in result.head.timings
    assert comparable(result.head.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)


class _OtherVersionsFacts:
    """Unpickles as another version's class would with this version's fields: TypeError."""

    def __reduce__(self):
        return int, ("1", 2, 3)


def test_a_program_another_version_kept_last_fails_its_read_and_is_let_go(tree, tmp_path, monkeypatch):
    """The program kept last, read before the diff knows which it needs, may be another
    version's whose classes had other fields: its read fails (whatever it raises), it
    stays as old as it was, and the head side relinks the base's program."""
    cache = tmp_path / "cache"
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    store = LinkStore(FactsCache(cache))
    base_program = store.newest()
    other = base_program.with_name("f" * 40 + ".pkl")
    other.write_bytes(pickle.dumps(_OtherVersionsFacts()))
    shutil.copyfile(base_program.with_suffix(".files"), other.with_suffix(".files"))
    later = base_program.stat().st_mtime + 10
    os.utime(other, (later, later))
    assert store.newest() == other
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert "relink" in result.head.timings and other.stat().st_mtime == later
    assert comparable(result.head.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)


def test_the_head_side_is_discovered_while_the_base_program_is_read(tree, tmp_path, monkeypatch):
    """A whole working tree's discovery and content keys are computed in another process
    (diff._discover_checkout), as the diff reads the base's program; the head side's
    findings are a full scan's all the same. When that process fails, the head side
    discovers the tree itself, and says what failed as it would."""
    discovered = []
    original = pipeline.discover
    monkeypatch.setattr(pipeline, "discover", lambda *a, **k: discovered.append(a) or original(*a, **k))
    cache = tmp_path / "cache"
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    discovered.clear()
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert discovered == [] and "relink" in result.head.timings
    assert result.head.discovery.files == sorted(result.head.discovery.files, key=lambda f: f.parts)
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.head.findings) == comparable(full.findings)
    assert result.head.discovery.files == full.discovery.files
    assert result.head.discovery.makefiles == full.discovery.makefiles

    def fails(*args, **kwargs):
        raise DiscoverError("the tree went away")

    monkeypatch.setattr(diff, "discover", fails)  # in the forked process only
    path.write_text("/* another comment */\n" + path.read_text("latin-1"), "latin-1")
    discovered.clear()
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert len(discovered) == 1
    assert comparable(result.head.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)


def test_a_kept_program_finds_its_entries_from_any_directory(tree, tmp_path, monkeypatch):
    """A scan given a relative cache directory keeps a program whose file entries are
    named absolutely: a diff run from elsewhere reads the bodies from them."""
    monkeypatch.chdir(tmp_path)
    run_scan([str(tree)], ScanOptions(cache_dir=Path("cache")), from_stored=checkout_scan_previous([str(tree)]))
    store = LinkStore(FactsCache(tmp_path / "cache"))
    assert store.read_file_ahead(store.kept_for(lambda keys: True))
    linked = next(iter(linkstore._read_ahead.values()))
    assert linked.stores and all(Path(path).is_absolute() for path, _ in linked.stores.values())
    drop_read_ahead()
    monkeypatch.chdir(tree)
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert "relink" in result.head.timings
    assert comparable(result.head.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)


def test_a_read_ahead_ends_when_the_program_is_not_needed(tree, tmp_path, monkeypatch):
    """The same change diffed again: the working tree's discovery finds the head side's
    results kept (diff._discover_checkout), and the read of the base's program it
    answers during is stopped (LinkStore.read_file_ahead's `stop`)."""
    cache = tmp_path / "cache"
    options = ScanOptions(cache_dir=cache, reuse_results=True)
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    assert not diff._discover_checkout(tree, options).kept
    first = diff_revisions(tree, "HEAD", None, [], options)
    assert diff._discover_checkout(tree, options).kept
    again = diff_revisions(tree, "HEAD", None, [], options)
    assert "reused" in again.head.timings
    assert comparable(again.head.findings) == comparable(first.head.findings)
    drop_read_ahead()  # (a tree this small is read before its discovery answers)
    store = LinkStore(FactsCache(cache))
    monkeypatch.setattr(linkstore._StoppableFile, "STOP_EVERY", 1)
    assert not store.read_file_ahead(store.kept_for(lambda keys: True), stop=lambda: True) and not linkstore._read_ahead
    assert store.read_file_ahead(store.kept_for(lambda keys: True), stop=lambda: False)
    drop_read_ahead()


def test_a_program_is_kept_without_its_memos(tree, tmp_path):
    """What the link memoised while it ran (look-ups, resolutions, field indexes) is not
    kept with the program: it is filled again when asked (link.MEMOS)."""
    cache = tmp_path / "cache"
    result = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    assert any(getattr(result.analysis.program, name) for name in MEMOS)  # the scan filled some
    store = LinkStore(FactsCache(cache))
    assert store.read_file_ahead(store.kept_for(lambda keys: True))
    kept = next(iter(linkstore._read_ahead.values())).program
    drop_read_ahead()
    assert not any(getattr(kept, name) for name in MEMOS) and not kept.resolver._in_directory


def test_a_program_is_kept_with_its_parts_packed(tree, tmp_path):
    """The call lists the link unpacked (to find the calls that register callbacks,
    Program.registrar_calls) are kept as the cache gave them, references into its
    entries: a kept program's read does not grow with what its link read."""
    cache = tmp_path / "cache"
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    store = LinkStore(FactsCache(cache))
    assert store.read_file_ahead(store.kept_for(lambda keys: True))
    kept = next(iter(linkstore._read_ahead.values())).program
    drop_read_ahead()
    assert kept.registrar_calls
    parts = [(fn.packed, fn.packed_calls) for ff in kept.files for fn in ff.functions]
    assert parts and all(body is None or type(body) is int for body, _ in parts)
    assert all(calls is None or type(calls) is int for _, calls in parts)


def test_a_kept_program_reads_back_its_functions_as_its_files_own(tree, tmp_path):
    """A kept program pickles each file's functions as one flat tuple of their fields
    (linkstore._ProgramPickler), and every other reference to a function as its file's:
    read back, the definitions, the field writers and the registrars are the very
    objects of the files' lists, with the fields they were kept with, and no function
    was pickled alone, as a call of its class (whose argument tuple the read held to
    its end, leaving holes no later object fills)."""
    cache = tmp_path / "cache"
    result = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    linked = result.analysis.program
    store = LinkStore(FactsCache(cache))
    kept_file = store.kept_for(lambda keys: True)
    assert b"FunctionFacts" not in kept_file.read_bytes()
    assert store.read_file_ahead(kept_file)
    kept = next(iter(linkstore._read_ahead.values())).program
    drop_read_ahead()
    own = {id(fn) for ff in kept.files for fn in ff.functions}
    assert kept.functions and all(id(ref.fn) in own and ref.fn in ref.file.functions for ref in kept.functions.values())
    writers = [fn for found in kept.field_writers.values() for _, fn in found if fn is not None]  # (None: an initializer)
    assert writers and all(id(fn) in own for fn in writers)
    assert all(id(fn) in own for calls in kept.registrar_calls.values() for fn, _ in calls)
    same = lambda fn: (fn.name, fn.line, fn.end_line, fn.params, fn.callees, fn.flags, fn.field_writes)  # noqa: E731
    assert [[same(fn) for fn in ff.functions] for ff in kept.files] == \
        [[same(fn) for fn in ff.functions] for ff in linked.files]


def test_a_kept_program_reads_back_its_definitions_and_call_graph_as_they_were(tree, tmp_path):
    """A kept program pickles its definitions (Program.functions) and its call graph's
    callees and callers each as flat tuples (linkstore._ProgramPickler.definitions(),
    _flat_adjacency()), not a definition or a _FewCalls at a time: read back, every
    node has the same definition, the same callees and callers held the same way
    (the shared NO_CALLS, a _FewCalls, or a dict a relink gave it), and the resolver,
    the graph's `_adj` and its `_node` read the very dicts they read before."""
    program = run_scan([str(tree)], ScanOptions(cache_dir=tmp_path / "cache")).analysis.program
    graph = program.graph
    node = next(node for node, calls in graph._succ.items() if type(calls) is link._FewCalls)
    graph.calls_to_change(graph._succ, node)  # as a relink does before it changes an edge
    assert type(graph._succ[node]) is dict
    buffer = io.BytesIO()
    with link.memos_set_aside(program):
        linkstore._ProgramPickler(buffer, program).dump(program)
    assert b"FunctionRef" not in buffer.getvalue() and b"_FewCalls" not in buffer.getvalue()
    kept = pickle.loads(buffer.getvalue())

    def definitions(of):
        return [(node, of.files.index(ref.file), ref.file.functions.index(ref.fn), ref.node)
                for node, ref in of.functions.items()]

    assert definitions(kept) == definitions(program)
    assert all(type(ref) is link.FunctionRef and ref.node is node for node, ref in kept.functions.items())
    assert kept.resolver.functions is kept.functions
    for kept_calls, calls in ((kept.graph._succ, graph._succ), (kept.graph._pred, graph._pred)):
        assert list(kept_calls) == list(calls)
        assert [(type(held), list(held), held is link.NO_CALLS) for held in kept_calls.values()] == \
            [(type(held), list(held), held is link.NO_CALLS) for held in calls.values()]
    assert kept.graph._adj is kept.graph._succ and list(kept.graph.nodes) == list(graph.nodes)
    assert sorted(kept.graph.edges) == sorted(graph.edges) and kept.graph.has_edge(*next(iter(graph.edges)))


def test_a_kept_program_holds_each_equal_name_once(tree, tmp_path):
    """The program's writer makes equal strings and tuples of different files one object
    (linkstore.share_equal_values): read back, a name several files hold is one object,
    and every file's facts are those the scan linked."""
    cache = tmp_path / "cache"
    result = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    linked = result.analysis.program
    store = LinkStore(FactsCache(cache))
    file_keys = next(file_keys for _, file_keys in store._kept())
    kept = store.load(file_keys, {}).program  # (its stores attached: struct members are read to compare)
    callees, files_of = {}, {}
    for ff in kept.files:
        for fn in ff.functions:
            for name in fn.callees:
                callees.setdefault(name, set()).add(id(name))
                files_of.setdefault(name, set()).add(ff.path)
    assert any(len(paths) > 1 for paths in files_of.values())  # names several files call
    assert all(len(ids) == 1 for ids in callees.values())
    assert [_summary(ff) for ff in kept.files] == [_summary(ff) for ff in linked.files]
    # the tables made from the facts hold the facts' own values, not a copy each
    keys = {id(key) for key in kept.field_writers}
    pairs = [pair for ff in kept.files for fn in ff.functions for pair in fn.field_writes]
    assert len({pair for pair in pairs}) < len(pairs) and all(id(pair) in keys for pair in pairs)


def _summary(ff) -> list:
    """A file's facts, but where its packed parts lie (references or unpacked lists)."""
    where = {"store", "packed", "packed_calls", "packed_defines", "packed_global_inits", "packed_field_inits",
             "functions"}  # (a file's functions: each, before it)
    own = lambda obj: [getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name not in where]  # noqa: E731
    return [own(fn) for fn in ff.functions] + [own(ff)]


def test_equal_values_are_shared_only_when_of_the_same_types():
    """(1,) == (True,) == (1.0,): sharing must not turn one into another."""
    from allocscan.facts import FileFacts

    files = [FileFacts("a.c", "1", globals={"x": ("num", 1), "y": ("flag", True)}, exports=("f",)),
             FileFacts("b.c", "2", globals={"x": ("num", True), "y": ("flag", 1.0)}, exports=("f",)),
             FileFacts("c.c", "3", globals={"x": ("num", 1)}, exports=("f",))]
    files[1].exports = ("".join(["f"]),)  # equal, not the same object
    linkstore.share_equal_values(files)
    assert [type(ff.globals["x"][1]) for ff in files] == [int, bool, int]
    assert type(files[1].globals["y"][1]) is float and type(files[0].globals["y"][1]) is bool
    assert files[0].globals["x"] is files[2].globals["x"]
    assert files[0].exports[0] is files[1].exports[0]


def test_a_file_of_many_functions_is_read_back_whole_from_its_items():
    """A kept program's file is pickled as the items of a linkstore._FileBuilder,
    which the unpickler hands over a thousand at a time: a file of 150 functions
    (3,000 values and more) is read back a FileFacts, the same object its functions'
    definitions name, with every function's fields as they were."""
    from allocscan.facts import FileFacts, FunctionFacts

    functions = [FunctionFacts(f"f{i}", i % 2 == 0, 10 * i, 10 * i + 5, (("dev", "struct net_device *"),),
                               callees=(f"f{i + 1}",), call_count=1, flags=i) for i in range(150)]
    program = link.link([FileFacts("drivers/net/many.c", "1", functions=functions, exports=("f0",)),
                         FileFacts("drivers/net/few.c", "2", functions=[FunctionFacts("g", False, 1, 2, ())])])
    buffer = io.BytesIO()
    linkstore._ProgramPickler(buffer, program).dump(program)
    kept = pickle.loads(buffer.getvalue())
    assert not linkstore._files_being_read
    assert [type(ff) for ff in kept.files] == [FileFacts, FileFacts]
    assert [ff.functions for ff in kept.files] == [ff.functions for ff in program.files]
    assert kept.files[0].exports == ("f0",) and kept.files[1].path == "drivers/net/few.c"
    assert all(ref.file is kept.files[0] and ref.fn is kept.files[0].functions[int(ref.fn.name[1:])]
               for ref in kept.functions.values() if ref.fn.name != "g")


def test_shared_subtrees_and_leaves_stay_one_object_each_once_shared():
    """share_equal_values() remembers the tuples it replaced only for those holding a
    tuple (a leaf of only names and numbers is the first equal one however often it
    is met): an IR subtree two values share is still one object after, and so is
    every equal leaf, in the file that held it first and in the others."""
    from allocscan.facts import FileFacts

    leaf = ("id", "".join(["count"]))  # (joined: an object of its own, as unpickled)
    subtree = ("add", leaf, ("num", 1))
    other_leaf = ("id", "".join(["count"]))
    files = [FileFacts("a.c", "1", globals={"x": ("neg", subtree), "y": ("not", subtree), "z": leaf}),
             FileFacts("b.c", "2", globals={"x": ("add", other_leaf, ("num", 1)), "z": other_leaf})]
    linkstore.share_equal_values(files)
    a, b = files[0].globals, files[1].globals
    assert a["x"][1] is a["y"][1]  # the shared subtree
    assert b["x"] is a["x"][1]  # an equal subtree of another file
    assert a["z"] is b["z"] is a["x"][1][1] is b["x"][1]  # the leaf, wherever it is held
    assert a["x"][1][2] is b["x"][2]
    assert a["x"] == ("neg", ("add", ("id", "count"), ("num", 1)))


def test_no_program_another_version_kept_is_read_ahead(tree, tmp_path, monkeypatch):
    """A program kept by other code of the analyzer (before an upgrade) has the same
    file keys: reading it ahead would cost a read the head side cannot use."""
    cache = tmp_path / "cache"
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    store = LinkStore(FactsCache(cache))
    assert store.read_file_ahead(store.kept_for(lambda keys: True))
    drop_read_ahead()
    monkeypatch.setattr(linkstore, "code_key", lambda: "another version of the analyzer")
    assert store.kept_for(lambda keys: True) is None


def test_a_change_leaving_the_facts_as_they_were_analyses_nothing(tree, tmp_path):
    """A comment at the end of a file, a word of a comment changed for one as long:
    the file's facts, places included, are those of before, so are the findings;
    nothing is linked. (A comment of another length moves the bytes after it: then
    the file's functions are described again, as above.)"""
    ending = tree / "net_ring" / "demo_rx.c"
    ending.write_text(ending.read_text("latin-1") + "\n/* a comment */\n", "latin-1")
    reworded = next(p for p in sorted(tree.rglob("*.c")) if re.search(r"/\*.*\bthe\b", p.read_text("latin-1"))
                    and p != ending)
    text = reworded.read_text("latin-1")
    m = re.search(r"/\*.*?\b(the)\b", text)
    reworded.write_text(text[:m.start(1)] + "its" + text[m.end(1):], "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert result.head.incremental == ("2 changed file(s), each with the facts it had before (comments, blank "
                                       "space): nothing analysed again"), result.head.incremental
    assert result.head.analysis is None and not result.new and not result.fixed
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.head.findings) == comparable(full.findings)
    assert result.head.stats == full.stats and result.head.warnings == full.warnings


def test_a_base_near_a_scanned_one_is_analysed_incrementally(tree, tmp_path, monkeypatch):
    """A diff whose base the results cache does not hold starts from the nearest scan it
    does hold (the target branch a commit ago): the base side analyses only the cone of
    what changed since, and finds what a scan from scratch finds."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    options = ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True)
    first = diff_revisions(tree, "HEAD", None, [], options)
    assert first.base.incremental == ""  # nothing kept yet: the whole base is analysed
    what = add_lock(tree, random.Random(3))
    git(tree, "commit", "-q", "-a", "-m", "a lock")
    result = diff_revisions(tree, "HEAD", None, [], options)
    assert result.base.incremental.startswith("1 changed file(s)"), (what, result.base.incremental)
    full = run_scan([str(tree)], ScanOptions(cache_dir=tmp_path / "cache"))
    assert comparable(result.base.findings) == comparable(full.findings), what
    assert comparable(result.base.suppressed) == comparable(full.suppressed), what
    # a kept scan of exactly the base is taken whole, not started from
    again = diff_revisions(tree, "HEAD", None, [], options)
    assert again.base.incremental == "" and comparable(again.base.findings) == comparable(full.findings)
    # a kept scan of a working tree whose change git does not hold is no starting point
    flip_gfp(tree, random.Random(5))
    dirty = diff_revisions(tree, "HEAD", None, [], options)
    assert list(ResultCache(tmp_path / "cache").nearest(dirty.base.context_key, dirty.base.file_keys)) == []  # kept whole
    wanted = dict(dirty.base.file_keys, **{"drivers/new.c": "0" * 40})  # kept by no scan
    kept = list(ResultCache(tmp_path / "cache").nearest(dirty.base.context_key, wanted))
    usable = [_from_stored(tree, "HEAD", [])(k, wanted) is not None for k in kept]
    assert sorted(usable) == [False, True, True], usable  # the working tree's; HEAD's and the first commit's


def test_a_base_no_scan_kept_reads_the_kept_program_while_it_is_listed(tree, tmp_path, monkeypatch):
    """A base side whose revision no scan kept (the branch moved a commit) is listed and
    keyed in another process (diff._revision_input) while the program kept last is read:
    its incremental scan relinks that program, read once, and finds what a scan from
    scratch finds. Scanned again, its results are found by its tree alone
    (results.KeptRevision): nothing is listed, nothing read."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    options = ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True)
    diff_revisions(tree, "HEAD", None, [], options)  # HEAD's results and program kept
    what = add_lock(tree, random.Random(3))
    git(tree, "commit", "-q", "-a", "-m", "a lock")
    reads, listings = [], tmp_path / "listings"  # (listed in another process: counted in a file)
    original_read, original_input = linkstore._read, diff.revision_input

    def listing(*args):
        with open(listings, "a") as fh:
            fh.write("listed\n")
        return original_input(*args)

    def listed() -> int:
        return len(listings.read_text().splitlines()) if listings.exists() else 0

    monkeypatch.setattr(linkstore, "_read", lambda *args: reads.append(args[0]) or original_read(*args))
    monkeypatch.setattr(diff, "revision_input", listing)
    asked, original_nearest = [], ResultCache.nearest_keys
    monkeypatch.setattr(ResultCache, "nearest_keys", lambda *args: asked.append(args) or original_nearest(*args))
    result, prefix = diff._scan_revision(tree, "HEAD", [], options)
    assert prefix == "" and len(reads) == 1 and "relink" in result.timings and listed() == 1, what
    assert not asked, what  # the listing's process found the nearest kept scan (pipeline.nearest_scans)
    assert result.incremental.startswith("1 changed file(s)") and not linkstore._read_ahead, what
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.findings) == comparable(full.findings), what
    reads.clear()
    again, _ = diff._scan_revision(tree, "HEAD", [], options)
    assert not reads and listed() == 1 and set(again.timings) == {"reused", "total"}
    assert comparable(again.findings) == comparable(full.findings)
    assert (again.file_keys, again.context_key) == (result.file_keys, result.context_key)
    assert again.discovery.kernel == result.discovery.kernel and again.warnings == result.warnings
    # another revision, or the same one with other options, is not taken for it
    git(tree, "commit", "-q", "--allow-empty", "-m", "nothing")  # the same tree: still kept
    assert "reused" in diff._scan_revision(tree, "HEAD", [], options)[0].timings and listed() == 1
    other = diff._scan_revision(tree, "HEAD", [], dataclasses.replace(options, min_order=1))[0]
    assert listed() == 2 and set(other.timings) != {"reused", "total"}


def test_a_base_whose_results_are_kept_stops_the_read_when_listed(tree, tmp_path, monkeypatch):
    """A base side whose results the cache keeps but whose revision it has no record of
    (a `scan` of the working tree kept them): the listing finds them kept, and the read
    of the program kept last stops there (here at its first frame: the listing is asked
    from the start) and nothing of it is kept."""
    cache = tmp_path / "cache"
    scanned = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    read = []
    original_read = linkstore._read
    monkeypatch.setattr(linkstore, "_read", lambda *args: read.append(original_read(*args)) or read[-1])
    monkeypatch.setattr(linkstore._StoppableFile, "STOP_EVERY", 1)
    monkeypatch.setattr(diff._Forked, "ready", lambda self: True)  # (result() then waits for the answer)
    result, _ = diff._scan_revision(tree, "HEAD", [], ScanOptions(cache_dir=cache, reuse_results=True))
    assert read == [None] and "reused" in result.timings and not linkstore._read_ahead
    assert comparable(result.findings) == comparable(scanned.findings)


def test_a_scan_of_an_unchanged_checkout_is_recorded_as_its_head(tree, tmp_path, monkeypatch):
    """`allocscan scan` of a checkout with nothing changed scanned HEAD's files: it keeps
    the record of HEAD (diff._head_scan_key), and a diff's base side at HEAD then takes
    its results without listing HEAD. A scan of a changed checkout keeps none."""
    from allocscan.diff import scan_checkout

    options = ScanOptions(cache_dir=tmp_path / "cache")
    what = lock_call(tree, random.Random(5))  # a change: the working tree is not HEAD
    scan_checkout(tree, options, checkout_scan_previous([str(tree)]))
    reuse = dataclasses.replace(options, reuse_results=True)
    record = diff._revision_key(git(tree, "rev-parse", "HEAD^{tree}").strip(), reuse)
    assert ResultCache(options.cache_dir).revision(record) is None, what
    git(tree, "commit", "-q", "-a", "-m", "the change")
    scanned = scan_checkout(tree, options, checkout_scan_previous([str(tree)]))
    record = diff._revision_key(git(tree, "rev-parse", "HEAD^{tree}").strip(), reuse)
    assert ResultCache(options.cache_dir).revision(record).result_key == scanned.result_key
    monkeypatch.setattr(diff, "revision_input", lambda *args: pytest.fail("HEAD listed again"))
    base, _ = diff._scan_revision(tree, "HEAD", [], reuse)
    assert set(base.timings) == {"reused", "total"} and comparable(base.findings) == comparable(scanned.findings)


def test_a_head_revision_is_listed_while_the_base_program_is_read(tree, tmp_path, monkeypatch):
    """`diff --head REV` of a whole checkout (the GitHub Action's): the head revision is
    listed in another process (diff._Listing) while the base's program is read, and
    its scan from the base's equals a scan from scratch; its temporary files are gone."""
    from allocscan.diff import scan_checkout

    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    scan_checkout(tree, ScanOptions(cache_dir=tmp_path / "cache"), checkout_scan_previous([str(tree)]))
    what = add_lock(tree, random.Random(3))
    git(tree, "commit", "-q", "-a", "-m", "a lock")
    listings, original_input = tmp_path / "listings", diff.revision_input

    def listing(*args):
        with open(listings, "a") as fh:
            fh.write(f"{args[1]}\n")
        return original_input(*args)

    monkeypatch.setattr(diff, "revision_input", listing)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    result = diff_revisions(tree, "HEAD~1", "HEAD", [], ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True))
    assert listings.read_text().split() == ["HEAD"], what  # the base's scan was HEAD~1's, recorded
    assert result.head.incremental.startswith("1 changed file(s)") and "relink" in result.head.timings, what
    assert comparable(result.head.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings), what
    assert not list(temporary.iterdir())


def test_a_base_no_scan_kept_is_not_guessed_at_by_the_diff(tree, tmp_path, monkeypatch):
    """The diff's process reads the program kept last while it is told which one its head
    side needs (diff._read_base_program), unless the base has no record: its side reads
    that program itself, and here (a comment on a commit no scan has seen) no program
    is needed, so this process reads none. A recorded base is guessed at as before."""
    from allocscan.diff import scan_checkout

    options = ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True)
    scan_checkout(tree, ScanOptions(cache_dir=tmp_path / "cache"), checkout_scan_previous([str(tree)]))
    reads = []
    original_read = linkstore._read
    monkeypatch.setattr(linkstore, "_read", lambda *args: reads.append(args[0]) or original_read(*args))
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text(path.read_text("latin-1") + "\n/* a comment */\n", "latin-1")
    diff._read_base_program(tree, "HEAD", None, options)  # HEAD: recorded by the scan
    assert len(reads) == 1 and not linkstore._read_ahead  # guessed, then let go: no program needed
    git(tree, "commit", "-q", "-a", "-m", "a commit no scan has seen")
    path.write_text(path.read_text("latin-1") + "\n/* another */\n", "latin-1")
    reads.clear()
    diff._read_base_program(tree, "HEAD", None, options)
    assert reads == [] and not linkstore._read_ahead


def test_a_head_revision_scanned_before_is_taken_whole(tree, tmp_path, monkeypatch):
    """The GitHub Action scans the checkout, then diffs it against its base with `--head
    HEAD`: the scan recorded HEAD (and, a commit before, the base), so neither side is
    listed, no program is read, and the diff reports what one without a cache reports."""
    from allocscan.diff import scan_checkout

    options = ScanOptions(cache_dir=tmp_path / "cache")
    scan_checkout(tree, options, checkout_scan_previous([str(tree)]))  # the target branch's scan
    what = add_lock(tree, random.Random(3))
    git(tree, "commit", "-q", "-a", "-m", "a lock")
    scanned = scan_checkout(tree, options, checkout_scan_previous([str(tree)]))  # the Action's scan step
    listings, original_input = tmp_path / "listings", diff.revision_input

    def listing(*args):
        with open(listings, "a") as fh:
            fh.write(f"{args[1]}\n")
        return original_input(*args)

    reads = []
    original_read = linkstore._read
    monkeypatch.setattr(linkstore, "_read", lambda *args: reads.append(args[0]) or original_read(*args))
    monkeypatch.setattr(diff, "revision_input", listing)
    result = diff_revisions(tree, "HEAD~1", "HEAD", [], dataclasses.replace(options, reuse_results=True))
    assert not listings.exists() and not reads and set(result.head.timings) == {"reused", "total"}, what
    assert comparable(result.head.findings) == comparable(scanned.findings), what
    fresh = diff_revisions(tree, "HEAD~1", "HEAD", [], ScanOptions())
    assert comparable(result.new) == comparable(fresh.new) and comparable(result.fixed) == comparable(fresh.fixed)


def test_a_rescan_of_a_checkout_after_a_change_analyses_its_cone(tree, tmp_path, monkeypatch):
    """`allocscan scan` of a whole git checkout starts from the kept scan of its
    committed files: after a change, only the change's cone is analysed again, and
    the findings are a scan from scratch's. An unchanged tree is analysed whole."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    options = ScanOptions(cache_dir=tmp_path / "cache")
    assert checkout_scan_previous([str(tree / "net_ring")]) is None  # not the checkout's top
    first = run_scan([str(tree)], options, from_stored=checkout_scan_previous([str(tree)]))
    again = run_scan([str(tree)], options, from_stored=checkout_scan_previous([str(tree)]))
    assert (first.incremental, again.incremental) == ("", "")
    what = lock_call(tree, random.Random(11))
    result = run_scan([str(tree)], options, from_stored=checkout_scan_previous([str(tree)]))
    assert "in the cone" in result.incremental, (what, result.incremental)
    full = run_scan([str(tree)], options)
    assert comparable(result.findings) == comparable(full.findings), what
    assert comparable(result.suppressed) == comparable(full.suppressed), what


def test_a_relink_that_fails_costs_a_full_link_not_the_scan(tree, tmp_path, monkeypatch):
    def broken(program, changed):
        raise KeyError("demo.c::demo_stats@8")

    options = ScanOptions(cache_dir=tmp_path / "cache")
    run_scan([str(tree)], options, from_stored=checkout_scan_previous([str(tree)]))
    lock_call(tree, random.Random(11))
    monkeypatch.setattr(pipeline, "relink", broken)
    result = run_scan([str(tree)], options, from_stored=checkout_scan_previous([str(tree)]))
    assert "relink" not in result.timings
    assert any("relinking the kept program failed (KeyError" in w for w in result.warnings)
    assert comparable(result.findings) == comparable(run_scan([str(tree)], options).findings)


def test_a_changed_makefile_analyses_everything(tree, tmp_path):
    makefile = tree / "whole_tree" / "drivers" / "demo" / "Makefile"
    makefile.write_text(makefile.read_text("latin-1") + "\nccflags-y += -DDEMO_EDIT\n", "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert result.head.analysis.stats["incremental"].startswith("full analysis"), result.head.analysis.stats


TICK = """#include <linux/slab.h>
#include <linux/timer.h>
void demo_tick(struct timer_list *t)
{
	void *p = kmalloc(64, GFP_KERNEL);

	kfree(p);
}
"""
ARMER = """#include <linux/timer.h>
extern void demo_tick(struct timer_list *t);
static struct timer_list demo_timer;
void demo_start(void)
{
}
"""
PROBE = """#include "demo.h"
int demo_probe(struct demo_priv *priv)
{
	priv->ring = 64;
	return 0;
}
"""
READER = """#include <linux/interrupt.h>
#include <linux/slab.h>
#include "demo.h"
static irqreturn_t demo_irq(int irq, void *data)
{
	struct demo_priv *priv = data;

	priv->buf = kmalloc(priv->ring * DEMO_UNIT, GFP_ATOMIC);
	return IRQ_HANDLED;
}
int demo_open(struct demo_priv *priv)
{
	return request_irq(7, demo_irq, 0, "demo", priv);
}
"""
HEADER = """struct demo_priv { unsigned int ring; void *buf; };
#define DEMO_UNIT 16
"""


def _changed_repo(tmp_path, before: dict[str, str], after: dict[str, str]) -> Path:
    """A git checkout of `before`, committed, with `after` written over it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in before.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / ".gitignore").write_text("*\n")  # as Debian's kernel tree: everything tracked is ignored
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-f", "-A", ".")
    git(repo, "commit", "-q", "-m", "base")
    for name, text in after.items():
        (repo / name).write_text(text)
    return repo


def _one_change(tmp_path, before: dict[str, str], after: dict[str, str]):
    repo = _changed_repo(tmp_path, before, after)
    result = diff_revisions(repo, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert "in the cone" in result.head.analysis.stats["incremental"]
    full = run_scan([str(repo)], ScanOptions(cache_dir=tmp_path / "cache"))
    assert comparable(result.head.findings) == comparable(full.findings)
    return result


def test_an_armed_callback_in_another_file(tmp_path, monkeypatch):
    """No call edge joins the arming function and the callback: the context rule
    (a function a changed line names) is what reaches it."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    armed = ARMER.replace("{\n}", "{\n\ttimer_setup(&demo_timer, demo_tick, 0);\n"
                                  "\tmod_timer(&demo_timer, jiffies + HZ);\n}")
    result = _one_change(tmp_path, {"tick.c": TICK, "armer.c": ARMER}, {"armer.c": armed})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS002", "tick.c")]


SET_UP = """struct demo_buf { void *aob; };
struct demo_q { spinlock_t lock; struct demo_buf *buf; };
void demo_flush(struct demo_buf *buf)
{
	if (!buf->aob)
		buf->aob = kmem_cache_zalloc(demo_cache, GFP_KERNEL);
}
void demo_check(struct demo_q *q)
{
	spin_lock(&q->lock);
	demo_flush(q->buf);
	spin_unlock(&q->lock);
}
"""
CALLS_DOWN = """static struct demo_buf demo_spare;
void demo_e(void) { demo_flush(&demo_spare); }
void demo_d(void) { demo_e(); }
void demo_c(void) { demo_d(); }
void demo_b(void) { demo_c(); }
static DEFINE_SPINLOCK(demo_users_lock);
""" + "".join(f"void demo_user{i}(void)\n{{\n\tspin_lock(&demo_users_lock);\n\tdemo_b();\n"
              "\tspin_unlock(&demo_users_lock);\n}\n" for i in range(25))  # more than MAX_CALLERS
CHAIN = """static DEFINE_SPINLOCK(demo_lock);
void demo_a(void)
{
	demo_b();
}
"""


def test_a_lock_far_above_one_time_set_up(tmp_path, monkeypatch):
    """demo_flush()'s set-up is skipped for demo_check()'s lock while demo_a() reaches it
    unlocked, five calls up in another file. A lock taken there makes that way in
    atomic, and demo_b()'s other callers take the same lock: demo_check() is then
    reported, though its file did not change and the change reaches it neither by
    value flow (demo_b() has more than MAX_CALLERS callers) nor within MAX_HOPS calls
    (rule 5, one-time set-up)."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    locked = CHAIN.replace("\tdemo_b();", "\tspin_lock(&demo_lock);\n\tdemo_b();\n\tspin_unlock(&demo_lock);")
    result = _one_change(tmp_path, {"setup.c": SET_UP, "middle.c": CALLS_DOWN, "chain.c": CHAIN}, {"chain.c": locked})
    assert [(f.rule_id, f.path, f.line) for f in result.new] == [("AS002", "setup.c", 11)]


def test_a_store_reaches_a_reader_in_another_file(tmp_path, monkeypatch):
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    result = _one_change(tmp_path, {"probe.c": PROBE, "reader.c": READER, "demo.h": HEADER},
                         {"probe.c": PROBE.replace("= 64;", "= 65536;")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


URB_H = """struct demo_urb { void *buf; u32 len; };
static inline void demo_urb_fill(struct demo_urb *urb, void *buf, u32 len)
{
	urb->buf = buf;
	urb->len = len;
}
"""
URB_START = """#include <linux/demo_urb.h>
int demo_start(struct demo_urb *urb, void *buf)
{
	demo_urb_fill(urb, buf, 4096);
	return 0;
}
"""


def _locked_reader(header: str, param: str, size: str) -> str:
    """A driver file allocating `size`, read from its `param`, under a spinlock."""
    return f"""#include <linux/{header}>
#include <linux/spinlock.h>
static DEFINE_SPINLOCK(demo_lock);
void *demo_rx({param})
{{
	void *p;

	spin_lock(&demo_lock);
	p = kmalloc({size}, GFP_ATOMIC);
	spin_unlock(&demo_lock);
	return p;
}}
"""


URB_RX = _locked_reader("demo_urb.h", "struct demo_urb *urb", "urb->len")


def test_a_setter_call_reaches_a_reader_in_another_file_of_the_module(tmp_path, monkeypatch):
    """demo_urb_fill(), a header's setter, stores its length into the urb: its call in
    demo_start.c is that file's store, which demo_rx.c (same module, no store of its own)
    reads. The changed length reaches the reader although the changed function writes
    no field itself, and although the cone does not descend into the setter: as for
    usb_fill_bulk_urb(), called from hundreds of places, storing into a field written in
    hundreds of drivers (a hub, read in the store's module only)."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    monkeypatch.setattr(incremental, "MAX_CALLERS", 0)
    monkeypatch.setattr(incremental, "HUB_DIRECTORIES", 0)
    monkeypatch.setattr(incremental, "HUB_JOIN_WRITERS", 0)
    files = {"include/linux/demo_urb.h": URB_H, "drivers/net/usb/demo_start.c": URB_START,
             "drivers/net/usb/demo_rx.c": URB_RX}
    result = _one_change(tmp_path, files, {"drivers/net/usb/demo_start.c": URB_START.replace("4096", "65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "drivers/net/usb/demo_rx.c")]


NET_CORE = {"include/linux/netdevice.h": "struct net_device { unsigned int mtu; unsigned int max_mtu; };\n",
            "net/ethernet/eth.c": """#include <linux/netdevice.h>
void ether_setup(struct net_device *dev)
{
	dev->max_mtu = 1500;
}
""", "net/802/hippi.c": """#include <linux/netdevice.h>
void hippi_setup(struct net_device *dev)
{
	dev->max_mtu = 65280;
}
"""}
NET_PROBE = """#include <linux/netdevice.h>
int demo_probe(void)
{
	return register_netdev(alloc_etherdev(64));
}
"""
NET_RX = _locked_reader("netdevice.h", "struct net_device *dev", "dev->max_mtu")


def test_a_changed_allocator_reaches_the_readers_of_what_its_setup_stores(tmp_path, monkeypatch):
    """A driver that never stores max_mtu reads what its allocator's setup stored:
    ether_setup()'s 1500 under alloc_etherdev(), hippi_setup()'s 65280 under
    alloc_hippi_dev(). Switching the allocator in one file reaches the module's reader
    in another."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    monkeypatch.setattr(incremental, "HUB_DIRECTORIES", 0)
    monkeypatch.setattr(incremental, "HUB_JOIN_WRITERS", 0)
    files = {**NET_CORE, "drivers/net/demo/probe.c": NET_PROBE, "drivers/net/demo/rx.c": NET_RX}
    result = _one_change(tmp_path, files, {"drivers/net/demo/probe.c": NET_PROBE.replace("alloc_etherdev",
                                                                                         "alloc_hippi_dev")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "drivers/net/demo/rx.c")]


def test_a_changed_setup_function_analyses_everything(tmp_path, monkeypatch):
    """ether_setup() runs inside every alloc_etherdev(): what it stores, every such
    driver reads, far beyond its own module."""
    files = {**NET_CORE, "drivers/net/demo/probe.c": NET_PROBE, "drivers/net/demo/rx.c": NET_RX}
    repo = _changed_repo(tmp_path, files, {"net/ethernet/eth.c": NET_CORE["net/ethernet/eth.c"].replace("1500", "65535")})
    result = diff_revisions(repo, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert result.head.analysis.stats["incremental"].startswith("full analysis: ether_setup() changed")
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "drivers/net/demo/rx.c")]


def test_a_header_define_reaches_its_users(tmp_path, monkeypatch):
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    result = _one_change(tmp_path, {"probe.c": PROBE, "reader.c": READER, "demo.h": HEADER},
                         {"demo.h": HEADER.replace("DEMO_UNIT 16", "DEMO_UNIT 16384")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


def _record_searches(monkeypatch) -> tuple[list, list]:
    """(the questions started ahead, every search run) of diff.FilesNaming, as they come."""
    started, searched = [], []
    start, grep = diff.FilesNaming.start, diff.FilesNaming._grep
    monkeypatch.setattr(diff.FilesNaming, "start", lambda self, words, most: started.append(words)
                        or start(self, words, most))
    monkeypatch.setattr(diff.FilesNaming, "_grep", lambda self, words: searched.append(set(words))
                        or grep(self, words))
    return started, searched


def test_the_cone_s_search_for_a_header_s_definitions_is_asked_while_the_program_is_read(tmp_path, monkeypatch):
    """A changed header's definitions are what the cone first looks for in every file
    (incremental.header_question()). The diff asks git for them while it reads the
    program kept of the base (diff._read_base_program), and the cone reads that answer
    instead of asking again. The findings are a whole scan's."""
    from allocscan.diff import scan_checkout

    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    repo = _changed_repo(tmp_path, {"probe.c": PROBE, "reader.c": READER, "demo.h": HEADER}, {})
    options = ScanOptions(cache_dir=tmp_path / "cache")
    scan_checkout(repo, options, checkout_scan_previous([str(repo)]))  # the base's program, kept
    (repo / "demo.h").write_text(HEADER.replace("DEMO_UNIT 16", "DEMO_UNIT 16384"))
    started, searched = _record_searches(monkeypatch)
    result = diff_revisions(repo, "HEAD", None, [], options)
    assert "in the cone" in result.head.analysis.stats["incremental"]
    assert set(started) == {frozenset({"DEMO_UNIT"})}
    assert searched == [{"DEMO_UNIT"}]  # asked once, before the cone asked
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]
    assert comparable(result.head.findings) == comparable(run_scan([str(repo)], options).findings)


def test_a_rescan_of_the_checkout_asks_the_header_search_while_the_program_is_read(tmp_path, monkeypatch):
    """`allocscan scan` of the checkout after a header's #define changed: the discovery
    process names the words the cone will look for (diff._rescan_question()), the
    search starts while the kept program is read, and the cone reads that answer. The
    findings are a whole scan's."""
    from allocscan.diff import scan_checkout

    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    repo = _changed_repo(tmp_path, {"probe.c": PROBE, "reader.c": READER, "demo.h": HEADER}, {})
    options = ScanOptions(cache_dir=tmp_path / "cache")
    scan_checkout(repo, options, checkout_scan_previous([str(repo)]))
    (repo / "demo.h").write_text(HEADER.replace("DEMO_UNIT 16", "DEMO_UNIT 16384"))
    started, searched = _record_searches(monkeypatch)
    result = scan_checkout(repo, options, checkout_scan_previous([str(repo)]))
    assert "in the cone" in result.analysis.stats["incremental"]
    assert set(started) == {frozenset({"DEMO_UNIT"})}
    assert searched == [{"DEMO_UNIT"}]
    assert comparable(result.findings) == comparable(run_scan([str(repo)], ScanOptions()).findings)
    assert [(f.rule_id, f.path) for f in result.findings] == [("AS001", "reader.c")]


def test_incremental_header_question_is_what_the_cone_asks_first():
    """header_question() names the changed definitions of the changed headers, with the
    definitions naming them; a .c file's changed definitions are not looked for tree-wide."""
    from allocscan.extract.file import extract_file

    def facts(name, text):
        return extract_file(name, text.encode())

    header = HEADER + "#define DEMO_RING (DEMO_UNIT * 4)\n#define DEMO_OTHER 1\n"
    changed = header.replace("DEMO_UNIT 16", "DEMO_UNIT 32")
    versions = {"demo.h": (facts("demo.h", header), facts("demo.h", changed)),
                "probe.c": (facts("probe.c", PROBE + "#define DEMO_LOCAL 1\n"), facts("probe.c", PROBE))}
    assert incremental.header_question(versions) == {"DEMO_UNIT", "DEMO_RING"}
    assert incremental.header_question({"demo.h": versions["demo.h"][:1] * 2}) == frozenset()


def test_a_timer_defined_at_file_scope(tmp_path, monkeypatch):
    """DEFINE_TIMER() binds the callback outside any function: the changed file-scope
    call names it."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    armed = ARMER.replace("static struct timer_list demo_timer;", "static DEFINE_TIMER(demo_timer, demo_tick);")
    armed = armed.replace("{\n}", "{\n\tmod_timer(&demo_timer, jiffies + HZ);\n}")
    before = ARMER.replace("{\n}", "{\n\tmod_timer(&demo_timer, jiffies + HZ);\n}")
    result = _one_change(tmp_path, {"tick.c": TICK, "armer.c": before}, {"armer.c": armed})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS002", "tick.c")]


XMIT = """#include <linux/netdevice.h>
#include <linux/slab.h>
netdev_tx_t demo_xmit(struct sk_buff *skb, struct net_device *dev)
{
	void *p = kmalloc(64, GFP_KERNEL);

	kfree(p);
	return NETDEV_TX_OK;
}
"""
OPS = """#include <linux/netdevice.h>
extern netdev_tx_t demo_xmit(struct sk_buff *skb, struct net_device *dev);
static const struct net_device_ops demo_ops = {
	.ndo_open = NULL,
};
"""


def test_an_ops_binding_in_another_file(tmp_path, monkeypatch):
    """`.ndo_start_xmit = demo_xmit` binds it outside any function, and no call reaches
    it: the changed binding names it (the cone's context rule)."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    result = _one_change(tmp_path, {"xmit.c": XMIT, "ops.c": OPS},
                         {"ops.c": OPS.replace(".ndo_open = NULL,", ".ndo_start_xmit = demo_xmit,")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS002", "xmit.c")]


SIZER = """#define DEMO_LOCAL 16
unsigned int demo_ring_size(void)
{
	return DEMO_LOCAL * 1024;
}
"""
USER = """#include <linux/interrupt.h>
#include <linux/slab.h>
extern unsigned int demo_ring_size(void);
static void *demo_buf;
static irqreturn_t demo_irq(int irq, void *data)
{
	demo_buf = kmalloc(demo_ring_size(), GFP_ATOMIC);
	return IRQ_HANDLED;
}
int demo_open(void)
{
	return request_irq(7, demo_irq, 0, "demo", NULL);
}
"""


def test_a_macro_of_the_file_changes_the_functions_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    result = _one_change(tmp_path, {"sizer.c": SIZER, "user.c": USER},
                         {"sizer.c": SIZER.replace("DEMO_LOCAL 16", "DEMO_LOCAL 1024")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "user.c")]


MIDDLE = """extern unsigned int demo_ring_size(void);
unsigned int demo_middle(void)
{
	return demo_ring_size() + 64;
}
"""


def test_a_return_value_two_calls_up(tmp_path, monkeypatch):
    """The size comes back through demo_middle(), a file that does not change: the
    value-flow rule's callers of a function returning a value."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    user = USER.replace("demo_ring_size", "demo_middle")
    result = _one_change(tmp_path, {"sizer.c": SIZER, "middle.c": MIDDLE, "user.c": user},
                         {"sizer.c": SIZER.replace("DEMO_LOCAL * 1024", "DEMO_LOCAL * 65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "user.c")]


UNIT = """#define DEMO_BASE 16
"""


def test_a_header_define_through_a_define_in_another_header(tmp_path, monkeypatch):
    """demo.h's DEMO_UNIT is unit.h's DEMO_BASE: the reader never names the changed macro."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    header = '#include "unit.h"\n' + HEADER.replace("DEMO_UNIT 16", "DEMO_UNIT (DEMO_BASE * 1)")
    result = _one_change(tmp_path, {"probe.c": PROBE, "reader.c": READER, "demo.h": header, "unit.h": UNIT},
                         {"unit.h": UNIT.replace("16", "16384")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


def test_a_macro_over_a_macro_of_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    sizer = SIZER.replace("#define DEMO_LOCAL 16\n", "#define DEMO_LOCAL 16\n#define DEMO_SIZE (DEMO_LOCAL * 1024)\n")
    sizer = sizer.replace("return DEMO_LOCAL * 1024;", "return DEMO_SIZE;")
    result = _one_change(tmp_path, {"sizer.c": sizer, "user.c": USER},
                         {"sizer.c": sizer.replace("DEMO_LOCAL 16", "DEMO_LOCAL 1024")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "user.c")]


DESC_HEADER = """struct demo_desc { unsigned char data[16]; };
struct demo_ring { struct demo_desc *desc; unsigned int count; };
"""
DESC_READER = """#include <linux/interrupt.h>
#include <linux/slab.h>
#include "desc.h"
static irqreturn_t demo_irq(int irq, void *data)
{
	struct demo_ring *ring = data;

	ring->desc = kmalloc(sizeof(*ring->desc) * 64, GFP_ATOMIC);
	return IRQ_HANDLED;
}
int demo_open(struct demo_ring *ring)
{
	return request_irq(7, demo_irq, 0, "demo", ring);
}
"""


def test_a_struct_layout_through_a_struct_holding_it(tmp_path, monkeypatch):
    """The reader names struct demo_ring, whose member is the changed struct demo_desc."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    result = _one_change(tmp_path, {"reader.c": DESC_READER, "desc.h": DESC_HEADER},
                         {"desc.h": DESC_HEADER.replace("data[16]", "data[4096]")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


def test_a_header_named_in_too_many_files_analyses_everything(tmp_path, monkeypatch):
    """Past MAX_READER_FILES files naming the change, the cone is not worth its cost:
    the head side runs the full analysis, and still finds the new finding."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    monkeypatch.setattr(incremental, "MAX_READER_FILES", 1)
    files = {"probe.c": PROBE, "reader.c": READER, "demo.h": HEADER}
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A", ".")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "demo.h").write_text(HEADER.replace("DEMO_UNIT 16", "DEMO_UNIT 16384"))
    result = diff_revisions(repo, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert result.head.analysis.stats["incremental"] == ("full analysis: the changed header definitions "
                                                         "are named in more than 1 files")
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


def _stores_followed(monkeypatch) -> list:
    """Spy on the cone: the (struct, field) pairs of the stores whose readers it looks up."""
    seen = []
    original = incremental._Cone._field_readers

    def spy(self, stores):
        seen.extend((struct, fname) for struct, fname, _ in stores)
        return original(self, stores)

    monkeypatch.setattr(incremental._Cone, "_field_readers", spy)
    return seen


DEPENDENT_PROBE = """#include "demo.h"
int demo_probe(struct demo_priv *priv, int fast)
{
	unsigned int n = DEMO_RING * 4;

	if (fast)
		n = n / 2;
	priv->ring = n;
	return 0;
}
"""
HEADER_RING = HEADER + "#define DEMO_RING 16\n"


def test_a_header_define_reaches_a_reader_through_a_store_of_a_value_computed_from_it(tmp_path, monkeypatch):
    """The probe names DEMO_RING only in a local's value; the local is stored into the
    field the reader sizes its allocation with: the store changed, its reader is
    described again."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    result = _one_change(tmp_path, {"probe.c": DEPENDENT_PROBE, "reader.c": READER, "demo.h": HEADER_RING},
                         {"demo.h": HEADER_RING.replace("DEMO_RING 16", "DEMO_RING 65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]
    assert ("demo_priv", "ring") in seen


SETTER_PROBE = """#include "demo.h"
static void demo_set_ring(struct demo_priv *priv, unsigned int n)
{
	priv->ring = n;
}
static void demo_clear(struct demo_priv *priv, void *buf)
{
	priv->buf = buf;
}
int demo_probe(struct demo_priv *priv)
{
	demo_clear(priv, 0);
	demo_set_ring(priv, DEMO_RING);
	return 0;
}
"""


def test_a_header_define_passed_to_a_callee_reaches_what_the_callee_stores(tmp_path, monkeypatch):
    """The probe passes DEMO_RING to a function that stores its parameter: the callee's
    store changed; the other callee's store of another parameter did not."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    result = _one_change(tmp_path, {"probe.c": SETTER_PROBE, "reader.c": READER, "demo.h": HEADER_RING},
                         {"demo.h": HEADER_RING.replace("DEMO_RING 16", "DEMO_RING 65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]
    assert ("demo_priv", "ring") in seen and ("demo_priv", "buf") not in seen


SIZING_PROBE = """#include <linux/slab.h>
#include "demo.h"
int demo_probe(struct demo_priv *priv)
{
	priv->buf = kmalloc(DEMO_RING, GFP_ATOMIC);
	if (!priv->buf)
		return -ENOMEM;
	priv->ring = 64;
	return 0;
}
"""


def test_a_header_define_sizing_an_allocation_changes_no_store(tmp_path, monkeypatch):
    """DEMO_RING sizes an allocation only: what the function stores is the same (an
    allocator's result does not depend on the size asked for, and the NULL check decides
    nothing with it), so the readers of those fields are not looked for. The
    allocation's own finding is described again."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    result = _one_change(tmp_path, {"probe.c": SIZING_PROBE, "reader.c": READER, "demo.h": HEADER_RING},
                         {"demo.h": HEADER_RING.replace("DEMO_RING 16", "DEMO_RING 65536")})
    assert ("AS001", "probe.c") in [(f.rule_id, f.path) for f in result.new]
    assert seen == []


GUARDED_PROBE = """#include <linux/module.h>
#include "demo.h"
static unsigned int demo_len = 64;
module_param(demo_len, uint, 0644);
int demo_probe(struct demo_priv *priv)
{
	unsigned int len = demo_len;

	if (len > DEMO_MAX)
		return -EINVAL;
	priv->ring = len;
	return 0;
}
"""


def test_a_header_define_in_a_guard_reaches_what_is_stored_after_it(tmp_path, monkeypatch):
    """`if (len > DEMO_MAX) return` bounds the module parameter the function stores
    after it: the guard's bound changed, so did the store."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    header = HEADER + "#define DEMO_MAX 64\n"
    result = _one_change(tmp_path, {"probe.c": GUARDED_PROBE, "reader.c": READER, "demo.h": header},
                         {"demo.h": header.replace("DEMO_MAX 64", "DEMO_MAX 65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]
    assert ("demo_priv", "ring") in seen


LENGTH_GETTER = """#include "demo.h"
void demo_get_len(struct demo_priv *priv, unsigned int *len)
{
	*len = DEMO_LEN;
}
"""
LENGTH_READER = """#include <linux/interrupt.h>
#include <linux/slab.h>
#include "demo.h"
extern void demo_get_len(struct demo_priv *priv, unsigned int *len);
static irqreturn_t demo_irq(int irq, void *data)
{
	struct demo_priv *priv = data;
	unsigned int len;

	demo_get_len(priv, &len);
	priv->buf = kmalloc(len * DEMO_UNIT, GFP_ATOMIC);
	return IRQ_HANDLED;
}
int demo_open(struct demo_priv *priv)
{
	return request_irq(7, demo_irq, 0, "demo", priv);
}
"""


def test_a_value_stored_through_a_pointer_parameter_reaches_the_caller(tmp_path, monkeypatch):
    """demo_get_len() returns nothing but stores DEMO_LEN through `len`: its caller in
    another file reads that store (`&len`), so the changed definition reaches the
    caller's site."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    header = HEADER + "#define DEMO_LEN 64\n"
    result = _one_change(tmp_path, {"getter.c": LENGTH_GETTER, "reader.c": LENGTH_READER, "demo.h": header},
                         {"demo.h": header.replace("DEMO_LEN 64", "DEMO_LEN 65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


RETURNING_GETTER = """#include "demo.h"
unsigned int demo_len(void)
{
	return DEMO_LEN;
}
"""


def test_a_value_a_function_calling_nothing_returns_reaches_its_callers(tmp_path, monkeypatch):
    """demo_len() calls nothing and stores nothing, so no call edge comes into it; its
    caller in another file reads what it returns, and the changed definition reaches
    the caller's site all the same."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    header = HEADER + "#define DEMO_LEN 64\n"
    reader = LENGTH_READER.replace("extern void demo_get_len(struct demo_priv *priv, unsigned int *len);",
                                   "extern unsigned int demo_len(void);")
    reader = reader.replace("\tunsigned int len;\n\n\tdemo_get_len(priv, &len);\n", "\tunsigned int len = demo_len();\n\n")
    result = _one_change(tmp_path, {"getter.c": RETURNING_GETTER, "reader.c": reader, "demo.h": header},
                         {"demo.h": header.replace("DEMO_LEN 64", "DEMO_LEN 65536")})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


CORE = """void *demo_core_get(void)
{
	return kmalloc(64, GFP_KERNEL);
}
"""
HOLDER = """static DEFINE_SPINLOCK(demo_a_lock);
void demo_a_locked(void)
{
	spin_lock(&demo_a_lock);
	demo_core_get();
	spin_unlock(&demo_a_lock);
}
"""
OTHER = """static DEFINE_SPINLOCK(demo_b_lock);
void demo_b_fill(void)
{
	demo_core_get();
}
"""


def test_a_finding_at_a_caller_outside_the_cone_is_made_once(tmp_path, monkeypatch):
    """A lock taken around demo_core_get() in b.c puts the core's allocation in the cone;
    its witnesses come from every caller, and a.c's finding, reported at a.c's call
    outside the cone, is made again there: it replaces the kept one, not joins it."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    locked = OTHER.replace("\tdemo_core_get();", "\tspin_lock(&demo_b_lock);\n\tdemo_core_get();\n"
                                                   "\tspin_unlock(&demo_b_lock);")
    result = _one_change(tmp_path, {"core.c": CORE, "a.c": HOLDER, "b.c": OTHER}, {"b.c": locked})
    assert sorted((f.path, f.line) for f in result.head.findings) == [("a.c", 5), ("b.c", 5)]


SLAB_DEFS = """void *slab_alloc(size_t size, gfp_t flags)
{
	return alloc_pages_exact(size, flags);
}
void *kmalloc(size_t size, gfp_t flags)
{
	return slab_alloc(size, flags);
}
"""
KMALLOC_USER = """static DEFINE_SPINLOCK(demo_lock);
void *demo_get(void)
{
	return kmalloc(64, GFP_KERNEL);
}
"""


def test_a_lock_around_an_allocator_leaves_its_insides_out_of_the_cone(tmp_path, monkeypatch):
    """No context enters an allocator (its call is the report): a lock taken around
    kmalloc() puts the caller in the cone, not mm's functions below kmalloc()."""
    from allocscan.analyze.values.evaluator import MAX_CALLERS

    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    locked = KMALLOC_USER.replace("\treturn kmalloc(64, GFP_KERNEL);",
                          "\tvoid *p;\n\n\tspin_lock(&demo_lock);\n\tp = kmalloc(64, GFP_KERNEL);\n"
                          "\tspin_unlock(&demo_lock);\n\treturn p;")
    # kmalloc()'s many callers: the evaluator does not follow a value into its parameters
    others = "".join(f"void *demo_other{i}(void) {{ return kmalloc({i + 1}, GFP_KERNEL); }}\n"
                     for i in range(MAX_CALLERS + 1))
    result = _one_change(tmp_path, {"mm/slab.c": SLAB_DEFS, "drivers/demo/user.c": KMALLOC_USER, "drivers/demo/other.c": others},
                         {"drivers/demo/user.c": locked})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS002", "drivers/demo/user.c")]
    assert ", 1 of them allocating" in result.head.analysis.stats["incremental"], result.head.analysis.stats


def test_a_kept_program_that_cannot_be_read_is_linked_again(tree, tmp_path):
    """A damaged program file (a disk full, a write cut short) costs a full link, not the scan."""
    cache = tmp_path / "cache"
    run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    kept = list(cache.rglob("programs/*.pkl"))
    assert len(kept) == 1
    kept[0].write_bytes(kept[0].read_bytes()[:1000])
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    result = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache))
    assert "link" in result.head.timings and "relink" not in result.head.timings
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.head.findings) == comparable(full.findings)


def test_a_tree_outside_git_keeps_no_program(tmp_path):
    """Only a scan of a whole git checkout (or a diff's side) keeps its linked program:
    nothing would relink another's, and writing it costs memory (pickling's memo)."""
    tree = tmp_path / "tree"
    shutil.copytree(CORPORA, tree)
    run_scan([str(tree)], ScanOptions(cache_dir=tmp_path / "cache"), from_stored=checkout_scan_previous([str(tree)]))
    assert not list((tmp_path / "cache").rglob("programs/*"))


FLIP_PROBE = """#include <linux/slab.h>
#include "demo.h"
int demo_probe(struct demo_priv *priv)
{
	priv->ring = 64;
	priv->buf = kmalloc(32, GFP_KERNEL);
	return 0;
}
"""


def test_a_gfp_flip_follows_none_of_the_function_s_stores(tmp_path, monkeypatch):
    """Only the allocation's call changed (funcdiff): the ring the probe stores is the
    same, and so is the buffer (a new object whatever its gfp), so the reader of
    either is not looked up; the flipped site itself is described again."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    result = _one_change(tmp_path, {"probe.c": FLIP_PROBE, "reader.c": READER, "demo.h": HEADER},
                         {"probe.c": FLIP_PROBE.replace("GFP_KERNEL", "GFP_ATOMIC")})
    assert seen == []
    assert "1 changed function(s)" in result.head.analysis.stats["incremental"]


def test_a_grown_constant_follows_only_its_own_store(tmp_path, monkeypatch):
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    result = _one_change(tmp_path, {"probe.c": FLIP_PROBE, "reader.c": READER, "demo.h": HEADER},
                         {"probe.c": FLIP_PROBE.replace("= 64;", "= 65536;")})
    assert seen == [("demo_priv", "ring")]
    assert [(f.rule_id, f.path) for f in result.new] == [("AS001", "reader.c")]


def test_a_timer_armed_where_it_was_set_up(tmp_path, monkeypatch):
    """Only mod_timer() is new: the callback it arms is named by the unchanged
    timer_setup() above it, and its context changed all the same."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    set_up = ARMER.replace("{\n}", "{\n\ttimer_setup(&demo_timer, demo_tick, 0);\n}")
    armed = set_up.replace("0);\n}", "0);\n\tmod_timer(&demo_timer, jiffies + HZ);\n}")
    result = _one_change(tmp_path, {"tick.c": TICK, "armer.c": set_up}, {"armer.c": armed})
    assert [(f.rule_id, f.path) for f in result.new] == [("AS002", "tick.c")]


FLIP_CALLEE = """#include <linux/slab.h>
#include "demo.h"
static int demo_alloc(struct demo_priv *priv, unsigned int n)
{
	priv->buf = kmalloc(32, GFP_KERNEL);
	return n > 8 ? 0 : -EINVAL;
}
int demo_probe(struct demo_priv *priv)
{
	int err = demo_alloc(priv, 16);

	priv->ring = err + 64;
	return err;
}
"""


def _a_flip_then_a_growth(tmp_path, monkeypatch, probe: str, flip: tuple[str, str], grow: tuple[str, str]):
    """The stores whose readers the cone looks up after a gfp flip in `probe`, then
    after a size grown in it instead, and the growth's new findings."""
    monkeypatch.setattr(incremental, "FULL_SHARE", 1.0)
    seen = _stores_followed(monkeypatch)
    files = {"probe.c": probe, "reader.c": READER, "demo.h": HEADER}
    _one_change(tmp_path, files, {"probe.c": probe.replace(*flip)})
    after_flip = list(seen)
    seen.clear()
    shutil.rmtree(tmp_path / "repo")
    result = _one_change(tmp_path, files, {"probe.c": probe.replace(*grow)})
    return after_flip, seen, [(f.rule_id, f.path) for f in result.new]


def test_a_callee_returning_what_it_returned_changes_no_caller(tmp_path, monkeypatch):
    """demo_alloc()'s return reads nothing the flip changed: its caller's store of the
    returned value is not followed; a changed return is."""
    assert _a_flip_then_a_growth(tmp_path, monkeypatch, FLIP_CALLEE, ("GFP_KERNEL", "GFP_ATOMIC"),
                                 ("? 0 :", "? 65536 :")) == ([], [("demo_priv", "ring")], [("AS001", "reader.c")])


FILL_PROBE = """#include <linux/slab.h>
#include "demo.h"
static void demo_fill(struct demo_priv *priv, unsigned int n, gfp_t gfp)
{
	priv->ring = n;
	priv->buf = kmalloc(n, gfp);
}
int demo_probe(struct demo_priv *priv)
{
	demo_fill(priv, 64, GFP_KERNEL);
	return 0;
}
"""


def test_a_flipped_gfp_argument_reaches_only_what_the_callee_does_with_its_mask(tmp_path, monkeypatch):
    """The call is the same with another third argument: of the callee, only what
    follows from its gfp parameter changed, not the ring it stores from its second."""
    assert _a_flip_then_a_growth(tmp_path, monkeypatch, FILL_PROBE, ("64, GFP_KERNEL", "64, GFP_ATOMIC"),
                                 ("64, GFP_KERNEL", "65536, GFP_KERNEL")) == \
        ([], [("demo_priv", "ring")], [("AS001", "reader.c")])


WRAPPER_PROBE = """#include <linux/slab.h>
#include "demo.h"
static void *demo_get_buf(unsigned int n, gfp_t gfp)
{
	return kmalloc(n, gfp);
}
static unsigned int demo_double(struct demo_priv *priv, unsigned int p)
{
	priv->buf = NULL;
	return p * 2;
}
static unsigned int demo_ring_for(struct demo_priv *priv, unsigned int p)
{
	return demo_double(priv, p) + 1;
}
int demo_probe(struct demo_priv *priv)
{
	priv->buf = demo_get_buf(64, GFP_KERNEL);
	priv->ring = demo_ring_for(priv, 16);
	return 0;
}
"""


def test_what_a_followed_callee_returns_decides_its_caller_s_store(tmp_path, monkeypatch):
    """demo_get_buf() returns a new buffer whatever its gfp: the probe's store of it is
    not followed. demo_ring_for() returns what demo_double() returns for it, which the
    flow learns only once it follows demo_double(): the probe's store of the ring is
    followed all the same."""
    after_flip, after_growth, new = _a_flip_then_a_growth(
        tmp_path, monkeypatch, WRAPPER_PROBE, ("64, GFP_KERNEL", "64, GFP_ATOMIC"), ("(priv, 16)", "(priv, 16384)"))
    assert after_flip == []
    assert ("demo_priv", "ring") in after_growth
    assert new == [("AS001", "reader.c")]


def test_a_relinked_program_has_the_build_its_makefiles_say(tree, tmp_path):
    """What the Makefiles say (the command line's -D macros, the modules) is kept with the
    program (pipeline._read_build): a relink keeps it when no Makefile changed, and
    reads it again when one did (a diff whose change edits a Makefile)."""
    options = ScanOptions(cache_dir=tmp_path / "cache")
    source = tree / "net_ring" / "demo_rx.c"
    source.write_text("/* a comment */\n" + source.read_text("latin-1"), "latin-1")
    kept = diff_revisions(tree, "HEAD", None, [], options).head
    assert "relink" in kept.timings and "DEMO_TRACE" in kept.analysis.program.command_line_defines
    makefile = tree / "whole_tree" / "drivers" / "demo" / "Makefile"
    makefile.write_text(makefile.read_text("latin-1") + "\nccflags-y += -DDEMO_EDIT\n", "latin-1")
    edited = diff_revisions(tree, "HEAD", None, [], options).head
    full = run_scan([str(tree)], ScanOptions())
    assert "relink" in edited.timings and "DEMO_EDIT" in edited.analysis.program.command_line_defines
    assert edited.analysis.program.command_line_defines == full.analysis.program.command_line_defines
    assert vars(edited.analysis.program.modules) == vars(full.analysis.program.modules)


def test_a_scan_whose_nearest_scan_kept_no_program_relinks_the_nearest_kept_one(tree, tmp_path):
    """Only full links keep their program; a relinked scan's results are kept without
    one. The scan after it (nearest to those results) relinks the kept program nearest
    to its files, two changed files away here, rather than linking the tree in full."""
    options = ScanOptions(cache_dir=tmp_path / "cache")
    previous = checkout_scan_previous([str(tree)])
    run_scan([str(tree)], options, from_stored=previous)  # a full link: its program is kept
    first, second = tree / "net_ring" / "demo_rx.c", tree / "usb_net" / "demo_ops.c"
    first.write_text("/* a comment */\n" + first.read_text("latin-1"), "latin-1")
    assert "relink" in run_scan([str(tree)], options, from_stored=previous).timings
    second.write_text("/* a comment */\n" + second.read_text("latin-1"), "latin-1")
    result = run_scan([str(tree)], options, from_stored=previous)
    assert "relink" in result.timings and len(list((tmp_path / "cache").rglob("programs/*.pkl"))) == 1
    assert comparable(result.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)


def test_a_rescan_of_a_checkout_reads_the_kept_program_as_it_discovers(tree, tmp_path, monkeypatch):
    """`allocscan scan` of a whole checkout reads the program kept last while another
    process discovers the tree (diff.scan_checkout): after a change, the relink takes
    the program read ahead, read once, and the findings are a scan from scratch's.
    Scanned again unchanged, the tree is analysed whole from the kept program, not
    linked again."""
    from allocscan.diff import scan_checkout

    options = ScanOptions(cache_dir=tmp_path / "cache")
    scan_checkout(tree, options, checkout_scan_previous([str(tree)]))
    what = lock_call(tree, random.Random(5))
    reads = []
    original = linkstore._read
    monkeypatch.setattr(linkstore, "_read", lambda *args: reads.append(args) or original(*args))
    asked, original_nearest = [], ResultCache.nearest_keys
    monkeypatch.setattr(ResultCache, "nearest_keys", lambda *args: asked.append(args) or original_nearest(*args))
    result = scan_checkout(tree, options, checkout_scan_previous([str(tree)]))
    assert "relink" in result.timings and len(reads) == 1, what  # read ahead, and loaded from it
    assert not asked and result.incremental, what  # the nearest kept scan: found as the tree was discovered
    full = run_scan([str(tree)], ScanOptions())
    assert comparable(result.findings) == comparable(full.findings), what
    reads.clear()
    again = scan_checkout(tree, options, checkout_scan_previous([str(tree)]))  # the same files again:
    assert again.incremental == "" and "relink" in again.timings and len(reads) == 1  # analysed whole, not linked
    assert comparable(again.findings) == comparable(full.findings) and not linkstore._read_ahead


def test_with_too_little_memory_to_fork_the_scan_writes_its_program_itself(tree, tmp_path, monkeypatch):
    """A forked writer copies every page it pickles (linkstore.FORK_ROOM): where the
    memory for that copy is not free, the scan writes the program before analysing,
    says how long that took (`keep`), and finds what it would have found; a diff then
    relinks the program so written, with a full scan's findings."""
    monkeypatch.setattr(linkstore, "available_memory",  # (room to write here, not to fork)
                        lambda: int(linkstore.WRITE_ROOM * linkstore.resident_memory()) + (1 << 20))
    writers = _writers_noted(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    result = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    assert writers() == [os.getpid()] and "keep" in result.timings
    assert LinkStore(FactsCache(cache)).newest() is not None
    assert comparable(result.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)
    program = result.analysis.program  # its memos are its own again
    assert program._by_path and program.resolver._in_directory
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    head = diff_revisions(tree, "HEAD", None, [], ScanOptions(cache_dir=cache)).head
    assert "relink" in head.timings
    assert comparable(head.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)


def test_with_too_little_memory_even_to_write_it_no_program_is_kept(tree, tmp_path, monkeypatch):
    """Writing the program in the scan's process takes memory too (linkstore.WRITE_ROOM):
    where that is not free, nothing is written, the scan warns and finds what it would
    have found, and the next scan links in full."""
    monkeypatch.setattr(linkstore, "available_memory", lambda: 0)
    writers = _writers_noted(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    result = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    assert writers() == [] and "keep" not in result.timings and LinkStore(FactsCache(cache)).newest() is None
    assert any(w.startswith("the linked program is not kept for the next scan: 0 MiB of memory free")
               for w in result.warnings)
    assert comparable(result.findings) == comparable(run_scan([str(tree)], ScanOptions()).findings)
    path = tree / "net_ring" / "demo_rx.c"
    path.write_text("/* a comment */\n" + path.read_text("latin-1"), "latin-1")
    again = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    assert "link" in again.timings and "relink" not in again.timings


def test_with_the_memory_free_the_program_is_written_beside_the_analysis(tree, tmp_path, monkeypatch):
    """Where FORK_ROOM times the scan's memory is free, a child writes the program."""
    monkeypatch.setattr(linkstore, "available_memory", lambda: int(linkstore.FORK_ROOM * linkstore.resident_memory()) + 1)
    writers = _writers_noted(tmp_path, monkeypatch)
    result = run_scan([str(tree)], ScanOptions(cache_dir=tmp_path / "cache"),
                      from_stored=checkout_scan_previous([str(tree)]))
    assert len(writers()) == 1 and writers()[0] != os.getpid() and "keep" not in result.timings


def _writers_noted(tmp_path: Path, monkeypatch):
    """The pids of the processes that write a program from now on (a forked child's too)."""
    noted = tmp_path / "writers"
    keep = LinkStore._keep

    def noting(self, *args):
        with open(noted, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return keep(self, *args)

    monkeypatch.setattr(LinkStore, "_keep", noting)
    return lambda: [int(line) for line in noted.read_text().split()] if noted.exists() else []


def _files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_available_memory_is_the_tightest_of_the_system_and_its_cgroups(tmp_path):
    """MemAvailable, or less where the process's cgroup or one above it has a limit
    nearer its usage (v2 memory.max, v1 memory.limit_in_bytes; "max" and v1's huge
    number are no limit), less the inactive page cache the kernel would reclaim;
    None where nothing is known."""
    gib = 1 << 30
    meminfo = f"MemTotal: {16 * gib // 1024} kB\nMemAvailable: {8 * gib // 1024} kB\n"
    v2 = _files(tmp_path / "v2", {"proc/meminfo": meminfo, "proc/self/cgroup": "0::/ci/job\n",
                                  "sys/fs/cgroup/ci/job/memory.max": "max\n",
                                  "sys/fs/cgroup/ci/job/memory.current": str(gib),
                                  "sys/fs/cgroup/ci/memory.max": str(3 * gib),
                                  "sys/fs/cgroup/ci/memory.current": str(gib // 2)})
    assert linkstore.available_memory(str(v2)) == 3 * gib - gib // 2
    (v2 / "sys/fs/cgroup/ci/memory.stat").write_text(f"anon {gib // 4}\ninactive_file {gib // 4}\nfile {gib // 4}\n")
    assert linkstore.available_memory(str(v2)) == 3 * gib - gib // 4
    v1 = _files(tmp_path / "v1", {"proc/meminfo": meminfo,
                                  "proc/self/cgroup": "5:cpu:/\n4:memory:/docker/abc\n0::/\n",
                                  "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "9223372036854771712",
                                  "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": str(gib)})
    assert linkstore.available_memory(str(v1)) == 8 * gib
    (v1 / "sys/fs/cgroup/memory/docker/memory.limit_in_bytes").write_text(str(2 * gib))
    (v1 / "sys/fs/cgroup/memory/docker/memory.usage_in_bytes").write_text(str(gib))
    assert linkstore.available_memory(str(v1)) == gib
    (v1 / "sys/fs/cgroup/memory/docker/memory.stat").write_text(f"cache 9\ntotal_inactive_file {gib // 2}\n")
    assert linkstore.available_memory(str(v1)) == gib + gib // 2
    (v1 / "proc/self/cgroup").write_text("a line of no cgroup\n4:memory:/docker/abc\n")
    assert linkstore.available_memory(str(v1)) == gib + gib // 2
    assert linkstore.available_memory(str(tmp_path / "nothing")) is None


def test_a_writer_killed_by_a_signal_is_warned_of(tree, tmp_path, monkeypatch, capsys):
    """The kernel's OOM killer ends a forked writer with SIGKILL: the scan goes on, and
    says that the program was not kept instead of leaving the next diff to find out."""
    import signal

    monkeypatch.setattr(linkstore, "available_memory", lambda: None)  # (fork)
    monkeypatch.setattr(LinkStore, "_keep", lambda self, *args: os.kill(os.getpid(), signal.SIGKILL))
    cache = tmp_path / "cache"
    result = run_scan([str(tree)], ScanOptions(cache_dir=cache), from_stored=checkout_scan_previous([str(tree)]))
    assert result.findings and LinkStore(FactsCache(cache)).newest() is None
    assert "the linked program was not kept (its writer was killed by signal 9, out of memory?)" in capsys.readouterr().err


QUEUE = """#include <linux/blk-mq.h>
#include <linux/slab.h>
static blk_status_t demo_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	void *p = kmalloc(64, GFP_NOIO);

	kfree(p);
	return BLK_STS_OK;
}
const struct blk_mq_ops demo_mq_ops = { .queue_rq = demo_queue_rq };
"""
TAG_SET = """#include <linux/blk-mq.h>
int demo_init_tags(struct blk_mq_tag_set *set)
{
	set->flags = BLK_MQ_F_SHOULD_MERGE;
	return blk_mq_alloc_tag_set(set);
}
"""


def test_a_blocking_tag_set_in_another_file_analyses_everything(tmp_path):
    """Whether any file of the module names BLK_MQ_F_BLOCKING decides the context of its
    queue_rq in another file, which no cone reaches: the finding goes, as in a full scan."""
    blocking = TAG_SET.replace("BLK_MQ_F_SHOULD_MERGE;", "BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;")
    repo = _changed_repo(tmp_path, {"queue.c": QUEUE, "tags.c": TAG_SET}, {"tags.c": blocking})
    result = diff_revisions(repo, "HEAD", None, [], ScanOptions(cache_dir=tmp_path / "cache"))
    assert "BLK_MQ_F_BLOCKING" in result.head.analysis.stats["incremental"]
    assert [(f.rule_id, f.path) for f in result.base.findings] == [("AS002", "queue.c")]
    assert result.head.findings == [] and [f.path for f in result.fixed] == ["queue.c"]
