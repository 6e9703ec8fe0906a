"""JSON output for scripts. Schema (version 1):

    {
      "tool": "allocscan", "version": "0.1.0", "schemaVersion": 1,
      "kernelVersion": "6.1.176", "root": "/path/scanned",
      "findings": [
        {"ruleId": "AS001", "ruleName": "...", "level": "error|warning|note",
         "message": "...", "path": "drivers/...", "line": 22, "column": 8, "endColumn": 35,
         "function": "alloc_ep_req", "fingerprint": "hex",
         "properties": {"allocator", "gfp", "sizeRange", "maxOrder", "userControlled",
                        "deviceControlled", "atomicContext", "runtimeSignature", "kernelVersion",
                        "maxIsLowerBound" (only when true)},
         "witness": [{"text", "path", "line", "column", "kind", "function", "callee",
                      "context" (entry steps), "effects" (acquire steps),
                      "field" (a struct field a value flows through), "source" (source steps)}],
         "valueFlow": [...same shape...], "related": [...same shape: the allocation a call
         site leads to, when the finding is reported at the call...], "fix": "...",
         "suppressed": null | "reason"}
      ],
      "warnings": ["path: problem", ...],
      "stats": {...}
    }
"""

from __future__ import annotations

import json

from .. import __version__
from ..rules.base import Finding


def _steps(steps) -> list[dict]:
    return [_step(s) for s in steps]


def _step(s) -> dict:
    """A typed witness step (analyze.witness.Step): its kind and the functions, primitive
    and context it names, beside the text for people."""
    out = {"text": s.text, "path": s.path, "line": s.line, "column": s.col, "kind": s.kind,
           "function": s.function, "callee": s.callee}
    if s.context:
        out["context"] = s.context
    if s.effects:
        out["effects"] = list(s.effects)
    if s.field:
        out["field"] = s.field
    if s.source:
        out["source"] = s.source
    return out


def finding_dict(f: Finding) -> dict:
    return {
        "ruleId": f.rule_id, "ruleName": f.rule_name, "level": f.level, "message": f.message,
        "path": f.path, "line": f.line, "column": f.col, "endColumn": f.end_col, "function": f.function,
        "fingerprint": f.fingerprint, "properties": f.properties, "witness": _steps(f.witness),
        "valueFlow": _steps(f.value_flow), "related": _steps(f.related), "fix": f.fix, "suppressed": f.suppressed,
        "baselineState": f.baseline_state,
    }


def render_json(findings: list[Finding], kernel_version: str, root: str, warnings: list[str], stats: dict) -> str:
    doc = {
        "tool": "allocscan", "version": __version__, "schemaVersion": 1, "kernelVersion": kernel_version,
        "root": root, "findings": [finding_dict(f) for f in findings], "warnings": warnings, "stats": stats,
    }
    return json.dumps(doc, indent=2) + "\n"
