"""Struct layouts for `sizeof`: the target's basic types (LP64 by default),
padding and alignment, arrays, unions, nested structs, flexible array members
and bit-fields, computed from the struct definitions the scan found. An array
dimension is evaluated where its struct is defined (a driver's own
`#define DEMO_MAX_LEVELS 16` in its header).

The preprocessor's part is done here, with the macros of the scanned tree: a
struct tag an object-like macro renames (`#define demo_head callback_head`), a
type an object-like macro names (`#define demo_off_t unsigned long`), and a
member a macro declares (`DEMO_STAT(rx_packets);`, `struct_group(addrs, ...);`,
a bare `DEMO_HDR;`): the call is expanded with the macro's definition and the
declarations it expands to are parsed and laid out in its place. Where the
tree lacks the macro (loose files), a member macro the tables know
(`DECLARE_BITMAP(flags, N)`, data/macros.toml [member_macros]) is laid out as
the array it declares.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace
from typing import Callable

from ..exprs import IDENT_RE, closing_paren, ir_from_text, split_args, strip_comments, substitute_macro
from ..link import directory_of

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


_INTEGER_WORDS = frozenset({"signed", "unsigned", "short", "long", "int", "char"})


def _integer_words(t: str) -> str | None:
    """An integer type spelled with its words in another order (`long unsigned int`,
    `short unsigned int`, `signed long long`, as C allows): its entry in BASIC_TYPES_LP64."""
    words = t.split()
    if len(words) < 2 or not set(words) <= _INTEGER_WORDS:
        return None
    sign = "unsigned " if "unsigned" in words else ""
    longs = words.count("long")
    base = "char" if "char" in words else "short" if "short" in words else "long long" if longs >= 2 \
        else "long" if longs else "int"
    if base == "char" and "signed" in words and not sign:
        sign = "signed "
    name = sign + base
    return name if name in BASIC_TYPES_LP64 else None


class Layouts:
    """Computes (size, align) of types, memoised, with a recursion guard."""

    def __init__(self, struct_lookup: Callable[[str, str], "tuple[str, object] | None"], typedefs: dict[str, str],
                 eval_const: Callable[[tuple, str], int | None], member_macros: dict | None = None,
                 defined_more_than_once: Callable[[str], bool] = lambda name: False,
                 macro_lookup: Callable[[str, str, str], "tuple[str, object] | None"] = lambda table, name, path: None,
                 macro_defined_types: dict[str, str] | None = None):
        # (name, the path it is read from) -> (path of its definition, StructDef): of two
        # structs of one name (iphase's and qlge's tx_buf_desc) the one the reader sees
        self.struct_lookup = struct_lookup
        self.defined_more_than_once = defined_more_than_once
        self._ambiguity: dict[str, bool] = {}  # type text -> names a struct defined twice?
        self.typedefs = typedefs
        self.eval_const = eval_const  # (IR, path it is read in) -> its constant value
        self.member_macros = member_macros or {}  # DECLARE_BITMAP -> (element type, count text)
        # (table, name, path) -> (path, value) of the nearest macro: "defines" (object-like,
        # its replacement text) or "func_macros" ((params, body))
        self.macro_lookup = macro_lookup
        # types a file-scope macro call defines (seqcount_spinlock_t): what each lays out as
        self.macro_defined_types = macro_defined_types or {}
        self.memo: dict[str, tuple[int, int] | None] = {}
        # struct name -> (path, StructDef) of the structs macro expansions made
        self._expanded: dict[str, tuple] = {}
        # (id(StructDef), path) -> (the StructDef, its members): the struct is kept with them, so
        # that its id is not reused by a later one (an inline struct laid out and let go).
        # A struct no member macro changed has _AS_DEFINED: its members are read from it
        # again, and it may let go of them (StructDef.members).
        self._spliced: dict[tuple[int, str], tuple[object, tuple | None]] = {}
        self._expansions: dict[tuple[str, str], object] = {}  # (call text, path) -> StructDef | None
        self._expanding = 0  # nesting of member macro expansions
        self.active: set[str] = set()
        self._path = ""  # where the struct being laid out is defined (its members' macros)

    def size_of(self, type_text: str, near: str = "") -> int | None:
        """The size of a type as file `near` sees it (a member's type: as its struct's
        definition sees it)."""
        sa = self.layout_near(type_text, near)
        return sa[0] if sa else None

    def align_of(self, type_text: str, near: str = "") -> int | None:
        """The alignment of a type as file `near` sees it."""
        sa = self.layout_near(type_text, near)
        return sa[1] if sa else None

    def layout_near(self, type_text: str, near: str = "") -> tuple[int, int] | None:
        """(size, alignment) of a type as file `near` sees it."""
        if not near:
            return self.layout(type_text)
        outer, self._path = self._path, near
        try:
            return self.layout(type_text)
        finally:
            self._path = outer

    def layout(self, type_text: str) -> tuple[int, int] | None:
        type_text = type_text.strip()
        # A struct name defined in several places is laid out as the reading file sees it.
        key = (type_text, directory_of(self._path)) if self._ambiguous(type_text) else type_text
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
        basic = _integer_words(t)
        if basic is not None:
            return BASIC_TYPES_LP64[basic]
        for prefix in ("struct ", "union "):
            if t.startswith(prefix):
                name = t[len(prefix):].strip()
                if "{" in name:  # `struct { struct demo_hdr h; u8 data[16]; } *msg;`, or a tag before the brace
                    return self._inline(name[name.index("{"):], prefix == "union ")
                found = self._struct(name)
                if found is None:  # `#define demo_head callback_head`: the tag it stands for
                    renamed = self._object_macro(name)
                    if renamed is not None and IDENT_RE.fullmatch(renamed) and renamed != name:
                        return self.layout(prefix + renamed)
                    defined = self._macro_defined(t)  # `DECLARE_EWMA(signal, 10, 8)` at file scope
                    if defined is not None:
                        return self.layout(defined)
                return found
        if t.startswith(("enum ", "enum{")):  # `typedef enum { ... } demo_prio_t;` too
            return (4, 4)
        alias = self.typedefs.get(t) or self.macro_defined_types.get(t)
        if alias is not None and alias != t:
            return self.layout(alias)
        named = self._macro_type(t)
        if named is not None:
            return named
        return self._macro_member(t) or self._macro_call_type(t)

    def _macro_defined(self, t: str) -> str | None:
        """The type a macro-defined struct tag lays out as (data/macros.toml
        [macro_defined_types], whose keys may end in a `*` wildcard: `struct ewma_*`)."""
        found = self.macro_defined_types.get(t)
        if found is None:
            found = next((v for k, v in self.macro_defined_types.items()
                          if k.endswith("*") and t.startswith(k[:-1]) and len(t) > len(k) - 1), None)
        return found if found != t else None

    def _inline(self, braces: str, is_union: bool) -> tuple[int, int] | None:
        """A struct or union defined where it is used, laid out from its member text."""
        from ..extract.definitions import structs_of_members  # the extractor's member code

        end = closing_paren(braces, 0, "{}")
        if end < 0:
            return None
        # named by its text: the nested structs of two inline definitions must not meet
        structs = structs_of_members(braces[1:end], f"<inline {zlib.crc32(braces[:end].encode()):08x}>@{self._path}")
        if not structs:
            return None
        for sd in structs[:-1]:
            self._expanded.setdefault(sd.name, (self._path, sd))
        sd = structs[-1]
        if is_union:
            sd = replace(sd, is_union=True)
        return self._members(sd, self._path)

    def _macro_call_type(self, t: str) -> tuple[int, int] | None:
        """A type a function-like macro's call names (`DEMO_LIST_ENTRY(node) link;` whose
        macro expands to `struct { struct node *next; }`): its expansion's type."""
        m = _MACRO_MEMBER_RE.match(t)
        if m is None or self.macro_lookup("func_macros", m.group(1), self._path) is None:
            return None
        expansion = self._expand_calls(t, self._path)
        if expansion is None:
            return None
        body = " ".join(_ATTRIBUTE_RE.sub(" ", strip_comments(expansion)).split())
        if body == t or not (body.startswith(("struct {", "union {")) or _TYPE_NAME_RE.fullmatch(body)):
            return None
        return self.layout(body.replace(" *", "*"))

    def _object_macro(self, name: str) -> str | None:
        """The replacement text of the object-like macro `name` as the struct being laid out
        sees it, or None."""
        if not IDENT_RE.fullmatch(name):
            return None
        found = self.macro_lookup("defines", name, self._path)
        return " ".join(strip_comments(found[1]).split()) if found is not None else None

    def _macro_type(self, t: str) -> tuple[int, int] | None:
        """A type an object-like macro names (`#define demo_off_t unsigned long`,
        `#define demo_u64 __u64 __attribute__((aligned(8)))`): the type it stands for, at
        least as aligned as an `aligned(N)` attribute in it says."""
        body = self._object_macro(t)
        if body is None:
            return None
        align = 1
        for m in _ALIGNED_RE.finditer(body):
            n = self.eval_const(ir_from_text(m.group(1)), self._path) if m.group(1) else 16
            align = max(align, n or 1)
        body = _ATTRIBUTE_RE.sub(" ", body).strip()
        if not _TYPE_NAME_RE.fullmatch(body) or body == t:
            return None
        sa = self.layout(" ".join(body.split()).replace(" *", "*"))
        if sa is None:
            return None
        return (_align(sa[0], align), max(sa[1], align)) if align > sa[1] else sa

    # --- members a macro declares -----------------------------------------------
    def _members_of(self, sd, path: str) -> tuple | None:
        """The struct's members with each member macro's call replaced by the members its
        expansion declares (None when one of them cannot be expanded)."""
        key = (id(sd), path)
        if key in self._spliced:
            members = self._spliced[key][1]
            return sd.members if members is _AS_DEFINED else members
        out: list = []
        spliced = False
        skip = 0
        for m in sd.members:
            if skip:
                skip -= 1
                continue
            if m.covers or _declared_by_macro(m, self.typedefs):
                expanded = self._expand_members(m.type_text, path)
                if expanded is not None:
                    out.extend(expanded)
                    skip = m.covers
                    spliced = True
                    continue
                if m.covers:  # the parser's pieces of the call are no members to lay out
                    self._spliced[key] = (sd, None)
                    return None
            out.append(m)
        result = tuple(out)
        self._spliced[key] = (sd, result if spliced else _AS_DEFINED)
        return result

    def _expand_members(self, text: str, path: str) -> tuple | None:
        """The members a member macro's call (`DEMO_STAT(rx_packets)`, or a bare object-like
        `DEMO_HDR`) declares, expanded with the tree's definition as `path` sees it."""
        key = (text, path)
        if key in self._expansions:
            sd = self._expansions[key]
        else:
            self._expansions[key] = None  # a macro that expands to itself stops here
            sd = self._expansions[key] = self._expanded_struct(text, path)
        if sd is None or self._expanding > _MAX_EXPANSIONS:
            return None
        self._expanding += 1
        try:
            return self._members_of(sd, path)
        finally:
            self._expanding -= 1

    def _expanded_struct(self, text: str, path: str):
        from ..extract.definitions import structs_of_members  # the extractor's member code

        m = _MACRO_MEMBER_RE.match(text)
        if m is not None:
            found = self.macro_lookup("func_macros", m.group(1), path)
            expansion = self._expand_calls(text, path) if found is not None else None
        else:
            found = self.macro_lookup("defines", text, path)
            expansion = self._expand_calls(found[1], path) if found is not None else None
        if expansion is None or not expansion.strip():
            return None
        name = f"{text}@{path}"
        structs = structs_of_members(expansion, name)
        for sd in structs:
            self._expanded.setdefault(sd.name, (path, sd))
        return structs[-1] if structs else None

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

    def _expand_calls(self, text: str, path: str, painted: frozenset = frozenset(), depth: int = 0) -> str | None:
        """`text` with the function-like macros it calls expanded, as the preprocessor
        rescans a replacement (a macro is not expanded again inside its own expansion);
        None when one of them does not fit its call or the expansion grows too large."""
        out: list[str] = []
        pos = 0
        for m in _CALL_RE.finditer(text):
            name = m.group(1)
            if m.start() < pos or name in painted:
                continue
            found = self.macro_lookup("func_macros", name, path)
            if found is None:
                continue
            end = closing_paren(text, m.end() - 1)
            if end < 0 or depth >= _MAX_EXPANSIONS:
                return None
            params, body = found[1]
            replaced = substitute_macro(params, body, split_args(text[m.end():end]))
            if replaced is None:
                return None
            replaced = self._expand_calls(replaced, path, painted | {name}, depth + 1)
            if replaced is None:
                return None
            out += [text[pos:m.start()], " ", replaced, " "]
            pos = end + 1
        out.append(text[pos:])
        result = "".join(out)
        return result if len(result) <= _MAX_EXPANSION_TEXT else None

    def _struct(self, name: str) -> tuple[int, int] | None:
        found = self._expanded.get(name) or self.struct_lookup(name, self._path)
        if found is None:
            return None
        path, sd = found
        outer, self._path = self._path, path
        try:
            return self._members(sd, path)
        finally:
            self._path = outer

    def _members(self, sd, path: str) -> tuple[int, int] | None:
        placed = self._placement(sd, path)
        return placed[1] if placed is not None else None

    def _placement(self, sd, path: str) -> tuple[list, tuple[int, int]] | None:
        """([(member, its offset)] of the members that are not bit-fields, (size, align)),
        or None when a member's layout is unknown."""
        offset = 0
        max_align = 1
        size = 0
        bit_used = 0  # bits used in the current bit-field unit
        members = self._members_of(sd, path)
        if members is None:
            return None
        offsets: list = []
        for m in members:
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
            for dim in m.array_dims:
                if dim == ("flex",):
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
                offsets.append((m, 0))
                size = max(size, total)
            else:
                offset = _align(offset, malign)
                offsets.append((m, offset))
                offset += total
        if bit_used:
            offset += (bit_used + 7) // 8
        end = size if sd.is_union else offset
        return offsets, (_align(end, max_align), max_align)

    def offset_of(self, type_text: str, member: str, near: str = "") -> int | None:
        """offsetof(type, member) as file `near` sees the type; `member` may be a path
        (`a.b`) and name a member of an anonymous struct or union inside."""
        found = self._member_at(type_text, member, near)
        return found[1] if found is not None else None

    def member_size(self, type_text: str, member: str, near: str = "") -> int | None:
        """sizeof_field(type, member): the size of the member `member` (a path, as for
        offset_of) of the type, its array dimensions included."""
        return self._member_size(type_text, member, near, 0)

    def element_size(self, type_text: str, member: str, near: str = "") -> int | None:
        """The size of one element of the array member `member` (`ring[i]` steps by it:
        a row, for an array of arrays); None when the member is no array."""
        return self._member_size(type_text, member, near, 1)

    def _member_size(self, type_text: str, member: str, near: str, skip_dims: int) -> int | None:
        found = self._member_at(type_text, member, near)
        if found is None or len(found[0].array_dims) < skip_dims:
            return None
        m, _, path = found
        outer, self._path = self._path, path
        try:
            size = POINTER[0] if m.pointer else (self.layout(m.type_text) or (None,))[0]
            for dim in m.array_dims[skip_dims:]:
                n = 0 if dim == ("flex",) else self.eval_const(dim, path)
                size = None if n is None or size is None else size * n
            return size
        finally:
            self._path = outer

    def _member_at(self, type_text: str, member: str, near: str = ""):
        """(member, its offset in the type, the path of the struct declaring it) of the
        member path `member` (`u.action.u.mesh_action`), or None."""
        outer, self._path = self._path, near or self._path
        try:
            offset = 0
            t = type_text.strip()
            hit = None
            for name in member.replace(" ", "").split("."):
                found = self._struct_of_type(t)
                if found is None:
                    return None
                hit = self._member_offset(found[0], found[1], name)
                if hit is None:
                    return None
                offset += hit[1]
                t, self._path = hit[0].type_text, found[0]
            return (hit[0], offset, self._path) if hit is not None else None
        finally:
            self._path = outer

    def _struct_of_type(self, t: str):
        """(path, StructDef) of the struct or union a type names, through typedefs."""
        for _ in range(4):
            for prefix in ("struct ", "union "):
                if t.startswith(prefix):
                    name = t[len(prefix):].strip()
                    found = self._expanded.get(name) or self.struct_lookup(name, self._path)
                    if found is None:
                        renamed = self._object_macro(name)
                        if renamed and IDENT_RE.fullmatch(renamed):
                            found = self._expanded.get(renamed) or self.struct_lookup(renamed, self._path)
                    return found
            alias = self.typedefs.get(t)
            if alias is None or alias == t:
                return None
            t = alias.strip()
        return None

    def _member_offset(self, path: str, sd, name: str, depth: int = 0):
        """(member, offset) of the member `name` of a struct, looked for in its anonymous
        members too; None when it is not there or the layout before it is unknown."""
        placed = self._placement(sd, path)
        if placed is None or depth > 4:
            return None
        for m, offset in placed[0]:
            if m.name == name:
                return m, offset
            if not m.name and not m.pointer:
                inner = self._struct_of_type(m.type_text)
                if inner is not None:
                    hit = self._member_offset(inner[0], inner[1], name, depth + 1)
                    if hit is not None:
                        return hit[0], offset + hit[1]
        return None


