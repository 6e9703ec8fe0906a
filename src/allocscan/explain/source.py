"""`explain --tree`: map a report's call trace to the allocation in the source.

Walk the trace from the innermost caller frame outwards (allocator, report,
entry and core context frames are skipped); find the first function the tree
defines - in the files kbuild builds the frame's module from (`[usbnet]`)
when the trace names one, since many drivers have a static `rx_submit`;
scan the directory holding it (the facts cache makes repeated runs
cheap); weigh every allocation call of that function - and, when none of
them fits, of the static functions it calls, which inlining may hide - against
the report (`chooser`), and name the best with the ranked list and
allocscan's finding for each chosen line.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from ..discover import DEFAULT_KERNEL_EXCLUDES
from .chooser import INLINE_DEPTH, Candidate, evidence_of, rank, weigh
from .diagnose import Diagnosis
from .frames import is_caller_frame

MAX_FRAMES_TRIED = 6


def _walk(tree: Path):
    """(directory, file names) under `tree`, sorted, without hidden and non-kernel top directories."""
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = os.path.relpath(dirpath, tree)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not (rel == "." and d in DEFAULT_KERNEL_EXCLUDES))
        yield Path(dirpath), sorted(filenames)


def _defines(path: Path, name: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return name in text and re.search(rf"^[A-Za-z_].*\b{re.escape(name)}\s*\([^;]*$", text, re.M) is not None


@lru_cache(maxsize=64)
def module_sources(tree: Path, module: str) -> tuple[Path, ...]:
    """The .c files kbuild links into `module` (`obj-m += m.o`, with `m-y`/`m-objs` lists), by the Makefiles."""
    out: list[Path] = []
    for variant in dict.fromkeys((module, module.replace("_", "-"))):
        built = re.compile(rf"^obj-\S+\s*[:+]?=.*\b{re.escape(variant)}\.o\b", re.M)
        parts = re.compile(rf"^{re.escape(variant)}-(?:y|objs|\$\(\w+\))\s*[:+]?=(.*)$", re.M)
        for directory, files in _walk(tree):
            for makefile in ("Makefile", "Kbuild"):
                if makefile not in files:
                    continue
                text = (directory / makefile).read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
                if not built.search(text):
                    continue
                objs = [o for line in parts.findall(text) for o in line.split() if o.endswith(".o")]
                out.extend(directory / (o[:-2] + ".c") for o in (objs or [f"{variant}.o"]))
    return tuple(dict.fromkeys(p for p in out if p.is_file()))


def find_definition(tree: Path, name: str, module: str | None = None) -> Path | None:
    """The .c file under `tree` that defines function `name`: in the frame's module when the trace names
    one (a static `rx_submit` is defined in several drivers), else the first found."""
    for path in module_sources(tree, module) if module else ():
        if _defines(path, name):
            return path
    for directory, files in _walk(tree):
        for fname in files:
            if fname.endswith(".c") and _defines(directory / fname, name):
                return directory / fname
    return None


def caller_frames(d: Diagnosis) -> list[tuple[str, str | None]]:
    """(function, module) of the trace's caller frames, innermost first, compiler suffixes (.isra.0) removed."""
    out: dict[str, str | None] = {}
    started = d.caller is None
    for func in d.reliable_frames:
        if func == d.caller:
            started = True
        if started and is_caller_frame(func):
            out.setdefault(func.split(".")[0], d.frame_modules.get(func))
    return list(out.items())


def map_to_source(d: Diagnosis, tree: Path, jobs: int, cache_dir: Path | None) -> None:
    from ..pipeline import ScanOptions, run_scan

    evidence = evidence_of(d)
    for name, module in caller_frames(d)[:MAX_FRAMES_TRIED]:
        path = find_definition(tree, name, module)
        if path is None:
            continue
        result = run_scan([str(path.parent)], ScanOptions(jobs=jobs, cache_dir=cache_dir))
        analysis = result.analysis
        ff = _file_facts(analysis, name, path)
        if ff is None:
            continue
        own = [s for s in analysis.sites if s.path == ff.path and s.function.name == name and s.allocator is not None]
        candidates = [weigh(evidence, s, analysis.kernel) for s in own]
        if not candidates or all(c.ruled_out for c in candidates):
            candidates += [weigh(evidence, s, analysis.kernel, inlined_into=name)
                           for s in _inlinable_sites(analysis, ff, name)]
        if not candidates:
            continue
        match = rank(candidates)
        d.candidates = [_candidate_dict(c, result.findings) for c in candidates]
        top = d.candidates[0]
        d.source = {"path": top["path"], "line": top["line"], "function": top["function"], "call": top["call"],
                    "finding": top["finding"], "match": match}
        return


def _file_facts(analysis, name: str, path: Path):
    """The scanned file that is `path` and defines `name` (other files of the directory may define a static
    of the same name)."""
    return next((f for f in analysis.program.files if Path(f.path).name == path.name
                 and any(fn.name == name for fn in f.functions)), None)


def _inlinable_sites(analysis, ff, name: str) -> list:
    """Allocation calls in static functions of `name`'s file that it calls, up to INLINE_DEPTH deep."""
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
