"""What AS002's path machinery costs inside one whole-tree scan (issue 14's budget).

Issue 14 allows its path validation at most 20% of a warm scan. This times, in
one ordinary scan (no profiler), the outermost calls of:
- the path validation (`paths.PathValidator.check`, the z3 solver included);
- the armed-callback matching (`entries._armed`);
- the dead-caller check of gfp origins (`entries.never_run`, as AS002 calls it);
- the early-boot check (`entries.early_boot_only`, as AS002 calls it);
and prints each as seconds and as a share of the scan's wall time.

    usage: python benchmarks/as002_cost.py TREE --cache-dir DIR

Run it on a warm cache (a whole-tree scan filled DIR) to measure the warm scan.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from allocscan.analyze import entries, paths
from allocscan.pipeline import ScanOptions, run_scan


def _timed(owner, name: str, label: str, spent: dict[str, float]) -> None:
    """Wrap `owner.name` so that its outermost calls add to spent[label]."""
    original = getattr(owner, name)
    depth = [0]

    def wrapper(*args, **kwargs):
        depth[0] += 1
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree")
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    rule = importlib.import_module("allocscan.rules.as002_sleeping_allocation_in_atomic_context")
    spent: dict[str, float] = {}
    _timed(paths.PathValidator, "check", "path validation (PathValidator.check)", spent)
    _timed(entries, "_armed", "armed callbacks (entries._armed)", spent)
    _timed(rule, "never_run", "dead callers (never_run)", spent)
    _timed(rule, "early_boot_only", "early boot (early_boot_only)", spent)
    start = time.perf_counter()
    result = run_scan([args.tree], ScanOptions(jobs=args.jobs, cache_dir=args.cache_dir))
    total = time.perf_counter() - start
    for label, seconds in sorted(spent.items()):
        print(f"{label}: {seconds:.2f} s = {seconds / total:.1%} of the scan")
    print(f"all of them: {sum(spent.values()):.2f} s = {sum(spent.values()) / total:.1%}; "
          f"scan {total:.1f} s, {len(result.findings)} findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
