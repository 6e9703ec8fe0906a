"""Scan results are reused only for exactly the same input (results.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from allocscan.pipeline import ScanOptions, run_scan
from allocscan.report.jsonout import finding_dict

DRIVER = """#include <linux/slab.h>

struct ring { spinlock_t lock; void *desc; };

static void ring_refill(struct ring *r)
{
	spin_lock(&r->lock);
#ifdef RING_BIG
	r->desc = kmalloc(1 << 20, GFP_ATOMIC);
#endif
	spin_unlock(&r->lock);
}
"""


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "linux"
    (root / "drivers/ring").mkdir(parents=True)
    (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n")
    (root / "drivers/ring/Makefile").write_text("ccflags-y += -DRING_BIG\n")
    (root / "drivers/ring/ring.c").write_text(DRIVER)
    return root


def scan(tree, options):
    return run_scan([str(tree)], options)


def summary(result):
    """Each finding as the JSON report writes it: witness, value flow and signature included."""
    return [finding_dict(f) | {"signature": f.signature} for f in result.findings]


def test_the_same_input_is_reused_with_the_same_findings(tree, tmp_path):
    options = ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True)
    first = scan(tree, options)
    again = scan(tree, options)
    assert "reused" not in first.timings and "reused" in again.timings
    assert summary(again) == summary(first) and [f.rule_id for f in first.findings] == ["AS001"]
    assert again.analysis is None and again.stats.files == first.stats.files


def test_any_change_of_input_or_option_computes_again(tree, tmp_path):
    options = ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True)
    scan(tree, options)
    assert "reused" not in scan(tree, replace(options, min_order=5)).timings
    assert "reused" not in scan(tree, replace(options, ignore=["AS003"])).timings
    (tree / "drivers/ring/Makefile").write_text("ccflags-y += -DRING_SMALL\n")  # a -D flag: whole tree only
    assert "reused" not in scan(tree, options).timings
    (tree / "drivers/ring/ring.c").write_text(DRIVER.replace("#ifdef RING_BIG", "#ifdef RING_SMALL"))
    assert "reused" not in (edited := scan(tree, options)).timings
    assert [f.rule_id for f in edited.findings] == ["AS001"]
    assert "reused" in scan(tree, options).timings


def test_plain_scans_store_but_do_not_reuse(tree, tmp_path):
    options = ScanOptions(cache_dir=tmp_path / "cache")
    scan(tree, options)
    assert "reused" not in scan(tree, options).timings  # `allocscan scan` always analyses
    assert "reused" in scan(tree, replace(options, reuse_results=True)).timings  # what diff's base side finds


def test_a_damaged_result_is_computed_again(tree, tmp_path):
    options = ScanOptions(cache_dir=tmp_path / "cache", reuse_results=True)
    first = scan(tree, options)
    for stored in (tmp_path / "cache/results").glob("*.pkl"):
        stored.write_bytes(b"not a pickle")
    again = scan(tree, options)
    assert "reused" not in again.timings and summary(again) == summary(first)


def test_a_revision_record_names_results_only_while_they_are_kept(tree, tmp_path):
    """A record ties a revision to the key of its kept results (results.KeptRevision):
    it is read back as it was kept, is not made for results the cache does not hold,
    and stops answering once its results are trimmed."""
    from allocscan.results import KEEP, KeptRevision, ResultCache

    cache = tmp_path / "cache"
    first = scan(tree, ScanOptions(cache_dir=cache))
    results = ResultCache(cache)
    assert first.result_key and results.has(first.result_key)
    results.remember_revision("r" * 40, KeptRevision("0" * 40, first.discovery))  # no such results
    assert results.revision("r" * 40) is None
    results.remember_revision("r" * 40, KeptRevision(first.result_key, replace(first.discovery, files=[])))
    kept = results.revision("r" * 40)
    assert kept.result_key == first.result_key and kept.discovery.kernel == first.discovery.kernel
    for n in range(KEEP):  # other inputs: the first results are trimmed
        (tree / "drivers/ring/ring.c").write_text(DRIVER + f"\nint ring_{n};\n")
        scan(tree, ScanOptions(cache_dir=cache))
    assert not results.has(first.result_key) and results.revision("r" * 40) is None
