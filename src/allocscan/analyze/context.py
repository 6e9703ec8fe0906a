"""Context: where a call may run in atomic context, and why (with a witness).

Sources of atomicity are callback registrations from the context table
(`request_irq` handlers, timers, tasklets, NAPI poll, URB completions,
`call_rcu`, `irq_work`, atomic ops fields such as `ndo_start_xmit`) and call
sites inside a lock/atomic region (from `lockflow`). A fixed point over the
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

from ..facts import CALLS_REGISTRAR, HAS_INDIRECT_CALL, HAS_LOCKED_CALL, CallSite, FunctionFacts
from ..kernel.tables import allocators, contexts
from ..link import ALLOCATES, Program
from .branches import BranchOracle, ConstantLookup, Signature
from .witness import ACQUIRE, CALL, ENTRY, Step

MAX_HOPS = 3  # calls followed from a lock or entry point; longer chains do not convince a maintainer
MAX_VARIANTS = 4  # signatures (constant arguments) kept apart per function; more merge into "unknown"


@dataclass(frozen=True)
class Witness:
    grade: str  # "must" | "may"
    reason: str  # the atomicContext text, e.g. "hardirq: foo_irq (request_irq)"
    steps: tuple[Step, ...]  # an ENTRY or the ACQUIREs held, then CALLs
    hops: int = 0
    # For a lock: the contexts of the atomic entries of the function that takes it
    # ("softirq" for isotp_rcv, registered with can_rx_register): the lock is taken there too.
    holder_contexts: tuple[str, ...] = ()

    @property
    def entry(self) -> Step | None:
        """The entry point the witness starts from, when it is one (not a lock)."""
        return self.steps[0] if self.steps and self.steps[0].kind == ENTRY else None


def context_kinds(w: Witness) -> set[str]:
    """What kind of atomic context a witness proves: "hardirq", "softirq", or per lock
    held "bh" (spin_lock_bh, local_bh_disable), "irq" (spin_lock_irqsave, local_irq_*)
    or "preempt" (spin_lock, preempt_disable, rcu_read_lock)."""
    entry = w.entry
    if entry is not None:
        cls = entry.context_class
        return {"hardirq"} if cls in ("hardirq", "nmi") else {"softirq"} if cls == "softirq" else set()
    kinds = {c.partition(":")[0] for c in w.holder_contexts if c.startswith(("hardirq", "softirq"))}
    acquired = [s for s in w.steps if s.kind == ACQUIRE]
    for st in acquired:
        kinds.add("bh" if "bh" in st.effects else "irq" if "irq" in st.effects else "preempt")
    if not acquired:
        kinds.add("preempt")
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
            holder = tuple(e.steps[0].context for e in self.entries.get(fn_node, ()))
            return Witness(grade, f"{held[0]} held in {ref.fn.name}()" + ("" if must else " on some paths"), steps,
                           holder_contexts=holder)
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
    graph = program.graph
    for d in range(1, MAX_HOPS + 1):
        nxt = []
        for node in frontier:
            for pred in graph.predecessors(node):
                if pred not in dist:
                    dist[pred] = d
                    nxt.append(pred)
        frontier = nxt
    return dist


def analyze_contexts(program: Program, constant: ConstantLookup) -> ContextAnalysis:
    result = ContextAnalysis(program)
    oracle = result.oracle = BranchOracle(program, constant)
    tables = contexts()
    _registrations(program, result, tables)
    _field_bindings(program, result, tables)
    distance = allocation_distance(program)

    # Seeds: entry points, and the callees of call sites inside a lock region.
    heap: list = []
    counter = 0

    def push(node: str, w: Witness, sig: Signature = ()) -> None:
        nonlocal counter
        counter += 1
        if len(result.variants.get(node, ())) >= MAX_VARIANTS:
            sig = ()
        heapq.heappush(heap, (0 if w.grade == "must" else 1, w.hops, counter, node, sig, w))

    for node, witnesses in result.entries.items():
        if distance.get(node, MAX_HOPS + 1) <= MAX_HOPS:
            for w in witnesses:
                push(node, w)
    for node in program.functions_with(HAS_LOCKED_CALL):
        ref = program.functions[node]
        if ref.fn.name in tables.quiet_functions:
            continue
        if not ref.fn.flags & HAS_INDIRECT_CALL and not _calls_near_allocation(program, ref, distance):
            continue  # nothing it calls leads to an allocation: do not unpack its body
        for site in ref.fn.calls:
            if site.locks[0] or site.locks[1]:
                w = result.site_context(node, site)
                _push_callees(program, oracle, node, (), ref, site, w, 1, push, distance)

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
        if w.hops >= MAX_HOPS:
            continue
        ref = program.functions[node]
        for site in ref.fn.calls:
            if site.locks[0] or site.locks[1]:
                continue  # locked sites were seeded with their own reason
            if sig and oracle.dead(node, sig, site):
                continue  # a branch the caller's constants rule out
            _push_callees(program, oracle, node, sig, ref, site, w, w.hops + 1, push, distance)
    return result


def in_one_time_setup(program: Program, node: str, site: CallSite) -> bool:
    """Is `site` inside one-time set-up of `node`: code that runs only while some field
    or global is unset, where the function (or what it calls there) then sets it?

    fnic's vnic_dev_stats_dump() allocates `if (!vdev->stats)` and stores the result
    there; tcp_alloc_md5sig_pool() runs its allocator while tcp_md5sig_pool_populated
    is false, and the allocator sets it. The first call makes the state; the driver
    makes that call on its set-up path, and an atomic caller finds the work done."""
    ref = program.functions[node]
    for start, end, state in ref.fn.once:
        if start <= site.byte < end and _sets_state(program, ref, start, end, state):
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


def _push_callees(program: Program, oracle: BranchOracle, node: str, sig: Signature, ref, site: CallSite,
                  w: Witness, hops: int, push, distance: dict[str, int]) -> None:
    held_by_lock = w.steps and w.steps[0].kind == ACQUIRE
    if hops > 1 and ref.fn.once and in_one_time_setup(program, node, site):
        return  # one-time set-up: an atomic caller finds it done (see in_one_time_setup)
    quiet = contexts().quiet_functions
    table = allocators()
    targets = program.targets(site, ref.path)
    # An ambiguous name (one definition per config) or a call through a pointer may go elsewhere.
    uncertain = len(targets) > 1 or not site.callee
    for target in targets:
        if distance.get(target, MAX_HOPS + 1) > MAX_HOPS - hops:
            continue  # no allocation within the calls left to follow
        callee = program.functions[target].fn.name
        if callee in quiet:
            continue  # boot/halt paths: not atomic in the sense that matters to the allocator
        if callee in table:
            continue  # an allocator's insides: the call to it is the report
        if held_by_lock and program.functions[target].fn.lock_releases:
            # The callee drops the caller's lock itself (unlock; allocate; relock):
            # what it does after that does not run under the lock.
            continue
        if not program.functions[target].fn.call_count:
            continue  # it calls nothing: no allocation runs in it
        grade = "may" if uncertain else w.grade
        step = Step(CALL, f"{ref.fn.name}() calls {callee}()", ref.path, site.line, site.col,
                    function=ref.fn.name, callee=callee)
        push(target, Witness(grade, w.reason, w.steps + (step,), hops, w.holder_contexts),
             oracle.signature(node, sig, site, target))


def _function_arg(program: Program, path: str, ir) -> str | None:
    if ir is None:
        return None
    if ir[0] == "addr":
        ir = ir[1]
    if ir[0] != "id":
        return None
    name = ir[1]
    candidates = program.by_name.get(name, ())
    local = [n for n in candidates if n.startswith(f"{path}::")]
    if local:
        return local[0]
    glob = [n for n in candidates if "::" not in n]
    return glob[0] if len(glob) == 1 else None


def _registrations(program: Program, result: ContextAnalysis, tables) -> None:
    registrars: dict[int, list[FunctionFacts]] = {}  # id(file) -> its functions that call a registrar
    for ff, fn in program.definitions_with(CALLS_REGISTRAR):
        registrars.setdefault(id(ff), []).append(fn)
    for ff in program.files:
        sites = [(None, s) for s in ff.top_calls] + [
            (fn, s) for fn in registrars.get(id(ff), ()) for s in fn.calls]
        for fn, site in sites:
            regs = tables.registrations.get(site.callee)
            if not regs:
                continue
            args = site.arguments()
            for reg in regs:
                if reg.arg >= len(args):
                    continue
                target = _function_arg(program, ff.path, args[reg.arg])
                if target is None:
                    continue
                handler = program.functions[target].fn.name
                if reg.context == "process":
                    kind = "threaded irq handler" if "irq" in site.callee else (
                        "kthread" if "kthread" in site.callee else "workqueue")
                    result.process_entries[target] = f"{kind} ({site.callee})"
                    continue
                reason = f"{reg.context}: {handler} ({site.callee})"
                step = Step(ENTRY, f"{handler}() registered with {site.callee}(): runs in {reg.context}",
                            ff.path, site.line, site.col, function=handler, callee=site.callee, context=reg.context)
                result.entries.setdefault(target, []).append(Witness("must", reason, (step,), 0))


def _field_bindings(program: Program, result: ContextAnalysis, tables) -> None:
    by_field: dict[str, list] = {}
    for fc in tables.fields:
        by_field.setdefault(fc.field, []).append(fc)
    for ff in program.files:
        for b in ff.bindings:
            specs = by_field.get(b.field)
            if not specs:
                continue
            spec = next((s for s in specs if s.struct == b.struct_type), None)
            if spec is None and not b.struct_type and b.field.startswith("ndo_"):
                spec = specs[0]  # ndo_* names are distinctive enough without the type
            if spec is None:
                continue
            target = _function_arg(program, ff.path, ("id", b.function))
            if target is None:
                continue
            handler = program.functions[target].fn.name
            how = f".{b.field} = {b.function}" if not b.in_function else f"->{b.field} = {b.function} in {b.in_function}()"
            reason = f"{spec.context}: {handler} ({spec.struct or 'ops'}.{b.field})"
            step = Step(ENTRY, f"{handler}() bound as {spec.struct}.{b.field} ({how}): runs in {spec.context}",
                        ff.path, b.line, function=handler, callee=f"{spec.struct or 'ops'}.{b.field}",
                        context=spec.context)
            result.entries.setdefault(target, []).append(Witness("must", reason, (step,), 0))

