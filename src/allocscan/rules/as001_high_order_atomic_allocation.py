"""A non-blocking allocation whose size can reach a high page order.

## What it does
Flags allocation calls made with a gfp mask that cannot sleep (no
`__GFP_DIRECT_RECLAIM`: `GFP_ATOMIC`, `GFP_NOWAIT`) whose size can reach a
page order above `PAGE_ALLOC_COSTLY_ORDER` (order 4 and up by default,
`--min-order`), proved from constants, macros, struct layouts, and values
flowing from callers, fields, tables, function returns, users (module
parameters, sysfs/configfs, ioctl, ethtool ring sizes) or devices (a
descriptor's length field, a register, the host's setup wLength). When some
writers or callers of a size are unknown, the one that proves it large is
enough: the message says "at least" and `maxIsLowerBound` is set.

## Why is this bad?
A request that may not sleep cannot reclaim or compact memory. It is served
only from an already-free, physically contiguous block of a migrate type it
may use. Under fragmentation there is none, and the call fails with
`page allocation failure: order:N, mode:0x...(GFP_ATOMIC...)` even while the
zone still lists free blocks of that order: CMA pageblocks, for instance,
only serve movable allocations.

## Example
```c
spin_lock_irqsave(&dev->lock, flags);
buf = kmalloc(64 * 1024, GFP_ATOMIC);   /* order 4: fails under fragmentation */
```

Use instead:
```c
/* in probe/open, where sleeping is allowed */
dev->buf = kmalloc(64 * 1024, GFP_KERNEL);   /* or kvmalloc(), or a ring of pages */
```

## Known problems
A failure that logs nothing is still a failure. Sites the author marked
`__GFP_NOWARN` may have a fallback in a caller, and skb heads are first tried with
`__GFP_NOWARN` by `__alloc_skb()` (the packet is dropped): both are reported
as notes. A quiet first try that the function answers with another attempt
(`res = __get_free_pages(gfp | __GFP_NOWARN, order); if (res) return res;`
then a smaller order, a mempool, or a sleeping retry after unlocking) is not
reported: its failure is the design, and the fallback is what runs. Nor is a
quiet request whose author also wrote that it may fail (`__GFP_NORETRY`,
`__GFP_RETRY_MAYFAIL`, `__GFP_NOMEMALLOC`: virtio_balloon taking free order-10
blocks until one is refused, a balloon's 2 MiB pages, THP's light mask). Left loud
(no `__GFP_NOWARN`), every fallback prints the allocation failure, and it is
reported. Where the kernel's own `GFP_NOWAIT` carries `__GFP_NOWARN` (6.12),
the author chose no silence: the level stands and the message says it fails
silently. Sizes the analysis cannot bound are not reported. Nor is an
allocation in the arm of an author's assertion (`if (WARN_ON_ONCE(x))`): it
runs only on a bug the kernel already reports. Nor is one only early boot
makes (start_kernel() before rest_init(), e.g. vmalloc_init()'s node array,
or an irqchip's IRQCHIP_DECLARE() init that passes its callee GFP_NOWAIT):
memory is not fragmented yet, and a failure there shows on every boot.

Orders are those of 4 KiB pages (x86_64). An architecture's own files
(arch/<name>/) whose default page is larger are not reported: 64 KiB is order 2
with loongarch's 16 KiB pages. A size that comes down calls whose conditions
cannot hold together is not reported either (a callee allocating only for a
flag its caller refuses: the path validation of AS002, on the size's calls).

A size that is large only because a device register or DMA descriptor field
is that wide (a NIC's 16-bit frame length) is a note: hardware that keeps to
its frame size never reports it. An skb sized so is not reported at all: the
frame the hardware reports was received into a buffer the driver gave it
(`rx_buf_len`, the copy-break threshold, one page), which bounds the length
far below the register's width; a strict reading of such notes found ten of
eleven false. What a USB host asks a gadget for, USB descriptors a device
supplies, and a transfer's fill within a buffer a descriptor sized keep their
level. A function that receives its
size and its mask from callers is reported only when one caller passes both a
size proven large and a mask that cannot sleep.

A module parameter is read two ways. Where the size is the parameter (a
buffer length the user loads the module with, the seed's `buflen`), it
reaches as far as its type: that is a finding at any level. Where it is
the bound of a check the size passes (`if (len < rx_copybreak && (skb =
netdev_alloc_skb(dev, len + 2)))`), it is a threshold and stands at its
default, the initializer: a copy-break root loads at 64 KiB is a setting
outside its meaning, not a size the driver asks for (a threshold whose
default is large bounds nothing small, and the site is reported). A check
counts where it is made: an earlier operand of the condition holding the
allocation, a check in every arm of an if/else, and a check every caller
makes on the same header field before the call.

## Options
`--min-order N`: the lowest order reported (default 4).

## References
Documentation/core-api/memory-allocation.rst; mm/page_alloc.c `warn_alloc()`.
"""

