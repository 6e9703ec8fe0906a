"""The context analysis of a cone against the whole program's, on a real tree.

    usage: benchmarks/cone_contexts.py TREE --cache-dir DIR [--seed 1] [-n 5] [--size 300]

An incremental scan runs analyze_contexts() over the callers of its cone only
(analyze_contexts(only=...)). This loads the tree's facts (warm cache), links once,
runs the whole-program context analysis, then draws `n` random sets of `size`
allocating functions (seeded), runs the restricted analysis for each and checks that
every site of every drawn function is told what the whole analysis tells it
(tests/test_context.py's comparison: variants, entries, site context, witness chains,
one-time set-up). Prints each run's time, the functions the restricted fixed point
was allowed to visit, and the disagreements (exit 1 if any).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from allocscan.analyze import _allocating_functions, allocating_gfp_params
    from allocscan.analyze.context import MAX_HOPS, analyze_contexts, callers_within
    from allocscan.analyze.values import ValueAnalysis
    from allocscan.cache import FactsCache
    from allocscan.discover import discover
    from allocscan.extract.driver import extract_all
    from allocscan.link import link
    from tests.test_context import _what_sites_are_told

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree")
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--size", type=int, default=300)
    args = ap.parse_args()

    t = time.perf_counter()
    disc = discover([args.tree])
    facts = extract_all(disc.files, disc.rel, FactsCache(args.cache_dir), 2).facts
    program = link(facts)
    print(f"load and link {time.perf_counter() - t:.1f}s, {len(program.functions)} functions")
    values = ValueAnalysis(program, disc.kernel)
    allocating = sorted({program.node_for(fn) for _, fn in _allocating_functions(program, allocating_gfp_params(program))})
    t = time.perf_counter()
    whole = analyze_contexts(program, values.oracle)
    print(f"whole-program contexts {time.perf_counter() - t:.1f}s, {len(allocating)} allocating functions")
    rng = random.Random(args.seed)
    wrong = 0
    for run in range(args.n):
        chosen = set(rng.sample(allocating, min(args.size, len(allocating))))
        t = time.perf_counter()
        part = analyze_contexts(program, values.oracle, chosen)
        took = time.perf_counter() - t
        bad = [n for n in sorted(chosen) if _what_sites_are_told(part, n) != _what_sites_are_told(whole, n)]
        wrong += len(bad)
        print(f"run {run}: {len(chosen)} functions, {len(callers_within(program, chosen, MAX_HOPS))} within "
              f"{MAX_HOPS} calls above, {took:.1f}s, {len(bad)} told otherwise {bad[:5]}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
