"""The evaluator: one `ValueAnalysis` walks an expression's IR and asks its parts.

`eval()` dispatches on the IR node; identifiers resolve to locals (their
assignments), parameters (the join of their callers' arguments), builtin kernel
constants, module parameters, enums, `#define`s and file-scope variables. The
parts it delegates to:

- `builtins.Builtins`: kernel macros (`min`, `ALIGN`, `struct_size` ...), builtin
  constants and `sizeof`;
- `sources.Sources`: module parameters, user buffers, netlink attributes and
  device descriptors, the values someone outside the kernel chooses;
- `narrowing.Narrowing`: what guards and branches prove at a program point;
- `fields.Fields`: struct fields, one cell per (struct, field) across the tree,
  and the hubs that break chains.

Every recursive lookup (a local, a parameter, a field, a file-level name) goes
through one memo and cycle guard, `guarded()`.
"""

from __future__ import annotations

import re
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from ...exprs import IDENT_RE, conjuncts, expand_macro, identifiers, ir_from_text, render, squash
from ...facts import DEREF_MARK, EXIT_NONE
from ...kernel.tables import allocators, value_tables
from ...kernel.version import KernelInfo
from ...link import Program
from ..witness import FLOW, Step
from .builtins import Builtins
from ...link import same_driver
from .fields import Fields
from .lattice import (WHY_ARITHMETIC, WHY_BUDGET, WHY_CALL, WHY_CYCLE, WHY_DEPTH, WHY_DEREF, WHY_ELEMENT,
                      WHY_LOCAL, WHY_MACRO, WHY_NAME, WHY_PARAM_ARG, WHY_PARAM_FOREIGN, WHY_PARAM_MANY,
                      WHY_PARAM_NO_CALLER, WHY_PARAM_POINTER, WHY_PARSE, WHY_POINTER, WHY_UNREACHED, Value, arith,
                      cast, const, held_in, interval, join, join_all, unbounded, unknown, unsigned_max, with_bounds)
from .narrowing import SHRINKING_OPS, Narrowing
from .scope import MAX_DEPTH, Scope
from .sources import Sources

_OFFSETOF_RE = re.compile(r"(?:offsetof|__builtin_offsetof)\s*\(\s*((?:struct\s+|union\s+)?\w+)\s*,\s*([\w.\s]+?)\s*\)")
MAX_CALLERS = 24  # a parameter with more call sites than this stays unknown


def _reaching_assignment(fn, name: str, at: int, ops: tuple[str, ...] = ("=",), kind: str = "local"):
    """The plain `name = ...` (or another of `ops`) before byte `at` in the block holding
    `at`, when no other assignment to `name` and no call naming it lie between the two;
    else None. `kind` "deref": a store `*name = ...` (target DEREF_MARK + name)."""
    if not at:
        return None
    last = None
    target = DEREF_MARK + name if kind == "deref" else name
    same = same_variable(fn, name, at)
    for a in fn.assignments:
        if a.target == target and a.kind == kind and a.byte < at and same(a.byte):
            if last is None or a.byte > last.byte:
                last = a
    if last is None or last.op not in ops or not (last.block_start <= at < last.block_end):
        return None
    if any(last.byte < site.byte < at and name in site.args_text and _may_write(site, name)
           and not _within_value(last, site) for site in fn.calls):
        return None  # kstrtouint(buf, 0, &name) in between: the user writes it there
    return last


def _overwritten_before(fn, a, stores: list, at: int) -> bool:
    """Is store `a` overwritten on every way to the read at byte `at`: by a plain store
    after it that runs whenever its block does, in a block that holds both it and the read
    (`i = kstrtoul(...); if (i) return -EINVAL; i = 0; while (sz > 1) { ...; i++; }` then
    read i: the error code never reaches the read)?"""
    if not at:
        return False
    return any(c.op == "=" and a.byte < c.byte < at and c.block_start <= a.byte and at < c.block_end
               and _runs_with_its_block(fn, c) for c in stores)


def _runs_with_its_block(fn, c) -> bool:
    """Does the store run whenever the block holding it does: not in a loop or in an arm
    (a braceless `if (final) n = ...;` shares its block with the `if`) inside that block?
    What follows an early exit runs on every way that goes on."""
    if any(c.block_start < start <= c.byte < end for start, end in fn.loop_spans):
        return False
    for _, ts, te, es, ee, kind, _ in fn.conditions:
        if c.block_start < ts <= c.byte < te:
            return False
        if kind == EXIT_NONE and c.block_start < es <= c.byte < ee:
            return False
    return True


def _allocated_since(fn, a, at: int) -> bool:
    """Between the plain store `a` (`cookie_len = (count - 1) / 2;`) and the read at `at`,
    did an allocation take one of the names its value reads (`memdup_user(data, count)`),
    with none of them written in between? Then the value is read at `at`, where that
    allocation's success bounds them (count was at most 4 MiB)."""
    table = allocators()
    between = [site for site in fn.calls if a.byte < site.byte < at and site.callee in table]
    if not between:
        return False  # (most reads: no allocation in between, no names to read)
    names = set(IDENT_RE.findall(a.value_text))
    if not names or not any(names & set(IDENT_RE.findall(site.args_text)) for site in between):
        return False
    return not any(b.kind == "local" and b.target in names and a.byte < b.byte < at for b in fn.assignments) \
        and not any(a.byte < site.byte < at and _may_write(site, n) for site in fn.calls for n in names
                    if n in site.args_text)


def _may_write(site, name: str) -> bool:
    """Can the call change the local `name`: its address an argument (`kstrtouint(buf, 0,
    &name)`), or the variable itself an argument of a macro that assigns it (`do_div(name,
    512)`, `get_user(name, p)`)? A plain argument is a copy (`access_ok(buf, name)`)."""
    if name not in IDENT_RE.findall(site.args_text):
        return False
    if site.callee in value_tables().assigning_macros:
        return True
    return re.search(r"&\s*\(?\s*" + re.escape(name) + r"\b", site.args_text) is not None


def _within_value(a, site) -> bool:
    """Is the call part of the assignment's own value (`count = min_t(size_t, count, PAGE_SIZE)`):
    it names the variable only to compute what is stored?"""
    # (the statement is the target, the operator and the value as written: 8 bytes of
    # slack for the operator and the spaces around it)
    return bool(site.callee) and site.callee in a.value_text and \
        site.byte <= a.byte + len(a.target) + 8 + len(a.value_text)


_MINIMUMS = ("min", "min_t", "umin")


def _only_lowers(a) -> bool:
    """A store that never makes its target larger: `x -= n`, `x &= m`, a clamp inside
    `if (x > max)`, or `x = min(x, y)` (sgi-gru's `max_user_dsr_bytes =
    min(max_user_dsr_bytes, dsrbytes)`)."""
    if a.op in SHRINKING_OPS or a.lowers:
        return True
    if a.op != "=" or a.target not in a.value_text:
        return False
    value = a.value
    return value[0] == "call" and value[1] in _MINIMUMS and ("id", a.target) in value[2]


def _everywhere(byte: int) -> bool:
    return True


def same_variable(fn, name: str, at: int):
    """A test of whether a store or call at a byte of `fn` touches the very variable
    `name` read at byte `at`: where the function declares the name more than once
    (`__u32 t;` in sibling blocks), only what lies under the same declaration does."""
    declared = fn.declaration_at(name, at)
    if declared is None:
        return _everywhere
    return lambda byte: fn.declaration_at(name, byte) == declared


