"""Patch-review text and GitHub workflow annotations for diff mode.

The review text reads like a maintainer's reply to a patch: each new finding
with its location, why it fails, the dmesg it will produce, the path that
proves it and the fix. `--format github` prints workflow commands
(`::error file=...,line=...::message`) that GitHub shows on the pull request.
"""

from __future__ import annotations

from ..rules.base import Finding


def render_review(new: list[Finding], fixed: list[Finding], show_fixed: bool) -> str:
    out: list[str] = []
    if not new:
        out.append("allocscan: this change adds no allocation finding.")
    for f in new:
        out.append(f"{f.path}:{f.line}:{f.col}: {f.level}: {f.message} [{f.rule_id} {f.rule_name}]")
        out.append(f"  In {f.function}(), this change adds an allocation that {_why(f)}.")
        if len(f.witness) > 1:
            out.append("  How it gets there:")
            out.extend(f"    {s.path}:{s.line}: {s.text}" for s in f.witness)
        if f.value_flow:
            out.append("  Where the size comes from:")
            out.extend(f"    {s.path}:{s.line}: {s.text}" for s in f.value_flow)
        if f.signature:
            out.append(f"  On {f.properties.get('kernelVersion')} it will log:")
            out.extend(f"    {line}" for line in f.signature[:12])
        if f.fix:
            out.append(f"  Suggested fix: {f.fix}.")
        out.append("")
    if show_fixed and fixed:
        out.append(f"Fixed by this change ({len(fixed)}):")
        out.extend(f"  {f.path}:{f.line}: {f.message} [{f.rule_id}]" for f in fixed)
    return "\n".join(out).rstrip() + "\n"


def _why(f: Finding) -> str:
    return {
        "AS001": "may request a high-order block without being allowed to sleep",
        "AS002": "may sleep where sleeping is not allowed",
        "AS003": "takes its size from a user without an upper bound",
        "AS004": "is always larger than the allocator can return",
    }.get(f.rule_id, "fails at run time")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        command = {"error": "error", "warning": "warning"}.get(f.level, "notice")
        title = _escape_prop(f"{f.rule_id} {f.rule_name}")
        body = f.message
        if f.signature:
            body += "\n" + "\n".join(f.signature[:3])
        lines.append(f"::{command} file={_escape_prop(f.path)},line={f.line},col={f.col},"
                     f"endColumn={f.end_col},title={title}::{_escape(body)}")
    return "\n".join(lines) + ("\n" if lines else "")
