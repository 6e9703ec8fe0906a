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

from ..exprs import IDENT_RE, conjuncts, ir_from_text, render
from ..facts import HAS_GFP_PARAM, IS_INIT, CallSite, FileFacts, FunctionFacts
from ..kernel.tables import Allocator, Family, allocators, contexts, families, gfp_tables, source_tables
from ..kernel.version import KernelInfo
from ..link import ALLOCATES, Program
from ..macrocalls import call_text as written_call
from .context import ContextAnalysis, analyze_contexts, drops_held_lock
from .witness import Witness
from .gfpflow import GfpAlt, GfpAnalysis
from .values import TOP, Scope, Value, ValueAnalysis, arith, const, unknown
from .values.lattice import WHY_COMPUTED_ORDER, WHY_INIT, WHY_PARSE, WHY_UNSIZED, interval, unsigned_max, with_bounds


@dataclass(slots=True)
class AllocationSite:
    path: str
    function: FunctionFacts
    node: str
    # The call's place among function.calls (`site` reads it there, unpacking the calls
    # again once facts._UNPACKED has let them go): kept in each site, the calls of the
    # 50,000 sites of a whole-tree scan of 6.1 held 51 MB of its peak (their argument
    # IR and lock states)
    call_index: int
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
    size_constant: bool = False  # the size argument is a compile-time constant (kmalloc's inline paths)
    # inside the arm of an `if (WARN_ON_ONCE(...))`: runs only when the author's assertion
    # fails (the rules report nothing here; explain still finds the site)
    on_bug_path: bool = False

    @property
    def site(self) -> CallSite:
        """The allocating (or gfp-passing) call."""
        return self.function.calls[self.call_index]

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
    stats: dict = field(default_factory=dict)  # counters the rules report (paths checked, dropped)

    def reportable_sites(self):
        """The sites rules judge: all but those on a path the author asserts never runs."""
        return (s for s in self.sites if not s.on_bug_path)


# What a bug of ours on one odd site raises: the site (or witness) is skipped with a
# warning naming it, and the scan goes on (ALLOCSCAN_STRICT=1 raises instead).
INTERNAL_ERRORS = (ArithmeticError, ValueError, RecursionError, KeyError, IndexError, TypeError, AttributeError)


def analyze(program: Program, kernel: KernelInfo, restrict=None) -> Analysis:
    """`restrict`, when given, is asked with the nodes of every allocating function which
    of them to describe (None: all): an incremental scan's cone (see incremental.py)."""
    values = ValueAnalysis(program, kernel)
    allocating_gfp = allocating_gfp_params(program)
    # Only functions that allocate or pass a gfp mask on: no other body is unpacked.
    described = [(ff, fn, program.node_for(fn, ff.path)) for ff, fn in _allocating_functions(program, allocating_gfp)]
    only = None
    if restrict is not None:
        only = restrict({node for _, _, node in described})
        if only is not None:
            described = [item for item in described if item[2] in only]
    # the contexts of the described functions only: a cone's callers, not the whole program
    contexts = analyze_contexts(program, values.oracle, None if only is None else {n for _, _, n in described})
    gfp = GfpAnalysis(program, kernel.gfp)
    result = Analysis(program, kernel, contexts, values, gfp)
    table = allocators()
    fams = families()
    for ff, fn, node in described:
        ordinals: dict[str, int] = {}
        for index, site in enumerate(fn.calls):
            key = site.callee or "->" + site.field
            ordinals[key] = ordinals.get(key, -1) + 1
            alloc = table.get(site.callee)
            if alloc is None and not _passes_gfp(site, ff.path, fn, kernel, program, allocating_gfp):
                continue
            try:
                result.sites.append(_describe(result, ff, fn, node, index, alloc, fams, ordinals[key]))
            except INTERNAL_ERRORS as err:
                # One site the analysis cannot handle must not end the scan.
                if os.environ.get("ALLOCSCAN_STRICT") == "1":
                    raise
                result.warnings.append(f"{ff.path}:{site.line}: internal error analysing '{site.callee}' "
                                       f"({type(err).__name__}: {err}); site skipped")
    result.stats["sites_over_budget"] = values.sites_over_budget
    values.forget()
    gfp.forget()
    return result


