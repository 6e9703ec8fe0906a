"""Builtins: the kernel's own macros and constants, and `sizeof`.

`min`/`max`/`clamp*`, `BIT`, `ALIGN`, `PAGE_ALIGN`, `round_up`, `DIV_ROUND_UP`,
`roundup_pow_of_two`, `get_order`, `array_size`, `struct_size`, `ARRAY_SIZE`,
the byte-order helpers, the skb head arithmetic; builtin constants such as
`PAGE_SHIFT`, `U16_MAX`, `SZ_64K` and the tree's `PAGE_SIZE`/`KMALLOC_MAX_SIZE`;
`sizeof` of types and expressions through the struct layouts. A call is handled
here by name, through one `{name: handler}` table; a name not in it is left to
the tree's own macro of that name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from ...exprs import render
from ..layout import BASIC_TYPES_LP64, Layouts
from .lattice import TOP, Value, arith, combine, const, max2, min_all
from .scope import MAX_DEPTH, Scope

if TYPE_CHECKING:
    from .evaluator import ValueAnalysis

MAX_CONST_DEPTH_FROM_TOP = 1  # an array dimension is evaluated this many hops below the limit

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

SKB_SHARED_INFO = 320  # SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), x86_64, 6.1
SKB_ALIGN = 64  # SMP_CACHE_BYTES

Handler = Callable[["Builtins", str, tuple, Scope], "Value | None"]


class Builtins:
    def __init__(self, analysis: "ValueAnalysis"):
        self.analysis = analysis
        self.kernel = analysis.kernel
        self.program = analysis.program
        self.layouts = Layouts(self.struct, self.program.typedefs, self._const_of)

    # --- constants ------------------------------------------------------------
    def constant(self, name: str) -> Value | None:
        """A builtin kernel constant, or None when `name` is not one."""
        if name in _BUILTIN_CONSTANTS:
            return const(_BUILTIN_CONSTANTS[name])
        kernel = self.kernel
        if name == "PAGE_SIZE":
            return const(kernel.page_size)
        if name in ("KMALLOC_MAX_SIZE",):
            return const(kernel.kmalloc_max_size)
        if name == "KMALLOC_MAX_CACHE_SIZE":
            return const(kernel.kmalloc_max_cache_size)
        if name in ("MAX_ORDER",):
            return const(kernel.max_order + (0 if kernel.series >= (6, 4) else 1))
        if name == "MAX_PAGE_ORDER":
            return const(kernel.max_order)
        m = re.fullmatch(r"SZ_(\d+)([KMG]?)", name)
        if m:
            return const(int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)])
        return None

    @staticmethod
    def type_max(type_text: str) -> int | None:
        """The largest value of an integer type narrower than 64 bits (None: unbounded or unknown)."""
        return _TYPE_MAX.get(type_text)

    # --- calls ------------------------------------------------------------------
    def call(self, name: str, args: tuple, scope: Scope) -> Value | None:
        """A kernel macro or source read by name; None when `name` is not one of them
        (or is called with another number of arguments)."""
        entry = _HANDLERS.get(name)
        if entry is None:
            return None
        handler, arity = entry
        if arity is not None and len(args) != arity:
            return None
        return handler(self, name, args, scope)

    def _arg(self, args: tuple, i: int, scope: Scope) -> Value:
        return self.analysis.eval(args[i], scope) if i < len(args) else TOP

    def _min(self, name, args, scope):
        return min_all([self.analysis.eval(a, scope) for a in (args[1:] if name == "min_t" else args)])

    def _max(self, name, args, scope):
        vals = [self.analysis.eval(a, scope) for a in (args[1:] if name == "max_t" else args)]
        out = vals[0] if vals else TOP
        for v in vals[1:]:
            out = max2(out, v)
        return out

    def _clamp(self, name, args, scope):
        off = 1 if name == "clamp_t" else 0
        if len(args) < 3 + off:
            return TOP
        v, lo, hi = (self.analysis.eval(args[off + i], scope) for i in range(3))
        return min_all([max2(v, lo), hi]) if hi.known else TOP

    def _bit(self, name, args, scope):
        return arith("<<", const(1), self._arg(args, 0, scope))

    def _align(self, name, args, scope):
        v, a = self._arg(args, 0, scope), self._arg(args, 1, scope)
        if not (v.known and a.known) or a.lo != a.hi or a.lo == 0:
            return combine(v, a, v.lo, None) if v.sources else TOP  # at least v.lo, no upper bound
        step = a.lo
        up = name in ("ALIGN", "round_up", "roundup", "__ALIGN_KERNEL")
        rnd = (lambda x: (x + step - 1) // step * step) if up else (lambda x: x // step * step)
        return Value(rnd(v.lo), None if v.hi is None else rnd(v.hi), v.sources, v.steps, True)

    def _page_align(self, name, args, scope):
        return self._align("ALIGN", (args[0], ("num", self.kernel.page_size)), scope)

    def _div_round_up(self, name, args, scope):
        v, d = self._arg(args, 0, scope), self._arg(args, 1, scope)
        return arith("/", arith("+", v, arith("-", d, const(1))), d)

    def _pow2_up(self, name, args, scope):
        v = self._arg(args, 0, scope)
        if not v.known:
            return v
        p2 = lambda x: 1 << max(x - 1, 0).bit_length()  # noqa: E731
        return Value(p2(v.lo), None if v.hi is None else p2(v.hi), v.sources, v.steps, True)

    def _get_order(self, name, args, scope):
        v = self._arg(args, 0, scope)
        if not v.known:
            return v
        order = self.kernel.get_order
        return Value(order(v.lo), None if v.hi is None else order(v.hi), v.sources, v.steps, True)

    def _product(self, name, args, scope):
        out = arith("*", self._arg(args, 0, scope), self._arg(args, 1, scope))
        for i in range(2, len(args)):
            out = arith("*", out, self._arg(args, i, scope))
        return out

    def _sum(self, name, args, scope):
        return arith("+", self._arg(args, 0, scope), self._arg(args, 1, scope))

    def _struct_size(self, name, args, scope):
        if name == "struct_size":
            base = self.sizeof_expr(("deref", args[0]), scope)
        else:
            base = self.sizeof_type(render(args[0]))
        member = self.sizeof_expr(("idx", ("field", ("deref", args[0]), render(args[1]), False), ("num", 0)), scope)
        elem = self._flex_member_size(args[0], render(args[1]), scope)
        return arith("+", base, arith("*", elem if elem.known else member, self._arg(args, 2, scope)))

    def _array_length(self, name, args, scope):
        return self._array_size(args[0], scope)

    def _byte_order_16(self, name, args, scope):
        inner = self._arg(args, 0, scope)
        # A 16-bit field of unknown origin is unknown, not "up to 64 KiB": only a
        # descriptor field (a source) makes its type's maximum evidence.
        if name == "usb_endpoint_maxp":
            return self.analysis.sources.endpoint_max_packet(inner, scope)
        return inner if inner.known else TOP

    def _identity(self, name, args, scope):
        return self._arg(args, 0, scope)

    def _netlink_get(self, name, args, scope):
        return self.analysis.sources.netlink_attribute(name, args, scope)

    def _skb_data_align(self, name, args, scope):
        return self._align("ALIGN", (args[0], ("num", SKB_ALIGN)), scope)

    def _skb_head_align(self, name, args, scope):
        return arith("+", self._align("ALIGN", (args[0], ("num", SKB_ALIGN)), scope), const(SKB_SHARED_INFO))

    def _skb_with_overhead(self, name, args, scope):
        return arith("-", self._arg(args, 0, scope), const(SKB_SHARED_INFO))

    def _sizeof(self, name, args, scope):
        return self.sizeof_expr(args[0], scope)

    # --- sizeof -------------------------------------------------------------------
    def sizeof_type(self, type_text: str) -> Value:
        t = type_text.replace(" *", "*").strip()
        size = self.layouts.size_of(t)
        return const(size) if size is not None else TOP

    def sizeof_expr(self, ir: tuple, scope: Scope) -> Value:
        fn = scope.fn
        if ir[0] == "id":
            name = ir[1]
            if fn is not None:
                t = fn.locals.get(name) or next((pt for pn, pt in fn.params if pn == name), None)
                if t is not None:
                    return self.sizeof_type(t)
            # `sizeof(u32)` parsed as an expression: a type name after all
            if name in BASIC_TYPES_LP64 or name in self.program.typedefs:
                return self.sizeof_type(name)
            return TOP
        if ir[0] == "deref" and ir[1][0] == "id" and fn is not None:
            t = fn.locals.get(ir[1][1]) or next((pt for pn, pt in fn.params if pn == ir[1][1]), None)
            if t and t.endswith("*"):
                return self.sizeof_type(t[:-1].strip())
        if ir[0] == "field":
            member = self._member(ir, scope)
            if member is not None:
                if member.pointer:
                    return const(8)
                size = self.layouts.size_of(member.type_text)
                for dim in member.array_dims:
                    n = self._const_of(dim)
                    size = None if n is None or size is None else size * n
                return const(size) if size is not None else TOP
        return TOP

    def _member(self, ir: tuple, scope: Scope):
        """The struct member `ir` (a field expression) reads, when its struct is known."""
        base = self.analysis.fields.struct_of_expr(ir[1], scope)
        sd = self.struct(base) if base else None
        if sd is not None:
            for m in sd.members:
                if m.name == ir[2]:
                    return m
        return None

    def struct(self, name: str):
        defs = self.program.structs.get(name)
        if not defs:
            return None
        return defs[0][1]

    def _const_of(self, ir: tuple) -> int | None:
        program = self.program
        v = self.analysis.eval(ir, Scope(program.files[0] if program.files else None, None,
                                         MAX_DEPTH - MAX_CONST_DEPTH_FROM_TOP)) if program.files else TOP
        return v.lo if v.known and v.lo == v.hi else None

    def _array_size(self, ir: tuple, scope: Scope) -> Value:
        if ir[0] == "field":
            base = self.analysis.fields.struct_of_expr(ir[1], scope)
            sd = self.struct(base) if base else None
            if sd is not None:
                for m in sd.members:
                    if m.name == ir[2] and m.array_dims and m.array_dims[0] != ("flex",):
                        n = self._const_of(m.array_dims[0])
                        return const(n) if n is not None else TOP
        return TOP

    def _flex_member_size(self, ptr: tuple, member: str, scope: Scope) -> Value:
        struct = self.analysis.fields.struct_of_expr(ptr, scope)
        sd = self.struct(struct) if struct else None
        if sd is None:
            return TOP
        for m in sd.members:
            if m.name == member:
                size = 8 if m.pointer else self.layouts.size_of(m.type_text)
                return const(size) if size is not None else TOP
        return TOP


def _table(spec: dict[Handler, tuple[tuple[str, ...], int | None]]) -> dict[str, tuple[Handler, int | None]]:
    return {name: (handler, arity) for handler, (names, arity) in spec.items() for name in names}


_HANDLERS = _table({
    Builtins._min: (("min", "min_t", "min3", "min_not_zero", "umin"), None),
    Builtins._max: (("max", "max_t", "max3", "umax"), None),
    Builtins._clamp: (("clamp", "clamp_t", "clamp_val"), None),
    Builtins._bit: (("BIT", "BIT_ULL"), 1),
    Builtins._align: (("ALIGN", "round_up", "roundup", "__ALIGN_KERNEL", "ALIGN_DOWN", "round_down", "rounddown"), 2),
    Builtins._page_align: (("PAGE_ALIGN",), 1),
    Builtins._div_round_up: (("DIV_ROUND_UP",), 2),
    Builtins._pow2_up: (("roundup_pow_of_two", "__roundup_pow_of_two"), 1),
    Builtins._get_order: (("get_order",), 1),
    Builtins._product: (("array_size", "size_mul"), 2),
    Builtins._sum: (("size_add",), 2),
    Builtins._struct_size: (("struct_size", "struct_size_t"), 3),
    Builtins._array_length: (("ARRAY_SIZE",), 1),
    Builtins._byte_order_16: (("le16_to_cpu", "be16_to_cpu", "le16_to_cpup", "get_unaligned_le16", "__le16_to_cpu",
                                "usb_endpoint_maxp"), None),
    Builtins._identity: (("le32_to_cpu", "be32_to_cpu", "cpu_to_le16", "cpu_to_le32", "ntohs", "ntohl", "htons",
                          "htonl", "READ_ONCE"), None),
    Builtins._netlink_get: (("nla_get_u8", "nla_get_u16", "nla_get_u32", "nla_get_u64", "nla_get_be16",
                             "nla_get_be32", "nla_get_le16", "nla_get_le32"), None),
    Builtins._skb_data_align: (("SKB_DATA_ALIGN",), 1),
    Builtins._skb_head_align: (("SKB_HEAD_ALIGN",), 1),
    Builtins._skb_with_overhead: (("SKB_WITH_OVERHEAD",), 1),
    Builtins._sizeof: (("sizeof",), 1),
})
_HANDLERS["array3_size"] = (Builtins._product, 3)
