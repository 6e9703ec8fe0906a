"""A sleeping allocation (or a blocking gfp) where the code may not sleep.

## What it does
Flags allocation calls with a blocking gfp mask (`GFP_KERNEL`, `GFP_NOIO`,
anything with `__GFP_DIRECT_RECLAIM`), always-sleeping allocators (`vmalloc`
and friends), and any call that passes a blocking gfp to a function taking a
`gfp_t` (`usb_submit_urb(urb, GFP_KERNEL)`), when the call may run in atomic
context: a spinlock held, interrupts or bottom halves disabled, preemption
off, an RCU read-side section, or a callback the kernel runs in hardirq or
softirq context (irq handler, NAPI poll, `ndo_start_xmit`, `ndo_tx_timeout`
(the watchdog timer), `ndo_set_rx_mode` (under `netif_addr_lock_bh()`), RCU
callback, a function `on_each_cpu()` or `smp_call_function*()` runs with
interrupts off, a socket's `sk_data_ready`, `sk_state_change`, `sk_write_space` or
`sk_error_report` a kernel user replaces (the NET_RX softirq, the socket's lock
held), a block driver's `queue_rq` without `BLK_MQ_F_BLOCKING` (blk-mq
dispatches under `rcu_read_lock()`), and a timer, hrtimer, tasklet, irq_work, URB completion, async
crypto completion, DMA engine callback or bio `bi_end_io` once it is armed with
that function, or a `notifier_block` once it is registered on an atomic
notifier chain, directly or through the subsystem's wrapper
(`register_netevent_notifier()`: the chain runs under `rcu_read_lock()`; the
panic, restart, power-off and die chains are left out, where the kernel prints
no report or the context is a trap's). A context test on the path (`in_task()`, `in_interrupt()`,
`bio_in_atomic()`) answers as the entry point's context does. Locks include the header wrappers of a spinlock
(`xa_lock()`, `netif_addr_lock_bh()`, `bh_lock_sock()`, `local_lock()`, ...);
a call that drops the caller's lock around its allocation (`__xa_store()`
under `xa_lock()`, an unlock/allocate/relock helper) is not under it. The witness names the lock or entry point and the calls that
lead to the allocation.

The finding sits where the fix goes: at the call, in the function that holds
the lock or is the entry point, that leads to the sleeping allocation. The
allocation (often in core code) is a related location and the last step of
the code flow. One core allocation reached from several drivers' calls gives
one finding per call. A call that reaches several sleeping allocations (in
several files, or up to three in one) is one finding: the strongest witness
is shown, and the other allocations, each on a path of its own that holds,
are named in the message and as related locations. An
allocation in the arm of an author's assertion (`if (WARN_ON(x))`) is not
reported: that arm runs only on a bug the kernel already reports.

Every witness is a path, checked whole: the branch conditions of each
function on it (the `if` arms, the early exits before each call, the `switch`
case), with each callee's parameters bound to its caller's arguments, locals
to the assignments that reach the call (a buffer preallocated before the
lock under the very condition the callee would allocate under, or checked
non-NULL, is known there), local structs to their initializer, templates
passed by pointer to theirs, and the origin's parameters to what all its
callers pass, must be able to hold together (an SMT solver decides). Code in
an `#if` branch no build compiles (a macro that no file of a whole-tree scan
defines and no Makefile passes with `-D`, or `#if 0`) carries no witness. A timer
or tasklet runs only the function bound to it when it is armed
(`timer_setup(&p->t, f)` ... `mod_timer(&p->t, ...)`): one bound and re-bound
before arming, or never armed, is no entry point.

## Levels
- `error`: every step is proven: the lock is held on every path (or the entry
  point is armed), every call is direct, and every branch condition on the
  path inside the callees is implied by what the path itself shows (constant
  arguments, the caller's own tests, initialisers), or is an early error exit
  not taken.
- `warning`: the path crosses a branch on a value it passes (an argument or a
  local) that the analysis could not decide, or the lock is held on some paths
  only, or a call goes through a pointer or an ambiguous name, or the
  blocking gfp comes from a caller.
- `note`: the allocation happens only in a state the path does not set (a
  cache being empty, an optional hook missing, a device mode bit), or the gfp
  is one of several chosen at run time. `pathEvidence` (proven, undecided,
  state) and `pathCondition` (the condition that decides it) say which.

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
State changed between two tests on a path (a store made by a function called
in between) is not modelled: the same expression is taken to keep its value
along the path, so a path whose callee re-tests a field the caller tested is
judged by the caller's test. Fields written by other code are unknown (a
template passed by pointer counts only while no code writes the field). A gfp
chosen at run time between an atomic and a blocking mask (`atomic ?
GFP_ATOMIC : GFP_KERNEL`) is taken as the author's choice per path and not
reported; one chosen by `in_interrupt()`/`gfp_any()` is reported only where
that test picks the blocking mask (gfp_any() under spin_lock_irqsave()). A
lock taken only for other masks (`if (gfp == GFP_ATOMIC) spin_lock(...)` with
a GFP_KERNEL caller) is not followed, nor is a callee that takes the very lock
its caller would hold (that caller cannot hold it there). One-time set-up
(`if (!dev->stats) dev->stats = dma_alloc_coherent(...)`, or code after `if
(priv->flags & INIT_DONE) return 0;` that sets the flag) is not followed from
an atomic caller: the first call, on the driver's set-up path, does the work.
That holds only where such a path exists: set-up that every caller, up to 8
calls up, enters under a lock or from an atomic entry point (a busy flag tested
in what only the irq handler calls, a cache that only the transmit path fills)
makes its first call atomically, and is reported. Under the function's own lock
it is still reported. Lock wrappers in other
files are not followed. Sleeping calls that are not allocations (a mutex,
`msleep`) are not this rule's.

## Options
The chain from the lock or entry point to the call is at most 3 calls long, or
4 when every step is certain (the lock held on every path or the entry point
armed, every call direct to one definition) and every branch on the path is
proven (level `error`), for a call no shorter chain reports: a longer one does
not convince a maintainer, and its conditions are rarely all met together. At
most 32 chains are checked per allocation.

## References
Documentation/core-api/memory-allocation.rst; kernel/sched/core.c `__might_resched()`;
DSAC (Bai et al., USENIX ATC 2018) for path validation with an SMT solver.
"""

