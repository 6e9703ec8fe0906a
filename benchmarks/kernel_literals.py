#!/usr/bin/env python3
"""Count the kernel identifiers written as string literals in the package's Python code.

Kernel knowledge belongs in `src/allocscan/data/*.toml`. This script lists the
string constants of `src/allocscan/**/*.py` that are C identifiers used in a
kernel tree and shaped like one: an underscore, a capital or a digit in them
(`GFP_KERNEL`, `spin_lock_bh`, `wMaxPacketSize`, `__init`; plain words such as
`size` or `order` do not count, nor, by the same rule, `kmalloc`), split into
those inside function bodies and those in module-level tables.

    python benchmarks/kernel_literals.py TREE [SRC]   # SRC defaults to this checkout's src/allocscan
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WORDS_IN_TREE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# Identifiers too generic to count as kernel knowledge (they also name Python things)
GENERIC = {"id", "num", "bin", "un", "cast", "call", "field", "cond", "str", "idx", "addr", "deref", "unk",
           "local", "global", "entry", "acquire", "allocation", "source", "flow", "must", "may", "error",
           "warning", "note", "text", "json", "sarif", "github", "none", "name", "path", "line", "kind",
           "function", "true", "false", "self", "main", "flex", "hi", "lo"}


def literals(src: Path) -> dict[str, set[str]]:
    """identifier literal -> {"inline", "table"} by where it appears."""
    found: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        inside = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    inside.add(id(sub))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and IDENT.fullmatch(node.value):
                if node.value in GENERIC or len(node.value) < 3 or node.value.isalpha() and node.value.islower():
                    continue
                if isinstance(getattr(node, "parent", None), ast.Expr):
                    continue
                found.setdefault(node.value, set()).add("inline" if id(node) in inside else "table")
    return found


def kernel_words(tree: Path, wanted: set[str]) -> set[str]:
    """The wanted identifiers that occur in the tree's C sources and headers."""
    wanted_b = {w.encode() for w in wanted}
    seen: set[bytes] = set()
    for dirpath, _, files in os.walk(tree):
        for name in files:
            if name.endswith((".c", ".h")):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    seen.update(wanted_b.intersection(WORDS_IN_TREE.findall(fh.read())))
        if len(seen) == len(wanted_b):
            break
    return {w.decode() for w in seen}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    tree = Path(argv[0])
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "src" / "allocscan"
    found = literals(src)
    kernel = kernel_words(tree, set(found))
    inline = sorted(w for w in kernel if "inline" in found[w])
    table = sorted(w for w in kernel if "inline" not in found[w])
    print(f"{src}: {len(kernel)} distinct kernel identifiers as string literals "
          f"({len(inline)} inside function bodies, {len(table)} only in module-level tables)")
    print("inline:", " ".join(inline))
    print("tables:", " ".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
