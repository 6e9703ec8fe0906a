"""Which rules run and what a scan keeps: --select/--ignore, one finding per line, and
an analysis error that must not end a scan."""

from __future__ import annotations

import json

from allocscan import analyze as analyze_module
from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA

TWO_ON_ONE_LINE = """\
struct demo { spinlock_t lock; void *a; void *b; };
static void demo_fill(struct demo *d)
{
	spin_lock(&d->lock);
	d->a = kmalloc(64, GFP_KERNEL); d->b = kzalloc(128, GFP_KERNEL);
	spin_unlock(&d->lock);
}
"""


def _rules(result) -> set[str]:
    return {f.rule_id for f in result.findings}


def test_select_and_ignore_by_prefix(run_cli):
    everything = _rules(run_scan([str(CORPORA)], ScanOptions(jobs=1)))
    assert {"AS001", "AS002", "AS003", "AS004"} <= everything
    assert _rules(run_scan([str(CORPORA)], ScanOptions(jobs=1, ignore=["AS002"]))) == everything - {"AS002"}
    assert _rules(run_scan([str(CORPORA)], ScanOptions(jobs=1, select=["AS00"], ignore=["AS001", "AS003"]))) == \
        {"AS002", "AS004"}
    proc = run_cli("scan", str(CORPORA), "--format", "json", "--ignore", "AS002", "--fail-on", "none")
    assert proc.returncode == 0
    assert {f["ruleId"] for f in json.loads(proc.stdout)["findings"]} == everything - {"AS002"}
    proc = run_cli("scan", str(CORPORA), "--format", "json", "--select", "AS004", "--fail-on", "none")
    assert {f["ruleId"] for f in json.loads(proc.stdout)["findings"]} == {"AS004"}


def test_one_finding_per_rule_and_line(tmp_path):
    (tmp_path / "demo_two.c").write_text(TWO_ON_ONE_LINE)
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1))
    assert [(f.rule_id, f.line) for f in result.findings] == [("AS002", 5)]
    # the analysis saw two sites there: the scan keeps one report per line
    assert len([s for s in result.analysis.sites if s.site.line == 5]) == 2


def test_an_internal_error_in_one_site_is_a_warning_and_the_scan_goes_on(tmp_path, monkeypatch):
    (tmp_path / "demo_two.c").write_text(TWO_ON_ONE_LINE)
    real = analyze_module._describe

    def failing(a, ff, fn, node, call_index, *rest):
        if fn.calls[call_index].callee == "kzalloc":
            raise KeyError("demo")
        return real(a, ff, fn, node, call_index, *rest)

    monkeypatch.setattr(analyze_module, "_describe", failing)
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1))
    assert [(f.rule_id, f.line) for f in result.findings] == [("AS002", 5)]
    (warning,) = [w for w in result.warnings if "internal error" in w]
    assert warning.startswith("demo_two.c:5: internal error analysing 'kzalloc' (KeyError")
