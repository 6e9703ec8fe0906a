"""Rules: one module per rule, registered here in ID order.

Each module holds ID, NAME, LEVEL, PRECISION, SEVERITY, TAGS, SHORT, FIX, a docstring
in fixed sections (What it does / Why is this bad? / Example / Known problems
/ Options / References) that is the rule's documentation everywhere (SARIF
help, `allocscan rules`), and `check(analysis, options) -> list[Finding]`.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    as001_high_order_atomic_allocation,
    as002_sleeping_allocation_in_atomic_context,
    as003_unbounded_allocation_size,
    as004_allocation_exceeds_maximum,
)

RULES: tuple[ModuleType, ...] = (
    as001_high_order_atomic_allocation,
    as002_sleeping_allocation_in_atomic_context,
    as003_unbounded_allocation_size,
    as004_allocation_exceeds_maximum,
)

# What GitHub code scanning reads from a rule's properties (docs: "SARIF support"):
# precision ranks alerts and sets their default visibility, problem.severity
# grades a non-security rule.
PRECISIONS = ("very-high", "high", "medium", "low")
SEVERITIES = ("error", "warning", "recommendation")

REQUIRED_SECTIONS = ("What it does", "Why is this bad?", "Example", "Known problems", "Options", "References")


def by_id() -> dict[str, ModuleType]:
    return {r.ID: r for r in RULES}


def select(selected: list[str] | None, ignored: list[str] | None) -> list[ModuleType]:
    """Rules chosen by --select/--ignore prefixes (ruff style: AS00 selects all four)."""
    out = []
    for rule in RULES:
        if selected and not any(rule.ID.startswith(p) for p in selected):
            continue
        if ignored and any(rule.ID.startswith(p) for p in ignored):
            continue
        out.append(rule)
    return out