_MACRO_MEMBER_RE = re.compile(r"^(\w+)\s*\((.*)\)$", re.S)
_ALIGNED_RE = re.compile(r"\b(?:__aligned|aligned|__aligned__)\s*(?:\(\s*([^()]*?)\s*\))?")
_ATTRIBUTE_RE = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)|\b__aligned\s*\([^()]*\)|\b__packed\b")
_TYPE_NAME_RE = re.compile(r"(?:(?:struct|union|enum)\s+)?\w+(?:\s+\w+)*\s*\**")
_MAX_EXPANSIONS = 8  # macros expanding to macros, this deep
_AS_DEFINED = "as defined"  # Layouts._spliced: the struct's own members, no macro among them expanded
_MAX_EXPANSION_TEXT = 20000  # characters of one member macro's expansion
_CALL_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _declared_by_macro(m, typedefs: dict) -> bool:
    """Is the member a macro's call or name standing alone (`DEMO_STAT(rx_packets);`,
    `DEMO_HDR;`), declarations the macro expands to?"""
    if m.name or m.pointer or m.array_dims or m.bits is not None:
        return False
    t = m.type_text
    if _MACRO_MEMBER_RE.match(t):
        return True
    return IDENT_RE.fullmatch(t) is not None and t not in BASIC_TYPES_LP64 and t not in typedefs


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment if alignment > 1 else value
