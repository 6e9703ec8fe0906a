"""`allocscan explain` on real-world log shapes: split headers, caller ids, fragments, no version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocscan.explain import explain_text
from allocscan.explain.decode import choose_table
from allocscan.explain.frames import allocator_chain, entry_of, is_allocator_frame
from allocscan.explain.logparse import parse_log, split_prefixes
from allocscan.kernel.tables import families

LOGS = Path(__file__).parent / "data" / "logs"


def _one(name: str):
    (d,) = explain_text((LOGS / name).read_text(), name)
    return d


# --- prefixes and split headers ------------------------------------------------

def test_prefixes_are_kept_apart():
    assert split_prefixes("[  940.551201][    C2] demo_rx: x") == ("demo_rx: x", 940.551201, "C2")
    assert split_prefixes("<4>[   12.000100][  T812] Call Trace:") == ("Call Trace:", 12.0001, "T812")
    assert split_prefixes("Nov 25 09:14:07.123456 box kernel: [ 5.5] Mem-Info:") == ("Mem-Info:", 5.5, None)
    assert split_prefixes("[Mon Nov 25 09:14:07 2024] Mem-Info:")[0] == "Mem-Info:"


def test_split_header_is_rebuilt_from_its_parts():
    (report,) = parse_log((LOGS / "interleaved_split_header_4_14.log").read_text())
    assert report.kind == "page-allocation-failure" and report.order == 0
    assert report.mode == 0x1080020 and report.mode_names == "GFP_ATOMIC" and report.nodemask == "(null)"
    assert report.header_lines == (2, 5, 7)
    funcs = [f.func for f in report.frames]
    # the other CPU's frame printed between the header's parts is not this report's
    assert "demo_eth_watchdog" not in funcs and funcs[0] == "dump_stack"
    assert report.first_marker == "<IRQ>"


def test_split_header_diagnosis():
    d = _one("interleaved_split_header_4_14.log")
    assert d.verdict == "out-of-memory"
    assert d.flags["names"] == "GFP_ATOMIC" and not d.flags["may_sleep"]
    assert d.caller == "demo_eth_rx_refill"
    assert d.chain["family"] == "netdev_skb" and d.chain["innerEntry"] == "page_frag_alloc"
    assert d.context["atomic"] and d.context["where"] == "the NET_RX softirq"
    assert any("rebuilt from log lines 2, 5, 7" in f for f in d.facts)


def test_split_header_takes_only_its_own_parts():
    text = "\n".join([
        "[ 10.000000][    C3] swapper/3: page allocation failure: order:2",
        "[ 10.000001][    C1] , mode:0xcc0(GFP_KERNEL), nodemask=(null)",  # another caller's part
        "[ 10.000002][    C3] , mode:0xa20(GFP_ATOMIC), nodemask=(null)",
        "[ 10.000003][    C3] Call Trace:",
    ])
    (report,) = parse_log(text)
    assert report.mode == 0xa20 and report.header_lines == (1, 3)
    late = "\n".join([
        "[ 10.000000] swapper/3: page allocation failure: order:2",
        "[ 12.500000] , mode:0xa20(GFP_ATOMIC), nodemask=(null)",  # 2.5 s later: not a continuation
    ])
    (report,) = parse_log(late)
    assert report.mode is None and report.header_lines == ()
    d = explain_text(late, "late.log")[0]
    assert any("mode part is missing" in f for f in d.facts) and d.flags["may_sleep"] is None


def test_caller_ids_read_interleaved_reports_apart():
    d1, d2 = explain_text((LOGS / "interleaved_caller_ids_6_1.log").read_text(), "x")
    assert (d1.number, d2.number) == (1, 2)
    assert d1.caller == "demo_rx_desc_get" and d1.chain["slabRefill"] and d1.chain["family"] == "cache"
    assert "demo_fw_reload_work" not in d1.frames and d1.context["atomic"]
    assert d1.context["where"] == "an interrupt handler"
    assert d2.caller == "demo_fw_reload_work" and d2.chain["path"] == "page" and d2.chain["family"] == "kmalloc"
    assert "demo_rx_irq" not in d2.frames and d2.context["atomic"] is False
    assert d2.flags["may_sleep"] and d1.flags["names"] == "GFP_ATOMIC"


# --- fragments -----------------------------------------------------------------

def test_fragment_gets_the_verdict_its_frames_support():
    d = _one("fragment_timer_xmit_5_10.log")
    assert d.kind == "stack-fragment" and d.verdict == "allocation-in-atomic-context"
    assert d.caller == "demo_wlan_start_xmit"
    assert d.chain["entry"] == "kmem_cache_alloc_trace" and d.chain["path"] == "slab"
    assert d.context["where"] == "a timer callback (TIMER softirq)"
    assert d.context["inside"].startswith("ndo_start_xmit")
    assert {"order", "mode"} <= set(d.missing)
    assert "TIMER softirq" in d.summary and d.line == 3
    assert any("slab refill of order 0 to 1" in f for f in d.facts)


def test_fragment_with_the_report_frames_names_the_report():
    text = "\n".join(["CPU: 0 PID: 77 Comm: demo Not tainted 6.1.0-9-amd64 #1", "Call Trace:",
                      " dump_stack_lvl+0x44/0x5c", " warn_alloc+0x137/0x160", " __alloc_pages+0x2c4/0x300",
                      " demo_fill+0x3a/0xc0 [demo]", " process_one_work+0x1c7/0x380"])
    (d,) = explain_text(text, "cut.log")
    assert d.kind == "stack-fragment" and d.chain["impliedReport"] == "page-allocation-failure"
    assert d.kernel_version == "6.1.0-9-amd64" and d.verdict == "allocation-in-process-context"
    assert any(f.startswith("the missing header was `<comm>: page allocation failure") for f in d.facts)


def test_stacks_that_do_not_start_in_the_allocator_are_not_reports():
    hung = "\n".join(["INFO: task demo:12 blocked for more than 120 seconds.", "Call Trace:",
                      " __schedule+0x2eb/0x8d0", " schedule+0x4e/0xb0", " demo_wait+0x2a/0x60 [demo]",
                      " demo_ioctl+0x51/0x90 [demo]"])
    with pytest.raises(Exception, match="no allocation failure"):
        explain_text(hung, "hung.log")


def test_a_fragment_after_a_report_is_its_own_report():
    oom = (LOGS / "oom_x86_6_1.log").read_text()
    fragment = (LOGS / "fragment_timer_xmit_5_10.log").read_text()
    d1, d2 = explain_text(oom + fragment, "both.log")
    assert d1.kind == "page-allocation-failure" and d2.kind == "stack-fragment"
    assert "demo_wlan_start_xmit" not in d1.frames and d1.frames[-1] == "demo_poll"


def test_another_stack_dump_closes_a_report():
    sleeping = (LOGS / "sleeping_6_12.log").read_text().split("\n")[:14]  # up to its last frame
    other = ["[  301.600000] CPU: 3 PID: 88 Comm: demo Not tainted 6.12.57 #1", "[  301.600001] Call Trace:",
             "[  301.600002]  __kmalloc_noprof+0x2b5/0x3f0", "[  301.600003]  demo_other+0x48/0xb0 [demo]",
             "[  301.600004]  process_one_work+0x1c7/0x380"]
    d1, d2 = explain_text("\n".join(sleeping + other), "two.log")
    assert d1.frames[-1] == "__handle_irq_event_percpu" and "demo_other" not in d1.frames
    assert d2.kind == "stack-fragment" and d2.caller == "demo_other" and d2.kernel_version == "6.12.57"


# --- which version's bits -------------------------------------------------------

def test_log_without_version_says_which_bits_and_why():
    d = _one("noversion_mode_bits_6_1.log")
    assert d.decoding["series"] == "6.1" and d.decoding["consistent"]
    assert "no kernel version" in d.decoding["reason"] and "6.12" in d.decoding["reason"]
    assert d.flags["names"] == "GFP_ATOMIC"
    assert any(f.startswith("GFP bits: the log gives no kernel version") for f in d.facts)


def test_version_choice_by_fit():
    assert choose_table(0x820, "GFP_ATOMIC", None, None).series == "6.12"  # the default fits
    assert choose_table(0, "none", None, None).consistent  # %pGg prints "none" for an empty mask
    old = choose_table(0x1080020, "GFP_ATOMIC", None, None)
    assert old.series == "4.14" and old.fits == ["4.14"]
    given = choose_table(0x2084020, "GFP_ATOMIC|__GFP_COMP", "6.1.0", None)  # a 4.9 mode on a "6.1" kernel
    assert not given.consistent and given.fits == ["4.9"] and given.series == "4.9"
    assert "do not" not in given.reason and "not the printed GFP_ATOMIC|__GFP_COMP" in given.reason
    nothing = choose_table(0x80000000, None, None, None)
    assert nothing.series == "6.12" and not nothing.consistent and "may misread" in nothing.reason
    forced = choose_table(0xa20, "GFP_ATOMIC", "6.1.5", "4.14")  # --kernel-version is taken at its word
    assert forced.series == "4.14" and not forced.consistent and "5.4" in forced.fits


# --- several reports -------------------------------------------------------------

def test_reports_are_numbered_across_logs(run_cli):
    proc = run_cli("explain", str(LOGS / "interleaved_caller_ids_6_1.log"), str(LOGS / "oom_x86_6_1.log"),
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr
    reports = json.loads(proc.stdout)["reports"]
    assert [r["number"] for r in reports] == [1, 2, 3]
    assert reports[2]["log"].endswith("oom_x86_6_1.log") and reports[2]["line"] == 1
    text = run_cli("explain", str(LOGS / "interleaved_caller_ids_6_1.log"), str(LOGS / "oom_x86_6_1.log")).stdout
    assert "report 3 of 3 (" in text and "oom_x86_6_1.log line 1)" in text


# --- the frame facts come from the data tables -----------------------------------

@pytest.mark.parametrize("family", sorted(families()))
def test_each_familys_predicted_trace_is_read_as_that_family(family):
    """The frames a signature predicts for a family (allocators.toml) are what explain recognises."""
    for era, frames in families()[family].frames.items():
        assert all(is_allocator_frame(f) for f in frames), (family, era)
        chain = allocator_chain(["warn_alloc", *frames, "demo_caller"])
        assert chain.family == family and chain.caller == "demo_caller", (family, era, chain)
        assert entry_of(frames[-1])[0] == family