from __future__ import annotations

from ..analyze import Analysis
from ..analyze.entries import early_boot_only
from ..analyze.fallback import falls_back
from ..analyze.valuepaths import ValuePaths
from ..analyze.witness import CALL, FLOW
from ..kernel.tables import contexts, gfp_tables, source_tables
from .base import (Finding, base_properties, context_witness, device_sources, feasible, human_bytes,
                   module_parameters_only, other_page_size, user_sources, value_witness, with_gfp_flow)

ID = "AS001"
NAME = "high-order-atomic-allocation"
LEVEL = "warning"
PRECISION = "high"
SEVERITY = "warning"  # GitHub's problem.severity: error | warning | recommendation
TAGS = ("reliability", "kernel", "memory-allocation", "atomic-context")
SHORT = "High-order allocation that may not sleep"
FIX = ("allocate the buffer once in process context (probe/open) with GFP_KERNEL and reuse it; "
       "or keep it below order 4 (PAGE_SIZE << 3), use kvmalloc() from a sleeping context, "
       "or split it into pages/scatter-gather")


def check(analysis: Analysis, options) -> list[Finding]:
    kernel = analysis.kernel
    gfp = kernel.gfp
    out = []
    paths = ValuePaths(analysis)
    for s in analysis.reportable_sites():
        if s.allocator is None or not s.page_backed or (s.order_hi is None and not s.size.unbounded):
            continue
        if not s.size.known or not s.gfp:
            continue
        nonblocking = _entering_with_the_size(s, [g for g in s.gfp if not gfp.allows_blocking(g.mask)])
        if not nonblocking:
            continue
        top = kernel.max_order if s.size.unbounded else min(s.order_hi, kernel.max_order)
        if s.size.unbounded and not s.size.sources:
            continue  # unknown is not big
        if top < options.min_order:
            continue
        if s.order_hi is not None and s.order_hi > kernel.max_order and s.order_lo is not None and s.order_lo > kernel.max_order:
            continue  # always beyond the maximum: AS004's
        if early_boot_only(analysis.program, contexts(), s.node) or _masks_from_early_boot(analysis, nonblocking):
            continue  # start_kernel() before rest_init(): no fragmentation yet, and it fails on every boot
        if other_page_size(s, kernel):
            continue  # loongarch's 16 KiB pages: 64 KiB is order 2 there
        if not feasible(paths, s):
            continue  # the calls that bring the size cannot all be taken: it never reaches here
        if s.context is None and all(g.by_context for g in nonblocking):
            # `in_interrupt() ? GFP_ATOMIC : GFP_KERNEL` picks the atomic mask only where the
            # function runs atomically, and no atomic context of it is known (t7xx's
            # t7xx_fsm_append_event(), given the device's length by a kthread): GFP_KERNEL
            continue
        # A failure that logs nothing is still a failure: a NULL the caller must handle,
        # a dropped packet. When the author wrote __GFP_NOWARN (a try with a fallback) or
        # the allocator adds it (an skb head's first kmalloc in __alloc_skb()), it is a
        # note; when it is only the bit the tree's own GFP_NOWAIT carries (6.12), the
        # author asked for nothing: the level stands.
        silent = s.family.silent or any(gfp.has(g.mask, "__GFP_NOWARN") for g in nonblocking)
        authored = all(g.quiet and gfp.has(g.mask, "__GFP_NOWARN") for g in nonblocking)
        if authored and not s.family.silent and _tries_again(analysis, s):
            continue  # a quiet first try with a fallback (mlx5's xlt buffer): failing is the design
        if authored and all(_failure_declared(gfp, g.mask) for g in nonblocking):
            continue  # `__GFP_NORETRY | __GFP_NOWARN`: the author expects NULL (a balloon's free blocks)
        chosen = s.family.silent or authored
        always = s.order_lo is not None and s.order_lo >= options.min_order
        level = "error" if always and len(nonblocking) == len(s.gfp) else "warning"
        size = s.size
        if s.family.holds_frames and _received_frame_only(size):
            continue  # a received frame's length, bounded by the driver's buffer: see the docstring
        if chosen or any(g.conditional for g in nonblocking) or _hardware_only(size):
            level = "note"
        users = user_sources(size)
        # (a module parameter's is the administrator's setting at load: said so, the level stands)
        who = ("module-parameter" if module_parameters_only(users) else "user") if users else "device"
        at_least = "at least " if size.partial else ""
        if s.allocator.order is not None and s.order_hi is not None and s.order_hi > kernel.max_order:
            # a computed order past the buddy allocator's largest: its bytes mean nothing
            # (lan966x's u8 page_order from a 32-bit register would be 2^255 pages)
            extent = (f"up to {at_least}order {s.order_hi}, past the largest order ({kernel.max_order}) "
                      f"the page allocator serves")
        elif size.hi is None:
            extent = f"size unbounded ({who}-controlled)"
        else:
            extent = f"size {_size_range(s, size, at_least)}"
        if size.partial:
            extent += " (proven by one writer or caller; the others are unknown)"
        verb = "requests" if _fixed(size) else "may request"  # (ath10k's fixed 35144-byte event copy)
        msg = (f"'{s.site.callee}' {verb} order {top} ({human_bytes(kernel.page_size << top)}) "
               f"with {nonblocking[0].text}, which cannot sleep: {extent}")
        limit = kernel.largest_request(s.family, False)
        if limit is not None and (size.hi is None or size.hi > limit) and not extent.startswith("up to"):
            # (ppp's MRU up to 2 GiB: the sizes past the maximum fail every time, AS003's
            # or AS004's business; this rule's are those that fail under fragmentation)
            msg += f"; above {human_bytes(limit)} '{s.site.callee}' refuses every request"
        if silent:
            msg += "; it fails silently" + _why_silent(s, nonblocking, kernel)
        context = _context_of_the_size(analysis, s)
        if context is not None:
            msg += f"; {context.reason}"
        props = base_properties(s, kernel.release)
        props["maxOrder"] = top
        witness = with_gfp_flow(context_witness(s, context, contextless=context is None), nonblocking[0])
        out.append(Finding.at_site(ID, s, level, msg, props, witness, value_witness(s, size)))
    return out


