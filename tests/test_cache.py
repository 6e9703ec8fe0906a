"""The facts cache: entries keep bodies apart and are read on demand; a scan from the
cache equals one without it, and an entry that changes under a scan is rebuilt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from allocscan.cache import CacheChangedError, FactsCache
from allocscan.discover import discover
from allocscan.extract import extract_file
from allocscan.extract.driver import extract_all
from allocscan.report.jsonout import render_json
from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA, tables_changed as _tables_changed


def _findings(tree: Path, **options) -> list[dict]:
    result = run_scan([str(tree)], ScanOptions(**options))
    return json.loads(render_json(result.findings, "6.1", str(tree), [], {}))["findings"]


def _load(tree: Path, cache_dir: Path):
    disc = discover([str(tree)])
    return extract_all(disc.files, disc.rel, FactsCache(cache_dir), 1).facts


def test_scans_from_the_cache_equal_a_scan_without_it(tmp_path):
    expected = _findings(CORPORA, jobs=1)
    assert expected
    cold = _findings(CORPORA, jobs=1, cache_dir=tmp_path / "c")
    warm = _findings(CORPORA, jobs=1, cache_dir=tmp_path / "c")
    assert cold == expected
    assert warm == expected


def test_entries_written_by_worker_processes_are_read_back(tmp_path):
    # Eight files or more go to the process pool; the workers send back only the
    # entries' headers, and the bodies are read from the entries they wrote.
    tree = tmp_path / "tree"
    tree.mkdir()
    source = (CORPORA / "net_irq" / "demo_net.c").read_text()
    for i in range(10):
        (tree / f"demo_net{i}.c").write_text(source.replace("demo_", f"demo{i}_"))
    expected = _findings(tree, jobs=1)
    assert len(expected) >= 10
    assert _findings(tree, jobs=2, cache_dir=tmp_path / "c") == expected
    assert _findings(tree, jobs=2, cache_dir=tmp_path / "c") == expected


def test_bodies_stay_in_the_entry_until_used(tmp_path):
    _load(CORPORA / "net_irq", tmp_path / "c")
    # net_irq holds more than one file since 9e56fa1: take demo_net.c's facts
    facts = next(f for f in _load(CORPORA / "net_irq", tmp_path / "c") if f.path.endswith("demo_net.c"))
    fn = next(f for f in facts.functions if f.call_count)
    assert type(fn.packed_calls) is int  # a reference into the entry, not the bytes
    fresh = extract_file(facts.path, (CORPORA / "net_irq" / "demo_net.c").read_bytes())
    same = next(f for f in fresh.functions if f.name == fn.name)
    assert fn.calls == same.calls
    assert fn.assignments == same.assignments


def test_struct_members_stay_in_the_entry_until_laid_out(tmp_path):
    _load(CORPORA / "net_irq", tmp_path / "c")
    loaded = _load(CORPORA / "net_irq", tmp_path / "c")
    structs = [(ff, sd) for ff in loaded for sd in ff.structs if sd.packed_members]
    assert structs and all(type(sd.packed_members) is int for _, sd in structs)  # references, not bytes
    for ff, sd in structs:
        fresh = extract_file(ff.path, (CORPORA / "net_irq" / Path(ff.path).name).read_bytes())
        assert sd.members == next(s for s in fresh.structs if s.name == sd.name).members


def test_only_the_bodies_unpacked_last_stay_unpacked(tmp_path, monkeypatch):
    from allocscan import facts as facts_module

    window = facts_module._RecentlyUnpacked(2)
    monkeypatch.setattr(facts_module, "_UNPACKED", window)
    loaded = _load(CORPORA / "net_irq", tmp_path / "c")
    fns = [fn for ff in loaded for fn in ff.functions if fn.call_count][:3]
    fresh = {fn.name: fn.calls for fn in fns}  # three unpacked in turn: the first went back
    assert type(fns[0].packed_calls) is int and type(fns[2].packed_calls) is list
    assert all(fn.calls == fresh[fn.name] for fn in fns)  # unpacked again, the same calls
    # a list another stage put in place of the unpacked one (macrocalls' rewrite) stays
    fns[0].packed_calls = rewritten = list(fns[0].calls)
    for fn in fns[1:]:
        fn.body(), fn.calls
    assert fns[0].packed_calls is rewritten


def test_equal_values_of_different_files_are_one_object(tmp_path):
    loaded = _load(CORPORA, tmp_path / "c")
    first_of: dict = {}  # value -> (the first instance, its file)
    across_files = 0
    for ff in loaded:
        values = [b.field for b in ff.bindings] + [fn.params for fn in ff.functions if fn.params]
        values += [pair for fn in ff.functions for pair in fn.field_writes]
        values += list(ff.includes)
        for value in values:
            first, path = first_of.setdefault(value, (value, ff.path))
            assert first is value, (ff.path, value)
            across_files += path != ff.path
    assert across_files > 20  # the corpora's files do bind, take and write the same


def test_an_entry_removed_during_a_scan_is_rebuilt_from_the_source(tmp_path):
    _load(CORPORA / "usb_gadget", tmp_path / "c")
    loaded = _load(CORPORA / "usb_gadget", tmp_path / "c")
    shutil.rmtree(tmp_path / "c")  # a cache cleared while the scan runs
    for facts in loaded:
        fresh = extract_file(facts.path, (CORPORA / "usb_gadget" / Path(facts.path).name).read_bytes())
        assert facts.defines == fresh.defines
        assert [sd.members for sd in facts.structs] == [sd.members for sd in fresh.structs]
        for fn, same in zip(facts.functions, fresh.functions):
            assert (fn.calls, fn.assignments, fn.guards) == (same.calls, same.assignments, same.guards)


def test_an_entry_and_its_source_both_changed_is_a_clear_error(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(CORPORA / "net_irq", tree)
    _load(tree, tmp_path / "c")
    facts = next(f for f in _load(tree, tmp_path / "c") if f.path.endswith("demo_net.c"))
    shutil.rmtree(tmp_path / "c")
    (tree / "demo_net.c").write_text("int edited;\n")
    fn = next(f for f in facts.functions if f.call_count)
    with pytest.raises(CacheChangedError, match="demo_net.c: its cache entry changed during the scan"):
        fn.calls


def test_a_cache_that_cannot_be_written_only_costs_speed(tmp_path):
    # The workers then send the facts whole; nothing points into entries never written.
    tree = tmp_path / "tree"
    tree.mkdir()
    source = (CORPORA / "chardev_params" / "demo_chr.c").read_text()
    for i in range(9):
        (tree / f"demo_chr{i}.c").write_text(source)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    expected = _findings(tree, jobs=1)
    assert expected
    assert _findings(tree, jobs=2, cache_dir=blocked) == expected
    assert _findings(tree, jobs=1, cache_dir=blocked) == expected


def test_every_table_is_part_of_the_cache_key(monkeypatch, table_override):
    """Editing any table must give another cache key: extraction reads them (which calls to
    keep, which register a callback), so facts made with the old table are stale."""
    from allocscan.cache import analyzer_key
    from allocscan.kernel.tables import table_paths

    before = analyzer_key()
    names = list(table_paths())
    assert {"allocators.toml", "contexts.toml", "entries.toml", "inert.toml", "gfp.toml"} <= set(names)
    for name in names:
        edited = table_override / name
        edited.write_text(table_paths()[name].read_text() + "\n# edited\n")
        _tables_changed(monkeypatch, table_override)
        assert analyzer_key() != before, name
        edited.unlink()
        _tables_changed(monkeypatch, table_override)
        assert analyzer_key() == before, name


def test_a_registrar_added_to_the_entry_table_is_seen_by_a_warm_scan(monkeypatch, table_override, tmp_path):
    """A driver registers its handler through its own wrapper; once the wrapper is in
    entries.toml, the sleeping allocation in the handler is reported, from the cache too."""
    from allocscan.kernel.tables import table_paths

    tree = tmp_path / "drv"
    tree.mkdir()
    (tree / "demo_wrap.c").write_text(
        "#include <linux/slab.h>\n"
        "static void demo_irq_fn(int irq, void *data)\n"
        "{\n"
        "\tvoid *p = kmalloc(64, GFP_KERNEL);\n"
        "\tkfree(p);\n"
        "}\n"
        "static int demo_probe(void *dev)\n"
        "{\n"
        "\treturn demo_hook_irq(dev, demo_irq_fn);\n"
        "}\n")
    cache = tmp_path / "cache"
    assert _findings(tree, cache_dir=cache) == []
    entries = table_paths()["entries.toml"].read_text()
    entries = entries.replace("[registrations]\n", "[registrations]\ndemo_hook_irq = [[1, \"hardirq\"]]\n", 1)
    (table_override / "entries.toml").write_text(entries)
    _tables_changed(monkeypatch, table_override)
    warm = _findings(tree, cache_dir=cache)
    assert [(f["ruleId"], f["line"]) for f in warm] == [("AS002", 4)]
    assert warm == _findings(tree)


DEREF_STORES = """
struct demo_rx { int len; };

