"""Runtime signatures: the dmesg lines a finding's site produces on its kernel.

For AS001 the `page allocation failure` report in the version's format
(nodemask/cpuset from 4.10 on), the mode as `%#x(%pGg)` with the flags the
allocator adds on its way down (`__GFP_COMP` for large kmalloc). For
AS003/AS004 the order WARN of `__alloc_pages*`, whose call trace starts at the
caller of the function in its `RIP:` line. For AS002 the `__might_resched`
report at the FILE:LINE of `might_alloc()` for the tree, with the preempt
count the witness's context makes. A `__GFP_NOWARN` request fails silently:
the signature says so instead of printing a report.

What the kernel prints depends on its config and, for a callback the kernel
runs in an interrupt, on what the interrupt interrupted. A finding therefore
gets one `Variant` per config in signatures.toml's [[configs]] and per run-time
case of its context; the text shows the first, states the config it assumes
and notes how the others differ; JSON and SARIF carry them all
(`runtimeSignatureVariants`). The frames come from signatures.toml's per-series
paths (observed on real kernels where marked verified), chosen by allocator
and, for kmalloc, by size: constant or not, above KMALLOC_MAX_CACHE_SIZE or not.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..analyze.witness import ACQUIRE, ALLOCATION, CALL, ENTRY
from ..kernel.tables import IrqContext, SignatureConfig, TraceSeries, signature_tables
from ..kernel.version import KernelInfo
from ..rules.base import Finding

COMM = "<comm>"
TAINT_LINE = "Tainted: <taint flags, when tainted>"  # printed only by a tainted kernel


@dataclass(frozen=True)
class Variant:
    """One text a site can print: under `config`, and (for an interrupt context) `when` ..."""
    config: str
    when: str
    lines: tuple[str, ...]

    def as_json(self) -> dict:
        return {"config": self.config, "when": self.when, "lines": list(self.lines)}


def signature_variants(finding: Finding, site, kernel: KernelInfo) -> list[Variant]:
    tables = signature_tables()
    series = tables.for_series(kernel.series)
    out: list[Variant] = []
    for config in tables.configs:
        if finding.rule_id == "AS002":
            texts = _sleeping(finding, site, kernel, series, config)
        elif finding.rule_id == "AS001":
            texts = _page_failure(finding, site, kernel, series)
        else:
            texts = _order_warn(finding, site, kernel, series)
        out += [Variant(config.name, when, tuple(lines)) for when, lines in texts]
    return out


def signature_for(finding: Finding, site, kernel: KernelInfo) -> list[str]:
    """The text output's signature: the first variant, the config it assumes, the others' differences."""
    return _with_notes(signature_variants(finding, site, kernel))


def _with_notes(variants: list[Variant]) -> list[str]:
    if not variants:
        return []
    tables = signature_tables()
    first = variants[0]
    same_case = {(v.config, v.when): v for v in variants}
    notes = [f"(as printed when {first.when})"] if first.when else []
    for v in variants[1:]:
        if v.config == first.config:
            notes.append(f"(when {v.when}: {_difference(first.lines, v.lines)})")
    config_notes = []
    for v in variants:
        if v.config != first.config:
            difference = _difference(same_case.get((first.config, v.when), first).lines, v.lines)
            note = f"(with {v.config}: {difference})"
            if difference and note not in config_notes:
                config_notes.append(note)
    if config_notes:
        config = next(c for c in tables.configs if c.name == first.config)
        notes = [f"(assumes {config.describe})", *notes, *config_notes]
    return list(first.lines) + notes


def _difference(old: tuple[str, ...], new: tuple[str, ...]) -> str:
    """How `new` reads against `old`, line by line: `a` instead of `b`, no `c`, also `d`."""
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        before = ", ".join(f"`{x.strip()}`" for x in old[i1:i2])
        after = ", ".join(f"`{x.strip()}`" for x in new[j1:j2])
        if tag == "replace":
            parts.append(f"{after} instead of {before}")
        elif tag == "delete":
            parts.append(f"no {before}")
        elif tag == "insert":
            parts.append(f"also {after}")
    return "; ".join(parts)


# --- the three reports ------------------------------------------------------


def _sleeping(finding: Finding, site, kernel: KernelInfo, series: TraceSeries,
              config: SignatureConfig) -> list[tuple[str, list[str]]]:
    tables = signature_tables()
    held = [s for s in finding.witness if s.kind == ACQUIRE]
    context = _context(finding)
    count = rcu_depth = 0
    for effect in [e for step in held for e in step.effects] + list(context.effects):
        if effect == "rcu" and config.preempt_rcu:
            rcu_depth += 1
        else:
            count += tables.effects.get(effect, 0)
    irqs_off = any("irq" in s.effects for s in held) or "irq" in context.effects
    version = kernel.series or (6, 12)
    texts = []
    for run in context.variants:
        preempt = count + context.offset + run.base
        irqs = int(irqs_off or context.irqs_disabled)
        lines = [f"BUG: sleeping function called from invalid context at {kernel.might_sleep_at}"]
        non_block = "non_block: 0, " if version >= (5, 4) else ""
        lines.append(f"in_atomic(): {int(preempt != 0)}, irqs_disabled(): {irqs}, {non_block}pid: <pid>, name: {COMM}")
        if version >= (5, 16):
            lines.append(f"preempt_count: {preempt:x}, expected: 0")
            if config.preempt_rcu:
                lines.append(f"RCU nest depth: {rcu_depth}, expected: 0")
        lines += _task_lines(kernel, series) + ["Call Trace:"]
        if series.markers:
            lines.append(f" {run.marker}")
        frames = [series.dump_stack, *series.might_sleep, *_sleep_frames(site, kernel, series)]
        lines += [f" {f}" for f in frames + _trail(finding)]
        texts.append((run.when, lines))
    return texts


def _page_failure(finding: Finding, site, kernel: KernelInfo, series: TraceSeries) -> list[tuple[str, list[str]]]:
    order = finding.properties.get("maxOrder")
    mode = _mode(site, kernel, large=True)
    if mode is None or order is None:
        return []
    mask, silent = mode
    text = kernel.gfp.format_mode(mask)
    if silent:
        return [("", [f"(no log line: the request carries __GFP_NOWARN, mode:{text}; "
                      "it fails silently and returns NULL)"])]
    head = f"{COMM}: page allocation failure: order:{order}, mode:{text}"
    if kernel.series >= (4, 10) or not kernel.series:
        head += ", nodemask=(null)"
        if kernel.series >= (5, 0) or not kernel.series:
            head += ",cpuset=/,mems_allowed=0"
    path = _path(site, series, large=True)
    allocator = list(path) if path is not None else _family_frames(site, kernel)
    frames = [series.dump_stack, *series.warn_alloc, *allocator]
    frames = list(dict.fromkeys(frames))  # the family tables repeat the slowpath frame
    texts = []
    for marker, when in _markers(finding):
        lines = [head, *_task_lines(kernel, series), "Call Trace:"]
        if series.markers:
            lines.append(f" {marker}")
        lines += [f" {f}" for f in frames + _trail(finding)]
        lines.append("(then the kernel's own callers, Mem-Info: and each zone's free blocks per order)")
        texts.append((when, lines))
    return texts


def _order_warn(finding: Finding, site, kernel: KernelInfo, series: TraceSeries) -> list[tuple[str, list[str]]]:
    mode = _mode(site, kernel, large=True)
    mask, silent = mode if mode is not None else (None, False)
    if silent:
        return [("", [f"(no log line: __GFP_NOWARN is set, mode:{kernel.gfp.format_mode(mask)}; "
                      f"the order is above {kernel.max_order} and the call returns NULL)"])]
    fn = kernel.order_warn_function
    path = _path(site, series, large=True)
    if path is not None:
        callers = list(path[path.index(fn) + 1:] if fn in path else path)
    else:  # the family's failure frames, less the page allocator's own
        callers = [f for f in _family_frames(site, kernel) if f != fn and "slowpath" not in f]
    texts = []
    for marker, when in _markers(finding):
        lines = [f"WARNING: CPU: <cpu> PID: <pid> at {kernel.order_warn_at} {fn}+0x.../0x...",
                 "Modules linked in: <modules>", *_task_lines(kernel, series),
                 f"RIP: 0010:{fn}+0x.../0x...", "Call Trace:"]
        if series.markers:
            lines.append(f" {marker}")
        lines += [f" {f}" for f in callers + _trail(finding)]
        lines.append(f"(the request is above order {kernel.max_order}, {kernel.page_size << kernel.max_order} bytes: "
                     "it is refused before any page is looked at)")
        if mask is None:  # a gfp held in a variable (lib/test_lockup.c's alloc_pages_gfp)
            lines.append("(the gfp is not known here: with __GFP_NOWARN in it there is no log line, only NULL)")
        texts.append((when, lines))
    return texts


# --- pieces -------------------------------------------------------------------


def _task_lines(kernel: KernelInfo, series: TraceSeries) -> list[str]:
    """dump_stack_print_info(): the CPU: line and the DMI machine name."""
    uid = kernel.dump_uid if kernel.dump_uid is not None else series.cpu_uid
    taint = kernel.dump_taint_line if kernel.dump_taint_line is not None else series.taint_line
    return [f"CPU: <cpu> {'UID: <uid> ' if uid else ''}PID: <pid> Comm: {COMM} Not tainted {kernel.release} #1",
            *([TAINT_LINE] if taint else []), "Hardware name: <hardware>"]


def _context(finding: Finding) -> IrqContext:
    """The context the witness's entry point runs in (signatures.toml irq_contexts): the
    entry's own ("softirq:ndo_tx_timeout", which the kernel calls with a lock held),
    else its class's ("softirq"); process context without an entry point."""
    contexts = signature_tables().irq_contexts
    entry = next((s for s in finding.witness if s.kind == ENTRY), None)
    if entry is None:
        return contexts["process"]
    return contexts.get(entry.context) or contexts.get(entry.context_class, contexts["process"])


