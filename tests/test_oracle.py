"""Runtime signatures checked against what real kernels printed.

`benchmarks/signature_oracle` booted 6.1 and 6.12 kernels (two configs each)
with this project's test modules and saved each console log under
`tests/data/oracle/<release>-<variant>/` with the config options that decide
the text. Here the same module sources are scanned with the built-in tables of
that release, and every case's report must match one of the predicted texts
for that config: header lines verbatim after the placeholders, the first
frames in order (the harness's compare.py). Nothing is built or booted.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from allocscan.kernel.tables import signature_tables
from allocscan.kernel.version import builtin_kernel
from allocscan.pipeline import ScanOptions, run_scan

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "benchmarks" / "signature_oracle"
MODULES = HARNESS / "modules"
FIXTURES = Path(__file__).parent / "data" / "oracle"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"signature_oracle_{name}", HARNESS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compare = _load("compare")
CASES = sorted(p.stem[len("oracle_"):] for p in MODULES.glob("oracle_*.c"))
FIXTURE_DIRS = sorted(p for p in FIXTURES.iterdir() if (p / "console.log").is_file()) if FIXTURES.is_dir() else []


def _configs(fixture: Path) -> set[str]:
    preempt_rcu = "CONFIG_PREEMPT_RCU=y" in (fixture / "kernel.config").read_text().splitlines()
    return {c.name for c in signature_tables().configs if c.preempt_rcu == preempt_rcu}


def _predictions(release: str, configs: set[str]) -> dict[str, list[list[str]]]:
    result = run_scan([str(MODULES)], ScanOptions(jobs=1, kernel_version=release))
    out: dict[str, list[list[str]]] = {}
    for f in result.findings:
        case = Path(f.path).stem[len("oracle_"):]
        assert case not in out, f"two findings for {case}"
        out[case] = [v["lines"] for v in f.properties["runtimeSignatureVariants"] if v["config"] in configs]
    return out


def test_fixtures_cover_both_versions_and_both_configs():
    # 6.1 and 6.12, each with PREEMPT_VOLUNTARY (no PREEMPT_RCU) and PREEMPT_DYNAMIC (PREEMPT_RCU)
    covered = {(p.name.rsplit("-", 1)[0].rsplit(".", 1)[0], _configs(p) == {"PREEMPT_DYNAMIC"}) for p in FIXTURE_DIRS}
    assert covered >= {("6.1", False), ("6.1", True), ("6.12", False), ("6.12", True)}, covered


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=lambda p: p.name)
def test_every_case_matches_the_kernel(fixture):
    facts = json.loads((fixture / "kernel.json").read_text())
    builtin = builtin_kernel(facts["release"])
    # The prediction here uses built-in tables; they must say what the tree said.
    assert (builtin.might_sleep_at, builtin.order_warn_at, builtin.order_warn_function, builtin.max_order) == (
        facts["might_sleep_at"], facts["order_warn_at"], facts["order_warn_function"], facts["max_order"])
    blocks = compare.case_blocks((fixture / "console.log").read_text())
    assert sorted(blocks) == CASES
    predicted = _predictions(facts["release"], _configs(fixture))
    failures = []
    for case in CASES:
        result = compare.compare_case(case, blocks[case], predicted.get(case))
        if not result.match:
            failures.append(f"{case}: {result.problems}")
    assert not failures, "\n".join(failures)


def _one_fixture() -> Path:
    if not FIXTURE_DIRS:
        pytest.fail("no oracle fixture under tests/data/oracle")
    return FIXTURE_DIRS[0]


def test_a_changed_header_line_or_frame_does_not_match():
    fixture = _one_fixture()
    facts = json.loads((fixture / "kernel.json").read_text())
    blocks = compare.case_blocks((fixture / "console.log").read_text())
    predicted = _predictions(facts["release"], _configs(fixture))
    lines = next(v for v in predicted["spin_lock"] if compare.compare_case("spin_lock", blocks["spin_lock"], [v]).match)
    count = next(i for i, line in enumerate(lines) if line.startswith("preempt_count:"))
    wrong_count = lines[:count] + ["preempt_count: 2, expected: 0"] + lines[count + 1:]
    assert not compare.compare_case("spin_lock", blocks["spin_lock"], [wrong_count]).match
    trace = lines.index("Call Trace:")
    swapped = lines[:trace + 3] + [lines[trace + 4], lines[trace + 3]] + lines[trace + 5:]
    assert not compare.compare_case("spin_lock", blocks["spin_lock"], [swapped]).match
    without_hardware = [line for line in lines if not line.startswith("Hardware name:")]
    assert not compare.compare_case("spin_lock", blocks["spin_lock"], [without_hardware]).match
    silent = ["(no log line: the request carries __GFP_NOWARN)"]
    assert not compare.compare_case("spin_lock", blocks["spin_lock"], [silent]).match


def test_placeholders_stand_for_what_varies_and_nothing_else():
    assert compare.line_matches("CPU: <cpu> PID: <pid> Comm: <comm> Not tainted 6.1.176 #1",
                                "CPU: 0 PID: 52 Comm: insmod Tainted: G        W  O       6.1.176 #1")
    assert compare.line_matches("CPU: <cpu> UID: <uid> PID: <pid> Comm: <comm> Not tainted 6.12.117 #1",
                                "CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.12.117 #1")
    assert not compare.line_matches("CPU: <cpu> PID: <pid> Comm: <comm> Not tainted 6.1.176 #1",
                                    "CPU: 0 UID: 0 PID: 52 Comm: insmod Not tainted 6.1.176 #1")
    assert not compare.line_matches("preempt_count: 100, expected: 0", "preempt_count: 101, expected: 0")
    assert compare.frame_name("__might_resched.cold") == compare.frame_name("__might_resched")
    assert compare.frame_name("__alloc_pages_slowpath.constprop.0") == "__alloc_pages_slowpath"


def test_hrtimer_callback_runs_where_its_mode_says(tmp_path):
    source = (MODULES / "oracle_hrtimer_hard.c").read_text()
    (tmp_path / "hard.c").write_text(source)
    # loose files: the mode's bits come from hrtimer.h's enum, written here as the kernel has it
    modes = "enum hrtimer_mode { HRTIMER_MODE_REL = 0x01, HRTIMER_MODE_SOFT = 0x04,\n" \
            "\tHRTIMER_MODE_REL_SOFT = HRTIMER_MODE_REL | HRTIMER_MODE_SOFT };\n"
    (tmp_path / "soft.c").write_text(modes + source.replace("sample_", "soft_sample_").replace("_REL_HARD", "_REL_SOFT"))
    (tmp_path / "unarmed.c").write_text(source.replace("sample_", "idle_sample_").replace(
        "hrtimer_start(&idle_sample_clock, ms_to_ktime(20), HRTIMER_MODE_REL_HARD);", ""))
    found = {Path(f.path).stem: f for f in run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.12")).findings
             if f.rule_id == "AS002"}
    assert found["hard"].properties["atomicContext"].startswith("hardirq:hrtimer")
    assert "preempt_count: 10001, expected: 0" in found["hard"].signature
    assert found["soft"].properties["atomicContext"].startswith("softirq:hrtimer")
    assert "unarmed" not in found  # set up but never started: it never runs


def test_kmalloc_frames_follow_the_size(tmp_path):
    (tmp_path / "sizes.c").write_text("""
