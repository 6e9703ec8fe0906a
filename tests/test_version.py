"""The kernel a scan is for: a tree's top Makefile names it, even when the tree is a
partial copy without the gfp headers; loose files get the newest built-in tables."""

from __future__ import annotations

from pathlib import Path

from allocscan.discover import discover
from allocscan.kernel.gfp import GfpTable
from allocscan.pipeline import ScanOptions, run_scan

TOP_MAKEFILE = "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 42\nEXTRAVERSION =\nNAME = Demo\n"

RING = """#include <linux/slab.h>
struct demo_ring { char slots[8192]; };
static struct demo_ring *demo_rings;
void demo_grow(void)
{
	demo_rings = kzalloc(sizeof(struct demo_ring) * 8, GFP_NOWAIT);
}
"""


def _partial_tree(tmp_path: Path, makefile: str = TOP_MAKEFILE) -> Path:
    root = tmp_path / "linux"
    (root / "drivers" / "demo").mkdir(parents=True)
    (root / "Makefile").write_text(makefile)
    (root / "drivers" / "demo" / "ring.c").write_text(RING)
    return root


def test_a_tree_without_gfp_headers_uses_the_makefiles_version(tmp_path):
    root = _partial_tree(tmp_path)
    disc = discover([str(root / "drivers" / "demo")])
    assert disc.kernel_root == root.resolve()
    assert disc.kernel.release == "6.1.42"
    assert not disc.kernel.from_tree
    assert disc.kernel.gfp.masks == GfpTable.builtin("6.1").masks
    assert disc.rel(disc.files[0]) == "drivers/demo/ring.c"
    assert any("Makefile: release 6.1.42" in w and "built-in 6.1" in w for w in disc.warnings)


def test_a_partial_61_tree_is_scanned_with_61_bits(tmp_path):
    """6.1's GFP_NOWAIT is __GFP_KSWAPD_RECLAIM alone (0x800; kzalloc adds __GFP_ZERO): the mode printed is 6.1's."""
    result = run_scan([str(_partial_tree(tmp_path))], ScanOptions())
    (finding,) = [f for f in result.findings if f.rule_id == "AS001"]
    assert finding.properties["kernelVersion"] == "6.1.42"
    assert "mode:0x40900(GFP_NOWAIT|__GFP_COMP|__GFP_ZERO)" in finding.properties["runtimeSignature"]


def test_a_makefile_with_symbolic_versions_is_not_a_kernel_top(tmp_path):
    """tools/lib/perf's Makefile sets VERSION = $(LIBPERF_VERSION)...: not a tree's top."""
    root = _partial_tree(tmp_path, "VERSION = $(LIBPERF_VERSION)\nPATCHLEVEL = $(LIBPERF_PATCHLEVEL)\n")
    disc = discover([str(root)])
    assert disc.kernel_root is None
    assert not disc.kernel.from_tree and disc.kernel.release == "6.12"


def test_loose_files_use_the_newest_tables(tmp_path):
    (tmp_path / "ring.c").write_text(RING)
    disc = discover([str(tmp_path / "ring.c")])
    assert disc.kernel_root is None and disc.kernel.release == "6.12"
