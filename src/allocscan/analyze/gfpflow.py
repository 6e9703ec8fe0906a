"""gfp: the flag sets an allocation or a gfp-taking call is made with.

A gfp expression evaluates to a list of alternatives, each a concrete mask
with where it came from. Constants (`GFP_KERNEL | __GFP_ZERO`, `#define`s of
them) give one alternative; a ternary gives both of its arms, marked
`conditional` (mutually exclusive paths: rules grade them down); a parameter
takes the alternatives of its callers' arguments, each remembering the call
that passed it; a local takes its assignments. Unknown is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..exprs import IDENT_RE, conjuncts, disjuncts, ir_from_text, render
from ..facts import HAS_BLOCKING_TEST
from ..kernel.gfp import GfpTable
from ..kernel.tables import gfp_tables
from ..link import Program
from .context import MAY_HOPS
from .values import Scope
from .witness import FLOW, Step

# Calls a parameter's mask is followed up through: as many as the context analysis
# follows down from a lock or entry point through any call (a longer chain does not convince).
MAX_DEPTH = MAY_HOPS
MAX_ALTERNATIVES = 8
_INTEGER_OPS = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "==": lambda a, b: int(a == b),
                "!=": lambda a, b: int(a != b)}


@dataclass(frozen=True, slots=True)
class GfpAlt:
    mask: int
    text: str  # as written at the origin, e.g. "GFP_KERNEL | __GFP_ZERO"
    origin: tuple[str, int, str] | None = None  # (path, line, function) of the call that passed it
    conditional: bool = False  # one arm of a ternary or of several assignments
    via: tuple[Step, ...] = ()  # the calls that pass it on as a parameter, from the origin down (FLOW steps)
    by_context: str = ""  # the context test that chose it at run time: "in_interrupt", "in_softirq" (gfp_any) ...
    # __GFP_NOWARN chosen for this call: written by the author (or in a #define of theirs)
    # or added by the allocator; not the bit a kernel's own GFP_NOWAIT carries (6.12)
    quiet: bool = False



@dataclass
class GfpAnalysis:
    program: Program
    table: GfpTable
    memo: dict = field(default_factory=dict)
    _active: set = field(default_factory=set)  # locals being evaluated (cycle guard)
    _bound: dict = field(default_factory=dict)  # local -> masks it stands for inside its own update
    _bound_set: set | None = None  # functions bound to a function pointer (lazily)

    def forget(self) -> None:
        """Drop the masks kept for the whole scan (see ValueAnalysis.forget)."""
        self.memo.clear()

    def alternatives(self, ir: tuple, scope: Scope, depth: int = 0) -> list[GfpAlt] | None:
        kind = ir[0]
        if kind == "num":
            return [GfpAlt(ir[1], str(ir[1]))]
        if kind == "id":
            return self._ident(ir[1], scope, depth)
        if kind == "bin" and ir[1] in ("|", "&", "^"):
            left = self.alternatives(ir[2], scope, depth)
            right = self.alternatives(ir[3], scope, depth)
            if left is None or right is None:
                return None
            out = []
            for a in left:
                for b in right:
                    mask = a.mask | b.mask if ir[1] == "|" else (a.mask & b.mask if ir[1] == "&" else a.mask ^ b.mask)
                    out.append(GfpAlt(mask, render(ir), a.origin or b.origin, a.conditional or b.conditional,
                                      a.via or b.via, a.by_context or b.by_context, a.quiet or b.quiet))
            return _dedupe(out)
        if kind == "un" and ir[1] == "~":
            inner = self.alternatives(ir[2], scope, depth)
            return None if inner is None else [replace(a, mask=(~a.mask) & 0xFFFFFFFF, text=render(ir)) for a in inner]
        if kind == "cast":
            return self.alternatives(ir[2], scope, depth)
        if kind == "cond":
            taken = self._decided(ir[1], scope)
            if taken is not None:  # every caller takes the same arm
                return self.alternatives(ir[2] if taken else ir[3], scope, depth)
            a = self.alternatives(ir[2], scope, depth)
            b = self.alternatives(ir[3], scope, depth)
            if a is None or b is None:
                return None
            by_context = ",".join(sorted(gfp_tables().context_tests & _callees(ir[1])))
            return _dedupe([replace(x, conditional=True, by_context=by_context or x.by_context) for x in a + b])
        if kind == "call" and ir[1] in gfp_tables().helpers:
            # a helper returning a mask chosen at run time: each mask, conditional when
            # there are several, with the context test that picks one
            helper = gfp_tables().helpers[ir[1]]
            return [GfpAlt(self.table.masks[n], n, None, len(helper.masks) > 1, (), helper.test)
                    for n in helper.masks if n in self.table.masks]
        if kind == "unk" and ir[1]:
            reparsed = ir_from_text(ir[1])
            if reparsed[0] != "unk":
                return self.alternatives(reparsed, scope, depth)
        return None

    def _decided(self, cond: tuple, scope: Scope) -> bool | None:
        """The truth of a ternary's condition when every caller decides it alike: a flags
        parameter tested against a bit (`(flags & DEMO_NOSLEEP) ? GFP_ATOMIC : GFP_KERNEL`)
        that every call passes as a constant, none with that bit. None when a caller
        passes something else, or the function may be called from where the scan cannot
        see (exported, or bound to a function pointer)."""
        values = self._constants(cond, scope, 0)
        if not values:
            return None
        truths = {value != 0 for value in values}
        return truths.pop() if len(truths) == 1 else None

    def _constants(self, ir: tuple, scope: Scope, depth: int) -> set[int] | None:
        """Every value an integer expression takes over the callers of its function's
        parameters, or None."""
        kind = ir[0]
        if kind == "num":
            return {ir[1]}
        if kind == "un" and ir[1] == "!":
            inner = self._constants(ir[2], scope, depth)
            return None if inner is None else {int(not v) for v in inner}
        if kind == "bin" and ir[1] in _INTEGER_OPS:
            left, right = self._constants(ir[2], scope, depth), self._constants(ir[3], scope, depth)
            if left is None or right is None:
                return None
            out = {_INTEGER_OPS[ir[1]](a, b) for a in left for b in right}
            return out if len(out) <= MAX_ALTERNATIVES else None
        if kind == "cond":  # `is_direct ? DEMO_BUF_DIRECT : 0`: either arm
            then, otherwise = self._constants(ir[2], scope, depth), self._constants(ir[3], scope, depth)
            return None if then is None or otherwise is None else then | otherwise
        if kind == "cast":
            return self._constants(ir[2], scope, depth)
        if kind == "call" and ir[1] == "BIT" and len(ir[2]) == 1:
            inner = self._constants(ir[2][0], scope, depth)
            return None if inner is None or any(not 0 <= v < 64 for v in inner) else {1 << v for v in inner}
        if kind == "id":
            return self._constant_name(ir[1], scope, depth)
        return None

    def _constant_name(self, name: str, scope: Scope, depth: int) -> set[int] | None:
        fn = scope.fn
        if fn is not None:
            if name in fn.locals:
                return None
            for index, (pname, _) in enumerate(fn.params):
                if pname == name:
                    return self._constant_param(scope, index, depth)
        for table in ("enums", "defines"):
            found = self.program.lookup(table, name, scope.file.path)
            if found is not None and depth < MAX_DEPTH + 2:
                value = found[1] if table == "enums" else ir_from_text(found[1])
                return self._constants(value, scope, depth + 1)
        return None

    def _constant_param(self, scope: Scope, index: int, depth: int) -> set[int] | None:
        node = self.program.find_node(scope.fn, scope.file.path)
        if node is None or depth >= MAX_DEPTH or scope.fn.name in scope.file.exports or node in self._bound_nodes():
            return None
        callers = list(self.program.callers(node))
        if not callers:
            return None
        out: set[int] = set()
        for caller, site in callers:
            ref = self.program.functions[caller]
            args = site.arguments()
            values = self._constants(args[index], Scope(ref.file, ref.fn, depth + 1), depth + 1) \
                if index < len(args) else None
            if values is None:
                return None
            out |= values
        return out if len(out) <= MAX_ALTERNATIVES else None

    def _bound_nodes(self) -> set[str]:
        """Functions bound to a function pointer (`.alloc = demo_alloc`): callers the
        scan cannot list may call them."""
        if self._bound_set is None:
            self._bound_set = {node for found in self.program.bindings.values() for _, node, _, _ in found}
        return self._bound_set

    def at_call(self, ir: tuple, scope: Scope) -> list[GfpAlt] | None:
        """The alternatives of a call's gfp argument, less the blocking ones an earlier
        exit rules out. net/core/skbuff.c's __netdev_alloc_skb() leaves through
        `if (... || (gfp_mask & (__GFP_DIRECT_RECLAIM | GFP_DMA))) { ...; goto skb_success; }`
        before its BH-off page_frag_alloc(nc, len, gfp_mask): a GFP_KERNEL caller never
        gets there. An empty list means no caller's mask reaches the call."""
        alts = self.alternatives(ir, scope)
        if not alts or ir[0] != "id" or scope.fn is None or not scope.at_byte:
            return alts
        if not _exits_when_blocking(scope.fn, ir[1], scope.at_byte):
            return alts
        return [a for a in alts if not self.table.allows_blocking(a.mask)]

    def _ident(self, name: str, scope: Scope, depth: int) -> list[GfpAlt] | None:
        value = self.table.masks.get(name)
        if value is not None:
            return [GfpAlt(value, name, quiet=name == "__GFP_NOWARN")]
        fn = scope.fn
        if fn is not None:
            key = (id(fn), name)
            for index, (pname, _) in enumerate(fn.params):
                if pname == name:
                    return self._updated(self._parameter(key, index, name, scope, depth), name, scope, depth)
            if key in self._bound:
                return self._bound[key]
            assigned = [a for a in fn.assignments if a.kind == "local" and a.target == name and a.op == "="]
            if assigned:
                return self._updated(self._guarded_local(key, name, assigned, scope, depth), name, scope, depth)
        found = self.program.lookup("defines", name, scope.file.path)
        if found is not None and depth < MAX_DEPTH + 2:
            return self.alternatives(ir_from_text(found[1]), scope, depth + 1)
        return None

    def _parameter(self, key, index: int, name: str, scope: Scope, depth: int) -> list[GfpAlt] | None:
        """A gfp parameter's masks at the read: its callers' arguments, unless the function
        assigns it before (`gfp = GFP_ATOMIC;`). An assignment in the block holding the read
        replaces what the callers passed; one in an arm (`if (in_irq()) gfp = GFP_ATOMIC;`)
        is one more alternative beside it."""
        fn, at = scope.fn, scope.at_byte
        assigned = [a for a in fn.assignments if a.kind == "local" and a.target == name and a.op == "="
                    and a.byte < at] if at else []
        if not any(name not in IDENT_RE.findall(a.value_text) for a in assigned):
            return self._param(scope, index, depth)  # none, or only updates from itself: the callers'
        own = self._guarded_local(key, name, assigned, scope, depth)
        if own is None or any(a.block_start <= at < a.block_end for a in assigned):
            return own
        passed = self._param(scope, index, depth)
        if passed is None:
            return None
        return _dedupe([replace(x, conditional=True) for x in own + passed])

    def _updated(self, alts: list[GfpAlt] | None, name: str, scope: Scope, depth: int) -> list[GfpAlt] | None:
        """`alts` with the bits the function sets or clears in the mask before the read:
        cxgb4's refill_fl() takes its caller's gfp and writes `gfp |= __GFP_NOWARN;` first.
        Only updates in the block holding the read, before it, with one mask each; an
        update of bits not known leaves the mask unknown."""
        fn = scope.fn
        at = scope.at_byte
        if not alts or fn is None or not at:
            return alts
        # (an update before a plain assignment that reaches the read is overwritten by it)
        since = max((a.byte for a in fn.assignments if a.kind == "local" and a.target == name and
                     a.op == "=" and a.byte < at), default=-1)
        updates = sorted((a for a in fn.assignments if a.kind == "local" and a.target == name and
                          a.op in ("|=", "&=") and since < a.byte < at and a.block_start <= at < a.block_end),
                         key=lambda a: a.byte)
        for a in updates:
            bits = self.alternatives(a.value, Scope(scope.file, fn, scope.depth, a.byte), depth + 1)
            if bits is None or len({b.mask for b in bits}) != 1:
                return None
            b = bits[0]
            if a.op == "|=":
                alts = [replace(x, mask=x.mask | b.mask, quiet=x.quiet or b.quiet) for x in alts]
            else:
                alts = [replace(x, mask=x.mask & b.mask) for x in alts]
        return _dedupe(alts) if updates else alts

    def _guarded_local(self, key, name: str, assigned: list, scope: Scope, depth: int) -> list[GfpAlt] | None:
        """_local(), or None (unknown) for a local met again while its own masks are read:
        a cycle through other locals."""
        if key in self._active:
            return None
        self._active.add(key)
        try:
            return self._local(key, name, assigned, scope, depth)
        finally:
            self._active.discard(key)

    def _local(self, key, name: str, assigned: list, scope: Scope, depth: int) -> list[GfpAlt] | None:
        """A local's masks: those of its plain assignments, then of the ones that update
        it from itself (`alloc_gfp = (alloc_gfp | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM`),
        evaluated with the name standing for the plain ones."""
        plain = [a for a in assigned if name not in IDENT_RE.findall(a.value_text)]
        updates = [a for a in assigned if a not in plain]
        out: list[GfpAlt] = []
        for a in plain:
            alts = self.alternatives(a.value, scope, depth)
            if alts is None:
                return None
            out.extend(alts)
        if updates and out:
            self._bound[key] = _dedupe(out)
            try:
                for a in updates:
                    alts = self.alternatives(a.value, scope, depth)
                    if alts is None:
                        return None
                    out.extend(alts)
            finally:
                del self._bound[key]
        if not out:
            return None
        if len({x.mask for x in out}) > 1:
            out = [replace(x, conditional=True) for x in out]
        return _dedupe(out)

    def _param(self, scope: Scope, index: int, depth: int) -> list[GfpAlt] | None:
        if depth >= MAX_DEPTH:
            return None
        node = self.program.find_node(scope.fn, scope.file.path)
        if node is None:
            return None
        # By depth too: a parameter reached at depth 2 has one caller level left, one
        # reached from its own function's call has all of them (a memo by parameter alone
        # made what a site sees depend on which site asked first).
        key = (node, index, depth)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None  # recursion guard
        out: list[GfpAlt] = []
        callers = list(self.program.callers(node))
        if not callers:
            return None
        for caller, site in callers:
            ref = self.program.functions[caller]
            args = site.arguments()
            if index >= len(args):
                return None
            alts = self.alternatives(args[index], Scope(ref.file, ref.fn, depth + 1), depth + 1)
            if alts is None:
                continue  # an unknown caller adds nothing we can show
            pname = scope.fn.params[index][0]
            hop = Step(FLOW, f"{ref.fn.name}() passes {render(args[index])} as '{pname}' of {scope.fn.name}()",
                       ref.path, site.line, site.col, function=ref.fn.name, callee=scope.fn.name)
            for a in alts:
                out.append(replace(a, origin=a.origin or (ref.path, site.line, ref.fn.name), via=a.via + (hop,)))
        result = _dedupe(out) if out else None
        self.memo[key] = result
        return result


