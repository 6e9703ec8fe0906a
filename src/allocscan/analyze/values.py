"""Values: an interval of bytes for every size expression, and who controls it.

Each integer expression evaluates to a `Value`: an interval [lo, hi] (hi None
= unbounded), the user-controlled sources that reach it, and a short witness
(`steps`) of where the value came from. Unknown is not big: an expression the
analysis cannot bound evaluates to `TOP`, which no rule reports.

Evaluated: literals, `#define`s (same file, same directory, then the tree),
enums, builtin kernel constants (`PAGE_SIZE`, `SZ_*`, `U16_MAX` ...),
`sizeof` through struct layouts, arithmetic, shifts, casts, ternaries (join),
`min/max/clamp*`, `BIT`, `ALIGN`, `PAGE_ALIGN`, `round_up`, `roundup`,
`DIV_ROUND_UP`, `roundup_pow_of_two`, `get_order`, `array_size`,
`array3_size`, `struct_size`, function-like macros of the tree; locals from
their assignments, parameters from the join of their call sites' arguments,
struct fields from one tree-wide cell per (struct, field), module parameters
and values parsed from user buffers (`kstrto*`, `sscanf`, `copy_from_user`)
as user-controlled sources.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ..exprs import conjuncts, disjuncts, expand_macro, ir_from_text, render, squash
from ..facts import FileFacts, FunctionFacts
from ..kernel.version import KernelInfo
from ..link import Program
from .layout import BASIC_TYPES_LP64, Layouts

Step = tuple[str, str, int]  # (what happened, path, line)

MAX_DEPTH = 6  # interprocedural hops when following parameters and fields
MAX_CALLERS = 24  # a parameter with more call sites than this stays unknown
HUB_DIRECTORIES = 3  # a field written in more directories than this is a hub


@dataclass(frozen=True, slots=True)
class Value:
    lo: int
    hi: int | None
    sources: frozenset = frozenset()
    steps: tuple = ()
    known: bool = True

    @property
    def unbounded(self) -> bool:
        return self.hi is None

    def with_step(self, step: Step) -> "Value":
        if not self.known:
            return self
        return Value(self.lo, self.hi, self.sources, (step,) + self.steps[:7], True)

    def describe(self) -> str:
        if not self.known:
            return "unknown"
        hi = "unbounded" if self.hi is None else str(self.hi)
        return str(self.lo) if self.hi == self.lo else f"[{self.lo}, {hi}]"


TOP = Value(0, None, frozenset(), (), False)


def const(n: int) -> Value:
    return Value(max(n, 0), max(n, 0))


def join(a: Value, b: Value) -> Value:
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


_SETTABLE = ("configfs:", "sysfs:", "module_param:", "ioctl:", "debugfs:", "write:", "user:", "netlink:")


def _witness_rank(v: Value) -> tuple:
    """Which side's chain to show after a join: the one that makes the value big,
    preferring a source a user sets (configfs, module parameter, ioctl) over device data,
    then the shorter chain (md's raid_disks_store() -> mddev.raid_disks, not dm-raid's
    validated delta_disks through three more stores)."""
    settable = any(src.startswith(_SETTABLE) for src in v.sources)
    return (bool(v.steps), v.hi is None and bool(v.sources), settable, v.hi if v.hi is not None else 1 << 62,
            -len(v.steps))


def _combine(a: Value, b: Value, lo: int, hi: int | None) -> Value:
    if not a.known and not a.sources:
        return TOP
    if not b.known and not b.sources:
        return TOP
    steps = a.steps if a.sources or len(a.steps) >= len(b.steps) else b.steps
    known = a.known and b.known
    if not known:
        return Value(0, None, a.sources | b.sources, steps, True)
    lo = max(lo, 0)
    if hi is not None and hi >= 1 << 48:
        hi = None  # a mask or wrap-around, not a size anyone could allocate
    if hi is not None and hi < lo:
        # Unsigned wrap-around (a subtraction that may go negative): nothing provable,
        # and not the user's doing either.
        return TOP
    return _unbounded_by_user_only(Value(lo, hi, a.sources | b.sources, steps, True), (a, b))


def _mul(x, y):
    return None if x is None or y is None else x * y


def _arith(op: str, a: Value, b: Value) -> Value:
    if op == "+":
        return _combine(a, b, a.lo + b.lo, None if a.hi is None or b.hi is None else a.hi + b.hi)
    if op == "-":
        lo = a.lo - (b.hi if b.hi is not None else a.lo)
        return _combine(a, b, lo, None if a.hi is None else a.hi - b.lo)
    if op == "*":
        return _combine(a, b, a.lo * b.lo, _mul(a.hi, b.hi) if not (a.hi == 0 or b.hi == 0) else 0)
    if op == "/":
        if b.lo == 0 and (b.hi is None or b.hi == 0):
            return TOP
        return _combine(a, b, a.lo // (b.hi or max(b.lo, 1)) if b.hi else 0, None if a.hi is None else a.hi // max(b.lo, 1))
    if op in ("<<", ">>") and (b.lo < 0 or (b.hi is not None and b.hi < 0)):
        return TOP
    if op == "<<":
        if b.hi is None or b.hi > 64:
            return _combine(a, b, a.lo << min(b.lo, 64), None)
        return _combine(a, b, a.lo << b.lo, None if a.hi is None else a.hi << b.hi)
    if op == ">>":
        return _combine(a, b, a.lo >> min(b.hi if b.hi is not None else 64, 64), None if a.hi is None else a.hi >> min(b.lo, 64))
    if op == "&":
        hi = b.hi if a.hi is None else (a.hi if b.hi is None else min(a.hi, b.hi))
        if a.lo == a.hi and b.lo == b.hi and a.hi is not None and b.hi is not None:
            return _combine(a, b, a.lo & b.lo, a.lo & b.lo)
        return _combine(a, b, 0, hi)
    if op == "|" or op == "^":
        if a.lo == a.hi and b.lo == b.hi and a.hi is not None and b.hi is not None:
            v = a.lo | b.lo if op == "|" else a.lo ^ b.lo
            return _combine(a, b, v, v)
        hi = None if a.hi is None or b.hi is None else (1 << max(a.hi.bit_length(), b.hi.bit_length())) - 1
        return _combine(a, b, 0, hi)
    if op == "%":
        return _combine(a, b, 0, None if b.hi is None else max(b.hi - 1, 0))
    if op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
        return _combine(a, b, 0, 1)
    return TOP


_TYPE_MAX = {"u8": 0xFF, "__u8": 0xFF, "unsigned char": 0xFF, "uint8_t": 0xFF, "u16": 0xFFFF, "__u16": 0xFFFF,
             "unsigned short": 0xFFFF, "uint16_t": 0xFFFF, "__le16": 0xFFFF, "__be16": 0xFFFF, "u32": 0xFFFFFFFF,
             "__u32": 0xFFFFFFFF, "unsigned int": 0xFFFFFFFF, "uint32_t": 0xFFFFFFFF, "unsigned": 0xFFFFFFFF,
             "int": 0x7FFFFFFF, "s32": 0x7FFFFFFF, "short": 0x7FFF, "s16": 0x7FFF, "char": 0x7F, "s8": 0x7F}

_BUILTIN_CONSTANTS = {
    "PAGE_SHIFT": 12, "U8_MAX": 0xFF, "U16_MAX": 0xFFFF, "U32_MAX": 0xFFFFFFFF, "S32_MAX": 0x7FFFFFFF,
    "INT_MAX": 0x7FFFFFFF, "UINT_MAX": 0xFFFFFFFF, "USHRT_MAX": 0xFFFF, "SHRT_MAX": 0x7FFF,
    "PAGE_ALLOC_COSTLY_ORDER": 3, "NET_SKB_PAD": 64, "NET_IP_ALIGN": 0, "SMP_CACHE_BYTES": 64,
    "L1_CACHE_BYTES": 64, "ETH_ALEN": 6, "ETH_HLEN": 14, "ETH_DATA_LEN": 1500, "ETH_FRAME_LEN": 1514,
    "NULL": 0, "true": 1, "false": 0, "BITS_PER_LONG": 64, "BITS_PER_BYTE": 8,
}

_KSTRTO_MAX = {"kstrtou8": 0xFF, "kstrtos8": 0x7F, "kstrtou16": 0xFFFF, "kstrtos16": 0x7FFF,
               "kstrtouint": 0xFFFFFFFF, "kstrtou32": 0xFFFFFFFF, "kstrtoint": 0x7FFFFFFF,
               "kstrtos32": 0x7FFFFFFF, "kstrtoul": None, "kstrtoull": None, "kstrtou64": None,
               "kstrtol": None, "kstrtoll": None, "kstrtos64": None, "kstrtobool": 1,
               "kstrtouint_from_user": 0xFFFFFFFF, "kstrtoul_from_user": None, "kstrtoint_from_user": 0x7FFFFFFF,
               "kstrtou8_from_user": 0xFF, "kstrtou16_from_user": 0xFFFF, "kstrtou32_from_user": 0xFFFFFFFF}
_USER_COPY = {"copy_from_user", "__copy_from_user", "get_user", "__get_user", "sscanf"}
_NLA_GET = {"nla_get_u8": 0xFF, "nla_get_u16": 0xFFFF, "nla_get_u32": 0xFFFFFFFF, "nla_get_u64": None,
            "nla_get_be16": 0xFFFF, "nla_get_be32": 0xFFFFFFFF, "nla_get_le16": 0xFFFF, "nla_get_le32": 0xFFFFFFFF}
_DESCRIPTOR_FIELDS = {"wMaxPacketSize", "wTotalLength", "wLength", "bLength", "wBytesPerInterval"}


@dataclass
class Scope:
    file: FileFacts
    fn: FunctionFacts | None
    depth: int = 0
    at_byte: int = 0  # the program point being evaluated (guards before it narrow values)


@dataclass
class ValueAnalysis:
    program: Program
    kernel: KernelInfo
    memo: dict = field(default_factory=dict)
    active: set = field(default_factory=set)
    cuts: int = 0  # cycles cut so far: a result computed across a cut is not memoised
    budget: int = 20000  # evaluation steps left for the current allocation site (start_site resets it)

    def __post_init__(self):
        self.layouts = Layouts(self._struct, self.program.typedefs, self._const_of)
        self._field_cells: dict[tuple[str, str], list] = {}  # (struct, field) -> its writes
        self._cells_by_reader: dict[tuple[str, str, str], tuple[list, bool]] = {}
        self._module_params: dict[tuple[str, str], object] = {}
        self._file_by_path = {ff.path: ff for ff in self.program.files}
        for ff in self.program.files:
            for mp in ff.module_params:
                self._module_params[(ff.path, mp.name)] = mp

    # --- public ------------------------------------------------------------
    STEPS_PER_SITE = 20000  # unmemoised re-evaluation is bounded: past this, unknown

    def start_site(self) -> None:
        """Give the next allocation site a fresh evaluation budget."""
        self.budget = self.STEPS_PER_SITE

    def eval(self, ir: tuple, scope: Scope) -> Value:
        self.budget -= 1
        if self.budget < 0:
            self.cuts += 1
            return TOP
        kind = ir[0]
        if kind == "num":
            return const(ir[1])
        if kind == "id":
            return self.ident(ir[1], scope)
        if kind == "bin":
            return _arith(ir[1], self.eval(ir[2], scope), self.eval(ir[3], scope))
        if kind == "un":
            inner = self.eval(ir[2], scope)
            if ir[1] == "+":
                return inner
            if ir[1] == "!":
                return Value(0, 1, inner.sources, inner.steps, True) if inner.known else TOP
            if ir[1] == "~" and inner.known and inner.lo == inner.hi:
                return const((~inner.lo) & 0xFFFFFFFFFFFFFFFF)
            return TOP
        if kind == "cast":
            inner = self.eval(ir[2], scope)
            limit = _TYPE_MAX.get(ir[1])
            if limit is not None and inner.known and (inner.hi is None or inner.hi > limit):
                return Value(0 if inner.hi is None or inner.lo > limit else inner.lo, limit, inner.sources, inner.steps, True)
            return inner
        if kind == "sizeof_t":
            return self.sizeof_type(ir[1], scope)
        if kind == "sizeof_e":
            return self.sizeof_expr(ir[1], scope)
        if kind == "cond":
            return join(self.eval(ir[2], scope), self.eval(ir[3], scope))
        if kind == "call":
            return self.call(ir[1], ir[2], scope)
        if kind == "field":
            return self.field(ir, scope)
        if kind == "unk" and ir[1] and scope.depth < MAX_DEPTH:
            reparsed = ir_from_text(ir[1])
            if reparsed[0] != "unk":
                return self.eval(reparsed, scope)
        return TOP

    # --- identifiers ------------------------------------------------------
    def ident(self, name: str, scope: Scope) -> Value:
        fn = scope.fn
        if fn is not None:
            if name in fn.locals or any(a.kind == "local" and a.target == name for a in fn.assignments):
                if any(p == name for p, _ in fn.params):
                    return self.narrow(name, join(self.param(name, scope), self.local(name, scope)), scope)
                return self.narrow(name, self.local(name, scope), scope)
            if any(p == name for p, _ in fn.params):
                return self.narrow(name, self.param(name, scope), scope)
        if name in _BUILTIN_CONSTANTS:
            return const(_BUILTIN_CONSTANTS[name])
        if name == "PAGE_SIZE":
            return const(self.kernel.page_size)
        if name in ("KMALLOC_MAX_SIZE",):
            return const(self.kernel.kmalloc_max_size)
        if name == "KMALLOC_MAX_CACHE_SIZE":
            return const(self.kernel.kmalloc_max_cache_size)
        if name in ("MAX_ORDER",):
            return const(self.kernel.max_order + (0 if self.kernel.series >= (6, 4) else 1))
        if name == "MAX_PAGE_ORDER":
            return const(self.kernel.max_order)
        m = re.fullmatch(r"SZ_(\d+)([KMG]?)", name)
        if m:
            return const(int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)])
        mp = self._module_params.get((scope.file.path, name))
        if mp is not None and not self._written_in_file(mp.name, scope.file):
            return self.module_param(mp, scope)
        key = ("ident", scope.file.path, name)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.cuts += 1
            return TOP
        cuts = self.cuts
        self.active.add(key)
        try:
            value = self._file_level(name, scope)
        finally:
            self.active.discard(key)
        if self.cuts == cuts:
            self.memo[key] = value
        return value

    def _file_level(self, name: str, scope: Scope) -> Value:
        path = scope.file.path
        found = self.program.lookup("enums", name, path)
        if found is not None:
            def_path, ir = found
            return self.eval(ir, Scope(self.program.file(def_path) or scope.file, None, scope.depth + 1))
        found = self.program.lookup("defines", name, path)
        if found is not None:
            def_path, body = found
            return self.eval(ir_from_text(body), Scope(self.program.file(def_path) or scope.file, None, scope.depth + 1))
        if name in scope.file.globals:
            value = self.eval(scope.file.globals[name], Scope(scope.file, None, scope.depth + 1))
            for fn in scope.file.functions:  # a static global written by the file's functions
                if name not in fn.global_writes:
                    continue
                for a in fn.assignments:
                    if a.kind == "global" and a.target == name:
                        value = join(value, self._assigned(a, Scope(scope.file, fn, scope.depth + 1, a.byte)))
            return value
        return TOP

    @staticmethod
    def _written_in_file(name: str, file: FileFacts) -> bool:
        """A module parameter the driver assigns itself (usually a clamp at init) is not taken raw."""
        return any(name in fn.global_writes for fn in file.functions)

    def module_param(self, mp, scope: Scope) -> Value:
        if mp.type_name == "cb":
            return TOP  # module_param_cb(): its set() callback validates what the user writes
        src = f"module_param:{mp.param_name}"
        default = TOP
        if mp.name in scope.file.globals:
            default = self.eval(scope.file.globals[mp.name], Scope(scope.file, None, scope.depth + 1))
        settable = "settable at load" + (", writable in sysfs" if _writable(mp.perm) else "")
        lo = default.lo if default.known else 0
        step = (f"module parameter '{mp.param_name}' ({settable}; default {default.describe()})", scope.file.path, mp.line)
        type_max = {"byte": 0xFF, "short": 0x7FFF, "ushort": 0xFFFF, "int": 0x7FFFFFFF, "uint": 0xFFFFFFFF,
                    "bool": 1, "invbool": 1}.get(mp.type_name)
        if type_max is not None and type_max <= 0xFFFF:
            value = Value(0, type_max, frozenset({src}), (step,), True)
        else:
            value = Value(min(lo, 0) if lo else 0, None, frozenset({src}), (step,), True)
        return self._validated_in_file(mp.name, value, scope)

    def _validated_in_file(self, name: str, value: Value, scope: Scope) -> Value:
        """A module parameter checked where the module starts (`if (max_data_size > 0x10000)
        return -EINVAL;` in its init function) is bounded by that check everywhere.

        The check may read the parameter again (`max_data_size & (max_data_size - 1)`):
        evaluated from inside its own validation, the parameter is taken unvalidated."""
        key = ("validated", scope.file.path, name)
        if key in self.active:
            self.cuts += 1  # not memoised: a value read inside its own validation
            return value
        self.active.add(key)
        try:
            for fn in scope.file.functions:
                for g in fn.guards:
                    if name not in g.cond_text:
                        continue
                    narrowed = self.narrow(name, value, Scope(scope.file, fn, scope.depth + 1, g.end_byte))
                    if narrowed is not value:
                        return narrowed
            return value
        finally:
            self.active.discard(key)

    def local(self, name: str, scope: Scope) -> Value:
        fn = scope.fn
        key = ("local", id(fn), name)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.cuts += 1
            return TOP
        cuts = self.cuts
        self.active.add(key)
        try:
            value: Value | None = None
            for a in fn.assignments:
                if a.kind == "local" and a.target == name and a.op not in _SHRINKING_OPS:
                    v = self._assigned(a, Scope(scope.file, scope.fn, scope.depth, a.byte))
                    value = v if value is None else join(value, v)
            user = self._user_filled(name, scope)
            if user is not None:
                value = user if value is None else join(value, user)
            if value is None:
                value = TOP
        finally:
            self.active.discard(key)
        if self.cuts == cuts:
            self.memo[key] = value
        return value

    def _assigned(self, a, scope: Scope) -> Value:
        if a.op not in ("=",):
            base = TOP if a.op not in ("+=", "*=", "<<=", "|=") else self.eval(a.value, scope)
            if a.op in ("+=", "*=", "<<="):
                return Value(0, None, base.sources, base.steps, True) if base.sources else TOP
            return base
        v = self.eval(a.value, scope)
        return v.with_step((f"{a.target} = {render(a.value)}", scope.file.path, a.line)) if v.sources else v

    def _user_filled(self, name: str, scope: Scope) -> Value | None:
        """`kstrtouint(buf, 0, &name)`, `copy_from_user(&name, ...)`: the user writes `name`."""
        fn = scope.fn
        for site in fn.calls:
            callee = site.callee
            if (callee not in _KSTRTO_MAX and callee not in _USER_COPY) or name not in site.args_text:
                continue
            args = site.arguments()
            if callee in _KSTRTO_MAX and args and args[-1] == ("addr", ("id", name)):
                kind = self.handler_kind(fn)
                return Value(0, _KSTRTO_MAX[callee], frozenset({f"{kind}:{fn.name}"}),
                             ((f"{callee}() parses user input into '{name}' in {fn.name}()", scope.file.path, site.line),), True)
            filled = any(a == ("addr", ("id", name)) for a in args) or (
                callee in ("get_user", "__get_user") and args and args[0] == ("id", name))
            if callee in _USER_COPY and filled:
                kind = "ioctl" if "ioctl" in fn.name else self.handler_kind(fn)
                # The destination's type bounds what the user can put there (`u16 len`).
                limit = _TYPE_MAX.get(" ".join(fn.locals.get(name, "").split()))
                return Value(0, limit, frozenset({f"{kind}:{fn.name}"}),
                             ((f"{callee}() copies user data into '{name}' in {fn.name}()", scope.file.path, site.line),), True)
        return None

    def handler_kind(self, fn: FunctionFacts) -> str:
        types = " ".join(t for _, t in fn.params)
        if "struct config_item" in types:
            return "configfs"
        if "struct device_attribute" in types or "struct kobj_attribute" in types or "struct kobject" in types:
            return "sysfs"
        if "struct file" in types and ("char*" in types or "char" in types):
            return "debugfs" if "debugfs" in fn.name or "dbg" in fn.name else "write"
        if "struct genl_info" in types or "struct nlattr" in types:
            return "netlink"
        return "user"

    def param(self, name: str, scope: Scope) -> Value:
        fn = scope.fn
        index = next(i for i, (p, _) in enumerate(fn.params) if p == name)
        if scope.depth >= MAX_DEPTH:
            self.cuts += 1  # truncated: whatever builds on this must not be memoised
            return TOP
        node = self.program.node_of.get(id(fn))
        if node is None:
            return TOP
        key = ("param", node, index)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.cuts += 1
            return TOP
        cuts = self.cuts
        self.active.add(key)
        try:
            # Each caller calls at least once: more callers than the limit is enough
            # to know, without unpacking their bodies to list the call sites.
            many = self.program.graph.in_degree(node) > MAX_CALLERS
            callers = [] if many else list(self.program.callers(node))
            if not callers or len(callers) > MAX_CALLERS:
                value = TOP
            else:
                value = None
                here = self.program.functions[node].path
                for caller, site in callers:
                    ref = self.program.functions[caller]
                    if not same_driver(ref.path, here):
                        # A caller in another subsystem: its value does not travel as proof
                        # (hubs break chains); it only stops the interval from being bounded.
                        value = TOP if value is None else join(value, TOP)
                        continue
                    args = site.arguments()
                    if index >= len(args):
                        v = TOP
                    else:
                        v = self.eval(args[index], Scope(ref.file, ref.fn, scope.depth + 1, site.byte))
                        if v.sources:
                            v = v.with_step((f"{ref.fn.name}() passes {render(args[index])} as '{name}' of {fn.name}()", ref.path, site.line))
                    value = v if value is None else join(value, v)
        finally:
            self.active.discard(key)
        if self.cuts == cuts:
            self.memo[key] = value
        return value

    # --- guards ------------------------------------------------------------------
    def narrow(self, text: str, value: Value, scope: Scope) -> Value:
        """Apply what the control flow proves at the program point: `if (x > MAX) return ...;`
        guards before it, and the conditions of the `if` branches around it."""
        fn = scope.fn
        if fn is None or not scope.at_byte or not value.known or not (fn.guards or fn.branches):
            return value
        at = scope.at_byte
        # comparisons known to be false at this point, with where to evaluate their other side:
        # a guard's bound is read where the guard stands (earlier guards bound it in turn:
        # `if (buf.len > MAX) return; ... if (size_add(hdr, n * sz) > buf.len) return;`)
        false_here: list[tuple[tuple, int]] = []
        for g in fn.guards:
            if g.end_byte <= at and g.block_start <= at < g.block_end:
                false_here.extend((c, g.end_byte - 1) for c in disjuncts(g.cond))
        for cond_text, ts, te, es, ee in fn.branches:
            if ts <= at < te:  # inside `if (cond) { ... }`: each conjunct is true
                false_here.extend((_negated(c), 0) for c in conjuncts(ir_from_text(cond_text)))
            elif es <= at < ee:  # in its else (or after it, when its body leaves)
                false_here.extend((c, 0) for c in disjuncts(ir_from_text(cond_text)))
        lo, hi, capped_unseen = value.lo, value.hi, False
        for cmp, where in false_here:
            if cmp is None:
                continue
            bound = self._leaving_bound(cmp, text, Scope(scope.file, fn, scope.depth + 1, where))
            if bound is None:
                continue
            kind, n = bound
            if kind == "hi" and n is None:
                capped_unseen = True  # `if (len > fw_size) return`: bounded, by something we cannot see
            elif kind == "hi":
                hi = n if hi is None else min(hi, n)
            else:
                lo = max(lo, n)
        if capped_unseen and (hi is None or hi == value.hi):
            # validated against a bound we cannot evaluate (`val > max_mpdu_len(phy)`): unknown,
            # neither unbounded nor as large as its type (a u32 netlink attribute)
            return TOP
        if (lo, hi) == (value.lo, value.hi):
            return value
        if hi is not None and hi < lo:
            return value  # contradictory guards: keep what we had
        return Value(lo, hi, value.sources, value.steps, True)

    def _leaving_bound(self, cmp: tuple, text: str, scope: Scope):
        """What `cmp` being false says about the expression `text`: ("hi", n), ("lo", n),
        ("hi", None) for an upper bound we cannot evaluate, or None."""
        if cmp[0] == "un" and cmp[1] == "!" and render(cmp[2]) == text:
            return ("lo", 1)
        if cmp[0] != "bin" or cmp[1] not in (">", ">=", "<", "<=", "==", "!="):
            return None
        op, left, right = cmp[1], self._arithmetic(cmp[2], scope), self._arithmetic(cmp[3], scope)
        if text in _summands(right) and text not in _summands(left):
            op = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}[op]
            left, right = right, left
        if op == "!=":
            op = ">"  # `hdr + n * sz != buf_len` leaving: the sum equals buf_len, so it is no larger
        terms = _summands(left)
        if text not in terms:
            return None
        alone = len(terms) == 1
        c = self.eval(right, scope)
        if op == "==":
            return ("lo", 1) if alone and c.known and c.hi == 0 else None
        if op in (">", ">="):
            # `off + len > limit` leaving: len <= limit (sizes are not negative)
            if not c.known or c.hi is None:
                return ("hi", None)
            return ("hi", c.hi if op == ">" else max(c.hi - 1, 0))
        if not alone or not c.known or c.lo != c.hi:
            return None
        return ("lo", c.lo) if op == "<" else ("lo", c.lo + 1)  # x <= C leaves: after it x > C

    def _arithmetic(self, ir: tuple, scope: Scope, depth: int = 0) -> tuple:
        """A checked expression with its arithmetic spelled out: size_add(a, b) is a + b,
        size_mul()/array_size() a product, and a function-like macro of it is expanded
        (TEE_IOCTL_PARAM_SIZE(n) is sizeof(struct tee_param) * (n))."""
        if ir[0] == "call" and depth < 3:
            args = ir[2]
            if ir[1] in _CHECKED_ARITHMETIC and len(args) == 2:
                op = _CHECKED_ARITHMETIC[ir[1]]
                return ("bin", op, self._arithmetic(args[0], scope, depth + 1), self._arithmetic(args[1], scope, depth + 1))
            if ir[1].isupper():
                found = self.program.lookup("func_macros", ir[1], scope.file.path)
                expanded = expand_macro(*found[1], args) if found is not None else None
                if expanded is not None and expanded[0] != "unk":
                    return self._arithmetic(expanded, scope, depth + 1)
            return ir
        if ir[0] == "bin" and ir[1] in ("+", "*"):
            return ("bin", ir[1], self._arithmetic(ir[2], scope, depth), self._arithmetic(ir[3], scope, depth))
        if ir[0] == "cast":
            return self._arithmetic(ir[2], scope, depth)
        return ir

    # --- fields -----------------------------------------------------------------
    def field(self, ir: tuple, scope: Scope) -> Value:
        stored = self._stored_before_in_block(ir, scope)
        if stored is not None:
            return self.narrow(render(ir), stored, scope)
        return self.narrow(render(ir), self._field(ir, scope), scope)

    def _stored_before_in_block(self, ir: tuple, scope: Scope) -> Value | None:
        """`ptp->max_vclocks = PTP_DEFAULT_MAX_VCLOCKS; size = sizeof(int) * ptp->max_vclocks;`:
        a read that follows a plain store to the same object's field in the same block
        sees that store, not every store to the field anywhere in the tree."""
        fn, at = scope.fn, scope.at_byte
        if fn is None or not at or not fn.field_writes:
            return None
        base = squash(render(ir[1]))
        stores = [a for a in fn.assignments
                  if a.kind == "field" and a.target == ir[2] and a.base == base and a.byte < at
                  and a.block_start <= at < a.block_end]
        if not stores:
            return None
        last = max(stores, key=lambda a: a.byte)
        if last.op != "=":
            return None
        v = self.eval(last.value, Scope(scope.file, fn, scope.depth + 1, last.byte))
        if v.sources:
            v = v.with_step((f"{fn.name}() stores {render(last.value)} into {render(ir)} just before", scope.file.path,
                             last.line))
        return v

    def _field(self, ir: tuple, scope: Scope) -> Value:
        fname = ir[2]
        struct = self.struct_of_expr(ir[1], scope)
        if fname in _DESCRIPTOR_FIELDS and not _gadget_side(scope.file.path):
            src = f"usb-descriptor:{struct or '?'}.{fname}"
            # USB naming: a `b` field is one byte, a `w` field a 16-bit word (hid_descriptor.bLength <= 255)
            top = 0xFF if fname.startswith("b") else 0xFFFF
            return Value(0, top, frozenset({src}), ((f"device descriptor field {fname}", scope.file.path, 0),), True)
        if scope.depth >= MAX_DEPTH:
            self.cuts += 1  # truncated: whatever builds on this must not be memoised
            return TOP
        cells, hub = self._cells_seen_from(struct, fname, scope.file.path) if struct else (None, False)
        if not cells:
            return TOP
        key = ("field", struct, fname, scope.file.path if hub else "")
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.cuts += 1
            return TOP
        cuts = self.cuts
        self.active.add(key)
        try:
            value = None
            for path, _, fn, a in cells:
                if a.op in _SHRINKING_OPS or a.lowers:
                    continue  # `x -= n`, `if (x > max) x = max;`: never larger than what was stored before
                v = self.eval(a.value, Scope(self._file_by_path[path], fn, scope.depth + 1, a.byte))
                if a.op != "=":
                    # `x += n` accumulates without a bound, unless checked right after
                    # (`hist_data->key_size += key_size; if (hist_data->key_size > MAX) ...`);
                    # the missing bound is the user's doing only when n itself is unbounded,
                    # as in join(): raid5's `conf->raid_disks += mddev->delta_disks` adds a
                    # delta that dm-raid and md both check
                    grown = Value(0, None, v.sources, v.steps, True) if v.sources else TOP
                    grown = self._checked_after_store(fname, grown, fn, a, path)
                    v = TOP if grown.hi is None and v.hi is not None else grown
                else:
                    v = self._checked_after_store(fname, v, fn, a, path)
                if v.sources:
                    v = v.with_step((f"{fn.name}() stores {render(a.value)} into {struct}.{fname}", path, a.line))
                value = v if value is None else join(value, v)
        finally:
            self.active.discard(key)
        value = value or TOP
        if self.cuts == cuts:
            self.memo[key] = value
        return value

    def _checked_after_store(self, fname: str, value: Value, fn: FunctionFacts, a, path: str) -> Value:
        """`q->flows = nla_get_u32(...); if (q->flows > 65536) return -EINVAL;`: a store
        checked right after, in the same block, holds only what passed the check."""
        if not value.sources or not fn.guards:
            return value
        for g in fn.guards:
            if g.end_byte <= a.byte or not (g.block_start <= a.byte < g.block_end):
                continue
            for cmp in disjuncts(g.cond):
                target = _field_operand(cmp, fname)
                if target is None:
                    continue
                scope = Scope(self._file_by_path[path], fn, MAX_DEPTH - 1, 0)
                bound = self._leaving_bound(cmp, target, scope)
                if bound is not None and bound[0] == "hi":
                    if bound[1] is None:
                        return TOP
                    if value.hi is None or bound[1] < value.hi:
                        value = Value(value.lo, bound[1], value.sources, value.steps, True)
        return value

    def field_cells(self, key: tuple[str, str]) -> list:
        """Every assignment to (struct type, field) in the tree, as (path, directory,
        function, assignment). Only the functions that write it are unpacked, on first use."""
        cells = self._field_cells.get(key)
        if cells is None:
            cells = self._field_cells[key] = [
                (path, posixpath.dirname(path), fn, a) for path, fn in self.program.field_writers.get(key, ())
                for a in fn.assignments if a.kind == "field" and (a.struct_type, a.target) == key]
        return cells

    def _cells_seen_from(self, struct: str, fname: str, here: str) -> tuple[list, bool]:
        """The writes of `struct.fname` that count for a reader in file `here`, and whether
        the field is a hub. A field written by several drivers (net_device.mtu,
        usb_request.length) is not one variable: only the writes in the reader's own
        file count (drivers/net/ holds dozens of drivers in one directory). Cached per
        reader: hub fields are read thousands of times."""
        here_dir = posixpath.dirname(here)
        key = (struct, fname, here)
        seen = self._cells_by_reader.get(key)
        if seen is None:
            cells = self.field_cells((struct, fname))
            dirs = {d for _, d, _, _ in cells}
            hub = dirs != {here_dir} and (len(dirs) > HUB_DIRECTORIES
                                          or not all(same_driver(p, here) for p, _, _, _ in cells))
            if hub:
                cells = [c for c in cells if c[0] == here]
            seen = self._cells_by_reader[key] = (cells, hub)
        return seen

    def struct_of_expr(self, ir: tuple, scope: Scope) -> str:
        """Struct type of an expression (the receiver of `->`/`.`), or ''."""
        if ir[0] == "id" and scope.fn is not None:
            t = scope.fn.locals.get(ir[1]) or next((pt for pn, pt in scope.fn.params if pn == ir[1]), "")
            return _struct_name(t, self.program.typedefs)
        if ir[0] == "field":
            base = self.struct_of_expr(ir[1], scope)
            sd = self._struct(base) if base else None
            if sd is not None:
                for m in sd.members:
                    if m.name == ir[2]:
                        return _struct_name(m.type_text, self.program.typedefs)
        if ir[0] in ("addr", "deref"):
            return self.struct_of_expr(ir[1], scope)
        return ""

    # --- sizeof -------------------------------------------------------------------
    def sizeof_type(self, type_text: str, scope: Scope) -> Value:
        t = type_text.replace(" *", "*").strip()
        size = self.layouts.size_of(t)
        return const(size) if size is not None else TOP

    def sizeof_expr(self, ir: tuple, scope: Scope) -> Value:
        if ir[0] == "id":
            name = ir[1]
            if scope.fn is not None:
                t = scope.fn.locals.get(name) or next((pt for pn, pt in scope.fn.params if pn == name), None)
                if t is not None:
                    return self.sizeof_type(t, scope)
            # `sizeof(u32)` parsed as an expression: a type name after all
            if name in BASIC_TYPES_LP64 or name in self.program.typedefs:
                return self.sizeof_type(name, scope)
            return TOP
        if ir[0] == "deref" and ir[1][0] == "id" and scope.fn is not None:
            t = scope.fn.locals.get(ir[1][1]) or next((pt for pn, pt in scope.fn.params if pn == ir[1][1]), None)
            if t and t.endswith("*"):
                return self.sizeof_type(t[:-1].strip(), scope)
        if ir[0] == "field":
            base = self.struct_of_expr(ir[1], scope)
            sd = self._struct(base) if base else None
            if sd is not None:
                for m in sd.members:
                    if m.name == ir[2]:
                        if m.pointer:
                            return const(8)
                        size = self.layouts.size_of(m.type_text)
                        for dim in m.array_dims:
                            n = self._const_of(dim)
                            size = None if n is None or size is None else size * n
                        return const(size) if size is not None else TOP
        return TOP

    def _struct(self, name: str):
        defs = self.program.structs.get(name)
        if not defs:
            return None
        return defs[0][1]

    def _const_of(self, ir: tuple) -> int | None:
        v = self.eval(ir, Scope(self.program.files[0] if self.program.files else None, None, MAX_DEPTH - 1)) \
            if self.program.files else TOP
        return v.lo if v.known and v.lo == v.hi else None

    def _netlink_policy_limit(self, attr_ir: tuple | None, scope: Scope) -> Value | None:
        """`tb[ATTR]` whose policy entry is `NLA_POLICY_RANGE(.., min, MAX)`: at most MAX."""
        if attr_ir is None or attr_ir[0] != "idx" or attr_ir[2][0] != "id":
            return None
        found = self.program.lookup("nla_limits", attr_ir[2][1], scope.file.path)
        if found is None:
            return None
        def_path, text = found
        bound = self.eval(ir_from_text(text), Scope(self.program.file(def_path) or scope.file, None, scope.depth + 1))
        return Value(0, bound.hi, frozenset(), (), True) if bound.known and bound.hi is not None else None

    # --- calls and function-like macros -------------------------------------------
    def call(self, name: str, args: tuple, scope: Scope) -> Value:
        ev = lambda i: self.eval(args[i], scope) if i < len(args) else TOP  # noqa: E731
        n = len(args)
        if name in ("min", "min_t", "min3", "min_not_zero", "umin"):
            vals = [self.eval(a, scope) for a in (args[1:] if name == "min_t" else args)]
            return _min_all(vals)
        if name in ("max", "max_t", "max3", "umax"):
            vals = [self.eval(a, scope) for a in (args[1:] if name == "max_t" else args)]
            out = vals[0] if vals else TOP
            for v in vals[1:]:
                out = _max2(out, v)
            return out
        if name in ("clamp", "clamp_t", "clamp_val"):
            off = 1 if name == "clamp_t" else 0
            if n < 3 + off:
                return TOP
            v, lo, hi = (self.eval(args[off + i], scope) for i in range(3))
            return _min_all([_max2(v, lo), hi]) if hi.known else TOP
        if name in ("BIT", "BIT_ULL") and n == 1:
            return _arith("<<", const(1), ev(0))
        if name in ("ALIGN", "round_up", "roundup", "__ALIGN_KERNEL", "ALIGN_DOWN", "round_down", "rounddown") and n == 2:
            v, a = ev(0), ev(1)
            if not (v.known and a.known) or a.lo != a.hi or a.lo == 0:
                return _combine(v, a, v.lo, None) if v.sources else TOP
            step = a.lo
            up = name in ("ALIGN", "round_up", "roundup", "__ALIGN_KERNEL")
            rnd = (lambda x: (x + step - 1) // step * step) if up else (lambda x: x // step * step)
            return Value(rnd(v.lo), None if v.hi is None else rnd(v.hi), v.sources, v.steps, True)
        if name == "PAGE_ALIGN" and n == 1:
            return self.call("ALIGN", (args[0], ("num", self.kernel.page_size)), scope)
        if name == "DIV_ROUND_UP" and n == 2:
            v, d = ev(0), ev(1)
            return _arith("/", _arith("+", v, _arith("-", d, const(1))), d)
        if name in ("roundup_pow_of_two", "__roundup_pow_of_two") and n == 1:
            v = ev(0)
            if not v.known:
                return v
            p2 = lambda x: 1 << max(x - 1, 0).bit_length()  # noqa: E731
            return Value(p2(v.lo), None if v.hi is None else p2(v.hi), v.sources, v.steps, True)
        if name == "get_order" and n == 1:
            v = ev(0)
            if not v.known:
                return v
            return Value(self.kernel.get_order(v.lo), None if v.hi is None else self.kernel.get_order(v.hi), v.sources, v.steps, True)
        if name in ("array_size", "size_mul") and n == 2:
            return _arith("*", ev(0), ev(1))
        if name == "array3_size" and n == 3:
            return _arith("*", _arith("*", ev(0), ev(1)), ev(2))
        if name in ("size_add",) and n == 2:
            return _arith("+", ev(0), ev(1))
        if name in ("struct_size", "struct_size_t") and n == 3:
            base = self.sizeof_expr(("deref", args[0]), scope) if name == "struct_size" else self.sizeof_type(render(args[0]), scope)
            member = self.sizeof_expr(("idx", ("field", ("deref", args[0]), render(args[1]), False), ("num", 0)), scope)
            elem = self._flex_member_size(args[0], render(args[1]), scope)
            return _arith("+", base, _arith("*", elem if elem.known else member, ev(2)))
        if name in ("ARRAY_SIZE",) and n == 1:
            return self._array_size(args[0], scope)
        if name in ("le16_to_cpu", "be16_to_cpu", "le16_to_cpup", "get_unaligned_le16", "__le16_to_cpu", "usb_endpoint_maxp"):
            inner = ev(0)
            # A 16-bit field of unknown origin is unknown, not "up to 64 KiB": only a
            # descriptor field (a source, below) makes its type's maximum evidence.
            if name == "usb_endpoint_maxp" and _gadget_side(scope.file.path):
                return Value(0, 0x7FF, frozenset(), (), True)
            return inner if inner.known else TOP if name != "usb_endpoint_maxp" else \
                Value(0, 0x7FF, frozenset({"usb-descriptor:wMaxPacketSize"}), (("usb_endpoint_maxp() reads the endpoint descriptor", scope.file.path, 0),), True)
        if name in ("le32_to_cpu", "be32_to_cpu", "cpu_to_le16", "cpu_to_le32", "ntohs", "ntohl", "htons", "htonl", "READ_ONCE"):
            return ev(0)
        if name in _NLA_GET:
            limit = _NLA_GET[name]
            policy = self._netlink_policy_limit(args[0] if args else None, scope)
            if policy is not None:
                return policy  # validated by the policy before the handler runs
            return Value(0, limit, frozenset({f"netlink:{render(args[0]) if args else '?'}"}),
                         ((f"{name}() reads a netlink attribute", scope.file.path, 0),), True)
        if name in ("SKB_DATA_ALIGN",) and n == 1:
            return self.call("ALIGN", (args[0], ("num", 64)), scope)
        if name in ("SKB_HEAD_ALIGN",) and n == 1:
            return _arith("+", self.call("ALIGN", (args[0], ("num", 64)), scope), const(320))
        if name in ("SKB_WITH_OVERHEAD",) and n == 1:
            return _arith("-", ev(0), const(320))
        if name in ("sizeof",) and n == 1:
            return self.sizeof_expr(args[0], scope)
        found = self.program.lookup("func_macros", name, scope.file.path) if scope.depth < MAX_DEPTH else None
        expanded = expand_macro(*found[1], args) if found is not None else None
        if expanded is not None:
            return self.eval(expanded, Scope(scope.file, scope.fn, scope.depth + 1))
        return TOP

    def _array_size(self, ir: tuple, scope: Scope) -> Value:
        if ir[0] == "field":
            base = self.struct_of_expr(ir[1], scope)
            sd = self._struct(base) if base else None
            if sd is not None:
                for m in sd.members:
                    if m.name == ir[2] and m.array_dims and m.array_dims[0] != ("flex",):
                        n = self._const_of(m.array_dims[0])
                        return const(n) if n is not None else TOP
        return TOP

    def _flex_member_size(self, ptr: tuple, member: str, scope: Scope) -> Value:
        struct = self.struct_of_expr(ptr, scope)
        sd = self._struct(struct) if struct else None
        if sd is None:
            return TOP
        for m in sd.members:
            if m.name == member:
                size = 8 if m.pointer else self.layouts.size_of(m.type_text)
                return const(size) if size is not None else TOP
        return TOP



def same_driver(a: str, b: str) -> bool:
    """Do two files belong to one driver: the same directory, or one directly inside the other
    (drivers/usb/gadget and drivers/usb/gadget/function). Siblings such as two vendors under
    drivers/net/ethernet are different drivers; so are net/core and net/ethtool."""
    da, db = posixpath.dirname(a), posixpath.dirname(b)
    if da == db:
        return True
    outer, inner = (da, db) if len(da) < len(db) else (db, da)
    return outer.count("/") >= 2 and inner.startswith(outer + "/") and inner.count("/") == outer.count("/") + 1


def _gadget_side(path: str) -> bool:
    """A USB gadget driver: its descriptors are its own. Only the host side reads
    descriptors a device chose, so only there are their fields user input."""
    return path.startswith("drivers/usb/gadget/")


_SHRINKING_OPS = frozenset({"-=", "&=", ">>=", "/=", "%="})


def _field_operand(cmp: tuple, fname: str) -> str | None:
    """The rendered `x->fname` compared in `cmp`, if any."""
    if cmp[0] != "bin":
        return None
    for side in cmp[2:4]:
        if isinstance(side, tuple) and side[0] == "field" and side[2] == fname:
            return render(side)
    return None


_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "!=": "=="}


def _negated(cmp: tuple) -> tuple | None:
    """The comparison that is false when `cmp` is true (None when there is no such form)."""
    if cmp[0] == "bin" and cmp[1] in _NEGATED:
        return ("bin", _NEGATED[cmp[1]], cmp[2], cmp[3])
    return None


_CHECKED_ARITHMETIC = {"size_add": "+", "size_mul": "*", "array_size": "*"}  # saturating helpers of overflow.h


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


def _min_all(vals: list[Value]) -> Value:
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


def _max2(a: Value, b: Value) -> Value:
    if not a.known or not b.known:
        return join(a, b) if (a.sources or b.sources) else TOP
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    return Value(max(a.lo, b.lo), hi, a.sources | b.sources, a.steps or b.steps, True)


def _struct_name(type_text: str, typedefs: dict[str, str]) -> str:
    t = type_text.replace("*", "").strip()
    for _ in range(4):
        if t.startswith("struct ") or t.startswith("union "):
            return t.split(" ", 1)[1].strip()
        alias = typedefs.get(t)
        if alias is None:
            return ""
        t = alias.replace("*", "").strip()
    return ""


def _writable(perm: str) -> bool:
    perm = perm.strip()
    try:
        value = int(perm, 0) if perm[:1].isdigit() else None
    except ValueError:
        value = None
    if value is not None:
        return bool(value & 0o222)
    return any(w in perm for w in ("S_IWUSR", "S_IWGRP", "S_IWOTH", "0644", "0600", "0664", "0666", "S_IRWXU"))
