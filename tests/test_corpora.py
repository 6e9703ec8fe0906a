"""Each corpus tree yields exactly the findings annotated in its sources.

Annotations, clang -verify style: `/* expect: AS001 AS003 */` on the line that
must be reported (`AS001:note` also checks the level); `/* ok: AS002 */` marks a
deliberate negative (checked: not reported). Every other line must stay silent
too. A corpus file need not be UTF-8 (one holds a Latin-1 byte, as old drivers do).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA

EXPECT_RE = re.compile(r"/\*\s*expect(?:@([+-]\d+))?:\s*((?:AS\d{3}(?::(?:error|warning|note))?\s*)+)")
OK_RE = re.compile(r"/\*\s*ok:\s*((?:AS\d{3}\s*)+)")


def annotations(tree: Path, levels: dict | None = None) -> tuple[set, set]:
    """The expected (path, line, rule) and the deliberate negatives; `levels` collects
    the level an annotation names, by (path, line, rule)."""
    expected, ok = set(), set()
    for path in sorted(tree.rglob("*.[ch]")):
        rel = path.relative_to(tree).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.split("\n"), 1):
            for m in EXPECT_RE.finditer(line):
                target = number + int(m.group(1) or 0)
                for word in m.group(2).split():
                    rule, _, level = word.partition(":")
                    expected.add((rel, target, rule))
                    if level and levels is not None:
                        levels[(rel, target, rule)] = level
            for m in OK_RE.finditer(line):
                ok |= {(rel, number, rule) for rule in m.group(1).split()}
    return expected, ok


TREES = sorted(p for p in CORPORA.iterdir() if p.is_dir())


@pytest.mark.parametrize("tree", TREES, ids=[t.name for t in TREES])
def test_corpus_exact_findings(tree: Path):
    levels: dict = {}
    expected, ok = annotations(tree, levels)
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