_ORDERINGS = {"<": (2, 3, True), "<=": (2, 3, False), ">": (3, 2, True), ">=": (3, 2, False)}
_NEGATED_ORDER = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _ordering(cond: tuple, holds: bool) -> tuple | None:
    """What a comparison (true when `holds`, false otherwise) says of the order of its two
    sides: (the smaller, the larger, strictly?) as rendered text, and the larger side's
    expression; or None."""
    if cond[0] != "bin" or cond[1] not in _ORDERINGS:
        return None
    op = cond[1] if holds else _NEGATED_ORDER[cond[1]]
    small, large, strict = _ORDERINGS[op]
    return render(cond[small]), render(cond[large]), strict, cond[large]


def _is_error_code(ir: tuple) -> bool:
    """`-EINVAL`, `-1`, `ERR_PTR(...)`: a failure the caller checks, not a size."""
    return (ir[0] == "un" and ir[1] == "-") or (ir[0] == "call" and ir[1] in ("ERR_PTR", "ERR_CAST"))


@dataclass
class ValueAnalysis:
    program: Program
    kernel: KernelInfo
    memo: dict = field(default_factory=dict)  # key -> value computed without a cut: true everywhere
    active: set = field(default_factory=set)
    budget: int = 20000  # evaluation steps left for the current allocation site (start_site resets it)
    # key -> (value, the keys whose cycle it was cut on): valid while those keys are being
    # computed, within the current allocation site (start_site clears it)
    cycle_memo: dict = field(default_factory=dict)
    frames: list = field(default_factory=list)  # per guarded() computation: [cycle keys cut on, budget cut?, on a cycle?]
    sites_over_budget: int = 0  # sites whose evaluation the budget cut short
    _site_over: bool = False

    STEPS_PER_SITE = 20000  # unmemoised re-evaluation is bounded: past this, unknown

    def __post_init__(self):
        self.file_by_path = {ff.path: ff for ff in self.program.files}
        self._oracle = None  # see oracle
        self._bound: set[str] | None = None  # functions bound into structs of function pointers
        self._constants: dict[tuple, int | None] = {}  # (path, IR, hops) -> constant_expr()
        self._apart = False  # inside apart()
        self._apart_memo: dict = {}  # what apart() computations keep for each other (see apart)
        self._masked: dict[int, frozenset] = {}  # id(fn) -> the locals it masks in place (_masked_in)
        # (id of the callee, args, caller's Scope) of the calls whose returns are being read,
        # innermost last (a helper calling a helper: nla_total_size() -> nla_attr_size())
        self._calls: list[tuple] = []
        self.builtins = Builtins(self)
        self.sources = Sources(self)
        self.narrowing = Narrowing(self)
        self.fields = Fields(self)
        self._dispatch: dict[str, Callable[[tuple, Scope], Value]] = {
            "num": lambda ir, scope: const(ir[1]),
            "id": lambda ir, scope: self.ident(ir[1], scope),
            "bin": self._binary,
            "un": self._unary,
            "cast": lambda ir, scope: cast(self.eval(ir[2], scope), self.builtins.type_max(ir[1])),
            "sizeof_t": lambda ir, scope: self.builtins.sizeof_type(ir[1], scope.file.path),
            "sizeof_e": lambda ir, scope: self.builtins.sizeof_expr(ir[1], scope),
            "cond": self._ternary,
            "call": lambda ir, scope: self.call(ir[1], ir[2], scope),
            "field": lambda ir, scope: self.fields.read(ir, scope),
            "unk": self._reparsed,
            "idx": lambda ir, scope: unknown(WHY_ELEMENT),
            "deref": self._dereference,
            "addr": lambda ir, scope: unknown(WHY_POINTER),
            "str": lambda ir, scope: unknown(WHY_POINTER),
        }

    # --- public ------------------------------------------------------------
    def forget(self) -> None:
        """Drop what describing the sites kept for the whole scan: memoised values,
        constants, checked bounds, fields' writers and call cones. Each entry holds
        everywhere, so whatever asks again (a rule's witness, through the oracle)
        computes it anew. The rules ask for little and reuse the memory: a warm whole
        6.12 scan's peak, which the rules reach, is 9 MB lower."""
        self.memo.clear()
        self.cycle_memo.clear()
        self._constants.clear()
        self._apart_memo.clear()
        self._masked.clear()
        self.narrowing.forget()
        self.fields.forget()

    def start_site(self) -> None:
        """Give the next allocation site a fresh evaluation budget."""
        self.budget = self.STEPS_PER_SITE
        self.cycle_memo.clear()
        self._site_over = False

    def eval(self, ir: tuple, scope: Scope) -> Value:
        self.budget -= 1
        if self.budget < 0:
            self._budget_cut()
            return unknown(WHY_BUDGET)
        handler = self._dispatch.get(ir[0])
        return handler(ir, scope) if handler is not None else unknown(WHY_PARSE)

    def constant(self, name: str, path: str) -> int | None:
        """The exact value of the named constant `name` as file `path` sees it: a builtin
        kernel constant, an enumerator or an object-like `#define` (through the macros its
        body calls); None when it is not one value. The one constant evaluator of the
        analyses: the branch oracle asks it too."""
        return self.constant_expr(("id", name), path)

    def constant_expr(self, ir: tuple, path: str, hops: int = MAX_DEPTH) -> int | None:
        """The exact value of the constant expression `ir` as file `path` sees it, reached
        through at most `hops` names and macros; None when it is not one value."""
        key = (path, ir, hops)
        if key in self._constants:
            return self._constants[key]
        file = self.program.file(path)
        result = None
        if file is not None:
            # Evaluated apart from whatever site asks (its own budget, no keys being computed
            # around it, nothing it is cut on leaking into theirs): the answer is kept for
            # the whole scan, so it must be the same whoever asks first.
            saved = self.budget, self.active, self.frames, self.cycle_memo
            self.budget, self.active, self.frames, self.cycle_memo = self.STEPS_PER_SITE, set(), [], {}
            try:
                v = self.eval(ir, Scope(file, None, MAX_DEPTH - hops))
            finally:
                self.budget, self.active, self.frames, self.cycle_memo = saved
            result = v.lo if v.known and v.lo == v.hi and not v.sources else None
        self._constants[key] = result
        return result

    def calls_read(self) -> bool:
        """Is a call's returned value being read (its callee's parameters bound)?"""
        return bool(self._calls)

    def apart(self, compute: Callable[[], object]):
        """`compute()` apart from the current site's evaluation, as constant_expr() is: its
        own budget, no keys being computed around it, its cycles' values not kept for the
        site. For what only bounds say (lattice: bounds without a witness), so that it never
        changes what the site's evaluation proves. None when asked from inside another
        such computation: one level is enough, and nesting them would multiply budgets."""
        if self._apart:
            return None
        saved = (self.budget, self.active, self.frames, self.cycle_memo, self.memo, self._site_over,
                 self.sites_over_budget)
        # The memo is read through, never written: a value kept from here would reach the
        # site's evaluation by another way than computing it there would. What is computed
        # here is kept for the next such computation (values with no cut are true wherever
        # read), but for one made while a call's returns are read: its values are that call's.
        self.memo = ChainMap({} if self._calls else self._apart_memo, self.memo)
        self.budget, self.active, self.frames, self.cycle_memo = self.STEPS_PER_SITE // 4, set(), [], {}
        self._apart = True
        try:
            return compute()
        finally:
            self._apart = False
            (self.budget, self.active, self.frames, self.cycle_memo, self.memo, self._site_over,
             self.sites_over_budget) = saved

    def guarded(self, key: tuple, compute: Callable[[], Value], on_cycle: Value = unknown(WHY_CYCLE),
                memoise: bool = True, depth: int = 0) -> Value:
        """`compute()`, memoised under `key`, with cycles cut: a key met again while it is
        being computed yields `on_cycle`. `depth` is the hop depth `compute()` starts at.

        A value is kept under (key, depth): from another depth the hop limit falls
        elsewhere, so the same key may have another value there. What it depends on
        decides how long it is kept:
        - computed with no cycle cut (the hop limit may have cut it), it is the key's
          value from that depth, for the whole scan (`memo`);
        - cut on a cycle, it depends on where the cycle was entered (a field whose writer
          reads a parameter whose caller reads the field: entered at the field, the
          parameter's value lacks what flows through the field, and the other way round),
          so it is kept for the current site only (`cycle_memo`), and when cut on a key
          being computed around it, reused only while that key is;
        - cut by the site's budget, it is never kept.
        So every value reused is the one computing it again would give, and the results
        do not depend on the order the sites are evaluated in (while no site runs out of
        budget: `sites_over_budget` counts those). Reuse is what keeps a driver's value
        flow that fans out to the hop limit linear: each key is walked once per depth."""
        slot = (key, depth)
        if key in self.active:  # before the memo: from another depth the key may be kept
            if self.frames:
                self.frames[-1][0].add(key)
                self.frames[-1][2] = True
            return on_cycle
        if memoise and slot in self.memo:
            return self.memo[slot]
        if memoise:
            kept = self.cycle_memo.get(slot)
            if kept is not None and kept[1] <= self.active:
                if self.frames:
                    self.frames[-1][0].update(kept[1])
                    self.frames[-1][2] = True  # built on a cycle's value: the site's only
                return kept[0]
        # the cycle keys it was cut on, a budget cut, whether any cycle (its own included)
        # cut it or a value it reused
        frame: list = [set(), False, False]
        self.frames.append(frame)
        self.active.add(key)
        try:
            value = compute()
        finally:
            self.active.discard(key)
            self.frames.pop()
        deps, budget_cut, on_a_cycle = frame
        deps.discard(key)
        if self.frames:
            outer = self.frames[-1]
            outer[0].update(deps)
            outer[1] = outer[1] or budget_cut
            outer[2] = outer[2] or on_a_cycle
        if memoise and not budget_cut:
            if on_a_cycle:
                self.cycle_memo[slot] = (value, frozenset(deps))
            else:
                self.memo[slot] = value
        return value

    def _budget_cut(self) -> None:
        """The site's budget ran out: what builds on it is not kept."""
        if not self._site_over:
            self._site_over = True
            self.sites_over_budget += 1
        if self.frames:
            self.frames[-1][1] = True

    def truncated(self) -> Value:
        """The hop limit is reached: unknown (what builds on it is kept per depth, as all is)."""
        return unknown(WHY_DEPTH)

    # --- expressions ------------------------------------------------------
    def _binary(self, ir: tuple, scope: Scope) -> Value:
        """`a op b`, a chain of them folded from the left without recursing down it: a
        `#define` of hundreds of OR-ed flags is as deep as it is long."""
        if ir[1] == "-":
            span = self._page_span(ir, scope)
            if span is not None:
                return span
        spine = []
        while ir[0] == "bin":
            spine.append(ir)
            ir = ir[2]
        self.budget -= len(spine) - 1  # one step per node, as eval() counts them
        value = self.eval(ir, scope)
        for node in reversed(spine):
            value = arith(node[1], value, self.eval(node[3], scope))
        return value

    def _page_span(self, ir: tuple, scope: Scope) -> Value | None:
        """`((x + d) >> s) - (x >> s)`, the number of pages a range at address x of d bytes
        spans (io_pin_pages()'s `end - start`, each a local assigned once): at most
        `(d >> s) + 1` whatever x is. Read apart, the two shifts of a user's address are
        each as large as the address, and their difference as well."""
        (high, high_at), (low, low_at) = self._assigned_ir(ir[2], scope), self._assigned_ir(ir[3], scope)
        if high[0] != "bin" or high[1] != ">>" or low[0] != "bin" or low[1] != ">>":
            return None
        if render(high[3]) != render(low[3]):
            return None
        terms = _signed_terms(high[2])
        start = render(low[2])
        at = next((i for i, (sign, term) in enumerate(terms) if sign > 0 and render(term) == start), None)
        rest = terms[:at] + terms[at + 1:] if at is not None else []
        if not rest or self._changed_between(low[2], scope.fn, high_at.at_byte, low_at.at_byte):
            return None
        extent = self.eval(rest[0][1], high_at)
        if rest[0][0] < 0:
            extent = arith("-", const(0), extent)
        for sign, term in rest[1:]:
            extent = arith("+" if sign > 0 else "-", extent, self.eval(term, high_at))
        if not extent.known or extent.lo < 0:
            return None
        pages = arith("+", arith(">>", extent, self.eval(high[3], high_at)), const(1))
        return pages.bounded(0, pages.hi) if pages.known else None

    def _assigned_ir(self, ir: tuple, scope: Scope) -> tuple[tuple, Scope]:
        """A local's expression where it is read, and the scope of its assignment, when one
        plain assignment in its block gives it (`_reaching_assignment`); else `ir` itself."""
        if ir[0] != "id" or scope.fn is None or ir[1] not in scope.fn.locals:
            return ir, scope
        last = _reaching_assignment(scope.fn, ir[1], scope.at_byte)
        if last is None:
            return ir, scope
        return last.value, Scope(scope.file, scope.fn, scope.depth, last.byte)

    @staticmethod
    def _changed_between(ir: tuple, fn, one: int, other: int) -> bool:
        """Is a name the expression reads assigned between bytes `one` and `other`?"""
        lo, hi = min(one, other), max(one, other)
        names = identifiers(ir)
        return any(lo < a.byte < hi and a.target in names for a in fn.assignments)

    def _unary(self, ir: tuple, scope: Scope) -> Value:
        inner = self.eval(ir[2], scope)
        if ir[1] == "+":
            return inner
        if not inner.known:
            return with_bounds(unbounded(inner), 0, 1) if ir[1] == "!" else unbounded(inner)
        if ir[1] == "!":
            return Value(0, 1, inner.sources, inner.steps, True)
        if ir[1] == "~" and inner.lo == inner.hi:
            return const((~inner.lo) & 0xFFFFFFFFFFFFFFFF)
        return unknown(WHY_ARITHMETIC)

    def _reparsed(self, ir: tuple, scope: Scope) -> Value:
        """An expression extraction kept as text: parsed again, it may be one we know;
        `offsetof(type, member)` (a type as an argument) is read from the type's layout."""
        offsetof = _OFFSETOF_RE.fullmatch(ir[1].strip()) if ir[1] else None
        if offsetof is not None:
            return self.builtins.offset_of(offsetof.group(1), offsetof.group(2), scope)
        if ir[1] and scope.depth < MAX_DEPTH:
            reparsed = ir_from_text(ir[1])
            if reparsed[0] != "unk":
                return self.eval(reparsed, scope)
        return unknown(WHY_PARSE)

    def call(self, name: str, args: tuple, scope: Scope) -> Value:
        """A call or function-like macro: a kernel macro or source the builtins know,
        else the tree's own macro of that name, expanded."""
        value = self.builtins.call(name, args, scope)
        if value is None:
            value = self.sources.call(name, args, scope)
        if value is not None:
            return value
        found = self.program.lookup("func_macros", name, scope.file.path) if scope.depth < MAX_DEPTH else None
        expanded = expand_macro(*found[1], args, self.builtins.is_type) if found is not None else None
        if expanded is not None:
            # read at the macro's use: the guards before it bound its arguments
            # (sgi-gru's GRU_DS_BYTES_TO_AU(req.data_segment_bytes) after a range check),
            # and the macro's use itself (`if (netdev_mc_count(dev) > MAX) return ...;`)
            value = self.eval(expanded, Scope(scope.file, scope.fn, scope.depth + 1, scope.at_byte, scope.field_tests))
            return self.narrowing.narrow(render(("call", name, args)), value, scope) if scope.fn is not None else value
        if scope.depth >= MAX_DEPTH:
            return unknown(WHY_DEPTH)
        if found is None:
            returned = self.returned(name, scope, args)
            if returned is not None:
                return returned
        if found is not None:
            return unknown(WHY_PARSE)  # a macro whose body we cannot expand
        if name.isupper() and not self.program.by_name.get(name):
            return unknown(WHY_MACRO)
        return unknown(WHY_CALL)

    def returned(self, name: str, scope: Scope, args: tuple | None = None) -> Value | None:
        """What the function `name` (one definition in the scan) returns: the join of its
        `return` expressions, error codes left out (a caller checks them before using the
        value as a size). Called with `args`, what it returns for this call: its parameters
        are these arguments, read at the call (see `_returned_for_call`). None when it is
        not one function of the scan that returns an integer."""
        targets = self.program.resolve(scope.file.path, name)
        if len(targets) != 1:
            return None
        node = targets[0]
        ref = self.program.functions[node]
        if not ref.fn.returns:
            return None
        for_call = None
        if args is not None and ref.fn.params and len(args) == len(ref.fn.params) and ref.fn is not scope.fn \
                and all(c[0] != id(ref.fn) for c in self._calls) and scope.depth < MAX_DEPTH \
                and _helper_sized(ref.fn) and not self.builtins.in_asm_header(ref.path):
            for_call = self._returned_for_call(node, ref, args, scope)
            if for_call.known:
                return for_call
        every = self.guarded(("return", node), lambda: self._join_returns(ref, scope), depth=scope.depth)
        # read for every caller, a maximum is this call's bound too; a partial one proves
        # nothing here (another caller's argument may be what reaches it)
        return every if for_call is None or (every.known and not every.partial) else for_call

    def _returned_for_call(self, node: str, ref, args: tuple, scope: Scope) -> Value:
        """What `ref` returns to this call: its returns joined, each read with the callee's
        parameters bound to this call's arguments (read in the caller, at the call), its own
        tests and assignments applied as for any read. `fifo_sz(NR_QENTRY)` is 416 here
        even where another caller passes an unbounded count; `sdio_align_size(func, nb + 4)`
        proves nothing from what other drivers pass. The callee's locals and returns were
        kept (memo) for no call in particular: they are read anew, and what is computed
        here is kept for this call only. A helper's own helpers are read for its call in
        turn (nla_total_size(8) -> nla_attr_size(8)), down to the hop limit; a function
        already being read for a call (recursion) is read for every caller."""
        # the same call read again (a helper's result used twice, a site read from two
        # sites' evaluations) is the same value: kept like any other, under the call's key
        key = ("call-return", node, args, id(scope.fn), scope.at_byte, scope.field_tests)
        return self.guarded(key, lambda: self._read_for_call(node, ref, args, scope), depth=scope.depth)

    def _read_for_call(self, node: str, ref, args: tuple, scope: Scope, read=None, key=None) -> Value:
        """`read()` (the callee's returns joined, by default) with the callee's parameters
        bound to this call's arguments and its memo kept apart (see _returned_for_call)."""
        saved = self.memo, self.cycle_memo
        self._calls.append((id(ref.fn), args, scope))
        self.memo, self.cycle_memo = _CallMemo(self.memo, id(ref.fn), node), {}
        try:
            return self.guarded(key or ("return", node), read or (lambda: self._join_returns(ref, scope)),
                                memoise=False, depth=scope.depth)
        finally:
            self._calls.pop()
            self.memo, self.cycle_memo = saved

    def _join_returns(self, ref, scope: Scope) -> Value:
        value = None
        for text, byte, line in ref.fn.returns:
            ir = ir_from_text(text)
            if _is_error_code(ir):
                continue
            v = self.eval(ir, Scope(ref.file, ref.fn, scope.depth + 1, byte))
            if not v.known and v.why.partition("/")[0] == WHY_UNREACHED:
                continue  # no value proven to get this far passes the tests before it
            if v.known:
                v = v.with_step(Step(FLOW, f"{ref.fn.name}() returns {text}", ref.path, line,
                                     function=ref.fn.name))
            value = v if value is None else join(value, v)
        if value is None:
            return unknown(WHY_CALL)
        return value if value.known else unknown(WHY_CALL, value)

    # --- conditional expressions --------------------------------------------
    def _ternary(self, ir: tuple, scope: Scope) -> Value:
        """`c ? x : y`: the join of its arms, each read knowing whether `c` holds. A ring's
        fill level `(tail >= head) ? (tail - head) : (tail - head + size)` is less than
        `size`: in the second arm, tail - head is negative."""
        then = self._ordered(ir[2], _ordering(ir[1], True), scope)
        other = self._ordered(ir[3], _ordering(ir[1], False), scope)
        return join(then, other)

    def _ordered(self, ir: tuple, order: tuple | None, scope: Scope) -> Value:
        """`ir`, where `order` = (small, large, strict, the large side's IR) says small <
        large (or <=): the smaller side itself is at most the larger (a clamp, `(len > MAX)
        ? MAX : len`); the difference `large - small` is not negative, and `small - large`
        is, so that a sum adding it to n (`tail - head + size`) is below n. Sums and
        differences are walked down to such a difference; anything else is evaluated as is."""
        if order is None:
            return self.eval(ir, scope)
        small, large, strict, _ = order
        if render(ir) == small:
            return self._at_most(ir, order, scope)
        if ir[0] != "bin" or ir[1] not in ("+", "-"):
            return self.eval(ir, scope)
        if ir[1] == "+":
            for diff, other in ((ir[2], ir[3]), (ir[3], ir[2])):
                if diff[0] == "bin" and diff[1] == "-" and (render(diff[2]), render(diff[3])) == (small, large):
                    return self._below(other, diff, strict, order, scope)
        value = arith(ir[1], self._ordered(ir[2], order, scope), self._ordered(ir[3], order, scope))
        if ir[1] == "-" and value.known and not value.partial and (render(ir[2]), render(ir[3])) == (large, small):
            return value.bounded(max(value.lo, 1 if strict else 0), value.hi) \
                if value.hi is None or value.hi >= max(value.lo, 1 if strict else 0) else value
        return value

    def _at_most(self, ir: tuple, order: tuple, scope: Scope) -> Value:
        """The smaller side of the comparison, read in an arm where it is the smaller: no
        more than the larger side (`(totlen > USB_SG_SIZE) ? USB_SG_SIZE : totlen`)."""
        value = self.eval(ir, scope)
        limit = self.eval(order[3], scope)
        if (not value.known or value.partial) and interval(limit)[1] is not None:
            return with_bounds(value, 0, interval(limit)[1] - (1 if order[2] else 0))  # bounds only: lattice
        if not (value.known and limit.known) or value.partial or limit.hi is None:
            return value
        hi = limit.hi - (1 if order[2] else 0)
        if hi < value.lo or (value.hi is not None and value.hi <= hi):
            return value
        return value.bounded(value.lo, hi)

    def _below(self, other_ir: tuple, diff: tuple, strict: bool, order: tuple, scope: Scope) -> Value:
        """`other + (small - large)` with small < large (or <=): at most other - 1 (or other)."""
        other = self._ordered(other_ir, order, scope)
        lesser, greater = self.eval(diff[2], scope), self.eval(diff[3], scope)
        value = arith("+", other, arith("-", lesser, greater))
        if not (value.known and other.known and lesser.known and greater.known) or value.partial:
            return value
        hi = None if other.hi is None else other.hi - (1 if strict else 0)
        lo = 0 if greater.hi is None else max(0, other.lo + lesser.lo - greater.hi)
        return value if hi is not None and hi < lo else value.bounded(lo, hi)

    # --- identifiers ------------------------------------------------------
    def ident(self, name: str, scope: Scope) -> Value:
        fn = scope.fn
        narrow = self.narrowing.narrow
        if fn is not None:
            if name in fn.locals or any(a.kind == "local" and a.target == name for a in fn.assignments):
                if any(p == name for p, _ in fn.params) and _reaching_assignment(fn, name, scope.at_byte) is None:
                    # (what was passed is the first store: `if (count + 1 > PAGE_SIZE) count = PAGE_SIZE - 1;`)
                    value = self.narrowing.clamped_local(name, join(self.param(name, scope), self.local(name, scope)),
                                                         scope, passed=True)
                else:
                    value = self.narrowing.clamped_local(name, self.local(name, scope), scope)
                return narrow(name, self._typed(name, value, scope), scope)
            if any(p == name for p, _ in fn.params):
                return narrow(name, self._typed(name, self.param(name, scope), scope), scope)
        builtin = self.builtins.constant(name)
        if builtin is not None and not self._defined_locally(name, scope.file.path):
            return builtin
        # A module parameter or a file-scope variable read inside a checked arm is what passes
        # the check there (`if (nr <= 0 || nr > MAX) n = DEFAULT; else n = nr;`).
        module_param = self.sources.module_param_read(name, scope)
        if module_param is not None:
            return narrow(name, module_param, scope)
        value = self.guarded(("ident", scope.file.path, name), lambda: self._file_level(name, scope),
                             depth=scope.depth)
        return narrow(name, value, scope) if name in scope.file.global_types else value

    def _typed(self, name: str, value: Value, scope: Scope) -> Value:
        """A local or parameter whose value is not proven, bounded by its unsigned type (a
        `u8 count` is at most 255) and by a mask applied in place just before the read
        (`totlen &= RBD_MASK;`): bounds only (lattice). A proven value wider than its unsigned
        type of 8 or 16 bits is what the type holds (`u16 size = sdio_align_size(...)` is at
        most 65535)."""
        fn = scope.fn
        declared = self.builtins.local_type(name, scope)
        type_max = None
        if declared is not None and not declared.endswith("*"):
            type_max = unsigned_max(self.builtins.type_max(declared, scope.file.path))
        if value.known and not value.partial:
            # (a 32-bit local keeps what it was given: a user's u32 stays "without a bound")
            return held_in(value, type_max) if type_max is not None and type_max <= 0xFFFF else value
        if type_max is not None:
            value = with_bounds(value, 0, type_max)
        masked = _reaching_assignment(fn, name, scope.at_byte, ("&=", "%=")) if name in self._masked_in(fn) \
            else None
        if masked is not None:
            m = self.constant_expr(masked.value, scope.file.path)
            if m is not None and m >= 0:
                value = with_bounds(value, 0, m if masked.op == "&=" else max(m - 1, 0))
        return value

    def _masked_in(self, fn) -> frozenset:
        """The locals `fn` masks in place (`x &= M`, `x %= N`), found once per function."""
        found = self._masked.get(id(fn))
        if found is None:
            found = self._masked[id(fn)] = frozenset(a.target for a in fn.assignments
                                                     if a.kind == "local" and a.op in ("&=", "%="))
        return found

    def _defined_locally(self, name: str, path: str) -> bool:
        """Does the driver define `name` itself (trace_events_user.c's own MAX_PAGE_ORDER 0)?
        Its definition then wins over the kernel's builtin of that name."""
        found = self.program.lookup("defines", name, path)
        return found is not None and not found[0].startswith(("include/", "arch/"))

    def _file_level(self, name: str, scope: Scope) -> Value:
        """An enumerator, an object-like `#define`, or a file-scope variable (its
        initializer joined with what the file's functions store into it)."""
        path = scope.file.path
        # either kind defined nearer (the file, its directories, the shared headers) first;
        # only then what the file's #includes define
        for includes in (False, True):
            found = self.program.lookup("enums", name, path, includes)
            if found is not None:
                def_path, ir = found
                return self.eval(ir, Scope(self.program.file(def_path) or scope.file, None, scope.depth + 1))
            found = self.program.lookup("defines", name, path, includes)
            if found is not None:
                def_path, body = found
                return self.eval(ir_from_text(body), Scope(self.program.file(def_path) or scope.file, None,
                                                           scope.depth + 1))
        # (a module parameter is the user's value too: not only what the file stores)
        written = name in scope.file.global_types and not self.sources.is_module_param(name, scope.file.path) \
            and any(name in fn.global_writes for fn in scope.file.functions)
        if name in scope.file.globals or written:
            # its initializer, or the zero of static storage (`static int max_user_cbrs;`)
            initial = scope.file.globals.get(name)
            value = self.eval(initial, Scope(scope.file, None, scope.depth + 1)) if initial is not None else const(0)
            for fn in scope.file.functions:  # a static global written by the file's functions
                if name not in fn.global_writes:
                    continue
                for a in fn.assignments:
                    if a.kind == "global" and a.target == name and not _only_lowers(a):
                        value = join(value, self.assigned(a, Scope(scope.file, fn, scope.depth + 1, a.byte)))
            return value
        generated = value_tables().generated_defines.get(name)
        if generated is not None:  # include/generated/bounds.h: not in the source tree
            return self.eval(ir_from_text(generated), Scope(scope.file, None, scope.depth + 1))
        return unknown(WHY_NAME)

    def local(self, name: str, scope: Scope) -> Value:
        """A local variable: the join of its assignments that may reach the read (not those
        a later plain store overwrites on every way to it) and of what the user writes into
        it; read after a plain assignment in the same block with nothing else writing it in
        between, that assignment's value (`val` reused by each case of an ioctl's switch),
        evaluated at the read when an allocation that took its operands succeeded between."""
        last = _reaching_assignment(scope.fn, name, scope.at_byte)
        if last is not None:
            at = scope.at_byte if _allocated_since(scope.fn, last, scope.at_byte) else last.byte
            return self.guarded(("local@", id(scope.fn), name, last.byte, at),
                                lambda: self.assigned(last, Scope(scope.file, scope.fn, scope.depth, at)),
                                depth=scope.depth)
        declared = scope.fn.declaration_at(name, scope.at_byte)  # a name declared more than once: which
        same = same_variable(scope.fn, name, scope.at_byte)
        stores = [a for a in scope.fn.assignments
                  if a.kind == "local" and a.target == name and a.op not in SHRINKING_OPS and same(a.byte)]
        # (a parameter's store being evaluated, `len = max_t(unsigned int, len + 8, cap)`, reads
        # what was passed, not itself, unless a loop brings it round again)
        own = scope.at_byte if scope.at_byte and any(p == name for p, _ in scope.fn.params) \
            and not _loops_around(scope.fn, scope.at_byte) else None
        live = tuple(a for a in stores if a.byte != own and not _overwritten_before(scope.fn, a, stores, scope.at_byte))
        killed = len(live) < len(stores)  # (the stores reaching this read: part of the memo's key)
        key = ("local", id(scope.fn), name, declared) + (tuple(a.byte for a in live) if killed else ())
        return self.guarded(key, lambda: self._local(name, live, scope), depth=scope.depth)

    def _local(self, name: str, stores: tuple, scope: Scope) -> Value:
        value: Value | None = None
        for a in stores:
            v = self.assigned(a, Scope(scope.file, scope.fn, scope.depth, a.byte))
            value = v if value is None else join(value, v)
        user = self.sources.user_filled(name, scope)
        if user is not None:
            value = user if value is None else join(value, user)
        if value is None:
            value = self._filled_by_callees(name, scope)
        return unknown(WHY_LOCAL) if value is None else value

    def _filled_by_callees(self, name: str, scope: Scope) -> Value | None:
        """A local the function never assigns, handed by address to functions that store
        through that parameter (`rt2800_get_txwi_rxwi_size(dev, &txwi_size, &rxwi_size)`,
        whose switch stores `*txwi_size = TXWI_DESC_SIZE_4WORDS` in every case): the join
        of what they store. None when a call taking its address is not one we can read
        (no single definition, or no store through that parameter)."""
        fn, want = scope.fn, ("addr", ("id", name))
        if scope.depth >= MAX_DEPTH:
            return None
        value = None
        same = same_variable(fn, name, scope.at_byte)
        for site in fn.calls:
            if "&" not in site.args_text or name not in IDENT_RE.findall(site.args_text) or not same(site.byte):
                continue
            args = site.arguments()
            index = next((i for i, arg in enumerate(args) if arg == want), None)
            nodes = self.program.targets(site, scope.file.path) if index is not None else []
            if len(nodes) != 1:
                return None
            node, ref = nodes[0], self.program.functions[nodes[0]]
            if len(args) != len(ref.fn.params) or any(c[0] == id(ref.fn) for c in self._calls) or \
                    not _helper_sized(ref.fn) or self.builtins.in_asm_header(ref.path):
                return None  # read for this call only, as a helper's return is (or not at all)
            target = DEREF_MARK + ref.fn.params[index][0]
            stores = [a for a in ref.fn.assignments if a.kind == "deref" and a.target == target]
            if not stores or any(a.op != "=" for a in stores):
                return None
            at = Scope(scope.file, fn, scope.depth, site.byte, scope.field_tests)
            v = self.guarded(("call-store", node, index, args, id(fn), site.byte),
                             lambda: self._read_for_call(node, ref, args, at, lambda: self._join_stored(ref, stores, at),
                                                         ("stored", node, index)),
                             depth=scope.depth)
            if v.known:
                v = v.with_step(Step(FLOW, f"{ref.fn.name}() stores through '&{name}' of {fn.name}()",
                                     scope.file.path, site.line, function=fn.name, callee=ref.fn.name))
            value = v if value is None else join(value, v)
        return value

    def _join_stored(self, ref, stores: list, scope: Scope) -> Value:
        """The join of the values a callee stores through one of its pointer parameters."""
        value = None
        for a in stores:
            v = self.eval(a.value, Scope(ref.file, ref.fn, scope.depth + 1, a.byte))
            value = v if value is None else join(value, v)
        return value

    def _dereference(self, ir: tuple, scope: Scope) -> Value:
        """`*len` read after a plain `*len = 128;` in the same block, with nothing in
        between that could write it: what was stored. Anything else a pointer points to is
        unknown."""
        if ir[1][0] == "id" and scope.fn is not None:
            last = _reaching_assignment(scope.fn, ir[1][1], scope.at_byte, kind="deref")
            if last is not None:
                return self.guarded(("deref@", id(scope.fn), ir[1][1], last.byte),
                                    lambda: self.eval(last.value, Scope(scope.file, scope.fn, scope.depth + 1, last.byte)),
                                    depth=scope.depth)
        return unknown(WHY_DEREF)

    def _added_in_sequence(self, a, scope: Scope) -> Value | None:
        """`size = 0; size += ETH_HLEN + mtu; size += hdr_len;`: a `+=` outside any loop whose
        target was last set in an enclosing block, by `=` or by such a `+=`, adds to that
        value once. None when the chain back to a plain store does not resolve (the `+=`
        then grows without a bound, as in a loop)."""
        fn = scope.fn
        if fn is None or _loops_around(fn, a.byte):
            return None
        before = _reaching_assignment(fn, a.target, a.byte, ("=", "+="))
        if before is not None:
            prior = self.guarded(("local@", id(fn), a.target, before.byte),
                                 lambda: self.assigned(before, Scope(scope.file, fn, scope.depth, before.byte)),
                                 depth=scope.depth)
        elif self._untouched_param(fn, a.target, a.byte):
            # `if (!(len % 512)) len++;` on a parameter nothing wrote before: what was passed, plus one
            prior = self.param(a.target, Scope(scope.file, fn, scope.depth, a.byte))
        else:
            return None
        total = arith("+", prior, self.eval(a.value, scope))
        if not total.known or (total.hi is None and prior.hi is not None and not total.sources):
            return None
        if not total.sources:
            return total
        return total.with_step(Step(FLOW, f"{a.target} += {render(a.value)}", scope.file.path, a.line,
                                    function=fn.name))

    def _added_at_most_once(self, a, scope: Scope) -> Value | None:
        """`size = 0; if (mss) size += 4; if (ts) size += 12; else if (sack) size += 4;`: a
        local set once, then only added to, outside any loop, with its address handed to no
        call: after the addition `a`, it holds at least what was set and at most that plus
        every addition up to `a` (each runs once or not at all). None when the local is
        written otherwise, or an addition is unknown or unbounded."""
        fn, name = scope.fn, a.target
        writes = sorted((b for b in fn.assignments if b.kind == "local" and b.target == name), key=lambda b: b.byte)
        if not writes or writes[0].op != "=" or any(b.op != "+=" for b in writes[1:]) or \
                any(_loops_around(fn, b.byte) for b in writes[1:]):
            return None
        if _address_handed_on(fn, name):
            return None  # `f(&size)` may write it
        total = self.eval(writes[0].value, Scope(scope.file, fn, scope.depth, writes[0].byte))
        if not total.known or total.partial or total.sources or total.hi is None:
            return None
        lo, hi = total.lo, total.hi
        for b in writes[1:]:
            if b.byte > a.byte:
                break
            v = self.eval(b.value, Scope(scope.file, fn, scope.depth, b.byte))
            if not v.known or v.partial or v.sources or v.hi is None:
                return None
            hi += v.hi
        return Value(lo, hi)

    @staticmethod
    def _untouched_param(fn, name: str, at: int) -> bool:
        """Is `name` a parameter that no assignment before byte `at` writes, and no call
        before it names (`&len` handed to a function that may write it)?"""
        if not any(p == name for p, _ in fn.params):
            return False
        if any(a.target == name and a.kind == "local" and a.byte < at for a in fn.assignments):
            return False
        return not any(site.byte < at and name in IDENT_RE.findall(site.args_text) for site in fn.calls)

    def assigned(self, a, scope: Scope) -> Value:
        """The value an assignment stores (`x += n` grows without a bound)."""
        if a.op not in ("=",):
            if a.op not in ("+=", "*=", "<<=", "|="):
                return unknown(WHY_ARITHMETIC)
            counted = self._counted_up_to(a, scope) if a.op == "+=" and a.value_text == "1" else None
            if counted is not None:
                return counted
            summed = self._added_in_sequence(a, scope) if a.op == "+=" and a.kind == "local" else None
            if summed is None and a.op == "+=" and a.kind == "local":
                summed = self._added_at_most_once(a, scope)
            if summed is not None:
                return summed
            base = self.eval(a.value, scope)
            if a.op == "+=" and a.kind == "local" and base.known and base.hi is not None and \
                    base.hi <= self.kernel.page_size and scope.fn is not None and _loops_around(scope.fn, a.byte):
                return self._added_per_pass(a, base, scope)
            if a.op in ("+=", "*=", "<<="):
                return Value(0, None, base.sources, base.steps, True) if base.sources else unknown(WHY_ARITHMETIC)
            return base
        v = self.eval(a.value, scope)
        if not v.sources:
            return v
        return v.with_step(Step(FLOW, f"{a.target} = {render(a.value)}", scope.file.path, a.line,
                                function=scope.fn.name if scope.fn is not None else ""))

    def _added_per_pass(self, a, term: Value, scope: Scope) -> Value:
        """`bytes += xu->desc.bLength;` in a loop, the term within a page (a u8 field): the
        sum reaches a costly order only by how often the loop runs, not by the term's
        sources (a term that can pass a page on its own keeps them). So the sum is
        someone's to choose only where a loop around it compares against a count with
        sources (`for (i = 0; i < req.count; i++)`): at most what was stored before the
        loop plus the count's largest value times the term's, or without a bound when the
        count has none. Otherwise unknown: a walk over a list, a count of the driver's
        own, or a bounded count where more than the store before the loop and this one
        addition write the sum, or where loops nest (the bound would then be too low)."""
        fn = scope.fn
        for cond_text, start, end in fn.loops:
            if not start <= a.byte < end:
                continue
            for test in conjuncts(ir_from_text(cond_text)):
                limit = _loop_limit(test)
                count = self.eval(limit, Scope(scope.file, fn, scope.depth + 1, start)) if limit is not None else None
                if count is None or not count.known or not count.sources:
                    continue
                total = Value(0, None, count.sources | term.sources, count.steps)
                if count.hi is not None:
                    prior = self._stored_before_loop(a, start, scope)
                    if prior is None:
                        continue
                    passes = max(count.hi, 0)  # (from none to this many: a term below zero lowers the sum)
                    total = Value(prior.lo + passes * min(term.lo, 0), prior.hi + passes * max(term.hi, 0),
                                  total.sources | prior.sources, count.steps)
                return total.with_step(Step(FLOW, f"{a.target} += {render(a.value)} on each pass of the loop while "
                                                  f"{cond_text}", scope.file.path, a.line, function=fn.name))
        return unknown(WHY_ARITHMETIC)

    def _stored_before_loop(self, a, start: int, scope: Scope) -> Value | None:
        """The bounded value the loop starting at byte `start` adds to with `a`: the plain
        store before it, when that store and `a` are all that write the local and `a` is
        in that loop alone. None otherwise."""
        fn = scope.fn
        before = _reaching_assignment(fn, a.target, start)
        if before is None or len(_loops_around(fn, a.byte)) != 1 or _address_handed_on(fn, a.target) or \
                sorted(b.byte for b in fn.assignments if b.kind == "local" and b.target == a.target) != \
                sorted((before.byte, a.byte)):
            return None
        prior = self.eval(before.value, Scope(scope.file, fn, scope.depth + 1, before.byte))
        return prior if prior.known and not prior.partial and prior.hi is not None else None

    def _counted_up_to(self, a, scope: Scope) -> Value | None:
        """`for (order = 0; (PAGE_SIZE << order) < goal; order++)`: a counter stepped by one
        in a loop whose condition bounds it goes no further than where the loop leaves: goal's
        page order, or N for `order < N`. None when no loop around it says."""
        fn, name = scope.fn, a.target
        best: Value | None = None
        for cond_text, start, end in fn.loops:
            if not start <= a.byte < end:
                continue
            for c in conjuncts(ir_from_text(cond_text)):
                at_start = Scope(scope.file, fn, scope.depth + 1, start)
                bound = self._leaves_at(c, name, at_start) or self._halvings(c, name, start, end, at_start)
                if bound is not None and (best is None or bound.hi < best.hi):
                    best = bound
        if best is None:
            return None
        return best.with_step(Step(FLOW, f"{name} counts up to {best.hi} in the loop ({a.target}++)", scope.file.path,
                                   a.line, function=fn.name))

    def _halvings(self, cmp: tuple, name: str, start: int, end: int, scope: Scope) -> Value | None:
        """`while (sz > 1) { sz >>= 1; i++; }` (lpfc's power-of-two rounding): the counter
        counts how often the loop halves `sz`, at most the bit width of what sz held as the
        loop began, and the counter is whoever chose sz's to choose. None for any other loop."""
        if cmp[0] == "bin" and cmp[1] in (">", ">=", "!=") and cmp[2][0] == "id" and cmp[3][0] == "num":
            halved = cmp[2][1]
        elif cmp[0] == "id":
            halved = cmp[1]
        else:
            return None
        if halved == name:
            return None
        squashed = {f"{halved}>>1", f"{halved}/2"}
        if not any(b.kind == "local" and b.target == halved and start <= b.byte < end
                   and ((b.op in (">>=", "/=") and b.value_text.strip() == ("1" if b.op == ">>=" else "2"))
                        or (b.op == "=" and squash(b.value_text) in squashed))
                   for b in scope.fn.assignments):
            return None
        v = self._held_before(halved, start, scope)
        if v is None or not v.known or v.partial or v.lo < 0:
            return None
        bits = v.hi.bit_length() if v.hi is not None else 64
        return Value(0, bits, v.sources, v.steps, True)

    def _held_before(self, name: str, start: int, scope: Scope) -> Value | None:
        """What the local `name` may hold where the loop starting at `start` begins: the
        stores before it, and what the user or the callers put there (not the loop's own)."""
        fn = scope.fn
        values = [self.assigned(b, Scope(scope.file, fn, scope.depth, b.byte)) for b in fn.assignments
                  if b.kind == "local" and b.target == name and b.byte < start]
        user = self.sources.user_filled(name, scope)
        if user is not None:
            values.append(user)
        if not values and any(p == name for p, _ in fn.params):
            values.append(self.param(name, scope))
        return join_all(values)

    def _leaves_at(self, cmp: tuple, name: str, scope: Scope) -> Value | None:
        """The largest value of `name` once `cmp` (`name < N`, `(X << name) < G`) is false."""
        if cmp[0] != "bin" or cmp[1] not in ("<", "<=", ">", ">="):
            return None
        op, counter, limit = cmp[1], cmp[2], cmp[3]
        if op in (">", ">="):
            op, counter, limit = {">": "<", ">=": "<="}[op], limit, counter
        g = self.eval(limit, scope)
        if not g.known or g.hi is None:
            return None
        if counter == ("id", name):
            return g.bounded(0, g.hi + (1 if op == "<=" else 0))
        if counter[0] == "bin" and counter[1] == "<<" and counter[3] == ("id", name):
            x = self.eval(counter[2], scope)
            if not x.known or x.lo < 1:
                return None
            steps = max(g.hi - 1, 0) // x.lo
            return g.bounded(0, steps.bit_length() + (1 if op == "<=" else 0))
        return None

    def param(self, name: str, scope: Scope) -> Value:
        """A parameter: the join of the arguments its callers pass (or, while one call's
        returned value is read, the argument that call passes)."""
        fn = scope.fn
        index = next(i for i, (p, _) in enumerate(fn.params) if p == name)
        if scope.depth >= MAX_DEPTH:
            return self.truncated()
        call = next((c for c in reversed(self._calls) if c[0] == id(fn)), None)
        if call is not None:
            return self._argument(call, fn, name, index)
        node = self.program.find_node(fn, scope.file.path)
        if node is None:
            return unknown(WHY_PARAM_NO_CALLER)
        arms = self._branch_arms(node, scope.at_byte)
        # the tests on the way to the read here, then those the callees below need
        needed = dict(self.narrowing.field_tests_at(scope))
        for test, nonzero in scope.field_tests:
            needed.setdefault(test, nonzero)
        tests = tuple(sorted(needed.items()))
        key = ("param", node, index, arms, tests) if arms or tests else ("param", node, index)
        return self.guarded(key, lambda: self._from_callers(node, index, name, scope, arms, dict(tests),
                                                            self.sources.callback_param(node, index, scope)),
                            depth=scope.depth)

    def _argument(self, call: tuple, fn, name: str, index: int) -> Value:
        """The argument the call whose returned value is being read passes as `name`."""
        _, args, caller = call
        v = self.eval(args[index], Scope(caller.file, caller.fn, caller.depth + 1, caller.at_byte, caller.field_tests))
        if v.known and caller.fn is not None:
            v = v.with_step(Step(FLOW, f"{caller.fn.name}() passes {render(args[index])} as '{name}' of {fn.name}()",
                                 caller.file.path, _line_of(caller, fn.name), function=caller.fn.name, callee=fn.name))
        return v

    @property
    def oracle(self):
        """The analyses' one evaluator of branches on constants (a BranchOracle over this
        analysis' constants): the context analysis prunes witnesses with it too."""
        if self._oracle is None:
            from ..branches import BranchOracle  # branches imports this package

            self._oracle = BranchOracle(self.program, self.constant)
        return self._oracle

    def _branch_arms(self, node: str, at: int) -> tuple:
        """The arms of the function's branches on its parameters that hold byte `at`, as
        (branch index, then?) pairs: a parameter read there takes only the callers whose
        constants let control in (gve_rx_copy()'s `if (ctx) ... else napi_alloc_skb(napi,
        len)`: the callers passing `&rx->ctx` never reach the else)."""
        if not at:
            return ()
        branches = self.oracle.info(node).branches
        return tuple((i, ts <= at < te) for i, (_, ts, te, es, ee) in enumerate(branches)
                     if ts <= at < te or es <= at < ee)

    def _from_callers(self, node: str, index: int, name: str, scope: Scope, arms: tuple = (),
                      tests: dict | None = None, callback: Value | None = None) -> Value:
        """The join of what the callers pass; `callback`: what the core passes when it
        calls the function through the ops table it is bound in (Sources.callback_param),
        which then stands for every call through a pointer."""
        # Each caller calls at least once: more callers than the limit is enough
        # to know, without unpacking their bodies to list the call sites.
        many = self.program.graph.in_degree(node) > MAX_CALLERS
        callers = [] if many else list(self.program.callers(node))
        if many or len(callers) > MAX_CALLERS:
            return unknown(WHY_PARAM_MANY)
        if callback is not None:
            callers = [(caller, site) for caller, site in callers if site.callee]
            if not callers:
                return callback
        if not callers:
            return unknown(WHY_PARAM_NO_CALLER)
        value = callback
        here = self.program.functions[node].path
        point = _Point(scope.at_byte)
        for caller, site in callers:
            ref = self.program.functions[caller]
            if arms and self.oracle.dead(node, self.oracle.signature(caller, (), site, node), point):
                continue  # this caller's constants keep control out of the arm the read is in
            pending: tuple = ()
            if tests:
                known = self.narrowing.field_tests_at(Scope(ref.file, ref.fn, scope.depth + 1, site.byte))
                if _contradicts(tests, known):
                    continue  # the caller tested a field the callee tests the other way first
                pending = tuple((test, nonzero) for test, nonzero in sorted(tests.items()) if test not in known)
            if not same_driver(ref.path, here):
                # A caller in another subsystem: its value does not travel as proof
                # (hubs break chains); it only stops the interval from being bounded.
                foreign = unknown(WHY_PARAM_FOREIGN)
                value = foreign if value is None else join(value, foreign)
                continue
            args = site.arguments()
            if index >= len(args):
                v = unknown(WHY_PARAM_ARG)
            else:
                v = self.eval(args[index], Scope(ref.file, ref.fn, scope.depth + 1, site.byte, pending))
                if v.known:
                    v = v.with_step(Step(FLOW, f"{ref.fn.name}() passes {render(args[index])} as '{name}' of "
                                         f"{scope.fn.name}()", ref.path, site.line, function=ref.fn.name,
                                         callee=scope.fn.name))
            value = v if value is None else join(value, v)
        if value is None:
            return unknown(WHY_PARAM_NO_CALLER)  # no caller gets here
        if callback is None and self._called_through_pointers(node, callers):
            # An ops table's method (mt76's queue_ops->alloc): the calls through pointers
            # we resolved are not all there are (a receiver of no known type, a macro
            # hiding the call: mt76_queue_alloc()). What they pass proves a maximum at
            # least that large, no bound.
            value = join(value, unknown(WHY_PARAM_POINTER))
        if not value.known and not value.why.startswith(WHY_PARAM_FOREIGN):
            return unknown(WHY_PARAM_ARG, value)
        return value

    def _called_through_pointers(self, node: str, callers: list) -> bool:
        """Is the function bound into a struct of function pointers, or reached here by
        a call through one?"""
        if self._bound is None:
            self._bound = {bound for entries in self.program.bindings.values() for _, bound, _, _ in entries}
        return node in self._bound or any(not site.callee for _, site in callers)


