"""Cold scan against the tree-sitter floor, measured in one run (issue 17).

The floor is what any tree-sitter analyzer of this design must spend on a cold
scan: read every file the scan reads, parse it, and run the analyzer's combined
fact query over the tree once. Nothing else: no masking, no facts, no cache, no
link or analysis. The script measures the floor, then (unless --floor-only) a
cold `allocscan scan` of the same tree into a fresh cache, with the same number
of worker processes, and prints the ratio. Both run within minutes of each other
on the same machine, whose speed drifts by 20% within an hour.

    usage: python benchmarks/parse_floor.py TREE [--jobs N] [--floor-only] [--keep-cache DIR]

Prints the floor's wall and CPU time, the cold scan's wall time and peak RSS (from
/usr/bin/time -v), the scan's own stage times (--stats), and cold / floor twice:
against the floor's wall on the same workers (the stricter figure), and against its
CPU time, the floor on one core that issue 17 states its goal against.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import tree_sitter

from allocscan.discover import discover
from allocscan.extract.treesitter import combined_query, parser


def _floor_of(paths: list[str]) -> tuple[int, int, float]:
    """(files, bytes, CPU seconds) of reading, parsing and querying `paths`."""
    start = time.process_time()
    query = combined_query()
    size = 0
    for path in paths:
        try:
            src = Path(path).read_bytes()
        except OSError:
            continue
        size += len(src)
        tree = parser().parse(src)
        for _ in tree_sitter.QueryCursor(query).matches(tree.root_node):
            pass
    return len(paths), size, time.process_time() - start


def measure_floor(tree: str, jobs: int) -> dict:
    disc = discover([tree])
    paths = [str(p) for p in disc.files]
    chunks = [paths[i::jobs * 16] for i in range(jobs * 16)]  # interleaved: big directories spread out
    start = time.perf_counter()
    files = size = 0
    cpu = 0.0
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for n, b, c in pool.map(_floor_of, chunks):
            files, size, cpu = files + n, size + b, cpu + c
    return {"files": files, "bytes": size, "wall": time.perf_counter() - start, "cpu": cpu}


def cold_scan(tree: str, jobs: int, cache: Path) -> dict:
    binary = Path(sys.executable).with_name("allocscan")
    cmd = ["/usr/bin/time", "-v", str(binary), "scan", tree, "--cache-dir", str(cache), "--jobs", str(jobs),
           "--format", "json", "-o", os.devnull, "--stats", "--fail-on", "none"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    err = run.stderr.splitlines()
    wall = next((line.rsplit(" ", 1)[1] for line in err if "Elapsed (wall clock)" in line), "")
    rss = next((int(line.rsplit(" ", 1)[1]) for line in err if "Maximum resident set size" in line), 0)
    stats = next((line for line in err if line.startswith("allocscan: stats")), "")
    return {"wall": _seconds(wall), "rss_mib": rss // 1024, "stats": stats}


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")] if clock else [0.0]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--floor-only", action="store_true")
    ap.add_argument("--keep-cache", type=Path, help="fill this (empty) cache directory instead of a temporary one")
    args = ap.parse_args(argv)
    floor = measure_floor(args.tree, args.jobs)
    print(f"floor: {floor['files']} files, {floor['bytes'] / 1e6:.0f} MB: wall {floor['wall']:.1f} s "
          f"with {args.jobs} processes, CPU {floor['cpu']:.1f} s (read + parse + one combined query)")
    if args.floor_only:
        return 0
    with tempfile.TemporaryDirectory(prefix="allocscan-floor-") as tmp:
        cache = args.keep_cache or Path(tmp)
        scan = cold_scan(args.tree, args.jobs, cache)
    print(f"cold scan: wall {scan['wall']:.1f} s, peak RSS {scan['rss_mib']} MiB")
    if scan["stats"]:
        print(f"  {scan['stats']}")
    if floor["wall"]:
        print(f"cold / floor: {scan['wall'] / floor['wall']:.2f}x (target <= 1.5x)")
    if floor["cpu"]:
        # The issue's own floor: parse plus one query over every file on one core. The
        # line above divides by the floor's wall on all the workers, the stricter figure.
        print(f"cold / one-core floor: {scan['wall'] / floor['cpu']:.2f}x (the floor's CPU time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
