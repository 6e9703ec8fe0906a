"""AS002 recall on real code: plant sleeping allocations where the code is atomic.

    usage: python benchmarks/mutation_recall.py TREE WORKDIR [--seed 1] [-n 40]
               [--cache-dir DIR] [--sites-only] [--kinds lock,irq|all]

1. Candidates, found without allocscan's analysis: allocation calls written with
   GFP_ATOMIC that sit (a) between a `spin_lock*(x)`/`spin_lock_irqsave(x, f)`/
   `spin_lock_bh(x)` and the first unlock of the same lock later in the same
   function, with no unlock of it in between, or (b) in a function the same file
   passes to `request_irq()`/`devm_request_irq()` as its handler. Those are the
   kinds `lock` and `irq`, the default. `--kinds` adds a region with no lock object
   (`region`: rcu_read_lock(), local_bh_disable(), preempt_disable(),
   local_irq_save()/local_irq_disable() up to the matching end), and kinds where the
   context is not in the allocating function:
   - `callee`: in a function with no gfp_t parameter that another function of the
     same file calls inside such a lock or region (the lock is the caller's);
   - `timer`: in a function the file binds with timer_setup()/setup_timer() and arms
     (mod_timer()/add_timer() appear in the file), or one it calls (two calls down,
     within the file, not taking a gfp_t: the same for the kinds below and irq);
   - `tasklet`: bound with tasklet_setup()/tasklet_init() and scheduled
     (tasklet_schedule()/tasklet_hi_schedule() appear in the file);
   - `napi`: passed to netif_napi_add*() as the poll function;
   - `xmit`: bound as `.ndo_start_xmit`.
   Recall is printed per kind.
2. A seeded random draw of N of each kind (sorted first, so the draw does not depend on
   the walk order); the list is written to WORKDIR/sites.txt for a reviewer to
   check that each is really atomic (`--sites-only` stops here).
3. A copy of the tree made of hard links (`cp -al`), in which each drawn file is
   replaced by a real copy and GFP_ATOMIC becomes GFP_KERNEL at each drawn call.
4. A whole-tree scan of the copy (with `--cache-dir`, only the edited files are
   parsed again), then: a drawn site is reported when an AS002 finding's witness
   ends at it or the finding names it among the other allocations its call reaches
   (`alsoReaches`; the finding may sit at a caller's call: the allocation is then
   its related location).
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
# Regions with no lock object: what opens one -> what closes it
REGIONS = {"rcu_read_lock": "rcu_read_unlock", "rcu_read_lock_bh": "rcu_read_unlock_bh",
           "local_bh_disable": "local_bh_enable", "preempt_disable": "preempt_enable",
           "local_irq_disable": "local_irq_enable", "local_irq_save": "local_irq_restore"}
REGION_RE = re.compile(r"\b(" + "|".join(sorted(set(REGIONS) | set(REGIONS.values()), key=len, reverse=True))
                       + r")\s*\(")
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


COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def _blank_comments(text: str) -> str:
    """`text` with its comments turned to spaces, lines and offsets kept."""
    return COMMENT_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _norm(lock: str) -> str:
    return "".join(lock.split()).lstrip("&")


KINDS = ("lock", "irq", "region", "callee", "timer", "tasklet", "napi", "xmit")
GFP_PARAM_RE = re.compile(r"\bgfp_t\b")
CALL_RE = re.compile(r"\b(\w+)\s*\(")
# (kind, what binds a function, which argument is the function, what must also appear: the arming)
BINDERS = (
    ("timer", re.compile(r"\b(?:timer_setup|setup_timer)\s*\(([^;]*)\)\s*;", re.S), 1,
     re.compile(r"\b(?:mod_timer|add_timer)\s*\(")),
    ("tasklet", re.compile(r"\b(?:tasklet_setup|tasklet_init)\s*\(([^;]*)\)\s*;", re.S), 1,
     re.compile(r"\btasklet_(?:hi_)?schedule\s*\(")),
    ("napi", re.compile(r"\bnetif_napi_add\w*\s*\(([^;]*)\)\s*;", re.S), 2, None),
    ("xmit", re.compile(r"\.ndo_start_xmit\s*=\s*(\w+)"), 0, None),
)


def _bound(text: str) -> dict[str, str]:
    """function name -> the kind of context the file binds it to (timer, tasklet, ...)."""
    found = {}
    for kind, binder, index, arming in BINDERS:
        if arming is not None and not arming.search(text):
            continue  # bound but never armed: it never runs
        for m in binder.finditer(text):
            args = [a.strip() for a in m.group(1).split(",")]
            if len(args) > index:
                found.setdefault(args[index].lstrip("&").split(")")[-1].strip(), kind)
    return found


def _held(before: str) -> dict[str, str]:
    """lock -> how it was taken, for the locks taken and not released in `before` (a
    region without a lock object, rcu_read_lock() or local_bh_disable(), is its own key)."""
    held = {}
    closes = {close: open_ for open_, close in REGIONS.items()}
    found = list(LOCK_RE.finditer(before)) + list(UNLOCK_RE.finditer(before)) + list(REGION_RE.finditer(before))
    for lm in sorted(found, key=lambda m: m.start()):
        what = lm.group(1)
        if lm.re is REGION_RE:
            if what in closes:
                held.pop(closes[what], None)
            else:
                held[what] = what
            continue
        lock = _norm(lm.group(2))
        if "unlock" in what:
            held.pop(lock, None)
        else:
            held[lock] = what
    return held


def _called_under_lock(text: str, funcs: list[tuple[str, int, int]]) -> dict[str, str]:
    """function name -> where a function of the file calls it with a lock held."""
    names = {name for name, _, _ in funcs}
    found = {}
    for caller, start, end in funcs:
        body = text[start:end]
        for m in CALL_RE.finditer(body):
            callee = m.group(1)
            if callee in names and callee != caller and callee not in found:
                held = _held(body[:m.start()])
                if held:
                    lock, how = next(iter(held.items()))
                    found[callee] = (f"in {how}() region of caller {caller}()" if how in REGIONS else
                                     f"{how}({lock}) held in caller {caller}()")
    return found


def _called_from(text: str, funcs: list[tuple[str, int, int]], roots: dict[str, tuple[str, str]],
                 hops: int = 2) -> dict[str, tuple[str, str]]:
    """The roots (function name -> (kind, why)) and the functions of the file they call,
    up to `hops` calls down, with the root's kind: a timer callback's helper runs in the
    timer's softirq too. A function taking a gfp_t is left out: its caller picks the mask."""
    bodies = {name: (start, end) for name, start, end in funcs}
    found = dict(roots)
    frontier = list(roots)
    for _ in range(hops):
        following = []
        for caller in frontier:
            start, end = bodies.get(caller, (0, 0))
            for m in CALL_RE.finditer(text, start, end):
                callee = m.group(1)
                if callee in bodies and callee not in found and not GFP_PARAM_RE.search(_signature(text, *bodies[callee])):
                    kind, why = found[caller]
                    found[callee] = (kind, f"called from {caller}(), {why}")
                    following.append(callee)
        frontier = following
    return found