def _exits_when_blocking(fn, name: str, byte: int) -> bool:
    """Does `fn` leave, before `byte`, whenever the mask `name` allows blocking (a guard
    with a disjunct `name & __GFP_DIRECT_RECLAIM` or `gfpflags_allow_blocking(name)`),
    with no later assignment that could give the bit back?"""
    if not fn.flags & HAS_BLOCKING_TEST:
        return False  # no exit names a blocking bit: do not unpack the body for its guards
    for g in fn.guards:
        if not (g.end_byte <= byte and g.block_start <= byte < g.block_end):
            continue
        if name not in g.cond_text:
            continue  # it does not read the mask (and need not be parsed)
        if not any(_tests_blocking(d, name) for d in disjuncts(g.cond)):
            continue
        if any(a.kind == "local" and a.target == name and g.end_byte <= a.byte < byte and
               (a.op == "=" or "RECLAIM" in a.value_text or "GFP_KERNEL" in a.value_text) for a in fn.assignments):
            continue
        return True
    return False


def _tests_blocking(cond: tuple, name: str) -> bool:
    if cond[0] == "bin" and cond[1] == "!=" and cond[3] == ("num", 0):
        cond = cond[2]
    tables = gfp_tables()
    if cond[0] == "call" and cond[1] in tables.blocking_tests:
        return len(cond[2]) == 1 and cond[2][0] == ("id", name)
    if cond[0] == "bin" and cond[1] == "&":
        for var, mask in ((cond[2], cond[3]), (cond[3], cond[2])):
            if var == ("id", name) and any(b in render(mask) for b in tables.blocking_bits):
                return True
    return False


