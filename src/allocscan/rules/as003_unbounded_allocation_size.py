"""A user-controlled size reaches an allocator with no bound below its maximum.

## What it does
Flags allocations whose size comes from a user-controlled source - a module
parameter, a configfs/sysfs/debugfs store handler, an ioctl payload (a value
or a struct copied from the user), a netlink attribute, an ethtool ring or
channel count - with no clamp or guard that
keeps it below the largest size the allocator can ever return
(`KMALLOC_MAX_SIZE`, `PAGE_SIZE << MAX_ORDER`). The source chain is shown.

## Why is this bad?
Whoever sets the value decides the page order. Above the allocator's
maximum the request always fails: the page allocator WARNs
(`WARNING: ... at mm/page_alloc.c ... __alloc_pages`) or, with
`__GFP_NOWARN`, the driver silently gets NULL. Below it, large values turn
into high-order requests that fail under fragmentation (AS001).

## Example
```c
static unsigned int buflen = 4096;
module_param(buflen, uint, 0644);
...
buf = kmalloc(buflen, GFP_KERNEL);
```

Use instead:
```c
if (buflen > SZ_64K)
	return -EINVAL;
buf = kmalloc(buflen, GFP_KERNEL);
```
or `kvmalloc()` when large buffers are legitimate.

## Known problems
Struct fields written in many directories (hubs such as `sk_buff.len`) are
not followed across drivers, so some user-controlled sizes stay unknown. A
size a device supplies (a descriptor field, a register) is AS001's evidence,
not this rule's: a user did not choose it. That holds too where a user's
value and a device's meet (`rx_urb_size` set from a sysfs store that clamps
it to 64 KiB, and from the device's `dwNtbInMaxSize`): when the chain that
reaches the maximum starts at the device, the user's part is bounded below it
and nothing is reported here. Code in `__init` functions runs
before any ioctl or sysfs store, so their values do not count there. An
allocation of the same count earlier in the function bounds this one: it must
have succeeded (`pages = kcalloc(n, 8)` checked for NULL, then `addrs =
kcalloc(n, 8)`), so the second table is at most as large as the first allows.

## Options
None.

## References
mm/page_alloc.c `__alloc_pages()` (`WARN_ON_ONCE_GFP(order > MAX_ORDER)`).
"""

from __future__ import annotations

from ..analyze import Analysis
from ..analyze.values.narrowing import on_every_path, result_names
from ..analyze.values.scope import Scope
from ..analyze.witness import SOURCE
from ..exprs import IDENT_RE, render, squash
from ..facts import EXIT_ERROR
from ..kernel.tables import source_tables
from .base import Finding, base_properties, context_witness, human_bytes, user_sources, value_witness

ID = "AS003"
NAME = "unbounded-allocation-size"
LEVEL = "warning"
PRECISION = "medium"
SEVERITY = "warning"  # GitHub's problem.severity: error | warning | recommendation
TAGS = ("reliability", "kernel", "memory-allocation", "user-input")
SHORT = "User-controlled allocation size without an upper bound"
FIX = "validate the user-supplied value against a sane maximum before allocating (return -EINVAL), or clamp it"


def max_bytes(analysis: Analysis, s) -> int | None:
    """The most bytes the site's allocator can return with the gfp that reaches it."""
    if s.family is None:
        return None
    kernel = analysis.kernel
    blocking = bool(s.gfp) and any(kernel.gfp.allows_blocking(g.mask) for g in s.gfp)
    return kernel.largest_request(s.family, blocking)