static void demo_fill(int *a, int *b, int *c, int *d, int *e, struct demo_rx *rx)
{
	*a = 1;
	*b = 2;
	*c = rx->len;
	*d = 4;
	*e = 5;
	demo_use(a, b, c, d, e);
}
"""


def test_an_entry_is_the_same_bytes_whatever_the_hash_seed(tmp_path):
    """An entry that is gone is rebuilt from the source, and its blob region must then be
    the same bytes (BlobStore._rebuild): so extraction may not follow a set's order,
    which changes with each process's hash seed. Five pointers handed on after their
    stores each get an unknown store, once in the order of a set, now in code order."""
    source = tmp_path / "demo_deref.c"
    source.write_text(DEREF_STORES)
    script = ("import hashlib, sys; from allocscan.cache import make_entry; from allocscan.extract import extract_file;"
              "print(hashlib.sha1(make_entry(extract_file('demo_deref.c', open(sys.argv[1], 'rb').read()))[0]).hexdigest())")
    digests = set()
    for seed in range(6):
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        digests.add(subprocess.run([sys.executable, "-c", script, str(source)], env=env, capture_output=True,
                                   text=True, check=True).stdout)
    assert len(digests) == 1
    body = extract_file("demo_deref.c", DEREF_STORES.encode()).functions[0]
    unknown = [a.base for a in body.assignments if a.kind == "deref" and a.op == "?"]
    assert unknown == ["a", "b", "c", "d", "e"]


def test_callers_and_sites_find_their_calls_again_once_the_calls_are_let_go(tmp_path, monkeypatch):
    """callers() and an analysis' sites keep where a call lies among its function's
    calls, not the call object: after the calls went back to their pickle
    (facts._UNPACKED) and were unpacked again, each still gives the call at its place."""
    from allocscan import facts as facts_module
    from allocscan.analyze import analyze
    from allocscan.kernel.version import builtin_kernel
    from allocscan.link import link

    monkeypatch.setattr(facts_module, "_UNPACKED", facts_module._RecentlyUnpacked(2))
    _load(CORPORA / "net_irq", tmp_path / "c")  # written; read back, every body is packed
    loaded = _load(CORPORA / "net_irq", tmp_path / "c")
    program = link(loaded)
    analysis = analyze(program, builtin_kernel("6.1"))

    def described(site):
        return (site.callee, site.line, site.col, site.args_text, site.locks)

    called = [node for node in program.functions if next(program.callers(node), None) is not None]
    assert len(called) > 5 and len(analysis.sites) > 5
    callers_before = {node: [(caller, described(site)) for caller, site in program.callers(node)] for node in called}
    sites_before = [described(s.site) for s in analysis.sites]
    for ff in loaded:  # every function's calls unpacked in turn: all but the last two went back
        for fn in ff.functions:
            fn.calls
    assert sum(type(fn.packed_calls) is int for ff in loaded for fn in ff.functions) > 10
    assert {node: [(caller, described(site)) for caller, site in program.callers(node)]
            for node in called} == callers_before
    assert [described(s.site) for s in analysis.sites] == sites_before
    assert all(s.site.callee == s.allocator.name for s in analysis.sites if s.allocator is not None)
