"""What a rule returns: a `Finding`, with its proof (witness) and properties.

Rules are thin: they read `AllocationSite`s from the analyses and decide.
Helpers here build the witness steps shared by several rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..analyze import AllocationSite
from ..analyze.values import Value
from ..analyze.valuepaths import ValuePaths
from ..analyze.witness import ALLOCATION, CALL, Step
from ..kernel.tables import page_size_by_arch, source_tables

LEVEL_RANK = {"note": 1, "warning": 2, "error": 3}
# SARIF result.rank (0-100, higher = more confident) from a finding's evidence
# level: error = proven on every path, warning = on some path, note = plausible.
SARIF_RANK = {"error": 90.0, "warning": 60.0, "note": 30.0}


@dataclass
class Finding:
    rule_id: str
    rule_name: str
    level: str
    message: str
    path: str
    line: int
    col: int
    end_col: int
    function: str
    fingerprint: str
    properties: dict = field(default_factory=dict)
    witness: list[Step] = field(default_factory=list)  # lock/entry -> calls -> allocation
    value_flow: list[Step] = field(default_factory=list)  # source -> assignments -> size
    related: list[Step] = field(default_factory=list)
    fix: str = ""
    signature: list[str] = field(default_factory=list)  # dmesg lines, filled by report.signature
    suppressed: str | None = None  # reason, when a suppression comment applies
    baseline_state: str | None = None  # new | unchanged | updated, against a baseline
    site: object = field(default=None, repr=False, compare=False)  # the AllocationSite (not serialised)
    # Of two findings of a rule at one line and level, the lower is reported (AS002: the
    # shorter witness, then the allocation's place); not serialised
    choice: tuple = field(default=(), repr=False, compare=False)

    @property
    def sort_key(self):
        return (self.path, self.line, self.col, self.rule_id)

    @classmethod
    def at_site(cls, rule_id: str, site: AllocationSite, level: str, message: str, properties: dict,
                witness: list[Step], value_flow: list[Step] | None = None) -> "Finding":
        """The one way rules make a finding: at `site`, with the rule's level, message
        and proof; its name and fix text come from the rule's module."""
        from . import by_id  # the rule modules import this one

        rule = by_id()[rule_id]
        return cls(rule_id, rule.NAME, level, message, site.path, site.site.line, site.site.col, site.site.end_col,
                   site.function.name, site.fingerprint(rule_id), properties, witness, value_flow or [], fix=rule.FIX,
                   site=site)


def base_properties(s: AllocationSite, kernel_release: str) -> dict:
    size = s.size
    props = {
        "allocator": s.site.callee or s.site.field,
        "gfp": gfp_names(s),
        "sizeRange": [size.lo, size.hi] if size.known else None,
        "maxOrder": s.order_hi,
        "userControlled": user_sources(size),
        "deviceControlled": device_sources(size),
        "atomicContext": s.context.reason if s.context else None,
        "kernelVersion": kernel_release,
    }
    if size.partial:
        # other writers or callers are unknown: the maximum is proven reachable, not a bound
        props["maxIsLowerBound"] = True
    return props


def user_sources(size: Value) -> list[str]:
    """The sources of a size that a user sets (module parameters, sysfs, ioctl, ethtool ...)."""
    tables = source_tables()
    return sorted(src for src in size.sources if tables.is_user(src))


def module_parameters_only(users: list[str]) -> bool:
    """Are all these user sources module parameters (the administrator's, at load)?"""
    return all(src.startswith("module_param:") for src in users)


def device_sources(size: Value) -> list[str]:
    """The sources of a size that a device, a USB host or the wire supplies."""
    tables = source_tables()
    return sorted(src for src in size.sources if not tables.is_user(src))


def gfp_names(s: AllocationSite) -> list[str]:
    if not s.gfp:
        return [s.gfp_text] if s.gfp_text and s.gfp_text != "?" else []
    out = []
    for alt in s.gfp:
        if alt.text not in out:
            out.append(alt.text)
    return out


def context_witness(s: AllocationSite, w=None, contextless: bool = False) -> list[Step]:
    """Entry or lock -> calls -> the allocation, for codeFlows and text output (the
    site's best witness, or `w`; only the allocation when `contextless`)."""
    w = None if contextless else (w if w is not None else s.context)
    steps = list(w.steps) if w is not None else []
    steps.append(Step(ALLOCATION, f"{s.function.name}: {s.call_text}", s.path, s.site.line, s.site.col,
                      function=s.function.name, callee=s.site.callee or s.site.field))
    return steps


def with_gfp_flow(witness: list[Step], alt) -> list[Step]:
    """The calls that pass the gfp mask down to the site (`GfpAlt.via`, from the call that
    chose it), then the witness; a call the witness already shows is not repeated (an
    atomic context reached through the same calls that pass the mask)."""
    shown = {(st.path, st.line) for st in witness if st.kind == CALL}
    return [hop for hop in alt.via if (hop.path, hop.line) not in shown] + witness


def value_witness(s: AllocationSite, value: Value) -> list[Step]:
    """Source -> assignments and calls -> the size argument."""
    steps = [st if st.line >= 1 else replace(st, line=1) for st in reversed(value.steps)]
    if steps:
        steps.append(Step(ALLOCATION, f"{s.function.name}: size of {s.call_text}", s.path, s.site.line, s.site.col,
                          function=s.function.name, callee=s.site.callee or s.site.field))
    return steps


def other_page_size(s: AllocationSite, kernel) -> bool:
    """Is the site in an architecture's own files whose default page size is not the one
    the orders are computed with (ia64's and loongarch's 16 KiB)? Its order is another."""
    if not s.path.startswith("arch/"):
        return False
    size = page_size_by_arch().get(s.path.split("/", 2)[1])
    return size is not None and size != kernel.page_size


def feasible(paths: ValuePaths, s: AllocationSite) -> bool:
    """Can the calls that bring the site's size to it all be taken together (analyze.
    valuepaths)? Counted in the scan's stats: value_paths_checked, value_paths_dropped,
    value_paths_over_limit (solver questions z3 gave up on, each answered "feasible")."""
    unanswered = paths.validator.over_limit
    verdict = paths.verdict(s)
    if verdict is None:
        return True
    stats = paths.analysis.stats
    stats["value_paths_checked"] = stats.get("value_paths_checked", 0) + 1
    gave_up = paths.validator.over_limit - unanswered
    if gave_up:
        stats["value_paths_over_limit"] = stats.get("value_paths_over_limit", 0) + gave_up
    if not verdict.feasible:
        stats["value_paths_dropped"] = stats.get("value_paths_dropped", 0) + 1
    return verdict.feasible


def human_bytes(n: int | None) -> str:
    """A size as a reader takes it in: a whole unit when it is one (`4 MiB`), else the
    exact bytes, with their order of magnitude past a mebibyte (`4294967295 bytes
    (about 4.0 GiB)`): a maintainer compares it with a limit, not digit by digit."""
    if n is None:
        return "unbounded"
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= (1 << shift) and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20)):
        if n >= (1 << shift):
            return f"{n} bytes (about {n / (1 << shift):.1f} {unit})"
    return f"{n} bytes"


def doc_sections(doc: str) -> dict[str, str]:
    """Split a rule docstring into its '## Section' parts."""
    sections: dict[str, str] = {}
    current = "summary"
    lines: list[str] = []
    for line in (doc or "").strip().split("\n"):
        if line.startswith("## "):
            sections[current] = "\n".join(lines).strip()
            current = line[3:].strip()
            lines = []
        else:
            lines.append(line)
    sections[current] = "\n".join(lines).strip()
    return sections
