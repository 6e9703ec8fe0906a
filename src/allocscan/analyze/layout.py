"""Struct layouts for `sizeof`: the target's basic types (LP64 by default),
padding and alignment, arrays, unions, nested structs, flexible array members
and bit-fields, computed from the struct definitions the scan found. An array
dimension is evaluated where its struct is defined (a driver's own
`#define DEMO_MAX_LEVELS 16` in its header); a member declared by a kernel
macro (`DECLARE_BITMAP(flags, N)`, `DECLARE_HASHTABLE(tbl, bits)`) is laid out
as the array it declares (data/macros.toml [member_macros]).
"""

from __future__ import annotations

import posixpath
import re
from typing import Callable

from ..exprs import ir_from_text, split_args

# (size, alignment) of the kernel's basic types on LP64 (x86_64, arm64).
BASIC_TYPES_LP64: dict[str, tuple[int, int]] = {
    "char": (1, 1), "signed char": (1, 1), "unsigned char": (1, 1), "bool": (1, 1), "_Bool": (1, 1),
    "short": (2, 2), "short int": (2, 2), "unsigned short": (2, 2), "unsigned short int": (2, 2),
    "signed short": (2, 2),
    "int": (4, 4), "signed": (4, 4), "signed int": (4, 4), "unsigned": (4, 4), "unsigned int": (4, 4),
    "long": (8, 8), "long int": (8, 8), "unsigned long": (8, 8), "unsigned long int": (8, 8),
    "signed long": (8, 8), "long long": (8, 8), "unsigned long long": (8, 8), "long long int": (8, 8),
    "unsigned long long int": (8, 8), "float": (4, 4), "double": (8, 8),
    "u8": (1, 1), "s8": (1, 1), "__u8": (1, 1), "__s8": (1, 1), "uint8_t": (1, 1), "int8_t": (1, 1),
    "u16": (2, 2), "s16": (2, 2), "__u16": (2, 2), "__s16": (2, 2), "uint16_t": (2, 2), "int16_t": (2, 2),
    "__le16": (2, 2), "__be16": (2, 2), "__sum16": (2, 2),
    "u32": (4, 4), "s32": (4, 4), "__u32": (4, 4), "__s32": (4, 4), "uint32_t": (4, 4), "int32_t": (4, 4),
    "__le32": (4, 4), "__be32": (4, 4), "__wsum": (4, 4), "gfp_t": (4, 4), "uid_t": (4, 4), "gid_t": (4, 4),
    "pid_t": (4, 4), "atomic_t": (4, 4), "refcount_t": (4, 4), "spinlock_t": (4, 4), "raw_spinlock_t": (4, 4),
    "rwlock_t": (8, 4), "fmode_t": (4, 4), "dev_t": (4, 4), "umode_t": (2, 2), "irqreturn_t": (4, 4),
    "u64": (8, 8), "s64": (8, 8), "__u64": (8, 8), "__s64": (8, 8), "uint64_t": (8, 8), "int64_t": (8, 8),
    "__le64": (8, 8), "__be64": (8, 8), "size_t": (8, 8), "ssize_t": (8, 8), "loff_t": (8, 8),
    "dma_addr_t": (8, 8), "phys_addr_t": (8, 8), "resource_size_t": (8, 8), "uintptr_t": (8, 8),
    "ptrdiff_t": (8, 8), "atomic64_t": (8, 8), "atomic_long_t": (8, 8), "sector_t": (8, 8),
    "ktime_t": (8, 8), "time64_t": (8, 8), "off_t": (8, 8), "netdev_features_t": (8, 8),
    "void": (1, 1),
}
POINTER = (8, 8)


