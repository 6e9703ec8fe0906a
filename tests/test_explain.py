"""`allocscan explain`: parsing real-shaped logs, decoding, and every verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocscan.explain import explain_text
from allocscan.explain.logparse import clean_line, parse_log

LOGS = Path(__file__).parent / "data" / "logs"

VERDICTS = {
    "fragmented_cma_arm_4_9.log": "fragmented",
    "oom_x86_6_1.log": "out-of-memory",
    "watermark_arm64_5_10_crlf.log": "watermark",
    "maxorder_warn_6_1.log": "exceeds-max-order",
    "transient_6_6.log": "transient",
    "sleeping_6_12.log": "atomic-context",
    "sched_atomic_4_14.log": "atomic-context",
}


@pytest.mark.parametrize("name,verdict", sorted(VERDICTS.items()))
def test_each_log_reaches_its_verdict(name, verdict):
    (d,) = explain_text((LOGS / name).read_bytes().decode(), name)
    assert d.verdict == verdict, d.summary


def test_cma_fragmentation_numbers():
    (d,) = explain_text((LOGS / "fragmented_cma_arm_4_9.log").read_text(), "x")
    text = "\n".join(d.facts)
    assert "order 9 is 2048 kB" in text
    assert "all 66 free block(s) of order >= 9 are CMA pageblocks" in text
    assert "largest free block outside CMA is 256 KiB (256 kB, order 6)" in text
    assert "free memory without CMA is 4796 kB, above the min watermark of 1416 kB" in text
    assert d.flags["names"] == "GFP_ATOMIC|__GFP_COMP" and not d.flags["may_sleep"]
    assert d.caller == "democam_queue_frame"


def test_wrapped_buddy_line_is_joined():
    (report,) = parse_log((LOGS / "fragmented_cma_arm_4_9.log").read_text())
    zone = report.zones[0]
    assert zone.buddy_total_kb == 120844 and (10, 51, "C") in zone.buddy and not zone.buddy_cut


def test_prefixes_and_crlf():
    assert clean_line("Nov 25 09:14:07 buildbox kernel: Mem-Info:\r") == "Mem-Info:"
    assert clean_line("<4>[  812.004309] Mem-Info:") == "Mem-Info:"
    (d,) = explain_text((LOGS / "watermark_arm64_5_10_crlf.log").read_bytes().decode(), "x")
    assert d.kernel_version.startswith("5.10")
    assert d.flags["names"] == "GFP_ATOMIC|__GFP_COMP"


def test_several_reports_and_noise():
    text = "\n".join((LOGS / n).read_text() for n in ("sleeping_6_12.log", "oom_x86_6_1.log", "sched_atomic_4_14.log"))
    ds = explain_text("boot noise\n" + text + "\ntrailing noise\n", "x")
    assert [d.verdict for d in ds] == ["atomic-context", "out-of-memory", "atomic-context"]
    assert ds[0].caller == "demo_irq_handler" and ds[2].caller == "demo_spi_xfer"


def test_cut_buddy_line_is_flagged():
    text = (LOGS / "transient_6_6.log").read_text().replace(" = 412000kB", "")
    (report,) = parse_log(text.rsplit("90*4096kB", 1)[0])
    assert report.zones[0].buddy_cut


def test_cli_exit_codes_and_json(run_cli, tmp_path):
    ok = run_cli("explain", str(LOGS / "transient_6_6.log"), "--format", "json")
    assert ok.returncode == 0
    doc = json.loads(ok.stdout)
    assert doc["schemaVersion"] == 1 and doc["reports"][0]["verdict"] == "transient"
    empty = tmp_path / "empty.log"
    empty.write_text("")
    bad = run_cli("explain", str(empty))
    assert bad.returncode == 2 and "empty.log: empty log" in bad.stderr and "Traceback" not in bad.stderr
    noise = run_cli("explain", "-", stdin="just some\nunrelated lines\n")
    assert noise.returncode == 2 and "no allocation failure" in noise.stderr
    missing = run_cli("explain", str(tmp_path / "nope.log"))
    assert missing.returncode == 2 and "nope.log: no such file" in missing.stderr
    binary = tmp_path / "core.bin"
    binary.write_bytes(b"\x7fELF\x00\x00")
    assert run_cli("explain", str(binary)).returncode == 2


def test_tree_maps_trace_to_the_allocation(run_cli, tmp_path):
    tree = tmp_path / "tree" / "drivers" / "demo"
    tree.mkdir(parents=True)
    (tree / "cam.c").write_text(
        "#define FRAME_LEN (2 * 1024 * 1024)\n"
        "int democam_queue_frame(struct cam *c)\n{\n"
        "\tc->buf = kmalloc(FRAME_LEN, GFP_ATOMIC);\n"
        "\treturn c->buf ? 0 : -ENOMEM;\n}\n")
    proc = run_cli("explain", str(LOGS / "fragmented_cma_arm_4_9.log"), "--tree", str(tmp_path / "tree"),
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr
    src = json.loads(proc.stdout)["reports"][0]["source"]
    assert src["function"] == "democam_queue_frame" and src["line"] == 4
    assert src["call"].startswith("kmalloc(FRAME_LEN") and src["finding"].startswith("AS001")
