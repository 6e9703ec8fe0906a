"""Strict triage protocol: a seeded random sample of whole-tree findings, as a
review sheet that puts the code of every witness step in front of the reviewer.

    usage: python benchmarks/triage_sample.py SCAN.json TREE [-n 30] [--seed 1]
               [--rule AS002] [-o sheet.md] [--exclude SEEN.json|LIST.txt]

For each rule, N findings are drawn with `random.Random(seed)` from the rule's
findings sorted by fingerprint (so the draw does not depend on the order of the
JSON). For each drawn finding the sheet holds:

- the finding as reported (level, location, message, gfp, atomic context);
- the whole witness, one line per step (kind, function, callee, context);
- for every step, the source around it, and for every step that sits in a
  function, the conditions that decide whether control reaches that line: the
  enclosing `if`/`else`/`switch case`/loop/`?:` and each earlier
  `if (...) return/goto/break/continue` of the enclosing blocks;
- a verdict block the reviewer fills in.

The protocol (what "true" means) is written at the top of the sheet: every step
checked in the code, not the tool's word for it. `--exclude` leaves out findings
already read (a JSON of findings, or a text file of fingerprints), so that a
second sample does not re-read the first.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

PROTOCOL = """\
# Triage sheet

Protocol (strict, as a maintainer receiving the patch would read it). A finding is
TRUE only if every step below is verified in the code:

1. Origin: the lock is really held at the call (taken on every path to it, not
   released before, not a different lock object), or the entry point is really run
   in that context *and armed with this function* (the timer/tasklet/work/irq_work
   armed by add_timer/mod_timer/hrtimer_start/tasklet_schedule/irq_work_queue with
   this function bound at that moment; request_irq/NAPI/RCU: registered).
2. Every call step: the caller really calls that callee there (not a different
   definition under another config/arch, not a function pointer to something else).
3. Every branch on the path (listed under each step): possible in that context,
   given the caller's arguments, NULL checks, fields the caller set, constants.
4. The allocation: really reached on that path, and really blocking (the gfp that
   arrives there may sleep; an always-sleeping allocator).

FALSE if any step fails; write which step and why. UNSURE only when the code does
not decide it (config-dependent, hardware state): say what it depends on.
"""

CONTEXT_LINES = 3
BRANCH_TYPES = ("if_statement", "switch_statement", "case_statement", "while_statement", "for_statement",
                "do_statement", "conditional_expression")
LEAVING = ("return_statement", "goto_statement", "break_statement", "continue_statement")


def load_findings(path: Path) -> list[dict]:
    """A scan's JSON report, or a bare JSON list of its findings (a sample kept apart)."""
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else data["findings"]


def excluded(spec: str | None) -> set[str]:
    if not spec:
        return set()
    p = Path(spec)
    if p.suffix == ".json":
        return {f["fingerprint"] for f in load_findings(p)}
    return {line.strip() for line in p.read_text().split("\n") if line.strip()}


def draw(findings: list[dict], rule: str, n: int, seed: int, skip: set[str]) -> list[dict]:
    pool = sorted((f for f in findings if f["ruleId"] == rule and f["fingerprint"] not in skip),
                  key=lambda f: (f["fingerprint"], f["path"], f["line"]))
    rng = random.Random(f"{seed}:{rule}")
    return rng.sample(pool, min(n, len(pool)))


class Sources:
    """Source text and parse trees of the tree's files, read once each."""

    def __init__(self, root: Path):
        self.root = root
        self._text: dict[str, list[str] | None] = {}
        self._tree: dict[str, object] = {}

    def lines(self, rel: str) -> list[str] | None:
        if rel not in self._text:
            try:
                self._text[rel] = (self.root / rel).read_text(errors="replace").split("\n")
            except OSError:
                self._text[rel] = None
        return self._text[rel]

    def tree(self, rel: str):
        if rel not in self._tree:
            from allocscan.extract.treesitter import parser

            data = (self.root / rel).read_bytes()
            self._tree[rel] = (parser().parse(data), data)
        return self._tree[rel]


def excerpt(src: Sources, rel: str, line: int, before: int = CONTEXT_LINES, after: int = CONTEXT_LINES) -> list[str]:
    lines = src.lines(rel)
    if lines is None:
        return [f"    (cannot read {rel})"]
    lo, hi = max(1, line - before), min(len(lines), line + after)
    return [f"    {'>' if n == line else ' '}{n:6d}  {lines[n - 1]}" for n in range(lo, hi + 1)]


def _node_at(root, data: bytes, line: int, col: int):
    row, column = line - 1, max(col - 1, 0)
    lines = data.split(b"\n")
    if row < len(lines):
        # tree-sitter points are in bytes; the finding's column counts characters
        prefix = lines[row].decode("utf-8", "replace")[:column].encode()
        column = len(prefix)
    return root.named_descendant_for_point_range((row, column), (row, column))