from __future__ import annotations

import hashlib
import os

from ..analyze import INTERNAL_ERRORS, Analysis, AllocationSite
from ..analyze.context import MAY_HOPS, context_kinds, in_one_time_setup, witness_chains
from ..analyze.entries import early_boot_only, never_run
from ..analyze.gfpflow import context_decides, context_test_values, region_skipped_for
from ..analyze.paths import STATE, UNDECIDED, PathValidator, Verdict
from ..analyze.witness import Witness
from ..exprs import ir_from_text
from ..kernel.tables import contexts
from .base import LEVEL_RANK, Finding, base_properties, context_witness, with_gfp_flow

ID = "AS002"
NAME = "sleeping-allocation-in-atomic-context"
LEVEL = "error"
PRECISION = "high"
SEVERITY = "error"  # GitHub's problem.severity: error | warning | recommendation
TAGS = ("correctness", "kernel", "memory-allocation", "atomic-context", "locking")
SHORT = "Sleeping allocation in atomic context"
FIX = ("move the allocation before the lock is taken (or out of the callback into a work item), "
       "or use GFP_ATOMIC/GFP_NOWAIT and handle failure")
MAX_CHAINS_PER_LOCATION = 4  # witnesses checked per reported call (shortest first)
MAX_OTHER_SITES = 2  # other allocations of the same file named in a call's finding


def _fix_location(w: Witness, s: AllocationSite) -> tuple:
    """Where a finding with this witness is reported: the origin's call, or the allocation."""
    if w.calls:
        node, call = w.calls[0]
        return (node, call.byte)
    return (s.node, s.site.byte)


def check(analysis: Analysis, options) -> list[Finding]:
    validator = PathValidator(analysis.program, analysis.contexts.oracle)
    best: list[Finding] = []
    for _, candidates in sorted(_candidates_by_location(analysis).items()):
        chosen: Finding | None = None
        for tried, (_, s, judged, w) in enumerate(sorted(candidates, key=lambda c: c[0])):
            if tried >= MAX_CHAINS_PER_LOCATION or (chosen is not None and chosen.level == "error"):
                break  # a proven witness (or enough tries) for this call already
            if w.hops > MAY_HOPS and chosen is not None:
                break  # a fourth call only for a call no shorter witness reports
            try:
                finding = _finding(analysis, validator, s, judged, w)
            except INTERNAL_ERRORS as err:
                # One witness the path validation cannot handle must not end the scan;
                # the next witness of the call is tried, and the warning says what was lost.
                if os.environ.get("ALLOCSCAN_STRICT") == "1":
                    raise
                analysis.warnings.append(f"{s.path}:{s.site.line}: internal error validating a witness of "
                                         f"'{s.site.callee or s.site.field}' ({type(err).__name__}: {err}); "
                                         f"witness skipped")
                continue
            if finding is None:
                continue
            finding.choice = _choice(s, w)
            if chosen is None or (-LEVEL_RANK[finding.level], finding.choice) < (-LEVEL_RANK[chosen.level], chosen.choice):
                chosen = finding
        if chosen is not None:
            best.append(chosen)  # one per call and allocating file
            best.extend(_other_allocations(analysis, validator, candidates, chosen))
    analysis.stats["paths_checked"] = validator.checked
    analysis.stats["paths_dropped"] = validator.dropped
    analysis.stats["paths_over_limit"] = validator.over_limit
    return _one_per_line(best)


