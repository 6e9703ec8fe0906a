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
