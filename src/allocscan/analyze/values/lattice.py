"""The value lattice: an interval of bytes, the user sources that reach it, and
the arithmetic on such values.

A `Value` is [lo, hi] (hi None = unbounded), the set of sources that make it
user-controlled, and a short witness (`steps`) of where it came from. `TOP`
is "unknown": nothing provable, which no rule reports (unknown is not big).
"""

from __future__ import annotations

from dataclasses import dataclass

WITNESS_STEPS = 8  # steps kept per value: a witness a maintainer checks in a minute
HUGE = 1 << 48  # a bound at or above this is a mask or a wrap-around, not an allocatable size


@dataclass(frozen=True, slots=True)
class Value:
    lo: int
    hi: int | None
    sources: frozenset = frozenset()
    steps: tuple = ()  # analyze.witness.Step, newest first: the allocation's end, back to the source
    known: bool = True

    @property
    def unbounded(self) -> bool:
        return self.hi is None

    def with_step(self, step) -> "Value":
        if not self.known:
            return self
        return Value(self.lo, self.hi, self.sources, (step,) + self.steps[:WITNESS_STEPS - 1], True)

    def bounded(self, lo: int, hi: int | None) -> "Value":
        """The same sources and witness, another interval."""
        return Value(lo, hi, self.sources, self.steps, True)

    def describe(self) -> str:
        if not self.known:
            return "unknown"
        hi = "unbounded" if self.hi is None else str(self.hi)
        return str(self.lo) if self.hi == self.lo else f"[{self.lo}, {hi}]"


TOP = Value(0, None, frozenset(), (), False)


def const(n: int) -> Value:
    return Value(max(n, 0), max(n, 0))


def join(a: Value, b: Value) -> Value:
    """Either value (two writers, two callers, two arms of a ternary)."""
    if not a.known or not b.known:
        # A user source still reaches the result, as far as the user can push it:
        # [0, 100] from the user joined with something unknown is the user's
        # [0, 100], not "user-controlled without a bound"; the unknown alternative
        # proves nothing either way ("unknown is not big").
        user = [v for v in (a, b) if v.known and v.sources]
        return user[0] if user else TOP
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    steps = a.steps if _witness_rank(a) >= _witness_rank(b) else b.steps
    return _unbounded_by_user_only(Value(min(a.lo, b.lo), hi, a.sources | b.sources, steps, True), (a, b))


def _unbounded_by_user_only(v: Value, operands: tuple[Value, ...]) -> Value:
    """An unbounded result keeps its user sources only when a user-controlled operand
    is unbounded itself; otherwise the missing bound is not the user's doing."""
    if v.hi is not None or not v.sources:
        return v
    if any(o.sources and o.hi is None for o in operands):
        return v
    return Value(v.lo, None, frozenset(), (), True)


# Source kinds a user sets (as opposed to data a device supplies): see sources.py.
SETTABLE_KINDS = ("configfs:", "sysfs:", "module_param:", "ioctl:", "debugfs:", "write:", "user:", "netlink:")


def _witness_rank(v: Value) -> tuple:
    """Which side's chain to show after a join: the one that makes the value big,
    preferring a source a user sets (configfs, module parameter, ioctl) over device data,
    then the shorter chain (md's raid_disks_store() -> mddev.raid_disks, not dm-raid's
    validated delta_disks through three more stores)."""
    settable = any(src.startswith(SETTABLE_KINDS) for src in v.sources)
    return (bool(v.steps), v.hi is None and bool(v.sources), settable, v.hi if v.hi is not None else 1 << 62,
            -len(v.steps))


def combine(a: Value, b: Value, lo: int, hi: int | None) -> Value:
    """The result of an operation on `a` and `b` whose interval is [lo, hi]."""
    if not a.known and not a.sources:
        return TOP
    if not b.known and not b.sources:
        return TOP
    steps = a.steps if a.sources or len(a.steps) >= len(b.steps) else b.steps
    known = a.known and b.known
    if not known:
        return Value(0, None, a.sources | b.sources, steps, True)
    lo = max(lo, 0)
    if hi is not None and hi >= HUGE:
        hi = None  # a mask or wrap-around, not a size anyone could allocate
    if hi is not None and hi < lo:
        # Unsigned wrap-around (a subtraction that may go negative): nothing provable,
        # and not the user's doing either.
        return TOP
    return _unbounded_by_user_only(Value(lo, hi, a.sources | b.sources, steps, True), (a, b))


def _mul(x, y):
    return None if x is None or y is None else x * y


def arith(op: str, a: Value, b: Value) -> Value:
    """`a op b` for a C binary operator."""
    if op == "+":
        return combine(a, b, a.lo + b.lo, None if a.hi is None or b.hi is None else a.hi + b.hi)
    if op == "-":
        lo = a.lo - (b.hi if b.hi is not None else a.lo)
        return combine(a, b, lo, None if a.hi is None else a.hi - b.lo)
    if op == "*":
        return combine(a, b, a.lo * b.lo, _mul(a.hi, b.hi) if not (a.hi == 0 or b.hi == 0) else 0)
    if op == "/":
        if b.lo == 0 and (b.hi is None or b.hi == 0):
            return TOP
        return combine(a, b, a.lo // (b.hi or max(b.lo, 1)) if b.hi else 0, None if a.hi is None else a.hi // max(b.lo, 1))
    if op in ("<<", ">>") and (b.lo < 0 or (b.hi is not None and b.hi < 0)):
        return TOP
    if op == "<<":
        if b.hi is None or b.hi > 64:
            return combine(a, b, a.lo << min(b.lo, 64), None)
        return combine(a, b, a.lo << b.lo, None if a.hi is None else a.hi << b.hi)
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
    return TOP


def min_all(vals: list[Value]) -> Value:
    """min(a, b, ...): bounded by the smallest known bound; user sources stay."""
    known = [v for v in vals if v.known and v.hi is not None]
    if not vals:
        return TOP
    if not known:
        if all(v.known for v in vals):
            return Value(min(v.lo for v in vals), None, frozenset().union(*(v.sources for v in vals)), vals[0].steps, True)
        return TOP
    hi = min(v.hi for v in known)
    lo = min(min(v.lo for v in vals if v.known), hi) if all(v.known for v in vals) else 0
    # A bound clamps user-controlled values: the sources stay, the interval is bounded.
    return Value(lo, hi, frozenset().union(*(v.sources for v in vals)), vals[0].steps, True)


def max2(a: Value, b: Value) -> Value:
    """max(a, b)."""
    if not a.known or not b.known:
        return join(a, b) if (a.sources or b.sources) else TOP
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    return Value(max(a.lo, b.lo), hi, a.sources | b.sources, a.steps or b.steps, True)


def cast(v: Value, limit: int | None) -> Value:
    """`(type)v` for a type whose largest value is `limit` (None: no narrowing known)."""
    if limit is not None and v.known and (v.hi is None or v.hi > limit):
        return Value(0 if v.hi is None or v.lo > limit else v.lo, limit, v.sources, v.steps, True)
    return v
