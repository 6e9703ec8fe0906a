"""Runtime signatures: the dmesg lines a finding's site produces on its kernel.

For AS001 the `page allocation failure` headline in the version's format
(nodemask/cpuset from 4.10 on), the mode as `%#x(%pGg)` with the flags the
allocator adds on its way down (`__GFP_COMP` for large kmalloc), and the
predicted call trace: the version's allocator frames, then the witness path.
For AS003/AS004 the order WARN of `__alloc_pages`. For AS002 the
`__might_resched` report at the FILE:LINE of `might_alloc()` for the tree.
A `__GFP_NOWARN` request fails silently: the signature says so.
"""

from __future__ import annotations

from ..analyze.witness import ACQUIRE, ALLOCATION, CALL, ENTRY
from ..kernel.version import KernelInfo
from ..rules.base import Finding

COMM = "<comm>"


def signature_for(finding: Finding, site, kernel: KernelInfo) -> list[str]:
    if finding.rule_id == "AS002":
        return _sleeping(finding, site, kernel)
    if finding.rule_id == "AS001":
        return _page_failure(finding, site, kernel, finding.properties.get("maxOrder"))
    return _order_warn(finding, site, kernel)


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
        if fam.name == "kvmalloc" and kernel.series >= (4, 12) and (kernel.series >= (5, 11) or gfp.allows_blocking(mask)):
            for name in fam.kmalloc_attempt_add:
                mask |= gfp.masks.get(name, 0)
    silent = gfp.has(mask, "__GFP_NOWARN")
    return mask, silent


def _frames(finding: Finding, site, kernel: KernelInfo) -> list[str]:
    fam = site.family
    era = kernel.era
    frames = list(fam.frames.get(era, ())) if fam is not None else []
    head = ["dump_stack" if era == "4" else "dump_stack_lvl", "warn_alloc"]
    lines = [" " + f for f in head + frames]
    trail = [finding.function] if not finding.witness else []
    for step in reversed(finding.witness):
        if step.kind == ALLOCATION:
            trail.append(finding.function)
        elif step.kind == CALL:
            trail.append(step.function)
        elif step.kind == ENTRY:
            break
    seen = []
    for name in trail:
        if not seen or seen[-1] != name:
            seen.append(name)
    lines += [f" {name}" for name in seen]
    return lines


def _page_failure(finding: Finding, site, kernel: KernelInfo, order: int | None) -> list[str]:
    mode = _mode(site, kernel, large=True)
    if mode is None or order is None:
        return []
    mask, silent = mode
    text = kernel.gfp.format_mode(mask)
    if silent:
        return [f"(no log line: the request carries __GFP_NOWARN, mode:{text}; it fails silently and returns NULL)"]
    head = f"{COMM}: page allocation failure: order:{order}, mode:{text}"
    if kernel.series >= (4, 10) or not kernel.series:
        head += ", nodemask=(null)"
        if kernel.series >= (5, 0) or not kernel.series:
            head += ",cpuset=/,mems_allowed=0"
    lines = [head, f"CPU: <cpu> PID: <pid> Comm: {COMM} Not tainted {kernel.release} #1", "Call Trace:"]
    if kernel.series >= (5, 17):
        lines.append(" <TASK>" if not _in_irq(finding) else " <IRQ>")
    lines += _frames(finding, site, kernel)
    if kernel.series >= (5, 17):
        lines.append(" </TASK>" if not _in_irq(finding) else " </IRQ>")
    lines.append("Mem-Info: ...")
    return lines


def _in_irq(finding: Finding) -> bool:
    """Does the finding's context come from an entry point the kernel runs in an interrupt?"""
    entry = _origin(finding)
    return entry is not None and entry.kind == ENTRY and entry.context_class in ("hardirq", "softirq")


def _origin(finding: Finding):
    """The step the atomic context comes from: the entry point, or the first lock taken."""
    return next((s for s in finding.witness if s.kind in (ENTRY, ACQUIRE)), None)


