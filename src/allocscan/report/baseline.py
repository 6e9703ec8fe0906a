"""Baselines: compare a scan with an earlier SARIF log of allocscan.

Results are matched by rule id and `partialFingerprints["allocscan/v1"]`,
never by line. Each current finding gets `baselineState` `new`,
`unchanged` or `updated` (same finding, other message or level); results
of the baseline that are gone come back as `absent`, so a maintainer sees
what a change fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..rules.base import Finding


class BaselineError(Exception):
    pass


def load_baseline(path: str) -> dict[tuple[str, str], dict]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BaselineError(f"{path}: cannot read ({err})") from None
    except json.JSONDecodeError as err:
        raise BaselineError(f"{path}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(doc, dict) or doc.get("version") != "2.1.0" or not isinstance(doc.get("runs"), list):
        raise BaselineError(f"{path}: not a SARIF 2.1.0 log")
    out = {}
    for run in doc["runs"]:
        for result in run.get("results", []) or []:
            fp = (result.get("partialFingerprints") or {}).get("allocscan/v1")
            if fp and result.get("baselineState") != "absent":
                out[(result.get("ruleId", ""), fp)] = result
    return out


def apply_baseline(findings: list[Finding], baseline: dict[tuple[str, str], dict]) -> list[dict]:
    """Set each finding's baseline_state; return the baseline results that are absent now."""
    seen = set()
    for f in findings:
        key = (f.rule_id, f.fingerprint)
        old = baseline.get(key)
        if old is None:
            f.baseline_state = "new"
            continue
        seen.add(key)
        same = old.get("level") == f.level and (old.get("message") or {}).get("text", "").startswith(f.message)
        f.baseline_state = "unchanged" if same else "updated"
    absent = []
    for key, result in baseline.items():
        if key not in seen:
            copy = dict(result)
            copy["baselineState"] = "absent"
            absent.append(copy)
    return absent
