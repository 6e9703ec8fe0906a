"""Compare the AS002 findings of two whole-tree JSON reports by allocation site.

    usage: python benchmarks/compare_as002.py BEFORE.json AFTER.json

A finding is reported at the call in the lock holder or entry point since
issue 14, and at the allocation before: both are matched here by the witness's
last step (the allocation). Prints the per-level counts of each side, the
allocation sites only BEFORE reports (removed: each needs a verdict, true or
false, in the change's note), and those only AFTER reports (added).
"""

from __future__ import annotations

import json
import sys
from collections import Counter


def load(path: str) -> list[dict]:
    return [f for f in json.load(open(path))["findings"] if f["ruleId"] == "AS002"]


def allocation(f: dict) -> tuple[str, int]:
    steps = f.get("witness") or []
    last = steps[-1] if steps else f
    return last["path"], last["line"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    before, after = load(argv[0]), load(argv[1])
    for name, side in (("before", before), ("after", after)):
        levels = Counter(f["level"] for f in side)
        print(f"{name}: {len(side)} AS002 ({', '.join(f'{k} {levels[k]}' for k in ('error', 'warning', 'note'))})")
    b = {}
    for f in before:
        b.setdefault(allocation(f), []).append(f)
    a = {}
    for f in after:
        a.setdefault(allocation(f), []).append(f)
    print("\nremoved (allocation reported before, not after):")
    for key in sorted(set(b) - set(a)):
        f = b[key][0]
        print(f"  {key[0]}:{key[1]}  [{f['level']}] {f['properties'].get('atomicContext')}")
    print("\nadded (allocation reported after, not before):")
    for key in sorted(set(a) - set(b)):
        for f in a[key]:
            print(f"  {key[0]}:{key[1]}  [{f['level']}] at {f['path']}:{f['line']} {f['properties'].get('atomicContext')}")
    print("\nkept, with where they are reported now:")
    for key in sorted(set(a) & set(b)):
        for f in a[key]:
            print(f"  {key[0]}:{key[1]}  [{b[key][0]['level']} -> {f['level']}] at {f['path']}:{f['line']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