def _signature(text: str, start: int, end: int = 0) -> str:  # end: to take a (start, end) pair
    """The text of the declaration line(s) before a function body starting at `start`."""
    return text[text.rfind("\n", 0, text.rfind("(", 0, start)) + 1:start]


def candidates(tree: Path, kinds: tuple[str, ...] = ("lock", "irq")) -> list[tuple[str, int, str, str, str]]:
    """(relative path, line, why, kind, function) of GFP_ATOMIC allocation calls in atomic context."""
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
        text = _blank_comments(text)  # a kmalloc(GFP_ATOMIC) written in a comment is no site
        handlers = set()
        for m in IRQ_REG_RE.finditer(text):
            args = [a.strip() for a in m.group(1).split(",")]
            index = 2 if m.group(0).lstrip().startswith("devm_") else 1
            if len(args) > index:
                handlers.add(args[index].lstrip("&"))
        funcs = list(functions(text))
        roots = {name: (kind, f"bound as a {kind} callback") for name, kind in _bound(text).items()}
        roots.update((name, ("irq", "an irq handler")) for name in handlers)
        atomic = _called_from(text, funcs, roots)
        under_lock = _called_under_lock(text, funcs) if "callee" in kinds else {}
        for name, start, end in funcs:
            body = text[start:end]
            if "GFP_ATOMIC" not in body:
                continue
            signature = _signature(text, start)
            for am in ALLOC_RE.finditer(body):
                close = body.find(";", am.end())
                if close < 0 or "GFP_ATOMIC" not in body[am.end():close]:
                    continue
                line = text.count("\n", 0, start + am.start()) + 1
                held = _held(body[:am.start()])
                if name in handlers:
                    site = (f"in irq handler {name}()", "irq")
                elif held:
                    lock, fn = next(iter(held.items()))
                    site = ((f"{fn}() region in {name}()", "region") if fn in REGIONS else
                            (f"{fn}({lock}) held in {name}()", "lock"))
                elif name in atomic:
                    kind, why = atomic[name]
                    site = (f"in {name}(), {why}", kind)
                elif name in under_lock and not GFP_PARAM_RE.search(signature):
                    site = (f"in {name}(), {under_lock[name]}", "callee")
                else:
                    continue
                if site[1] in kinds:
                    out.append((rel, line) + site + (name,))
    return out