def _allocating_functions(program: Program, allocating_gfp: set[tuple[str, int]]):
    """The functions whose calls may be allocation sites: those that call an allocator or
    write a gfp mask in a call, then those that hand a gfp_t parameter of theirs on to
    an allocating parameter (`f(gfp_t gfp) { spin_lock(); g(gfp); }`), in definition order."""
    yield from program.definitions_with(ALLOCATES)
    forwarders = {node for node, _ in allocating_gfp}
    for node in program.functions_with(HAS_GFP_PARAM):
        ref = program.functions[node]
        if node in forwarders and not ref.fn.flags & ALLOCATES:
            yield ref.file, ref.fn


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
    bits = gfp_tables().blocking_bits
    for a in fn.assignments:
        if a.kind == "local" and a.target == name and "~" in a.value_text and \
                any(b in a.value_text for b in bits):
            if a.op == "&=" or (a.op == "=" and name in a.value_text):
                return True
    return False


def _param_allocates(program: Program, path: str, fn: FunctionFacts, name: str, table, result) -> bool:
    for site in fn.calls:
        if site.args is None or name not in site.args_text:
            continue
        if gfp_tables().allocates_nothing(site.callee, site.args):
            continue
        for k, arg in enumerate(site.args):
            if name not in _names_in(arg):
                continue
            alloc = table.get(site.callee)
            if alloc is not None and alloc.gfp == k:
                return True
            targets = program.targets(site, path)
            if not targets:
                if site.callee and not site.callee.isupper() and site.callee not in gfp_tables().not_allocating:
                    return True  # outside the scan: assume it allocates
                continue
            if any((t, k) in result for t in targets):
                return True
    return False


def _passes_gfp(site: CallSite, path: str, fn: FunctionFacts, kernel: KernelInfo, program: Program,
                allocating_gfp: set[tuple[str, int]]) -> bool:
    """A call that passes a gfp mask: written out (`usb_submit_urb(urb, GFP_KERNEL)`), or
    a gfp_t parameter of the caller handed on (`g(dev, gfp)`), whose masks the gfp
    analysis follows up the callers."""
    if site.args is None:
        return False
    if "GFP" not in site.args_text and not (fn.flags & HAS_GFP_PARAM and _gfp_variables(fn) &
                                            set(IDENT_RE.findall(site.args_text))):
        return False
    name = site.callee
    tables = gfp_tables()
    if not name or name.isupper() or name in tables.not_allocating:
        return False  # an indirect call, a macro (INIT_RADIX_TREE stores the mask), a mask helper
    if tables.allocates_nothing(name, site.args):
        return False  # virtqueue_add_outbuf(vq, &sg, 1, ...): one entry takes no table
    index = _gfp_arg_index(site, fn, kernel)
    if index is None:
        return False
    targets = program.targets(site, path)
    if targets:  # the callee is in the scan: that parameter must be a gfp_t that reaches an allocation
        if (site.locks[0] or site.locks[1]) and all(drops_held_lock(program.functions[t].fn) for t in targets):
            # The callee drops the caller's lock before it goes on (ttm_bo_swapout() under
            # ttm_device_swapout()'s lru_lock): as for the context analysis, what it does
            # then does not run under the lock.
            return False
        return any((t, index) in allocating_gfp for t in targets)
    return True


def _gfp_arg_index(site: CallSite, fn: FunctionFacts, kernel: KernelInfo) -> int | None:
    """The argument that is a gfp mask: made of mask names and of the caller's own gfp_t
    parameters (`gfp | __GFP_ZERO`)."""
    masks = kernel.gfp.masks
    variables = _gfp_variables(fn) if fn.flags & HAS_GFP_PARAM else frozenset()
    for i, arg in enumerate(site.args or ()):
        names = _names_in(arg)
        if names and all(n in masks or n.startswith("__GFP_") or n.startswith("GFP_") or n in variables
                         for n in names):
            return i
    return None


def _gfp_variables(fn: FunctionFacts) -> frozenset[str]:
    """The function's gfp_t parameters (its summary has them: no body is unpacked)."""
    return frozenset(name for name, typ in fn.params if name and "gfp_t" in typ)


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


