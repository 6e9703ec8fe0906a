"""HTML report (`--format html -o DIR`): an index and one page per finding.

The report is self-contained: every page carries its own CSS and script, and a
Content-Security-Policy that forbids loading anything, so it opens from a CI
artifact or a mail attachment with no network. Pages are Jinja2 templates
(autoescaped: the source and messages are the scanned tree's text);
source is highlighted with Pygments, a line at a time so that each witness
step can be marked and numbered on its own line. Charts are inline SVG
written here: a bar chart per rule and per level needs a dozen elements,
less than any chart library's loader.

- `index.html`: counts, the charts, and the findings table, sortable and
  filterable by rule, level, directory and context kind (the charts follow the
  filter; a click on a bar filters by it).
- `findings/N.html`: the finding's facts (allocator, gfp, size range, order,
  context, kconfig), its steps numbered (entry point or lock, each call, the
  source and stores of the size, the allocation), the predicted dmesg lines,
  and the source of every file on its path with the steps highlighted in place.
"""

from __future__ import annotations

import html
import os
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .. import __version__
from ..analyze.witness import ACQUIRE, ALLOCATION, CALL, ENTRY, FLOW, SOURCE
from ..rules import RULES
from ..rules.base import LEVEL_RANK, Finding, human_bytes

LEVELS = ("error", "warning", "note")
LEVEL_COLOURS = {"error": "#c62828", "warning": "#e08a00", "note": "#1e6fb8"}
RULE_COLOUR = "#37617f"
STEP_LABELS = {ENTRY: "entry point", ACQUIRE: "lock", CALL: "call", ALLOCATION: "allocation", SOURCE: "size source",
               FLOW: "store / pass"}
CONTEXT_LINES = 10  # lines of source shown around each step


class HtmlReportError(Exception):
    """The output directory cannot be written."""


