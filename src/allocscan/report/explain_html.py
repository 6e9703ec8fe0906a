"""HTML for `allocscan explain --format html -o DIR`: each report's diagnosis, and
each zone's free blocks drawn per order and migrate type.

The chart is the report's buddy line (`Node 0, zone Normal: 4*4kB (UEC) ...
58*4096kB (C)`) as bars, one per order, as tall as the memory free in blocks
of that order. The requested order is marked; blocks smaller than the request
are grey (they cannot serve it however many there are), blocks of a size that
could serve it are green when their migrate type lets this request take them
and red-hatched when it does not (CMA pageblocks for an unmovable request), so
"58 free blocks of order 10, all CMA" is what the eye falls on. Rendering
only: the numbers and the usable-or-not of each order come from the explain
parser and diagnosis.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from .. import __version__
from ..explain.diagnose import MIGRATE_NAMES
from .html import HtmlReportError, _environment, _write

GREY, GREEN, RED = "#b0bec5", "#2e7d32", "#c62828"


@dataclass
class OrderBar:
    order: int
    count: int
    types: str
    kb: int
    state: str  # "small" | "usable" | "unusable"


def _human_kb(kb: int) -> str:
    for unit, shift in (("GiB", 20), ("MiB", 10)):
        if kb >= (1 << shift) and kb % (1 << shift) == 0:
            return f"{kb >> shift} {unit}"
    return f"{kb} kB"


def order_bars(buddy: list[tuple[int, int, str]], request_order: int | None,
               usable_orders: dict[int, bool]) -> list[OrderBar]:
    """One bar per order listed in the buddy line, with what it means for the request."""
    bars = []
    for order, count, types in sorted(buddy):
        if request_order is not None and order < request_order:
            state = "small"
        elif count == 0:
            state = "small" if request_order is None else "usable"
        else:
            state = "usable" if usable_orders.get(order, True) else "unusable"
        bars.append(OrderBar(order, count, types, count * (4 << order), state))
    return bars


def buddy_chart(bars: list[OrderBar], request_order: int | None, label: str) -> Markup:
    """Inline SVG: free memory per order, the requested order marked."""
    slot, left, top, plot_h, bottom = 62, 64, 58, 220, 58
    width = left + slot * max(len(bars), 1) + 20
    height = top + plot_h + bottom
    most = max((b.kb for b in bars), default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{html.escape(label)}">',
           '<defs><pattern id="unusable" width="8" height="8" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ef9a9a"/>'
           f'<rect width="4" height="8" fill="{RED}"/></pattern></defs>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#607d8b"/>',
           f'<text x="8" y="{top + 10}" class="axis">free</text>',
           f'<text x="8" y="{top + 24}" class="axis">{html.escape(_human_kb(most))}</text>',
           f'<line x1="{left - 4}" y1="{top}" x2="{width - 10}" y2="{top}" stroke="#eceff1" stroke-dasharray="3 3"/>']
    for i, b in enumerate(bars):
        x = left + i * slot
        h = 0 if b.kb == 0 else max(2.0, plot_h * b.kb / most)
        fill = {"small": GREY, "usable": GREEN, "unusable": "url(#unusable)"}[b.state]
        meaning = {"small": "smaller than the request", "usable": "this request may take these",
                   "unusable": "this request may not take these (migrate type)"}[b.state]
        types = ", ".join(MIGRATE_NAMES.get(t, t) for t in b.types) or "type not shown"
        out.append(
            f'<g class="order o{b.order} {b.state}"><title>order {b.order}: {b.count} free block(s) of '
            f'{_human_kb(4 << b.order)} ({html.escape(types)}) = {_human_kb(b.kb)}; {meaning}</title>'
            f'<rect x="{x + 8}" y="{top + plot_h - h:.1f}" width="{slot - 16}" height="{h:.1f}" fill="{fill}"/>'
            f'<text x="{x + slot / 2}" y="{top + plot_h - h - 16:.1f}" text-anchor="middle" class="count">'
            f'{b.count}\u00d7</text>'
            f'<text x="{x + slot / 2}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle" class="types">'
            f'{html.escape(b.types or "")}</text>'
            f'<text x="{x + slot / 2}" y="{top + plot_h + 16}" text-anchor="middle">{b.order}</text>'
            f'<text x="{x + slot / 2}" y="{top + plot_h + 31}" text-anchor="middle" class="size">'
            f'{html.escape(_human_kb(4 << b.order))}</text></g>')
    if request_order is not None:
        index = next((i for i, b in enumerate(bars) if b.order >= request_order), None)
        if index is not None:
            x = left + index * slot + 2
            out.append(f'<g class="request"><line x1="{x}" y1="6" x2="{x}" y2="{top + plot_h + 40}" '
                       f'stroke="#1d2329" stroke-width="2" stroke-dasharray="5 3"/>'
                       f'<text x="{x - 6}" y="16" text-anchor="end" class="request-label">requested: order '
                       f'{request_order} ({html.escape(_human_kb(4 << request_order))}) and above \u2192</text></g>')
    out.append(f'<text x="{left}" y="{height - 6}" class="axis">order (block size)</text>')
    out.append("</svg>")
    return Markup("".join(out))


def zone_caption(bars: list[OrderBar], request_order: int | None, migratetype: str) -> str:
    """The chart in one sentence: how many blocks could serve the request, of which type."""
    if request_order is None:
        return ""
    big = [b for b in bars if b.order >= request_order and b.count]
    total = sum(b.count for b in big)
    if not total:
        return f"No free block of order {request_order} or above."
    unusable = sum(b.count for b in big if b.state == "unusable")
    types = sorted({t for b in big for t in b.types})
    named = ", ".join(MIGRATE_NAMES.get(t, t) for t in types) or "type not shown"
    if unusable == total:
        article = "an" if migratetype[:1] in "aeiou" else "a"
        return (f"{total} free block(s) of order {request_order} or above, all {named}: "
                f"none may serve {article} {migratetype or 'this'} request.")
    return f"{total} free block(s) of order {request_order} or above ({named}); {total - unusable} may serve it."


def write_explain_report(out_dir: Path, diagnoses: list, reports: list, sources: list[str]) -> Path:
    """`reports[i]` is the parsed report `diagnoses[i]` was made from (for its buddy lines)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HtmlReportError(f"{out_dir}: cannot create the report directory ({err.strerror})") from None
    views = []
    for d, report in zip(diagnoses, reports):
        request_order = (d.request or {}).get("order")
        usable = {}
        for zd in d.zones:
            usable[zd.zone] = {b["order"]: b["usable"] for b in zd.blocks_at_or_above}
        zones = []
        for z in report.zones:
            if not z.buddy:
                continue
            bars = order_bars(z.buddy, request_order, usable.get(z.name, {}))
            name = f"Node {z.node}, zone {z.name}" if z.node is not None else f"zone {z.name}"
            zones.append({"name": name, "free_kb": z.free_kb, "free_cma_kb": z.free_cma_kb,
                          "chart": buddy_chart(bars, request_order, f"free blocks per order, {name}"),
                          "caption": zone_caption(bars, request_order, (d.flags or {}).get("migratetype", "")),
                          "cut": z.buddy_cut})
        views.append({"d": d, "zones": zones})
    text = _environment().get_template("explain.html.j2").render(
        title="allocscan explain", subtitle=f"allocscan {__version__} · {', '.join(sources)}", reports=views,
        migrate_names=MIGRATE_NAMES, colours={"grey": GREY, "green": GREEN, "red": RED})
    _write(out_dir / "index.html", text)
    return out_dir / "index.html"
