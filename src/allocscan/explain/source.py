"""`explain --tree`: map a report's call trace to the allocation in the source.

Walk the trace from the innermost caller frame outwards (allocator, report,
entry and core context frames are skipped); find the first function the tree
defines; scan the directory holding it (the facts cache makes repeated runs
cheap); weigh every allocation call of that function - and, when none of
them fits, of the static functions it calls, which inlining may hide - against
the report (`chooser`), and name the best with the ranked list and
allocscan's finding for each chosen line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..discover import DEFAULT_KERNEL_EXCLUDES
from .chooser import INLINE_DEPTH, Candidate, evidence_of, rank, weigh
from .diagnose import Diagnosis
from .frames import is_caller_frame

MAX_FRAMES_TRIED = 6


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


def caller_frames(d: Diagnosis) -> list[str]:
    """Function names of the trace's caller frames, innermost first, compiler suffixes (.isra.0) removed."""
    names: list[str] = []
    started = d.caller is None
    for func in d.reliable_frames:
        if func == d.caller:
            started = True
        if started and is_caller_frame(func):
            name = func.split(".")[0]
            if name not in names:
                names.append(name)
    return names


def map_to_source(d: Diagnosis, tree: Path, jobs: int, cache_dir: Path | None) -> None:
    from ..pipeline import ScanOptions, run_scan

    evidence = evidence_of(d)
    for name in caller_frames(d)[:MAX_FRAMES_TRIED]:
        path = find_definition(tree, name)
        if path is None:
            continue
        result = run_scan([str(path.parent)], ScanOptions(jobs=jobs, cache_dir=cache_dir))
        analysis = result.analysis
        own = [s for s in analysis.sites if s.function.name == name and s.allocator is not None]
        candidates = [weigh(evidence, s, analysis.kernel) for s in own]
        if not candidates or all(c.ruled_out for c in candidates):
            candidates += [weigh(evidence, s, analysis.kernel, inlined_into=name)
                           for s in _inlinable_sites(analysis, name, path)]
        if not candidates:
            continue
        match = rank(candidates)
        d.candidates = [_candidate_dict(c, result.findings) for c in candidates]
        top = d.candidates[0]
        d.source = {"path": top["path"], "line": top["line"], "function": top["function"], "call": top["call"],
                    "finding": top["finding"], "match": match}
        return


def _inlinable_sites(analysis, name: str, path: Path) -> list:
    """Allocation calls in static functions of `name`'s file that it calls, up to INLINE_DEPTH deep."""
    ff = next((f for f in analysis.program.files if Path(f.path).name == path.name
               and any(fn.name == name for fn in f.functions)), None)
    if ff is None:
        return []
    functions = {fn.name: fn for fn in ff.functions}
    reached: list[str] = []
    frontier = [name]
    for _ in range(INLINE_DEPTH):
        frontier = [callee for caller in frontier for callee in functions[caller].callees
                    if callee in functions and functions[callee].is_static and callee != name
                    and callee not in reached]
        reached.extend(dict.fromkeys(frontier))
    return [s for s in analysis.sites if s.path == ff.path and s.allocator is not None and s.function.name in reached]


def _candidate_dict(c: Candidate, findings) -> dict:
    s = c.site
    finding = next((f for f in findings if f.path == s.path and f.line == s.site.line), None)
    order = None
    if s.page_backed or s.order_lo is not None or s.order_hi is not None:
        order = [s.order_lo, s.order_hi]
    return {
        "rank": c.rank, "chosen": c.chosen, "path": s.path, "line": s.site.line, "function": s.function.name,
        "call": s.call_text, "allocator": s.allocator.name, "family": s.allocator.family, "orderRange": order,
        "gfp": [g.text for g in (s.gfp or [])], "inlinedInto": c.inlined_into, "fit": dict(c.fit),
        "reasons": list(c.reasons),
        "finding": f"{finding.rule_id} {finding.level}: {finding.message}" if finding else None,
    }
