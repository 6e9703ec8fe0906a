"""The kernel the scanned code belongs to: its version and allocator constants.

With a kernel tree, everything is read from it: the release from the top
Makefile, the largest buddy order from `include/linux/mmzone.h`, the GFP bits
from `gfp_types.h`/`gfp.h`, and the file:line that `might_sleep` and the
order WARN report (`include/linux/sched/mm.h`, `mm/page_alloc.c`). A tree is
known by its top Makefile (numeric VERSION and PATCHLEVEL); what a partial
copy lacks (no `include/linux/gfp*.h`) comes from the built-in tables of the
Makefile's version. Without a tree (loose files, a patch) the built-in tables
of `--kernel-version`, else the newest, apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .gfp import GfpTable, builtin_table, nearest_builtin, _version_tuple

INT_MAX = 0x7FFFFFFF

PAGE_SHIFT = 12
PAGE_ALLOC_COSTLY_ORDER = 3


@dataclass
class KernelInfo:
    release: str  # "6.1.176", or the built-in series "6.1"
    from_tree: bool
    gfp: GfpTable
    max_order: int = 10  # largest order the buddy allocator serves (inclusive)
    page_size: int = 4096
    kmalloc_max_cache_size: int = 8192  # SLUB: above this kmalloc goes to the page allocator
    might_sleep_at: str = ""  # FILE:LINE a sleeping-in-atomic BUG names for allocations
    order_warn_at: str = ""  # FILE:LINE of the WARN for orders above max_order
    order_warn_function: str = "__alloc_pages"
    dump_uid: bool | None = None  # the CPU: line of a trace shows UID: (lib/dump_stack.c); None: unknown
    dump_taint_line: bool | None = None  # a tainted kernel spells out its taint on the next line; None: unknown
    notes: list[str] = field(default_factory=list)

    @property
    def series(self) -> tuple[int, ...]:
        return _version_tuple(self.release)

    @property
    def kmalloc_max_size(self) -> int:
        return self.page_size << self.max_order

    def largest_request(self, family, blocking: bool | None) -> int | None:
        """The most bytes a call of `family` (a kernel.tables.Family) can ever get back, or
        None when nothing caps it. `blocking`: whether its gfp may sleep (None: either)."""
        if family.name == "kvmalloc" and blocking is not False:
            return INT_MAX  # it falls back to vmalloc; kvmalloc_node() refuses more than INT_MAX
        if family.max_bytes == "KMALLOC_MAX_SIZE":
            return self.kmalloc_max_size
        if family.name in ("dma", "usb_coherent") and blocking is not False:
            return None  # a blocking request may be served from CMA, which has no buddy-order limit
        if family.name in ("pages", "dma", "usb_coherent"):
            return self.page_size << self.max_order
        return None

    @property
    def max_order_macro(self) -> int:
        """MAX_ORDER as the tree defines it: one past the largest order before 6.4."""
        return self.max_order + (0 if self.series >= (6, 4) else 1)

    @property
    def era(self) -> str:
        """Which allocator frame set applies: '4', '6' (5.x-6.9) or '6_10'."""
        v = self.series or (6, 12)
        if v < (5, 0):
            return "4"
        if v < (6, 10):
            return "6"
        return "6_10"

    def get_order(self, size: int) -> int:
        """Smallest n with PAGE_SIZE << n >= size (get_order() of the kernel)."""
        if size <= self.page_size:
            return 0
        return ((size - 1) // self.page_size).bit_length()


# Where might_sleep() and the order WARN are reported, per built-in series.
# Only 6.1 (Debian 6.1.y) and 6.12 (Debian 6.12.y) were read in a real tree;
# for the others the file is known but not the line, which is printed as
# "<line>" rather than guessed. With a tree, both are read from it.
_BUILTIN_MIGHT_SLEEP = {
    "4.9": "mm/slab.h:<line>", "4.14": "mm/slab.h:<line>", "4.19": "mm/slab.h:<line>",
    "5.4": "mm/slab.h:<line>", "5.10": "mm/slab.h:<line>", "5.15": "include/linux/sched/mm.h:<line>",
    "6.1": "include/linux/sched/mm.h:274", "6.6": "include/linux/sched/mm.h:<line>",
    "6.12": "include/linux/sched/mm.h:321",
}
_BUILTIN_ORDER_WARN = {v: "mm/page_alloc.c:<line>" for v in ("4.9", "4.14", "4.19", "5.4", "5.10", "5.15", "6.6")}
_BUILTIN_ORDER_WARN.update({"6.1": "mm/page_alloc.c:5634", "6.12": "mm/page_alloc.c:4832"})


def builtin_kernel(version: str | None) -> KernelInfo:
    """Kernel facts for loose files: the built-in table nearest to `version`."""
    key = nearest_builtin(version or "")
    info = KernelInfo(release=version or key, from_tree=False, gfp=builtin_table(key))
    info.might_sleep_at = _BUILTIN_MIGHT_SLEEP[key]
    info.order_warn_at = _BUILTIN_ORDER_WARN[key]
    info.order_warn_function = "__alloc_pages_noprof" if _version_tuple(key) >= (6, 10) else (
        "__alloc_pages_nodemask" if _version_tuple(key) < (5, 13) else "__alloc_pages")
    info.notes.append(f"no kernel tree: built-in {key} tables (FILE:LINE as in a Debian {key} tree where verified)")
    return info


def read_release(root: Path) -> str | None:
    """VERSION.PATCHLEVEL.SUBLEVEL from a kernel tree's top Makefile, or None."""
    makefile = root / "Makefile"
    if not makefile.is_file():
        return None
    try:
        head = makefile.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return None
    parts = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{key}\s*=\s*(\S*)\s*$", head, re.M)
        parts[key] = m.group(1) if m else ""
    # Numbers only: tools/lib/perf's Makefile sets `VERSION = $(LIBPERF_VERSION)...`.
    if not parts["VERSION"].isdigit() or not parts["PATCHLEVEL"].isdigit():
        return None
    if not parts["SUBLEVEL"].isdigit():
        parts["SUBLEVEL"] = ""
    release = f"{parts['VERSION']}.{parts['PATCHLEVEL']}"
    if parts["SUBLEVEL"]:
        release += f".{parts['SUBLEVEL']}"
    return release + parts["EXTRAVERSION"]


