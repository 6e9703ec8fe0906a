"""A user-controlled size reaches an allocator with no bound below its maximum.

## What it does
Flags allocations whose size comes from a user-controlled source - a module
parameter, a configfs/sysfs/debugfs store handler, an ioctl payload (a value
or a struct copied from the user), a netlink attribute, an ethtool ring or
channel count, the count a process passes to a file's read() or write() (up to
MAX_RW_COUNT, about 2 GiB, after vfs_read()/vfs_write()) - with no clamp or guard that
keeps it below the largest size the allocator can ever return
(`KMALLOC_MAX_SIZE`, `PAGE_SIZE << MAX_ORDER`). The source chain is shown.

## Why is this bad?
Whoever sets the value decides the page order. Above the allocator's
maximum the request always fails: the page allocator WARNs
(`WARNING: ... at mm/page_alloc.c ... __alloc_pages`) or, with
`__GFP_NOWARN`, the driver silently gets NULL. Below it, large values turn
into high-order requests that fail under fragmentation (AS001). The skb
allocators make their first attempt with `__GFP_NOWARN`: there the failure is
a dropped packet and no log line, and the finding is a note. A size only a
module parameter sets is a note too: only the administrator chooses it, at load
(or as root through `/sys/module`), and a size above the maximum fails at once,
every time, for the one who asked for it; the clamp is still the fix. (AS001
keeps such parameters at their level: a high order below the maximum passes
every test and fails later, under fragmentation, as the seed's `buflen` did.)
Sizes a process chooses (ioctl, sysfs or configfs stores, debugfs, ethtool)
stay warnings. A read() or write() count that sizes an skb is not reported:
the quiet failure is the -ENOMEM of the very call that asked for it.

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
allocation that must have succeeded earlier on the path bounds the values it
took (`pages = kcalloc(n, 8)` checked for NULL: n is at most 4 MiB / 8 after
it), so a later table of n, or of anything computed from n, is bounded too.
The calls that bring the user's value down are checked as AS002 checks its
witnesses: a callee allocating only under a flag (`if (is_local)`) that its
caller refuses (`if (is_local) return -EINVAL;`) is not reached by the value.
Allocations one function sizes with the same user value, reached the same way,
are one finding (the first; the others are related locations, `alsoSizes`):
the fix is at the value. Across functions they stay apart, so a refill that
repeats a ring's set-up allocation of the same size is still reported, though
it runs only once that set-up allocation succeeded.

## Options
None.

## References
mm/page_alloc.c `__alloc_pages()` (`WARN_ON_ONCE_GFP(order > MAX_ORDER)`).
"""

from __future__ import annotations

from ..analyze import Analysis
from ..analyze.valuepaths import ValuePaths
from ..analyze.witness import SOURCE
from ..kernel.tables import source_tables
from .base import (Finding, base_properties, context_witness, feasible, human_bytes, module_parameters_only,
                   user_sources, value_witness)

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
    paths = ValuePaths(analysis)
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
        if not feasible(paths, s):
            continue  # the user's value never reaches this arm of the callee
        sources = ", ".join(users)
        bound = "no upper bound" if size.hi is None else f"a bound of {human_bytes(size.hi)}"
        msg = (f"'{s.site.callee}' size is user-controlled ({sources}) with {bound}, above the "
               f"{human_bytes(limit)} '{s.site.callee}' can ever return")
        props = base_properties(s, analysis.kernel.release)
        props["maxOrder"] = None
        # A netlink policy (NLA_POLICY_RANGE/MAX) may bound the attribute; we do not read policies.
        level = "note" if all(src.startswith("netlink:") for src in users) else LEVEL
        if module_parameters_only(users):
            level = "note"  # the administrator's choice at load: see the docstring
        if s.family is not None and s.family.silent:
            if all(map(source_tables().is_per_call, users)):
                continue  # a write() of 8 MiB into an skb: that call's quiet -ENOMEM, nothing else
            # an skb head's first kmalloc carries __GFP_NOWARN: the packet is dropped, no line
            msg += f"; it fails silently ('{s.site.callee}' makes its first attempt with __GFP_NOWARN)"
            level = "note"
        out.append(Finding.at_site(ID, s, level, msg, props, context_witness(s), value_witness(s, size)))
    return _one_per_value(out)


def _one_per_value(findings: list[Finding]) -> list[Finding]:
    """One finding per user value per function: allocations a function sizes with the
    same value, reached the same way (gntdev_alloc_map()'s five arrays of `count`
    entries; spidev_open()'s tx and rx buffers of `bufsiz` bytes, the second reached
    only once the first succeeded) have one fix, at the value. The first in the
    function is reported; the others are named in its message and are related
    locations (`alsoSizes`). Within one function only: an incremental scan describes a
    function's sites together, and so groups them as a whole scan does."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        # the steps' text too: one copy_from_user() fills several fields (dasd's usrparm)
        way = tuple((step.kind, step.path, step.line, step.text) for step in f.value_flow[:-1])
        key = (f.path, f.function, tuple(f.properties.get("userControlled", ())), way)
        groups.setdefault(key, []).append(f)
    kept = []
    for group in groups.values():
        group.sort(key=lambda f: (f.line, f.col))
        first = group[0]
        also = []
        for other in group[1:]:
            alloc = other.value_flow[-1] if other.value_flow else other.witness[-1]
            first.related.append(alloc)
            also.append(f"{other.path}:{other.line}")
            first.message += f"; the same value also sizes '{other.site.site.callee}' at line {other.line}"
        if also:
            first.properties["alsoSizes"] = also
        kept.append(first)
    return kept


def _maximum_from_device(size) -> bool:
    """Does the chain that reaches the size's maximum start at a device's value, or, for
    a size a device's values also feed, anywhere but at a user's? A join keeps the chain
    of the alternative that makes the value big (a user's one when both reach it), so the
    user's alternatives stay below that maximum. bnxt's ring counts: the user's ethtool
    request is checked against maxima the firmware reports, and the largest count is the
    firmware's, reached through the driver's own stores: not the user's choice."""
    tables = source_tables()
    origin = size.steps[-1] if size.steps else None
    if origin is not None and origin.kind == SOURCE and bool(origin.source):
        return tables.is_device(origin.source)
    return any(tables.is_device(src) for src in size.sources)
