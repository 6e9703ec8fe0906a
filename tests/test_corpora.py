"""Each corpus tree yields exactly the findings annotated in its sources.

Annotations, clang -verify style: `/* expect: AS001 AS003 */` on the line that
must be reported (`AS001:note` also checks the level); `/* expect: AS001 order>=5 */`
also asks that the finding's `maxOrder` be at least 5; `/* ok: AS002 */` marks a
deliberate negative (checked: not reported). Every other line must stay silent
too. A corpus file need not be UTF-8 (one holds a Latin-1 byte, as old drivers do).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA

EXPECT_RE = re.compile(r"/\*\s*expect(?:@([+-]\d+))?:\s*((?:AS\d{3}(?::(?:error|warning|note))?\s*)+)(?:order>=(\d+))?")
OK_RE = re.compile(r"/\*\s*ok:\s*((?:AS\d{3}\s*)+)")


def annotations(tree: Path) -> tuple[set, set]:
    expected, ok, _, _ = _annotations(tree)
    return expected, ok


def _annotations(tree: Path) -> tuple[set, set, dict, dict]:
    """(expected (path, line, rule), deliberate negatives, {expected AS001 finding: lowest
    maxOrder}, {expected finding: the level its annotation names})."""
    expected, ok, orders, levels = set(), set(), {}, {}
    for path in sorted(tree.rglob("*.[ch]")):
        rel = path.relative_to(tree).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.split("\n"), 1):
            for m in EXPECT_RE.finditer(line):
                target = number + int(m.group(1) or 0)
                for word in m.group(2).split():
                    rule, _, level = word.partition(":")
                    expected.add((rel, target, rule))
                    if level:
                        levels[(rel, target, rule)] = level
                if m.group(3):
                    orders[(rel, target, "AS001")] = int(m.group(3))
            for m in OK_RE.finditer(line):
                ok |= {(rel, number, rule) for rule in m.group(1).split()}
    return expected, ok, orders, levels


TREES = sorted(p for p in CORPORA.iterdir() if p.is_dir())


@pytest.mark.parametrize("tree", TREES, ids=[t.name for t in TREES])
def test_corpus_exact_findings(tree: Path):
    expected, ok, orders, levels = _annotations(tree)
    assert expected, f"{tree.name}: a corpus needs at least one expected finding"
    assert ok, f"{tree.name}: a corpus needs at least one deliberate negative"
    result = run_scan([str(tree)], ScanOptions(jobs=1))
    assert not [w for w in result.warnings if "internal error" in w]
    actual = {(f.path, f.line, f.rule_id) for f in result.findings}
    missing = expected - actual
    extra = actual - expected
    assert not missing and not extra, f"missing: {sorted(missing)}\nunexpected: {sorted(extra)}"
    assert not (actual & ok)
    found = {(f.path, f.line, f.rule_id): f.level for f in result.findings}
    wrong = {key: (level, found[key]) for key, level in levels.items() if found[key] != level}
    assert not wrong, f"(expected level, reported level): {wrong}"
    low = {(f.path, f.line): f.properties["maxOrder"] for f in result.findings if f.rule_id == "AS001"
           and f.properties["maxOrder"] < orders.get((f.path, f.line, "AS001"), 0)}
    assert not low, f"maxOrder below the annotation: {low}"


def test_every_rule_has_positive_and_negative_corpus_cases():
    from allocscan.rules import RULES

    expected, ok = set(), set()
    for tree in TREES:
        e, o = annotations(tree)
        expected |= {r for *_, r in e}
        ok |= {r for *_, r in o}
    for rule in RULES:
        assert rule.ID in expected, f"{rule.ID} has no expect case"
    assert {"AS001", "AS002", "AS003"} <= ok


def test_gadget_chain_reaches_configfs_source():
    result = run_scan([str(CORPORA / "usb_gadget")], ScanOptions(jobs=1))
    as001 = next(f for f in result.findings if f.rule_id == "AS001")
    assert as001.properties["maxOrder"] == 10
    assert any(s.startswith("configfs:") for s in as001.properties["userControlled"])
    texts = [s.text for s in as001.value_flow]
    assert any("kstrtouint" in t for t in texts) and any("demo_alloc_ep_req" in t for t in texts)
    assert "page allocation failure: order:10" in as001.properties["runtimeSignature"]


def test_the_witness_names_the_opening_of_the_region_in_force_at_the_call():
    """vpe_module_init()'s shape: local_irq_save, restore, then save again in the loop;
    the acquire step is the second save, the one that reaches the call."""
    tree = CORPORA / "regions"
    result = run_scan([str(tree)], ScanOptions(jobs=1))
    (finding,) = [f for f in result.findings if f.rule_id == "AS002"]
    text = (tree / "demo_irq_regions.c").read_text().split("\n")
    acquire = [s for s in finding.witness if s.kind == "acquire"]
    assert [text[s.line - 1].strip() for s in acquire] == ["local_irq_save(flags);"]
    assert acquire[0].line == finding.line - 2


def test_value_flow_steps_are_typed():
    """The size's proof names its source, the functions, the fields and the calls as fields
    of each step: a report reads them, it never parses the text."""
    from allocscan.analyze.witness import ALLOCATION, FLOW, SOURCE

    result = run_scan([str(CORPORA / "usb_gadget")], ScanOptions(jobs=1))
    flow = next(f for f in result.findings if f.rule_id == "AS001").value_flow
    assert [s.kind for s in flow] == [SOURCE, FLOW, FLOW, FLOW, FLOW, ALLOCATION]
    source = flow[0]
    assert (source.source, source.function, source.callee) == (
        "configfs:demo_opts_buflen_store", "demo_opts_buflen_store", "kstrtouint")
    assert [s.field for s in flow[1:3]] == ["demo_opts.buflen", "demo_dev.buflen"]
    passed = flow[3]
    assert (passed.function, passed.callee) == ("demo_start_io", "demo_alloc_ep_req")
    assert flow[4].field == "usb_request.length" and flow[4].function == "demo_alloc_ep_req"
