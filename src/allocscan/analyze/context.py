"""Context: where a call may run in atomic context, and why (with a witness).

Sources of atomicity are the entry points (`entries`: irq handlers, NAPI
poll, RCU callbacks, atomic ops fields such as `ndo_start_xmit`, and timers,
tasklets, irq_work, URB completions where they are armed) and call sites
inside a lock/atomic region (from `lockflow`). A fixed point over the
networkx call graph then marks every function reachable from them, keeping
one shortest witness per function. Work items, kthreads and threaded irq
handlers are process context: nothing flows into them from registration.

Only functions within the remaining hops of an allocation are visited
(allocation_distance(): a reverse breadth-first search from every function
that allocates or passes a gfp), so the walk stays small on a whole tree.

Grades: "must" when the chain is an entry point or locks held on every path,
"may" when some step holds a lock only on some path or goes through an
ambiguous or indirect call.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from ..exprs import split_args
from ..facts import HAS_INDIRECT_CALL, HAS_LOCKED_CALL, CallSite
from ..kernel.tables import allocators, contexts, signature_tables
from ..link import ALLOCATES, Program
from ..macrocalls import through
from .branches import BranchOracle, Signature
from .entries import find_entries
from .preproc import CompiledCode
from .witness import ACQUIRE, CALL, Step, Witness

# Calls followed from a lock or entry point: a chain of four calls is followed only when
# every step is certain (the lock held on every path or the entry point armed, each call
# direct to one definition); one with a call through a pointer, an ambiguous name or a
# lock held on some paths only stops at three. Longer chains do not convince a maintainer.
MAX_HOPS = 4
MAY_HOPS = 3
MAX_VARIANTS = 4  # signatures (constant arguments) kept apart per function; more merge into "unknown"
# Callers followed up from one-time set-up to find where it may sleep (reached_sleepable):
# a transmit path is often five calls deep below ndo_start_xmit (qeth's flush under
# __qeth_xmit), and a chain longer than this counts as reaching process context.
SLEEPABLE_HOPS = 8
# the effects of a held region that are context kinds of their own (context_kinds)
_EFFECT_KINDS = ("preempt", "irq", "bh", "rcu")


def context_kinds(w: Witness) -> set[str]:
    """What kind of atomic context a witness proves: "hardirq", "softirq", or per lock
    held each effect of its region: "bh" (spin_lock_bh, local_bh_disable), "irq"
    (spin_lock_irqsave, local_irq_*), "preempt" (spin_lock, preempt_disable), "rcu"
    (rcu_read_lock)."""
    entry = w.entry
    if entry is not None:
        return entry_context_kinds(entry.context)
    kinds = {k for c in w.holder_contexts for k in entry_context_kinds(c)}
    acquired = [s for s in w.steps if s.kind == ACQUIRE]
    for st in acquired:
        # every effect of the region holds at once: spin_lock_irqsave() is "preempt" and
        # "irq"; rcu_read_lock() is "rcu" alone (under PREEMPT_RCU the preempt count
        # stays 0, so in_atomic() answers 0 there), local_irq_save() "irq" alone
        kinds.update(e for e in st.effects if e in _EFFECT_KINDS)
        if not any(e in _EFFECT_KINDS for e in st.effects):
            kinds.add("preempt")
    if not acquired:
        kinds.add("preempt")
    return kinds


def entry_context_kinds(context: str) -> set[str]:
    """The kinds of atomic context an entry point's context is: its class ("hardirq" for
    nmi too; "bh", the kernel calls it from a task with bottom halves off; "rcu", inside
    an RCU read-side section), and what the kernel holds around the call
    (signatures.toml irq_contexts' effects: "lock:uart-port" is a task holding the
    port's spinlock with interrupts off, "preempt" and "irq"). Process context is none."""
    cls = context.partition(":")[0]
    kinds = {"hardirq"} if cls in ("hardirq", "nmi") else {cls} if cls in ("softirq", "bh", "rcu") else set()
    irq_contexts = signature_tables().irq_contexts
    held = irq_contexts.get(context) or irq_contexts.get(cls)
    if held is not None:
        kinds.update(e for e in held.effects if e in _EFFECT_KINDS)
    return kinds


@dataclass
class ContextAnalysis:
    program: Program
    atomic: dict[str, Witness] = field(default_factory=dict)  # function node -> why it may run atomically
    process_entries: dict[str, str] = field(default_factory=dict)  # node -> "workqueue (INIT_WORK)" ...
    entries: dict[str, list[Witness]] = field(default_factory=dict)
    # node -> [(signature, witness)], best first: the constants the witness's last call
    # passed, which may make some of the function's calls unreachable on that path.
    variants: dict[str, list[tuple[Signature, Witness]]] = field(default_factory=dict)
    oracle: BranchOracle | None = None
    compiled: CompiledCode | None = None  # which #if branches no build compiles
    # (node, hops) -> may it be reached without a lock held or an atomic entry (reached_sleepable);
    # (node, -1 - byte): the same for the callers that can reach the call at that byte
    sleepable: dict[tuple[str, int], bool] = field(default_factory=dict)
    # for a cone (analyze_contexts(only=...)): the functions the fixed point may visit, and
    # those whose entry points were looked for; None after a whole-program analysis
    visited: tuple[int, int] | None = None

    def site_context(self, fn_node: str, site: CallSite) -> Witness | None:
        """Why this call site may run in atomic context, or None."""
        ref = self.program.functions[fn_node]
        must, may = site.locks
        if must or may:
            grade = "must" if must else "may"
            held = must or may
            effects = contexts().effects
            steps = tuple(Step(ACQUIRE, f"{ref.fn.name}: {desc} - atomic from here", ref.path, line, col,
                               function=ref.fn.name, callee=primitive, effects=effects.get(primitive, ("preempt",)))
                          for desc, line, col, primitive in site.lock_sites if desc in held)
            holder = tuple(e.entry.context for e in self.entries.get(fn_node, ()))
            return Witness(grade, f"{held[0]} held in {ref.fn.name}()" + ("" if must else " on some paths"), steps,
                           holder_contexts=holder, origin=fn_node)
        return self.caller_context(fn_node, site)

    def caller_context(self, fn_node: str, site: CallSite) -> Witness | None:
        """Why the function holding `site` may run atomically (entry point or a caller's
        lock), ignoring locks the function takes itself; None if it does not."""
        for sig, w in self.variants.get(fn_node, ()):
            if self.oracle is None or not self.oracle.dead(fn_node, sig, site):
                return w
        return None


def allocation_distance(program: Program) -> dict[str, int]:
    """node -> the fewest calls from it to a function that allocates (or passes a gfp),
    for the nodes within MAX_HOPS. An atomic context is carried only into these: a
    function farther from every allocation than the hops left cannot lead to a
    report, and most callees under a lock (list_add, wake_up, ...) are such."""
    dist: dict[str, int] = {}
    frontier = []
    for node in program.functions_with(ALLOCATES):
        dist[node] = 0
        frontier.append(node)
    callers = program.graph._pred  # (the adjacency dict: predecessors() or .pred per node cost more than the walk)
    for d in range(1, MAX_HOPS + 1):
        nxt = []
        for node in frontier:
            for pred in callers[node]:
                if pred not in dist:
                    dist[pred] = d
                    nxt.append(pred)
        frontier = nxt
    return dist


def callers_within(program: Program, nodes: set[str], hops: int) -> set[str]:
    """`nodes` and every function that reaches one of them in at most `hops` calls."""
    found = set(nodes)
    frontier = list(nodes)
    callers = program.graph._pred
    for _ in range(hops):
        nxt = []
        for node in frontier:
            for pred in callers[node]:
                if pred not in found:
                    found.add(pred)
                    nxt.append(pred)
        frontier = nxt
    return found


def analyze_contexts(program: Program, oracle: BranchOracle, only: set[str] | None = None) -> ContextAnalysis:
    """`oracle`: the value analysis' branch oracle (ValueAnalysis.oracle). `only`, when
    given, are the functions whose sites will be asked about (an incremental scan's
    cone): the fixed point then runs over the functions within MAX_HOPS calls above
    them, and what it finds for those is what a whole-program run finds. A witness
    reaching one of `only` passes through such functions alone (it is at most MAX_HOPS
    calls long), and the order in which they are settled, which decides the witness
    kept and the MAX_VARIANTS cut, is the whole run's with the other functions left out
    (tests/test_context.py checks it against a whole-program run). Entry points are
    found for those functions, not for the whole program; of the callers
    reached_sleepable() walks up through from their one-time set-up (SLEEPABLE_HOPS),
    only whether they are process entries, and atomic ones where nothing calls them."""
    result = ContextAnalysis(program)
    result.oracle = oracle
    compiled = result.compiled = CompiledCode(program)
    tables = contexts()
    within = entered = set_up_callers = None
    if only is not None:
        within = callers_within(program, only, MAX_HOPS)
        # whose entries are asked about: those of `within`, and of the callers that
        # reached_sleepable() walks up through from one-time set-up there. Of these it
        # asks whether they are process entries, and whether one nothing calls is an
        # atomic entry (a static defined twice may have edges but no call sites to it)
        once = {node for node in within if program.functions[node].fn.once}
        set_up_callers = callers_within(program, once, SLEEPABLE_HOPS)
        variants = {node for found in program.static_variants.values() for _, node in found}
        callers = program.graph._pred
        entered = within | {node for node in set_up_callers if node in variants or not callers[node]}
        result.visited = (len(within), len(entered))
    found = find_entries(program, tables, oracle, compiled, entered, set_up_callers)
    result.entries, result.process_entries = found.atomic, found.process
    distance = allocation_distance(program)

    # Seeds: entry points, and the callees of call sites inside a lock region.
    heap: list = []
    counter = 0

    def push(node: str, w: Witness, sig: Signature = ()) -> None:
        nonlocal counter
        if within is not None and node not in within:
            return  # no witness from here reaches a function asked about
        counter += 1
        if len(result.variants.get(node, ())) >= MAX_VARIANTS:
            sig = ()
        heapq.heappush(heap, (0 if w.grade == "must" else 1, w.hops, counter, node, sig, w))

    for node, witnesses in result.entries.items():
        if distance.get(node, MAX_HOPS + 1) <= MAX_HOPS:
            for w in witnesses:
                push(node, w)
    for node in program.functions_with(HAS_LOCKED_CALL):
        if within is not None and node not in within:
            continue
        ref = program.functions[node]
        if ref.fn.name in tables.quiet_functions:
            continue
        if not ref.fn.flags & HAS_INDIRECT_CALL and not _calls_near_allocation(program, ref, distance):
            continue  # nothing it calls leads to an allocation: do not unpack its body
        for site in ref.fn.calls:
            if (site.locks[0] or site.locks[1]) and not compiled.dead(ref.path, site.byte):
                w = result.site_context(node, site)
                _push_callees(result, oracle, node, (), ref, site, w, 1, push, distance)

    # Best-first fixed point: "must" before "may", fewer hops first; the first
    # witness a function receives is its best one. A function entered with
    # constant arguments is kept apart per signature (up to MAX_VARIANTS), so
    # that `f(dev, false)` does not reach what only `f(dev, true)` reaches.
    settled: set[tuple[str, Signature]] = set()
    while heap:
        _, _, _, node, sig, w = heapq.heappop(heap)
        if (node, sig) in settled or (node, ()) in settled:
            continue
        settled.add((node, sig))
        result.atomic.setdefault(node, w)
        result.variants.setdefault(node, []).append((sig, w))
        if w.hops >= MAX_HOPS or (w.hops >= MAY_HOPS and w.grade != "must"):
            continue
        ref = program.functions[node]
        for site in ref.fn.calls:
            # A locked site's callees were seeded with the lock as their reason, except
            # a callee that drops that lock (unlock; sleep; relock): what this function
            # itself runs in still reaches it (BusLogic's interrupt handler resets the
            # adapter, whose reset drops the host lock after allocating: hard irq all along).
            locked = bool(site.locks[0] or site.locks[1])
            if sig and oracle.dead(node, sig, site):
                continue  # a branch the caller's constants rule out
            if compiled.dead(ref.path, site.byte):
                continue  # an #if branch no build compiles
            _push_callees(result, oracle, node, sig, ref, site, w, w.hops + 1, push, distance,
                          lock_droppers_only=locked)
    return result


def in_one_time_setup(result: ContextAnalysis, node: str, site: CallSite) -> bool:
    """Is `site` inside one-time set-up of `node`: code that runs only while some field
    or global is unset, where the function (or what it calls there) then sets it, and
    which may run where it can sleep?

    fnic's vnic_dev_stats_dump() allocates `if (!vdev->stats)` and stores the result
    there; tcp_alloc_md5sig_pool() runs its allocator while tcp_md5sig_pool_populated
    is false, and the allocator sets it. The first call makes the state; the driver
    makes that call on its set-up path, and an atomic caller finds the work done.
    That holds only where such a path exists: a function every caller enters under a
    lock or from an atomic entry point makes its first call there (qeth's lazy
    `if (!buf->aob) buf->aob = kmem_cache_zalloc(...)` in the transmit path, vme_tsi148's
    bus resource name under the image lock, pch_uart's `if (priv->tx_dma_use) return;`
    busy flag in the irq handler): see reached_sleepable()."""
    program = result.program
    ref = program.functions[node]
    for start, end, state in ref.fn.once:
        if start <= site.byte < end and _sets_state(program, ref, start, end, state):
            return _set_up_may_sleep(result, node, site)
    return False


def _set_up_may_sleep(result: ContextAnalysis, node: str, site: CallSite) -> bool:
    """reached_sleepable() of `node`, counting only the callers that can reach `site`: one
    whose constant arguments rule the set-up's call out (selinux's sidtab_do_lookup(s, i,
    0) allocates its tree nodes only `if (alloc)`) does no set-up, wherever it runs."""
    key = (node, -1 - site.byte)  # apart from reached_sleepable()'s (node, hops >= 0) entries
    known = result.sleepable.get(key)
    if known is None:
        known = result.sleepable[key] = _reached_sleepable(result, node, SLEEPABLE_HOPS, site)
    return known


def reached_sleepable(result: ContextAnalysis, node: str, hops: int = SLEEPABLE_HOPS) -> bool:
    """May `node` run where it can sleep: is it a process-context entry point (a work
    item, a kthread), or called, up to `hops` calls up, by a function that is not an
    atomic entry point with no lock held at the call? A function nothing in the scan
    calls (an ops callback, an exported function) counts as such a caller, and so does
    a chain longer than `hops`: only a function proven to be entered atomically every
    way is not."""
    # Keyed by the hops left too: the answer depends on them, and must not depend on
    # which site asked first (an incremental scan asks for fewer). Each recursion has
    # one hop less, so a cycle of calls ends.
    key = (node, hops)
    known = result.sleepable.get(key)
    if known is None:
        known = result.sleepable[key] = _reached_sleepable(result, node, hops)
    return known


def _reached_sleepable(result: ContextAnalysis, node: str, hops: int, site: CallSite | None = None) -> bool:
    """reached_sleepable() uncached; with `site`, only the callers whose constant
    arguments do not rule that call of `node` out count."""
    if node in result.process_entries:
        return True
    callers = list(result.program.callers(node))
    if not callers:
        return node not in result.entries
    if hops <= 0:
        return True
    oracle = result.oracle if site is not None else None
    for pred, call in callers:
        if call.locks[0] or call.locks[1]:
            continue
        if oracle is not None and oracle.dead(node, oracle.signature(pred, (), call, node), site):
            continue  # its constants rule the set-up out
        if reached_sleepable(result, pred, hops - 1):
            return True
    return False


_UNSET_VALUES = ("NULL", "0", "false")


def _sets_state(program: Program, ref, start: int, end: int, state: tuple) -> bool:
    """Does the function, from `start` on, store a value into the state (gpi's
    `gpii->configured_irq = true;` just after its `if (!gpii->configured_irq)` block),
    or call, inside the region, a function that stores it?"""
    fields = {name for kind, name in state if kind == "field"}
    names = {name for kind, name in state if kind == "global"}
    for a in ref.fn.assignments:
        if a.byte >= start and a.value_text.strip() not in _UNSET_VALUES and \
                a.target in (fields if a.kind == "field" else names if a.kind == "global" else ()):
            return True
    for call in ref.fn.calls:
        if not start <= call.byte < end:
            continue
        for target in program.targets(call, ref.path):
            callee = program.functions[target].fn
            if not names.isdisjoint(callee.global_writes) or any(f in fields for _, f in callee.field_writes):
                return True
    return False


def _calls_near_allocation(program: Program, ref, distance: dict[str, int]) -> bool:
    """Does a direct callee of the function lie within MAX_HOPS - 1 calls of an allocation?"""
    for name in ref.fn.callees:
        for target in program.resolve(ref.path, name):
            if distance.get(target, MAX_HOPS + 1) < MAX_HOPS:
                return True
        if (ref.path, name) in program.static_variants:
            return True  # resolved per call site: let the sites decide
    return False


def _push_callees(result: ContextAnalysis, oracle: BranchOracle, node: str, sig: Signature, ref, site: CallSite,
                  w: Witness, hops: int, push, distance: dict[str, int], lock_droppers_only: bool = False) -> None:
    """Carry `w` from the function `node` into the targets of its call `site`.
    `lock_droppers_only`: into those that drop a held lock only (the site is locked,
    and the others were seeded with the lock)."""
    program = result.program
    held_by_lock = w.steps and w.steps[0].kind == ACQUIRE
    if hops > 1 and ref.fn.once and in_one_time_setup(result, node, site):
        return  # one-time set-up: an atomic caller finds it done (see in_one_time_setup)
    quiet = contexts().quiet_functions
    table = allocators()
    targets = program.targets(site, ref.path)
    # An ambiguous name (one definition per config) or a call through a pointer may go elsewhere.
    uncertain = len(targets) > 1 or not site.callee
    reach = MAX_HOPS if w.grade == "must" and not uncertain else MAY_HOPS
    for target in targets:
        if distance.get(target, MAX_HOPS + 1) > reach - hops:
            continue  # no allocation within the calls left to follow
        callee = program.functions[target].fn.name
        if callee in quiet:
            continue  # boot/halt paths: not atomic in the sense that matters to the allocator
        if callee in table:
            continue  # an allocator's insides: the call to it is the report
        if lock_droppers_only and not drops_held_lock(program.functions[target].fn):
            continue
        if held_by_lock and drops_held_lock(program.functions[target].fn):
            # The callee drops the caller's lock itself (unlock; allocate; relock):
            # what it does after that does not run under the lock.
            continue
        if not program.functions[target].fn.call_count:
            continue  # it calls nothing: no allocation runs in it
        grade = "may" if uncertain else w.grade
        step = Step(CALL, f"{ref.fn.name}() calls {callee}(){through(site)}", ref.path, site.line, site.col,
                    function=ref.fn.name, callee=callee)
        push(target, Witness(grade, w.reason, w.steps + (step,), hops, w.holder_contexts, w.calls + ((node, site),),
                             w.origin),
             oracle.signature(node, sig, site, target))


def drops_held_lock(fn) -> bool:
    """Does the function drop the lock its caller holds before it goes on: its lock walk
    releases a lock it never took (an unlock; allocate; relock helper), or it is one of
    contexts.toml's [drops_held_lock] (__xa_store() around a blocking allocation)?"""
    return bool(fn.lock_releases) or fn.name in contexts().drops_held_lock


MAX_CHAINS = 32  # witnesses enumerated per allocation site (shortest first)
MAX_PREDECESSORS = 400  # callers looked at per function when walking up from an allocation


def witness_chains(result: ContextAnalysis, node: str, site: CallSite) -> list[Witness]:
    """Every witness for `site` in `node` that the fixed point's atomic functions allow,
    shortest first: the function's own lock at the site; else the entry point it is,
    and each chain of at most MAX_HOPS calls from a lock held at a caller's call site
    or from an entry point. Each chain is a separate proof with its own origin; path
    validation decides which of them hold."""
    program = result.program
    if result.compiled is not None and result.compiled.dead(program.functions[node].path, site.byte):
        return []  # not compiled: no witness runs through it
    # __xa_store() and the like drop the lock they are called under around a blocking
    # allocation: no lock, the site's own or a caller's, makes what they allocate atomic
    drops = site.callee in contexts().drops_held_lock
    if site.locks[0] or site.locks[1]:
        w = result.site_context(node, site)
        return [w] if w is not None and not drops else []
    if program.functions[node].fn.name in allocators():
        return []  # an allocator's insides: its callers' calls are the reports
    out = list(result.entries.get(node, ()))
    frontier: list[tuple[str, tuple]] = [(node, ())]  # (function, calls from it to the allocation)
    for depth in range(1, MAX_HOPS + 1):
        nxt = []
        for target, suffix in frontier:
            for pred, call in _atomic_callers(result, target):
                if (pred == node and suffix) or any(c[0] == pred for c in suffix):
                    # recursion, followed once: the allocating function calling itself
                    # (bonding's bond_verify_device_path() allocates only in the frame that
                    # finds the device, never in the first its caller's test leaves)
                    continue
                chain = ((pred, call),) + suffix
                found = _origins(result, pred, call, chain, node, drops)
                out.extend(found if depth <= MAY_HOPS else [w for w in found if w.grade == "must"])
                if len(out) >= MAX_CHAINS:
                    return out
                # one-time set-up in a function on the way: an atomic caller finds it done
                if depth < MAX_HOPS and pred in result.variants and not (
                        program.functions[pred].fn.once and in_one_time_setup(result, pred, call)):
                    nxt.append((pred, chain))
        frontier = nxt
    return out


def _atomic_callers(result: ContextAnalysis, target: str):
    """(caller, call site) pairs of `target` whose caller is an entry point, atomic, or
    makes calls under a lock."""
    program = result.program
    tref = program.functions[target]
    if tref.fn.name in contexts().quiet_functions:
        return
    preds = [p for p in program.graph.predecessors(target)
             if p in result.variants or p in result.entries or program.functions[p].fn.flags & HAS_LOCKED_CALL]
    compiled = result.compiled
    for pred in preds[:MAX_PREDECESSORS]:
        ref = program.functions[pred]
        for site in ref.fn.calls:
            if site.callee and site.callee != tref.fn.name:
                continue
            if target in program.targets(site, ref.path) and not (compiled and compiled.dead(ref.path, site.byte)):
                yield pred, site


def _origins(result: ContextAnalysis, pred: str, call: CallSite, chain: tuple, alloc_node: str,
             site_drops: bool = False) -> list[Witness]:
    """The witness a chain gets from its first function: the lock held at its call, or
    the entry point that function is. `site_drops`: the allocating call drops the lock
    it runs under (contexts.toml [drops_held_lock]), so no lock is an origin."""
    program = result.program
    ref = program.functions[pred]
    entry = [_extend(program, e, chain) for e in result.entries.get(pred, ())[:1]]
    if call.locks[0] or call.locks[1]:
        if ref.fn.name in contexts().quiet_functions or site_drops:
            return []
        # a callee that drops the caller's lock itself: what follows does not run under
        # it, but still in what the caller runs in (an interrupt handler)
        callees = [c[0] for c in chain[1:]] + [alloc_node]
        if any(drops_held_lock(program.functions[n].fn) for n in callees):
            return entry
        if _callee_retakes_lock(program, chain, alloc_node):
            return []
        w = result.site_context(pred, call)
        return [_extend(program, w, chain)] if w is not None else []
    return entry


def _lock_argument(desc: str) -> str:
    """`spin_lock(&gl->gl_lockref.lock)` -> `&gl->gl_lockref.lock` (squashed)."""
    return "".join(desc.partition("(")[2].rpartition(")")[0].split())


def _split_base(expr: str) -> tuple[str, str]:
    """`&gl->gl_lockref.lock` -> ("gl", "->gl_lockref.lock")."""
    e = expr.lstrip("&(")
    i = 0
    while i < len(e) and (e[i].isalnum() or e[i] == "_"):
        i += 1
    return e[:i], e[i:]


def _callee_retakes_lock(program: Program, chain: tuple, alloc_node: str) -> bool:
    """Does the first callee take the very lock its caller holds at the call (the same
    field of the object the caller passes it)? Then the caller does not hold it there on
    any real path (that would deadlock): gfs2's do_xmote() calls finish_xmote(gl, ...),
    which takes gl->gl_lockref.lock itself."""
    pred, call = chain[0]
    callee = chain[1][0] if len(chain) > 1 else alloc_node
    held = [_split_base(_lock_argument(desc)) for desc, _, _, _ in call.lock_sites]
    if not held:
        return False
    fn = program.functions[callee].fn
    args = [a.strip() for a in split_args(call.args_text)]
    acquire = contexts().acquire
    for site in fn.calls:
        if site.callee not in acquire:
            continue
        base, path = _split_base("".join(site.args_text.split(",")[0].split()))
        index = next((i for i, (p, _) in enumerate(fn.params) if p == base), None)
        if index is None or index >= len(args) or not path:
            continue
        passed = "".join(args[index].split())
        if any(passed == hb and path == hp for hb, hp in held):
            return True
    return False


def _extend(program: Program, origin: Witness, chain: tuple) -> Witness:
    """The origin's witness followed by the chain's calls."""
    steps = list(origin.steps)
    grade = origin.grade
    for node, site in chain:
        ref = program.functions[node]
        if len(program.targets(site, ref.path)) > 1 or not site.callee:
            grade = "may"  # an ambiguous name or a call through a pointer may go elsewhere
        callee = site.callee or site.field
        steps.append(Step(CALL, f"{ref.fn.name}() calls {callee}(){through(site)}", ref.path, site.line, site.col,
                          function=ref.fn.name, callee=callee))
    return Witness(grade, origin.reason, tuple(steps), len(chain), origin.holder_contexts, tuple(chain),
                   origin.origin or chain[0][0])
