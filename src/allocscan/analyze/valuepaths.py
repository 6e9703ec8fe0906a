"""Value-flow paths: does the chain of calls that brings a size to its allocation hold
together?

A size's witness (`Value.steps`) names the calls it came down: `ioctl() passes
alloc_info.size as 'size' of broker_alloc()`, then `broker_alloc() passes size as
'size' of broker_create()`. The allocation may sit in an arm of the last callee that
the path cannot take: vmci's qp_broker_alloc() returns early when the caller asks for
a local queue pair, and qp_broker_create() allocates the local pair's pages only under
`if (is_local)`. The user's size never reaches that allocation.

This module turns the call steps next to the allocation into the chain PathValidator
checks for AS002's witnesses (analyze.paths: each callee's parameters are the caller's
arguments, the early exits and arms around each call and the allocation are the
conditions), and says whether the conditions can hold together. Only the contiguous
calls nearest the allocation are checked: a store into a field by another function (the
size read from an object set elsewhere) ends the chain, and so does a step the program
cannot place. A store the allocating function reads back just after is part of it.
"""

from __future__ import annotations

from ..facts import CallSite
from .paths import PathValidator, Verdict
from .witness import FLOW


class ValuePaths:
    """One path validator for a rule's whole check (z3 is imported on first use)."""

    def __init__(self, analysis):
        self.analysis = analysis
        self.program = analysis.program
        self.validator = PathValidator(analysis.program, analysis.contexts.oracle)

    def verdict(self, site) -> Verdict | None:
        """The verdict on the call chain that brings `site`'s size to it, or None when the
        size came down no call (or the chain cannot be placed in the program)."""
        chain = self.call_chain(site)
        if not chain:
            return None
        return self.validator.check(chain, site.node, site.site)

    def call_chain(self, site) -> list[tuple[str, CallSite]]:
        """[(function node, call site)] from the outermost caller the size's steps name,
        down to the call of the allocating function; [] when there is none."""
        chain: list[tuple[str, CallSite]] = []
        expected = site.function.name  # the callee the next call step up must name
        for step in site.size.steps:
            if step.kind != FLOW or (step.field and step.function != expected):
                break  # the size was read from a field another function stored: another path
            if not step.callee or step.function == step.callee:
                continue  # a flow inside one function (`len = hdr + n`, a store read back just after)
            if step.callee != expected:
                break
            placed = self._placed(step)
            if placed is None:
                break
            chain.append(placed)
            expected = step.function
        chain.reverse()
        return chain

    def _placed(self, step) -> tuple[str, CallSite] | None:
        """(node, call site) of the call a flow step names: the function `step.function` of
        `step.path` holding a call of `step.callee` on `step.line`."""
        ff = self.program.file(step.path)
        if ff is None:
            return None
        for fn in ff.functions:
            if fn.name != step.function or not fn.line <= step.line <= fn.end_line:
                continue
            call = next((c for c in fn.calls if c.line == step.line and c.callee == step.callee), None)
            node = self.program.find_node(fn, step.path)
            if call is not None and node is not None:
                return node, call
        return None
