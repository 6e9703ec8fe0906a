"""SARIF 2.1.0 output built from sarif-om objects, for GitHub code scanning.

One rule descriptor per rule (help from the rule's docstring), results with
`ruleIndex`, relative `%SRCROOT%` URIs, 1-based columns (utf16CodeUnits),
code flows for the atomic witness and the size's source chain, related
locations for the lock or entry point, and our own line-independent key in
`partialFingerprints["allocscan/v1"]` (GitHub computes
`primaryLocationLineHash` itself). Each rule carries GitHub's
`precision` and `problem.severity`; each result a `rank` from its evidence
level (rules.base.SARIF_RANK), so code scanning can sort by confidence. Skipped files become tool configuration
notifications. jschema_to_python drops values equal to their defaults, so
result levels are written back explicitly after serialisation.
"""

from __future__ import annotations

import json

from jschema_to_python.to_json import to_json
from sarif_om import (
    ArtifactLocation, CodeFlow, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, Region, ReportingConfiguration, ReportingDescriptor, Result, Run,
    RunAutomationDetails, SarifLog, ThreadFlow, ThreadFlowLocation, Tool, ToolComponent,
)

from .. import __version__
from ..analyze.witness import ACQUIRE, CALL, ENTRY, SOURCE, call_depths
from ..rules import RULES
from ..rules.base import SARIF_RANK, Finding, doc_sections

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/allocscan/allocscan"


def _location(path: str, line: int, col: int = 1, end_col: int | None = None, text: str | None = None) -> Location:
    region = Region(start_line=max(line, 1), start_column=max(col, 1))
    if end_col is not None and end_col > col:
        region.end_column = end_col
    loc = Location(physical_location=PhysicalLocation(
        artifact_location=ArtifactLocation(uri=path, uri_base_id="%SRCROOT%"), region=region))
    if text:
        loc.message = Message(text=text)
    return loc


def rule_descriptor(rule) -> ReportingDescriptor:
    sections = doc_sections(rule.__doc__)
    full = sections.get("What it does", sections.get("summary", "")).replace("\n", " ")
    markdown = "\n\n".join(f"## {name}\n\n{body}" for name, body in sections.items() if name != "summary" and body)
    text = f"{sections.get('summary', '')}\n\n" + "\n\n".join(f"{n}: {b}" for n, b in sections.items() if n != "summary")
    return ReportingDescriptor(
        id=rule.ID,
        name="".join(part.capitalize() for part in rule.NAME.split("-")),
        short_description=MultiformatMessageString(text=rule.SHORT),
        full_description=MultiformatMessageString(text=full[:1000]),
        help=MultiformatMessageString(text=text.strip(), markdown=markdown),
        help_uri=f"{INFO_URI}/blob/main/docs/rules.md#{rule.ID.lower()}",
        default_configuration=ReportingConfiguration(level=rule.LEVEL),
        properties={"tags": list(rule.TAGS), "precision": rule.PRECISION,
                    "problem.severity": rule.SEVERITY},
    )


def _thread_flow(steps) -> ThreadFlow:
    locs = []
    for st, depth in zip(steps, call_depths(steps)):
        tfl = ThreadFlowLocation(location=_location(st.path, st.line, st.col, text=st.text), nesting_level=depth)
        if st.kind in (CALL, ACQUIRE, ENTRY):
            tfl.kinds = [st.kind if st.kind != ENTRY else "enter"]
        locs.append(tfl)
    return ThreadFlow(locations=locs)


def _result(f: Finding, rule_index: int) -> Result:
    related = []
    message = f.message
    anchor = next((s for s in f.witness if s.kind in (ACQUIRE, ENTRY)), None)
    if anchor is not None:
        related.append(_location(anchor.path, anchor.line, anchor.col, text=anchor.text))
        related[0].id = 1
        message += f" ([{'lock' if anchor.kind == ACQUIRE else 'entry point'}](1))"
    source = next((s for s in f.value_flow if s.kind == SOURCE), None)
    if source is not None:
        loc = _location(source.path, source.line, source.col, text=source.text)
        loc.id = len(related) + 1
        related.append(loc)
    for step in f.related:  # the allocation a call site leads to, reported at the call
        loc = _location(step.path, step.line, step.col, text=step.text)
        loc.id = len(related) + 1
        related.append(loc)
        message += f" ([allocation]({loc.id}))"
    flows = []
    if len(f.witness) > 1:
        flows.append(CodeFlow(thread_flows=[_thread_flow(f.witness)], message=Message(text="atomic context")))
    if f.value_flow:
        flows.append(CodeFlow(thread_flows=[_thread_flow(f.value_flow)], message=Message(text="size source")))
    result = Result(
        rule_id=f.rule_id, rule_index=rule_index, level=f.level, rank=SARIF_RANK[f.level], message=Message(text=message),
        locations=[_location(f.path, f.line, f.col, f.end_col)],
        partial_fingerprints={"allocscan/v1": f.fingerprint},
        properties=dict(f.properties),
    )
    if f.baseline_state:
        result.baseline_state = f.baseline_state
    if related:
        result.related_locations = related
    if flows:
        result.code_flows = flows
    return result


def build_sarif(findings: list[Finding], warnings: list[str], category: str = "allocscan/",
                absent: list[dict] | None = None) -> dict:
    rules = list(RULES)
    index = {r.ID: i for i, r in enumerate(rules)}
    run = Run(
        tool=Tool(driver=ToolComponent(name="allocscan", semantic_version=__version__, version=__version__,
                                       information_uri=INFO_URI, rules=[rule_descriptor(r) for r in rules])),
        results=[_result(f, index[f.rule_id]) for f in findings],
        column_kind="utf16CodeUnits",
        original_uri_base_ids={"%SRCROOT%": ArtifactLocation(description=Message(text="root of the scanned tree"))},
        automation_details=RunAutomationDetails(id=category if category.endswith("/") else category + "/"),
        invocations=[Invocation(
            execution_successful=True,
            tool_configuration_notifications=[
                Notification(message=Message(text=w), level="warning") for w in warnings[:1000]] or None)],
    )
    log = SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])
    doc = json.loads(to_json(log))
    # Write back what jschema_to_python dropped for equalling a default.
    for res, f in zip(doc["runs"][0]["results"], findings):
        res["level"] = f.level
        res["rank"] = SARIF_RANK[f.level]
    if absent:
        doc["runs"][0]["results"].extend(absent)
    for desc, r in zip(doc["runs"][0]["tool"]["driver"]["rules"], rules):
        desc.setdefault("defaultConfiguration", {})["level"] = r.LEVEL
    inv = doc["runs"][0]["invocations"][0]
    if not inv.get("toolConfigurationNotifications"):
        inv.pop("toolConfigurationNotifications", None)
    for notif in inv.get("toolConfigurationNotifications", []):
        notif["level"] = "warning"
    return doc


def render_sarif(findings: list[Finding], warnings: list[str], category: str = "allocscan/",
                 absent: list[dict] | None = None) -> str:
    return json.dumps(build_sarif(findings, warnings, category, absent), indent=2) + "\n"
