"""GFP flag values per kernel version, and the mode text as the kernel prints it.

Two sources, the tree first:

* `GfpTable.from_tree(root)` reads `include/linux/gfp_types.h` (6.0+) or
  `include/linux/gfp.h`, in either form: hex `#define ___GFP_X 0x..u` (up to
  6.9) or the enum of bit numbers with `BIT(___GFP_X_BIT)` (6.10+). Config-
  dependent bits (`#ifdef CONFIG_LOCKDEP` ...) are taken with the option off.
  The `%pGg` name order comes from `include/trace/events/mmflags.h`.
* `GfpTable.builtin(version)` for loose files and patches: tables for 4.9,
  4.14, 4.19, 5.4, 5.10, 5.15, 6.1, 6.6 and 6.12 (hand-kept from the facts
  reference; `tests/test_gfp.py` checks them against fixture headers).

`format_mode(mask)` renders `0x2084020(GFP_ATOMIC|__GFP_COMP)` exactly as
`warn_alloc()`'s `mode:%#x(%pGg)` does: walk the name table in order, print a
name when all its bits are still set, clear them, and print leftovers as hex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# --- built-in low-level bits (___GFP_*), LOCKDEP/KASAN_HW_TAGS off ----------

_BITS_4_9 = {
    "DMA": 0x1, "HIGHMEM": 0x2, "DMA32": 0x4, "MOVABLE": 0x8, "RECLAIMABLE": 0x10, "HIGH": 0x20,
    "IO": 0x40, "FS": 0x80, "COLD": 0x100, "NOWARN": 0x200, "REPEAT": 0x400, "NOFAIL": 0x800,
    "NORETRY": 0x1000, "MEMALLOC": 0x2000, "COMP": 0x4000, "ZERO": 0x8000, "NOMEMALLOC": 0x10000,
    "HARDWALL": 0x20000, "THISNODE": 0x40000, "ATOMIC": 0x80000, "ACCOUNT": 0x100000,
    "NOTRACK": 0x200000, "DIRECT_RECLAIM": 0x400000, "OTHER_NODE": 0x800000, "WRITE": 0x1000000,
    "KSWAPD_RECLAIM": 0x2000000,
}
_BITS_4_14 = {
    "DMA": 0x1, "HIGHMEM": 0x2, "DMA32": 0x4, "MOVABLE": 0x8, "RECLAIMABLE": 0x10, "HIGH": 0x20,
    "IO": 0x40, "FS": 0x80, "COLD": 0x100, "NOWARN": 0x200, "RETRY_MAYFAIL": 0x400, "NOFAIL": 0x800,
    "NORETRY": 0x1000, "MEMALLOC": 0x2000, "COMP": 0x4000, "ZERO": 0x8000, "NOMEMALLOC": 0x10000,
    "HARDWALL": 0x20000, "THISNODE": 0x40000, "ATOMIC": 0x80000, "ACCOUNT": 0x100000,
    "NOTRACK": 0x200000, "DIRECT_RECLAIM": 0x400000, "WRITE": 0x800000, "KSWAPD_RECLAIM": 0x1000000,
}
_BITS_4_19 = {
    "DMA": 0x1, "HIGHMEM": 0x2, "DMA32": 0x4, "MOVABLE": 0x8, "RECLAIMABLE": 0x10, "HIGH": 0x20,
    "IO": 0x40, "FS": 0x80, "WRITE": 0x100, "NOWARN": 0x200, "RETRY_MAYFAIL": 0x400, "NOFAIL": 0x800,
    "NORETRY": 0x1000, "MEMALLOC": 0x2000, "COMP": 0x4000, "ZERO": 0x8000, "NOMEMALLOC": 0x10000,
    "HARDWALL": 0x20000, "THISNODE": 0x40000, "ATOMIC": 0x80000, "ACCOUNT": 0x100000,
    "DIRECT_RECLAIM": 0x200000, "KSWAPD_RECLAIM": 0x400000,
}
_BITS_5_10 = {
    "DMA": 0x1, "HIGHMEM": 0x2, "DMA32": 0x4, "MOVABLE": 0x8, "RECLAIMABLE": 0x10, "HIGH": 0x20,
    "IO": 0x40, "FS": 0x80, "ZERO": 0x100, "ATOMIC": 0x200, "DIRECT_RECLAIM": 0x400,
    "KSWAPD_RECLAIM": 0x800, "WRITE": 0x1000, "NOWARN": 0x2000, "RETRY_MAYFAIL": 0x4000,
    "NOFAIL": 0x8000, "NORETRY": 0x10000, "MEMALLOC": 0x20000, "COMP": 0x40000,
    "NOMEMALLOC": 0x80000, "HARDWALL": 0x100000, "THISNODE": 0x200000, "ACCOUNT": 0x400000,
}
_BITS_6_1 = dict(_BITS_5_10, ZEROTAGS=0x800000)
_BITS_6_6 = {k: v for k, v in _BITS_6_1.items() if k != "ATOMIC"}

BUILTIN_VERSIONS = ("4.9", "4.14", "4.19", "5.4", "5.10", "5.15", "6.1", "6.6", "6.12")
_BUILTIN_BITS = {
    "4.9": _BITS_4_9, "4.14": _BITS_4_14, "4.19": _BITS_4_19, "5.4": _BITS_5_10, "5.10": _BITS_5_10,
    "5.15": _BITS_6_1, "6.1": _BITS_6_1, "6.6": _BITS_6_6, "6.12": _BITS_6_6,
}

# Composite masks, as written in every version's header (names resolve per version).
_COMPOSITES = (
    ("__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM"),
    ("GFP_ATOMIC", "__GFP_HIGH|__GFP_ATOMIC|__GFP_KSWAPD_RECLAIM"),
    ("GFP_ATOMIC", "__GFP_HIGH|__GFP_KSWAPD_RECLAIM"),  # after "mm: discard __GFP_ATOMIC" (6.3/6.4)
    ("GFP_KERNEL", "__GFP_RECLAIM|__GFP_IO|__GFP_FS"),
    ("GFP_KERNEL_ACCOUNT", "GFP_KERNEL|__GFP_ACCOUNT"),
    ("GFP_NOWAIT", "__GFP_KSWAPD_RECLAIM"),
    ("GFP_NOIO", "__GFP_RECLAIM"),
    ("GFP_NOFS", "__GFP_RECLAIM|__GFP_IO"),
    ("GFP_TEMPORARY", "__GFP_RECLAIM|__GFP_IO|__GFP_FS|__GFP_RECLAIMABLE"),
    ("GFP_USER", "__GFP_RECLAIM|__GFP_IO|__GFP_FS|__GFP_HARDWALL"),
    ("GFP_DMA", "__GFP_DMA"),
    ("GFP_DMA32", "__GFP_DMA32"),
    ("GFP_HIGHUSER", "GFP_USER|__GFP_HIGHMEM"),
    ("GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER|__GFP_MOVABLE"),
    ("GFP_TRANSHUGE_LIGHT", "(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_NOMEMALLOC|__GFP_NOWARN)&~__GFP_RECLAIM"),
    ("GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT|__GFP_DIRECT_RECLAIM"),
)

# %pGg order (include/trace/events/mmflags.h): 6.1 and 6.12 share it, 6.1 with __GFP_ATOMIC.
_NAMES_MODERN = (
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER",
    "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_NOWAIT", "GFP_DMA",
    "__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH", "__GFP_ATOMIC", "__GFP_IO", "__GFP_FS", "__GFP_NOWARN",
    "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO",
    "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE", "__GFP_RECLAIMABLE",
    "__GFP_MOVABLE", "__GFP_ACCOUNT", "__GFP_WRITE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM",
    "__GFP_KSWAPD_RECLAIM", "__GFP_ZEROTAGS",
)
_NAMES_4_9 = (
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER",
    "GFP_TEMPORARY", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO",
    "GFP_NOWAIT", "GFP_DMA", "__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH", "__GFP_ATOMIC", "__GFP_IO",
    "__GFP_FS", "__GFP_COLD", "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL",
    "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL",
    "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE", "__GFP_NOTRACK", "__GFP_ACCOUNT",
    "__GFP_WRITE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_OTHER_NODE",
)


@dataclass
class GfpTable:
    version: str  # "6.1" or a full release
    source: str  # "builtin" or the header path it was read from
    masks: dict[str, int] = field(default_factory=dict)  # every __GFP_* and GFP_* name -> value
    print_order: tuple[str, ...] = _NAMES_MODERN
    provenance: dict[str, str] = field(default_factory=dict)  # name -> "file:line" it was read from

    # --- construction ---------------------------------------------------
    @classmethod
    def builtin(cls, version: str) -> "GfpTable":
        key = nearest_builtin(version)
        bits = _BUILTIN_BITS[key]
        table = cls(version=key, source="builtin", print_order=_NAMES_4_9 if key == "4.9" else _NAMES_MODERN)
        for name, value in bits.items():
            table.masks["__GFP_" + name] = value
        table._add_composites()
        if key == "6.12":
            # Debian 6.12.117 (verified tree): GFP_NOWAIT includes __GFP_NOWARN.
            table.masks["GFP_NOWAIT"] = table.masks["__GFP_KSWAPD_RECLAIM"] | table.masks["__GFP_NOWARN"]
        return table

    def _add_composites(self) -> None:
        for name, expr in _COMPOSITES:
            if name == "GFP_TEMPORARY" and "__GFP_COLD" not in self.masks:
                continue  # removed in 4.14
            value = eval_mask(expr, self.masks)
            if value is not None:
                self.masks.setdefault(name, value)

    @classmethod
    def from_tree(cls, root: Path, version: str = "") -> "GfpTable | None":
        for rel in ("include/linux/gfp_types.h", "include/linux/gfp.h"):
            path = root / rel
            if path.is_file():
                table = parse_gfp_header(path.read_text(encoding="utf-8", errors="replace"), rel, version)
                if table is not None and "__GFP_DIRECT_RECLAIM" in table.masks:
                    order = read_print_order(root / "include/trace/events/mmflags.h")
                    if order:
                        table.print_order = order
                    return table
        return None

    # --- queries ------------------------------------------------------------
    def value(self, name: str) -> int | None:
        return self.masks.get(name)

    def allows_blocking(self, mask: int) -> bool:
        """gfpflags_allow_blocking(): __GFP_DIRECT_RECLAIM set."""
        return bool(mask & self.masks["__GFP_DIRECT_RECLAIM"])

    def has(self, mask: int, name: str) -> bool:
        bit = self.masks.get(name)
        return bool(bit) and (mask & bit) == bit

    def format_mode(self, mask: int) -> str:
        """`0x2084020(GFP_ATOMIC|__GFP_COMP)`, as `mode:%#x(%pGg)` prints it."""
        return f"{mask:#x}({self.names(mask)})"

    def names(self, mask: int) -> str:
        remaining = mask
        parts = []
        for name in self.print_order:
            bits = self.masks.get(name)
            if not bits or remaining & bits != bits:
                continue
            parts.append(name)
            remaining &= ~bits
            if not remaining:
                break
        if remaining:
            parts.append(f"{remaining:#x}")
        return "|".join(parts)


def nearest_builtin(version: str) -> str:
    """The built-in table to use for a version string such as '6.1.176' or '5.16'."""
    want = _version_tuple(version)
    if not want:
        return BUILTIN_VERSIONS[-1]
    best = BUILTIN_VERSIONS[0]
    for v in BUILTIN_VERSIONS:
        if _version_tuple(v) <= want[:2]:
            best = v
    return best


def _version_tuple(text: str) -> tuple[int, ...]:
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return ()
    return tuple(int(x) for x in m.groups() if x is not None)


# --- a tiny evaluator for flag expressions -----------------------------------

_TOKEN_RE = re.compile(r"\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|[|&~()<>]+|.)")
_CAST_RE = re.compile(r"\(\s*(?:__force\s+)?(?:gfp_t|unsigned(?:\s+int|\s+long)?|int|long)\s*\)")


def eval_mask(expr: str, names: dict[str, int]) -> int | None:
    """Evaluate `__GFP_A|(__GFP_B & ~__GFP_C)`, `BIT(n)`, `1U << n`; None if a name is unknown."""
    expr = _CAST_RE.sub(" ", expr)
    expr = re.sub(r"\b(\d+|0[xX][0-9a-fA-F]+)[uUlL]+\b", r"\1", expr)
    expr = re.sub(r"\bBIT\s*\(", "(1<<", expr)
    tokens = [t for t in _TOKEN_RE.findall(expr) if t.strip()]
    out = []
    for tok in tokens:
        if tok[0].isdigit():
            out.append(str(int(tok, 0)))
        elif tok[0].isalpha() or tok[0] == "_":
            if tok not in names:
                return None
            out.append(str(names[tok]))
        elif all(c in "|&~()<>" for c in tok):
            out.append(tok)
        else:
            return None
    try:
        value = eval(" ".join(out), {"__builtins__": {}}, {})  # only digits and | & ~ ( ) << remain
    except Exception:
        return None
    return value & 0xFFFFFFFF if isinstance(value, int) else None


# --- reading the tree's headers ----------------------------------------------

_DEFINE_RE = re.compile(r"^\s*#\s*define\s+(_{0,3}GFP_\w+)\s+(.+?)\s*$")


def _active_lines(text: str, enabled: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """Lines outside `#ifdef CONFIG_X` blocks whose option is off (all are, unless enabled)."""
    lines = text.replace("\\\n", " ").split("\n")
    out = []
    stack: list[bool] = []  # each entry: is the current branch active?

    def cond_true(cond: str) -> bool:
        cond = cond.strip()
        m = re.fullmatch(r"(!)?\s*(?:defined\s*\(?\s*)?(\w+)\s*\)?", cond)
        if m:
            value = m.group(2) in enabled or (not m.group(2).startswith("CONFIG_") and m.group(2) not in ("0",))
            if m.group(2).startswith("IS_ENABLED"):
                value = False
            return value != bool(m.group(1))
        inner = re.search(r"IS_ENABLED\s*\(\s*(\w+)\s*\)", cond)
        if inner:
            return inner.group(1) in enabled
        return False

    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        active = all(stack)
        if line.startswith("#"):
            directive = line[1:].strip()
            word = directive.split(None, 1)[0] if directive else ""
            arg = directive[len(word):].strip()
            if word == "ifdef":
                stack.append(arg in enabled if arg.startswith("CONFIG_") else True)
                continue
            if word == "ifndef":  # include guards and off options: active
                stack.append(arg not in enabled)
                continue
            if word == "if":
                stack.append(cond_true(arg))
                continue
            if word == "elif":
                if stack:
                    stack[-1] = (not stack[-1]) and cond_true(arg)
                continue
            if word == "else":
                if stack:
                    stack[-1] = not stack[-1]
                continue
            if word == "endif":
                if stack:
                    stack.pop()
                continue
        if active:
            out.append((number, raw))
    return out


def parse_gfp_header(text: str, rel: str, version: str = "") -> GfpTable | None:
    """Read ___GFP_* bits (hex or enum-of-bits form) and every mask defined from them."""
    table = GfpTable(version=version, source=rel, print_order=_NAMES_MODERN)
    lines = _active_lines(text)
    # Enum form (6.10+): members named ___GFP_X_BIT, numbered in order.
    enum_bits: dict[str, int] = {}
    joined = "\n".join(line for _, line in lines)
    for body in re.findall(r"enum\s*\{([^}]*)\}", joined):
        if "___GFP_" not in body:
            continue
        index = 0
        for item in body.split(","):
            item = re.sub(r"/\*.*?\*/|//.*", "", item, flags=re.S).strip()
            if not item:
                continue
            name, _, value = item.partition("=")
            name = name.strip()
            if value.strip():
                index = int(value.strip(), 0)
            enum_bits[name] = index
            index += 1
    pending: list[tuple[int, str, str]] = []
    for number, line in lines:
        m = _DEFINE_RE.match(line)
        if m:
            body = re.sub(r"/\*.*?\*/|//.*", "", m.group(2)).strip()
            pending.append((number, m.group(1), body))
    known: dict[str, int] = dict(enum_bits)
    # Definitions may refer to later ones (rare); iterate until nothing changes.
    for _ in range(4):
        changed = False
        for number, name, body in pending:
            if name in table.masks:
                continue
            value = eval_mask(body, known)
            if value is None:
                continue
            known[name] = value
            if not name.startswith("___") and not name.endswith("_BIT"):
                table.masks[name] = value
                table.provenance[name] = f"{rel}:{number}"
            changed = True
        if not changed:
            break
    if any(n.startswith("___GFP_ATOMIC") for n in known) or "__GFP_ATOMIC" in table.masks:
        pass
    if "__GFP_COLD" in table.masks or "__GFP_REPEAT" in table.masks:
        table.print_order = _NAMES_4_9
    return table if table.masks else None


def read_print_order(path: Path) -> tuple[str, ...]:
    """The %pGg name order from mmflags.h's __def_gfpflag_names, if readable."""
    if not path.is_file():
        return ()
    text = path.read_text(encoding="utf-8", errors="replace")
    start = text.find("__def_gfpflag_names")
    if start < 0:
        return ()
    segment = text[start:start + 6000]
    end = segment.find("\n\n")
    segment = segment if end < 0 else segment[:end]
    names = re.findall(r"gfpflag_string\(\s*(\w+)\s*\)|\{\s*\(unsigned long\)\s*(\w+)\s*,", segment)
    order = tuple(a or b for a, b in names)
    return order


@lru_cache(maxsize=16)
def builtin_table(version: str) -> GfpTable:
    return GfpTable.builtin(version)