HELPER_RETURNS = 6  # a function read per call returns at most this many expressions ...
HELPER_ASSIGNMENTS = 12  # ... and assigns at most this many times: a helper, not a subsystem


def _helper_sized(fn) -> bool:
    """Is `fn` small enough to be read for each call (a size helper, not a driver's whole
    receive path, which reading per call would walk again for every caller)?"""
    return len(fn.returns) <= HELPER_RETURNS and len(fn.assignments) <= HELPER_ASSIGNMENTS


class _CallMemo(dict):
    """The memo as one call's returned value is read: the scan's memo, but for the callee's
    locals and returns, which were kept for no call in particular; what is written stays
    here, for this call."""

    def __init__(self, base: dict, callee: int, node: str):
        super().__init__()
        self.base, self.callee, self.node = base, callee, node

    def _hidden(self, slot) -> bool:
        key = slot[0]
        return (key[0] in ("local", "local@") and key[1] == self.callee) or key == ("return", self.node)

    def __contains__(self, slot) -> bool:
        return dict.__contains__(self, slot) or (slot in self.base and not self._hidden(slot))

    def __getitem__(self, slot):
        if dict.__contains__(self, slot):
            return dict.__getitem__(self, slot)
        if self._hidden(slot):
            raise KeyError(slot)  # as `in` says: a ChainMap over this one looks no further
        return self.base[slot]


