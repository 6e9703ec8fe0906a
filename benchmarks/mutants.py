#!/usr/bin/env python3
"""Mutation check: break the code on purpose, one way at a time, and see a test fail.

A habit before committing (README, "Before you commit"): every mutant below must be
killed, i.e. the named tests must fail with it applied. A test suite that stays green
with signatures emptied or with --ignore disabled tests nothing there.

Each mutant is applied to a throw-away copy of the checkout (src/, tests/, corpora/,
queries/, benchmarks/ for the signature oracle's modules), never to the working tree. A mutant whose text no longer appears in its
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
           "        f.signature = _with_notes(variants)",
           "        f.signature = []", ("tests/test_signatures.py",)),
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
    Mutant("spin_lock_bh counts SOFTIRQ_DISABLE_OFFSET alone", "src/allocscan/data/signatures.toml",
           "bh = 0x200", "bh = 0x1ff", ("tests/test_oracle.py",)),
    Mutant("a softirq never interrupts the idle task", "src/allocscan/data/signatures.toml",
           '  { base = 1, marker = "<IRQ>", when = "it runs on interrupt exit',
           '  { base = 0, marker = "<IRQ>", when = "it runs on interrupt exit', ("tests/test_oracle.py",)),
    Mutant("kmalloc sizes never constant", "src/allocscan/analyze/__init__.py",
           "    return value.known and value.lo == value.hi", "    return False", ("tests/test_oracle.py",)),
    Mutant("PREEMPT_RCU variants ignored", "src/allocscan/report/signature.py",
           '            if config.preempt_rcu:\n                lines.append(f"RCU nest depth',
           '            if False:\n                lines.append(f"RCU nest depth', ("tests/test_oracle.py",)),
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
    Mutant("SARIF rank flat", "src/allocscan/rules/base.py",
           'SARIF_RANK = {"error": 90.0,', 'SARIF_RANK = {"error": 60.0,', ("tests/test_sarif.py",)),
    Mutant("--kconfig blanks nothing", "src/allocscan/extract/file.py",
           "        text = configured.text", "        pass", ("tests/test_kconfig.py",)),
    Mutant("cache key blind to the kernel config", "src/allocscan/cache.py",
           'text = f"{sha}\\0{rel}" if self.config is None else', 'text = f"{sha}\\0{rel}" if True else',
           ("tests/test_kconfig.py",)),
    Mutant("Kbuild composite objects ignored", "src/allocscan/kbuild.py",
           "        if parts and not (len(parts) == 1 and parts[0][0] == word):", "        if False:",
           ("tests/test_kconfig.py",)),
    Mutant("HTML filters ignored", "src/allocscan/report/templates/index.js",
           "if (want && row.dataset", "if (false && want && row.dataset", ("tests/test_html.py",)),
    Mutant("explain chart blind to migrate types", "src/allocscan/report/explain_html.py",
           'state = "usable" if usable_orders.get(order, True) else "unusable"', 'state = "usable"',
           ("tests/test_html.py",)),
    Mutant("gfp: a parameter handed on is no site", "src/allocscan/analyze/__init__.py",
           'n.startswith("GFP_") or n in variables', 'n.startswith("GFP_")', ("tests/test_gfpflow.py",)),
    Mutant("gfp: parameter memo blind to depth", "src/allocscan/analyze/gfpflow.py",
           "        key = (node, index, depth)", "        key = (node, index)", ("tests/test_gfpflow.py",)),
    Mutant("gfp: a callee dropping the lock ignored", "src/allocscan/analyze/__init__.py",
           "        if (site.locks[0] or site.locks[1]) and all(program.functions[t].fn.lock_releases for t in targets):",
           "        if False:", ("tests/test_gfpflow.py",)),
    Mutant("gfp: helper table ignored", "src/allocscan/analyze/gfpflow.py",
           '        if kind == "call" and ir[1] in gfp_tables().helpers:', '        if kind == "call" and ir[1] == "gfp_any":',
           ("tests/test_gfp_tables.py",)),
    Mutant("silence: the kernel's GFP_NOWAIT taken as the author's", "src/allocscan/rules/as001_high_order_atomic_allocation.py",
           "all(g.quiet and gfp.has(g.mask, \"__GFP_NOWARN\")", "all(gfp.has(g.mask, \"__GFP_NOWARN\")",
           ("tests/test_as001_silent.py",)),
    Mutant("silence: skb heads dropped again", "src/allocscan/rules/as001_high_order_atomic_allocation.py",
           "        always = s.order_lo is not None and s.order_lo >= options.min_order",
           "        if silent and not s.size.sources:\n            continue\n"
           "        always = s.order_lo is not None and s.order_lo >= options.min_order", ("tests/test_as001_silent.py",)),
    Mutant("extract: a broken file parsed whole only", "src/allocscan/extract/treesitter.py",
           "        if not missed:\n            return whole", "        return whole", ("tests/test_extract_recovery.py",)),
    Mutant("extract: pieces never cut again", "src/allocscan/extract/treesitter.py",
           "            if _bodies_missed(finer, mine) < missed:", "            if False:", ("tests/test_extract_recovery.py",)),
    Mutant("extract: Latin-1 offsets shifted", "src/allocscan/extract/file.py",
           "    src = masked.text.encode(decoded.encoding)", '    src = masked.text.encode("utf-8")',
           ("tests/test_extract_recovery.py",)),
    Mutant("version: a tree needs its headers", "src/allocscan/kernel/version.py",
           '    return (path / "Makefile").is_file() and read_release(path) is not None',
           '    return (path / "Makefile").is_file() and (path / "include" / "linux").is_dir() and read_release(path) is not None',
           ("tests/test_version.py",)),
    # AS001 precision (branch as001p): checks the value analysis used to miss
    Mutant("values: an && operand knows nothing of the earlier ones", "src/allocscan/extract/conditions.py",
           '    _short_circuit_operands(fn, m["guard.cond"][0])', "    pass", ("tests/test_corpora.py",)),
    Mutant("values: a module parameter threshold read at its whole range", "src/allocscan/analyze/values/narrowing.py",
           "            if threshold is not None:", "            if False:", ("tests/test_corpora.py",)),
    Mutant("values: a check in every arm of an if/else forgotten", "src/allocscan/extract/conditions.py",
           "        _guarded_in_every_arm(fx, m)", "        pass", ("tests/test_corpora.py",)),
    Mutant("values: struct_size() in a check bounds nothing", "src/allocscan/analyze/values/narrowing.py",
           "            if ir[1] in self._flexible and len(args) == 3:", "            if False:", ("tests/test_corpora.py",)),
    Mutant("values: callers' checks of a header field ignored", "src/allocscan/analyze/values/fields.py",
           "        if value.known and value.sources:", "        if False:", ("tests/test_corpora.py",)),
    Mutant("values: a factor the user may zero taken as a width", "src/allocscan/analyze/values/narrowing.py",
           "            if self._zero_factor(left, text, scope):", "            if False:", ("tests/test_corpora.py",)),
    Mutant("values: contradictory checks keep the value", "src/allocscan/analyze/values/narrowing.py",
           "            # `if (pkt_len < rx_copybreak)` would see 32764 < 1518). Nothing is proven here.\n"
           "            return unknown(WHY_GUARD)", "            return value", ("tests/test_corpora.py",)),
    Mutant("values: a false && with an unseen bound bounds nothing", "src/allocscan/analyze/values/narrowing.py",
           '            return ("hi", None if any(h is None for h in his) else max(his))',
           '            return None if any(h is None for h in his) else ("hi", max(his))', ("tests/test_corpora.py",)),
    Mutant("values: a ring's negative difference not seen", "src/allocscan/analyze/values/evaluator.py",
           "                    return self._below(other, diff, strict, order, scope)", "                    pass",
           ("tests/test_corpora.py",)),
    Mutant("values: a conditional's clamp arm unbounded", "src/allocscan/analyze/values/evaluator.py",
           "            return self._at_most(ir, order, scope)", "            return self.eval(ir, scope)",
           ("tests/test_corpora.py",)),
)


def run(mutant: Mutant) -> str:
    with tempfile.TemporaryDirectory(prefix="allocscan-mutant-") as tmp:
        copy = Path(tmp)
        for part in ("src", "tests", "corpora", "queries", "benchmarks", "pyproject.toml"):
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
