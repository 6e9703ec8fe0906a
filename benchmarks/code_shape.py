#!/usr/bin/env python3
"""The ten longest functions and classes of the package, in lines (a readability check).

    python benchmarks/code_shape.py [SRC]   # SRC defaults to this checkout's src/allocscan
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def longest(src: Path, kind, n: int = 10) -> list[tuple[int, str]]:
    out = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, kind):
                out.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(src)}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)[:n]


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "src" / "allocscan"
    for title, kind in (("functions", (ast.FunctionDef, ast.AsyncFunctionDef)), ("classes", ast.ClassDef)):
        print(f"longest {title}:")
        for lines, where in longest(src, kind):
            print(f"  {lines:5d}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