def region_skipped_for(mask: int, conds: tuple[str, ...], name: str, table: GfpTable) -> bool:
    """Is the region taken under one of `conds` provably not taken when the gfp
    variable `name` holds `mask`? ns83820's rx_refill() locks only
    `if (gfp == GFP_ATOMIC)`: its GFP_KERNEL caller allocates unlocked."""
    for text in conds:
        if any(_holds(c, name, mask, table) is False for c in conjuncts(ir_from_text(text))):
            return True
    return False


def _holds(cond: tuple, name: str, mask: int, table: GfpTable) -> bool | None:
    """The truth of a condition on the mask variable `name` (None: it reads something else)."""
    if cond[0] == "un" and cond[1] == "!":
        inner = _holds(cond[2], name, mask, table)
        return None if inner is None else not inner
    if cond[0] == "bin" and cond[1] in ("==", "!="):
        for var, other in ((cond[2], cond[3]), (cond[3], cond[2])):
            if var == ("id", name):
                value = _mask_of(other, table)
                if value is not None:
                    return (mask == value) == (cond[1] == "==")
        return None
    if _tests_blocking(cond, name):
        return table.allows_blocking(mask)
    return None


def _mask_of(ir: tuple, table: GfpTable) -> int | None:
    if ir[0] == "id":
        return table.masks.get(ir[1])
    if ir[0] == "bin" and ir[1] == "|":
        left, right = _mask_of(ir[2], table), _mask_of(ir[3], table)
        return None if left is None or right is None else left | right
    return None