def _choice(s: AllocationSite, w: Witness) -> tuple:
    """How a finding ranks among those of the same call (the one shown first): a witness
    of at most MAY_HOPS calls, then one ending at an allocator's call, then the shortest
    (see _candidates_by_location)."""
    return (w.hops > MAY_HOPS, s.allocator is None, w.hops, s.path, s.site.line, s.site.col)


def _other_allocations(analysis: Analysis, validator: PathValidator, candidates: list,
                       chosen: Finding) -> list[Finding]:
    """Other sleeping allocations of the chosen one's file that the same call reaches
    (nicstar's timer reaching two allocations of dequeue_rx()), each by its first
    witness that holds, up to MAX_OTHER_SITES: _one_per_line names them in the finding,
    as it names those of other files, so that the fix of the call covers them all."""
    shown = {(chosen.site.path, chosen.site.site.byte)}
    out: list[Finding] = []
    tries = 0
    for _, s, judged, w in sorted(candidates, key=lambda c: c[0]):
        if (s.path, s.site.byte) in shown or w.hops > MAY_HOPS:
            continue
        if tries >= MAX_CHAINS_PER_LOCATION * MAX_OTHER_SITES or len(out) >= MAX_OTHER_SITES:
            break
        tries += 1
        try:
            finding = _finding(analysis, validator, s, judged, w)
        except INTERNAL_ERRORS:
            continue  # the shown finding stands; this one is only named in it
        if finding is None:
            continue
        finding.choice = _choice(s, w)
        shown.add((s.path, s.site.byte))
        out.append(finding)
    return out


def _one_per_line(findings: list[Finding]) -> list[Finding]:
    """One finding per reported line: the most severe, then the shortest witness. The
    sleeping allocations in other files that the same call also reaches are named in it
    (message, related locations, `alsoReaches`): the maintainer who rules out the shown
    witness's branch (a cached buffer that is never shared) still sees the call's other
    way to sleep (an unconditional allocation one call further)."""
    by_line: dict[tuple[str, int], list[Finding]] = {}
    for f in findings:
        by_line.setdefault((f.path, f.line), []).append(f)
    kept = []
    for group in by_line.values():
        if not all(f.choice[0] for f in group):
            group = [f for f in group if not f.choice[0]]  # a fourth call only where no shorter chain reports
        group.sort(key=lambda f: (-LEVEL_RANK[f.level], f.choice))
        first = group[0]
        also = []
        for other in group[1:]:
            alloc = other.witness[-1]
            first.related.append(alloc)
            s = other.site
            also.append(f"{alloc.path}:{alloc.line}")
            first.message += (f"; it also reaches '{s.site.callee or s.site.field}' with {s.gfp_text} "
                              f"({alloc.path}:{alloc.line} in {s.function.name}())")
        if also:
            first.properties["alsoReaches"] = also
        kept.append(first)
    return kept


def _candidates_by_location(analysis: Analysis) -> dict[tuple, list]:
    """Every (site, witness) pair, grouped by where its finding would be reported and the
    file of the allocation, each with a key that orders them: those ending at an
    allocator's call first, then shortest first, then by the allocation's place and the
    calls on the way. Which MAX_CHAINS_PER_LOCATION are tried, and which of equal
    witnesses is shown, depends on the code alone, not on the order the sites and the
    call graph's edges were built in, nor on whether the files are analysed together or
    one by one (an incremental scan)."""
    groups: dict[tuple, list] = {}
    for s in analysis.reportable_sites():
        if s.context is None:
            continue
        judged = _blocking(analysis, s)
        if judged is None:
            continue
        for w in witness_chains(analysis.contexts, s.node, s.site):
            # A witness of at most MAY_HOPS calls first (a fourth call convinces less than
            # the gfp_t call three calls down: toneport's usb_control_msg_send(GFP_KERNEL),
            # not the kmalloc() inside it); then one that ends at an allocator's call before
            # one that ends at a call taking a gfp_t (whose allocation lies further on, maybe
            # only in some configs: netdev_hold()); then the shortest.
            key = (w.hops > MAY_HOPS, s.allocator is None, w.hops, s.path, s.site.byte,
                   tuple((node, call.byte) for node, call in w.calls), w.reason)
            groups.setdefault((_fix_location(w, s), s.path), []).append((key, s, judged, w))
    return groups