def _line_of(scope: Scope, callee: str) -> int:
    """The line of the call to `callee` nearest `scope`'s point, for a witness step."""
    fn = scope.fn
    calls = [c for c in fn.calls if c.callee == callee]
    if not calls:
        return fn.line
    return min(calls, key=lambda c: abs(c.byte - scope.at_byte)).line


def _contradicts(needed: dict, known: dict) -> bool:
    """Does a caller's field test at its call site (`if (hcd->localmem_pool)
    hcd_alloc_coherent(...)`) rule out the callee's path to the read (past `if
    (hcd->localmem_pool) return ...;`)? Two tests of one field of one struct type, in a
    caller and its callee, are taken to test one object: the object the driver passes down."""
    return any(known.get(key, truth) != truth for key, truth in needed.items())


class _Point(NamedTuple):
    """A byte of a function, as BranchOracle.dead() asks for a call site's."""

    byte: int


def _signed_terms(ir: tuple, sign: int = 1) -> list[tuple[int, tuple]]:
    """The terms of a sum `a + b - c` with their signs: [(1, a), (1, b), (-1, c)]."""
    if ir[0] == "bin" and ir[1] in ("+", "-"):
        return _signed_terms(ir[2], sign) + _signed_terms(ir[3], sign if ir[1] == "+" else -sign)
    return [(sign, ir)]


def _loops_around(fn, byte: int) -> list[tuple[int, int]]:
    """The spans of `fn`'s loops that hold `byte` (its statement may run any number of times)."""
    return [(start, end) for start, end in fn.loop_spans if start <= byte < end]


def _address_handed_on(fn, name: str) -> bool:
    """Is `&name` handed to a call of `fn` (which may then write the local)?"""
    return any("&" in site.args_text and name in IDENT_RE.findall(site.args_text) for site in fn.calls)


def _loop_limit(test: tuple) -> tuple | None:
    """The count a loop's comparison runs a counter up to: N of `i < N`, `i <= N`, `N > i`,
    `N >= i`, the counter a plain name. None for any other test (`(1 << order) < goal`
    runs log2(goal) times, not goal)."""
    if test[0] != "bin" or test[1] not in ("<", "<=", ">", ">="):
        return None
    counter, limit = (test[2], test[3]) if test[1] in ("<", "<=") else (test[3], test[2])
    return limit if counter[0] == "id" else None