def _order_warn(finding: Finding, site, kernel: KernelInfo) -> list[str]:
    mode = _mode(site, kernel, large=True)
    mask, silent = mode if mode is not None else (None, False)
    if silent:
        return [f"(no log line: __GFP_NOWARN is set, mode:{kernel.gfp.format_mode(mask)}; "
                f"the order is above {kernel.max_order} and the call returns NULL)"]
    fn = kernel.order_warn_function
    lines = [f"WARNING: CPU: <cpu> PID: <pid> at {kernel.order_warn_at} {fn}+0x.../0x...",
             f"CPU: <cpu> PID: <pid> Comm: {COMM} Not tainted {kernel.release} #1",
             f"RIP: 0010:{fn}+0x.../0x...", "Call Trace:"]
    frames = _frames(finding, site, kernel)
    lines += [f for f in frames if "warn_alloc" not in f and "dump_stack" not in f and "slowpath" not in f]
    lines.append(f"(the request is above order {kernel.max_order}, {kernel.page_size << kernel.max_order} bytes: "
                 "it is refused before any page is looked at)")
    if mask is None:  # a gfp held in a variable (lib/test_lockup.c's alloc_pages_gfp)
        lines.append("(the gfp is not known here: with __GFP_NOWARN in it there is no log line, only NULL)")
    return lines


def _sleeping(finding: Finding, site, kernel: KernelInfo) -> list[str]:
    origin = _origin(finding)
    entry_class = origin.context_class if origin is not None and origin.kind == ENTRY else ""
    effects = origin.effects if origin is not None and origin.kind == ACQUIRE else ()
    irqs_off = entry_class == "hardirq" or "irq" in effects
    if entry_class == "hardirq":
        preempt = "0x10000"
    elif entry_class == "softirq":
        preempt = "0x100"
    elif "bh" in effects:
        preempt = "0x200"
    elif "rcu" in effects:
        preempt = "0x0"
    else:
        preempt = "0x1"
    lines = [f"BUG: sleeping function called from invalid context at {kernel.might_sleep_at}"]
    series = kernel.series or (6, 12)
    in_atomic = 0 if preempt == "0x0" else 1
    if series >= (5, 4):
        lines.append(f"in_atomic(): {in_atomic}, irqs_disabled(): {int(irqs_off)}, non_block: 0, pid: <pid>, name: {COMM}")
    else:
        lines.append(f"in_atomic(): {in_atomic}, irqs_disabled(): {int(irqs_off)}, pid: <pid>, name: {COMM}")
    if series >= (5, 16):
        lines.append(f"preempt_count: {preempt[2:] if preempt != '0x0' else '0'}, expected: 0")
        if preempt == "0x0":
            lines.append("RCU nest depth: 1, expected: 0")
    lines.append(f"CPU: <cpu> PID: <pid> Comm: {COMM} Not tainted {kernel.release} #1")
    lines.append("Call Trace:")
    head = "dump_stack" if kernel.era == "4" else "dump_stack_lvl"
    resched = "___might_sleep" if series < (5, 16) else "__might_resched"
    alloc_frames = []
    fam = site.family
    if fam is not None:
        if fam.name in ("kmalloc", "kvmalloc", "skb", "netdev_skb", "cache"):
            alloc_frames = ["__kmalloc" if kernel.era != "6_10" else "__kmalloc_noprof"]
        elif fam.name == "vmalloc":
            alloc_frames = list(fam.frames.get(kernel.era, ()))[::-1][-1:]
        else:
            alloc_frames = ["__alloc_pages" if kernel.era != "6_10" else "__alloc_pages_noprof"]
    else:
        alloc_frames = [site.site.callee or site.site.field]
    lines += [f" {head}", f" {resched}"] + [f" {f}" for f in alloc_frames]
    trail = []
    for step in reversed(finding.witness):
        if step.kind == ALLOCATION:
            trail.append(finding.function)
        elif step.kind == CALL:
            trail.append(step.function)
        elif step.kind in (ENTRY, ACQUIRE):
            break
    for name in dict.fromkeys(trail):
        lines.append(f" {name}")
    return lines


def attach_signatures(findings: list[Finding], sites_by_fp: dict[str, object], kernel: KernelInfo) -> None:
    for f in findings:
        site = sites_by_fp.get(f.fingerprint)
        if site is not None:
            f.signature = signature_for(f, site, kernel)
            f.properties["runtimeSignature"] = "\n".join(f.signature)