def _callees(ir: tuple) -> set[str]:
    out = set()
    stack = [ir]
    while stack:
        n = stack.pop()
        if n[0] == "call":
            out.add(n[1])
            stack.extend(n[2])
        else:
            stack.extend(x for x in n[1:] if isinstance(x, tuple))
    return out


def _dedupe(alts: list[GfpAlt]) -> list[GfpAlt]:
    seen = {}
    for a in alts:
        seen.setdefault((a.mask, a.origin, a.conditional, a.by_context), a)
    return list(seen.values())[:MAX_ALTERNATIVES]


def context_decides(tests: str, context_kind: str) -> bool:
    """Does a context of this kind ("hardirq", "softirq", "bh", "irq", "preempt") make
    any of the run-time tests in `tests` answer "atomic"? gfp_any() (in_softirq())
    under spin_lock_bh() picks GFP_ATOMIC; under spin_lock_irqsave() it picks GFP_KERNEL."""
    decided = gfp_tables().decided_by.get(context_kind, frozenset())
    return any(t in decided for t in tests.split(",") if t)


def context_test_values(kinds: set[str]) -> dict[str, bool]:
    """What the run-time context tests return where contexts of all these kinds hold
    (an entry point's: "hardirq", "softirq", "bh"): in_task() is false in a softirq,
    in_interrupt() true (nonzero). A test two kinds disagree on is left out."""
    tables = gfp_tables()
    values: dict[str, bool] = {}
    conflicting: set[str] = set()
    for kind in kinds:
        for test in tables.decided_by.get(kind, ()):
            value = test not in tables.answers_task
            if values.setdefault(test, value) != value:
                conflicting.add(test)
    return {t: v for t, v in values.items() if t not in conflicting}
