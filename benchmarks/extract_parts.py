"""Where extraction's time goes above the tree-sitter floor (issue 17), file by file.

On a seeded sample of a tree's files, in one process:

- the floor: parse each file and run the combined fact query over it once
  (what benchmarks/parse_floor.py measures for the whole tree);
- each query file of `queries/` run alone over the same trees: what each kind of
  capture costs the query engine;
- `extract_file()` on the same files, with each of its steps (masking, the query
  and its bucketing, every fact visitor, packing) timed by a wrapper, and the
  rest (the parse, building the facts) as the remainder.

    usage: python benchmarks/extract_parts.py TREE [-n FILES] [--seed N]

Times are wall clock in one process, without a profiler (cProfile doubles the
cost of the small Python functions the visitors are made of).
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import tree_sitter

from allocscan.discover import discover
from allocscan.extract import calls, conditions, definitions, locks, stores, suppressions
from allocscan.extract import file as extraction
from allocscan.extract import treesitter
from allocscan.facts import FileFacts

# (module, function, label) of each step extract_file() takes
STEPS = [
    (extraction, "mask_source", "masking"),
    (treesitter, "bucketed_matches", "combined query + bucketing"),
    (extraction, "_macro_facts", "macro facts (#define names, #if branches)"),
    (extraction, "unparsed_bodies", "bodies the parse lost"),
    (extraction, "mark_table_calls", "table flags"),
    (FileFacts, "pack", "packing (bodies and calls pickled)"),
] + [(module, name, f"{module.__name__.rsplit('.', 1)[1]}.{name}")
     for module, names in ((definitions, ("toplevel", "functions", "declarations", "returns", "loops")),
                           (calls, ("calls", "module_params")), (stores, ("assignments",)),
                           (conditions, ("guards", "switches")), (locks, ("lock_states",)),
                           (suppressions, ("suppressions",)))
     for name in names]


def _timed(spent: dict[str, float], owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree")
    ap.add_argument("-n", type=int, default=1500, help="files in the sample")
    ap.add_argument("--seed", type=int, default=48)
    args = ap.parse_args(argv)
    files = [str(p) for p in discover([args.tree]).files]
    sample = random.Random(args.seed).sample(files, min(args.n, len(files)))
    sources = [(path, Path(path).read_bytes()) for path in sample]
    print(f"{len(sources)} files, {sum(len(d) for _, d in sources) / 1e6:.1f} MB (seed {args.seed})")

    start = time.perf_counter()
    trees = [treesitter.parser().parse(data) for _, data in sources]
    parse = time.perf_counter() - start
    combined = treesitter.combined_query()
    start = time.perf_counter()
    for tree in trees:
        for _ in tree_sitter.QueryCursor(combined).matches(tree.root_node):
            pass
    floor = parse + time.perf_counter() - start
    print(f"floor: {floor:.2f} s (parse {parse:.2f} s, combined query {floor - parse:.2f} s)")
    for name in treesitter.QUERY_FILES:
        query = treesitter.query(name)
        start = time.perf_counter()
        for tree in trees:
            for _ in tree_sitter.QueryCursor(query).matches(tree.root_node):
                pass
        print(f"  {name}.scm alone: {time.perf_counter() - start:.2f} s")

    spent: dict[str, float] = defaultdict(float)
    for owner, name, label in STEPS:
        _timed(spent, owner, name, label)
    start = time.perf_counter()
    failed = 0
    for path, data in sources:
        try:
            extraction.extract_file(path, data)
        except Exception:  # a rejected file (binary, too deep): the scan warns and goes on
            failed += 1
    total = time.perf_counter() - start
    print(f"extract_file: {total:.2f} s, {total / floor:.2f}x the floor ({failed} file(s) rejected)")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label:45s} {seconds:6.2f} s {100 * seconds / total:5.1f} %")
    rest = total - sum(spent.values())
    print(f"  {'the rest (parse, decode, facts, regexes)':45s} {rest:6.2f} s {100 * rest / total:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
