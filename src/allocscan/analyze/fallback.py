"""Allocations whose failure the function answers with another attempt.

The kernel's idiom for a large buffer where it may not sleep, or need not wait:
try the high order quietly, and fall back when it fails.

    res = (void *)__get_free_pages(gfp | __GFP_NOWARN | __GFP_NORETRY, get_order(size));
    if (res)
            return res;
    res = (void *)__get_free_pages(gfp | __GFP_NOWARN, get_order(SMALL));

`out = ...; if (!out) { outp = mempool_alloc(...); out = page_address(outp); }`
and `new = kmalloc(n, GFP_NOWAIT | __GFP_NOWARN); if (unlikely(!new)) { unlock();
new = kmalloc(n, GFP_KERNEL); }` are the same shape, and so is a loop of large
pages that breaks out on failure into a loop of single pages into the same local. The failure of the first
attempt is part of the design: the rules (AS001) report it only when the author
left it loud.

Read from the function's own facts: the call's result is stored into a local, and
on a path where that local is NULL (the arm of `if (!res)`, what follows
`if (res) return res;` or `if (pages) goto done;` up to where it lands) the same
local is given the result of another call. After a `break` out of the loop making
the try, what follows the loop runs on success too: there only an allocator's
result counts. A store of NULL, a constant or an `ERR_PTR()` is a way to fail,
not a fallback.
"""

from __future__ import annotations

from ..exprs import identifiers, ir_from_text
from ..facts import EXIT_NONE, LEAVES_FUNCTION, CallSite, FunctionFacts
from ..kernel.tables import allocators

NOT_A_FALLBACK = frozenset({"ERR_PTR", "ERR_CAST"})  # a store of an error: the function fails
STATEMENT_SLACK = 64  # bytes between a store's start and its call beyond the value's own text


def falls_back(fn: FunctionFacts, call: CallSite, path: str, truth) -> bool:
    """Does `fn` try again, into the same local, when `call` returns NULL? `truth` is a
    three-valued condition evaluator (BranchOracle.truth: ir, env, path -> bool | None)."""
    result = _stored_into(fn, call)
    if result is None:
        return False
    regions = list(_null_regions(fn, call.byte, result, path, truth))
    if not regions:
        return False
    for a in fn.assignments:
        if a.kind != "local" or a.target != result or a.op != "=" or a.byte <= call.byte:
            continue
        for start, end, any_call in regions:
            if start <= a.byte < end and _a_call_other_than_error(a.value_text, any_call):
                return True
    return False


def _stored_into(fn: FunctionFacts, call: CallSite) -> str | None:
    """The local whose store holds `call` (`res = (void *)__get_free_pages(...)`), or None."""
    name = call.callee
    if not name:
        return None
    best = None
    for a in fn.assignments:
        if a.kind != "local" or a.op != "=" or a.byte > call.byte:
            continue
        if f"{name}(" not in a.value_text.replace(" (", "("):
            continue
        if call.byte - a.byte > len(a.target) + len(a.value_text) + STATEMENT_SLACK:
            continue
        if best is None or a.byte > best.byte:
            best = a
    return best.target if best is not None else None


def _null_regions(fn: FunctionFacts, after: int, name: str, path: str, truth):
    """(start, end, any call) byte spans of `fn` reached only where `name` is NULL, from
    the conditions after byte `after` that test it; `any call`: a store of any call's
    result there is a fallback, else only an allocator's."""
    env = {name: 0}
    loop_ends = [le for ls, le in fn.loop_spans if ls <= after < le]
    for cond, ts, te, es, ee, kind, goes_to in fn.conditions:
        if ts <= after:
            continue
        ir = ir_from_text(cond)
        if name not in identifiers(ir):
            continue
        when_null = truth(ir, env, path)
        if when_null is True:
            yield ts, te, True  # `if (!res) { ... }`
            if kind != EXIT_NONE and goes_to == 0 and loop_ends:
                # `if (!pg) { q->large_alloc_failed++; break; }` out of the loop making the
                # try, into what follows it: cxgb4's refill_fl() goes on with single pages.
                # What follows is reached on success too: only an allocation there counts.
                yield min(loop_ends), fn.end_byte, False
        elif when_null is False:
            if es:
                yield es, ee, True  # the else, or the rest of the block after `if (res) return res;`
            if kind != EXIT_NONE and goes_to == LEAVES_FUNCTION:
                yield te, fn.end_byte, True  # `if (res) return res;` in a nested block
            elif kind != EXIT_NONE and goes_to > te:
                yield te, goes_to, True  # `if (pages) goto have_pages;`: up to the label


def _a_call_other_than_error(text: str, any_call: bool = True) -> bool:
    """Is this stored value the result of a call (the fallback's), not an error or a
    constant? Without `any_call`, of an allocator's call (allocators.toml)."""
    ir = ir_from_text(text)
    while ir[0] == "cast":
        ir = ir[2]
    if ir[0] != "call" or not ir[1] or ir[1] in NOT_A_FALLBACK:
        return False
    return any_call or ir[1] in allocators()