@dataclass
class ReportInfo:
    title: str
    subtitle: str
    kernel: str
    summary: list[tuple[str, object]] = field(default_factory=list)  # (label, value) shown at the top


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=PackageLoader("allocscan.report", "templates"), autoescape=select_autoescape(["j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def _asset(name: str) -> str:
    return (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")


# --- what a finding is, for the index --------------------------------------------

def context_kind(f: Finding) -> str:
    """Where the allocation runs, from the witness's origin: the kernel context of an
    entry point (hardirq, softirq, ...), a lock with what it disables, or process."""
    for step in f.witness:
        if step.kind == ENTRY:
            return step.context_class or "atomic entry"
        if step.kind == ACQUIRE:
            effects = [e for e in step.effects if e != "preempt"]
            return "lock (" + "+".join(effects) + ")" if effects else "lock"
    return "process"


def directory_of(path: str, depth: int = 2) -> str:
    parts = path.split("/")[:-1]
    return "/".join(parts[:depth]) if parts else "."


def _size_text(props: dict) -> tuple[str, float]:
    size = props.get("sizeRange")
    if not size:
        return "", -1
    hi = size[1]
    return human_bytes(hi), float(hi) if hi is not None else float("inf")


# --- charts ------------------------------------------------------------------------

def bar_chart(key: str, counts: list[tuple[str, int]], colours: dict[str, str] | None = None,
              labels: dict[str, str] | None = None) -> Markup:
    """A horizontal bar chart as inline SVG; each bar knows its filter key and value."""
    bar_h, gap, label_w, width = 20, 6, 300, 240
    most = max((n for _, n in counts), default=0) or 1
    height = len(counts) * (bar_h + gap) + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 70}" height="{height}" '
           f'role="img" aria-label="findings per {html.escape(key)}">']
    for i, (value, n) in enumerate(counts):
        y = gap + i * (bar_h + gap)
        w = width * n / most
        colour = (colours or {}).get(value, RULE_COLOUR)
        label = (labels or {}).get(value, value)
        out.append(
            f'<g class="bar" data-key="{html.escape(key)}" data-value="{html.escape(value)}" data-total="{n}" '
            f'data-width="{w:.1f}"><title>{html.escape(label)}: {n}</title>'
            f'<rect x="0" y="{y}" width="{label_w + width + 70}" height="{bar_h}" fill="transparent"/>'
            f'<text x="0" y="{y + 14}">{html.escape(label[:44])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{width}" height="{bar_h}" fill="#e6ebef"/>'
            f'<rect class="fill" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text class="count" x="{label_w + width + 6}" y="{y + 14}">{n}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


# --- source, highlighted a line at a time --------------------------------------------

class SourceCache:
    """Highlighted lines of the files on the findings' paths (a few dozen kept: the
    findings come sorted by path, and most pages show the files of the one before)."""

    def __init__(self, read: Callable[[str], str | None], size: int = 64):
        self.read = read
        self.size = size
        self.lines: OrderedDict[str, list[Markup] | None] = OrderedDict()

    def get(self, path: str) -> list[Markup] | None:
        if path in self.lines:
            self.lines.move_to_end(path)
            return self.lines[path]
        text = self.read(path)
        lines = highlight_lines(text) if text is not None else None
        self.lines[path] = lines
        if len(self.lines) > self.size:
            self.lines.popitem(last=False)
        return lines


def highlight_lines(text: str) -> list[Markup]:
    """One HTML fragment per source line (tokens that span lines, such as block
    comments, are closed and reopened at each newline)."""
    from pygments import lex
    from pygments.lexers.c_cpp import CLexer

    lines: list[list[str]] = [[]]
    for ttype, value in lex(text, CLexer(stripnl=False, ensurenl=False)):
        css = _css_class(ttype)
        pieces = value.split("\n")
        for i, piece in enumerate(pieces):
            if i:
                lines.append([])
            if piece:
                escaped = html.escape(piece, quote=False)
                lines[-1].append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    return [Markup("".join(parts)) for parts in lines]


def _css_class(ttype) -> str:
    from pygments.token import STANDARD_TYPES

    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


@lru_cache(maxsize=1)
def pygments_css() -> Markup:
    from pygments.formatters import HtmlFormatter

    return Markup(HtmlFormatter(style="default").get_style_defs("table.code td.src"))


# --- pages ---------------------------------------------------------------------------

@dataclass
class _StepView:
    number: int
    kind: str
    label: str
    text: str
    path: str
    line: int
    anchor: str


def _step_views(f: Finding) -> tuple[list[tuple[str, list[_StepView]]], list[_StepView]]:
    """The finding's steps numbered in reading order: the size's flow first (where
    it comes from), then the atomic path to the allocation; one list for the page's
    source, the steps at the same place merged."""
    groups: list[tuple[str, list[_StepView]]] = []
    number = 0
    every: list[_StepView] = []
    files: list[str] = []
    for title, steps in (("How the size gets there", f.value_flow), ("Why the context is atomic", f.witness)):
        if title.startswith("Why") and len(steps) <= 1 and f.value_flow:
            continue  # only the allocation, already the flow's last step
        views = []
        for st in steps:
            number += 1
            if st.path not in files:
                files.append(st.path)
            anchor = f"f{files.index(st.path)}-L{st.line}"
            views.append(_StepView(number, st.kind, STEP_LABELS.get(st.kind, st.kind), st.text, st.path, st.line,
                                   anchor))
        if views:
            groups.append((title, views))
            every.extend(views)
    if not every:  # a finding with no recorded path: its own line is the one step
        every = [_StepView(1, ALLOCATION, STEP_LABELS[ALLOCATION], f.message, f.path, f.line, f"f0-L{f.line}")]
        groups = [("Where", every)]
    return groups, every


def _file_views(f: Finding, steps: list[_StepView], sources: SourceCache) -> list[dict]:
    by_file: OrderedDict[str, list[_StepView]] = OrderedDict()
    for s in steps:
        by_file.setdefault(s.path, []).append(s)
    if f.path not in by_file:
        by_file[f.path] = []
    out = []
    for index, (path, file_steps) in enumerate(by_file.items()):
        lines = sources.get(path)
        if lines is None:
            out.append({"path": path, "missing": "The source of this file is not available here.", "rows": []})
            continue
        wanted = sorted({s.line for s in file_steps} | ({f.line} if path == f.path else set()))
        shown: set[int] = set()
        for line in wanted:
            shown.update(range(max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES) + 1))
        at_line: dict[int, list[_StepView]] = {}
        for s in file_steps:
            at_line.setdefault(s.line, []).append(s)
        rows, previous = [], 0
        for n in sorted(shown):
            if previous and n != previous + 1:
                rows.append({"gap": True})
            rows.append({"gap": False, "number": n, "html": lines[n - 1], "anchor": f"f{index}-L{n}",
                         "steps": at_line.get(n, [])})
            previous = n
        out.append({"path": path, "missing": "", "rows": rows})
    return out


def _facts(f: Finding) -> list[tuple[str, object]]:
    p = f.properties
    facts: list[tuple[str, object]] = [("allocator", p.get("allocator") or "?"),
                                       ("gfp", " | ".join(p.get("gfp") or []) or "?")]
    size = p.get("sizeRange")
    if size:
        lo, hi = size
        facts.append(("size range", f"{human_bytes(lo) if lo is not None else '?'} .. {human_bytes(hi)}"))
    else:
        facts.append(("size range", "not bounded by the analysis"))
    if p.get("maxOrder") is not None:
        facts.append(("page order up to", p["maxOrder"]))
    facts.append(("context", p.get("atomicContext") or "process context (may sleep)"))
    if p.get("userControlled"):
        facts.append(("user-controlled by", ", ".join(p["userControlled"])))
    kconfig = p.get("kconfig")
    if kconfig:
        parts = []
        if kconfig.get("conditionals"):
            parts.append("#if branches of " + ", ".join(kconfig["conditionals"]))
        if kconfig.get("builds"):
            parts.append("built with " + ", ".join(kconfig["builds"]))
        facts.append(("depends on the config", "; ".join(parts)))
    facts.append(("fingerprint", f.fingerprint))
    return facts


def _index_row(f: Finding, number: int) -> dict:
    size, size_sort = _size_text(f.properties)
    order = f.properties.get("maxOrder")
    context = context_kind(f)
    return {
        "rule": f.rule_id, "rule_name": f.rule_name, "level": f.level, "level_rank": LEVEL_RANK[f.level],
        "path": f.path, "line": f.line, "function": f.function, "context": context, "dir": directory_of(f.path),
        "order": "" if order is None else order, "order_sort": -1 if order is None else order,
        "size": size, "size_sort": size_sort if size_sort != float("inf") else 1e30,
        "message": f.message, "href": f"findings/{number}.html", "state": f.baseline_state or "",
        "search": " ".join((f.path, f.function, f.message, f.rule_id, f.rule_name)).lower(),
    }


def _counted(values) -> list[tuple[str, int]]:
    return sorted(Counter(values).items())


def write_report(out_dir: Path, findings: list[Finding], info: ReportInfo,
                 read_source: Callable[[str], str | None]) -> Path:
    """Write index.html and findings/N.html under `out_dir`; returns the index's path."""
    env = _environment()
    try:
        (out_dir / "findings").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HtmlReportError(f"{out_dir}: cannot create the report directory ({err.strerror})") from None
    rows = [_index_row(f, i) for i, f in enumerate(findings, 1)]
    rule_names = {r.ID: f"{r.ID} {r.NAME}" for r in RULES}
    rule_counts = [(r.ID, sum(1 for f in findings if f.rule_id == r.ID)) for r in RULES]
    level_counts = [(lv, sum(1 for f in findings if f.level == lv)) for lv in LEVELS]
    options = {"rule": [(k, n) for k, n in rule_counts if n], "level": [(k, n) for k, n in level_counts if n],
               "dir": _counted(r["dir"] for r in rows), "context": _counted(r["context"] for r in rows)}
    index = env.get_template("index.html.j2").render(
        title=info.title, subtitle=info.subtitle, summary=info.summary, rows=rows, options=options,
        rule_chart=bar_chart("rule", rule_counts, labels=rule_names),
        level_chart=bar_chart("level", level_counts, LEVEL_COLOURS),
        script=Markup(_asset("index.js")))
    _write(out_dir / "index.html", index)
    sources = SourceCache(read_source)
    page = env.get_template("finding.html.j2")
    for i, f in enumerate(findings, 1):
        groups, steps = _step_views(f)
        text = page.render(
            title=info.title, subtitle=info.subtitle, kernel=info.kernel, f=f, facts=_facts(f), step_lists=groups,
            files=_file_views(f, steps, sources), pygments_css=pygments_css(),
            prev_href=f"{i - 1}.html" if i > 1 else None, next_href=f"{i + 1}.html" if i < len(findings) else None)
        _write(out_dir / "findings" / f"{i}.html", text)
    return out_dir / "index.html"


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise HtmlReportError(f"{path}: cannot write ({err.strerror})") from None


def source_reader(root: Path) -> Callable[[str], str | None]:
    """Read a reported path (relative to the scan root) as text, or None."""

    def read(path: str) -> str | None:
        full = Path(path) if os.path.isabs(path) else root / path
        try:
            return full.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None

    return read


def scan_info(findings: list[Finding], root: str, kernel: str, files: int, warnings: int,
              scope_stats: dict | None = None) -> ReportInfo:
    summary = [("findings", len(findings)), ("files with findings", len({f.path for f in findings})),
               ("files scanned", files), ("warnings", warnings)]
    subtitle = f"allocscan {__version__} · {root} · kernel {kernel}"
    if scope_stats and scope_stats.get("kconfig"):
        subtitle += f" · config {scope_stats['kconfig']}"
    return ReportInfo(title="allocscan report", subtitle=subtitle, kernel=kernel, summary=summary)


def revision_reader(repo: Path, head_root: Path, head: str | None, prefix: str = "") -> Callable[[str], str | None]:
    """For a diff: the head's file from its scan root, or (when the head was a revision,
    read from git) from git; `prefix`: where the report's paths start in the revision."""
    import subprocess

    on_disk = source_reader(head_root)

    def read(path: str) -> str | None:
        text = on_disk(path)
        if text is not None or head is None:
            return text
        spec = f"{head}:{prefix}/{path}" if prefix else f"{head}:{path}"
        proc = subprocess.run(["git", "-C", str(repo), "show", spec], capture_output=True)
        return proc.stdout.decode("utf-8", errors="replace") if proc.returncode == 0 else None

    return read


def diff_info(result, base: str, head: str | None) -> ReportInfo:
    summary = [("new findings", len(result.new)), ("fixed", len(result.fixed)), ("unchanged", len(result.unchanged))]
    kernel = result.head.discovery.kernel.release
    subtitle = f"allocscan {__version__} · {base} .. {head or 'working tree'} · kernel {kernel}"
    return ReportInfo(title="allocscan: what the change adds", subtitle=subtitle, kernel=kernel, summary=summary)
