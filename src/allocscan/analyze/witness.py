"""The proof a finding carries, as typed steps.

A witness is a list of `Step`s: the atomic context's origin (an entry point
the kernel runs atomically, or a lock taken), the calls that lead from it,
and the allocation; a value flow is its own list (the source, the stores and
calls that carry it, the size). Each step says what kind of step it is and
names the functions, primitive and context involved as fields, so that
signatures, SARIF code flows, text output and `explain` read fields and
nothing parses the step's text, which is for people.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..facts import CallSite

# Step kinds
BIND = "bind"  # `function` is bound to an object by `callee` (timer_setup, `t->function = f`): armed later
ENTRY = "entry"  # the kernel calls `function` in an atomic context (`context`), armed by `callee`
ACQUIRE = "acquire"  # `function` opens an atomic region with the primitive `callee` (`effects`)
CALL = "call"  # `function` calls `callee`
ALLOCATION = "allocation"  # `function` calls the allocator (or gfp-taking function) `callee`
SOURCE = "source"  # where a value comes from (a module parameter, a user buffer, a device field):
# `source` names it; `callee` is the call that reads it (kstrtouint, nla_get_u32), `field` the field
FLOW = "flow"  # a store or call that carries a value (or a gfp mask) on towards the allocation:
# an assignment in `function`; a store into `field`; `function` passing it to `callee`


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    text: str  # for people: "foo_irq() registered with request_irq(): runs in hardirq"
    path: str
    line: int
    col: int = 1
    function: str = ""  # the function the step happens in
    callee: str = ""  # CALL: the callee; ALLOCATION: the allocator; ACQUIRE: the primitive; ENTRY: the registrar or ops field
    context: str = ""  # ENTRY: the context the kernel runs it in, e.g. "hardirq", "softirq:timer"
    effects: tuple[str, ...] = ()  # ACQUIRE: what the region disables: "preempt", "irq", "bh", "rcu"
    field: str = ""  # SOURCE/FLOW through a struct field: "struct.field" (a device field, a store)
    source: str = ""  # SOURCE: the source it names, e.g. "module_param:buflen", "sysfs:len_store"

    @property
    def context_class(self) -> str:
        """ENTRY: "hardirq", "softirq", "nmi", "bh" (the part of `context` before its ':')."""
        return self.context.partition(":")[0]


def call_depths(steps: list[Step]) -> list[int]:
    """The nesting level of each step (SARIF's nestingLevel, the indent of text output):
    one deeper after each call; the allocation sits at the level of the step before it."""
    depths: list[int] = []
    depth = 0
    for st in steps:
        if st.kind == ALLOCATION and depths:
            depths.append(depths[-1])
            continue
        depths.append(depth)
        if st.kind == CALL:
            depth += 1
    return depths


@dataclass(frozen=True)
class Witness:
    """Why a function may run atomically: the origin (entry point or locks held),
    then the calls from it; a finding adds the allocation as its last step."""

    grade: str  # "must" | "may"
    reason: str  # the atomicContext text, e.g. "hardirq: foo_irq (request_irq)"
    steps: tuple[Step, ...]  # a BIND and ENTRY, or the ACQUIREs held, then CALLs
    hops: int = 0
    # For a lock: the contexts of the atomic entries of the function that takes it
    # ("softirq" for isotp_rcv, registered with can_rx_register): the lock is taken there too.
    holder_contexts: tuple[str, ...] = ()
    # The calls the CALL steps stand for: (calling function's node, call site), from the
    # origin on; path validation reads their conditions and arguments.
    calls: tuple[tuple[str, CallSite], ...] = ()
    origin: str = ""  # node of the function the atomic context starts in (holds the lock / is the entry)

    @property
    def entry(self) -> Step | None:
        """The entry point the witness starts from, when it is one (not a lock)."""
        return next((s for s in self.steps if s.kind == ENTRY), None)
