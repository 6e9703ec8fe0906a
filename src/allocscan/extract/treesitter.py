"""tree-sitter set-up: the C language, one parser per process, compiled queries.

Queries live as `.scm` files in the top-level `queries/` directory, shipped in
the wheel as `allocscan/queries`. Each file is compiled once per process.

`parse()` gives a file's syntax trees: one for the file, or one per top-level
piece when tree-sitter's error recovery gives up on the whole file (the root is
an ERROR node, not a translation unit: `#ifdef`ed rows of an initializer in
kernel/sched/core.c, statement macros without their `;` in lib/siphash.c) or
loses function bodies the pieces keep (a file-scope macro with nested macro
arguments before them, drivers/mtd/nand/spi/xtx.c). Kernel style closes every
function body and top-level initializer with a `}` in column 0; the file is
cut after each such line and each piece is parsed on its own, in place
(tree-sitter's included ranges), so one bad piece costs only itself and every
position stays the file's.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
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


@lru_cache(maxsize=1)
def _piece_parser() -> tree_sitter.Parser:
    """A parser of its own for pieces: its included ranges change per piece."""
    return tree_sitter.Parser(language())


_TOP_LEVEL_CLOSE_RE = re.compile(rb"^\}[^\n]*\n?", re.M)


def pieces(src: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the top-level pieces of a file: each ends after a line that
    starts with `}` (the end of a function body or an initializer)."""
    cuts = [0] + [m.end() for m in _TOP_LEVEL_CLOSE_RE.finditer(src)] + [len(src)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _point(src: bytes, byte: int) -> tree_sitter.Point:
    line_start = src.rfind(b"\n", 0, byte) + 1
    return tree_sitter.Point(src.count(b"\n", 0, byte), byte - line_start)


# A function body as kernel style writes it: `{` in column 0 after the `)` that
# closes the parameter list (annotations between them are masked to blanks).
BODY_OPEN_RE = re.compile(rb"\)\s*\n\{")


def _bodies_missed(parsed: list[tuple[int, tree_sitter.Tree]], openings: list[int]) -> int:
    """How many of the body openings no function definition of the trees starts its
    body at (`parsed`: each tree with the byte its piece starts at, in file order)."""
    starts = [start for start, _ in parsed]
    missed = 0
    for brace in openings:
        tree = parsed[bisect.bisect_right(starts, brace) - 1][1]
        node = tree.root_node.descendant_for_byte_range(brace, brace + 1)
        body = node.parent if node is not None else None
        if body is None or body.type != "compound_statement" or body.start_byte != brace or \
                body.parent is None or body.parent.type != "function_definition":
            missed += 1
    return missed


def _parse_range(src: bytes, start: int, end: int) -> tree_sitter.Tree:
    piece_parser = _piece_parser()
    piece_parser.included_ranges = [tree_sitter.Range(_point(src, start), _point(src, end), start, end)]
    return piece_parser.parse(src)


_BLANK_LINE_RE = re.compile(rb"\n[ \t]*\n")


def _parse_pieces(src: bytes, openings: list[int]) -> list[tuple[int, tree_sitter.Tree]]:
    """Each piece parsed on its own; a piece that still misses a body is cut again at
    its blank lines (what stands before a function, such as a file-scope macro with
    macro arguments, then costs only itself), when that keeps more bodies."""
    parsed = []
    for start, end in pieces(src):
        tree = _parse_range(src, start, end)
        mine = [b for b in openings if start <= b < end]
        missed = _bodies_missed([(start, tree)], mine) if mine else 0
        if missed:
            cuts = [start] + [m.end() for m in _BLANK_LINE_RE.finditer(src, start, end)] + [end]
            finer = [(a, _parse_range(src, a, b)) for a, b in zip(cuts, cuts[1:]) if b > a]
            if _bodies_missed(finer, mine) < missed:
                parsed.extend(finer)
                continue
        parsed.append((start, tree))
    return parsed


@dataclass(slots=True)
class Parsed:
    trees: list[tree_sitter.Tree]  # the file's, or one per piece, in file order
    matches: dict[str, list[dict[str, list]]]  # the combined query's matches by kind (bucketed_matches)
    whole: bool  # the file parsed as one translation unit


def _missed_by_matches(matches: dict, openings: list[int]) -> int:
    """How many body openings no matched function definition has its body at."""
    bodies = {m["function.body"][0].start_byte for m in matches["function"]}
    return sum(1 for b in openings if b not in bodies)


def parse(src: bytes) -> Parsed:
    """The file's syntax trees and query matches: the whole file's when it parses as a
    translation unit and holds every function body, else one tree per top-level piece,
    when they hold more bodies (see the module docstring)."""
    tree = parser().parse(src)
    openings = [m.end() - 1 for m in BODY_OPEN_RE.finditer(src)]
    whole = None
    if tree.root_node.type == "translation_unit":
        whole = Parsed([tree], bucketed_matches(tree.root_node), True)
        missed = _missed_by_matches(whole.matches, openings)
        if not missed:
            return whole
    trees = [t for _, t in _parse_pieces(src, openings)]
    in_pieces = Parsed(trees, bucketed_matches(*(t.root_node for t in trees)), False)
    if whole is None or _missed_by_matches(in_pieces.matches, openings) < missed:
        return in_pieces
    return whole


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
                 "return", "loop", "label", "decl", "struct", "union", "typedef", "define", "macro", "enum.list",
                 "error")


def bucketed_matches(*nodes) -> dict[str, list[dict[str, list]]]:
    """Run the combined query once over each root (in file order) and group its matches by kind."""
    buckets: dict[str, list[dict[str, list]]] = {k: [] for k in KIND_CAPTURES}
    for node in nodes:
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