def _describe(a: Analysis, ff: FileFacts, fn: FunctionFacts, node: str, call_index: int,
              alloc: Allocator | None, fams: dict[str, Family], ordinal: int) -> AllocationSite:
    kernel = a.kernel
    site = fn.calls[call_index]
    args = site.arguments()
    scope = Scope(ff, fn, 0, site.byte)
    a.values.start_site()
    call_text = written_call(site)
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
        index = _gfp_arg_index(site, fn, kernel)
        gfp_ir = args[index]
        gfp_alts = a.gfp.at_call(gfp_ir, scope)
        gfp_text = render(gfp_ir)
    else:
        gfp_alts, gfp_text = None, "?"
    if gfp_alts and alloc is not None and alloc.add:
        extra = 0
        for name in alloc.add:
            extra |= kernel.gfp.masks.get(name, 0)
        quiet = "__GFP_NOWARN" in alloc.add  # the wrapper asks for silence (dev_alloc_pages, memdup_user)
        gfp_alts = [replace(g, mask=g.mask | extra, quiet=g.quiet or quiet) for g in gfp_alts]

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
    size_constant = alloc is not None and all(
        _compile_time_constant(a, args[i], scope) for i in (alloc.size, alloc.count) if i is not None and i < len(args))
    return AllocationSite(ff.path, fn, node, call_index, alloc, family, call_text, size, order_lo, order_hi,
                          page_backed, gfp_alts, gfp_text, a.contexts.site_context(node, site), ordinal,
                          size_constant and alloc.size is not None, _on_bug_path(fn, site.byte))


def bounded_order(site: AllocationSite, kernel: KernelInfo) -> int | None:
    """The largest page order a site whose size is not proven can request, by its size's
    bounds (lattice: bounds without a witness): -1 when they keep it below the family's
    page allocator threshold (a slab cache serves it), None when nothing bounds it."""
    if site.family is None or (site.size.known and not site.size.partial):
        return None
    hi = interval(site.size)[1]
    if hi is None:
        return None
    threshold = _family_threshold(site.family, kernel)
    if threshold is None or hi <= threshold:
        return -1
    return kernel.get_order(hi)


def _on_bug_path(fn: FunctionFacts, at: int) -> bool:
    """Is byte `at` inside the arm of an `if` that one of the author's assertions opens
    (`if (WARN_ON_ONCE(slab_is_available())) return kzalloc_node(size, GFP_NOWAIT, nid);`)?"""
    tables = contexts()
    for cond_text, ts, te, *_ in fn.conditions:
        if ts <= at < te and any(name in cond_text for name in tables.bug_assertions):
            for c in conjuncts(ir_from_text(cond_text)):
                while c[0] == "call" and c[1] in tables.transparent_calls and len(c[2]) == 1:
                    c = c[2][0]
                if c[0] == "call" and c[1] in tables.bug_assertions:
                    return True
    return False


_CONSTANT_NODES = ("num", "sizeof_t", "sizeof_e")
_COMPOSITE_NODES = ("bin", "un", "cast", "cond")


def _compile_time_constant(a: Analysis, ir: tuple, scope: Scope, depth: int = 0) -> bool:
    """Would `__builtin_constant_p()` hold for this size? Literals, sizeof, enums and
    macros of constants, and arithmetic of those: the kmalloc() inline then picks its
    cache (or the large path) at compile time, which shows in the call trace."""
    kind = ir[0]
    if kind in _CONSTANT_NODES:
        return True
    if depth > 6:
        return False
    if kind in _COMPOSITE_NODES:
        return all(_compile_time_constant(a, x, scope, depth + 1) for x in ir[1:] if isinstance(x, tuple))
    if kind == "call":  # a function-like macro of constants: min(), ALIGN(), struct_size() ...
        return a.program.lookup("defines", ir[1], scope.file.path) is not None and all(
            _compile_time_constant(a, x, scope, depth + 1) for x in ir[2])
    if kind != "id":
        return False
    name = ir[1]
    fn = scope.fn
    if fn is not None and (name in fn.locals or any(p == name for p, _ in fn.params)):
        return False
    if name in scope.file.globals:
        return False
    found = a.program.lookup("defines", name, scope.file.path)
    if found is not None:
        return _compile_time_constant(a, ir_from_text(found[1]), scope, depth + 1)
    value = a.values.ident(name, Scope(scope.file, None, scope.depth, scope.at_byte))
    return value.known and value.lo == value.hi


