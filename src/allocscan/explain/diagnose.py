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

from ..kernel.gfp import GfpTable, builtin_table, nearest_builtin
from .logparse import Report, ZoneInfo

MIGRATE_NAMES = {"U": "unmovable", "M": "movable", "E": "reclaimable", "H": "highatomic reserve",
                 "C": "CMA", "I": "isolated", "R": "reserve"}

# Frames that belong to the allocator or to the report itself, not to the caller.
ALLOCATOR_FRAMES = frozenset((
    "dump_stack", "dump_stack_lvl", "show_stack", "dump_backtrace", "warn_alloc", "__warn", "warn_slowpath", "report_bug",
    "__might_sleep", "___might_sleep", "__might_resched", "__schedule_bug", "__schedule", "schedule",
    "might_alloc", "__alloc_pages", "alloc_pages", "__get_free_pages", "get_zeroed_page", "kmalloc",
    "__kmalloc", "kmalloc_order", "kmalloc_large", "___kmalloc_large", "__kmalloc_large", "kzalloc",
    "kmem_cache_alloc", "slab_alloc", "___slab_alloc", "__slab_alloc", "new_slab", "allocate_slab",
    "kvmalloc", "__kvmalloc", "vmalloc", "__vmalloc", "dma_alloc", "__dma_direct_alloc", "dma_direct_alloc",
    "dma_alloc_attrs", "hcd_buffer_alloc", "usb_alloc_coherent", "__alloc_skb", "kmalloc_reserve",
    "__kmalloc_reserve", "__netdev_alloc_skb", "__napi_alloc_skb", "page_frag_alloc", "krealloc",
    "__do_krealloc", "kmemdup", "kstrdup", "devm_kmalloc", "alloc_dr", "prepare_alloc_pages",
    "get_page_from_freelist", "rmqueue", "__rmqueue", "show_mem", "__show_mem", "ret_from_fork",
    "kernel_init", "csky_systemcall", "kmalloc_order_trace",
))


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
    verdict: str = ""  # out-of-memory | fragmented | watermark | exceeds-max-order | transient | atomic-context
    summary: str = ""
    fixes_code: list[str] = field(default_factory=list)
    fixes_system: list[str] = field(default_factory=list)
    request: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    zones: list[ZoneDiagnosis] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    caller: str | None = None  # innermost frame outside the allocator
    source: dict | None = None  # filled by --tree mapping


_ALLOCATOR_PREFIXES = ("__alloc_pages", "__kmalloc", "kmalloc_", "kmem_cache_alloc", "__vmalloc", "vmalloc_",
                       "__x64_sys", "__arm64_sys", "SyS_", "sys_", "entry_", "do_syscall", "el0_")


def is_allocator_frame(func: str) -> bool:
    """Allocator internals, the report machinery and syscall entry: not the caller."""
    base = func.split(".")[0]
    return base in ALLOCATOR_FRAMES or base.endswith("_noprof") or base.startswith(_ALLOCATOR_PREFIXES)


def table_for(report: Report, override: str | None) -> tuple[GfpTable, str]:
    version = override or report.release or "6.12"
    return builtin_table(nearest_builtin(version)), version


def max_order_for(version: str) -> int:
    return 10  # every built-in version: MAX_ORDER 11 (exclusive) / MAX_PAGE_ORDER 10, 4 KiB pages


def diagnose(report: Report, kernel_version: str | None = None) -> Diagnosis:
    table, version = table_for(report, kernel_version)
    d = Diagnosis(report.kind, report.header, version, frames=[f.func for f in report.frames])
    d.caller = next((f.func for f in report.frames if not f.unreliable and not is_allocator_frame(f.func)), None)
    if report.kind in ("page-allocation-failure", "order-warning"):
        _allocation(report, d, table, version)
    else:
        _atomic(report, d)
    return d


def _flags(mode: int, table: GfpTable) -> dict:
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


