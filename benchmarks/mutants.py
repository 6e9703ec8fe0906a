#!/usr/bin/env python3
"""Mutation check: break the code on purpose, one way at a time, and see a test fail.

A habit before committing (README, "Before you commit"): every mutant below must be
killed, i.e. the named tests must fail with it applied. A test suite that stays green
with signatures emptied or with --ignore disabled tests nothing there.

Each mutant is applied to a throw-away copy of the checkout (src/, tests/, corpora/,
queries/), never to the working tree. A mutant whose text no longer appears in its
file is reported as stale: update it with the code it guards.

    python benchmarks/mutants.py            # all mutants
    python benchmarks/mutants.py signatures  # the ones whose name contains "signatures"
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the checkout
    old: str
    new: str
    tests: tuple[str, ...]  # pytest node ids or files that must fail


MUTANTS = (
    Mutant("signatures emptied", "src/allocscan/report/signature.py",
           "            f.signature = signature_for(f, site, kernel)",
           "            f.signature = []", ("tests/test_signatures.py",)),
    Mutant("one finding per line dropped", "src/allocscan/pipeline.py",
           "    findings = _one_per_line(findings)", "    findings = list(findings)",
           ("tests/test_rules_selection.py",)),
    Mutant("--ignore disabled", "src/allocscan/rules/__init__.py",
           "        if ignored and any(rule.ID.startswith(p) for p in ignored):", "        if False:",
           ("tests/test_rules_selection.py",)),
    Mutant("baseline never updated", "src/allocscan/report/baseline.py",
           '"unchanged" if same else "updated"', '"unchanged"', ("tests/test_diff.py",)),
    Mutant("cache key blind to tables", "src/allocscan/cache.py",
           "    for name, path in table_paths().items():", "    for name, path in ():",
           ("tests/test_cache.py",)),
    Mutant("lock state lost", "src/allocscan/extract/locks.py",
           "        site.locks = (tuple(sorted(info[t][0] for t in must)), tuple(sorted(info[t][0] for t in may - must)))",
           "        site.locks = ((), ())", ("tests/test_extract.py", "tests/test_corpora.py")),
    Mutant("AS001 ignores --min-order", "src/allocscan/rules/as001_high_order_atomic_allocation.py",
           "        if top < options.min_order:", "        if False:", ("tests/test_corpora.py",)),
    Mutant("explain: split headers not rebuilt", "src/allocscan/explain/logparse.py",
           "        reports.extend(_StreamReader(stitch_headers(stream)).read())",
           "        reports.extend(_StreamReader(stream).read())", ("tests/test_explain_shapes.py",)),
    Mutant("explain: caller ids ignored", "src/allocscan/explain/logparse.py",
           "    if not any(line.caller for line in lines):", "    if True:", ("tests/test_explain_shapes.py",)),
    Mutant("explain: fragments dropped", "src/allocscan/explain/logparse.py",
           "        fragment = _fragment(frames, marker, self.last_dump)", "        fragment = None",
           ("tests/test_explain_shapes.py",)),
    Mutant("explain: no-version logs always 6.12", "src/allocscan/explain/decode.py",
           "    if DEFAULT_SERIES in fits:", "    if True:", ("tests/test_explain_shapes.py",)),
    Mutant("explain: allocator chain ignored", "src/allocscan/explain/chooser.py",
           '    if site.allocator.family == chain["family"]:', "    if True:", ("tests/test_explain_source.py",)),
    Mutant("explain: order range ignored", "src/allocscan/explain/chooser.py",
           "    if lo <= n and (hi is None or n <= hi):", "    if True:", ("tests/test_explain_source.py",)),
    Mutant("explain: gfp bits ignored", "src/allocscan/explain/chooser.py",
           "    same = [a for a in loud if {n for n in compare if tree.has(a.mask, n)} == logged]",
           "    same = loud", ("tests/test_explain_source.py",)),
    Mutant("explain: ties not named", "src/allocscan/explain/chooser.py",
           "    for cand in tied:\n        cand.chosen = True", "    best.chosen = True",
           ("tests/test_explain_source.py",)),
    Mutant("explain: inlined helpers not weighed", "src/allocscan/explain/source.py",
           "        if not candidates or all(c.ruled_out for c in candidates):", "        if not candidates:",
           ("tests/test_explain_source.py",)),
)


def run(mutant: Mutant) -> str:
    with tempfile.TemporaryDirectory(prefix="allocscan-mutant-") as tmp:
        copy = Path(tmp)
        for part in ("src", "tests", "corpora", "queries", "pyproject.toml"):
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, copy / part)
        target = copy / mutant.path
        text = target.read_text()
        if mutant.old not in text:
            return "stale (its text is gone: update the mutant)"
        target.write_text(text.replace(mutant.old, mutant.new, 1))
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutant.tests],
                              cwd=copy, env={"PYTHONPATH": str(copy / "src"), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True)
        return "killed" if proc.returncode == 1 else f"SURVIVED (pytest exit {proc.returncode})"


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTANTS if not argv or any(a in m.name for a in argv)]
    survived = 0
    for mutant in chosen:
        verdict = run(mutant)
        survived += verdict != "killed"
        print(f"{mutant.name:40} {verdict}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