#define RING 65536
enum { RING_SLOT = 192 };
static unsigned int ring_len = 64;
static DEFINE_SPINLOCK(ring_lock);
static void ring_fill(void)
{
	void *a, *b, *c, *d;

	spin_lock(&ring_lock);
	a = kmalloc(64, GFP_KERNEL);
	b = kmalloc(ring_len, GFP_KERNEL);
	c = kmalloc(RING, GFP_KERNEL);
	d = kmalloc(RING_SLOT * 2, GFP_KERNEL);
	spin_unlock(&ring_lock);
}
""")
    for release, small_const, small, large_const in (
            ("6.1", "__kmem_cache_alloc_node kmalloc_trace", "__kmem_cache_alloc_node __kmalloc",
             "__alloc_pages __kmalloc_large_node kmalloc_large"),
            ("6.12", "__kmalloc_cache_noprof", "__kmalloc_noprof",
             "__alloc_pages_noprof alloc_pages_mpol_noprof ___kmalloc_large_node __kmalloc_large_noprof")):
        found = sorted((f for f in run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version=release)).findings
                        if f.rule_id == "AS002"), key=lambda f: f.line)
        # after Call Trace:, <TASK>, dump_stack_lvl and __might_resched: the allocator's frames
        traces = [" ".join(x.strip() for x in f.signature[f.signature.index("Call Trace:") + 4:] if x.startswith(" "))
                  for f in found]
        assert [t.rsplit(" ring_fill", 1)[0] for t in traces] == [small_const, small, large_const, small_const], traces


def test_kconfig_picks_the_signature_variants(tmp_path):
    from allocscan.kernel.kconfig import load_kconfig

    config = tmp_path / ".config"
    config.write_text("CONFIG_PREEMPT_VOLUNTARY=y\n# CONFIG_PREEMPT_RCU is not set\n")
    tree = tmp_path / "mod"
    tree.mkdir()
    (tree / "rcu.c").write_text((MODULES / "oracle_rcu_read_lock.c").read_text())
    (tree / "Makefile").write_text("obj-m += rcu.o\n")
    plain = run_scan([str(tree)], ScanOptions(jobs=1, kernel_version="6.12")).findings[0]
    assert "RCU nest depth: 1, expected: 0" in plain.signature  # PREEMPT_DYNAMIC assumed
    (found,) = run_scan([str(tree)], ScanOptions(jobs=1, kernel_version="6.12", kconfig=load_kconfig(str(config)))).findings
    assert "preempt_count: 1, expected: 0" in found.signature
    assert not any(line.startswith("RCU nest depth") for line in found.signature)
    assert {v["config"] for v in found.properties["runtimeSignatureVariants"]} == {"PREEMPT_VOLUNTARY"}
