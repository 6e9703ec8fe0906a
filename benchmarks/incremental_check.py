"""Incremental equals full on a real tree (issue 17): random small edits, each in a
random driver directory of a git checkout, diffed against HEAD (the head side then
analyses only the change's cone), and the head side's findings compared, witnesses
included, with a scan of the edited tree that analyses everything.

    usage: benchmarks/incremental_check.py GIT_CHECKOUT --cache-dir DIR [-n 6] [--seed 1] [--edit NAME]

The edits are the property test's (tests/test_incremental.py); --edit keeps one kind
(grow_define, flip_gfp, ...). Each round runs in a
child process (a whole-tree scan holds its program until exit). Prints, per edit,
the diff's wall time, what the head side analysed again, and whether the findings
agree; the checkout is reset afterwards (`git reset --hard`, `git clean -fd`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _reset(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "reset", "-q", "--hard", "HEAD"], check=True)
    subprocess.run(["git", "-C", str(repo), "clean", "-q", "-fdx", "--", "drivers"], check=True)


def _round(repo: Path, cache: Path, seed: int, queue, only: str | None = None) -> None:
    from allocscan.diff import diff_revisions
    from allocscan.pipeline import ScanOptions, run_scan
    from tests.test_incremental import EDITS, comparable

    rng = random.Random(seed)
    directories = sorted({p.parent for p in (repo / "drivers").rglob("*.c")})
    while True:
        directory = rng.choice(directories)
        edit = rng.choice([e for e in EDITS if only in (None, e.__name__)])
        try:
            what = f"{directory.relative_to(repo)}: {edit(directory, rng)}"
            break
        except IndexError:  # nothing of that kind in this directory: draw again
            continue
    t = time.perf_counter()
    result = diff_revisions(repo, "HEAD", None, [], ScanOptions(cache_dir=cache, jobs=2))
    diff_seconds = time.perf_counter() - t
    note = result.head.analysis.stats.get("incremental", "")
    head = comparable(result.head.findings)
    full = comparable(run_scan([str(repo)], ScanOptions(cache_dir=cache, jobs=2)).findings)
    differ = [f"{r['rule_id']} {r['path']}:{r['line']}" for r in head if r not in full]
    missing = [f"{r['rule_id']} {r['path']}:{r['line']}" for r in full if r not in head]
    queue.put({"edit": what, "diff_seconds": round(diff_seconds, 1), "head_side": note,
               "relinked": "relink" in result.head.timings, "new": len(result.new),
               "fixed": len(result.fixed), "agree": head == full, "only_incremental": differ,
               "only_full": missing})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("-n", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--edit", help="only this kind of edit (a function name of tests/test_incremental.EDITS)")
    args = parser.parse_args()
    context = multiprocessing.get_context("fork")
    agreed = 0
    for i in range(args.n):
        _reset(args.repo)
        queue = context.Queue()
        child = context.Process(target=_round, args=(args.repo, args.cache_dir, args.seed * 1000 + i, queue,
                                                                args.edit))
        child.start()
        record = queue.get()
        child.join()
        agreed += record["agree"]
        print(json.dumps(record), flush=True)
    _reset(args.repo)
    print(f"{agreed} of {args.n} edits: incremental findings equal the full scan's")
    return 0 if agreed == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