class _Blocking:
    """What makes the site's call sleep, independent of the witness."""

    def __init__(self, blocking, culprit: str, conditional: bool, via_caller: bool, sleeps_always: bool):
        self.blocking = blocking
        self.culprit = culprit
        self.conditional = conditional
        self.via_caller = via_caller
        self.sleeps_always = sleeps_always


def _blocking(analysis: Analysis, s: AllocationSite) -> _Blocking | None:
    gfp = analysis.kernel.gfp
    locked_here = bool(s.site.locks[0] or s.site.locks[1])
    if s.allocator is not None and s.allocator.sleeps:
        return _Blocking(s.gfp or [], f"'{s.site.callee}' always sleeps", False, False, True)
    if not s.gfp:
        return None
    blocking = [g for g in s.gfp if gfp.allows_blocking(g.mask) and not _from_dead_code(analysis, g)]
    if locked_here and not s.site.locks[0] and len(s.site.locks[1]) == 1 and s.site.lock_conds:
        # the one lock is taken only under a condition on the mask itself
        mask_var = ir_from_text(s.gfp_text)
        if mask_var[0] == "id":
            blocking = [g for g in blocking if not region_skipped_for(g.mask, s.site.lock_conds, mask_var[1], gfp)]
    if not blocking:
        return None
    # A gfp passed in by a caller only matters here when this function itself holds
    # the lock; otherwise the caller's own call is reported.
    local = [g for g in blocking if g.origin is None]
    if not locked_here and not local:
        return None
    if not locked_here:
        blocking = local
    if any(not gfp.allows_blocking(g.mask) for g in s.gfp) and \
            all(g.conditional and not g.by_context and g.origin is None for g in blocking):
        return None  # `atomic ? GFP_ATOMIC : GFP_KERNEL`: the author chose per path
    conditional = any(g.conditional for g in blocking) or len(blocking) < len(s.gfp)
    via_caller = all(g.origin is not None for g in blocking)
    names = " or ".join(dict.fromkeys(g.text for g in blocking))
    what = f"'{s.site.callee or s.site.field}'" + ("" if s.allocator else " (takes a gfp_t)")
    culprit = f"{what} called with {names}, which may sleep"
    if via_caller:
        origin = blocking[0].origin
        culprit += f" (passed by {origin[2]}() at line {origin[1]})"
    return _Blocking(blocking, culprit, conditional, via_caller, False)


def _from_dead_code(analysis: Analysis, g) -> bool:
    """Is a gfp passed in by a function nothing in the tree runs (see never_run)?"""
    if g.origin is None:
        return False
    path, line, name = g.origin
    program = analysis.program
    return any(program.functions[n].file.path == path and never_run(program, n)
               for n in program.resolve(path, name, line))