class Layouts:
    """Computes (size, align) of types, memoised, with a recursion guard."""

    def __init__(self, struct_lookup: Callable[[str, str], "tuple[str, object] | None"], typedefs: dict[str, str],
                 eval_const: Callable[[tuple, str], int | None], member_macros: dict | None = None,
                 defined_more_than_once: Callable[[str], bool] = lambda name: False):
        # (name, the path it is read from) -> (path of its definition, StructDef): of two
        # structs of one name (iphase's and qlge's tx_buf_desc) the one the reader sees
        self.struct_lookup = struct_lookup
        self.defined_more_than_once = defined_more_than_once
        self._ambiguity: dict[str, bool] = {}  # type text -> names a struct defined twice?
        self.typedefs = typedefs
        self.eval_const = eval_const  # (IR, path it is read in) -> its constant value
        self.member_macros = member_macros or {}  # DECLARE_BITMAP -> (element type, count text)
        self.memo: dict[str, tuple[int, int] | None] = {}
        self.active: set[str] = set()
        self._path = ""  # where the struct being laid out is defined (its members' macros)

    def size_of(self, type_text: str, near: str = "") -> int | None:
        """The size of a type as file `near` sees it (a member's type: as its struct's
        definition sees it)."""
        if near:
            outer, self._path = self._path, near
            try:
                sa = self.layout(type_text)
            finally:
                self._path = outer
        else:
            sa = self.layout(type_text)
        return sa[0] if sa else None

    def layout(self, type_text: str) -> tuple[int, int] | None:
        type_text = type_text.strip()
        # A struct name defined in several places is laid out as the reading file sees it.
        key = (type_text, posixpath.dirname(self._path)) if self._ambiguous(type_text) else type_text
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return None
        self.active.add(key)
        try:
            result = self._compute(type_text)
        finally:
            self.active.discard(key)
        self.memo[key] = result
        return result

    def _ambiguous(self, type_text: str) -> bool:
        found = self._ambiguity.get(type_text)
        if found is None:
            found = self._ambiguity[type_text] = self._names_a_struct_defined_twice(type_text)
        return found

    def _names_a_struct_defined_twice(self, t: str) -> bool:
        for _ in range(4):  # through typedefs
            for prefix in ("struct ", "union "):
                if t.startswith(prefix):
                    return self.defined_more_than_once(t[len(prefix):].strip())
            alias = self.typedefs.get(t)
            if alias is None or alias == t:
                return False
            t = alias.strip()
        return False

    def _compute(self, t: str) -> tuple[int, int] | None:
        if t.endswith("*"):
            return POINTER
        if t in BASIC_TYPES_LP64:
            return BASIC_TYPES_LP64[t]
        for prefix in ("struct ", "union "):
            if t.startswith(prefix):
                return self._struct(t[len(prefix):].strip())
        if t.startswith("enum "):
            return (4, 4)
        alias = self.typedefs.get(t)
        if alias is not None and alias != t:
            return self.layout(alias)
        return self._macro_member(t)

    def _macro_member(self, t: str) -> tuple[int, int] | None:
        """`DECLARE_BITMAP(flags,N)` as a member's type: the array it declares."""
        m = _MACRO_MEMBER_RE.match(t)
        spec = self.member_macros.get(m.group(1)) if m else None
        if spec is None:
            return None
        element, count_text = spec
        sa = self.layout(element)
        if sa is None:
            return None
        if not count_text:
            return sa
        args = [a.strip() for a in split_args(m.group(2))]
        try:
            text = count_text.format(*args)
        except IndexError:
            return None
        n = self.eval_const(ir_from_text(text), self._path)
        return None if n is None else (sa[0] * n, sa[1])

    def _struct(self, name: str) -> tuple[int, int] | None:
        found = self.struct_lookup(name, self._path)
        if found is None:
            return None
        path, sd = found
        outer, self._path = self._path, path
        try:
            return self._members(sd, path)
        finally:
            self._path = outer

    def _members(self, sd, path: str) -> tuple[int, int] | None:
        offset = 0
        max_align = 1
        size = 0
        bit_used = 0  # bits used in the current bit-field unit
        for m in sd.members:
            if m.bits is not None and not m.pointer:
                base = self.layout(m.type_text) or (4, 4)
                unit_bits = base[0] * 8
                max_align = max(max_align, base[1])
                if m.bits == 0 or bit_used + m.bits > unit_bits:
                    offset += (bit_used + 7) // 8 if bit_used else 0
                    bit_used = 0
                    offset = _align(offset, base[1])
                bit_used += m.bits
                if sd.is_union:
                    size = max(size, base[0])
                    bit_used = 0
                continue
            if bit_used:
                offset += (bit_used + 7) // 8
                bit_used = 0
            if m.pointer:
                msize, malign = POINTER
            else:
                sa = self.layout(m.type_text)
                if sa is None:
                    return None
                msize, malign = sa
            count = 1
            flexible = False
            for dim in m.array_dims:
                if dim == ("flex",):
                    flexible = True
                    count = 0
                    continue
                n = self.eval_const(dim, path)
                if n is None:
                    return None
                count *= n
            total = msize * count
            if sd.packed:
                malign = 1
            max_align = max(max_align, malign)
            if sd.is_union:
                size = max(size, total)
            else:
                offset = _align(offset, malign) + total
            if flexible:
                continue
        if bit_used:
            offset += (bit_used + 7) // 8
        end = size if sd.is_union else offset
        return (_align(end, max_align), max_align)


_MACRO_MEMBER_RE = re.compile(r"^(\w+)\s*\((.*)\)$", re.S)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment if alignment > 1 else value