def _size_range(s, size, at_least: str) -> str:
    """The proven size as a reader checks it: one number when it is fixed (`sizeof` of a
    struct with arrays), "A to B" when even the smallest goes to the page allocator
    (mhi_net's default 32 KiB receive buffer, up to its MRU), else "up to B"."""
    if _fixed(size):
        return human_bytes(size.hi)
    if s.order_lo is not None and not size.partial:
        return f"{human_bytes(size.lo)} to {human_bytes(size.hi)}"
    return f"up to {at_least}{human_bytes(size.hi)}"


def _fixed(size) -> bool:
    """Is the size proven one value, whoever writes it?"""
    return size.hi is not None and size.lo == size.hi and not size.partial


def _failure_declared(gfp, mask: int) -> bool:
    """Does the mask, besides __GFP_NOWARN, carry a bit by which its author declares the
    request allowed to fail (gfp.toml [failure_allowed]: __GFP_NORETRY, __GFP_RETRY_MAYFAIL,
    __GFP_NOMEMALLOC)? virtio_balloon asks for order-10 blocks with no reclaim until one
    is refused: "all free pages are taken" is what NULL means there."""
    return any(gfp.has(mask, bit) for bit in gfp_tables().failure_allowed_bits)


def _entering_with_the_size(s, nonblocking: list) -> list:
    """The non-blocking masks that reach the allocation through the calls that bring the
    proven size. A function given its size and its mask by its callers (tipc_buf_acquire(size,
    gfp)) is proven to make a large non-blocking request only by a caller passing both: a large
    size from one caller and GFP_ATOMIC from another prove nothing, however many calls up the
    two part (folio_alloc() gets its order from readahead and its mask from a filesystem, both
    through filemap_alloc_folio()). A mask a function on the way chooses itself goes with any
    caller's size."""
    size_calls = _size_call_chain(s.size.steps)
    if not size_calls:
        return nonblocking
    kept = []
    for g in nonblocking:
        if not g.via or g.via[-1].callee != s.function.name:
            kept.append(g)
            continue
        mask_calls = [(v.path, v.line) for v in reversed(g.via)]
        if all(a == b for a, b in zip(size_calls, mask_calls)):
            kept.append(g)
    return kept


