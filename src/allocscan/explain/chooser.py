"""Choose the allocation call a report came from, among a function's calls.

A function often allocates more than once (a struct with kmalloc, then its
buffer with alloc_pages), and the trace names the function, not the line.
Each call is weighed on three pieces of evidence, each yes, no or unknown:

* chain: the allocator family the trace enters through (`__alloc_pages`
  right under the function is the page allocator, `__alloc_skb` an skb
  allocator, `kmalloc_trace` a slab kmalloc) against the call's family;
* order: the logged order against the page-order range allocscan proved for
  the call (a call of at most 200 bytes never asks for order 4; a slab
  refill in the trace needs a slab-sized call); for the maximum-order WARN,
  whether the call can exceed the maximum at all;
* gfp: the logged mode against the call's gfp on the bits that say how it may
  wait (data/traces.toml), a call whose mask has __GFP_NOWARN never prints
  the failure; for a sleeping-in-atomic BUG, whether the call may block.

A call with a "no" is ruled out. The others rank by their evidence (yes 2,
unknown 1); the best are chosen, all of them when several tie - the log
cannot tell them apart. When the function's own calls are all ruled out or it
has none, the calls of the static functions it calls (which the compiler may
have inlined into it, hiding their frame) are weighed too. When every call is
ruled out, the closest is named as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.gfp import GfpTable, builtin_table
from ..kernel.tables import families, traces

YES, NO, UNKNOWN, NOT_APPLICABLE = "yes", "no", "unknown", "n/a"
_POINTS = {YES: 2, UNKNOWN: 1, NOT_APPLICABLE: 1, NO: 0}
INLINE_DEPTH = 2  # static callees this deep may have been inlined into the frame's function


@dataclass
class Candidate:
    site: object  # analyze.AllocationSite
    inlined_into: str | None = None  # the frame's function, when the call sits in a static callee of it
    fit: dict[str, str] = field(default_factory=dict)  # "chain"/"order"/"gfp" -> yes/no/unknown/n/a
    reasons: list[str] = field(default_factory=list)
    rank: int = 0
    chosen: bool = False

    @property
    def ruled_out(self) -> bool:
        return NO in self.fit.values()

    @property
    def score(self) -> int:
        return sum(_POINTS[v] for v in self.fit.values())


@dataclass
class Evidence:
    """What the report says that can tell calls apart."""

    kind: str
    order: int | None
    mode: int | None
    log_table: GfpTable | None  # the table the logged mode was decoded with
    chain: dict | None  # Diagnosis.chain
    max_order: int


def evidence_of(d) -> Evidence:
    from .diagnose import max_order_for

    series = (d.decoding or {}).get("series")
    table = builtin_table(series) if series and d.mode is not None else None
    return Evidence(d.kind, d.order, d.mode, table, d.chain, max_order_for(d.kernel_version or ""))


def weigh(evidence: Evidence, site, kernel, inlined_into: str | None = None) -> Candidate:
    """One call against the report: its fit on chain, order and gfp, with the reasons."""
    cand = Candidate(site, inlined_into)
    for key, judge in (("chain", _chain_fit), ("order", _order_fit), ("gfp", _gfp_fit)):
        verdict, reason = judge(evidence, site, kernel)
        cand.fit[key] = verdict
        if reason:
            cand.reasons.append(f"{key} {verdict}: {reason}")
    if inlined_into:
        cand.reasons.append(f"in {site.function.name}(), a static function {inlined_into}() calls: no frame of its "
                            f"own if the compiler inlined it")
    return cand


def rank(candidates: list[Candidate]) -> str:
    """Order candidates best first, mark the chosen ones; returns the match: unique, tie or closest."""
    candidates.sort(key=lambda c: (c.ruled_out, -c.score, c.inlined_into is not None, c.site.site.line))
    for number, cand in enumerate(candidates, 1):
        cand.rank = number
    if not candidates:
        return "none"
    best = candidates[0]
    if best.ruled_out:
        fewest = min(list(c.fit.values()).count(NO) for c in candidates)
        closest = [c for c in candidates if list(c.fit.values()).count(NO) == fewest]
        closest.sort(key=lambda c: (-c.score, c.inlined_into is not None, c.site.site.line))
        closest[0].chosen = True
        candidates.remove(closest[0])
        candidates.insert(0, closest[0])
        for number, cand in enumerate(candidates, 1):
            cand.rank = number
        return "closest"
    tied = [c for c in candidates if not c.ruled_out and c.score == best.score
            and (c.inlined_into is None) == (best.inlined_into is None)]
    for cand in tied:
        cand.chosen = True
    return "tie" if len(tied) > 1 else "unique"


# --- the three pieces of evidence ---------------------------------------------

def _label(family_name: str | None) -> str:
    fam = families().get(family_name or "")
    return fam.label if fam else (family_name or "?")


def _chain_fit(ev: Evidence, site, kernel) -> tuple[str, str]:
    chain = ev.chain
    if not chain or not chain.get("family"):
        return UNKNOWN, "the trace shows no allocator entry"
    name = site.allocator.name
    if site.allocator.family == chain["family"]:
        return YES, f"the trace enters {_label(chain['family'])} through {chain['entry']}(), as {name}() does"
    return NO, (f"{name}() is {_label(site.allocator.family)}, but the trace enters "
                f"{_label(chain['family'])} through {chain['entry']}()")


def _order_fit(ev: Evidence, site, kernel) -> tuple[str, str]:
    if ev.kind == "order-warning":
        return _above_max_fit(ev, site)
    if ev.kind != "page-allocation-failure" or ev.order is None:
        return NOT_APPLICABLE, ""
    family = site.family
    n = ev.order
    if family is None or family.page_alloc_above == "never":
        return UNKNOWN, f"the order {_label(site.allocator.family)} asks for does not follow from the call's size"
    size = site.size
    chain = ev.chain or {}
    inner = families().get(chain.get("innerFamily") or "")
    if inner is not None and inner.name != family.name and inner.page_alloc_above == "never":
        return UNKNOWN, (f"the failed page request was for {_label(inner.name)} ({chain.get('innerEntry')}() in "
                         "the trace), whose size the call does not set")
    if chain.get("slabRefill") or chain.get("path") == "slab":
        if site.order_lo is not None:
            return NO, (f"the trace is a slab allocation, but the call asks for at least {size.lo} bytes, "
                        "never a slab object")
        if not size.known:
            return UNKNOWN, "the trace is a slab allocation; the call's size is not proven"
        return YES, "the trace is a slab allocation (the logged order is the slab's), and the call can be slab-sized"
    if not size.known:
        return UNKNOWN, "the call's size (or order) is not proven"
    if not site.page_backed:
        most = kernel.get_order(size.hi) if size.hi is not None else None
        if chain.get("path") == "page":
            return NO, (f"the call asks for at most {size.hi} bytes, a slab object: never the order-{n} request "
                        "the trace makes straight to the page allocator")
        if most is not None and n <= most:
            return YES, f"at most {size.hi} bytes: a slab refill of order {n} is possible"
        return NO, f"the call asks for at most {size.hi} bytes: order {most} at most, never order {n}"
    lo = site.order_lo if site.order_lo is not None else 0
    hi = site.order_hi
    span = f"{lo}..{hi}" if hi is not None else f"{lo} or more"
    if lo <= n and (hi is None or n <= hi):
        return YES, f"its order is {span}, which holds the logged order {n}"
    return NO, f"its order is {span}: never the logged order {n}"


def _above_max_fit(ev: Evidence, site) -> tuple[str, str]:
    if not site.size.known:
        return UNKNOWN, "the call's size (or order) is not proven"
    if site.page_backed and (site.order_hi is None or site.order_hi > ev.max_order):
        span = "unbounded" if site.order_hi is None else f"up to order {site.order_hi}"
        return YES, f"its size is {span}, above the largest order ({ev.max_order})"
    return NO, f"its size never exceeds the largest order ({ev.max_order})"


def _gfp_fit(ev: Evidence, site, kernel) -> tuple[str, str]:
    alts = site.gfp or []
    if not alts:
        return UNKNOWN, "the call's gfp is not proven"
    tree = kernel.gfp
    silent_bit = traces().gfp_silent
    if ev.kind in ("sleeping-in-atomic", "scheduling-while-atomic"):
        blocking = [a for a in alts if tree.allows_blocking(a.mask)]
        if site.allocator.sleeps:
            return YES, f"{site.allocator.name}() always may sleep"
        if blocking:
            return YES, f"{_masks(blocking, tree)} may sleep"
        return NO, f"{_masks(alts, tree)} never sleeps"
    loud = [a for a in alts if not tree.has(a.mask, silent_bit)]
    if not loud:
        return NO, f"every mask the call passes ({_masks(alts, tree)}) has {silent_bit}: it never prints this report"
    if ev.kind == "order-warning":
        return YES, f"{_masks(loud, tree)} lacks {silent_bit}, so the WARN prints"
    if ev.mode is None or ev.log_table is None:
        return UNKNOWN, "the logged mode is missing"
    compare = [n for n in traces().gfp_compare if n in tree.masks and n in ev.log_table.masks]
    logged = {n for n in compare if ev.log_table.has(ev.mode, n)}
    same = [a for a in loud if {n for n in compare if tree.has(a.mask, n)} == logged]
    if same:
        return YES, f"{_masks(same, tree)} waits as the logged mode does ({_words(logged)})"
    return NO, f"{_masks(loud, tree)} does not wait as the logged mode does ({_words(logged)})"


def _masks(alts, tree: GfpTable) -> str:
    """`flags (GFP_ATOMIC) or GFP_KERNEL`: each distinct mask as written, with its names when they differ."""
    out: list[str] = []
    for alt in alts:
        names = tree.names(alt.mask)
        text = alt.text if names in ("", alt.text) else f"{alt.text} = {names}"
        if text not in out:
            out.append(text)
    return " or ".join(out)


def _words(names: set[str]) -> str:
    return "|".join(sorted(names)) or "no reclaim bits"
