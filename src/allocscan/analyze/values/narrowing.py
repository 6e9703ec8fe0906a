"""Narrowing: what the control flow proves about a value at a program point.

A guard that leaves before the point (`if (len > MAX) return -EINVAL;`) and the
conditions of the `if` branches around it bound the expression they compare; a
store checked right after it (`q->flows = nla_get_u32(...); if (q->flows >
65536) return -EINVAL;`) holds only what passed the check. A check against a
bound the analysis cannot evaluate makes the value unknown, neither unbounded
nor as large as its type.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...exprs import IDENT_RE, conjuncts, disjuncts, expand_macro, identifiers, ir_from_text, render, without_hints
from ...facts import EXIT_ERROR, EXIT_NONE, EXIT_OTHER, FunctionFacts
from ...kernel.tables import allocators, families, source_tables, value_tables
from ...link import same_driver
from ..witness import FLOW, Step
from .lattice import WHY_GUARD, WHY_UNREACHED, Value, interval, unknown, unsigned_max, with_bounds
from .scope import MAX_DEPTH, Scope

if TYPE_CHECKING:
    from .evaluator import ValueAnalysis

# Compound assignments that never make the target larger than it was.
SHRINKING_OPS = frozenset({"-=", "&=", ">>=", "/=", "%="})
# Checks bound an unknown value (bounds only: lattice) where it is read this many hops from
# the allocation at most: the allocating function and the ones it reads directly (a check
# deeper down seldom bounds a size still unknown at the site, and reading every check of
# every function the evaluation visits cost a fifth of the analysis)
BOUNDS_DEPTH = 1

_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "!=": "=="}
_MIRRORED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_MAX_CHECKING_CALLERS = 8  # a field checked by every caller: the callers looked at
_MACRO_DEPTH = 3  # function-like macros expanded when spelling out a check's arithmetic
_CALLEE_CHECK_FLOOR = 1 << 16  # a value this small needs no checking function to bound it (an allocation may)


class Narrowing:
    def __init__(self, analysis: "ValueAnalysis"):
        self.analysis = analysis
        self.program = analysis.program
        self._bounds_memo: dict[tuple, tuple] = {}  # (fn, text, point, interval, depth) -> checked interval
        self._no_thresholds = False  # read module parameters in checks as the admin may set them
        # The saturating helpers of overflow.h, by the operator they compute: size_add(a, b)
        # is a + b, size_mul()/array_size() a product (macros.toml's two-argument sums and products).
        self._checked = {name: "+" if spec.eval == "sum" else "*" for name, spec in value_tables().macros.items()
                         if spec.eval in ("sum", "product") and spec.args == 2}
        # struct_size(p, member, n) is sizeof(*p) + n * sizeof(p->member[0]): a check of it
        # bounds n as a factor of a summand (macros.toml's flexible_struct/_type)
        # le16_to_cpu(x), ntohs(x): the check reads x (sources.toml's [endian])
        self._endian = frozenset(source_tables().endian)
        self._flexible = {name for name, spec in value_tables().macros.items()
                          if spec.eval in ("flexible_struct", "flexible_type") and spec.args == 3}
        self._field_tests: dict[tuple[int, int], dict] = {}  # (id(fn), byte) -> field_tests_at()

    def forget(self) -> None:
        """Drop the checked bounds and field tests kept for the whole scan
        (ValueAnalysis.forget)."""
        self._bounds_memo.clear()
        self._field_tests.clear()

    def narrow(self, text: str, value: Value, scope: Scope) -> Value:
        """Apply what the control flow proves at the program point: `if (x > MAX) return ...;`
        guards before it, and the conditions of the `if` branches around it."""
        fn = scope.fn
        if fn is None or not scope.at_byte or not (fn.guards or fn.branches or fn.conditions):
            return value
        if not value.known:
            return self._bounds_of_unknown(text, value, scope)
        lo, hi, capped_unseen = self._checked_interval(text, value.lo, value.hi, scope, self._users_only(value))
        if value.sources and (hi is None or hi == value.hi):
            by_arms = self._bounded_in_both_arms(text, scope)
            if by_arms is not None and (hi is None or by_arms < hi):
                hi = by_arms
        if value.sources:
            # (a small count still makes a big table: an allocation that took it bounds it)
            checked = self._checked_by_callee(text, Scope(scope.file, fn, scope.depth, scope.at_byte),
                                              allocations_only=hi is not None and hi <= _CALLEE_CHECK_FLOOR)
            if checked is not None:
                hi = checked if hi is None else min(hi, checked)
        if capped_unseen and (hi is None or hi == value.hi):
            # validated against a bound we cannot evaluate (`val > max_mpdu_len(phy)`): unknown,
            # neither unbounded nor as large as its type (a u32 netlink attribute). What was
            # proven before the check still holds of whatever passes it: bounds only
            # (`pkt_len = (status >> 16) & 0x7ff; if (pkt_len < rx_copybreak ...)`), unless
            # the value may be negative, which a size reads as huge.
            guarded = unknown(WHY_GUARD)
            if hi is not None and not value.partial and lo >= 0:
                return with_bounds(guarded, lo, hi)
            return guarded
        if value.sources and hi is not None and hi > 1 and hi & (hi - 1) and _power_of_two_at(text, fn, scope.at_byte):
            hi = 1 << (hi.bit_length() - 1)  # vhost's ring size: at most 0xffff and a power of two
        if (lo, hi) == (value.lo, value.hi):
            return value
        if hi is not None and hi < lo:
            # No value we proved passes the checks before this point: what we proved does
            # not reach it (via-rhine's rx_status, written by the device, is only the
            # DescOwn the driver stores as far as the stores go: its copy-break arm
            # `if (pkt_len < rx_copybreak)` would see 32764 < 1518). Nothing is proven here,
            # but whatever does reach the point passed the checks: bounds only (lattice).
            return self._bounds_of_unknown(text, unknown(WHY_UNREACHED), scope)
        if value.partial and hi != value.hi:
            # the alternative that proved the maximum does not pass this check: nothing is proven
            return unknown(WHY_GUARD)
        return value.bounded(lo, hi)

    def _bounded_in_both_arms(self, text: str, scope: Scope) -> int | None:
        """The largest value the local `text` leaves an if/else with, when each arm bounds
        it (a check that leaves, or a clamp) and the read follows the if/else on every
        path: smack's `if (format == FIXED) { if (count > LOADLEN) return -EINVAL; } else
        { if (count >= PAGE_SIZE) count = PAGE_SIZE - 1; }` before memdup_user_nul(buf,
        count). None unless both arms bound it."""
        fn, at = scope.fn, scope.at_byte
        if not IDENT_RE.fullmatch(text) or scope.depth > BOUNDS_DEPTH:
            return None
        for cond_text, ts, te, es, ee, kind, _ in fn.conditions:
            if kind != EXIT_NONE or es == ee or ee > at or te > es:
                continue
            if not on_every_path(fn, ts - 1, at) or any(ls < ts <= le and not ls <= at < le for ls, le in fn.loop_spans):
                continue  # inside an arm or loop the read is not in: it may not have run
            if any(a.kind == "local" and a.target == text and ee <= a.byte < at for a in fn.assignments):
                continue  # stored again after it
            bounds = [self._arm_bound(text, start, end, scope) for start, end in ((ts, te), (es, ee))]
            if None not in bounds:
                return max(bounds)
        return None

    def _arm_bound(self, text: str, start: int, end: int, scope: Scope) -> int | None:
        """The largest value the local `text` can hold at the end of the arm [start, end):
        a clamp in it (`if (x >= MAX) x = MAX - 1;`), or, when the arm stores nothing into
        it, the checks it passes there (`if (x > MAX) return -EINVAL;`); None if neither."""
        fn = scope.fn
        if not self._bounds_in(fn, text, start, end):
            return None
        at_end = Scope(scope.file, fn, scope.depth + 1, end - 1)
        if any(a.kind == "local" and a.target == text and start <= a.byte < end for a in fn.assignments):
            passed = any(p == text for p, _ in fn.params)
            return self.clamped_local(text, Value(0, None), at_end, passed=passed).hi
        _, hi, _ = self._checked_interval(text, 0, None, at_end)
        return hi

    @staticmethod
    def _bounds_in(fn: FunctionFacts, name: str, start: int, end: int) -> bool:
        """Does [start, end) hold a test of `name` (a check or a clamp's `if`)?"""
        return any(start <= g.end_byte <= end and name in IDENT_RE.findall(g.cond_text) for g in fn.guards) or \
            any(start <= ts < end and name in IDENT_RE.findall(c) for c, ts, *_ in fn.conditions)

    def _checked_interval(self, text: str, lo: int, hi: int | None, scope: Scope,
                          users_only: bool = False) -> tuple[int, int | None, bool]:
        """[lo, hi] narrowed by the comparisons false at the point, and whether one of them
        bounds `text` by something the analysis cannot evaluate. `users_only`: `text` is
        what users set, and no device: a check against a capacity the device reports
        (mwl8k's `if (mc_count > priv->num_mcaddrs)`, the firmware's filter table size)
        bounds it by what real hardware says, which the device's field type (u16) is not."""
        fn, capped_unseen = scope.fn, False
        for cmp, where in _false_at(fn, scope.at_byte):
            if cmp is None:
                continue
            cleared = _bits_cleared(cmp, text, hi, Scope(scope.file, fn, scope.depth + 1, where), self.analysis)
            if cleared is not None:
                hi = cleared
                continue
            bound = self.leaving_bound(cmp, text, Scope(scope.file, fn, scope.depth + 1, where))
            if bound is None:
                continue
            kind, n = bound
            if kind == "hi" and n is not None and users_only and \
                    self._device_capacity(cmp, text, Scope(scope.file, fn, scope.depth + 1, where)):
                n = None  # a user's count against the device's own table size: bounded, not by the type
            if kind == "hi" and n is None:
                capped_unseen = True  # `if (len > fw_size) return`: bounded, by something we cannot see
            elif kind == "hi":
                hi = n if hi is None else min(hi, n)
            else:
                lo = max(lo, n)
        return lo, hi, capped_unseen

    def _users_only(self, value: Value) -> bool:
        """Does the value come from what users set, and from no device?"""
        tables = self.analysis.sources.tables
        return bool(value.sources) and not any(tables.is_device(src) for src in value.sources)

    def _device_capacity(self, cmp: tuple, text: str, scope: Scope) -> bool:
        """Is the side of comparison `cmp` that `text` is not on a value only a device
        sets (a field the firmware reported, a register)?"""
        if cmp[0] != "bin" or cmp[1] not in (">", ">=", "<", "<="):
            return False
        left, right = without_hints(cmp[2]), without_hints(cmp[3])
        other = right if text in _summands(left) else left if text in _summands(right) else None
        if other is None:
            return False
        bound = self._bound(other, scope)
        tables = self.analysis.sources.tables
        return bound.known and bool(bound.sources) and all(tables.is_device(src) for src in bound.sources)

    def _bounds_of_unknown(self, text: str, value: Value, scope: Scope) -> Value:
        """An unknown value read past checks (`if (sg_len > MAX_SG) return NULL;` on a length
        whose callers we cannot see): the interval the checks leave it, as bounds only. The
        checks are read apart from the site's evaluation (its budget and memo of cycles),
        so that bounds never change what is proven."""
        if scope.depth > BOUNDS_DEPTH:
            return value
        lo, hi = interval(value)
        # the same read again gives the same bounds, but while a call's returns are read
        # (its parameters are that call's)
        key = None if self.analysis.calls_read() else (id(scope.fn), text, scope.at_byte, lo, hi, scope.depth)
        checked = self._bounds_memo.get(key) if key is not None else None
        if checked is None:
            checked = self.analysis.apart(lambda: self._strictly_checked(text, lo, hi, scope))
            if checked is None:
                return value
            if key is not None:
                self._bounds_memo[key] = checked
        if checked[0] <= 0 and self._signed(text, scope):
            # `int periods = buf_len / period_len; if (periods > MAX) return;` lets a negative
            # count through, and a negative size is a huge one: no bound without a lower check
            return value
        return with_bounds(value, checked[0], checked[1])

    def _strictly_checked(self, text: str, lo: int, hi: int | None, scope: Scope):
        """_checked_interval() with every check's other side read as it is: a module
        parameter there is whatever the admin writes, not its default (mvneta's
        rx_copybreak is writable in sysfs)."""
        self._no_thresholds = True
        try:
            return self._checked_interval(text, lo, hi, scope)
        finally:
            self._no_thresholds = False

    def _signed(self, text: str, scope: Scope) -> bool:
        """Is `text` a local or parameter of a signed integer type?"""
        declared = self.analysis.builtins.local_type(text, scope)
        if declared is None or declared.endswith("*"):
            return False
        if " ".join(declared.split()) in value_tables().signed_wide_types:
            return True
        type_max = self.analysis.builtins.type_max(declared, scope.file.path)
        return type_max is not None and unsigned_max(type_max) is None

    def _checked_by_callee(self, text: str, scope: Scope, allocations_only: bool = False) -> int | None:
        """The bound a checking function puts on `text` before the point: `rc =
        check_insnlist_len(dev, n); if (rc) break;` or `if (check_len(n)) return -EINVAL;`
        with the check returning an error when `n > MAX_INSNS`. The callee's early exits
        on its parameter bound what reaches its end, and only its end (success) lets the
        caller go on to the point; a predicate's one `return` of a test bounds it as the
        answer the caller goes on with (_predicate_bound)."""
        fn, at = scope.fn, scope.at_byte
        if scope.depth >= MAX_DEPTH or not fn.conditions:
            return None
        best = None
        for site in fn.calls:
            if not site.callee or site.byte >= at or text not in site.args_text:
                continue
            allocator = allocators().get(site.callee)
            if allocator is None and allocations_only:
                continue
            args = site.arguments()
            positions = [i for i, a in enumerate(args) if render(a) == text]
            if (not positions and allocator is None) or not on_every_path(fn, site.byte, at) \
                    or not _error_checked(fn, site, at):
                continue
            if allocator is not None:
                bound = self._allocation_bound(allocator, args, text, Scope(scope.file, fn, scope.depth, site.byte))
                if bound is not None:
                    best = bound if best is None else min(best, bound)
                continue
            for node in self.program.resolve(scope.file.path, site.callee, site.line)[:1]:
                ref = self.program.functions[node]
                if positions[0] >= len(ref.fn.params):
                    continue
                param = ref.fn.params[positions[0]][0]
                bound = self._bound_at_end(ref, param, scope.depth)
                if bound is None:
                    bound = self._predicate_bound(ref, param, fn, site, at, scope.depth)
                if bound is not None:
                    best = bound if best is None else min(best, bound)
        return best

    def _allocation_bound(self, allocator, args: list, text: str, scope: Scope) -> int | None:
        """The bound an allocation that succeeded puts on `text`, its size or its count
        (`slots = kvcalloc(n, 56, ...); if (!slots) goto err;`: n * 56 was at most INT_MAX,
        or the call would have failed), or None. `scope`: at the allocation call, where
        its other factors are read (at least their smallest value: n times it fitted)."""
        limit = self.analysis.kernel.largest_request(families()[allocator.family], None)
        if limit is None or allocator.size is None or allocator.size >= len(args):
            return None
        size = args[allocator.size]
        if size[0] == "call" and size[1] in self._flexible and len(size[2]) == 3:
            return self._flexible_count_bound(size, text, limit, scope)
        factors = [size]
        if allocator.count is not None and allocator.count < len(args):
            factors.append(args[allocator.count])
        elif size[0] == "bin" and size[1] == "*":
            factors = [size[2], size[3]]  # kmalloc(n * sizeof(*e), ...)
        mine = [f for f in factors if render(f) == text]
        if len(mine) != 1:
            return None
        element = 1
        for f in factors:
            if f is mine[0]:
                continue
            v = self.analysis.eval(f, Scope(scope.file, scope.fn, MAX_DEPTH - 1, scope.at_byte))
            if not v.known or v.lo <= 0:
                return None
            element *= v.lo
        return limit // element

    def _flexible_count_bound(self, size: tuple, text: str, limit: int, scope: Scope) -> int | None:
        """The most elements `struct_size(p, member, n)` can have held when it was at most
        `limit` bytes (dm-crypt's `kzalloc(struct_size(cc, key, key_size))`): with the
        header's and one element's sizes evaluated as the calls of 0 and 1 elements."""
        name, (pointer, member, count) = size[1], size[2]
        if render(count) != text:
            return None
        at = Scope(scope.file, scope.fn, MAX_DEPTH - 1, scope.at_byte)
        header = self.analysis.eval(("call", name, (pointer, member, ("num", 0))), at)
        one = self.analysis.eval(("call", name, (pointer, member, ("num", 1))), at)
        if not (header.known and one.known and header.lo == header.hi and one.lo == one.hi):
            return None
        element = one.lo - header.lo
        return (limit - header.lo) // element if element > 0 and header.lo <= limit else None

    def _bound_at_end(self, ref, param: str, depth: int) -> int | None:
        """The largest value of parameter `param` that reaches the end of a function with
        no bound of its own (checked by its early exits), or None when none bounds it."""
        callee = ref.fn
        if not callee.guards or not callee.end_byte:
            return None
        unbounded = Value(0, None, frozenset({"check"}), (), True)
        narrowed = self.narrow(param, unbounded, Scope(ref.file, callee, depth + 1, callee.end_byte - 1))
        return narrowed.hi if narrowed.known else None

    def _predicate_bound(self, ref, param: str, fn: FunctionFacts, site, at: int, depth: int) -> int | None:
        """The largest value of parameter `param` of a predicate called at `site` of `fn`,
        which leaves on its answer before byte `at` (_answer_left_on): a function whose
        body is one `return` of a test (gntdev's `return !count || count > limit;`), its
        parameter unchanged. Leaving when it is true, the caller goes on with the test
        false: count <= limit. None when nothing bounds it, or the function is not such
        a predicate."""
        callee = ref.fn
        if len(callee.returns) != 1 or callee.guards or any(a.target == param for a in callee.assignments):
            return None
        left_on = _answer_left_on(fn, site, at)
        if left_on is None:
            return None
        text, byte, _ = callee.returns[0]
        test = without_hints(ir_from_text(text))
        if not left_on:  # (`if (!fits(n)) return -EINVAL;`: past it, the test held)
            test = _negated(test)
            if test is None:
                return None
        bound = self.leaving_bound(test, param, Scope(ref.file, callee, depth + 1, byte))
        return bound[1] if bound is not None and bound[0] == "hi" else None

    def field_tests_at(self, scope: Scope) -> dict[tuple[str, str], bool]:
        """Struct fields the `if`s around byte `scope.at_byte` test for zero, and whether each
        is non-zero there, keyed by (struct type, field): inside `if (hcd->localmem_pool)`
        (usb_hcd, localmem_pool) is non-zero; past `if (hcd->localmem_pool) return ...;` it
        is zero. A test of a field some store in between may change says nothing."""
        fn, at = scope.fn, scope.at_byte
        if fn is None or not at or not fn.conditions:
            return {}
        key = (id(fn), at)
        found = self._field_tests.get(key)
        if found is not None:
            return found
        found = {}
        for cond_text, ts, te, es, ee, _, _ in fn.conditions:
            if "->" not in cond_text and "." not in cond_text:
                continue
            if ts <= at < te:
                holds, parts, start = True, conjuncts(ir_from_text(cond_text)), ts
            elif es <= at < ee:
                holds, parts, start = False, disjuncts(ir_from_text(cond_text)), es
            else:
                continue
            if _written_between(fn, cond_text, start, at):
                continue
            for part in parts:
                test = _field_truth(part)
                if test is None:
                    continue
                field_ir, nonzero = test
                struct = self.analysis.fields.struct_of_expr(field_ir[1], scope)
                if struct:
                    found.setdefault((struct, field_ir[2]), nonzero == holds)
        self._field_tests[key] = found
        return found

    def leaving_bound(self, cmp: tuple, text: str, scope: Scope):
        """What `cmp` being false says about the expression `text`: ("hi", n), ("lo", n),
        ("hi", None) for an upper bound we cannot evaluate, or None. A check that also
        updates `text` (`if (divisor-- > 0x100) return -EINVAL;`) bounds the value before
        the update; what follows sees it one less (one more for `++`)."""
        shift, cmp = _updated_in_check(cmp, text)
        bound = self._leaving_bound(cmp, text, scope)
        if shift and bound is not None and bound[1] is not None:
            bound = (bound[0], max(bound[1] + shift, 0))
        return bound

    def _leaving_bound(self, cmp: tuple, text: str, scope: Scope):
        if cmp[0] == "un" and cmp[1] == "!" and render(cmp[2]) == text:
            return ("lo", 1)
        if render(cmp) == text:
            return ("hi", 0)  # `if (n && n != dev_n) return -EINVAL;` leaving with n false: n is 0
        if cmp[0] == "bin" and cmp[1] in ("&&", "||"):
            return self._compound_leaving_bound(cmp, text, scope)
        if cmp[0] != "bin" or cmp[1] not in (">", ">=", "<", "<=", "==", "!="):
            return None
        op, left, right = cmp[1], self._arithmetic(cmp[2], scope), self._arithmetic(cmp[3], scope)
        if text in _summands(right) and text not in _summands(left):
            op = _MIRRORED[op]
            left, right = right, left
        if op == "!=":
            op = ">"  # `hdr + n * sz != buf_len` leaving: the sum equals buf_len, so it is no larger
        terms = _summands(left)
        if text not in terms and left[0] == "id":
            # `index = index + 4 + pkt_len + pad_len; if (index > MAX) ...`: the local
            # compared is a sum the check bounds each term of
            summed = _sum_assigned(scope.fn, left[1], scope.at_byte)
            if summed is not None and text in _summands(summed):
                left, terms = summed, _summands(summed)
        if text not in terms:
            return None
        alone = len(terms) == 1
        c = self._bound(right, scope)
        if op == "==":
            return ("lo", 1) if alone and c.known and c.hi == 0 else None
        if op in (">", ">="):
            # `off + len > limit` leaving: len <= limit (sizes are not negative)
            if self._zero_factor(left, text, scope):
                return None
            if not c.known or c.hi is None:
                return ("hi", None)
            return ("hi", c.hi if op == ">" else max(c.hi - 1, 0))
        if not alone or not c.known or c.lo != c.hi:
            return None
        return ("lo", c.lo) if op == "<" else ("lo", c.lo + 1)  # x <= C leaves: after it x > C

    def _zero_factor(self, ir: tuple, text: str, scope: Scope) -> bool:
        """Is `text` a factor of a product whose other factor someone outside the kernel
        chooses and may choose 0? `total != size * count` leaving bounds count only when
        size is at least 1: a user passing size 0 passes any count (orangefs' bufmap).
        Other factors are taken as widths, at least 1."""
        for factor in _cofactors(ir, text):
            v = self.analysis.eval(factor, scope)
            if v.known and v.sources and v.lo <= 0:
                return True
        return False

    def _bound(self, ir: tuple, scope: Scope) -> Value:
        """The value of a check's other side: a module parameter there is a threshold,
        read at its default (`Sources.module_param_threshold`)."""
        while ir[0] == "cast":
            ir = ir[2]
        if ir[0] == "id" and not self._no_thresholds:
            threshold = self.analysis.sources.module_param_threshold(ir[1], scope)
            if threshold is not None:
                return threshold
        return self.analysis.eval(ir, scope)

    def _compound_leaving_bound(self, cmp: tuple, text: str, scope: Scope):
        """The upper bound a false `a && b` or `a || b` puts on `text`. `a && b` false: one
        of them is, so the weakest of their bounds holds (each must give one); `a || b`
        false: both are, so the strongest. `if (qs > 0 && (qs < 32 || qs > 1024)) return
        -EINVAL;` leaves qs <= 0 or 32 <= qs <= 1024: at most 1024."""
        if cmp[1] == "&&":
            # a conjunct that always holds (`PAGE_SIZE == 4096`) is never the false one
            decided = [(c, self._decided(c, scope)) for c in conjuncts(cmp)]
            parts = [c for c, truth in decided if truth is not True]
            if not parts or any(truth is False for _, truth in decided):
                return None  # the check never holds: it bounds nothing
            bounds = [self.leaving_bound(c, text, scope) for c in parts]
            his = [b[1] for b in bounds if b is not None and b[0] == "hi"]
            if len(his) != len(bounds):
                return None
            # one bound we cannot evaluate: bounded, by something we cannot see
            return ("hi", None if any(h is None for h in his) else max(his))
        his = [b[1] for b in (self.leaving_bound(c, text, scope) for c in disjuncts(cmp))
               if b is not None and b[0] == "hi" and b[1] is not None]
        return ("hi", min(his)) if his else None

    def _decided(self, cond: tuple, scope: Scope) -> bool | None:
        """Whether a condition of constants always holds (True) or never does (False):
        `PAGE_SIZE == 4096`; None when it depends on anything else. Only conditions of
        numbers and upper-case names (macros, enumerators) are evaluated: a variable
        decides nothing, and evaluating every conjunct of every check costs."""
        if any(not name.isupper() for name in identifiers(cond)):
            return None
        path = scope.file.path
        if cond[0] == "bin" and cond[1] in _COMPARISONS:
            left = self.analysis.constant_expr(cond[2], path)
            right = self.analysis.constant_expr(cond[3], path)
            return None if left is None or right is None else _COMPARE[cond[1]](left, right)
        value = self.analysis.constant_expr(cond, path)
        return None if value is None else value != 0

    def _arithmetic(self, ir: tuple, scope: Scope, depth: int = 0) -> tuple:
        """A checked expression with its arithmetic spelled out: size_add(a, b) is a + b,
        size_mul()/array_size() a product, and a function-like macro of it is expanded
        (TEE_IOCTL_PARAM_SIZE(n) is sizeof(struct tee_param) * (n))."""
        if ir[0] == "call" and depth < _MACRO_DEPTH:
            args = ir[2]
            if ir[1] in self._checked and len(args) == 2:
                op = self._checked[ir[1]]
                return ("bin", op, self._arithmetic(args[0], scope, depth + 1), self._arithmetic(args[1], scope, depth + 1))
            if ir[1] in self._endian and len(args) == 1:
                return self._arithmetic(args[0], scope, depth + 1)
            if ir[1] in self._flexible and len(args) == 3:
                # the header and the element size stand as themselves: only n is read
                header, element = ("call", "sizeof_header", args[:2]), ("call", "sizeof_element", args[:2])
                return ("bin", "+", header, ("bin", "*", self._arithmetic(args[2], scope, depth + 1), element))
            if ir[1].isupper():
                found = self.program.lookup("func_macros", ir[1], scope.file.path)
                expanded = expand_macro(*found[1], args, self.analysis.builtins.is_type) if found is not None else None
                if expanded is not None and expanded[0] != "unk":
                    return self._arithmetic(expanded, scope, depth + 1)
            return ir
        if ir[0] == "bin" and ir[1] in ("+", "*"):
            return ("bin", ir[1], self._arithmetic(ir[2], scope, depth), self._arithmetic(ir[3], scope, depth))
        if ir[0] == "cast":
            return self._arithmetic(ir[2], scope, depth)
        return ir

    def checked_by_callers(self, ir: tuple, struct: str, value: Value, scope: Scope) -> Value:
        """A field of a received header that every caller checks before the call bounds
        the read in the callee: a receive dispatcher validates the header (a guard
        before the call, or the `if` the call is in), then hands the frame to a
        handler that reads the field again (`if (ntohs(fiph->fip_dl_len) *
        FIP_BPW + sizeof(*fiph) > skb->len) goto drop; ... recv_clr_vlink(fip, skb);`,
        where the handler allocates by `ntohs(fh->fip_dl_len)`). A caller's check is a
        comparison false at its call on the same field of the same struct type; every caller of
        the function, all in its driver, must have one. The weakest of their bounds
        holds; a bound we cannot evaluate makes the value unknown."""
        fn = scope.fn
        if fn is None or not struct or not value.known or scope.depth >= MAX_DEPTH - 1:
            return value
        node = self.program.find_node(fn, scope.file.path)
        if node is None or self.program.graph.in_degree(node) > _MAX_CHECKING_CALLERS:
            return value
        callers = list(self.program.callers(node))
        if not callers or len(callers) > _MAX_CHECKING_CALLERS:
            return value
        fields = self.analysis.fields
        worst: int | None = -1
        for caller, site in callers:
            ref = self.program.functions[caller]
            if not same_driver(ref.path, self.program.functions[node].path):
                return value
            best = None  # the caller's tightest check: ("hi", n) or ("hi", None)
            for cmp, at in _false_at(ref.fn, site.byte):
                if cmp is None:
                    continue
                where = Scope(ref.file, ref.fn, scope.depth + 1, at)
                for field_ir in _fields_named(cmp, ir[2]):
                    if fields.struct_of_expr(field_ir[1], where) != struct:
                        continue
                    bound = self.leaving_bound(cmp, render(field_ir), where)
                    if bound is None or bound[0] != "hi":
                        continue
                    if best is None or (best[1] is None and bound[1] is not None) or \
                            (bound[1] is not None and bound[1] < best[1]):
                        best = bound
            if best is None:
                return value  # this caller does not check: nothing is proven
            worst = None if best[1] is None or worst is None else max(worst, best[1])
        if worst is None:
            return unknown(WHY_GUARD)
        if value.hi is not None and worst >= value.hi:
            return value
        if value.partial:
            return unknown(WHY_GUARD)
        return value.bounded(min(value.lo, worst), worst)

    def checked_after_store(self, fname: str, value: Value, fn: FunctionFacts, a, path: str) -> Value:
        """`q->flows = nla_get_u32(...); if (q->flows > 65536) return -EINVAL;`: a store
        checked right after, in the same block, holds only what passed the check."""
        if not value.sources or not fn.guards:
            return value
        # `reg->n = le32_to_cpu(ev->n); n = reg->n; if (n > MAX_RULES) return -EINVAL;`:
        # a local copy of the field made after the store, checked in the same block
        copies = {b.target: b.byte for b in fn.assignments
                  if b.kind == "local" and b.op == "=" and b.byte > a.byte
                  and b.block_start <= a.byte < b.block_end and _reads_field(b.value, a.base, fname)}
        for g in fn.guards:
            if g.end_byte <= a.byte or not (g.block_start <= a.byte < g.block_end):
                continue
            for cmp in disjuncts(g.cond):
                target = _field_operand(cmp, fname) or _local_operand(cmp, copies, g.end_byte)
                if target is None:
                    continue
                scope = Scope(self.analysis.file_by_path[path], fn, MAX_DEPTH - 1, 0)
                bound = self.leaving_bound(cmp, target, scope)
                if bound is not None and bound[0] == "hi":
                    if bound[1] is None:
                        return unknown(WHY_GUARD)
                    if value.hi is None or bound[1] < value.hi:
                        if value.partial:
                            return unknown(WHY_GUARD)  # the proving store does not pass the check
                        value = value.bounded(value.lo, bound[1])
        return value

    def allocated_after_store(self, fname: str, value: Value, fn: FunctionFacts, a, path: str) -> Value:
        """`part->header_size = ...; part->header_cache = kmalloc(part->header_size,
        GFP_KERNEL); if (!part->header_cache) return -ENOMEM;` (rfd_ftl's scan_header()):
        the set-up that stores the field allocates that many bytes right after and fails
        without them, so an object that went on to be used holds at most what the
        allocator can return. A too-large value fails there, at the allocation that is
        itself reported; it never reaches the object's later allocations. Only for an
        allocation of the field itself (or of the local the store took), that runs
        whenever the store does (in its block, not in an arm or a loop of its own, no
        success exit between them) and whose failure leaves with an error."""
        if not value.known or a.op != "=":
            return value
        table = allocators()
        stored = render(a.value)
        names = {f"{a.base}->{fname}", f"{a.base}.{fname}"}
        if IDENT_RE.fullmatch(stored):
            names.add(stored)  # `dev->len = len; dev->buf = kmalloc(len, ...)`
        for site in fn.calls:
            allocator = table.get(site.callee) if site.callee else None
            if allocator is None or site.byte <= a.byte or not any(n in site.args_text for n in names):
                continue
            if not self._runs_after_store(fn, a, site) or not _error_checked(fn, site, fn.end_byte - 1):
                continue
            args = site.arguments()
            for text in sorted(names):
                if _written_between(fn, text, a.byte + 1, site.byte):
                    continue  # `dev->len = n; dev->len += HDR;`: the allocation bounds another value
                bound = self._allocation_bound(allocator, args, text,
                                               Scope(self.analysis.file_by_path[path], fn, MAX_DEPTH - 1, site.byte))
                if bound is None or (value.hi is not None and value.hi <= bound):
                    continue
                if value.partial:
                    return unknown(WHY_GUARD)  # the proving store does not pass the allocation
                return value.bounded(min(value.lo, bound), bound).with_step(Step(
                    FLOW, f"{fn.name}() allocates {text} right after the store and fails without it:"
                          f" at most {bound} on any object set up", path, site.line, function=fn.name))
        return value

    @staticmethod
    def _runs_after_store(fn: FunctionFacts, a, site) -> bool:
        """Does the call run whenever the store before it does: in every if/else arm and
        loop the store is in and no other, with no exit between them that leaves with
        success (an error exit fails the set-up the store belongs to)?"""
        if not on_every_path(fn, site.byte, a.byte) or not on_every_path(fn, a.byte, site.byte):
            return False
        if any((start <= site.byte < end) != (start <= a.byte < end) for start, end in fn.loop_spans):
            return False
        return not any(kind == EXIT_OTHER and a.byte < ts < site.byte for _, ts, _, _, _, kind, _ in fn.conditions)

    def clamped_after_store(self, fname: str, value: Value, fn: FunctionFacts, a, path: str,
                            depth: int = MAX_DEPTH - 1) -> Value:
        """`cfg->max = n; if (n > MAX) cfg->max = MAX;` (ipr stores its module parameter,
        then clamps it in each arm of an if/else): what the store leaves in the field is
        what the clamp lets through, n <= MAX, or what the clamp stores. Only when a clamp
        of the same field and base runs on every path after the store (an early exit
        before it, or a clamp in one arm only, leaves the store's value as it was)."""
        if not value.known or not fn.conditions or a.op != "=":
            return value
        later = [c.byte for c in fn.assignments if c.kind == "field" and c.target == fname and c.base == a.base
                 and c.byte > a.byte]
        if not later:
            return value  # nothing stores the field again: no clamp
        scope = Scope(self.analysis.file_by_path[path], fn, min(depth, MAX_DEPTH - 1), 0)
        clamps: dict[int, int] = {}  # then-arm start of each clamping `if` -> the bound it leaves
        for index, (cond_text, ts, te, _, _, kind, _) in enumerate(fn.conditions):
            if kind != EXIT_NONE or ts <= a.byte or not any(ts <= b < te for b in later):
                continue
            bound = self._clamp_bound(cond_text, ts, te, a, fname, fn, scope)
            if bound is not None:
                clamps[index] = bound
        bound = _clamp_on_every_path(fn, a.byte, clamps)
        if bound is None or (value.hi is not None and value.hi <= bound and not value.partial):
            return value
        return Value(min(value.lo, bound), min(bound, value.hi if value.hi is not None and not value.partial else bound),
                     value.sources, value.steps, True, "", False)

    def clamped_local(self, name: str, value: Value, scope: Scope, passed: bool = False) -> Value:
        """A local read after `if (x == 4) x = 3;` (tehuti counts its ring size up to 4,
        then clamps it): what passes the `if` is x != 4, or what the arm stores. Only for
        an `if` without else, on every path to the point (not in an arm or loop the point
        is not in), storing constants into x and nothing else writing x after it.
        `passed`: x is a parameter, whose first value is what the caller passed."""
        fn, at = scope.fn, scope.at_byte
        if fn is None or not at or not value.known or value.partial or not fn.conditions:
            return value
        stores = [a for a in fn.assignments if a.kind == "local" and a.target == name and a.byte < at]
        if len(stores) < (1 if passed else 2):
            return value  # a clamp is a second store
        for index, (cond_text, ts, te, es, ee, kind, _) in enumerate(fn.conditions):
            if kind != EXIT_NONE or es != ee or te > at or not IDENT_RE.search(cond_text):
                continue
            writes = [a for a in stores if ts <= a.byte]
            inside = [a for a in writes if a.byte < te]
            if not inside or len(inside) != len(writes) or any(a.op != "=" for a in inside) \
                    or not any(_unconditional_in_arm(fn, index, a.byte) for a in inside) \
                    or not _unconditional_before(fn, index, at):
                continue  # the arm may also leave x as it was
            stored = [self.analysis.eval(a.value, Scope(scope.file, fn, scope.depth + 1, a.byte)) for a in inside]
            if any(not v.known or v.hi is None or v.sources for v in stored):
                continue
            cond = _flag_inlined(fn, _stored_in_test(ir_from_text(cond_text), name), ts)
            if _reads(cond, ("id", name)):
                passed = self._not_taken(cond, name, value, Scope(scope.file, fn, scope.depth + 1, ts))
            else:
                passed = self._derived_not_taken(cond, name, stores, ts, scope)
            if passed is None:
                continue
            lo = min([passed[0]] + [v.lo for v in stored])
            hi = max([passed[1]] + [v.hi for v in stored]) if passed[1] is not None else None
            if self._users_only(value) and any(self._device_capacity(c, name, Scope(scope.file, fn, scope.depth + 1, ts))
                                               for c in disjuncts(cond)):
                # mwl8k: `if (allmulti || mc_count > priv->num_mcaddrs) mc_count = 0;` keeps
                # the users' count within the firmware's table: bounds only (see _checked_interval)
                guarded = unknown(WHY_GUARD)
                return with_bounds(guarded, lo, hi) if hi is not None and lo >= 0 else guarded
            if hi is not None and (value.hi is None or hi < value.hi):
                value = value.bounded(min(value.lo, lo), hi).with_step(
                    Step(FLOW, f"{fn.name}() clamps {name}: if ({cond_text}) {name} = {inside[-1].value_text}",
                         scope.file.path, inside[-1].line, function=fn.name))
        return value

    def _derived_not_taken(self, cond: tuple, name: str, stores: list, ts: int,
                           scope: Scope) -> tuple[int, int | None] | None:
        """The interval of `name` where `cond` is false, when `cond` tests what `name` was
        computed from rather than `name` itself (comedi: `n_data = max(n_data, insn->n);
        if (insn->n > MAX_SAMPLES) { insn->n = MAX_SAMPLES; n_data = MAX_SAMPLES; }`): the
        store of `name` just before the `if`, in its block, evaluated with the tested
        operand at the largest value the false condition leaves it. Only for a store that
        grows with that operand (sums, products, max/min, casts) and an operand not written
        between the store and the `if`; else None."""
        fn = scope.fn
        before = [a for a in stores if a.byte < ts]
        if not before:
            return None
        prior = max(before, key=lambda a: a.byte)
        if prior.op != "=" or not (prior.block_start <= ts < prior.block_end):
            return None
        stored = prior.value
        for operand in _tested_operands(cond):
            if not _grows_with(stored, operand) or _rewritten(fn, operand, prior.byte, ts):
                continue
            at_test = Scope(scope.file, fn, scope.depth + 1, ts)
            passed = self._not_taken(cond, render(operand), self.analysis.eval(operand, at_test), at_test)
            if passed is None or passed[1] is None:
                continue
            largest = self.analysis.eval(_substituted(stored, operand, ("num", passed[1])),
                                         Scope(scope.file, fn, scope.depth + 1, prior.byte))
            if largest.known and not largest.partial and largest.hi is not None:
                return min(largest.lo, passed[0]), largest.hi
        return None

    def _not_taken(self, cond: tuple, name: str, value: Value, scope: Scope) -> tuple[int, int | None] | None:
        """The interval of `name` (now `value`) on the path where `cond` is false, or None."""
        if cond[0] == "bin" and cond[1] == "==":
            for var, other in ((cond[2], cond[3]), (cond[3], cond[2])):
                if var == ("id", name):
                    k = self.analysis.eval(other, scope)
                    if not (k.known and k.lo == k.hi) or k.sources:
                        return None
                    lo, hi = value.lo, value.hi
                    if hi is not None and k.lo == hi:
                        hi -= 1
                    if k.lo == lo:
                        lo += 1
                    return (lo, hi) if hi is None or lo <= hi else None
            return None
        bound = self.leaving_bound(cond, name, scope)
        if bound is None or bound[0] != "hi" or bound[1] is None:
            return None
        return value.lo, bound[1] if value.hi is None else min(value.hi, bound[1])

    def _clamp_bound(self, cond_text: str, ts: int, te: int, store, fname: str, fn: FunctionFacts,
                     scope: Scope) -> int | None:
        """The largest value the field holds after `if (cond) { field = K; }` when `cond`
        being false bounds the value `store` stored, or the field itself, or None."""
        base = store.base
        writes = [c for c in fn.assignments if c.kind == "field" and c.target == fname and c.base == base
                  and ts <= c.byte < te]
        if not writes or any(c.op != "=" for c in writes):
            return None
        cond = ir_from_text(cond_text)
        # the check reads the field itself (`if (cfg->max > MAX)`), or the value stored
        # (`if (n > MAX)`), unless that value's variable was assigned again in between
        bound = None
        for text in (f"{base}->{fname}", f"{base}.{fname}", render(store.value)):
            bound = self.leaving_bound(cond, text, scope)
            if bound is not None:
                if text == render(store.value) and _rewritten(fn, store.value, store.byte, ts):
                    return None
                break
        if bound is None or bound[0] != "hi" or bound[1] is None:
            return None
        largest = bound[1]
        for c in writes:
            # What the clamp stores, as it stands before the `if` when nothing in the arm
            # changes it first: inside, the check itself would narrow it by the value
            # being clamped (`if (rx_mtu > maxlen) rx_mtu = maxlen;`: maxlen < rx_mtu),
            # the very value whose bound is being worked out.
            at = c.byte if _rewritten(fn, c.value, ts - 1, c.byte) else ts - 1
            v = self.analysis.eval(c.value, Scope(scope.file, fn, scope.depth, at))
            if not v.known or v.hi is None or v.partial:
                return None
            largest = max(largest, v.hi)
        return largest


def on_every_path(fn: FunctionFacts, earlier: int, later: int) -> bool:
    """Is byte `earlier` in every if/else arm (and switch case) that holds byte `later`,
    so that whatever runs `later` ran `earlier` first?"""
    for cond in fn.conditions:
        for start, end in ((cond[1], cond[2]), (cond[3], cond[4])):
            if start <= earlier < end and not start <= later < end:
                return False
    return True


def result_names(fn: FunctionFacts, site) -> set[str]:
    """The names a test of the call's stored result reads: `rc` of `rc = check(n);`,
    `pages` and `d` of `d->pages = kcalloc(...);`; empty when the result is not stored."""
    stored = [a for a in fn.assignments if a.byte <= site.byte and a.line <= site.line
              and a.value_text.lstrip("( ").startswith(site.callee)]
    if not stored:
        return set()
    target = max(stored, key=lambda a: a.byte)
    base = IDENT_RE.findall(target.base) if target.kind == "field" else []
    return {target.target} | set(base[-1:])


def _error_checked(fn: FunctionFacts, site, at: int) -> bool:
    """Is the call's result tested, leaving with an error, before byte `at` and with `at`
    past the test: the call inside the test (`if (check(n)) return -EINVAL;`) or its
    result stored and tested right after (`rc = check(n); if (rc) break;`)?"""
    stored = result_names(fn, site)
    for cond_text, ts, te, es, ee, kind, goes in fn.conditions:
        # an error exit, or a `break` out of an ioctl's switch with the error code kept
        leaves = kind == EXIT_ERROR or (kind == EXIT_OTHER and goes == 0 and bool(stored))
        if not leaves or not site.byte < ts <= at or ts <= at < te:
            continue
        names = set(IDENT_RE.findall(cond_text))
        if kind == EXIT_ERROR and site.callee in names and ts - site.byte <= len(cond_text) + 8:
            return True  # the call is the test
        if stored and stored <= names and not any(a.target in stored and site.byte < a.byte < ts for a in fn.assignments):
            return True
    return False


def _answer_left_on(fn: FunctionFacts, site, at: int) -> bool | None:
    """The answer of the call at `site` that the test made of it alone leaves on, before
    byte `at`: True for `if (too_many(n)) return -EINVAL;`, False for `if (!fits(n))`;
    None when no such test leaves with an error (a result stored, or tested in a
    compound condition)."""
    for cond_text, ts, te, es, ee, kind, goes in fn.conditions:
        if kind != EXIT_ERROR or not site.byte < ts <= at or ts <= at < te or site.callee not in cond_text:
            continue
        cond = without_hints(ir_from_text(cond_text))
        negated = cond[0] == "un" and cond[1] == "!"
        call = without_hints(cond[2]) if negated else cond
        if call[0] == "call" and call[1] == site.callee and \
                [render(a) for a in call[2]] == [render(a) for a in site.arguments()]:
            return not negated
    return None


def _false_at(fn: FunctionFacts, at: int) -> list[tuple[tuple | None, int]]:
    """Comparisons known to be false at byte `at` of `fn`, with where to evaluate their
    other side: a guard's bound is read where the guard stands (earlier guards bound it
    in turn: `if (buf.len > MAX) return; ... if (size_add(hdr, n * sz) > buf.len) return;`)."""
    false_here: list[tuple[tuple | None, int]] = []
    for g in fn.guards:
        if g.end_byte <= at and g.block_start <= at < g.block_end:
            false_here.extend((c, _before_guard(fn, g)) for c in disjuncts(g.cond))
    for cond_text, ts, te, es, ee in fn.branches:
        if ts <= at < te:  # inside `if (cond) { ... }`: each conjunct is true
            false_here.extend((_negated(c), 0) for c in conjuncts(ir_from_text(cond_text)))
        elif es <= at < ee:  # in its else (or after it, when its body leaves)
            false_here.extend((c, 0) for c in disjuncts(ir_from_text(cond_text)))
    for cond_text, ts, te, es, ee, kind, _ in fn.conditions:
        # Every other `if` and `case` around the point (on locals and fields too: bnx2x's
        # `if (mtu > ETH_MAX_PACKET_SIZE && len <= RX_COPY_THRESH) skb = napi_alloc_skb(.., len)`),
        # unless what it compares is written between the test and the point. The else of an
        # early exit is the rest of its block: the guards above already hold it. The bound
        # is read just before the arm (inside it, the arm's own test would apply again).
        if ts <= at < te:
            if not _written_between(fn, cond_text, ts, at):
                false_here.extend((_negated(c), ts - 1) for c in conjuncts(ir_from_text(cond_text)))
        elif kind == EXIT_NONE and es <= at < ee and not _written_between(fn, cond_text, es, at):
            false_here.extend((c, es - 1) for c in disjuncts(ir_from_text(cond_text)))
    return false_here


def _power_of_two_at(text: str, fn: FunctionFacts, at: int) -> bool:
    """Is `text` known to be a power of two (or zero) at byte `at`: a test that leaves
    when it is not, `if (!n || n > 0xffff || (n & (n - 1))) return -EINVAL;` (vhost's
    VHOST_SET_VRING_NUM) or `if (!is_power_of_2(n))`, false there?"""
    for cond, _ in _false_at(fn, at):
        if cond is None:
            continue
        cond = without_hints(cond)
        if cond[0] == "bin" and cond[1] == "&":
            x, rest = without_hints(cond[2]), without_hints(cond[3])
            if rest[0] == "bin" and rest[1] == "-" and rest[3] == ("num", 1) and render(x) == text \
                    and render(rest[2]) == text:
                return True
        if cond[0] == "un" and cond[1] == "!":
            call = without_hints(cond[2])
            if call[0] == "call" and call[1] == "is_power_of_2" and len(call[2]) == 1 and render(call[2][0]) == text:
                return True
    return False


def _before_guard(fn: FunctionFacts, g) -> int:
    """Where a guard's bound is read: just before the arm that leaves, where the guard
    stands. Inside that arm its own test holds, and would bound the bound by what it
    checks (`if (req.data_segment_bytes > max_user_dsr_bytes) return -EINVAL;` read
    max_user_dsr_bytes as at least the user's value, which nothing bounds)."""
    last = g.end_byte - 1
    for cond_text, ts, te, *_ in fn.conditions:
        if ts <= last < te and cond_text == g.cond_text:
            return ts - 1
    return last


def _fields_named(ir: tuple, fname: str) -> list[tuple]:
    """The field expressions `x->fname`/`x.fname` inside `ir`."""
    out, stack = [], [ir]
    while stack:
        n = stack.pop()
        if not isinstance(n, (tuple, list)) or not n:
            continue
        if n[0] == "field" and len(n) > 2 and n[2] == fname:
            out.append(n)
        # an IR node is (kind, ...); a call's arguments are a tuple of nodes
        stack.extend(c for c in (n[1:] if isinstance(n[0], str) else n) if isinstance(c, (tuple, list)))
    return out


def _field_truth(ir: tuple) -> tuple[tuple, bool] | None:
    """`p->f`, `!p->f`, `p->f == NULL`, `p->f != 0` as (the field read, is it tested for
    non-zero?); None for any other test."""
    if ir[0] == "field":
        return ir, True
    if ir[0] == "un" and ir[1] == "!" and ir[2][0] == "field":
        return ir[2], False
    if ir[0] == "bin" and ir[1] in ("==", "!="):
        for side, other in ((ir[2], ir[3]), (ir[3], ir[2])):
            if side[0] == "field" and (other == ("num", 0) or other == ("id", "NULL")):
                return side, ir[1] == "!="
    return None


def _written_between(fn: FunctionFacts, cond_text: str, start: int, at: int) -> bool:
    """Is a name the condition reads assigned between `start` and `at` (`if (len < 64) {
    len = hdr_len(skb); buf = kmalloc(len, ...)`: the test says nothing of the new len)?"""
    names = set(IDENT_RE.findall(cond_text))
    return any(start <= a.byte < at and a.target in names for a in fn.assignments)


def _field_operand(cmp: tuple, fname: str) -> str | None:
    """The rendered `x->fname` compared in `cmp`, if any."""
    if cmp[0] != "bin":
        return None
    for side in cmp[2:4]:
        if isinstance(side, tuple) and side[0] == "field" and side[2] == fname:
            return render(side)
    return None


def _reads_field(ir: tuple, base: str, fname: str) -> bool:
    """Is `ir` a read of `base->fname` (or `base.fname`), `base` squashed as stores keep it?"""
    return ir[0] == "field" and ir[2] == fname and render(ir[1]).replace(" ", "") == base.replace(" ", "")


def _local_operand(cmp: tuple, copies: dict[str, int], at: int) -> str | None:
    """The name of a local copy (made before byte `at`) compared in `cmp`, if any."""
    if cmp[0] != "bin":
        return None
    for side in cmp[2:4]:
        if isinstance(side, tuple) and side[0] == "id" and copies.get(side[1], at) < at:
            return side[1]
    return None


def _negated(cmp: tuple) -> tuple | None:
    """The comparison that is false when `cmp` is true (None when there is no such form)."""
    if cmp[0] == "bin" and cmp[1] in _NEGATED:
        return ("bin", _NEGATED[cmp[1]], cmp[2], cmp[3])
    return None


_COMPARISONS = (">", ">=", "<", "<=", "==", "!=")
_COMPARE = {">": int.__gt__, ">=": int.__ge__, "<": int.__lt__, "<=": int.__le__, "==": int.__eq__, "!=": int.__ne__}


def _bits_cleared(cmp: tuple, text: str, hi: int | None, scope: Scope, analysis) -> int | None:
    """`x & MASK` false at the point (the else of `if (rx_status & 0xF000)`): the largest
    value at most `hi` with none of MASK's bits set (0x0fff for a 16-bit x); None when
    `cmp` is no such test of `text`."""
    if hi is None or cmp[0] != "bin" or cmp[1] != "&":
        return None
    for x, m in ((cmp[2], cmp[3]), (cmp[3], cmp[2])):
        if render(x) != text:
            continue
        mask = analysis.eval(m, scope)
        if not mask.known or mask.lo != mask.hi or mask.lo <= 0:
            return None
        return _largest_clear(hi, mask.lo)
    return None


def _largest_clear(hi: int, mask: int) -> int:
    """The largest n <= hi with n & mask == 0."""
    if hi & mask == 0:
        return hi
    b = (hi & mask).bit_length() - 1  # the highest masked bit hi has: clear it, set all below
    return ((hi >> (b + 1)) << (b + 1) | ((1 << b) - 1)) & ~mask


def _sum_assigned(fn, name: str, at: int) -> tuple | None:
    """The sum a local was last set to before byte `at`, in a block holding `at`."""
    if fn is None or not at:
        return None
    last = None
    for a in fn.assignments:
        if a.kind == "local" and a.target == name and a.byte < at and a.block_start <= at < a.block_end:
            if last is None or a.byte > last.byte:
                last = a
    if last is None or last.op != "=":
        return None
    value = last.value
    return value if value[0] == "bin" and value[1] == "+" else None


def _updated_in_check(cmp: tuple, text: str) -> tuple[int, tuple]:
    """(shift, cmp with the update read as `text`) for a comparison with `text--`,
    `text++`, `--text` or `++text` as a side: what the check compares is the value
    before a postfix update, so the value after it is shifted by -1 (+1); a prefix
    update compares the new value itself."""
    if cmp[0] != "bin" or cmp[1] not in _COMPARISONS:
        return 0, cmp
    for i in (2, 3):
        side = cmp[i]
        if side[0] != "unk":
            continue
        written = side[1].replace(" ", "")
        shifts = {f"{text}--": -1, f"{text}++": 1, f"--{text}": 0, f"++{text}": 0}
        if written in shifts:
            replaced = list(cmp)
            replaced[i] = ("id", text)
            return shifts[written], tuple(replaced)
    return 0, cmp


def _cofactors(ir: tuple, text: str) -> list[tuple]:
    """The factors multiplied with the term `text` on its way up to `ir` (a sum of
    products): in `hdr + n * sz`, sz for n."""
    if render(ir) == text:
        return []
    if ir[0] == "bin" and ir[1] in ("+", "*"):
        for side, other in ((ir[2], ir[3]), (ir[3], ir[2])):
            if text in _summands(side):
                inner = _cofactors(side, text)
                return inner + [other] if ir[1] == "*" else inner
    return []


def _summands(ir: tuple) -> list[str]:
    """The expression, then the terms of its sum or factors of its product:
    `off + len` -> ["off + len", "off", "len"]. A check `off + len > MAX` (or
    `n * width > MAX`, widths being at least 1) that leaves bounds each term."""
    out = [render(ir)]
    stack = [ir]
    while stack:
        n = stack.pop()
        if n[0] == "bin" and n[1] in ("+", "*"):
            stack.extend((n[2], n[3]))
        elif n is not ir:
            out.append(render(n))
    return out


def _tested_operands(cond: tuple) -> list[tuple]:
    """The variables and fields a comparison tests (`insn->n` of `insn->n > MAX_SAMPLES`)."""
    if cond[0] != "bin" or cond[1] not in _NEGATED:
        return []
    return [side for side in (cond[2], cond[3]) if side[0] in ("id", "field")]


# Operators and helpers whose result never decreases when an operand grows (sizes are not
# negative): an upper bound of the operand, substituted, gives an upper bound of the whole.
_GROWING_OPS = frozenset({"+", "*", "|"})
_GROWING_CALLS = frozenset({"max", "min", "max_t", "min_t", "umax", "umin"})


def _grows_with(ir: tuple, operand: tuple) -> bool:
    """Does `ir` read `operand`, only through operations that grow with it? (A shift grows
    with its left operand, not with its count.)"""
    if ir == operand:
        return True
    if ir[0] == "bin" and ir[1] in _GROWING_OPS:
        parts = (ir[2], ir[3])
    elif ir[0] == "bin" and ir[1] == "<<" and not _reads(ir[3], operand):
        parts = (ir[2],)
    elif ir[0] == "call" and ir[1] in _GROWING_CALLS:
        parts = ir[2]
    elif ir[0] == "cast":
        parts = (ir[2],)
    else:
        return False
    reading = [part for part in parts if _reads(part, operand)]
    return bool(reading) and all(_grows_with(part, operand) for part in reading)


def _operands(ir: tuple) -> tuple:
    """The sub-expressions of `ir` (a call's: its arguments)."""
    return ir[2] if ir[0] == "call" else tuple(x for x in ir[1:] if isinstance(x, tuple))


def _stored_in_test(cond: tuple, name: str) -> tuple:
    """`cond` with an assignment to `name` inside it read as `name`: usblp's
    `if ((len = count - written) > BUF_SIZE) len = BUF_SIZE;` tests what it stores
    (the assignment is one of the local's stores, before the arm's clamp)."""
    assigned = _ASSIGNS_RE.match(cond[1]) if cond[0] == "unk" else None
    if assigned is not None and assigned.group(1) == name:
        return ("id", name)
    if cond[0] == "bin":
        return cond[:2] + (_stored_in_test(cond[2], name), _stored_in_test(cond[3], name))
    return cond


# `name = value` (not `==`), as the expression parser leaves it unparsed
_ASSIGNS_RE = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)")


def _reads(ir: tuple, operand: tuple) -> bool:
    """Does `ir` contain `operand`?"""
    return ir == operand or any(_reads(x, operand) for x in _operands(ir))


def _substituted(ir: tuple, operand: tuple, by: tuple) -> tuple:
    """`ir` with each occurrence of `operand` replaced by `by`."""
    if ir == operand:
        return by
    if ir[0] == "call":
        return ir[:2] + (tuple(_substituted(arg, operand, by) for arg in ir[2]),)
    return tuple(_substituted(x, operand, by) if isinstance(x, tuple) else x for x in ir)


_TESTS = frozenset({">", ">=", "<", "<=", "==", "!=", "||", "&&"})


def _flag_inlined(fn: FunctionFacts, cond: tuple, at: int) -> tuple:
    """`pass_all = addr_count > MAX || FORCE; if (pass_all) addr_count = 0;` (iwlwifi's
    multicast filter): a test of a local flag stored once, from a comparison, before the
    `if` and in its block, is that comparison, when nothing it reads is written between.
    Any other condition is returned as it is."""
    negated = cond[0] == "un" and cond[1] == "!"
    flag = without_hints(cond[2]) if negated else cond
    if flag[0] != "id":
        return cond
    stores = [a for a in fn.assignments if a.kind == "local" and a.target == flag[1]]
    if len(stores) != 1 or stores[0].byte >= at:
        return cond
    store = stores[0]
    test = without_hints(store.value)
    if store.op != "=" or not (store.block_start <= at < store.block_end) or test[0] != "bin" \
            or test[1] not in _TESTS or _rewritten(fn, test, store.byte, at):
        return cond
    return ("un", "!", test) if negated else test


def _rewritten(fn: FunctionFacts, stored: tuple, after: int, before: int) -> bool:
    """Is a variable or field the stored value reads (`n` of `cfg->max = n`) assigned
    again between the two bytes (the check would then test another value)?"""
    names = identifiers(stored)
    members = set(_MEMBER_RE.findall(render(stored)))
    return any(after < b.byte < before and b.target in (members if b.kind == "field" else names)
               for b in fn.assignments)


_MEMBER_RE = re.compile(r"(?:->|\.)\s*([A-Za-z_]\w*)")


def _apart(fn: FunctionFacts, byte: int, other: int, skip: int) -> list[tuple[int, int, int]]:
    """(condition index, start, end) of each if/else arm or switch case that holds `byte`
    but not `other`, besides condition `skip`'s; a loop doing so as (-1, start, end): what
    may keep `byte` from running on a path through `other`, or the other way round."""
    out = [(index, start, end) for index, cond in enumerate(fn.conditions) if index != skip
           for start, end in ((cond[1], cond[2]), (cond[3], cond[4])) if start <= byte < end and not start <= other < end]
    out.extend((-1, start, end) for start, end in fn.loop_spans if start <= byte < end and not start <= other < end)
    return out


def _clamp_on_every_path(fn: FunctionFacts, store: int, clamps: dict[int, int]) -> int | None:
    """The largest bound the clamps (`fn.conditions` index -> bound) leave when every path
    from byte `store` to the end of the function runs one: a clamp not nested in any arm
    the store is not in, or an if/else after the store (itself on every path) each of
    whose arms runs one. None when some path runs none."""
    conditions = fn.conditions
    unconditional = [bound for index, bound in clamps.items() if not _apart(fn, conditions[index][1], store, index)]
    if unconditional:
        return min(unconditional)
    best = None
    for index, cond in enumerate(conditions):  # an if/else on every path, a clamp in each arm
        _, ts, te, es, ee, kind, _ = cond
        if kind != EXIT_NONE or es == ee or ts <= store or _apart(fn, ts, store, index):
            continue
        arms = []
        for start, end in ((ts, te), (es, ee)):
            # a clamp in this arm, nested in no other arm the store is not in
            inside = [bound for c, bound in clamps.items() if start <= conditions[c][1] < end
                      and all(arm == (index, start, end) for arm in _apart(fn, conditions[c][1], store, c))]
            arms.append(min(inside) if inside else None)
        if None not in arms:
            best = max(arms) if best is None else min(best, max(arms))
    return best


def _unconditional_before(fn: FunctionFacts, index: int, at: int) -> bool:
    """Does every path to byte `at` run the `if` of `fn.conditions[index]` first: it is in
    no other arm and no loop that does not also hold `at`?"""
    return not _apart(fn, fn.conditions[index][1], at, index)


def _unconditional_in_arm(fn: FunctionFacts, index: int, byte: int) -> bool:
    """Does every path through the then-arm of `fn.conditions[index]` run byte `byte`:
    no arm or loop inside it holds the byte?"""
    return not _apart(fn, byte, fn.conditions[index][1], index)