def _context_of_the_size(analysis: Analysis, s):
    """The atomic context to show: one that comes down the calls bringing the size. A
    context entering by other calls than the size's (tty_buffer_alloc(): hvc's console
    poll under its lock asks for 16 bytes through tty_buffer_request_room(), moxa's
    receive path for the large size through tty_prepare_flip_string()) is not this
    size's; of the function's contexts the one along the size's calls is shown, else
    none (the finding stands on the size and the mask)."""
    if s.context is None:
        return None
    size_calls = _size_call_chain(s.size.steps)
    if _along(s.context, size_calls):
        return s.context
    contexts = analysis.contexts
    for sig, w in contexts.variants.get(s.node, ()):
        if _along(w, size_calls) and (contexts.oracle is None or not contexts.oracle.dead(s.node, sig, s.site)):
            return w
    return None


def _along(w, size_calls: list[tuple[str, int]]) -> bool:
    """Do a context witness's calls, from the allocation outwards, take the same call
    sites as the size's for as far as both go?"""
    context_calls = [(st.path, st.line) for st in reversed(w.steps) if st.kind == CALL]
    return all(a == b for a, b in zip(context_calls, size_calls))


def _size_call_chain(steps) -> list[tuple[str, int]]:
    """The calls the size came in through, the allocating function's first: the value
    flow's call steps up to where it leaves the call chain (a field's store, the source)."""
    calls = []
    for st in steps:
        if st.kind != FLOW or st.field:
            break
        if st.callee and st.function != st.callee:
            calls.append((st.path, st.line))
    return calls


def _hardware_only(size) -> bool:
    """Is the size large only because a device register or DMA descriptor field is that wide
    (no user source, no USB host or USB descriptor)? The driver's own hardware reporting a
    64 KiB frame to a driver whose frames are 1.5 KiB is possible, not proven: a note."""
    tables = source_tables()
    return _device_only(size, lambda src: src.startswith("device:") and src.partition(":")[2] not in tables.host_fields)


def _received_frame_only(size) -> bool:
    """Is the size large only because of a length the hardware reports of what it received
    (a register's byte count, an RX descriptor's length field, a header in the received
    buffer)? The frame fits the buffer the driver posted, which the analysis does not read."""
    return _device_only(size, source_tables().is_received_length)


def _device_only(size, kind) -> bool:
    """Has the size device sources, all of the `kind` asked, and no user source?"""
    devices = device_sources(size)
    return bool(devices) and not user_sources(size) and all(kind(src) for src in devices)


def _masks_from_early_boot(analysis: Analysis, nonblocking) -> bool:
    """Does every mask that cannot sleep come from a caller only early boot runs? gic-v3-its'
    its_allocate_pending_table() gets GFP_NOWAIT from its IRQCHIP_DECLARE init and
    GFP_KERNEL from the vPE code that runs later."""
    program = analysis.program
    for g in nonblocking:
        if g.origin is None:
            return False
        path, _, name = g.origin
        nodes = [n for n in program.by_name.get(name, ()) if program.functions[n].path == path]
        if len(nodes) != 1 or not early_boot_only(program, contexts(), nodes[0]):
            return False
    return True


def _tries_again(analysis: Analysis, s) -> bool:
    """Does the function store another call's result where this one's NULL lands (fallback.py)?"""
    oracle = analysis.contexts.oracle
    return oracle is not None and falls_back(s.function, s.site, s.path, oracle.truth)


def _why_silent(s, nonblocking, kernel) -> str:
    if s.family.silent:
        return f" ('{s.site.callee}' makes its first attempt with __GFP_NOWARN: NULL, no log line)"
    if any(g.quiet for g in nonblocking):
        return " (__GFP_NOWARN)"
    return f" ({nonblocking[0].text} includes __GFP_NOWARN on {kernel.release})"
