"""A sleeping allocation (or a blocking gfp) where the code may not sleep.

## What it does
Flags allocation calls with a blocking gfp mask (`GFP_KERNEL`, `GFP_NOIO`,
anything with `__GFP_DIRECT_RECLAIM`), always-sleeping allocators (`vmalloc`
and friends), and any call that passes a blocking gfp to a function taking a
`gfp_t` (`usb_submit_urb(urb, GFP_KERNEL)`), when the call may run in atomic
context: a spinlock held, interrupts or bottom halves disabled, preemption
off, an RCU read-side section, or a callback the kernel runs in hardirq or
softirq context (irq handler, timer, tasklet, NAPI poll, URB completion,
`ndo_start_xmit`, RCU callback). The witness names the lock or entry point
and the calls that lead to the allocation.

## Why is this bad?
A blocking allocation may enter direct reclaim and schedule. In atomic
context that is `BUG: sleeping function called from invalid context` with
CONFIG_DEBUG_ATOMIC_SLEEP, `BUG: scheduling while atomic` when it really
sleeps, and a deadlock or corrupted state in the worst case.

## Example
```c
spin_lock_irqsave(&priv->lock, flags);
entry = kzalloc(sizeof(*entry), GFP_KERNEL);
```

Use instead:
```c
entry = kzalloc(sizeof(*entry), GFP_KERNEL);   /* before taking the lock */
spin_lock_irqsave(&priv->lock, flags);
```
or `GFP_ATOMIC` when the allocation must happen under the lock.

## Known problems
A lock held on only some paths gives a warning, not an error. A gfp chosen
at run time between an atomic and a blocking mask (`atomic ? GFP_ATOMIC :
GFP_KERNEL`) is taken as the author's choice per path and not reported;
one chosen by `in_interrupt()`/`gfp_any()` is reported only where that test
picks the blocking mask (gfp_any() under spin_lock_irqsave()). Calls behind
a branch that the caller's constant arguments rule out (`if (!may_sleep)
return;` reached as `f(dev, false)`) are not followed, nor is a lock taken only
for other masks (`if (gfp == GFP_ATOMIC) spin_lock(...)` with a GFP_KERNEL
caller). One-time set-up (`if (!dev->stats) dev->stats = dma_alloc_coherent(...)`,
or code after `if (priv->flags & INIT_DONE) return 0;` that sets the flag) is
not followed from an atomic caller: the first call, on the driver's set-up
path, does the work. Under the function's own lock it is still reported.
Lock wrappers in other files are not followed.

## Options
The chain from the lock or entry point to the call is at most 3 calls long: a
longer one does not convince a maintainer, and its conditions are rarely all
met together.

## References
Documentation/core-api/memory-allocation.rst; kernel/sched/core.c `__might_resched()`.
"""

from __future__ import annotations

from ..analyze import Analysis
from ..analyze.context import context_kinds, in_one_time_setup
from ..analyze.gfpflow import context_decides, region_skipped_for
from ..exprs import ir_from_text
from .base import Finding, base_properties, context_witness, with_gfp_flow

ID = "AS002"
NAME = "sleeping-allocation-in-atomic-context"
LEVEL = "error"
PRECISION = "high"
TAGS = ("correctness", "kernel", "memory-allocation", "atomic-context", "locking")
SHORT = "Sleeping allocation in atomic context"
FIX = ("move the allocation before the lock is taken (or out of the callback into a work item), "
       "or use GFP_ATOMIC/GFP_NOWAIT and handle failure")


def check(analysis: Analysis, options) -> list[Finding]:
    kernel = analysis.kernel
    gfp = kernel.gfp
    out = []
    for s in analysis.sites:
        ctx = s.context
        if ctx is None:
            continue
        locked_here = bool(s.site.locks[0] or s.site.locks[1])
        if not locked_here and ctx.hops > 0 and s.function.once and \
                in_one_time_setup(analysis.program, s.node, s.site):
            continue  # one-time set-up reached from an atomic caller: done on the set-up path
        sleeps_always = s.allocator is not None and s.allocator.sleeps
        if sleeps_always:
            blocking = s.gfp or []
            culprit = f"'{s.site.callee}' always sleeps"
            conditional = False
            via_caller = False
        else:
            if not s.gfp:
                continue
            blocking = [g for g in s.gfp if gfp.allows_blocking(g.mask)]
            if locked_here and not s.site.locks[0] and len(s.site.locks[1]) == 1 and s.site.lock_conds:
                # the one lock is taken only under a condition on the mask itself
                mask_var = ir_from_text(s.gfp_text)
                if mask_var[0] == "id":
                    blocking = [g for g in blocking
                                if not region_skipped_for(g.mask, s.site.lock_conds, mask_var[1], gfp)]
            if not blocking:
                continue
            # A gfp passed in by a caller only matters here when this function
            # itself holds the lock; otherwise the caller's own call is reported.
            local = [g for g in blocking if g.origin is None]
            if not locked_here and not local:
                continue
            if not locked_here:
                blocking = local
            kinds = context_kinds(ctx)
            outer = analysis.contexts.caller_context(s.node, s.site)
            if outer is not None:  # a handler in softirq that also takes a lock: both count
                kinds |= context_kinds(outer)
            if all(g.by_context and any(context_decides(g.by_context, k) for k in kinds) for g in blocking):
                continue  # gfp_any()/in_interrupt() picks GFP_ATOMIC in this context: correct here
            if any(not gfp.allows_blocking(g.mask) for g in s.gfp) and \
                    all(g.conditional and not g.by_context and g.origin is None for g in blocking):
                continue  # `atomic ? GFP_ATOMIC : GFP_KERNEL`: the author chose per path
            conditional = any(g.conditional for g in blocking) or len(blocking) < len(s.gfp)
            via_caller = all(g.origin is not None for g in blocking)
            names = " or ".join(dict.fromkeys(g.text for g in blocking))
            what = f"'{s.site.callee or s.site.field}'" + ("" if s.allocator else " (takes a gfp_t)")
            culprit = f"{what} called with {names}, which may sleep"
            if via_caller:
                origin = blocking[0].origin
                culprit += f" (passed by {origin[2]}() at line {origin[1]})"
        level = "error" if ctx.grade == "must" else "warning"
        if conditional:
            level = "note"
        if via_caller and level == "error":
            level = "warning"
        msg = f"{culprit}, but {ctx.reason}"
        props = base_properties(s, kernel.release)
        witness = context_witness(s)
        if blocking:
            witness = with_gfp_flow(witness, blocking[0])
        out.append(Finding.at_site(ID, s, level, msg, props, witness))
    return out
