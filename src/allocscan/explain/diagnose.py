"""Diagnose a parsed report: reproduce the allocator's reasoning with its numbers.

For a page allocation failure: the request's size, what its mode allows
(sleep? CMA? reserves? silent?), the free blocks at or above its order split
by migrate type, the watermark check with CMA removed where the request may
not use it, and a verdict - out of memory, fragmented, held back by a
watermark, or above the maximum order - with the fixes that fit it. For
sleeping-in-atomic and scheduling-while-atomic: what the preempt count and
irq state say about the context, and the frame that allocated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.gfp import GfpTable
from ..kernel.tables import families
from ..kernel.version import builtin_kernel
from .decode import choose_table
from .frames import AllocatorChain, ContextEvidence, allocator_chain, context_of, is_allocator_frame
from .logparse import Report, ZoneInfo, reliable_funcs

__all__ = ["Diagnosis", "ZoneDiagnosis", "diagnose", "is_allocator_frame"]

MIGRATE_NAMES = {"U": "unmovable", "M": "movable", "E": "reclaimable", "H": "highatomic reserve",
                 "C": "CMA", "I": "isolated", "R": "reserve"}


@dataclass
class ZoneDiagnosis:
    zone: str
    free_kb: int | None
    free_cma_kb: int
    usable_free_kb: int | None
    min_kb: int | None
    effective_min_kb: int | None
    watermark_ok: bool | None
    blocks_at_or_above: list[dict]  # {"order", "kb", "count", "types", "usable"}
    usable_block: bool
    all_cma: bool
    largest_usable_order: int | None
    largest_non_cma_order: int | None


@dataclass
class Diagnosis:
    kind: str
    header: str
    kernel_version: str | None
    facts: list[str] = field(default_factory=list)  # short sentences with the key numbers
    # out-of-memory | fragmented | watermark | exceeds-max-order | transient | atomic-context, and for a
    # fragment without its header: allocation-in-atomic-context | allocation-in-process-context |
    # allocation-context-unknown
    verdict: str = ""
    summary: str = ""
    fixes_code: list[str] = field(default_factory=list)
    fixes_system: list[str] = field(default_factory=list)
    request: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    zones: list[ZoneDiagnosis] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    reliable_frames: list[str] = field(default_factory=list)  # without the "? " ones
    frame_modules: dict[str, str] = field(default_factory=dict)  # frame -> the module it names ([usbnet])
    caller: str | None = None  # innermost frame outside the allocator
    source: dict | None = None  # filled by --tree mapping: the chosen call
    candidates: list[dict] = field(default_factory=list)  # filled by --tree mapping: every call weighed, ranked
    log: str = ""  # the log it came from
    line: int = 0  # the header's line in that log
    number: int = 0  # 1-based among all reports explained in one run
    header_lines: list[int] = field(default_factory=list)  # the lines a split header was rebuilt from
    decoding: dict | None = None  # which version's GFP bits decoded the mode, and why
    chain: dict | None = None  # the allocator part of the trace: entry, family, path
    context: dict | None = None  # the context the frames prove
    missing: dict = field(default_factory=dict)  # a fragment: what its missing header would have told
    order: int | None = None  # the logged order (also for the chooser)
    mode: int | None = None  # the logged mode


def max_order_for(version: str) -> int:
    return 10  # every built-in version: MAX_ORDER 11 (exclusive) / MAX_PAGE_ORDER 10, 4 KiB pages


def diagnose(report: Report, kernel_version: str | None = None) -> Diagnosis:
    funcs = reliable_funcs(report)
    chain = allocator_chain(funcs)
    evidence = context_of(funcs, report.first_marker)
    decoding = choose_table(report.mode, report.mode_names, report.release, kernel_version)
    d = Diagnosis(report.kind, report.header, decoding.version if report.kind != "stack-fragment" or report.release
                  or kernel_version else None, frames=[f.func for f in report.frames], line=report.line_no,
                  header_lines=list(report.header_lines), order=report.order, mode=report.mode)
    d.caller = chain.caller
    d.reliable_frames = funcs
    d.frame_modules = {f.func: f.module for f in report.frames if f.module and not f.unreliable}
    d.chain = _chain_dict(chain)
    d.context = _context_dict(evidence)
    if report.header_lines:
        d.facts.append(f"header rebuilt from log lines {', '.join(map(str, report.header_lines))}: other lines "
                       "were printed between its parts")
    if report.kind == "stack-fragment":
        _fragment(report, d, chain, evidence)
        return d
    if report.mode is not None or report.kind == "page-allocation-failure":
        d.decoding = decoding.as_dict()
    if report.kind in ("page-allocation-failure", "order-warning"):
        _allocation(report, d, decoding.table, decoding.version, decoding.reason)
        _trace_facts(d, chain, evidence)
    else:
        _atomic(report, d)
        if evidence.summary:
            d.facts.append(f"the call trace shows {evidence.summary}")
    return d


def _chain_dict(chain: AllocatorChain) -> dict | None:
    if not chain.frames:
        return None
    fam = families().get(chain.family or "")
    return {"entry": chain.entry, "family": chain.family, "label": fam.label if fam else None, "path": chain.path,
            "slabRefill": chain.slab_refill, "innerEntry": chain.inner_entry, "innerFamily": chain.inner_family,
            "frames": chain.frames, "impliedReport": chain.implies}


def _context_dict(evidence: ContextEvidence) -> dict | None:
    if evidence.atomic is None:
        return None
    return {"atomic": evidence.atomic, "where": evidence.where, "inside": evidence.inside or None,
            "frames": [{"frame": f, "kind": k, "meaning": m} for f, k, m in evidence.frames]}


def _trace_facts(d: Diagnosis, chain: AllocatorChain, evidence: ContextEvidence) -> None:
    if chain.entry and chain.caller:
        d.facts.append(f"{chain.caller}() called {_chain_words(chain)}")
    if evidence.summary:
        kind = "atomic context" if evidence.atomic else "no atomic context (a lock its callers hold would not show)"
        d.facts.append(f"the call trace shows {evidence.summary}: {kind}")


def _chain_words(chain: AllocatorChain) -> str:
    fam = families().get(chain.family or "")
    words = f"{fam.label if fam else chain.family}: the trace enters it through {chain.entry}()"
    inner = families().get(chain.inner_family or "")
    if inner is not None and chain.inner_entry != chain.entry and inner.name != chain.family:
        words += f", then {inner.label} through {chain.inner_entry}()"
    if chain.slab_refill:
        words += ", and a slab cache was taking a new slab from the page allocator"
    elif chain.path == "page" and (inner is None or inner.name == chain.family):
        words += ", straight to the page allocator"
    elif chain.path == "slab":
        words += ", for an object from a slab cache"
    return words


def _flags(mode: int | None, table: GfpTable) -> dict:
    if mode is None:  # the header's mode part is missing: nothing is known, nothing is assumed allowed
        return {"names": None, "may_sleep": None, "nowarn": False, "high": False, "atomic_reserve": False,
                "movable": False, "may_use_cma": False, "comp": False, "migratetype": "unknown"}

    def has(name: str) -> bool:
        return table.has(mode, name)

    movable = has("__GFP_MOVABLE")
    return {
        "names": table.names(mode),
        "may_sleep": table.allows_blocking(mode),
        "nowarn": has("__GFP_NOWARN"),
        "high": has("__GFP_HIGH"),
        "atomic_reserve": has("__GFP_ATOMIC") or (has("__GFP_HIGH") and not table.allows_blocking(mode)),
        "movable": movable,
        "may_use_cma": movable,
        "comp": has("__GFP_COMP"),
        "migratetype": "movable" if movable else ("reclaimable" if has("__GFP_RECLAIMABLE") else "unmovable"),
    }


def _usable_types(flags: dict, order: int) -> set[str]:
    usable = {"U", "M", "E"}  # own type first, then fallback stealing from the others
    if flags["atomic_reserve"] and order > 0:
        usable.add("H")
    if flags["may_use_cma"]:
        usable.add("C")
    return usable


def _mode_fact(mode: int | None, flags: dict, version: str, why: str) -> str:
    if mode is None:
        return "the header's mode part is missing from the log: the gfp flags are unknown"
    sleep = ("may sleep (reclaim and compaction allowed)" if flags["may_sleep"]
             else "may not sleep: no reclaim, no compaction")
    return (f"mode {mode:#x} = {flags['names'] or '0'} on {version}: {sleep}, {flags['migratetype']} request, "
            f"{'may' if flags['may_use_cma'] else 'may not'} use CMA pageblocks"
            + (", may dip into the atomic reserves" if flags["atomic_reserve"] else "")
            + (", __GFP_NOWARN (normally silent)" if flags["nowarn"] else ""))


def _allocation(report: Report, d: Diagnosis, table: GfpTable, version: str, why: str) -> None:
    order = report.order
    if order is None:
        d.verdict = "exceeds-max-order"
        d.summary = ("The page allocator refused an order above its maximum before looking at free memory: "
                     "the size requested is larger than any buddy block.")
        d.fixes_code = _fixes("exceeds-max-order")
        return
    size_kb = 4 << order
    d.request = {"order": order, "bytes": 4096 << order, "kB": size_kb}
    flags = _flags(report.mode, table)
    d.flags = flags
    d.facts.append(f"order {order} is {size_kb} kB ({_human_kb(size_kb)}) of physically contiguous memory")
    d.facts.append(_mode_fact(report.mode, flags, version, why))
    if report.mode is not None:
        d.facts.append(f"GFP bits: {why}")
    if order > max_order_for(version):
        d.verdict = "exceeds-max-order"
        d.summary = f"Order {order} is above the largest buddy order ({max_order_for(version)}): it can never succeed."
        d.fixes_code = _fixes(d.verdict)
        return
    usable = _usable_types(flags, order)
    for z in report.zones:
        d.zones.append(_zone(z, order, flags, usable))
    zones = [z for z in d.zones if z.free_kb is not None]
    if not zones:
        d.verdict = "transient" if flags["may_sleep"] else "fragmented"
        d.summary = "The log has no zone lines; the request's size and mode are all there is to go on."
        d.fixes_code = _fixes(d.verdict, flags)
        return
    for z in zones:
        d.facts.extend(_zone_facts(z, order, flags))
    _zone_verdict(d, zones, order, flags)
    d.fixes_code = _fixes(d.verdict, flags)
    d.fixes_system = _system_fixes(d.verdict, flags, zones)


def _zone_facts(z: ZoneDiagnosis, order: int, flags: dict) -> list[str]:
    blocks = ", ".join(f"{b['count']}x{_human_kb(b['kb'])} ({b['types'] or '?'})" for b in z.blocks_at_or_above) or "none"
    out = [f"zone {z.zone}: free {z.free_kb} kB, of which CMA {z.free_cma_kb} kB; free blocks of order >= {order}: {blocks}"]
    if z.blocks_at_or_above and z.all_cma:
        total = sum(b["count"] for b in z.blocks_at_or_above)
        out.append(f"zone {z.zone}: all {total} free block(s) of order >= {order} are CMA pageblocks, "
                   f"which only movable allocations may use")
    if z.largest_non_cma_order is not None:
        out.append(f"zone {z.zone}: the largest free block outside CMA is {_human_kb(4 << z.largest_non_cma_order)} "
                   f"({4 << z.largest_non_cma_order} kB, order {z.largest_non_cma_order})")
    if z.usable_free_kb is not None and z.min_kb is not None:
        rel = "above" if z.watermark_ok else "not above"
        what = "without CMA" if not flags["may_use_cma"] else "including CMA"
        out.append(f"zone {z.zone}: free memory {what} is {z.usable_free_kb} kB, {rel} the min watermark of "
                   f"{z.min_kb} kB (effective {z.effective_min_kb} kB for this request)")
    return out


def _zone_verdict(d: Diagnosis, zones: list[ZoneDiagnosis], order: int, flags: dict) -> None:
    any_block = any(z.usable_block for z in zones)
    any_watermark = any(z.watermark_ok for z in zones if z.watermark_ok is not None)
    total_free = sum(z.free_kb or 0 for z in zones)
    total_min = sum(z.min_kb or 0 for z in zones)
    if not any_watermark and all(z.watermark_ok is not None for z in zones):
        if total_free <= total_min + (4 << order):
            d.verdict = "out-of-memory"
            d.summary = f"Free memory ({total_free} kB) is at or below the min watermark ({total_min} kB): the zone is out of memory."
        else:
            d.verdict = "watermark"
            d.summary = ("Held back by a watermark: the memory this request may use is at or below the min watermark "
                         + ("once CMA pages are left out, " if not flags["may_use_cma"] and any(z.free_cma_kb for z in zones) else "")
                         + "although the zone lists more free memory.")
    elif not any_block:
        d.verdict = "fragmented"
        cma_only = any(z.all_cma and z.blocks_at_or_above for z in zones)
        why = (f"every free block of order >= {order} is a CMA pageblock, which an {flags['migratetype']} request may not use"
               if cma_only else f"no free block of order >= {order} of a usable type exists")
        sleep = {False: "it may not sleep, so it cannot compact memory to make one",
                 True: "compaction did not produce one in time",
                 None: "the mode is missing, so whether it could compact is unknown"}[flags["may_sleep"]]
        d.summary = f"Failed on contiguity and type, not on free memory: {why}, and {sleep}."
    else:
        d.verdict = "transient"
        d.summary = ("A usable block and enough free memory are listed now: the failure came from a moment "
                     "when they were not (per-CPU lists, another CPU's allocation, cpuset or nodemask limits).")


def _zone(z: ZoneInfo, order: int, flags: dict, usable: set[str]) -> ZoneDiagnosis:
    blocks = []
    for o, count, types in z.buddy:
        if o >= order and count > 0:
            ok = bool(set(types) & usable) if types else True
            blocks.append({"order": o, "kB": 4 << o, "kb": 4 << o, "count": count, "types": types, "usable": ok})
    usable_block = any(b["usable"] for b in blocks)
    all_cma = bool(blocks) and all(set(b["types"]) <= {"C", "I"} and b["types"] for b in blocks)
    non_cma = [o for o, count, types in z.buddy if count > 0 and (set(types) - {"C", "I"} or not types)]
    usable_orders = [o for o, count, types in z.buddy if count > 0 and (set(types) & usable or not types)]
    cma = z.free_cma_kb or 0
    usable_free = None
    effective_min = None
    ok = None
    if z.free_kb is not None and z.min_kb is not None:
        usable_free = z.free_kb - (0 if flags["may_use_cma"] else cma)
        effective_min = z.min_kb
        if flags["high"]:
            effective_min -= effective_min // 2
        if flags["atomic_reserve"]:
            effective_min -= effective_min // 4
        reserve_kb = 4 * max(z.lowmem_reserve) if z.lowmem_reserve else 0
        ok = usable_free - ((4 << order) - 4) > effective_min + reserve_kb
    return ZoneDiagnosis(z.name, z.free_kb, cma, usable_free, z.min_kb, effective_min, ok, blocks, usable_block,
                         all_cma, max(usable_orders) if usable_orders else None, max(non_cma) if non_cma else None)


def _fixes(verdict: str, flags: dict | None = None) -> list[str]:
    atomic = flags is not None and flags.get("may_sleep") is False
    out = []
    if verdict in ("fragmented", "transient", "watermark", "exceeds-max-order"):
        out.append("use a smaller buffer, or split it into page-sized chunks / a scatter-gather list")
    if atomic:
        out.append("allocate the buffer earlier in process context (probe/open/bind) with GFP_KERNEL and reuse it")
    out.append("use kvmalloc() (GFP_KERNEL) where the buffer need not be physically contiguous")
    if verdict == "exceeds-max-order":
        out.append("bound the size (return -EINVAL above a sane maximum) before allocating")
    return out


def _system_fixes(verdict: str, flags: dict, zones: list[ZoneDiagnosis]) -> list[str]:
    out = []
    if verdict in ("watermark", "out-of-memory", "transient"):
        out.append("raise vm.min_free_kbytes so kswapd keeps more memory free")
    if any(z.free_cma_kb for z in zones) and not flags.get("may_use_cma"):
        out.append("shrink the CMA area (cma= / the reserved-memory node) so more memory stays usable by unmovable requests")
    if verdict in ("fragmented", "transient"):
        out.append("trigger compaction (echo 1 > /proc/sys/vm/compact_memory) or raise vm.extfrag_threshold sensitivity; "
                   "atomic requests cannot compact by themselves")
    return out


def _atomic(report: Report, d: Diagnosis) -> None:
    count = report.preempt_count
    parts = []
    if count is not None:
        if count & 0xF00000:
            parts.append("in NMI")
        if count & 0xF0000:
            parts.append("in hardirq (an interrupt handler)")
        if count & 0x100:
            parts.append("serving a softirq (timer, tasklet, NAPI, RCU callback)")
        elif count & 0xFF00:
            parts.append("with bottom halves disabled (spin_lock_bh/local_bh_disable)")
        if count & 0xFF:
            parts.append(f"with preemption disabled {count & 0xFF} time(s) (a spinlock or preempt_disable)")
    if report.irqs_disabled:
        parts.append("with interrupts disabled (spin_lock_irqsave/local_irq_disable)")
    if report.in_atomic == 0 and not report.irqs_disabled and count in (None, 0):
        parts.append("inside an RCU read-side section (in_atomic() is 0)")
    where = ", ".join(parts) or "in atomic context"
    d.flags = {"preempt_count": count, "in_atomic": report.in_atomic, "irqs_disabled": report.irqs_disabled}
    if report.kind == "sleeping-in-atomic":
        d.facts.append(f"might_sleep() fired at {report.file}:{report.file_line} (the check inside the allocator)")
    else:
        d.facts.append(f"the task scheduled with preempt_count {count:#x}" if count is not None else "the task scheduled while atomic")
    d.facts.append(f"the caller was {where}")
    if d.caller:
        d.facts.append(f"the innermost caller outside the allocator is {d.caller}()")
    d.verdict = "atomic-context"
    d.summary = (f"A blocking allocation (or another sleeping call) ran {where}. "
                 f"{'It is in ' + d.caller + '(), or a caller of it.' if d.caller else ''}").strip()
    d.fixes_code = list(_ATOMIC_FIXES)


_ATOMIC_FIXES = ["move the allocation out of the locked region or the callback (allocate before taking the lock, "
                 "or defer to a work item)", "use GFP_ATOMIC/GFP_NOWAIT there and handle failure"]

# What a fragment's missing header would have told, by the report its frames prove (None: not proven).
_MISSING_HEADER = {
    "page-allocation-failure": {
        "report": "`<comm>: page allocation failure: order:N, mode:0x...` (warn_alloc in the trace says so)",
        "order": "the order: how many contiguous pages were asked for (the buffer's size), and so whether only "
                 "a high-order block could serve it",
        "mode": "the mode: the gfp flags the caller passed, whether it could sleep (reclaim, compact) and use "
                "the atomic reserves or CMA",
        "zones": "with the Mem-Info lines after it, whether memory was short (watermark) or only fragmented",
    },
    "sleeping-in-atomic": {
        "report": "`BUG: sleeping function called from invalid context at FILE:LINE` (might_sleep in the trace "
                  "says so)",
        "preempt_count": "the preempt count and irq state: which lock, softirq or interrupt made the context atomic",
    },
    "scheduling-while-atomic": {
        "report": "`BUG: scheduling while atomic: comm/pid/0xCOUNT` (__schedule_bug in the trace says so)",
        "preempt_count": "the preempt count the task scheduled with",
    },
    None: {
        "report": "which report this was: a page allocation failure, or a sleeping-function BUG (a mask that "
                  "may sleep used here)",
        "order": "the order, for a failure: how many contiguous pages were asked for (the buffer's size)",
        "mode": "the mode, for a failure: the gfp flags the caller passed (GFP_ATOMIC, or a mask that may sleep)",
    },
}


def _fragment(report: Report, d: Diagnosis, chain: AllocatorChain, evidence: ContextEvidence) -> None:
    """A trace without its header: the verdict its frames support, and what the header would have told."""
    first, last = report.line_no, report.end_line or report.line_no
    d.facts.append(f"no report header: lines {first}-{last} are a call trace that starts in the allocator")
    d.facts.append(f"{chain.caller}() called {_chain_words(chain)}")
    bound = _slab_bound(chain, report.release)
    if bound:
        d.facts.append(bound)
    d.missing = dict(_MISSING_HEADER[chain.implies if chain.implies in _MISSING_HEADER else None])
    for key, text in d.missing.items():
        proven = key == "report" and chain.implies is not None
        d.facts.append(f"the missing header was {text}" if proven else f"the missing header would have told {text}")
    if evidence.atomic:
        d.facts.append(f"the call trace shows {evidence.summary}: atomic context, code there may not sleep")
        if chain.implies in ("sleeping-in-atomic", "scheduling-while-atomic"):
            d.verdict = "atomic-context"
            d.summary = (f"A blocking allocation ran in {evidence.summary}: {chain.caller}() called "
                         f"{chain.entry}() with a mask that may sleep.")
        else:
            d.verdict = "allocation-in-atomic-context"
            d.summary = (f"An allocation in {evidence.summary}: {chain.caller}() allocates through {chain.entry}() "
                         "there. It may not sleep: it must use GFP_ATOMIC (or GFP_NOWAIT) and survive failure, and "
                         "a mask that may sleep there is a sleeping-in-atomic bug.")
        d.fixes_code = list(_ATOMIC_FIXES)
        return
    if evidence.atomic is False:
        d.facts.append(f"the call trace shows {evidence.summary}, and no atomic context (a lock a caller "
                       "holds would not show)")
        d.verdict = "allocation-in-process-context"
        d.summary = (f"An allocation in {evidence.summary}: {chain.caller}() allocates through {chain.entry}(). "
                     "Without the header, whether it failed or slept is not in the log.")
        return
    d.verdict = "allocation-context-unknown"
    d.summary = (f"{chain.caller}() allocates through {chain.entry}(); the excerpt shows no frame that tells "
                 "the context, and without the header whether it failed or slept is not in the log.")


def _slab_bound(chain: AllocatorChain, release: str | None) -> str:
    """What a slab path says about the size: at most KMALLOC_MAX_CACHE_SIZE, a slab page's order."""
    if chain.path != "slab":
        return ""
    kernel = builtin_kernel(release)
    limit = kernel.kmalloc_max_cache_size
    return (f"an object from a slab cache is at most {limit} bytes (KMALLOC_MAX_CACHE_SIZE), so a failed page "
            f"request under it is a slab refill of order 0 to {kernel.get_order(limit)}, not a large buffer")


def _human_kb(kb: int) -> str:
    if kb >= 1024 and kb % 1024 == 0:
        return f"{kb // 1024} MiB"
    return f"{kb} KiB"