def _allocation(report: Report, d: Diagnosis, table: GfpTable, version: str) -> None:
    order = report.order if report.order is not None else None
    if order is None:
        d.verdict = "exceeds-max-order"
        d.summary = ("The page allocator refused an order above its maximum before looking at free memory: "
                     "the size requested is larger than any buddy block.")
        d.fixes_code = _fixes("exceeds-max-order")
        return
    size_kb = 4 << order
    d.request = {"order": order, "bytes": 4096 << order, "kB": size_kb}
    mode = report.mode or 0
    flags = _flags(mode, table)
    d.flags = flags
    d.facts.append(f"order {order} is {size_kb} kB ({_human_kb(size_kb)}) of physically contiguous memory")
    d.facts.append(f"mode {mode:#x} = {flags['names'] or '0'} on {version}: "
                   f"{'may sleep (reclaim and compaction allowed)' if flags['may_sleep'] else 'may not sleep: no reclaim, no compaction'}, "
                   f"{flags['migratetype']} request, "
                   f"{'may' if flags['may_use_cma'] else 'may not'} use CMA pageblocks"
                   + (", may dip into the atomic reserves" if flags["atomic_reserve"] else "")
                   + (", __GFP_NOWARN (normally silent)" if flags["nowarn"] else ""))
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
        d.verdict = "fragmented" if not flags["may_sleep"] else "transient"
        d.summary = "The log has no zone lines; the request's size and mode are all there is to go on."
        d.fixes_code = _fixes(d.verdict)
        return
    for z in zones:
        blocks = ", ".join(f"{b['count']}x{_human_kb(b['kb'])} ({b['types'] or '?'})" for b in z.blocks_at_or_above) or "none"
        d.facts.append(f"zone {z.zone}: free {z.free_kb} kB, of which CMA {z.free_cma_kb} kB; "
                       f"free blocks of order >= {order}: {blocks}")
        if z.blocks_at_or_above and z.all_cma:
            total = sum(b["count"] for b in z.blocks_at_or_above)
            d.facts.append(f"zone {z.zone}: all {total} free block(s) of order >= {order} are CMA pageblocks, "
                           f"which only movable allocations may use")
        if z.largest_non_cma_order is not None:
            d.facts.append(f"zone {z.zone}: the largest free block outside CMA is {_human_kb(4 << z.largest_non_cma_order)} "
                           f"({4 << z.largest_non_cma_order} kB, order {z.largest_non_cma_order})")
        if z.usable_free_kb is not None and z.min_kb is not None:
            rel = "above" if z.watermark_ok else "not above"
            what = "without CMA" if not flags["may_use_cma"] else "including CMA"
            d.facts.append(f"zone {z.zone}: free memory {what} is {z.usable_free_kb} kB, {rel} the min watermark of "
                           f"{z.min_kb} kB (effective {z.effective_min_kb} kB for this request)")
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
        sleep = ("it may not sleep, so it cannot compact memory to make one" if not flags["may_sleep"]
                 else "compaction did not produce one in time")
        d.summary = (f"Failed on contiguity and type, not on free memory: {why}, and {sleep}.")
    else:
        d.verdict = "transient"
        d.summary = ("A usable block and enough free memory are listed now: the failure came from a moment "
                     "when they were not (per-CPU lists, another CPU's allocation, cpuset or nodemask limits).")
    d.fixes_code = _fixes(d.verdict, flags)
    d.fixes_system = _system_fixes(d.verdict, flags, zones)


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
    atomic = flags is not None and not flags.get("may_sleep")
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
    d.fixes_code = ["move the allocation out of the locked region or the callback (allocate before taking the lock, "
                    "or defer to a work item)", "use GFP_ATOMIC/GFP_NOWAIT there and handle failure"]


def _human_kb(kb: int) -> str:
    if kb >= 1024 and kb % 1024 == 0:
        return f"{kb // 1024} MiB"
    return f"{kb} KiB"