def check(analysis: Analysis, options) -> list[Finding]:
    out = []
    by_function: dict[int, list] = {}
    for site in analysis.sites:
        by_function.setdefault(id(site.function), []).append(site)
    for s in analysis.reportable_sites():
        size = s.size
        users = user_sources(size) if size.known else []
        if s.allocator is None or not users:
            continue  # a size a device supplies is AS001's evidence, not a user's choice
        limit = max_bytes(analysis, s)
        if limit is None:
            continue
        if s.gfp and all(analysis.kernel.gfp.has(g.mask, "__GFP_NOWARN") for g in s.gfp):
            continue  # the author expects it to fail: no warning, a plain -ENOMEM, handled
        if size.hi is not None and size.hi <= limit:
            continue
        if size.lo > limit:
            continue  # always too big: AS004's
        if _maximum_from_device(size):
            continue
        if _bounded_by_earlier_allocation(analysis, s, limit, by_function[id(s.function)]):
            continue
        sources = ", ".join(users)
        bound = "no upper bound" if size.hi is None else f"a bound of {human_bytes(size.hi)}"
        msg = (f"'{s.site.callee}' size is user-controlled ({sources}) with {bound}, above the "
               f"{human_bytes(limit)} '{s.site.callee}' can ever return")
        props = base_properties(s, analysis.kernel.release)
        props["maxOrder"] = None
        # A netlink policy (NLA_POLICY_RANGE/MAX) may bound the attribute; we do not read policies.
        level = "note" if all(src.startswith("netlink:") for src in users) else LEVEL
        out.append(Finding.at_site(ID, s, level, msg, props, context_witness(s), value_witness(s, size)))
    return out


def _bounded_by_earlier_allocation(analysis: Analysis, s, limit: int, neighbours: list) -> bool:
    """Does an allocation of the same count earlier in the function keep this one within
    its limit? `pages = kcalloc(n, 8, ...)` must have succeeded for the function to reach
    `addrs = kcalloc(n, 8, ...)` after it: n is at most 4 MiB / 8 there, and the second
    table is no larger than the first. The earlier one must be on every path to this one,
    not in a branch of its own, and its result checked with an error exit in between."""
    mine = _count_and_element(analysis, s)
    if mine is None:
        return False
    count, element = mine
    for other in neighbours:  # the function's allocation sites
        if other is s or other.site.byte >= s.site.byte:
            continue
        theirs = _count_and_element(analysis, other)
        if theirs is None or theirs[0] != count or not on_every_path(s.function, other.site.byte, s.site.byte) or not _checked_before(other, s):
            continue
        other_limit = max_bytes(analysis, other)
        if other_limit is not None and other_limit // theirs[1] * element <= limit:
            return True
    return False


def _count_and_element(analysis: Analysis, s) -> tuple[str, int] | None:
    """(count as written, element size in bytes) of an array allocation: kcalloc(n, size)
    and friends, or a size written `n * sizeof(x)`."""
    if s.allocator is None:
        return None
    args = s.site.arguments()
    if s.allocator.count is not None:
        if max(s.allocator.count, s.allocator.size or 0) >= len(args):
            return None
        count_ir, element_ir = args[s.allocator.count], args[s.allocator.size]
    elif s.allocator.size is not None and s.allocator.size < len(args) and args[s.allocator.size][0] == "bin" \
            and args[s.allocator.size][1] == "*":
        a, b = args[s.allocator.size][2], args[s.allocator.size][3]
        count_ir, element_ir = (a, b) if b[0] in ("sizeof_e", "sizeof_t") else (b, a)
    else:
        return None
    scope = Scope(analysis.values.file_by_path[s.path], s.function, 0, s.site.byte)
    element = analysis.values.eval(element_ir, scope)
    if not element.known or element.sources or element.lo != element.hi or element.lo <= 0:
        return None
    return squash(render(count_ir)), element.lo


def _checked_before(earlier, later) -> bool:
    """Is the earlier allocation's result checked, with an error exit, before the later
    call (`if (!d->pages) return -ENOMEM;`)? Allocations made back to back and checked
    together afterwards (`if (!a || !b) goto err;`) are each attempted whatever the
    others got."""
    fn = earlier.function
    names = result_names(fn, earlier.site)
    return bool(names) and any(cond[5] == EXIT_ERROR and earlier.site.byte < cond[1] < later.site.byte
                               and names <= set(IDENT_RE.findall(cond[0])) for cond in fn.conditions)


def _maximum_from_device(size) -> bool:
    """Does the chain that reaches the size's maximum start at a device's value? A join
    keeps the chain of the alternative that makes the value big (a user's one when both
    reach it), so the user's alternatives stay below that maximum."""
    origin = size.steps[-1] if size.steps else None
    return origin is not None and origin.kind == SOURCE and bool(origin.source) and \
        source_tables().is_device(origin.source)