def _family_threshold(family: Family, kernel: KernelInfo) -> int | None:
    above = family.page_alloc_above
    if above == "never":
        return None
    if above == "KMALLOC_MAX_CACHE_SIZE":
        return kernel.kmalloc_max_cache_size
    return int(above)


def _carried_in(size: Value, most: int) -> Value:
    """`size` as a family computing it in a narrower integer carries it (`__alloc_skb(unsigned
    int size)`): past `most` the sum wraps, so no request is larger, and one that may wrap may
    be as small as 0. Sources and steps stay: the size is still the user's or the device's."""
    if not size.known or size.hi is None or size.hi <= most:
        return size
    return size.bounded(size.lo if size.lo <= most else 0, most)


def _count_that_fits(a: Analysis, count_ir: tuple, element: Value, scope: Scope) -> Value:
    """The count of an array allocator (kcalloc(), kmalloc_array()), as far as it can reach
    the allocator: a signed local or parameter with no maximum proven (`int maxlen`, an
    int module parameter passed down) may be negative, which makes a huge size_t count,
    and that times an element of two bytes or more overflows, which kmalloc_array()'s
    check_mul_overflow() answers with NULL and no warning. What reaches the page
    allocator is at most the type's largest value (seq_oss's maxqlen: 16 GiB, not
    unbounded)."""
    count = a.values.eval(count_ir, scope)
    if not count.known or count.hi is not None or count.partial or not element.known or element.lo < 2 \
            or count_ir[0] != "id":
        return count
    declared = a.values.builtins.local_type(count_ir[1], scope)
    if declared is None or declared.endswith("*"):
        return count
    type_max = a.values.builtins.type_max(declared, scope.file.path)
    if type_max is None or unsigned_max(type_max) is not None:
        return count  # unsigned, or not an integer type the tables know
    return count.bounded(max(count.lo, 0), type_max)


def _size_and_order(a: Analysis, scope: Scope, args: tuple, alloc: Allocator, family: Family):
    kernel = a.kernel
    if alloc.pages is not None:
        return const(kernel.page_size * alloc.pages), 0, 0, True
    if alloc.order is not None:
        if alloc.order >= len(args):
            return unknown(WHY_PARSE), None, None, False
        order = a.values.eval(args[alloc.order], scope)
        if not order.known:
            size = unknown(WHY_COMPUTED_ORDER, order)
            lo, hi = interval(order)
            if hi is not None and hi <= 40:
                size = with_bounds(size, kernel.page_size << lo, kernel.page_size << hi)
            return size, None, None, False
        size = order.bounded(kernel.page_size << min(order.lo, 40),
                             None if order.hi is None else kernel.page_size << min(order.hi, 40))
        return size, order.lo, order.hi, True
    if alloc.size is None:
        return unknown(WHY_UNSIZED), None, None, False
    if alloc.size >= len(args):
        return unknown(WHY_PARSE), None, None, False
    size = a.values.eval(args[alloc.size], scope)
    if alloc.count is not None and alloc.count < len(args):
        size = arith("*", _count_that_fits(a, args[alloc.count], size, scope), size)
    if alloc.header:
        size = arith("+", size, const(alloc.header))
    if family.overhead:  # skb heads: + NET_SKB_PAD, + aligned struct skb_shared_info (allocators.toml)
        size = arith("+", size, const(family.overhead))
    if family.size_max is not None:
        size = _carried_in(size, family.size_max)
    if not size.known:
        return size, None, None, False
    threshold = _family_threshold(family, kernel)
    if threshold is None:
        return size, None, None, False
    lo = kernel.get_order(size.lo) if size.lo > threshold else None
    hi = None if size.hi is None else (kernel.get_order(size.hi) if size.hi > threshold else None)
    page_backed = size.hi is None or size.hi > threshold
    return size, lo, hi, page_backed