def _markers(finding: Finding) -> list[tuple[str, str]]:
    """The first trace marker, and when it is printed, for the finding's context."""
    out: dict[str, str] = {}
    for run in _context(finding).variants:
        out.setdefault(run.marker, run.when)
    return list(out.items())


def _path(site, series: TraceSeries, large: bool) -> tuple[str, ...] | None:
    """The allocator's frames for this call, innermost first, from signatures.toml."""
    alloc = site.allocator
    name = alloc.trace if alloc is not None else None
    if name == "kmalloc":
        name += ("_large" if large else "") + ("_const" if site.size_constant else "")
    return series.paths.get(name) if name else None


def _sleep_frames(site, kernel: KernelInfo, series: TraceSeries) -> list[str]:
    size = site.size
    large = size.known and size.lo > kernel.kmalloc_max_cache_size
    path = _path(site, series, large)
    if path is not None:
        return list(path)
    fam = site.family
    if fam is not None and fam.sleep_frames:
        return list(fam.sleep_frames.get(kernel.era, ()))
    return [site.site.callee or site.site.field]


def _family_frames(site, kernel: KernelInfo) -> list[str]:
    fam = site.family
    return list(fam.frames.get(kernel.era, ())) if fam is not None else []


def _trail(finding: Finding) -> list[str]:
    """The witness's functions from the allocating one back to the entry point or lock
    holder, innermost first as the Call Trace prints them. A finding reported at the
    lock holder's call names that function, not the allocating one: each frame comes
    from its own step."""
    trail = [finding.function] if not finding.witness else []
    for step in reversed(finding.witness):
        if step.kind == ALLOCATION:
            trail.append(step.function or finding.function)
        elif step.kind == CALL:
            trail.append(step.function)
        elif step.kind == ENTRY:
            break
    return list(dict.fromkeys(trail))


