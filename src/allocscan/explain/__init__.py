"""`allocscan explain`: from a dmesg failure report to its cause and source line.

`logparse` reads the log (rebuilding headers other CPUs split apart, keeping
stacks without a header as fragments), `frames` reads a call trace,
`decode` picks the GFP table for a mode, `diagnose` reproduces the
allocator's reasoning with the log's numbers, and with `--tree`, `source`
finds the function in the tree and `chooser` ranks its allocation calls
against the report. This module renders the result: text for a person, JSON
for scripts.

JSON schema (version 1): {"tool": "allocscan", "schemaVersion": 1,
"reports": [{"number", "log", "line", "kind", "header", "headerLines": [int],
"kernelVersion", "verdict", "summary", "facts": [str], "request": {"order",
"bytes", "kB"}, "flags": {...}, "decoding": {"series", "reason",
"consistent", "fits": [str]}|null, "zones": [{"zone", "free_kb",
"free_cma_kb", "usable_free_kb", "min_kb", "effective_min_kb",
"watermark_ok", "blocks_at_or_above", "usable_block", "all_cma",
"largest_non_cma_order"}], "frames": [str], "caller": str|null, "chain":
{"entry", "family", "label", "path", "slabRefill", "innerEntry",
"innerFamily", "frames", "impliedReport"}|null, "context": {"atomic", "where", "inside",
"frames": [{"frame", "kind", "meaning"}]}|null, "missingHeader": {str: str},
"fixes": {"code": [str], "system": [str]}, "source": {"path", "line",
"function", "call", "finding", "match"}|null, "candidates": [{"rank",
"chosen", "path", "line", "function", "call", "allocator", "family",
"orderRange", "gfp", "inlinedInto", "fit": {"chain", "order", "gfp"},
"reasons": [str], "finding"}]}]}. `kind` is page-allocation-failure,
sleeping-in-atomic, scheduling-while-atomic, order-warning or
stack-fragment; `source.match` is "unique", "tie" (several calls fit
equally: all are chosen) or "closest" (no call fits every piece of
evidence).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from .diagnose import Diagnosis, diagnose
from .frames import is_allocator_frame
from .logparse import LogError, parse_log

__all__ = ["explain_text", "number_reports", "render_json", "render_text", "LogError", "is_allocator_frame"]


def explain_text(text: str, source_name: str, kernel_version: str | None = None) -> list[Diagnosis]:
    if not text.strip():
        raise LogError(f"{source_name}: empty log")
    reports = parse_log(text)
    if not reports:
        raise LogError(f"{source_name}: no allocation failure, sleeping-in-atomic or scheduling-while-atomic "
                       "report, and no call trace that starts in the allocator, found")
    diagnoses = [diagnose(r, kernel_version) for r in reports]
    for d in diagnoses:
        d.log = source_name
    return number_reports(diagnoses)


def number_reports(diagnoses: list[Diagnosis]) -> list[Diagnosis]:
    """Number reports 1..n in the order given (several logs: across all of them)."""
    for number, d in enumerate(diagnoses, 1):
        d.number = number
    return diagnoses


def render_text(diagnoses: list[Diagnosis]) -> str:
    out: list[str] = []
    for d in diagnoses:
        if len(diagnoses) > 1:
            out.append(f"report {d.number} of {len(diagnoses)} ({d.log} line {d.line})")
        out.append(d.header)
        out.append(f"verdict: {d.verdict} - {d.summary}")
        out.extend(f"  - {fact}" for fact in d.facts)
        out.extend(_source_lines(d))
        if d.fixes_code:
            out.append("fix in the code:")
            out.extend(f"  - {f}" for f in d.fixes_code)
        if d.fixes_system:
            out.append("mitigate on the system:")
            out.extend(f"  - {f}" for f in d.fixes_system)
        out.append("")
    return "\n".join(out)


def _source_lines(d: Diagnosis) -> list[str]:
    if not d.source:
        return [f"caller: {d.caller}()"] if d.caller else []
    chosen = [c for c in d.candidates if c["chosen"]] or [d.source]
    out = []
    if d.source.get("match") == "tie":
        out.append(f"source: {len(chosen)} calls fit equally (the log cannot tell them apart):")
        out.extend(f"  {c['path']}:{c['line']}: {c['function']}(): {c['call']}" for c in chosen)
    else:
        s = d.source
        out.append(f"source: {s['path']}:{s['line']}: {s['function']}(): {s['call']}")
        if s.get("match") == "closest":
            out.append("  (no call fits every piece of evidence: this one fits best)")
    for c in chosen:
        if c.get("finding"):
            out.append(f"  allocscan: {c['finding']}")
    if len(d.candidates) > 1 or (d.candidates and d.candidates[0].get("reasons")):
        out.append(f"candidates in {d.candidates[0]['function']}(), ranked:")
        for c in d.candidates:
            fit = ", ".join(f"{k} {v}" for k, v in c["fit"].items())
            where = f" (in {c['function']}(), if inlined into {c['inlinedInto']}())" if c.get("inlinedInto") else ""
            out.append(f"  {c['rank']}. line {c['line']}: {c['call']}{where} [{fit}]")
            out.extend(f"       {r}" for r in c["reasons"])
    return out


def render_json(diagnoses: list[Diagnosis]) -> str:
    reports = []
    for d in diagnoses:
        reports.append({
            "number": d.number, "log": d.log, "line": d.line, "kind": d.kind, "header": d.header,
            "headerLines": d.header_lines, "kernelVersion": d.kernel_version, "verdict": d.verdict,
            "summary": d.summary, "facts": d.facts, "request": d.request, "flags": d.flags, "decoding": d.decoding,
            "zones": [asdict(z) for z in d.zones], "frames": d.frames, "caller": d.caller, "chain": d.chain,
            "context": d.context, "missingHeader": d.missing,
            "fixes": {"code": d.fixes_code, "system": d.fixes_system}, "source": d.source,
            "candidates": d.candidates,
        })
    return json.dumps({"tool": "allocscan", "schemaVersion": 1, "reports": reports}, indent=2) + "\n"
