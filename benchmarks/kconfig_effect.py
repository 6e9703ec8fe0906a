#!/usr/bin/env python3
"""What a kernel config removes from a whole-tree scan, and why.

    usage: benchmarks/kconfig_effect.py TREE CONFIG PLAIN.json KCONFIG.json

PLAIN.json and KCONFIG.json are `allocscan scan TREE --format json --stats` without
and with `--kconfig CONFIG`. Prints the files and functions in scope, the findings
kept, and each removed (or added) finding with the reason: its file is not built
by the config, or the file is built and the finding went with an #if branch the
config does not compile (or with a caller or witness file that is not built).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from allocscan.kbuild import built_files
from allocscan.kernel.kconfig import load_kconfig


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tree, config_path, plain_path, kconfig_path = argv
    config = load_kconfig(config_path)
    built = built_files(Path(tree), config)
    plain, configured = (json.loads(Path(p).read_text()) for p in (plain_path, kconfig_path))
    key = lambda f: (f["ruleId"], f["fingerprint"])  # noqa: E731
    before = {key(f): f for f in plain["findings"]}
    after = {key(f): f for f in configured["findings"]}
    ps, ks = plain["stats"], configured["stats"]
    scope = ks.get("scope", {})
    print(f"files: {ps['files']} -> {ks['files']} ({scope.get('cFiles')} C files built, {scope.get('headers')} headers; "
          f"left out {scope.get('droppedCFiles')} C files, {scope.get('droppedHeaders')} headers)")
    print(f"functions: {ps['functions']} -> {ks['functions']} ({ps['functions'] - ks['functions']} fewer)")
    print(f"calls: {ps['calls']} -> {ks['calls']}")
    print(f"lines blanked in #if branches: {scope.get('linesBlanked')}")
    print(f"Kbuild: {len(built.sources)} C files, {len(built.directories)} directories, "
          f"{len(built.unresolved)} objects with no C source: {', '.join(built.unresolved)}")
    print(f"findings: {len(before)} -> {len(after)}; {scope.get('findingsDependingOnConfig')} carry the kconfig property")
    reasons = Counter()
    for k, f in sorted(before.items(), key=lambda kv: (kv[1]["path"], kv[1]["line"])):
        if k in after:
            continue
        if f["path"].endswith(".c") and f["path"] not in built.sources:
            reason = "file not built"
        elif f["path"].endswith(".h"):
            reason = "in a header: its callers are not built, or an #if branch"
        elif any(s["path"].endswith(".c") and s["path"] not in built.sources
                 for s in f["witness"] + f["valueFlow"]):
            reason = "a file on its witness or size flow is not built"
        else:
            reason = "its files are built: an #if branch the config does not compile, or a resolution"
        reasons[reason] += 1
        print(f"  removed [{reason}] {f['ruleId']} {f['level']} {f['path']}:{f['line']} {f['function']}")
    for k, f in sorted(after.items(), key=lambda kv: (kv[1]["path"], kv[1]["line"])):
        if k not in before:
            reasons["added"] += 1
            print(f"  added {f['ruleId']} {f['level']} {f['path']}:{f['line']} {f['function']} "
                  f"{f['properties'].get('kconfig')}")
    changed = [k for k in after if k in before and after[k]["level"] != before[k]["level"]]
    print(f"summary: {dict(reasons)}; level changed: {len(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
