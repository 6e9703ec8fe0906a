"""`explain --tree`: map a report's call trace to the allocation in the source.

Walk the trace from the innermost frame outwards, skipping allocator and
report frames; find the first function the tree defines; scan the directory
holding it (facts cache makes repeated runs cheap); name the allocation call
in that function - the one whose allocator family matches the trace - and
attach allocscan's finding for that line when there is one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..discover import DEFAULT_KERNEL_EXCLUDES
from .diagnose import Diagnosis, is_allocator_frame

_FAMILY_HINTS = (
    ("kmalloc", ("kmalloc", "__kmalloc", "kmalloc_order", "kmalloc_large", "__kmalloc_large_node")),
    ("vmalloc", ("__vmalloc", "vmalloc")),
    ("dma", ("dma_alloc_attrs", "dma_direct_alloc")),
    ("skb", ("__alloc_skb", "__netdev_alloc_skb", "kmalloc_reserve")),
    ("pages", ("__get_free_pages", "alloc_pages")),
)


def find_definition(tree: Path, name: str) -> Path | None:
    """The .c file under `tree` that defines function `name` (first found)."""
    pattern = re.compile(rf"^[A-Za-z_].*\b{re.escape(name)}\s*\([^;]*$", re.M)
    needle = f"{name}("
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = os.path.relpath(dirpath, tree)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not (rel == "." and d in DEFAULT_KERNEL_EXCLUDES))
        for fname in sorted(filenames):
            if not fname.endswith(".c"):
                continue
            path = Path(dirpath) / fname
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if needle in text and pattern.search(text):
                return path
    return None


def _family_of(frames: list[str]) -> str | None:
    for family, names in _FAMILY_HINTS:
        if any(f.split(".")[0] in names for f in frames):
            return family
    return None


def map_to_source(d: Diagnosis, tree: Path, jobs: int, cache_dir: Path | None) -> None:
    from ..pipeline import ScanOptions, run_scan

    candidates = [f for f in d.frames if not is_allocator_frame(f)]
    family = _family_of(d.frames)
    for name in candidates[:6]:
        path = find_definition(tree, name)
        if path is None:
            continue
        result = run_scan([str(path.parent)], ScanOptions(jobs=jobs, cache_dir=cache_dir))
        sites = [s for s in result.analysis.sites if s.function.name == name and s.allocator is not None]
        if not sites:
            continue
        matching = [s for s in sites if family is None or s.allocator.family == family
                    or (family == "kmalloc" and s.allocator.family == "kvmalloc")]
        site = (matching or sites)[0]
        finding = next((f for f in result.findings if f.path == site.path and f.line == site.site.line), None)
        d.source = {
            "path": site.path, "line": site.site.line, "function": name, "call": site.call_text,
            "finding": f"{finding.rule_id} {finding.level}: {finding.message}" if finding else None,
        }
        return
