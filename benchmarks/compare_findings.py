"""Compare the findings of two whole-tree JSON reports.

Findings are matched by (rule, path, line). Printed: the count per rule and
level on each side, then every finding that appeared, disappeared or changed
(level, message, properties, witness or value flow), so that a change that
should preserve behaviour can be checked to the letter and one that should not
can be read finding by finding.

    usage: python benchmarks/compare_findings.py OLD.json NEW.json [--rule AS001] [--quiet]

Exit status 0 when the two reports hold the same findings, witnesses included; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

# Keys left out of the comparison (none: fingerprints, witnesses and signatures all count).
_IGNORED: tuple[str, ...] = ()


def load(path: str) -> dict[tuple, dict]:
    with open(path) as fh:
        report = json.load(fh)
    return {(f["ruleId"], f["path"], f["line"]): f for f in report["findings"]}


def counts(findings: dict[tuple, dict]) -> Counter:
    return Counter((f["ruleId"], f["level"]) for f in findings.values())


def _content(f: dict) -> dict:
    return {k: v for k, v in f.items() if k not in _IGNORED}


def changed_parts(old: dict, new: dict) -> list[str]:
    parts = [k for k in sorted(set(old) | set(new)) if k not in _IGNORED and k != "properties" and old.get(k) != new.get(k)]
    op, np = old.get("properties", {}), new.get("properties", {})
    parts += [f"properties.{k}" for k in sorted(set(op) | set(np)) if op.get(k) != np.get(k)]
    return parts


def summary_line(f: dict) -> str:
    p = f.get("properties", {})
    return (f"{f['ruleId']} {f['level']:7} {f['path']}:{f['line']} {f['function']}() maxOrder={p.get('maxOrder')} "
            f"size={p.get('sizeRange')} user={p.get('userControlled')}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rule", help="only this rule id")
    ap.add_argument("--quiet", action="store_true", help="counts and the verdict only")
    args = ap.parse_args(argv)
    old, new = load(args.old), load(args.new)
    if args.rule:
        old = {k: v for k, v in old.items() if k[0] == args.rule}
        new = {k: v for k, v in new.items() if k[0] == args.rule}
    co, cn = counts(old), counts(new)
    for key in sorted(set(co) | set(cn)):
        print(f"{key[0]} {key[1]:7} {co[key]:5} -> {cn[key]:5}")
    print(f"total         {len(old):5} -> {len(new):5}")
    gone = sorted(set(old) - set(new))
    came = sorted(set(new) - set(old))
    diff = sorted(k for k in set(old) & set(new) if _content(old[k]) != _content(new[k]))
    if not args.quiet:
        for k in gone:
            print("- " + summary_line(old[k]))
        for k in came:
            print("+ " + summary_line(new[k]))
        for k in diff:
            print(f"~ {summary_line(new[k])}  [{', '.join(changed_parts(old[k], new[k]))}]")
    print(f"appeared {len(came)}, disappeared {len(gone)}, changed {len(diff)}")
    identical = not (gone or came or diff)
    print("IDENTICAL" if identical else "DIFFERENT")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
