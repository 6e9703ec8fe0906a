"""Suppression comments: `/* allocscan: ignore AS002 -- reason */`."""

from __future__ import annotations

import re

from ..facts import Suppression
from .file import FileExtraction

_SUPPRESS_RE = re.compile(r"allocscan:\s*ignore\b([^\n*]*)")


def suppressions(fx: FileExtraction) -> None:
    if "allocscan" not in fx.original:
        return
    for m in _SUPPRESS_RE.finditer(fx.original):
        line = fx.original.count("\n", 0, m.start()) + 1
        rest = m.group(1).strip()
        rules = tuple(re.findall(r"\bAS\d{3}\b", rest))
        reason = re.sub(r"^[\sAS0-9,]*[-\u2014:]*\s*", "", rest).strip()
        fx.facts.suppressions.append(Suppression(line, rules, reason))


# --- helpers on nodes -----------------------------------------------------
