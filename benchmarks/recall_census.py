"""Recall census of AS001: what the value analysis proves about every allocation
that may not sleep.

For every allocation site with a sized allocator and at least one non-blocking
gfp alternative (the sites AS001 looks at), the census counts the sites whose
largest request is proven at most order 3, those proven to reach order 4 or
more, and those whose size is unknown, with the unknown ones broken down by
why (`Value.why`: a field with an unknown writer, a parameter from an unknown
caller, device input, a computed order, a macro not found, a parse error ...).
A size known but unbounded without a user source counts as unknown
("unbounded-not-user"): AS001 does not report it either. A partly known size
(some writers or callers unknown) proven to reach order 4 counts as proven; one
that reaches less proves no upper bound, and counts as unknown ("partial", then
what hid the unknown alternatives). The same holds where a user's or a device's
value is joined with an unknown alternative (lattice.UPPER_BOUNDS_ONLY): the
reports take the source's range as what it reaches, but it bounds nothing.
`--reach` counts such a join as proven, as the census did up to stop 36.

    usage: python benchmarks/recall_census.py TREE --cache-dir DIR [--json OUT] [--examples N]

Run it with a warm cache (a whole-tree scan filled DIR). `--examples N` prints N
sites of each unknown reason, to see what a reason stands for.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

from allocscan.analyze import bounded_order
from allocscan.analyze.values import lattice
from allocscan.analyze.values.lattice import interval
from allocscan.pipeline import ScanOptions, run_scan

MIN_ORDER = 4  # PAGE_ALLOC_COSTLY_ORDER + 1


def classify(site, kernel) -> tuple[str, str] | None:
    """(verdict, reason) of one site, or None when AS001 does not look at it: no sized
    allocator, or no gfp alternative known to be non-blocking."""
    if site.allocator is None or site.family is None or not site.gfp:
        return None
    if all(kernel.gfp.allows_blocking(g.mask) for g in site.gfp):
        return None
    size = site.size
    bound = bounded_order(site, kernel)  # bounds only: proven small, never reported big
    small = bound is not None and bound < MIN_ORDER
    if not size.known:
        if size.why == "no-size-argument":
            return None  # kstrdup(), kasprintf(): a string's length
        if small:
            return "order<=3", "bounded"
        return "unknown", size.why or "unknown"
    if size.hi is None:
        if size.sources:
            return "order>=4", "source-unbounded"
        return "unknown", "unbounded-not-user"
    big = site.page_backed and site.order_hi is not None and site.order_hi >= MIN_ORDER
    if big:
        return "order>=4", "partial" if getattr(size, "partial", False) else "proven"
    if getattr(size, "partial", False):  # (the attribute is newer than the census's first run)
        if small:
            return "order<=3", "bounded"
        hidden = size.why.partition("/")[0]  # what hid the unknown alternatives
        return "unknown", f"partial/{hidden}" if hidden else "partial"
    return "order<=3", "proven" if site.page_backed else "slab"


def census(analysis) -> dict:
    verdicts: Counter = Counter()
    reasons: Counter = Counter()
    outer: Counter = Counter()
    examples: dict[str, list] = defaultdict(list)
    unknown_gfp = 0
    unknown_sites: list[dict] = []
    how: Counter = Counter()  # (verdict, how it is proven) of the known ones
    for site in analysis.sites:
        if site.allocator is not None and site.family is not None and not site.gfp:
            unknown_gfp += 1
        verdict = classify(site, analysis.kernel)
        if verdict is None:
            continue
        verdicts[verdict[0]] += 1
        if verdict[0] != "unknown":
            how[verdict] += 1
        else:
            reasons[verdict[1]] += 1
            outer[verdict[1].partition("/")[0]] += 1
            examples[verdict[1].partition("/")[0]].append(f"{site.path}:{site.site.line}: {site.call_text[:100]}")
            bound = interval(site.size)[1]
            unknown_sites.append({"path": site.path, "line": site.site.line, "function": site.function.name,
                                  "reason": verdict[1], "call": site.call_text[:200], "bound": bound,
                                  "boundOrder": bounded_order(site, analysis.kernel)})
    total = sum(verdicts.values())
    return {"sites": total, "verdicts": dict(verdicts), "unknownShare": verdicts["unknown"] / total if total else 0.0,
            "unknownByReason": dict(outer.most_common()), "unknownByDetailedReason": dict(reasons.most_common()),
            "sitesWithUnknownGfp": unknown_gfp, "provenBy": {f"{v}/{h}": n for (v, h), n in sorted(how.items())},
            "examples": examples, "unknownSites": unknown_sites}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree")
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--json", type=Path, help="write the census here")
    ap.add_argument("--examples", type=int, default=0, help="print this many sites per unknown reason")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--sites", type=Path, help="write every unknown site (path, line, function, reason) here")
    ap.add_argument("--reach", action="store_true",
                    help="count a source's range joined with an unknown alternative as proven (before stop 36)")
    args = ap.parse_args(argv)
    lattice.UPPER_BOUNDS_ONLY = not args.reach
    result = run_scan([args.tree], ScanOptions(jobs=2, cache_dir=args.cache_dir))
    c = census(result.analysis)
    examples = c.pop("examples")
    unknown_sites = c.pop("unknownSites")
    if args.sites:
        args.sites.write_text(json.dumps(unknown_sites, indent=1) + "\n")
    print(f"non-blocking sized allocation sites: {c['sites']}")
    for verdict in ("order<=3", "order>=4", "unknown"):
        n = c["verdicts"].get(verdict, 0)
        print(f"  {verdict:9} {n:6}  {n / c['sites']:6.1%}" if c["sites"] else f"  {verdict:9} {n:6}")
    print("proven, by how:", ", ".join(f"{k} {n}" for k, n in c["provenBy"].items()))
    print("unknown, by reason:")
    for reason, n in c["unknownByReason"].items():
        print(f"  {reason:24} {n:6}")
    print("unknown, by reason and what hid it:")
    for reason, n in c["unknownByDetailedReason"].items():
        print(f"  {reason:48} {n:6}")
    print(f"sites with a sized allocator and an unknown gfp (not counted): {c['sitesWithUnknownGfp']}")
    rng = random.Random(args.seed)
    for reason in c["unknownByReason"]:
        if args.examples:
            picked = rng.sample(examples[reason], min(args.examples, len(examples[reason])))
            print(f"-- {reason}:")
            for line in picked:
                print(f"   {line}")
    if args.json:
        args.json.write_text(json.dumps(c, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
