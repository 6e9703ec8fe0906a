"""Lock states: the flow-sensitive lock walk (`lockflow`) over the functions that
touch a lock, and the held locks it leaves on each of their call sites."""

from __future__ import annotations

import bisect

from ..exprs import squash
from ..facts import CallSite, FunctionFacts
from .conditions import label_positions
from .file import FileExtraction
from .lockflow import Summary, analyze_function, reaching_acquisition
from .nodes import first_arg

def lock_states(fx: FileExtraction) -> None:
    """Walk the functions that touch locks; annotate their call sites."""
    lock_names = fx.ctx.lock_calls
    scoped = fx.masked.scoped_guards
    scoped_starts = sorted(scoped)
    call_by_byte = dict(fx.call_bytes)
    summaries: dict[str, Summary] = {}
    walked: set[int] = set()
    labels: dict[int, dict[str, int]] = {}  # function index -> label -> byte (for gotos out of guards)
    for (i, name), byte in label_positions(fx).items():
        labels.setdefault(i, {})[name] = byte
    # `__must_hold(x)` also annotates mutexes and refcounts: trust it only for
    # a lock expression this file passes to a spinlock-family call.
    spin_keys = {squash(first_arg(c.args_text)) for f in fx.facts.functions for c in f.calls
                 if c.callee in fx.ctx.acquire and fx.ctx.acquire[c.callee][0] == "spin"}
    for fn in fx.facts.functions:
        fn.entry_locks = tuple(a for a in fn.entry_locks if _annotation_token(a)[1] in spin_keys)
    for i, fn in enumerate(fx.facts.functions):
        if not (fn.entry_locks or (scoped_starts and _any_in(scoped_starts, fn.start_byte, fn.end_byte))
                or any(c.callee in lock_names or c.callee == "guard" for c in fn.calls)):
            continue
        entry = [(_annotation_token(a), a, a.partition("(")[0]) for a in fn.entry_locks]
        result = analyze_function(fx.fn_nodes[i], entry, {}, scoped, labels.get(i))
        _apply_states(fx, fn, result, call_by_byte)
        fn.lock_releases = result.summary.releases
        walked.add(i)
        if result.summary.acquires or result.summary.releases:
            summaries[fn.name] = result.summary
    if not summaries:
        return
    # Second round: callers of same-file wrappers that take or drop a lock
    # (`foo_lock(dev)`, `unlock_and_free(x)`) see the wrapper's effect.
    for i, fn in enumerate(fx.facts.functions):
        if any(c.callee in summaries for c in fn.calls):
            entry = [(_annotation_token(a), a, a.partition("(")[0]) for a in fn.entry_locks]
            result = analyze_function(fx.fn_nodes[i], entry, summaries, scoped, labels.get(i))
            _apply_states(fx, fn, result, call_by_byte)
            # tg3_restart_hw() calls tg3_full_unlock() ... tg3_full_lock(): it drops its
            # caller's lock through the wrappers, and what it calls meanwhile is unlocked.
            fn.lock_releases = tuple(sorted(set(fn.lock_releases) | set(result.summary.releases)))


def _apply_states(fx: FileExtraction, fn: FunctionFacts, result, call_by_byte: dict[int, CallSite]) -> None:
    info = result.info
    for byte, state in result.at_call.items():
        site = call_by_byte.get(byte)
        if site is None or state is None:
            continue
        must, may, _ = state
        # the acquisition in force at the call: a region opened again after it was
        # closed is named by its latest opening that reaches the call
        opened = {t: reaching_acquisition(state, t, site.line, _line) or info[t] for t in may}
        site.locks = (tuple(sorted(opened[t][0] for t in must)), tuple(sorted(opened[t][0] for t in may - must)))
        site.lock_sites = tuple(sorted(opened[t] for t in may))
        site.lock_conds = result.conds_at_call.get(byte, ())


def _line(acquisition) -> int:
    return acquisition[1]

# --- module parameters -------------------------------------------------





def _annotation_token(annotation: str) -> tuple[str, str]:
    """`__must_hold(&dev->lock)` -> ("spin", "&dev->lock")."""
    inner = annotation[annotation.index("(") + 1:-1] if "(" in annotation else ""
    return ("spin", squash(inner))


def _any_in(sorted_offsets: list[int], start: int, end: int) -> bool:
    i = bisect.bisect_left(sorted_offsets, start)
    return i < len(sorted_offsets) and sorted_offsets[i] < end
