"""The value lattice: an interval of bytes, the user sources that reach it, and
the arithmetic on such values.

A `Value` is [lo, hi] (hi None = unbounded), the set of sources that make it
user-controlled, and a short witness (`steps`) of where it came from. An
unknown value (`TOP`, or `unknown(why)`) proves nothing, and no rule reports it
(unknown is not big); it says why it is unknown (`Value.why`, one of the WHY_*
reasons below, or "outer/inner" when a field or parameter hides the cause), so
that a census can say where recall is lost.

Partial knowledge: a value joined from alternatives some of which are unknown
(a field with a writer we cannot see, a parameter with an unknown caller) keeps
what the known ones prove, marked `partial`: its `hi` is then a value one
alternative provably reaches (its witness is in `steps`), a lower bound of the
maximum, not an upper bound. Unknown is not big, but proven is.

Bounds without a witness: a value whose maximum is not proven (unknown, or
partial) may still be proven to lie in an interval, its `bounds`: a guard
before the read (`if (sg_len > MAX_SG) return NULL;` on a length from a caller
we cannot see), a mask (`status & 0x1fff`), an unsigned type narrower than
the size (a `u8` count). Nothing says the bound is reached, so no rule reports
it, and it never changes what a rule sees (`known`, `lo`, `hi`); the census
counts a site whose bound stays small as proven small.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...kernel.tables import source_tables

# Why a value is unknown: where its evaluation stopped.
WHY_ARITHMETIC = "arithmetic"  # a possible division by zero, a negative shift, an operator not modelled
WHY_WRAPAROUND = "wraparound"  # a subtraction that may go below zero
WHY_BUDGET = "budget"  # the evaluation budget of the allocation site ran out
WHY_DEPTH = "depth"  # the hop limit (callers, fields, macros) was reached
WHY_CYCLE = "cycle"  # the value depends on itself
WHY_PARSE = "parse-error"  # an expression the parser left as text
WHY_NAME = "name-unresolved"  # an identifier with no local, parameter, enum, #define or global
WHY_MACRO = "macro-not-found"  # an ALL_CAPS call with no macro definition in the scan
WHY_CALL = "call-result"  # what a function returns
WHY_LOCAL = "local-unassigned"  # a local with no assignment seen (written through a pointer)
WHY_PARAM_NO_CALLER = "param-no-caller"  # a parameter of a function no direct call reaches
WHY_PARAM_MANY = "param-many-callers"  # more callers than the analysis follows
WHY_PARAM_FOREIGN = "param-other-subsystem"  # a caller in another subsystem (hubs break chains)
WHY_PARAM_ARG = "param-unknown-arg"  # a caller passes an unknown argument
WHY_PARAM_POINTER = "param-through-pointer"  # a function called through pointers: not every call is seen
WHY_FIELD_WRITER = "field-unknown-writer"  # a store into the field is unknown
WHY_FIELD_UNWRITTEN = "field-unwritten"  # no store into the field in the scan
WHY_FIELD_HUB = "field-hub"  # written by several drivers, none of them the reader's file
WHY_FIELD_UNTYPED = "field-untyped"  # the receiver's struct type is unknown
WHY_DEVICE = "device"  # data a device supplies (a descriptor field, a register)
WHY_GUARD = "guard-unseen"  # checked against a bound the analysis cannot evaluate
WHY_UNREACHED = "unreached"  # no value proven passes the checks before the point
WHY_SIZEOF = "sizeof"  # sizeof of a type whose layout is unknown
WHY_POINTER = "pointer"  # the address of an object, a string
WHY_INIT = "init-before-user"  # __init code: a value users set later cannot reach it
WHY_COMPUTED_ORDER = "computed-order"  # an allocation's page order, computed from something unknown
WHY_UNSIZED = "no-size-argument"  # kstrdup(), kasprintf(): the size is a string's
WHY_ELEMENT = "array-element"  # an element of an array (a table indexed at run time)
WHY_DEREF = "dereference"  # what a pointer points to

WITNESS_STEPS = 8  # steps kept per value: a witness a maintainer checks in a minute
HUGE = 1 << 48  # a bound at or above this is a mask or a wrap-around, not an allocatable size


@dataclass(frozen=True, slots=True)
class Value:
    lo: int
    hi: int | None
    sources: frozenset = frozenset()
    steps: tuple = ()  # analyze.witness.Step, newest first: the allocation's end, back to the source
    known: bool = True
    why: str = ""  # an unknown value: why (WHY_*)
    # some alternatives are unknown: `hi` is what a known one provably reaches, not an upper
    # bound (`lo` stays a lower bound of every value); never set with sources, whose own
    # range proves how far they reach. A partial value's `why` says what hid the rest.
    partial: bool = False
    # (lo, hi) every value lies in, when `hi` is no bound (unknown or partial values): a
    # bound only, never reported (see the module's docstring); None: nothing known
    bounds: tuple | None = None

    @property
    def unbounded(self) -> bool:
        return self.hi is None

    def with_step(self, step) -> "Value":
        if not self.known:
            return self
        return Value(self.lo, self.hi, self.sources, (step,) + self.steps[:WITNESS_STEPS - 1], True, self.why,
                     self.partial, self.bounds)

    def bounded(self, lo: int, hi: int | None) -> "Value":
        """The same sources, witness and partiality, another interval."""
        return Value(lo, hi, self.sources, self.steps, True, self.why, self.partial, self.bounds)

    def describe(self) -> str:
        if not self.known:
            return "unknown"
        hi = "unbounded" if self.hi is None else str(self.hi)
        return str(self.lo) if self.hi == self.lo else f"[{self.lo}, {hi}]"


def interval(v: "Value") -> tuple[int, int | None]:
    """The interval every value `v` may take lies in: its own when its maximum is proven,
    else its bounds (a partial value's `lo` is a lower bound of all its values)."""
    if v.known and not v.partial:
        return v.lo, v.hi
    if v.bounds is not None:
        return v.bounds
    return (v.lo if v.known else 0), None


def with_bounds(v: "Value", lo: int, hi: int | None, hull: bool = False) -> "Value":
    """`v`, unknown or partial, known to lie in [lo, hi] besides what it had (`hull`: in
    place of what it had: a join's bounds are its operands' hull)."""
    if v.known and not v.partial:
        return v
    if not hull:
        had_lo, had_hi = interval(v)
        lo = max(lo, had_lo)
        hi = had_hi if hi is None else (hi if had_hi is None else min(hi, had_hi))
    if hi is not None and hi < lo:
        return v  # no value passes both: a path the bounds do not reach, nothing to add
    bounds = (max(lo, 0), hi) if (hi is not None or lo > 0) else None
    return v if bounds == v.bounds else _rebound(v, bounds)


def _rebound(v: "Value", bounds: tuple | None) -> "Value":
    """`v` with other bounds (dataclasses.replace() is several times slower, and this runs
    for most unknown values the analysis meets)."""
    return Value(v.lo, v.hi, v.sources, v.steps, v.known, v.why, v.partial, bounds)


def unbounded(v: "Value") -> "Value":
    """`v` without its bounds: the result of an operation on it they say nothing of."""
    return v if v.bounds is None else _rebound(v, None)


def mapped(v: "Value", f) -> "Value":
    """`v`, unknown or partial, put through the non-decreasing function `f` (ALIGN,
    roundup_pow_of_two, get_order): its bounds mapped, or none when it had no upper one."""
    if v.known and not v.partial:
        return v
    lo, hi = interval(v)
    if hi is None:
        return unbounded(v)
    return with_bounds(v, f(lo), f(hi), hull=True)


def unsigned_max(type_max: int | None) -> int | None:
    """`type_max` when it is an unsigned type's (0xFF, 0xFFFF, 0xFFFFFFFF), else None: a
    signed value may be negative, and a negative size is a huge one."""
    return type_max if type_max is not None and type_max.bit_length() % 8 == 0 else None


def held_in(value: "Value", type_max: int | None) -> "Value":
    """What a variable of an integer type whose largest value is `type_max` holds once
    `value` is stored into it: the store truncates (sky2's u16 rx_data_size holds at most
    65535 of a copybreak the user may set to anything). A maximum only one writer proves
    that the type cannot hold proves nothing, but an unsigned type bounds it."""
    if type_max is not None and (not value.known or value.partial) and unsigned_max(type_max) is not None:
        value = with_bounds(value, 0, type_max)
    if type_max is None or not value.known or (value.hi is not None and value.hi <= type_max):
        return value
    if value.partial:
        wrapped = unknown(WHY_WRAPAROUND)
        return with_bounds(wrapped, 0, type_max) if unsigned_max(type_max) is not None else wrapped
    return value.bounded(value.lo if 0 <= value.lo <= type_max else 0, type_max)


TOP = Value(0, None, frozenset(), (), False)
_UNKNOWN: dict[str, Value] = {"": TOP}


def unknown(why: str, inner: Value | None = None) -> Value:
    """An unknown value, and why: `inner` is the unknown value behind it, whose reason is
    kept after the outer one ("field-unknown-writer/call-result"). One object per reason."""
    if inner is not None and inner.why:
        why = f"{why}/{inner.why.partition('/')[0]}"
    value = _UNKNOWN.get(why)
    if value is None:
        value = _UNKNOWN[why] = Value(0, None, frozenset(), (), False, why)
    return value


def const(n: int) -> Value:
    return Value(max(n, 0), max(n, 0))


def join(a: Value, b: Value) -> Value:
    """Either value (two writers, two callers, two arms of a ternary)."""
    return _bounded_by_both(_join(a, b), a, b, min)


def join_all(values: list[Value]) -> Value | None:
    """Any of `values` (a field's or a local's several stores): join() of them all, None
    for none."""
    result = None
    for value in values:
        result = value if result is None else join(result, value)
    return result


def _bounded_by_both(result: Value, a: Value, b: Value, low) -> Value:
    """`result`, of `a` and `b`, unknown or partial: within both operands' intervals (up to
    the larger maximum; `low` picks the lower end: min for a join, max for max())."""
    if result.known and not result.partial:
        return result
    (alo, ahi), (blo, bhi) = interval(a), interval(b)
    if ahi is None or bhi is None:
        return unbounded(result)
    return with_bounds(result, low(alo, blo), max(ahi, bhi), hull=True)


# The reports ask how far a source can push a value: a source's range joined with an
# unknown alternative is the source's (what the user reaches is proven, "unknown is not
# big"). The recall census asks for an upper bound: with this set, such a join is partial
# (its maximum reachable, no bound). Only benchmarks/recall_census.py sets it.
UPPER_BOUNDS_ONLY = False


def _join(a: Value, b: Value) -> Value:
    if not a.known or not b.known:
        # A user source still reaches the result, as far as the user can push it:
        # [0, 100] from the user joined with something unknown is the user's
        # [0, 100], not "user-controlled without a bound"; the unknown alternative
        # proves nothing either way ("unknown is not big").
        user = [v for v in (a, b) if v.known and v.sources]
        if user and not UPPER_BOUNDS_ONLY:
            return user[0]
        return _proven_part(a, b)
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    steps = a.steps if _witness_rank(a, hi) >= _witness_rank(b, hi) else b.steps
    sources = a.sources | b.sources
    partial = _partial(a, b, sources)
    sources = _sources_of_the_maximum(a, b, sources)
    return _unbounded_by_user_only(Value(min(a.lo, b.lo), hi, sources, steps, True, _hidden(a, b) if partial else "",
                                         partial), (a, b))


# A source whose values all fit in a page is never what makes a joined value large.
SMALL_SOURCE = 4096


def _sources_of_the_maximum(a: Value, b: Value, sources: frozenset) -> frozenset:
    """The sources of a join that can bring it near its maximum: an alternative at most
    SMALL_SOURCE, below the other's maximum, does not (yellowfin's MTU: a module parameter
    stores any int, `ip link set mtu` at most ether_setup()'s max_mtu of 1500; the size is
    the module parameter's, not the user's netlink request)."""
    for small, other in ((a, b), (b, a)):
        if small.sources and small.hi is not None and small.hi <= SMALL_SOURCE \
                and (other.hi is None or other.hi > small.hi) and other.sources - small.sources:
            return sources - (small.sources - other.sources)
    return sources


def _partial(a: Value, b: Value, sources: frozenset) -> bool:
    """Is a result of `a` and `b` partly known? Not when a user or device source reaches it:
    how far the source pushes it is proven by the source, whatever the other alternatives."""
    return (a.partial or b.partial) and (not sources or UPPER_BOUNDS_ONLY)


def _hidden(*values: Value) -> str:
    """What hid the unknown alternatives of partial operands (the first one's reason)."""
    return next((v.why for v in values if v.partial and v.why), "")


def _proven_part(a: Value, b: Value) -> Value:
    """One alternative known, the other not: the known one's maximum is proven reachable
    (partial knowledge), nothing else; both unknown, or the known one without a bound:
    unknown."""
    known = a if a.known else b if b.known else None
    if known is None or known.hi is None:
        return a if not a.known else b
    hidden = b.why if a.known else a.why
    return Value(0, known.hi, known.sources, known.steps, True, known.why or hidden, True)


def _unbounded_by_user_only(v: Value, operands: tuple[Value, ...]) -> Value:
    """An unbounded result keeps its user sources only when a user-controlled operand
    is unbounded itself; otherwise the missing bound is not the user's doing."""
    if v.hi is not None or not v.sources:
        return v
    if any(o.sources and o.hi is None for o in operands):
        return v
    return Value(v.lo, None, frozenset(), (), True, v.why if v.partial else "", v.partial)


def _witness_rank(v: Value, joined_hi: int | None) -> tuple:
    """Which side's chain to show after a join: the one that makes the value big (the
    joined maximum is its), preferring a source a user sets (configfs, module parameter,
    ioctl) over device data, then the shorter chain (md's raid_disks_store() ->
    mddev.raid_disks, not dm-raid's validated delta_disks through three more stores)."""
    settable = any(map(source_tables().is_user, v.sources))
    return (bool(v.steps), v.hi is None and bool(v.sources), v.hi == joined_hi, settable,
            v.hi if v.hi is not None else 1 << 62, -len(v.steps))


def combine(a: Value, b: Value, lo: int, hi: int | None) -> Value:
    """The result of an operation on `a` and `b` whose interval is [lo, hi]."""
    if not a.known and not a.sources:
        return a
    if not b.known and not b.sources:
        return b
    steps = a.steps if a.sources or len(a.steps) >= len(b.steps) else b.steps
    lo = max(lo, 0)
    if hi is not None and hi >= HUGE:
        hi = None  # a mask or wrap-around, not a size anyone could allocate
    if hi is not None and hi < lo:
        # Unsigned wrap-around (a subtraction that may go negative): nothing provable,
        # and not the user's doing either.
        return unknown(WHY_WRAPAROUND)
    sources = a.sources | b.sources
    partial = _partial(a, b, sources)
    return _unbounded_by_user_only(Value(lo, hi, sources, steps, True, _hidden(a, b) if partial else "", partial),
                                   (a, b))


SMALL_ADDEND = 1 << 20  # an unknown addend bounded this low is a header's room, not a size


def _plus_bounded_unknown(source: Value, other: Value) -> Value | None:
    """`source + other` where a user's or a device's value meets an unknown one that is
    bounded, non-negative and small: pktgen's `cur_pkt_size + 64 + LL_RESERVED_SPACE(dev)`,
    a size the user writes to /proc plus a device's header room that drivers set. The
    source still reaches its maximum plus the addend's least value, which is what a
    source's range claims (the true maximum may be up to the addend's bound higher):
    the rules report that, where an unknown addend used to hide the source entirely.
    None when that does not apply."""
    if not source.known or source.partial or not source.sources or other.known or other.sources:
        return None
    lo, hi = interval(other)
    if lo < 0 or hi is None or hi > SMALL_ADDEND:
        return None
    return Value(source.lo + lo, None if source.hi is None else source.hi + lo, source.sources, source.steps)


def _may_go_negative(result: Value, lo: int) -> Value:
    """A difference whose smallest value is below zero (`(status & 0x7ff) - 4` of a
    descriptor length the device may report as 2): its maximum is proven, but a negative
    size is a huge one, and a u16 it is stored into wraps (hamachi's pkt_len): no bound.
    Partial, as a maximum one alternative proves. Not when a user or device source
    reaches it, as in a join: how far the source pushes it is proven by the source, and
    the checks that keep a user's difference above zero are often between two values
    (`if (start > size) return; len = size - start;`), which the analysis does not relate."""
    if lo >= 0 or not result.known or result.partial or result.sources:
        return result
    return Value(result.lo, result.hi, result.sources, result.steps, True, WHY_WRAPAROUND, True)


def _mul(x, y):
    return None if x is None or y is None else x * y


# Operators a partial operand may go through with its proven maximum still proven: those
# that never make the result smaller as the left operand grows (and, but for - and /, the
# right one too).
_MONOTONE = frozenset({"+", "*", "<<", "-", "/", "==", "!=", "<", ">", "<=", ">=", "&&", "||"})


def arith(op: str, a: Value, b: Value) -> Value:
    """`a op b` for a C binary operator."""
    result = _arith(op, a, b)
    if (result.known and not result.partial) or (a.bounds is None and b.bounds is None and op not in _BOUNDING):
        return result
    (alo, ahi), (blo, bhi) = interval(a), interval(b)
    if op == "-" and (bhi is None or alo - bhi < 0):
        # a difference that may go below zero wraps to a huge size: no bound
        return unbounded(result)
    bound = _arith(op, Value(alo, ahi), Value(blo, bhi))
    if not bound.known or bound.partial or (bound.hi is None and bound.lo == 0):
        return unbounded(result)
    return with_bounds(result, bound.lo, bound.hi, hull=True)


# Operators that bound their result whatever one operand is: `x & 0xfff`, `x % n`, a comparison.
_BOUNDING = frozenset({"&", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"})


def _arith(op: str, a: Value, b: Value) -> Value:
    if (a.partial or b.partial) and (op not in _MONOTONE or (b.partial and op in ("-", "/"))):
        return unknown(WHY_ARITHMETIC)  # what the known alternative reaches says nothing here
    if op == "+":
        added = _plus_bounded_unknown(a, b) or _plus_bounded_unknown(b, a)
        if added is not None:
            return added
        return combine(a, b, a.lo + b.lo, None if a.hi is None or b.hi is None else a.hi + b.hi)
    if op == "-":
        lo = a.lo - (b.hi if b.hi is not None else a.lo)
        return _may_go_negative(combine(a, b, lo, None if a.hi is None else a.hi - b.lo), lo)
    if op == "*":
        return combine(a, b, a.lo * b.lo, _mul(a.hi, b.hi) if not (a.hi == 0 or b.hi == 0) else 0)
    if op == "/":
        if b.lo == 0 and (b.hi is None or b.hi == 0):
            return b if not b.known else unknown(WHY_ARITHMETIC)
        return combine(a, b, a.lo // (b.hi or max(b.lo, 1)) if b.hi else 0, None if a.hi is None else a.hi // max(b.lo, 1))
    if op in ("<<", ">>") and (b.lo < 0 or (b.hi is not None and b.hi < 0)):
        return unknown(WHY_ARITHMETIC)
    if op == "<<":
        if b.hi is None or b.hi > 64:
            return combine(a, b, a.lo << min(b.lo, 64), None)
        shifted = combine(a, b, a.lo << b.lo, None if a.hi is None else a.hi << b.hi)
        if shifted.known and shifted.hi is None and not shifted.sources and b.sources and a.known and a.lo > 0:
            # `1 << order` with the order someone chose up to 63 (lpfc's power-of-two trace
            # size): past any size, and theirs, though the order itself is bounded
            return Value(shifted.lo, None, b.sources | a.sources, b.steps, True)
        return shifted
    if op == ">>":
        return combine(a, b, a.lo >> min(b.hi if b.hi is not None else 64, 64), None if a.hi is None else a.hi >> min(b.lo, 64))
    if op == "&":
        hi = b.hi if a.hi is None else (a.hi if b.hi is None else min(a.hi, b.hi))
        if a.lo == a.hi and b.lo == b.hi and a.hi is not None and b.hi is not None:
            return combine(a, b, a.lo & b.lo, a.lo & b.lo)
        return combine(a, b, 0, hi)
    if op == "|" or op == "^":
        if a.lo == a.hi and b.lo == b.hi and a.hi is not None and b.hi is not None:
            v = a.lo | b.lo if op == "|" else a.lo ^ b.lo
            return combine(a, b, v, v)
        hi = None if a.hi is None or b.hi is None else (1 << max(a.hi.bit_length(), b.hi.bit_length())) - 1
        return combine(a, b, 0, hi)
    if op == "%":
        return combine(a, b, 0, None if b.hi is None else max(b.hi - 1, 0))
    if op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
        return combine(a, b, 0, 1)
    return unknown(WHY_ARITHMETIC)


def min_all(vals: list[Value]) -> Value:
    """min(a, b, ...): bounded by the smallest known bound; user sources stay."""
    result = _min_all(vals)
    if not vals or (result.known and not result.partial):
        return result
    intervals = [interval(v) for v in vals]
    his = [hi for _, hi in intervals if hi is not None]
    if not his:
        return result
    return with_bounds(result, min(lo for lo, _ in intervals), min(his), hull=True)


def _min_all(vals: list[Value]) -> Value:
    # a partial operand's maximum is what it reaches, not a bound: only the others bound min()
    known = [v for v in vals if v.known and v.hi is not None and not v.partial]
    if not vals:
        return TOP
    if not known and any(v.partial for v in vals) and all(v.known for v in vals):
        partial = [v for v in vals if v.partial]
        sources = frozenset().union(*(v.sources for v in vals))
        return Value(min(v.lo for v in vals), min(v.hi for v in partial), sources, partial[0].steps, True,
                     "" if sources else _hidden(*partial), not sources)
    if not known:
        if all(v.known for v in vals):
            sources = frozenset().union(*(v.sources for v in vals))
            partial = any(v.partial for v in vals) and not sources
            return Value(min(v.lo for v in vals), None, sources, _steps_of(vals), True,
                         _hidden(*vals) if partial else "", partial)
        return next(v for v in vals if not v.known)
    if not all(v.known for v in vals) and any(v.sources for v in vals):
        # min(len, SOME_MAX) with SOME_MAX unknown: the user's value is capped by something we
        # cannot see, neither as large as the user can make it nor bounded by what we know
        return unknown(WHY_GUARD)
    if not all(v.known for v in vals) and not any(v.lo == v.hi and not v.sources for v in known):
        # min(x, y) with x unknown and y a range, not a bound the code states (an skb's header
        # length is min(the dissector's offset, len)): at most y's maximum, but nothing says
        # it is reached: bounds only (min_all adds them)
        return unbounded(next(v for v in vals if not v.known))
    hi = min(v.hi for v in known)
    lo = min(min(v.lo for v in vals if v.known), hi) if all(v.known for v in vals) else 0
    # A bound clamps user-controlled values: the sources stay, the interval is bounded.
    # The witness is the way to the bound, when it has one (sit's min(t->prl_count, cmax):
    # the user's cmax, not a reset of the count the user grows).
    bounding = min(known, key=lambda v: v.hi)
    return Value(lo, hi, frozenset().union(*(v.sources for v in vals)), bounding.steps or _steps_of(vals), True)


def _steps_of(vals: list[Value]) -> tuple:
    """The witness of min() of `vals` with no operand shown bounding: the first with sources."""
    return next((v.steps for v in vals if v.sources and v.steps), vals[0].steps)


def max2(a: Value, b: Value) -> Value:
    """max(a, b)."""
    return _bounded_by_both(_max2(a, b), a, b, max)


def _max2(a: Value, b: Value) -> Value:
    if not a.known or not b.known:
        # max(x, K) is at least K whatever x is: K's bounds are proven, its maximum no longer a bound
        joined = join(a, b)
        known = a if a.known else b
        return joined.bounded(known.lo, joined.hi) if joined.known and not joined.sources else joined
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    sources = a.sources | b.sources
    partial = _partial(a, b, sources)
    return Value(max(a.lo, b.lo), hi, sources, a.steps or b.steps, True, _hidden(a, b) if partial else "", partial)


def cast(v: Value, limit: int | None) -> Value:
    """`(type)v` for a type whose largest value is `limit` (None: no narrowing known)."""
    if (not v.known or v.partial) and unsigned_max(limit) is not None:
        return with_bounds(v, 0, limit)
    if limit is not None and v.known and (v.hi is None or v.hi > limit):
        return v.bounded(0 if v.hi is None or v.lo > limit else v.lo, limit)
    return v
