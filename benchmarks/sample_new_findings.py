"""A seeded random sample of the findings a change added, written as a review sheet.

For each sampled finding (present in NEW, absent from OLD, by rule, path and line):
the message, properties, the value flow and the atomic path step by step, each
step with the source lines around it read from TREE, so that a reviewer checks
every step in the code (the writer really stores that value, the path really
reaches the allocation with that size, the gfp really cannot sleep) and writes a
verdict on the sheet.

    usage: python benchmarks/sample_new_findings.py OLD.json NEW.json TREE [--rule AS001] [-n 20] [--seed 15]
                                                   [--exclude SHEET.md ...]

`--exclude` takes review sheets this script wrote earlier: the findings they hold
were read already and are not drawn again (a second sample of fresh findings).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

CONTEXT = 2  # source lines shown before and after each step


def _lines(tree: Path, path: str, cache: dict) -> list[str]:
    if path not in cache:
        try:
            cache[path] = (tree / path).read_text(errors="replace").split("\n")
        except OSError:
            cache[path] = []
    return cache[path]


def _excerpt(tree: Path, path: str, line: int, cache: dict) -> list[str]:
    lines = _lines(tree, path, cache)
    lo, hi = max(line - 1 - CONTEXT, 0), min(line + CONTEXT, len(lines))
    return [f"      {'>' if i + 1 == line else ' '}{i + 1:6} {lines[i]}" for i in range(lo, hi)]


def sheet(finding: dict, tree: Path, cache: dict) -> list[str]:
    p = finding["properties"]
    out = [f"## {finding['ruleId']} {finding['level']} {finding['path']}:{finding['line']} {finding['function']}()",
           f"   {finding['message']}",
           f"   sizeRange={p.get('sizeRange')} maxOrder={p.get('maxOrder')} gfp={p.get('gfp')} "
           f"user={p.get('userControlled')} device={p.get('deviceControlled')}"
           + (" maxIsLowerBound" if p.get("maxIsLowerBound") else "")]
    for title, steps in (("value flow", finding.get("valueFlow", [])), ("atomic path", finding.get("witness", []))):
        if not steps:
            continue
        out.append(f"   {title}:")
        for st in steps:
            out.append(f"    [{st['kind']}] {st['path']}:{st['line']}: {st['text']}")
            out.extend(_excerpt(tree, st["path"], st["line"], cache))
    out.append("   verdict: ")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("tree", type=Path)
    ap.add_argument("--rule", default="AS001")
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--exclude", type=Path, action="append", default=[], help="a sheet of findings already read")
    args = ap.parse_args(argv)
    key = lambda f: (f["ruleId"], f["path"], f["line"])  # noqa: E731
    old = {key(f) for f in json.loads(Path(args.old).read_text())["findings"]}
    read = set()
    for sheet_path in args.exclude:
        for m in re.finditer(r"^## (AS\d+) \w+ (\S+):(\d+) ", sheet_path.read_text(), re.M):
            read.add((m.group(1), m.group(2), int(m.group(3))))
    new = [f for f in json.loads(Path(args.new).read_text())["findings"]
           if f["ruleId"] == args.rule and key(f) not in old and key(f) not in read]
    new.sort(key=key)
    picked = random.Random(args.seed).sample(new, min(args.n, len(new)))
    picked.sort(key=key)
    print(f"# {len(picked)} of {len(new)} new {args.rule} findings (seed {args.seed})"
          + (f", {len(read)} read before left out" if read else "") + "\n")
    cache: dict = {}
    for f in picked:
        print("\n".join(sheet(f, args.tree, cache)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