def mutate(tree: Path, work: Path, sites: list[tuple[str, int, str]]) -> Path:
    copy = work / "tree"
    if copy.exists():
        shutil.rmtree(copy)
    subprocess.run(["cp", "-al", str(tree), str(copy)], check=True)
    by_file: dict[str, list[int]] = {}
    for rel, line, *_ in sites:
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
        # the witness's allocation, and the others the finding names (alsoReaches)
        ends = [(last["path"], last["line"])]
        for where in f.get("properties", {}).get("alsoReaches", ()):
            path, _, at = where.rpartition(":")
            ends.append((path, int(at)))
        for rel, line, *_ in sites:
            if any(path == rel and line <= at <= line + 5 for path, at in ends):
                hits[(rel, line)] = f
    return hits


def _through(scan: Path, rel: str, function: str) -> dict | None:
    """An AS002 finding whose witness passes through `function` of file `rel`, or None."""
    for f in json.loads(scan.read_text())["findings"]:
        if f["ruleId"] == "AS002" and any(st.get("path") == rel and st.get("function") == function
                                          for st in f.get("witness") or ()):
            return f
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--cache-dir", type=Path)
    ap.add_argument("--sites-only", action="store_true")
    ap.add_argument("--kinds", default="lock,irq", help=f"comma-separated, of {', '.join(KINDS)} (or all)")
    ap.add_argument("--allocscan", default=str(Path(__file__).resolve().parents[1] / ".venv/bin/allocscan"))
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    kinds = KINDS if args.kinds == "all" else tuple(k.strip() for k in args.kinds.split(","))
    unknown = set(kinds) - set(KINDS)
    if unknown:
        ap.error(f"unknown kind(s): {', '.join(sorted(unknown))}")
    pool = candidates(args.tree, kinds)
    rng = random.Random(args.seed)
    drawn = []
    for kind in kinds:  # N of each kind: the common ones would crowd out the rest
        of_kind = [site for site in pool if site[3] == kind]
        drawn += rng.sample(of_kind, min(args.n, len(of_kind)))
    drawn.sort()
    (args.work / "sites.txt").write_text("".join(f"{r}:{ln}: {why}\n" for r, ln, why, *_ in drawn))
    print(f"{len(pool)} candidates, {len(drawn)} drawn (seed {args.seed}, {args.n} of each kind) -> "
          f"{args.work / 'sites.txt'}")
    if args.sites_only:
        return 0
    copy = mutate(args.tree, args.work, drawn)
    out = args.work / "scan.json"
    cmd = [args.allocscan, "scan", str(copy), "--format", "json", "-o", str(out), "--fail-on", "none", "--select", "AS002"]
    if args.cache_dir:
        cmd += ["--cache-dir", str(args.cache_dir)]
    subprocess.run(cmd, check=False)
    hits = reported(out, drawn)
    per_kind: dict[str, list[int]] = {}
    hidden = 0
    for rel, line, why, kind, function in drawn:
        f = hits.get((rel, line))
        mark = f"{f['level']} at {f['path']}:{f['line']}" if f else "MISSED"
        if f is None:
            covering = _through(out, rel, function)
            if covering is not None:
                # AS002 reports one allocation per call and allocating file: another drawn
                # site of the same function is the one this call's finding shows
                mark = f"MISSED, but its function is on the witness of {covering['path']}:{covering['line']}"
                hidden += 1
        print(f"{rel}:{line}: {why}: {mark}")
        counts = per_kind.setdefault(kind, [0, 0])
        counts[0] += f is not None
        counts[1] += 1
    for kind, (found, total) in sorted(per_kind.items()):
        print(f"recall {kind}: {found}/{total}")
    print(f"recall: {len(hits)}/{len(drawn)} = {len(hits) / max(len(drawn), 1):.0%}"
          f" ({hidden} of the missed lie in a function on a reported witness)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
