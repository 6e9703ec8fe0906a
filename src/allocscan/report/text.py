"""gcc-style text output: one line per finding, then its proof and signature.

    drivers/usb/gadget/u_f.c:22:8: warning: 'kmalloc' may request order 10 ... [AS001 high-order-atomic-allocation]
      note: drivers/usb/gadget/function/f_sourcesink.c:571: configfs store writes bulk_buflen
      signature (6.1.176):
        <comm>: page allocation failure: order:10, mode:0x40a20(GFP_ATOMIC|__GFP_COMP), ...

The summary goes to stderr so stdout stays greppable.
"""

from __future__ import annotations

from ..analyze.witness import call_depths
from ..rules.base import Finding


def format_finding(f: Finding, show_signature: bool = True) -> list[str]:
    lines = [f"{f.path}:{f.line}:{f.col}: {f.level}: {f.message} [{f.rule_id} {f.rule_name}]"]
    if f.value_flow:
        lines.append("  size comes from:")
        for st in f.value_flow:
            lines.append(f"    {st.path}:{st.line}: {st.text}")
    if len(f.witness) > 1:
        lines.append("  atomic path:")
        for st, depth in zip(f.witness, call_depths(f.witness)):
            lines.append(f"    {st.path}:{st.line}: {'  ' * depth}{st.text}")
    kconfig = f.properties.get("kconfig")
    if kconfig:
        parts = ([f"#if {', '.join(kconfig['conditionals'])}"] if kconfig.get("conditionals") else []) + \
                ([f"built with {', '.join(kconfig['builds'])}"] if kconfig.get("builds") else [])
        lines.append(f"  depends on the config: {'; '.join(parts)}")
    if show_signature and f.signature:
        lines.append(f"  runtime signature ({f.properties.get('kernelVersion')}):")
        lines.extend(f"    {s}" for s in f.signature)
    if f.fix:
        lines.append(f"  fix: {f.fix}")
    return lines


def render_text(findings: list[Finding], show_signature: bool = True) -> str:
    out: list[str] = []
    for f in findings:
        out.extend(format_finding(f, show_signature))
    return "\n".join(out) + ("\n" if out else "")


def summary_line(findings: list[Finding], files: int, seconds: float) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule_id] = counts.get(f.rule_id, 0) + 1
    per_rule = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
    return f"allocscan: {len(findings)} finding{'s' if len(findings) != 1 else ''} in {files} files ({per_rule}) in {seconds:.1f}s"
