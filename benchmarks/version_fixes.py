"""AS002 recall on fixes the kernel made: sites an older tree lets sleep and a newer
tree made non-blocking.

    usage: python benchmarks/version_fixes.py OLD_TREE NEW_TREE --old-cache DIR
               --new-cache DIR --findings OLD.json [--json OUT]

Between two releases, kernel developers turn some blocking allocations into
non-blocking ones (GFP_KERNEL -> GFP_ATOMIC, GFP_NOIO -> GFP_NOWAIT ...), most often
because a report of `BUG: sleeping function called from invalid context` showed the
call runs in atomic context. Each such change is a candidate true AS002 finding on
the older tree, found without allocscan's context analysis: a recall set that no
one chose.

1. Both trees are scanned (warm caches make it about a minute each) and every
   allocation or gfp-taking call site is keyed by (file, function, callee, its
   place among the function's calls to that callee).
2. A candidate is a key present in both trees whose gfp, as the gfp analysis
   resolves it, may block on every alternative in OLD and on none in NEW.
3. The candidate is reported when an AS002 finding of OLD.json (a whole-tree scan
   of OLD, `--format json`) ends at that allocation (its witness's allocation
   step is at the site's line).

Not every candidate was a bug in OLD: a change can follow a lock added later, or be
a precaution. The list printed (and written to --json) is for a reader to judge,
each candidate's callers read in OLD; recall is counted over the real ones.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections import Counter
from pathlib import Path

from allocscan.pipeline import ScanOptions, run_scan


def site_table(tree: str, cache_dir: Path) -> dict[tuple, dict]:
    """Key -> what the gfp analysis says of that site, for every site with a known gfp."""
    result = run_scan([tree], ScanOptions(jobs=2, cache_dir=cache_dir))
    analysis = result.analysis
    blocks = analysis.kernel.gfp.allows_blocking
    table = {}
    for s in analysis.sites:
        if not s.gfp:
            continue
        call = s.site
        key = (s.path, s.function.name, call.callee or call.field or "", s.ordinal)
        table[key] = {"line": call.line, "blocking": [blocks(g.mask) for g in s.gfp],
                      "gfp": sorted({g.text for g in s.gfp}), "call": s.call_text[:160]}
    del result, analysis
    gc.collect()
    return table


def reported_allocations(findings_json: Path) -> set[tuple[str, int]]:
    """(path, line) of the allocation every AS002 finding of a whole-tree scan ends at."""
    data = json.loads(findings_json.read_text())
    ends = set()
    for f in data["findings"]:
        if f["ruleId"] != "AS002":
            continue
        steps = [w for w in f.get("witness", []) if w.get("kind") == "allocation"]
        if steps:
            ends.add((steps[-1]["path"], steps[-1]["line"]))
        else:
            ends.add((f["path"], f["line"]))
    return ends


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old_tree")
    ap.add_argument("new_tree")
    ap.add_argument("--old-cache", type=Path, required=True)
    ap.add_argument("--new-cache", type=Path, required=True)
    ap.add_argument("--findings", type=Path, required=True, help="whole-tree JSON of OLD")
    ap.add_argument("--json", type=Path, help="write the candidates here")
    args = ap.parse_args(argv)
    old = site_table(args.old_tree, args.old_cache)
    new = site_table(args.new_tree, args.new_cache)
    reported = reported_allocations(args.findings)
    candidates = []
    for key, before in sorted(old.items()):
        after = new.get(key)
        if after is None or not all(before["blocking"]) or any(after["blocking"]):
            continue
        path, function, callee, ordinal = key
        candidates.append({"path": path, "function": function, "callee": callee, "ordinal": ordinal,
                           "line": before["line"], "newLine": after["line"], "oldGfp": before["gfp"],
                           "newGfp": after["gfp"], "call": before["call"],
                           "reported": (path, before["line"]) in reported})
    counts = Counter(c["reported"] for c in candidates)
    print(f"sites in both trees with a known gfp: {len(old.keys() & new.keys())}")
    print(f"blocking in OLD, non-blocking in NEW: {len(candidates)}; reported by AS002 on OLD: "
          f"{counts[True]}")
    for c in candidates:
        mark = "REPORTED" if c["reported"] else "silent  "
        print(f"{mark} {c['path']}:{c['line']} {c['function']}() {c['callee']} "
              f"{'/'.join(c['oldGfp'])} -> {'/'.join(c['newGfp'])}")
    if args.json:
        args.json.write_text(json.dumps(candidates, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
