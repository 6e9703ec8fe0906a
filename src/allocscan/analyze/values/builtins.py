"""Builtins: the kernel's own macros and constants, and `sizeof`.

`min`/`max`/`clamp*`, `BIT`, `ALIGN`, `PAGE_ALIGN`, `round_up`, `DIV_ROUND_UP`,
`roundup_pow_of_two`, `get_order`, `array_size`, `struct_size`, `ARRAY_SIZE`,
`READ_ONCE`, the skb head arithmetic; builtin constants such as `PAGE_SHIFT`,
`U16_MAX`, `SZ_64K` and the tree's `PAGE_SIZE`/`KMALLOC_MAX_SIZE`; `sizeof` of
types and expressions through the struct layouts. Which macro is evaluated how
is data (data/macros.toml): each names one of the evaluations of `_EVALUATIONS`,
a `{name: handler}` table. A name not in it is left to the tree's own macro.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Callable

from ...exprs import IDENT_RE, STRING_LITERAL_RE, render, string_literal_size, strip_comments
from ...kernel.tables import MacroSpec, value_tables
from ...link import struct_name
from ..layout import BASIC_TYPES_LP64, POINTER, Layouts
from .lattice import (TOP, WHY_ARITHMETIC, WHY_SIZEOF, Value, arith, combine, const, interval, mapped, max2, min_all,
                      unbounded, unknown)
from .scope import Scope

if TYPE_CHECKING:
    from .evaluator import ValueAnalysis

MAX_CONSTANT_HOPS = 16  # names and macros an array dimension is evaluated through
POINTER_SIZE = POINTER[0]
# the words a type's text may begin with
_TYPE_WORDS = frozenset({"struct", "union", "enum", "const", "volatile", "unsigned", "signed", "short", "long",
                         "char", "int", "void", "bool", "_Bool", "float", "double"})

# a member path a macro may stand for: `__sk_common.skc_prot`
_MEMBER_PATH_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def names_a_type(text: str, typedefs: dict[str, str]) -> bool:
    """Does the text (a macro's argument) name a type (`u32`, `struct demo_desc`, `u8 *`)
    rather than a value? A name is one when the tree typedefs it or the tables know it."""
    t = " ".join(text.split())
    if not t:
        return False
    if t.endswith("*") or t.split()[0] in _TYPE_WORDS:
        return True
    if not IDENT_RE.fullmatch(t):
        return False
    tables = value_tables()
    return (t in BASIC_TYPES_LP64 or t in typedefs or t.endswith("_t") or t in tables.cast_types
            or t in tables.macro_defined_types)


class Builtins:
    def __init__(self, analysis: "ValueAnalysis"):
        self.analysis = analysis
        self.kernel = analysis.kernel
        self.program = analysis.program
        self.tables = value_tables()
        self._size_constant = re.compile(re.escape(self.tables.size_prefix) + r"(\d+)("
                                         + "|".join(sorted(map(re.escape, self.tables.size_units), key=len, reverse=True))
                                         + ")")
        self.layouts = Layouts(self._struct_and_path, self.program.typedefs, self._const_of,
                               self.tables.member_macros,
                               self.program.defined_more_than_once,
                               self.program.lookup, self.tables.macro_defined_types)

    def in_asm_header(self, path: str) -> bool:
        """Is `path` a header of architecture primitives, whose bodies are inline assembly
        (macros.toml [asm_headers])?"""
        return any(fnmatch.fnmatchcase(path, glob) for glob in self.tables.asm_headers)

    # --- constants ------------------------------------------------------------
    def constant(self, name: str) -> Value | None:
        """A builtin kernel constant, or None when `name` is not one."""
        tables = self.tables
        if name in tables.constants:
            return const(tables.constants[name])
        attribute = tables.kernel_constants.get(name)
        if attribute is not None:
            return const(getattr(self.kernel, attribute))
        m = self._size_constant.fullmatch(name)
        if m:
            return const(int(m.group(1)) << tables.size_units[m.group(2)])
        mask = self.kernel.gfp.masks.get(name) if "GFP" in name else None
        if mask is not None:  # a gfp mask's bits on this kernel version (`flags == GFP_KERNEL`)
            return const(mask)
        return None

    def named_size(self, name: str | int) -> int:
        """A size a macro table entry names: a number, a builtin constant, or one of [sizes]."""
        if isinstance(name, int):
            return name
        if name in self.tables.sizes:
            return self.tables.sizes[name]
        return self.constant(name).lo

    def is_type(self, text: str) -> bool:
        """Does a macro argument's text name a type rather than a value?"""
        return names_a_type(text, self.program.typedefs)

    def type_max(self, type_text: str, near: str = "") -> int | None:
        """The largest value of an integer type narrower than 64 bits (None: unbounded or
        unknown), through typedefs and, as file `near` sees them, object-like macros that
        name a type (cciss' `#define WORD __u16`)."""
        integer_types = self.tables.integer_types
        t = " ".join(type_text.split())
        for _ in range(4):
            if t in integer_types:
                return integer_types[t]
            alias = self.program.typedefs.get(t)
            if alias is None and near and IDENT_RE.fullmatch(t):
                found = self.program.lookup("defines", t, near)
                alias = " ".join(strip_comments(found[1]).split()) if found is not None else None
            if alias is None or alias == t:
                return None
            t = " ".join(alias.split())
        return None

    # --- calls ------------------------------------------------------------------
    def call(self, name: str, args: tuple, scope: Scope) -> Value | None:
        """A kernel macro by name; None when `name` is not one (or is called with
        another number of arguments than the macro takes)."""
        spec = self.tables.macros.get(name)
        if spec is None or (spec.args is not None and len(args) != spec.args):
            return None
        return _EVALUATIONS[spec.eval](self, spec, args, scope)

    def _arg(self, args: tuple, i: int, scope: Scope) -> Value:
        return self.analysis.eval(args[i], scope) if i < len(args) else TOP

    def _min(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return min_all([self.analysis.eval(a, scope) for a in args[spec.skip:]])

    def _max(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        vals = [self.analysis.eval(a, scope) for a in args[spec.skip:]]
        out = vals[0] if vals else TOP
        for v in vals[1:]:
            out = max2(out, v)
        return out

    def _clamp(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        off = spec.skip
        if len(args) < 3 + off:
            return unknown(WHY_ARITHMETIC)
        v, lo, hi = (self.analysis.eval(args[off + i], scope) for i in range(3))
        return min_all([max2(v, lo), hi]) if hi.known else hi

    def _shift_one(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return arith("<<", const(1), self._arg(args, 0, scope))

    def _bit_range(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """GENMASK(h, l): bits l..h set; unknown unless both are constants."""
        high, low = self._arg(args, 0, scope), self._arg(args, 1, scope)
        if not (high.known and low.known and high.lo == high.hi and low.lo == low.hi and 0 <= low.lo <= high.lo < 64):
            return unknown(WHY_ARITHMETIC)
        return const((1 << (high.lo + 1)) - (1 << low.lo))

    def _field_get(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """FIELD_GET(mask, reg), le32_get_bits(reg, mask): `(reg & mask) >> shift`, the
        shift the mask's lowest set bit; at most the mask shifted down whatever reg is
        (a descriptor's length field). A value of the other byte order (`swapped`) is
        read for its sources only: its bytes are not the field's."""
        mask = self._arg(args, spec.mask, scope)
        reg = self._arg(args, 1 - spec.mask, scope)
        if spec.swapped and reg.known:
            reg = Value(0, None, reg.sources, reg.steps, True) if reg.sources else unknown(WHY_ARITHMETIC)
        if not mask.known or mask.hi is None or mask.hi == 0:
            return unknown(WHY_ARITHMETIC)
        exact = mask.lo == mask.hi
        shift = (mask.hi & -mask.hi).bit_length() - 1 if exact else 0
        return arith(">>", arith("&", reg, mask), const(shift))

    def _align_up(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return self._aligned(spec, args, scope, up=True)

    def _align_down(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return self._aligned(spec, args, scope, up=False)

    def _aligned(self, spec: MacroSpec, args: tuple, scope: Scope, up: bool) -> Value:
        if spec.step is not None:
            args = (args[0], ("num", self.named_size(spec.step)))
        v, a = self._arg(args, 0, scope), self._arg(args, 1, scope)
        if not (v.known and a.known) or a.lo != a.hi or a.lo == 0:
            if v.sources:
                # at least v.lo; a multiple of a is less than v + a above v (round_up(len,
                # maxpacket) of a user's len stays the user's, within one packet more)
                bound = interval(a)[1]
                hi = None if v.hi is None or bound is None else (v.hi + max(bound - 1, 0) if up else v.hi)
                # (no upper bound: combine() keeps it the user's only when v has none)
                out = v.bounded(v.lo, hi) if hi is not None and not a.known else combine(v, a, v.lo, hi)
            elif not v.known and a.known and a.lo == a.hi and a.lo > 0:
                step = a.lo
                out = mapped(v, (lambda x: (x + step - 1) // step * step) if up else (lambda x: x // step * step))
            else:
                out = next((unbounded(x) for x in (v, a) if not x.known), unknown(WHY_ARITHMETIC))
        else:
            step = a.lo
            rnd = (lambda x: (x + step - 1) // step * step) if up else (lambda x: x // step * step)
            out = v.bounded(rnd(v.lo), None if v.hi is None else rnd(v.hi))
        if spec.plus is not None:
            out = arith("+", out, const(self.named_size(spec.plus)))
        return out

    def _div_round_up(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        v, d = self._arg(args, 0, scope), self._arg(args, 1, scope)
        return arith("/", arith("+", v, arith("-", d, const(1))), d)

    def _pow2_up(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        v = self._arg(args, 0, scope)
        p2 = lambda x: 1 << max(x - 1, 0).bit_length()  # noqa: E731
        if not v.known:
            return mapped(v, p2)
        return v.bounded(p2(v.lo), None if v.hi is None else p2(v.hi))

    def _get_order(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        v = self._arg(args, 0, scope)
        order = self.kernel.get_order
        if not v.known:
            return mapped(v, order)
        return v.bounded(order(v.lo), None if v.hi is None else order(v.hi))

    def _bits(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """fls(x), ilog2(x), order_base_2(x): a bit length, monotone in x."""
        v = self._arg(args, 0, scope)
        minus = self.named_size(spec.minus) if spec.minus is not None else 0
        bits = lambda x: max(max(x - spec.less, 0).bit_length() - minus, 0)  # noqa: E731
        if not v.known or v.hi is None:
            return mapped(v, bits) if not v.known else unknown(WHY_ARITHMETIC)
        return v.bounded(bits(v.lo), bits(v.hi))

    def _product(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        out = arith("*", self._arg(args, 0, scope), self._arg(args, 1, scope))
        for i in range(2, len(args)):
            out = arith("*", out, self._arg(args, i, scope))
        return out

    def _sum(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return arith("+", self._arg(args, 0, scope), self._arg(args, 1, scope))

    def _minus(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return arith("-", self._arg(args, 0, scope), const(self.named_size(spec.minus)))

    def _struct_size(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """struct_size(p, member, n): sizeof(*p) + n * sizeof(p->member[0])."""
        return self._flexible(self.sizeof_expr(("deref", args[0]), scope), args, scope)

    def _struct_size_t(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """struct_size_t(type, member, n)."""
        return self._flexible(self.sizeof_type(render(args[0]), scope.file.path), args, scope)

    def _flexible(self, base: Value, args: tuple, scope: Scope) -> Value:
        chain = ("deref", args[0])
        for name in render(args[1]).replace(" ", "").split("."):  # struct_size(p, msg.payload, n)
            chain = ("field", chain, name, False)
        member = self.sizeof_expr(("idx", chain, ("num", 0)), scope)
        elem = self._flex_member_size(args[0], render(args[1]), scope)
        return arith("+", base, arith("*", elem if elem.known else member, self._arg(args, 2, scope)))

    def _array_length(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return self._array_size(args[0], scope)

    def _identity(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return self._arg(args, 0, scope)

    def _sizeof(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        return self.sizeof_expr(args[0], scope)

    def _offsetof(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """offsetof(type, a.b), offsetofend(type, a.b) (`end`: the offset past the member),
        sizeof_field(type, a.b) (`field`: the member's size), from the type's layout. The
        member may end in an array element: `offsetof(struct demo_cmd, addrs[6 * n])`."""
        if args[1][0] == "idx":
            return self._offset_of_element(spec, args, scope)
        type_text, member = _type_argument(args[0]), _member_path(args[1])
        if type_text is None or member is None:
            return unknown(WHY_SIZEOF)
        near = scope.file.path
        offset = 0 if spec.field else self.layouts.offset_of(type_text, member, near)
        size = self.layouts.member_size(type_text, member, near) if spec.field or spec.end else 0
        return const(offset + size) if offset is not None and size is not None else unknown(WHY_SIZEOF)

    def _alignment(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """__alignof__(type): the alignment of the type's layout."""
        type_text = _type_argument(args[0])
        align = self.layouts.align_of(type_text.replace(" *", "*"), scope.file.path) if type_text else None
        return const(align) if align is not None else unknown(WHY_SIZEOF)

    def _offset_of_element(self, spec: MacroSpec, args: tuple, scope: Scope) -> Value:
        """offsetof(type, a[i]): the array's offset and i of its elements (offsetofend: one
        more; sizeof_field: one element), i read as any value is."""
        type_text, member = _type_argument(args[0]), _member_path(args[1][1])
        if type_text is None or member is None:
            return unknown(WHY_SIZEOF)
        near = scope.file.path
        offset = self.layouts.offset_of(type_text, member, near)
        element = self.layouts.element_size(type_text, member, near)
        if offset is None or element is None:
            return unknown(WHY_SIZEOF)
        if spec.field:
            return const(element)
        index = self.analysis.eval(args[1][2], scope)
        if spec.end:
            index = arith("+", index, const(1))
        return arith("+", const(offset), arith("*", index, const(element)))

    # --- sizeof -------------------------------------------------------------------
    def sizeof_type(self, type_text: str, near: str = "") -> Value:
        """sizeof of a type as file `near` sees it."""
        t = type_text.replace(" *", "*").strip()
        size = self.layouts.size_of(t, near)
        return const(size) if size is not None else unknown(WHY_SIZEOF)

    def sizeof_expr(self, ir: tuple, scope: Scope) -> Value:
        """sizeof of an expression: its type (`expr_type`) laid out, times its array
        dimensions (`sizeof(*ring->desc)`, `sizeof(buf)` of `u8 buf[64]`, `sizeof(tbl[0])`)."""
        literal = self._string_literal(ir, scope)
        if literal is not None:
            return const(string_literal_size(literal))
        typed = self.expr_type(ir, scope)
        if typed is None:
            return unknown(WHY_SIZEOF)
        text, dims, path = typed
        size = POINTER_SIZE if text.endswith("*") else self.layouts.size_of(text, path)
        for dim in dims:
            n = None if dim == ("flex",) else self._const_of(dim, path)
            size = None if n is None or size is None else size * n
        return const(size) if size is not None else unknown(WHY_SIZEOF)

    def _string_literal(self, ir: tuple, scope: Scope) -> str | None:
        """The string literal `ir` is, written or through an object-like #define
        (smack's `#define SMK_ACCESS "rwxatl"`, then `sizeof(SMK_ACCESS) - 1`), or None."""
        if ir[0] == "str":
            return ir[1]
        if ir[0] != "id" or (scope.fn is not None and (ir[1] in scope.fn.locals or
                                                      any(p == ir[1] for p, _ in scope.fn.params))):
            return None
        for includes in (False, True):
            found = self.program.lookup("defines", ir[1], scope.file.path, includes)
            if found is not None:
                body = found[1].strip()
                return body if STRING_LITERAL_RE.fullmatch(body) else None
        return None

    def expr_type(self, ir: tuple, scope: Scope) -> tuple[str, tuple, str] | None:
        """(type text, array dimensions, the file whose view of the type counts) of an
        expression, or None when it is not known. A pointer type ends in `*`; `u8 buf[64]`
        is ('u8', (64,), its file): the dimensions are kept apart from the element type."""
        kind = ir[0]
        if kind == "id":
            return self._declared_type(ir[1], scope)
        if kind == "field":
            return self._member_type(ir, scope)
        if kind in ("deref", "idx"):
            inner = self.expr_type(ir[1], scope)
            return self._element(inner) if inner is not None else None
        if kind == "cast":
            return (ir[1].replace(" *", "*"), (), scope.file.path) if ir[1] else None
        if kind == "addr":
            inner = self.expr_type(ir[1], scope)
            return (inner[0] + "*", (), inner[2]) if inner is not None and not inner[1] else None
        return None

    @staticmethod
    def local_type(name: str, scope: Scope) -> str | None:
        """The declared type of a local or a parameter of the scope's function, or None."""
        fn = scope.fn
        if fn is None:
            return None
        declared = fn.declaration_at(name, scope.at_byte)  # of a name declared more than once, the one in force
        if declared and declared[1]:
            return declared[2]
        t = fn.locals.get(name)
        return t if t is not None else next((pt for pn, pt in fn.params if pn == name), None)

    def _declared_type(self, name: str, scope: Scope) -> tuple[str, tuple, str] | None:
        """A local's, a parameter's or the file's global's declared type; or the name itself
        when it is a type (`sizeof(u32)` parsed as an expression); or the type a header or
        another file of the directory declares the global with."""
        fn, path = scope.fn, scope.file.path
        t = self.local_type(name, scope)
        if t is not None:
            return t, fn.local_arrays.get(name, ()), path
        t = scope.file.global_types.get(name)
        if t is not None:
            return t, scope.file.global_arrays.get(name, ()), path
        if name in BASIC_TYPES_LP64 or name in self.program.typedefs:
            return name, (), path
        # a global declared in a header (`extern const unsigned char rfc1042_header[6];`)
        # or defined in another file of the directory
        found = self.program.lookup("global_types", name, path)
        if found is not None:
            declared = self.program.file(found[0])
            return found[1], declared.global_arrays.get(name, ()) if declared else (), found[0]
        return None

    def _member_type(self, ir: tuple, scope: Scope) -> tuple[str, tuple, str] | None:
        """The type of `base->name` / `base.name`, read from the base's struct definition."""
        base = self.expr_type(ir[1], scope)
        if base is None or base[1]:
            return None
        struct = struct_name(base[0], self.program.typedefs)
        found = self.find_member(struct, base[2], ir[2]) if struct else None
        if found is None:
            return None
        m, path = found
        return (m.type_text + "*" if m.pointer else m.type_text), m.array_dims, path

    def find_member(self, struct: str, near: str, name: str):
        """(member, path of its struct's definition) of `struct`'s member `name`: one of
        its own, one of its anonymous struct and union members, or one a macro beside the
        struct names (`#define sk_prot __sk_common.skc_prot`: struct sock's members that
        are its embedded common part's), followed through that member path."""
        found = self._find_member(struct, near, name)
        if found is not None:
            return found
        where = self._struct_and_path(struct, near)
        alias = self.program.lookup("defines", name, where[0]) if where is not None else None
        if alias is None or not _MEMBER_PATH_RE.fullmatch(alias[1].strip()) or alias[1].strip() == name:
            return None
        for part in alias[1].strip().split("."):
            found = self._find_member(struct, near, part) if struct else None
            if found is None:
                return None
            struct, near = struct_name(found[0].type_text, self.program.typedefs), found[1]
        return found

    def _find_member(self, struct: str, near: str, name: str, depth: int = 0):
        """(member, path of its struct's definition) of `struct`'s member `name`, looked
        for in its anonymous struct and union members too."""
        found = self._struct_and_path(struct, near)
        if found is None or depth > 4:
            return None
        path, sd = found
        for m in sd.members:
            if m.name == name:
                return m, path
        for m in sd.members:
            if not m.name and not m.pointer and not m.covers:
                inner = struct_name(m.type_text, self.program.typedefs)
                hit = self._find_member(inner, path, name, depth + 1) if inner else None
                if hit is not None:
                    return hit
        return None

    def _element(self, typed: tuple[str, tuple, str]) -> tuple[str, tuple, str] | None:
        """The type `*x` or `x[i]` has: an array's element, or what a pointer (through
        typedefs) points to."""
        text, dims, path = typed
        if dims:
            return text, dims[1:], path
        t = text
        for _ in range(4):
            if t.endswith("*"):
                return t[:-1].strip(), (), path
            alias = self.program.typedefs.get(t)
            if alias is None or alias == t:
                return None
            t = alias.replace(" *", "*").strip()
        return None

    def offset_of(self, type_text: str, member: str, scope: Scope) -> Value:
        """offsetof(type, member) from the type's layout."""
        offset = self.layouts.offset_of(" ".join(type_text.split()), member, scope.file.path)
        return const(offset) if offset is not None else unknown(WHY_SIZEOF)

    def member(self, ir: tuple, scope: Scope):
        """The struct member `ir` (a field expression) reads, when its struct is known."""
        return self._member_where(ir, scope)[0]

    def _member_where(self, ir: tuple, scope: Scope):
        """(member, path of its struct's definition), or (None, "")."""
        base = self.analysis.fields.struct_of_expr(ir[1], scope)
        found = self._struct_and_path(base, scope.file.path) if base else None
        if found is not None:
            for m in found[1].members:
                if m.name == ir[2]:
                    return m, found[0]
        return None, ""

    def struct_location(self, name: str, near: str = "") -> tuple[str, int] | None:
        """(path, line) of the struct's definition as file `near` sees it."""
        found = self._struct_and_path(name, near)
        return (found[0], found[1].line) if found else None

    def _struct_and_path(self, name: str, near: str = ""):
        """(path, StructDef) of the struct `name` as file `near` sees it (Program.struct_def)."""
        return self.program.struct_def(name, near)

    def struct(self, name: str, near: str = ""):
        """The StructDef of `name` as file `near` sees it."""
        found = self._struct_and_path(name, near)
        return found[1] if found else None

    def _const_of(self, ir: tuple, path: str = "") -> int | None:
        """The constant value of an array dimension, read where its struct is defined:
        apart from the asking site (a layout is kept for the whole scan), through as many
        names and macros as a kernel constant takes (`BITS_TO_LONGS(N)` is three macros
        deep, an enumerator counting past an `#ifdef`ed block a chain of them)."""
        program = self.program
        if not path or program.file(path) is None:
            path = program.files[0].path if program.files else ""
        return self.analysis.constant_expr(ir, path, MAX_CONSTANT_HOPS) if path else None

    def _array_size(self, ir: tuple, scope: Scope) -> Value:
        """ARRAY_SIZE(x): the first dimension of x's declared type."""
        typed = self.expr_type(ir, scope)
        if typed is not None and typed[1] and typed[1][0] != ("flex",):
            n = self._const_of(typed[1][0], typed[2])
            return const(n) if n is not None else unknown(WHY_SIZEOF)
        return unknown(WHY_SIZEOF)

    def _flex_member_size(self, ptr: tuple, member: str, scope: Scope) -> Value:
        struct = self.analysis.fields.struct_of_expr(ptr, scope)
        found = self._struct_and_path(struct, scope.file.path) if struct else None
        if found is None:
            return unknown(WHY_SIZEOF)
        path, sd = found
        for m in sd.members:
            if m.name == member:
                size = 8 if m.pointer else self.layouts.size_of(m.type_text, path)
                return const(size) if size is not None else unknown(WHY_SIZEOF)
        return unknown(WHY_SIZEOF)


# macros.toml's `eval` names -> the method that evaluates them
_EVALUATIONS: dict[str, Callable[[Builtins, MacroSpec, tuple, Scope], Value]] = {
    "min": Builtins._min,
    "max": Builtins._max,
    "clamp": Builtins._clamp,
    "shift_one": Builtins._shift_one,
    "bit_range": Builtins._bit_range,
    "field_get": Builtins._field_get,
    "up_to_multiple": Builtins._align_up,
    "down_to_multiple": Builtins._align_down,
    "div_round_up": Builtins._div_round_up,
    "pow2_up": Builtins._pow2_up,
    "page_order": Builtins._get_order,
    "bits": Builtins._bits,
    "product": Builtins._product,
    "sum": Builtins._sum,
    "minus": Builtins._minus,
    "flexible_struct": Builtins._struct_size,
    "flexible_type": Builtins._struct_size_t,
    "element_count": Builtins._array_length,
    "identity": Builtins._identity,
    "sizeof": Builtins._sizeof,
    "member_offset": Builtins._offsetof,
    "alignment": Builtins._alignment,
}


def _type_argument(ir: tuple) -> str | None:
    """The type a macro's argument names (`struct foo`, a typedef name), as text."""
    if ir[0] in ("id", "unk") and ir[1]:
        return " ".join(ir[1].split())
    return None


def _member_path(ir: tuple) -> str | None:
    """`u.action.u.mesh_action` of a member designator parsed as field expressions, or
    None when it is not a plain path (an array element, an arrow)."""
    if ir[0] == "id":
        return ir[1]
    if ir[0] == "field" and not ir[3]:
        base = _member_path(ir[1])
        return f"{base}.{ir[2]}" if base is not None else None
    return None

