"""AS002 recall on real code: plant sleeping allocations where the code is atomic.

    usage: python benchmarks/mutation_recall.py TREE WORKDIR [--seed 1] [-n 40]
               [--cache-dir DIR] [--sites-only]

1. Candidates, found without allocscan's analysis: allocation calls written with
   GFP_ATOMIC that sit (a) between a `spin_lock*(x)`/`spin_lock_irqsave(x, f)`/
   `spin_lock_bh(x)` and the first unlock of the same lock later in the same
   function, with no unlock of it in between, or (b) in a function the same file
   passes to `request_irq()`/`devm_request_irq()` as its handler.
2. A seeded random draw of N of them (sorted first, so the draw does not depend on
   the walk order); the list is written to WORKDIR/sites.txt for a reviewer to
   check that each is really atomic (`--sites-only` stops here).
3. A copy of the tree made of hard links (`cp -al`), in which each drawn file is
   replaced by a real copy and GFP_ATOMIC becomes GFP_KERNEL at each drawn call.
4. A whole-tree scan of the copy (with `--cache-dir`, only the edited files are
   parsed again), then: a drawn site is reported when an AS002 finding's witness
   ends at it (the finding may sit at a caller's call: the allocation is then its
   related location).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

ALLOC_RE = re.compile(r"\b(k[mz]alloc|kcalloc|kmalloc_array|kmemdup|kstrdup|alloc_skb|__netdev_alloc_skb|"
                      r"netdev_alloc_skb|dev_alloc_skb|kmem_cache_alloc|kmem_cache_zalloc|__get_free_pages?|"
                      r"alloc_pages|dma_alloc_coherent|krealloc|kzalloc_node|kmalloc_node)\s*\(")
LOCK_RE = re.compile(r"\b(spin_lock|spin_lock_irqsave|spin_lock_bh|spin_lock_irq|raw_spin_lock|"
                     r"raw_spin_lock_irqsave|write_lock_bh|write_lock_irqsave)\s*\(\s*([^,;)]+)")
UNLOCK_RE = re.compile(r"\b(spin_unlock|spin_unlock_irqrestore|spin_unlock_bh|spin_unlock_irq|raw_spin_unlock|"
                       r"raw_spin_unlock_irqrestore|write_unlock_bh|write_unlock_irqrestore)\s*\(\s*([^,;)]+)")
IRQ_REG_RE = re.compile(r"\b(?:devm_)?request_irq\s*\(([^;]*)\)\s*;", re.S)
FUNC_RE = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(([^;{}]*)\)\s*\n?\{", re.M)
SKIP_DIRS = ("tools/", "scripts/", "Documentation/", "usr/", "samples/")


def functions(text: str):
    """(name, body start, body end) of the top-level functions of a C file (brace matching)."""
    for m in FUNC_RE.finditer(text):
        start = m.end() - 1
        depth = 0
        for i in range(start, min(len(text), start + 200000)):
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    yield m.group(1), start, i
                    break


def _norm(lock: str) -> str:
    return "".join(lock.split()).lstrip("&")


def candidates(tree: Path) -> list[tuple[str, int, str]]:
    """(relative path, line, why) of GFP_ATOMIC allocation calls under a lock or in an irq handler."""
    out = []
    for path in sorted(tree.rglob("*.c")):
        rel = path.relative_to(tree).as_posix()
        if rel.startswith(SKIP_DIRS):
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if "GFP_ATOMIC" not in text:
            continue
        handlers = set()
        for m in IRQ_REG_RE.finditer(text):
            args = [a.strip() for a in m.group(1).split(",")]
            index = 2 if m.group(0).lstrip().startswith("devm_") else 1
            if len(args) > index:
                handlers.add(args[index].lstrip("&"))
        for name, start, end in functions(text):
            body = text[start:end]
            if "GFP_ATOMIC" not in body:
                continue
            for am in ALLOC_RE.finditer(body):
                close = body.find(";", am.end())
                if close < 0 or "GFP_ATOMIC" not in body[am.end():close]:
                    continue
                line = text.count("\n", 0, start + am.start()) + 1
                if name in handlers:
                    out.append((rel, line, f"in irq handler {name}()"))
                    continue
                before = body[:am.start()]
                held = {}
                for lm in sorted(list(LOCK_RE.finditer(before)) + list(UNLOCK_RE.finditer(before)),
                                 key=lambda m: m.start()):
                    lock = _norm(lm.group(2))
                    if "unlock" in lm.group(1):
                        held.pop(lock, None)
                    else:
                        held[lock] = lm.group(1)
                if held:
                    lock, fn = next(iter(held.items()))
                    out.append((rel, line, f"{fn}({lock}) held in {name}()"))
    return out


def mutate(tree: Path, work: Path, sites: list[tuple[str, int, str]]) -> Path:
    copy = work / "tree"
    if copy.exists():
        shutil.rmtree(copy)
    subprocess.run(["cp", "-al", str(tree), str(copy)], check=True)
    by_file: dict[str, list[int]] = {}
    for rel, line, _ in sites:
        by_file.setdefault(rel, []).append(line)
    for rel, lines in by_file.items():
        target = copy / rel
        text = target.read_text(errors="surrogateescape").split("\n")
        for line in lines:
            # the call may span lines: flip the first GFP_ATOMIC from its line on
            for k in range(line - 1, min(line + 5, len(text))):
                if "GFP_ATOMIC" in text[k]:
                    text[k] = text[k].replace("GFP_ATOMIC", "GFP_KERNEL", 1)
                    break
        os.unlink(target)  # a real copy: never write through the hard link into the tree
        target.write_text("\n".join(text), errors="surrogateescape")
    return copy


def reported(scan: Path, sites: list[tuple[str, int, str]]) -> dict[tuple[str, int], dict]:
    findings = [f for f in json.loads(scan.read_text())["findings"] if f["ruleId"] == "AS002"]
    hits = {}
    for f in findings:
        steps = f.get("witness") or []
        last = steps[-1] if steps else {"path": f["path"], "line": f["line"]}
        for rel, line, _ in sites:
            if last["path"] == rel and line <= last["line"] <= line + 5:
                hits[(rel, line)] = f
    return hits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--cache-dir", type=Path)
    ap.add_argument("--sites-only", action="store_true")
    ap.add_argument("--allocscan", default=str(Path(__file__).resolve().parents[1] / ".venv/bin/allocscan"))
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    pool = candidates(args.tree)
    rng = random.Random(args.seed)
    drawn = sorted(rng.sample(pool, min(args.n, len(pool))))
    (args.work / "sites.txt").write_text("".join(f"{r}:{ln}: {why}\n" for r, ln, why in drawn))
    print(f"{len(pool)} candidates, {len(drawn)} drawn (seed {args.seed}) -> {args.work / 'sites.txt'}")
    if args.sites_only:
        return 0
    copy = mutate(args.tree, args.work, drawn)
    out = args.work / "scan.json"
    cmd = [args.allocscan, "scan", str(copy), "--format", "json", "-o", str(out), "--fail-on", "none", "--select", "AS002"]
    if args.cache_dir:
        cmd += ["--cache-dir", str(args.cache_dir)]
    subprocess.run(cmd, check=False)
    hits = reported(out, drawn)
    for rel, line, why in drawn:
        f = hits.get((rel, line))
        mark = f"{f['level']} at {f['path']}:{f['line']}" if f else "MISSED"
        print(f"{rel}:{line}: {why}: {mark}")
    print(f"recall: {len(hits)}/{len(drawn)} = {len(hits) / max(len(drawn), 1):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
