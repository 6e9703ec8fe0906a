"""The gfp table (data/gfp.toml) and the skb overheads (allocators.toml) drive the
analysis: editing an entry changes what is reported, so no copy of them hides in code."""

from __future__ import annotations

from pathlib import Path

import allocscan
from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import select

from .conftest import tables_changed


def _findings(source: str, rules=("AS002",)) -> list[tuple[str, int, str]]:
    analysis = analyze(link([extract_file("drivers/demo/demo.c", source.encode())]), builtin_kernel("6.1"))
    out = []
    for rule in select(list(rules), None):
        out.extend((f.rule_id, f.line, f.level) for f in rule.check(analysis, None))
    return sorted(out)


def _edit(monkeypatch, directory, name: str, old: str, new: str) -> None:
    """Replace the built-in table `name` by a copy with `old` changed to `new`."""
    text = (Path(allocscan.__file__).parent / "data" / name).read_text()
    assert old in text, f"{name} no longer holds {old!r}"
    (directory / name).write_text(text.replace(old, new, 1))
    tables_changed(monkeypatch, directory)


GFP_ANY_UNDER_BH = """
static DEFINE_SPINLOCK(demo_lock);
static void demo_stats(struct demo *d)
{
	spin_lock_bh(&demo_lock);
	d->stats = kmalloc(64, demo_pick_gfp());
	spin_unlock_bh(&demo_lock);
}
"""


def test_a_helper_choosing_the_mask_by_context_is_read_from_the_table(monkeypatch, table_override):
    """A driver's own gfp_any() twin: unknown until the table says what it returns and
    which test picks the mask; then spin_lock_bh() makes it pick GFP_ATOMIC (silent),
    and with a test that BH-off does not decide, GFP_KERNEL is reported."""
    assert _findings(GFP_ANY_UNDER_BH) == []
    _edit(monkeypatch, table_override, "gfp.toml", "[helpers.gfp_any]",
          '[helpers.demo_pick_gfp]\nmasks = ["GFP_ATOMIC", "GFP_KERNEL"]\ntest = "in_softirq"\n\n[helpers.gfp_any]')
    assert _findings(GFP_ANY_UNDER_BH) == []
    _edit(monkeypatch, table_override, "gfp.toml", "[helpers.gfp_any]",
          '[helpers.demo_pick_gfp]\nmasks = ["GFP_ATOMIC", "GFP_KERNEL"]\ntest = "in_hardirq"\n\n[helpers.gfp_any]')
    assert _findings(GFP_ANY_UNDER_BH) == [("AS002", 6, "note")]


def test_which_contexts_decide_a_test_is_read_from_the_table(monkeypatch, table_override):
    source = GFP_ANY_UNDER_BH.replace("demo_pick_gfp()", "gfp_any()")
    assert _findings(source) == []
    _edit(monkeypatch, table_override, "gfp.toml",
          'bh = ["in_interrupt", "in_softirq", ', 'bh = ["in_interrupt", ')
    assert _findings(source) == [("AS002", 6, "note")]


STORES_THE_MASK = """
static DEFINE_SPINLOCK(demo_lock);
static void demo_setup(struct demo *d)
{
	spin_lock(&demo_lock);
	demo_remember_mask(&d->pool, GFP_KERNEL);
	spin_unlock(&demo_lock);
}
"""


def test_calls_that_only_keep_the_mask_are_read_from_the_table(monkeypatch, table_override):
    """A call outside the scan is taken to allocate with the mask it is given, unless
    the table lists it among the calls that only compute or store a mask."""
    assert _findings(STORES_THE_MASK) == [("AS002", 6, "error")]
    _edit(monkeypatch, table_override, "gfp.toml", 'names = [\n  "mapping_gfp_constraint",',
          'names = [\n  "demo_remember_mask", "mapping_gfp_constraint",')
    assert _findings(STORES_THE_MASK) == []


LEAVES_WHEN_BLOCKING = """
static void *demo_frag(struct demo *d, gfp_t gfp)
{
	void *p;

	if (demo_may_block(gfp))
		return kmalloc(64, gfp);
	local_bh_disable();
	p = kmalloc(64, gfp);
	local_bh_enable();
	return p;
}
static void *demo_open(struct demo *d) { return demo_frag(d, GFP_KERNEL); }
"""


def test_tests_of_a_blocking_mask_are_read_from_the_table(monkeypatch, table_override):
    """An early exit through the driver's own blocking test keeps GFP_KERNEL out of the
    BH-off region once the table names the test."""
    assert _findings(LEAVES_WHEN_BLOCKING) == [("AS002", 9, "warning")]
    _edit(monkeypatch, table_override, "gfp.toml", 'tests = ["gfpflags_allow_blocking"]',
          'tests = ["gfpflags_allow_blocking", "demo_may_block"]')
    assert _findings(LEAVES_WHEN_BLOCKING) == []


def test_skb_head_overheads_are_read_from_the_table(monkeypatch, table_override):
    """__netdev_alloc_skb() adds NET_SKB_PAD and the aligned skb_shared_info to the length."""
    source = "int demo_rx(struct net_device *dev) { return !__netdev_alloc_skb(dev, 1000, GFP_ATOMIC); }\n"

    def size():
        analysis = analyze(link([extract_file("drivers/demo/rx.c", source.encode())]), builtin_kernel("6.1"))
        (site,) = [s for s in analysis.sites if s.allocator is not None]
        return site.size.lo, site.size.hi

    assert size() == (1000 + 64 + 320, 1000 + 64 + 320)
    _edit(monkeypatch, table_override, "allocators.toml", "NET_SKB_PAD = 64", "NET_SKB_PAD = 128")
    assert size() == (1000 + 128 + 320, 1000 + 128 + 320)