def is_kernel_root(path: Path) -> bool:
    """The top of a kernel tree: its Makefile gives the release. The headers may be
    missing (a partial copy): then the release picks the built-in tables."""
    return (path / "Makefile").is_file() and read_release(path) is not None


def find_kernel_root(path: Path) -> Path | None:
    """The kernel tree containing `path` (itself or an ancestor), if any."""
    path = path.resolve()
    for candidate in (path, *path.parents):
        if candidate.is_dir() and is_kernel_root(candidate):
            return candidate
    return None


def kernel_from_tree(root: Path) -> KernelInfo:
    """The tree's kernel: its release, and what its headers say; the built-in tables of
    that release for what the tree lacks (a copy without include/linux/gfp*.h)."""
    release = read_release(root) or ""
    gfp = GfpTable.from_tree(root, release)
    info = KernelInfo(release=release, from_tree=gfp is not None, gfp=gfp or builtin_table(release))
    if gfp is None:
        info.notes.append(f"Makefile: release {release}, but include/linux/gfp_types.h and gfp.h are missing: "
                          f"GFP bits from the built-in {nearest_builtin(release)} tables")
    base = builtin_kernel(release)
    info.might_sleep_at = _might_sleep_line(root) or base.might_sleep_at
    info.order_warn_at, info.order_warn_function = _order_warn_line(root) or (base.order_warn_at, base.order_warn_function)
    info.max_order = _max_order(root, release)
    info.dump_uid, info.dump_taint_line = _dump_stack_lines(root)
    return info


def _dump_stack_lines(root: Path) -> tuple[bool | None, bool | None]:
    """What dump_stack_print_info() prints: UID: on the CPU: line? the taint spelt out after it?"""
    try:
        text = (root / "lib/dump_stack.c").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, None
    return bool(re.search(r'"%sCPU: %d UID: %u PID:', text)), "print_tainted_verbose()" in text


def _max_order(root: Path, release: str) -> int:
    """Largest servable order: MAX_PAGE_ORDER (6.8+), MAX_ORDER (inclusive 6.4+, exclusive before)."""
    path = root / "include/linux/mmzone.h"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 10
    m = re.search(r"#\s*define\s+MAX_PAGE_ORDER\s+(\d+)", text)
    if m:
        return int(m.group(1))
    m = re.search(r"#\s*define\s+MAX_ORDER\s+(\d+)", text)
    if m:
        value = int(m.group(1))
        return value if _version_tuple(release) >= (6, 4) else value - 1
    return 10


def _might_sleep_line(root: Path) -> str | None:
    """Line of might_sleep_if(gfpflags_allow_blocking(..)) inside might_alloc()."""
    rel = "include/linux/sched/mm.h"
    try:
        lines = (root / rel).read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return None
    inside = False
    for number, line in enumerate(lines, 1):
        if re.search(r"\bmight_alloc\s*\(\s*gfp_t", line):
            inside = True
        if inside and "might_sleep_if" in line:
            return f"{rel}:{number}"
    return None


def _order_warn_line(root: Path) -> tuple[str, str] | None:
    """Where __alloc_pages() WARNs for orders above the maximum."""
    rel = "mm/page_alloc.c"
    try:
        lines = (root / rel).read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return None
    function = ""
    for number, line in enumerate(lines, 1):
        m = re.match(r"^\S.*\b(__alloc_pages\w*)\s*\(", line)
        if m:
            function = m.group(1)
        if re.search(r"WARN_ON_ONCE(_GFP)?\s*\(\s*order\s*(>=\s*MAX_ORDER|>\s*MAX_PAGE_ORDER)", line):
            return f"{rel}:{number}", function or "__alloc_pages"
    return None
