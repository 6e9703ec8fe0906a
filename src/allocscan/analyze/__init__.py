"""Analyze: context, values and gfp over the linked program -> allocation sites.

`analyze()` runs the three analyses and describes every allocation call (and
every call that passes a gfp) as an `AllocationSite`: its allocator, size
interval, page-order range, gfp alternatives and atomic context. Rules read
only these sites; they never see syntax.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace

from ..exprs import render
from ..facts import HAS_GFP_PARAM, IS_INIT, CallSite, FileFacts, FunctionFacts
from ..kernel.tables import Allocator, Family, allocators, families, source_tables, value_tables
from ..kernel.version import KernelInfo
from ..link import ALLOCATES, Program
from .context import ContextAnalysis, Witness, analyze_contexts
from .gfpflow import GfpAlt, GfpAnalysis
from .values import TOP, Scope, Value, ValueAnalysis, arith, const, unknown
from .values.lattice import WHY_COMPUTED_ORDER, WHY_INIT, WHY_PARSE, WHY_UNSIZED


@dataclass
class AllocationSite:
    path: str
    function: FunctionFacts
    node: str
    site: CallSite
    allocator: Allocator | None  # None: a non-allocator call that takes a gfp
    family: Family | None
    call_text: str
    size: Value  # bytes requested (after the wrapper's header), TOP if unknown
    order_lo: int | None  # lowest / highest page order the call can request
    order_hi: int | None
    page_backed: bool  # the highest size reaches the page allocator
    gfp: list[GfpAlt] | None
    gfp_text: str
    context: Witness | None
    ordinal: int  # index among calls to the same callee in the function (for fingerprints)

    def fingerprint(self, rule: str) -> str:
        key = f"{rule}\0{self.path}\0{self.function.name}\0{self.site.callee or self.site.field}\0{self.ordinal}"
        return hashlib.sha1(key.encode()).hexdigest()[:20]


@dataclass
class Analysis:
    program: Program
    kernel: KernelInfo
    contexts: ContextAnalysis
    values: ValueAnalysis
    gfp: GfpAnalysis
    sites: list[AllocationSite] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def analyze(program: Program, kernel: KernelInfo) -> Analysis:
    values = ValueAnalysis(program, kernel)
    contexts = analyze_contexts(program, values.constant)
    allocating_gfp = allocating_gfp_params(program)
    gfp = GfpAnalysis(program, kernel.gfp)
    result = Analysis(program, kernel, contexts, values, gfp)
    table = allocators()
    fams = families()
    # Only functions that allocate or pass a gfp mask: no other body is unpacked.
    for ff, fn in program.definitions_with(ALLOCATES):
        node = program.node_for(fn)
        ordinals: dict[str, int] = {}
        for site in fn.calls:
            key = site.callee or "->" + site.field
            ordinals[key] = ordinals.get(key, -1) + 1
            alloc = table.get(site.callee)
            if alloc is None and not _passes_gfp(site, ff.path, kernel, program, allocating_gfp):
                continue
            try:
                result.sites.append(_describe(result, ff, fn, node, site, alloc, fams, ordinals[key]))
            except (ArithmeticError, ValueError, RecursionError, KeyError, IndexError, TypeError) as err:
                # One site the analysis cannot handle must not end the scan.
                if os.environ.get("ALLOCSCAN_STRICT") == "1":
                    raise
                result.warnings.append(f"{ff.path}:{site.line}: internal error analysing '{site.callee}' "
                                       f"({type(err).__name__}: {err}); site skipped")
    return result


# Calls that take a gfp mask without allocating with it now: they compute a mask
# or store it for later allocations made elsewhere.
GFP_NOT_ALLOCATING = frozenset({
    "mapping_gfp_constraint", "mapping_gfp_mask", "mapping_set_gfp_mask", "gfp_zone", "gfpflags_allow_blocking",
    "gfp_migratetype", "current_gfp_context", "memalloc_noio_save", "memalloc_nofs_save", "xa_init_flags",
    "mempool_init", "kmem_cache_create", "idr_init_base", "radix_tree_init", "fs_reclaim_acquire",
    "fs_reclaim_release", "might_alloc", "gfp_pfmemalloc_allowed", "gfp_has_io_fs", "sk_set_memalloc",
})


def allocating_gfp_params(program: Program) -> set[tuple[str, int]]:
    """(function node, parameter index) pairs whose gfp_t parameter reaches an allocation.

    A fixed point over the call graph: a parameter allocates when the function
    hands it to an allocator's gfp argument, or to an allocating parameter of
    a callee, or to a callee outside the scan (assumed to allocate).
    """
    table = allocators()
    gfp_params: dict[str, list[tuple[int, str]]] = {}
    for node in program.functions_with(HAS_GFP_PARAM):
        ref = program.functions[node]
        params = [(i, name) for i, (name, typ) in enumerate(ref.fn.params)
                  if "gfp_t" in typ and name and not _masked_non_blocking(ref.fn, name)]
        if params:
            gfp_params[node] = params
    result: set[tuple[str, int]] = set()
    changed = True
    while changed:
        changed = False
        for node, params in gfp_params.items():
            ref = program.functions[node]
            for index, name in params:
                if (node, index) in result:
                    continue
                if _param_allocates(program, ref.path, ref.fn, name, table, result):
                    result.add((node, index))
                    changed = True
    return result


def _masked_non_blocking(fn: FunctionFacts, name: str) -> bool:
    """`flags &= ~(__GFP_DIRECT_RECLAIM | ...)`: the function never blocks with what it is given."""
    for a in fn.assignments:
        if a.kind == "local" and a.target == name and "~" in a.value_text and \
                ("__GFP_DIRECT_RECLAIM" in a.value_text or "__GFP_RECLAIM" in a.value_text):
            if a.op == "&=" or (a.op == "=" and name in a.value_text):
                return True
    return False


def _param_allocates(program: Program, path: str, fn: FunctionFacts, name: str, table, result) -> bool:
    for site in fn.calls:
        if site.args is None or name not in site.args_text:
            continue
        for k, arg in enumerate(site.args):
            if name not in _names_in(arg):
                continue
            alloc = table.get(site.callee)
            if alloc is not None and alloc.gfp == k:
                return True
            targets = program.targets(site, path)
            if not targets:
                if site.callee and not site.callee.isupper() and site.callee not in GFP_NOT_ALLOCATING:
                    return True  # outside the scan: assume it allocates
                continue
            if any((t, k) in result for t in targets):
                return True
    return False


def _passes_gfp(site: CallSite, path: str, kernel: KernelInfo, program: Program,
                allocating_gfp: set[tuple[str, int]]) -> bool:
    """A call with an argument written as a gfp mask (`usb_submit_urb(urb, GFP_KERNEL)`)."""
    if site.args is None or "GFP" not in site.args_text:
        return False
    name = site.callee
    if not name or name.isupper() or name in GFP_NOT_ALLOCATING:
        return False  # an indirect call, a macro (INIT_RADIX_TREE stores the mask), a mask helper
    index = _gfp_arg_index(site, kernel)
    if index is None:
        return False
    targets = program.targets(site, path)
    if targets:  # the callee is in the scan: that parameter must be a gfp_t that reaches an allocation
        return any((t, index) in allocating_gfp for t in targets)
    return True


def _gfp_arg_index(site: CallSite, kernel: KernelInfo) -> int | None:
    masks = kernel.gfp.masks
    for i, arg in enumerate(site.args or ()):
        names = _names_in(arg)
        if names and all(n in masks or n.startswith("__GFP_") or n.startswith("GFP_") for n in names):
            return i
    return None


def _names_in(ir: tuple) -> set[str]:
    out: set[str] = set()
    stack = [ir]
    while stack:
        n = stack.pop()
        if n[0] == "id":
            out.add(n[1])
        elif n[0] in ("bin", "un", "cast", "cond"):
            stack.extend(x for x in n[1:] if isinstance(x, tuple))
        elif n[0] != "num":
            out.add("?")
    return out


def _describe(a: Analysis, ff: FileFacts, fn: FunctionFacts, node: str, site: CallSite,
              alloc: Allocator | None, fams: dict[str, Family], ordinal: int) -> AllocationSite:
    kernel = a.kernel
    args = site.arguments()
    scope = Scope(ff, fn, 0, site.byte)
    a.values.start_site()
    call_text = f"{site.callee or site.field}({site.args_text})"
    family = fams.get(alloc.family) if alloc else None

    # gfp
    gfp_alts: list[GfpAlt] | None
    if alloc is not None and alloc.gfp is not None and alloc.gfp < len(args):
        gfp_ir = args[alloc.gfp]
        gfp_alts = a.gfp.at_call(gfp_ir, scope)
        gfp_text = render(gfp_ir)
    elif alloc is not None and alloc.gfp_fixed:
        value = kernel.gfp.masks.get(alloc.gfp_fixed)
        gfp_alts = [GfpAlt(value, alloc.gfp_fixed)] if value is not None else None
        gfp_text = alloc.gfp_fixed
    elif alloc is None:
        index = _gfp_arg_index(site, kernel)
        gfp_ir = args[index]
        gfp_alts = a.gfp.at_call(gfp_ir, scope)
        gfp_text = render(gfp_ir)
    else:
        gfp_alts, gfp_text = None, "?"
    if gfp_alts and alloc is not None and alloc.add:
        extra = 0
        for name in alloc.add:
            extra |= kernel.gfp.masks.get(name, 0)
        gfp_alts = [replace(g, mask=g.mask | extra) for g in gfp_alts]

    # size and order
    size = TOP
    order_lo = order_hi = None
    page_backed = False
    if alloc is not None and family is not None:
        size, order_lo, order_hi, page_backed = _size_and_order(a, scope, args, alloc, family)
        if fn.flags & IS_INIT and size.known and any(map(source_tables().is_run_time, size.sources)):
            # __init code runs once, at boot or load, before any ioctl or sysfs store: the
            # bound such a source gives is not what this call sees (vt's con_init)
            size, order_lo, order_hi, page_backed = unknown(WHY_INIT), None, None, False
    return AllocationSite(ff.path, fn, node, site, alloc, family, call_text, size, order_lo, order_hi,
                          page_backed, gfp_alts, gfp_text, a.contexts.site_context(node, site), ordinal)


def _family_threshold(family: Family, kernel: KernelInfo) -> int | None:
    above = family.page_alloc_above
    if above == "never":
        return None
    if above == "KMALLOC_MAX_CACHE_SIZE":
        return kernel.kmalloc_max_cache_size
    return int(above)


def _size_and_order(a: Analysis, scope: Scope, args: tuple, alloc: Allocator, family: Family):
    kernel = a.kernel
    if alloc.pages is not None:
        return const(kernel.page_size * alloc.pages), 0, 0, True
    if alloc.order is not None:
        if alloc.order >= len(args):
            return unknown(WHY_PARSE), None, None, False
        order = a.values.eval(args[alloc.order], scope)
        if not order.known:
            return unknown(WHY_COMPUTED_ORDER, order), None, None, False
        size = order.bounded(kernel.page_size << min(order.lo, 40),
                             None if order.hi is None else kernel.page_size << min(order.hi, 40))
        return size, order.lo, order.hi, True
    if alloc.size is None:
        return unknown(WHY_UNSIZED), None, None, False
    if alloc.size >= len(args):
        return unknown(WHY_PARSE), None, None, False
    size = a.values.eval(args[alloc.size], scope)
    if alloc.count is not None and alloc.count < len(args):
        size = arith("*", a.values.eval(args[alloc.count], scope), size)
    if alloc.header:
        size = arith("+", size, const(alloc.header))
    tables = value_tables()
    shared_info = tables.sizes["skb_shared_info"]
    if family.overhead == "skb":  # SKB_HEAD_ALIGN(): + aligned struct skb_shared_info (x86_64)
        size = arith("+", size, const(shared_info))
    elif family.overhead == "netdev_skb":  # + NET_SKB_PAD, then as __alloc_skb
        size = arith("+", size, const(tables.constants["NET_SKB_PAD"] + shared_info))
    if not size.known:
        return size, None, None, False
    threshold = _family_threshold(family, kernel)
    if threshold is None:
        return size, None, None, False
    lo = kernel.get_order(size.lo) if size.lo > threshold else None
    hi = None if size.hi is None else (kernel.get_order(size.hi) if size.hi > threshold else None)
    page_backed = size.hi is None or size.hi > threshold
    return size, lo, hi, page_backed