def _mode(site, kernel: KernelInfo, large: bool) -> tuple[int, bool] | None:
    if not site.gfp:
        return None
    gfp = kernel.gfp
    alt = next((g for g in site.gfp if not gfp.allows_blocking(g.mask)), site.gfp[0])
    mask = alt.mask
    fam = site.family
    if fam is not None and large:
        for name in fam.add:
            mask |= gfp.masks.get(name, 0)
        if fam.kmalloc_attempt_add and kernel.series >= (4, 12) and (
                kernel.series >= (5, 11) or gfp.allows_blocking(mask)):
            for name in fam.kmalloc_attempt_add:
                mask |= gfp.masks.get(name, 0)
    silent = gfp.has(mask, "__GFP_NOWARN")
    return mask, silent


def attach_signatures(findings: list[Finding], sites_by_fp: dict[str, object], kernel: KernelInfo,
                      kconfig=None) -> None:
    """Signatures for every finding; with `--kconfig`, only the variants of that config."""
    holds = None
    if kconfig is not None:
        preempt_rcu = kconfig.tristate("CONFIG_PREEMPT_RCU") == "y"
        holds = {c.name for c in signature_tables().configs if c.preempt_rcu == preempt_rcu}
    for f in findings:
        site = f.site if f.site is not None else sites_by_fp.get(f.fingerprint)
        if site is None:
            continue
        variants = signature_variants(f, site, kernel)
        if holds is not None:
            variants = [v for v in variants if v.config in holds]
        f.signature = _with_notes(variants)
        if holds is not None and f.signature:
            f.signature.append(f"(for {kconfig.path}: CONFIG_PREEMPT_RCU={'y' if preempt_rcu else 'n'})")
        f.properties["runtimeSignature"] = "\n".join(f.signature)
        if variants:
            f.properties["runtimeSignatureConfig"] = variants[0].config
            f.properties["runtimeSignatureVariants"] = [v.as_json() for v in variants]
