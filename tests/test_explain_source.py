"""`explain --tree`: choosing the allocation call among a function's calls (fixture tree: tests/data/explain_tree)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocscan.explain import explain_text, render_text
from allocscan.explain.source import map_to_source

DATA = Path(__file__).parent / "data"
LOGS = DATA / "logs"
TREE = DATA / "explain_tree"

# log -> (file, line(s) chosen); several lines: a tie the log cannot break
CHOSEN = {
    "fragmented_cma_arm_4_9.log": ("democam.c", [24]),
    "maxorder_warn_6_1.log": ("demo_cfg.c", [21]),
    "oom_x86_6_1.log": ("demo_nic.c", [24]),
    "watermark_arm64_5_10_crlf.log": ("demo_eth.c", [17]),
    "sleeping_6_12.log": ("demo_dev.c", [22]),
    "sched_atomic_4_14.log": ("demo_spi.c", [17]),
    "tree_pages_order4_6_1.log": ("demo_agg.c", [31]),
    "tree_skb_tie_6_1.log": ("demo_rxsubmit.c", [28, 30]),
    "tree_inlined_dma_6_1.log": ("demo_rings.c", [22]),
    "tree_gfp_pick_6_1.log": ("demo_cmd.c", [16]),
}


def _mapped(name: str, text: str | None = None):
    (d,) = explain_text(text if text is not None else (LOGS / name).read_text(), name)
    map_to_source(d, TREE, 1, None)
    return d


@pytest.mark.parametrize("name", sorted(CHOSEN))
def test_chosen_line(name):
    d = _mapped(name)
    path, lines = CHOSEN[name]
    chosen = [c for c in d.candidates if c["chosen"]]
    assert all(c["path"].endswith(path) for c in chosen), d.candidates
    assert [c["line"] for c in chosen] == lines, d.candidates
    assert d.source["line"] == lines[0] and d.source["match"] == ("tie" if len(lines) > 1 else "unique")
    assert [c["rank"] for c in d.candidates] == list(range(1, len(d.candidates) + 1))


def test_page_allocator_chain_and_order_rule_out_the_struct_kmalloc():
    d = _mapped("tree_pages_order4_6_1.log")
    by_line = {c["line"]: c for c in d.candidates}
    assert by_line[31]["fit"] == {"chain": "yes", "order": "yes", "gfp": "yes"}
    assert by_line[31]["orderRange"] == [4, 4]
    kmalloc_node = by_line[27]
    assert kmalloc_node["fit"]["chain"] == "no" and kmalloc_node["fit"]["order"] == "no"
    assert any("a slab object: never the order-4 request" in r for r in kmalloc_node["reasons"])


def test_skb_tie_names_both_and_keeps_the_order_open():
    d = _mapped("tree_skb_tie_6_1.log")
    # demo_alt_rx.c has a static demo_rx_submit() too: the frame's [demo_rxq] and the Makefile pick the file
    assert all(c["path"].endswith("demo_rxsubmit.c") for c in d.candidates)
    chosen = [c for c in d.candidates if c["chosen"]]
    # the failed page was a slab refill for the sk_buff (kmem_cache_alloc_node): the call's size says nothing
    assert all(c["fit"] == {"chain": "yes", "order": "unknown", "gfp": "yes"} for c in chosen)
    text = render_text([d])
    assert "source: 2 calls fit equally" in text and "candidates in demo_rx_submit(), ranked:" in text


def test_the_page_request_is_weighed_against_the_object_it_was_for():
    """Under __alloc_skb, a slab refill of the sk_buff cache says nothing of the call's size; a large head does."""
    refill = (LOGS / "tree_skb_tie_6_1.log").read_text().replace("demo_rx_submit", "demo_rx_jumbo")
    d = _mapped("refill.log", refill)
    skb = next(c for c in d.candidates if c["allocator"] == "__netdev_alloc_skb")
    assert skb["chosen"] and d.source["match"] == "unique" and skb["fit"]["order"] == "unknown"
    assert any("kmem_cache_alloc_node() in the trace" in r for r in skb["reasons"])
    head = refill.replace("order:0", "order:3").replace(
        "allocate_slab+0x2a4/0x4a0", "__kmalloc_large_node+0x7c/0x150").replace(
        "___slab_alloc+0x5b4/0x980", "__kmalloc_node_track_caller+0x5b/0x180").replace(
        "kmem_cache_alloc_node+0x2b7/0x310", "kmalloc_reserve+0x6b/0x120")
    d = _mapped("head.log", head)
    skb = next(c for c in d.candidates if c["allocator"] == "__netdev_alloc_skb")
    assert skb["chosen"] and skb["fit"]["order"] == "yes" and skb["orderRange"] == [3, 3]


def test_a_slab_refill_needs_a_slab_sized_call():
    log = (LOGS / "watermark_arm64_5_10_crlf.log").read_text().replace("order:3", "order:0").replace(
        " kmalloc_order+0x38/0x90", " allocate_slab+0x2a4/0x4a0\n ___slab_alloc+0x5b4/0x980\n __kmalloc+0x1c1/0x250")
    d = _mapped("refill.log", log)
    by_line = {c["line"]: c for c in d.candidates}
    assert by_line[14]["chosen"] and by_line[14]["fit"]["order"] == "yes"
    assert by_line[17]["fit"]["order"] == "no" and not by_line[17]["chosen"]


def test_inlined_static_callee_is_weighed_when_the_function_has_no_fit():
    d = _mapped("tree_inlined_dma_6_1.log")
    top = d.candidates[0]
    assert top["function"] == "demo_get_desc_ring" and top["inlinedInto"] == "demo_reset_rings"
    assert top["fit"]["chain"] == "yes" and top["orderRange"] == [4, 4]
    own = next(c for c in d.candidates if c["function"] == "demo_reset_rings")
    assert own["fit"]["chain"] == "no" and not own["chosen"]


def test_gfp_bits_tell_two_equal_calls_apart():
    d = _mapped("tree_gfp_pick_6_1.log")
    kernel_call = next(c for c in d.candidates if c["line"] == 15)
    assert kernel_call["fit"]["gfp"] == "no" and kernel_call["fit"]["order"] == "yes"
    silent = next(c for c in d.candidates if c["line"] == 17)  # GFP_ATOMIC | __GFP_NOWARN: never warns
    assert silent["fit"]["gfp"] == "no" and any("never prints this report" in r for r in silent["reasons"])


def test_sleeping_report_weighs_whether_the_call_may_sleep():
    d = _mapped("sleeping_6_12.log")
    atomic_call = next(c for c in d.candidates if c["line"] == 21)
    assert atomic_call["fit"]["gfp"] == "no" and atomic_call["fit"]["order"] == "n/a"


def test_when_nothing_fits_the_closest_is_named_as_such():
    text = (LOGS / "tree_gfp_pick_6_1.log").read_text().replace("order:3", "order:9")
    d = _mapped("nine.log", text)
    assert d.source["match"] == "closest" and all(c["fit"]["order"] == "no" for c in d.candidates)
    assert d.source["line"] == 16  # the one call that is wrong on the order only
    assert "no call fits every piece of evidence" in render_text([d])


def test_cli_json_carries_the_ranked_candidates(run_cli):
    proc = run_cli("explain", str(LOGS / "tree_skb_tie_6_1.log"), "--tree", str(TREE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["reports"][0]
    assert report["source"]["match"] == "tie" and len(report["candidates"]) == 3
    assert {"rank", "chosen", "fit", "reasons", "orderRange", "gfp", "inlinedInto"} <= set(report["candidates"][0])
