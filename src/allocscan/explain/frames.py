"""Read a call trace: the report's frames, the allocator's, the caller, and the context.

A trace printed with a failure lists, innermost first, the report's own frames
(dump_stack, warn_alloc, might_sleep), the allocator's (the page allocator,
slab internals, the entry point the caller called), the caller, and further out
the code that called it, down to the context it ran in (a timer softirq, an
interrupt handler, a work item). `allocator_chain()` splits a trace that way
and says which allocator family the caller called and by which path (a slab
object, or straight to the page allocator); `context_of()` says whether the
frames prove atomic context. All names come from data: allocators.toml (the
families' frames and trace entries, allocator internals) and traces.toml (the
report's frames, contexts), read through `kernel.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.tables import TraceContext, allocator_frames, allocators, families, traces


def base_name(func: str) -> str:
    """`__alloc_pages_slowpath.constprop.0` -> `__alloc_pages_slowpath`; `__kmalloc_noprof` -> `__kmalloc`."""
    name = func.split(".")[0]
    for suffix in traces().strip_suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class _Index:
    allocator: frozenset[str]  # every allocator frame name (base names)
    entries: dict[str, tuple[str, str]]  # base name -> (family, path)
    slab_refill: frozenset[str]
    slab: frozenset[str]


_INDEX: list = [None, None]  # (the tables it was built from, the index): rebuilt after reload_tables()


def _index() -> _Index:
    tables = (families(), allocators(), allocator_frames(), traces())
    if _INDEX[0] is None or any(a is not b for a, b in zip(_INDEX[0], tables)):
        _INDEX[:] = [tables, _build_index()]
    return _INDEX[1]


def _build_index() -> _Index:
    fams = families()
    internals = allocator_frames()
    entries: dict[str, tuple[str, str]] = {}
    names: set[str] = set(internals.page | internals.slab | internals.slab_refill)
    for fam in fams.values():
        for frame, path in fam.trace_entries.items():
            entries.setdefault(base_name(frame), (fam.name, path))
        for era_frames in fam.frames.values():
            names.update(base_name(f) for f in era_frames)
    for name, alloc in allocators().items():
        entries.setdefault(base_name(name), (alloc.family, "any"))
    names.update(entries)
    return _Index(frozenset(names), entries, frozenset(internals.slab_refill), frozenset(internals.slab))


def is_report_frame(func: str) -> bool:
    return base_name(func) in traces().report_frames


def is_allocator_frame(func: str) -> bool:
    """Allocator internals, the report machinery and entry code: never the caller."""
    base = base_name(func)
    if base in _index().allocator or base in traces().report_frames:
        return True
    return base.startswith(allocator_frames().prefixes) or base.startswith(traces().entry_prefixes)


def is_context_frame(func: str) -> bool:
    return base_name(func) in traces().contexts


def is_caller_frame(func: str) -> bool:
    """A frame that may be the code that allocated: not allocator, report, entry or core context code."""
    return not is_allocator_frame(func) and not is_context_frame(func)


def entry_of(func: str) -> tuple[str, str] | None:
    """(family, path) when a call of that family shows as this frame right under its caller."""
    return _index().entries.get(base_name(func))


@dataclass
class AllocatorChain:
    """The allocator part of a trace and what it says about the call."""

    frames: list[str] = field(default_factory=list)  # allocator frames, innermost first
    entry: str | None = None  # the outermost one: what the caller called
    family: str | None = None  # the family that entry belongs to
    path: str | None = None  # "slab", "page" or "any"
    slab_refill: bool = False  # a slab cache was refilling: the logged order is the slab's
    # The innermost allocator above the page allocator: the one whose object the failed page
    # request was for (__alloc_skb's sk_buff comes from kmem_cache_alloc_node, its head from kmalloc).
    inner_entry: str | None = None
    inner_family: str | None = None
    caller: str | None = None  # the innermost frame outside the allocator
    implies: str | None = None  # the report kind the report frames prove (warn_alloc -> page allocation failure)


def allocator_chain(funcs: list[str]) -> AllocatorChain:
    """Split reliable frames (innermost first) into report, allocator and caller."""
    chain = AllocatorChain()
    implies = traces().report_implies
    for func in funcs:
        base = base_name(func)
        if base in traces().report_frames:
            chain.implies = chain.implies or implies.get(base)
            continue
        if is_allocator_frame(func):
            if chain.caller is None:
                chain.frames.append(func)
            continue
        if is_caller_frame(func):
            chain.caller = func
            break
    index = _index()
    bases = [base_name(f) for f in chain.frames]
    for base in reversed(bases):  # outermost first: the entry the caller called
        if base in index.entries:
            chain.entry = base
            chain.family, chain.path = index.entries[base]
            break
    fams = families()
    for base in bases:  # innermost first
        family = index.entries.get(base, (None, None))[0]
        if family is not None and fams[family].page_alloc_above != "0":  # "0": the page allocator itself
            chain.inner_entry, chain.inner_family = base, family
            break
    chain.slab_refill = any(b in index.slab_refill for b in bases)
    if chain.path == "any":
        paths = {index.entries[b][1] for b in bases if b in index.entries}
        if chain.slab_refill or "slab" in paths or any(b in index.slab for b in bases):
            chain.path = "slab"
        elif "page" in paths:
            chain.path = "page"
    return chain


@dataclass
class ContextEvidence:
    """What the frames prove about the context the allocation ran in."""

    atomic: bool | None = None  # None: nothing in the trace says
    where: str = ""  # the innermost execution context, in words
    inside: str = ""  # a bottom-halves-off region between it and the allocation, in words
    frames: list[tuple[str, str, str]] = field(default_factory=list)  # (frame or marker, kind, meaning)

    @property
    def summary(self) -> str:
        if not self.where:
            return ""
        return self.where + (f", inside {self.inside}" if self.inside else "")


def context_of(funcs: list[str], first_marker: str | None = None) -> ContextEvidence:
    """Context from the frames (innermost first) and the stack marker printed before the first frame."""
    table = traces()
    atomic_kinds = table.atomic_kinds
    evidence = ContextEvidence()
    seen: list[tuple[str, TraceContext]] = []
    for func in funcs:
        ctx = table.contexts.get(base_name(func))
        if ctx is not None:
            seen.append((base_name(func), ctx))
    if first_marker and first_marker in table.markers:  # says less than a frame: weighed after them
        seen.append((first_marker, table.markers[first_marker]))
    evidence.frames = [(name, ctx.kind, ctx.description) for name, ctx in seen]
    atomic = [(name, ctx) for name, ctx in seen if ctx.kind in atomic_kinds]
    if atomic:
        evidence.atomic = True
        execution = [(i, ctx) for i, (_, ctx) in enumerate(atomic) if ctx.kind != "bh"]
        bh = [(i, ctx) for i, (_, ctx) in enumerate(atomic) if ctx.kind == "bh"]
        evidence.where = (execution or bh)[0][1].description
        if execution and bh and bh[0][0] < execution[0][0]:  # the bh-off region is inward of it
            evidence.inside = bh[0][1].description
    elif seen:
        evidence.atomic = False
        evidence.where = seen[0][1].description
    return evidence


def is_atomic_kind(kind: str) -> bool:
    return kind in traces().atomic_kinds
