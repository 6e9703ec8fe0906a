"""tree-sitter set-up: the C language, one parser per process, compiled queries.

Queries live as `.scm` files in the top-level `queries/` directory, shipped in
the wheel as `allocscan/queries`. Each file is compiled once per process.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import tree_sitter
import tree_sitter_c

QUERY_FILES = ("functions", "calls", "assignments", "declarations", "toplevel")


@lru_cache(maxsize=1)
def language() -> tree_sitter.Language:
    return tree_sitter.Language(tree_sitter_c.language())


@lru_cache(maxsize=1)
def parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(language())


def queries_dir() -> Path:
    """Where the .scm files are: inside the installed package, else the checkout."""
    packaged = resources.files("allocscan") / "queries"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "queries"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("allocscan: the queries/ directory is missing from this installation")


def query_source(name: str) -> str:
    return (queries_dir() / f"{name}.scm").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def query(name: str) -> tree_sitter.Query:
    return tree_sitter.Query(language(), query_source(name))


@lru_cache(maxsize=1)
def combined_query() -> tree_sitter.Query:
    """All fact queries as one: a single pass of the query engine over a tree."""
    return tree_sitter.Query(language(), "\n".join(query_source(q) for q in QUERY_FILES))


# The capture that names each pattern's kind, in the order they are checked.
KIND_CAPTURES = ("function", "guard", "switch", "call", "call.indirect", "assign", "init", "bind", "update", "fieldinit",
                 "return", "loop", "decl", "struct", "union", "typedef", "define", "macro", "enum.list", "error")


def bucketed_matches(node) -> dict[str, list[dict[str, list]]]:
    """Run the combined query once and group its matches by kind."""
    buckets: dict[str, list[dict[str, list]]] = {k: [] for k in KIND_CAPTURES}
    for _, caps in tree_sitter.QueryCursor(combined_query()).matches(node):
        for kind in KIND_CAPTURES:
            if kind in caps:
                buckets[kind].append(caps)
                break
    return buckets


def captures(name: str, node) -> dict[str, list]:
    """Run a named query over a node and return its captures by name."""
    return tree_sitter.QueryCursor(query(name)).captures(node)


def matches(name: str, node) -> list[tuple[int, dict[str, list]]]:
    return tree_sitter.QueryCursor(query(name)).matches(node)
