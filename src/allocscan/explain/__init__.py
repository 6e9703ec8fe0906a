"""`allocscan explain`: from a dmesg failure report to its cause and source line.

`logparse` reads the log, `diagnose` reproduces the allocator's reasoning
with the log's numbers, and this module renders the result (text for a
person, JSON for scripts) and, with `--tree`, maps the call trace to the
allocation in the source and to allocscan's finding for it.

JSON schema (version 1): {"tool": "allocscan", "schemaVersion": 1,
"reports": [{"kind", "header", "kernelVersion", "verdict", "summary",
"facts": [str], "request": {"order", "bytes", "kB"}, "flags": {...},
"zones": [{"zone", "free_kb", "free_cma_kb", "usable_free_kb", "min_kb",
"effective_min_kb", "watermark_ok", "blocks_at_or_above", "usable_block",
"all_cma", "largest_non_cma_order"}], "frames": [str], "caller": str|null,
"fixes": {"code": [str], "system": [str]}, "source": {"path", "line",
"function", "call", "finding"}|null}]}
"""

from __future__ import annotations

import json
from dataclasses import asdict

from .diagnose import Diagnosis, diagnose, is_allocator_frame
from .logparse import LogError, parse_log

__all__ = ["explain_text", "render_json", "render_text", "LogError", "is_allocator_frame"]


def explain_text(text: str, source_name: str, kernel_version: str | None = None) -> list[Diagnosis]:
    if not text.strip():
        raise LogError(f"{source_name}: empty log")
    reports = parse_log(text)
    if not reports:
        raise LogError(f"{source_name}: no allocation failure, sleeping-in-atomic or scheduling-while-atomic "
                       "report found")
    return [diagnose(r, kernel_version) for r in reports]


def render_text(diagnoses: list[Diagnosis]) -> str:
    out: list[str] = []
    for i, d in enumerate(diagnoses, 1):
        if len(diagnoses) > 1:
            out.append(f"report {i} of {len(diagnoses)}")
        out.append(d.header)
        out.append(f"verdict: {d.verdict} - {d.summary}")
        for fact in d.facts:
            out.append(f"  - {fact}")
        if d.source:
            s = d.source
            out.append(f"source: {s['path']}:{s['line']}: {s['function']}(): {s['call']}")
            if s.get("finding"):
                out.append(f"  allocscan: {s['finding']}")
        elif d.caller:
            out.append(f"caller: {d.caller}()")
        if d.fixes_code:
            out.append("fix in the code:")
            out.extend(f"  - {f}" for f in d.fixes_code)
        if d.fixes_system:
            out.append("mitigate on the system:")
            out.extend(f"  - {f}" for f in d.fixes_system)
        out.append("")
    return "\n".join(out)


def render_json(diagnoses: list[Diagnosis]) -> str:
    reports = []
    for d in diagnoses:
        reports.append({
            "kind": d.kind, "header": d.header, "kernelVersion": d.kernel_version, "verdict": d.verdict,
            "summary": d.summary, "facts": d.facts, "request": d.request, "flags": d.flags,
            "zones": [asdict(z) for z in d.zones], "frames": d.frames, "caller": d.caller,
            "fixes": {"code": d.fixes_code, "system": d.fixes_system}, "source": d.source,
        })
    return json.dumps({"tool": "allocscan", "schemaVersion": 1, "reports": reports}, indent=2) + "\n"