def _finding(analysis: Analysis, validator: PathValidator, s: AllocationSite, b: _Blocking,
             w: Witness) -> Finding | None:
    locked_here = bool(s.site.locks[0] or s.site.locks[1])
    if not locked_here and w.hops > 0 and s.function.once and in_one_time_setup(analysis.contexts, s.node, s.site):
        return None  # one-time set-up reached from an atomic caller: done on the set-up path
    if not b.sleeps_always:
        kinds = context_kinds(w)
        outer = analysis.contexts.caller_context(s.node, s.site) if locked_here else None
        if outer is not None:  # a handler in softirq that also takes a lock: both count
            kinds |= context_kinds(outer)
        if all(g.by_context and any(context_decides(g.by_context, k) for k in kinds) for g in b.blocking):
            return None  # gfp_any()/in_interrupt() picks GFP_ATOMIC in this context: correct here
    if w.origin and early_boot_only(analysis.program, contexts(), w.origin):
        return None  # start_kernel() before rest_init(): nothing sleeps there yet
    verdict = _validate(validator, s, w)
    if not verdict.feasible:
        return None
    if verdict.evidence == STATE and _state_inside_hub(analysis, s, w, verdict.deepest_state_frame):
        analysis.stats["paths_state_in_hub"] = analysis.stats.get("paths_state_in_hub", 0) + 1
        return None
    level = "error" if w.grade == "must" else "warning"
    if verdict.evidence == UNDECIDED and level == "error":
        level = "warning"
    if verdict.evidence == STATE or b.conditional:
        level = "note"
    if b.via_caller and level == "error":
        level = "warning"
    if w.hops > MAY_HOPS and level != "error":
        return None  # a fourth call convinces only with every step and branch proven
    props = base_properties(s, analysis.kernel.release)
    props["atomicContext"] = w.reason
    props["pathEvidence"] = verdict.evidence
    if verdict.reason:
        props["pathCondition"] = verdict.reason
    witness = context_witness(s, w)
    if b.blocking:
        witness = with_gfp_flow(witness, b.blocking[0])
    msg = f"{b.culprit}, but {w.reason}"
    if not w.calls:
        return Finding.at_site(ID, s, level, msg, props, witness)
    # Report where the fix goes: the call, in the function that holds the lock or is the
    # entry point, that leads to the allocation; the allocation is a related location.
    origin_node, call = w.calls[0]
    ref = analysis.program.functions[origin_node]
    callee = call.callee or call.field
    msg = (f"{ref.fn.name}() calls {callee}(), which reaches {b.culprit} "
           f"({s.path}:{s.site.line} in {s.function.name}()), but {w.reason}")
    finding = Finding.at_site(ID, s, level, msg, props, witness)
    finding.path, finding.line, finding.col, finding.end_col = ref.path, call.line, call.col, call.end_col
    finding.function = ref.fn.name
    finding.fingerprint = _call_fingerprint(ref, call)
    finding.related = [witness[-1]]
    return finding


HUB_CALLER_FILES = 3  # an API called from more files than this is a hub: its state is not the caller's


def _state_inside_hub(analysis: Analysis, s: AllocationSite, w: Witness, frame: int) -> bool:
    """Does state the allocation depends on sit inside an API that many files call
    (hid_hw_request(), spi_async(), pcim_iomap_table())? `frame` is the deepest function
    on the path whose condition reads state. The API's callers neither set nor see
    that state (the device's transport, a mode bit, a resource found or not): such a
    path does not convince a caller's maintainer, and a hub would turn it into one
    report per caller."""
    program = analysis.program
    nodes = [node for node, _ in w.calls] + [s.node]
    origin_path = program.functions[nodes[0]].path
    for i, node in enumerate(nodes[1:], 1):
        if i > frame:
            return False
        if program.functions[node].path == origin_path:
            continue
        files = {program.functions[p].path for p in program.graph.predecessors(node)}
        if len(files) > HUB_CALLER_FILES:
            return True
    return False


def _validate(validator: PathValidator, s: AllocationSite, w: Witness) -> Verdict:
    literal = s.allocator.no_alloc_if_literal if s.allocator is not None else None
    cond = ("literal", literal) if literal is not None else None
    calls = list(w.calls)
    extra = ()
    if not calls and (s.site.locks[1] and not s.site.locks[0]):
        extra = s.site.lock_conds
    elif calls and (calls[0][1].locks[1] and not calls[0][1].locks[0]):
        extra = calls[0][1].lock_conds
    # An entry point's context fixes what in_task() and the like return on the path; a
    # lock does not tell whether its holder runs in a task or in a softirq
    values = context_test_values(context_kinds(w)) if w.entry is not None else {}
    return validator.check(calls, s.node, s.site, cond, extra, values)


def _call_fingerprint(ref, call) -> str:
    """Line-independent: the file, the calling function, the callee and which of the
    function's calls to that callee it is. The call is found in the function's list
    by where it is, not by identity: the list the witness took it from may have been
    let go and unpacked again since (facts._UNPACKED), its calls new objects."""
    name = call.callee or "->" + call.field
    where = (call.byte, call.line, call.col)
    ordinal = 0
    for c in ref.fn.calls:
        if c is call or (c.byte, c.line, c.col) == where:
            break
        if (c.callee or "->" + c.field) == name:
            ordinal += 1
    key = f"{ID}\0{ref.path}\0{ref.fn.name}\0{name}\0{ordinal}\0via"
    return hashlib.sha1(key.encode()).hexdigest()[:20]