def _text(node, data: bytes, limit: int = 160) -> str:
    text = " ".join(data[node.start_byte:node.end_byte].decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _leaves(stmt) -> bool:
    if stmt is None:
        return False
    if stmt.type in LEAVING:
        return True
    if stmt.type == "compound_statement":
        inner = [c for c in stmt.named_children if c.type != "comment"]
        return bool(inner) and inner[-1].type in LEAVING
    return False


def branches_to(src: Sources, rel: str, line: int, col: int) -> list[str]:
    """The conditions deciding whether control reaches (line, col) in its function,
    outermost first: enclosing branches and earlier early exits."""
    if not rel.endswith((".c", ".h")):
        return []
    try:
        tree, data = src.tree(rel)
    except OSError:
        return []
    node = _node_at(tree.root_node, data, line, col)
    levels: list[list[str]] = []  # innermost first; each in source order
    child = node
    parent = node.parent if node is not None else None
    while parent is not None and parent.type != "function_definition":
        level: list[str] = []
        if parent.type == "if_statement":
            cond = parent.child_by_field_name("condition")
            alt = parent.child_by_field_name("alternative")
            inside_else = alt is not None and alt.start_byte <= child.start_byte < alt.end_byte
            if cond is not None and not (cond.start_byte <= child.start_byte < cond.end_byte):
                arm = "else of" if inside_else else "then of"
                level.append(f"line {parent.start_point[0] + 1}: {arm} if {_text(cond, data)}")
        elif parent.type == "case_statement":
            value = parent.child_by_field_name("value")
            level.append(f"line {parent.start_point[0] + 1}: "
                         f"{'case ' + _text(value, data) if value is not None else 'default'}")
        elif parent.type == "switch_statement":
            cond = parent.child_by_field_name("condition")
            level.append(f"line {parent.start_point[0] + 1}: switch {_text(cond, data) if cond else ''}")
        elif parent.type in ("while_statement", "for_statement", "do_statement"):
            level.append(f"line {parent.start_point[0] + 1}: inside {parent.type.split('_')[0]} loop")
        elif parent.type == "conditional_expression":
            cond = parent.child_by_field_name("condition")
            if cond is not None and not (cond.start_byte <= child.start_byte < cond.end_byte):
                level.append(f"line {parent.start_point[0] + 1}: arm of ?: on {_text(cond, data)}")
        if parent.type in ("compound_statement", "case_statement"):
            for sib in parent.named_children:
                if sib.start_byte >= child.start_byte:
                    break
                if sib.type == "if_statement" and _leaves(sib.child_by_field_name("consequence")) and \
                        sib.child_by_field_name("alternative") is None:
                    cond = sib.child_by_field_name("condition")
                    level.append(f"line {sib.start_point[0] + 1}: not taken: early exit if {_text(cond, data)}")
        levels.append(level)
        child, parent = parent, parent.parent
    return [c for level in reversed(levels) for c in level]


def sheet(findings: list[dict], root: Path, rule: str, seed: int, total: int) -> list[str]:
    src = Sources(root)
    out = [f"## {rule}: {len(findings)} of {total} findings (seed {seed})", ""]
    for i, f in enumerate(findings, 1):
        props = f.get("properties", {})
        out.append(f"### {rule}-{i}: {f['path']}:{f['line']} ({f['level']}) in {f['function']}()")
        out.append("")
        out.append(f"- message: {f['message']}")
        out.append(f"- gfp: {props.get('gfp')}; atomic context: {props.get('atomicContext')}")
        out.append(f"- fingerprint: {f['fingerprint']}")
        related = f.get("related") or []
        for r in related:
            out.append(f"- related: {r.get('path')}:{r.get('line')}: {r.get('text')}")
        out.append("")
        out.append("Witness:")
        steps = f.get("witness") or []
        for n, s in enumerate(steps, 1):
            extra = ", ".join(f"{k}={s[k]}" for k in ("function", "callee", "context", "effects") if s.get(k))
            out.append(f"{n}. [{s.get('kind', '?')}] {s['path']}:{s['line']}: {s['text']}" + (f" ({extra})" if extra else ""))
        out.append("")
        for n, s in enumerate(steps, 1):
            out.append(f"Step {n} ({s.get('kind', '?')}) {s['path']}:{s['line']}:")
            out.append("```")
            out.extend(excerpt(src, s["path"], s["line"]))
            out.append("```")
            conds = branches_to(src, s["path"], s["line"], s.get("column", 1))
            if conds:
                out.append("Conditions on the way to this line:")
                out.extend(f"  - {c}" for c in conds)
            out.append("")
        if f.get("valueFlow"):
            out.append("Value flow:")
            out.extend(f"  - {s['path']}:{s['line']}: {s['text']}" for s in f["valueFlow"])
            out.append("")
        out.append("Verdict: TRUE / FALSE / UNSURE — step that fails and why:")
        out.append("")
        out.append("---")
        out.append("")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scan", type=Path, help="whole-tree JSON (allocscan scan --format json)")
    ap.add_argument("tree", type=Path, help="the kernel tree that was scanned")
    ap.add_argument("-n", type=int, default=30, help="findings per rule (default 30)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rule", action="append", help="rule id(s) to sample (default: every rule in the scan)")
    ap.add_argument("--exclude", help="findings already read: a scan JSON or a file of fingerprints")
    ap.add_argument("-o", "--output", type=Path, help="the sheet (markdown); default stdout")
    args = ap.parse_args(argv)
    try:
        findings = load_findings(args.scan)
    except (OSError, ValueError, KeyError) as err:
        print(f"triage_sample: {args.scan}: cannot read findings ({err})", file=sys.stderr)
        return 2
    if not args.tree.is_dir():
        print(f"triage_sample: {args.tree}: not a directory", file=sys.stderr)
        return 2
    skip = excluded(args.exclude)
    rules = args.rule or sorted({f["ruleId"] for f in findings})
    out = [PROTOCOL]
    for rule in rules:
        total = sum(1 for f in findings if f["ruleId"] == rule)
        out.extend(sheet(draw(findings, rule, args.n, args.seed, skip), args.tree, rule, args.seed, total))
    text = "\n".join(out) + "\n"
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
