"""Compare allocscan's runtime signatures with what a kernel really printed.

A console log captured by the oracle holds one block per case, between
`ORACLE-CASE-BEGIN <case>` and `ORACLE-CASE-END <case>` lines. In a block the
first report (`BUG: sleeping function ...`, `WARNING: ...`, `... page
allocation failure: ...`) is compared with the prediction:

* header lines (the report's first line up to `Call Trace:`) one for one, in
  order, verbatim after the placeholders below;
* the call trace's frames from its first line, in order, as many as the
  prediction names (the prediction stops at the witness's entry function;
  what called that is the kernel's business), `<TASK>`/`<IRQ>` markers
  included; unreliable `? ` frames are not part of the trace.

Placeholders, documented here because they are the only freedom a prediction
has:

| in a prediction | stands for |
| --- | --- |
| `<pid>`, `<cpu>`, `<uid>` | a number |
| `<comm>` | the task's name (`insmod`, `swapper/0`, `ksoftirqd/0` ...) |
| `<taint>` | `Not tainted` or `Tainted: <flags>` (the oracle's modules are out of tree: `O`; after the first report `W`) |
| `#1` after the release | the build number (`#N`: how often the build directory was linked; distributions print `#1`) |
| `<hardware>` | the DMI machine name and BIOS |
| `<modules>` | the `Modules linked in:` list |
| `+0x.../0x...` | a frame's offset and size |
| `Tainted: <taint flags, when tainted>` | a line of its own (6.12): the taint spelt out (`Tainted: [W]=WARN, [O]=OOT_MODULE`); printed only by a tainted kernel, so it may be absent |
| `<registers>` | the register dump of a WARNING (`Code:`, `RSP:`, `RAX:` ... lines) |

Frame names are compared without the compiler's clone suffixes (`.cold`,
`.constprop.N`, `.isra.N`, `.part.N`): they follow the compiler, not the
kernel. A prediction line `(...)` is a note to the reader, not a log line; a
prediction made only of such notes and starting `(no log line` says the
failure is silent: the block must then hold no report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BEGIN = "ORACLE-CASE-BEGIN "
END = "ORACLE-CASE-END "

_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_HEADER = re.compile(r"(BUG: sleeping function called from invalid context at \S+"
                     r"|WARNING: CPU: \d+ PID: \d+ at \S+ \S+"
                     r"|\S.*?: page allocation failure: order:\d+)")
_TAINT = re.compile(r"(Not tainted|Tainted: [A-Z ]*?[A-Z])\s+(?=\d)")
_BUILD = re.compile(r"(?<=\d) #\d+$")
_REGISTER_LINE = re.compile(r"^(Code: |RSP: |RAX: |RDX: |RBP: |R10: |R13: |FS: |CS: |CR2: |DR0: |DR3: |PKRU: )")
_FRAME = re.compile(r"^\s*(?P<func>[A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[[\w-]+\])?$")
_MARKER = re.compile(r"^\s*(?P<marker></?(?:TASK|IRQ|SOFTIRQ|NMI)>)\s*$")
_CLONE = re.compile(r"(\.(?:cold|constprop|isra|part|lto_priv)(?:\.\d+)?)+$")
_PLACEHOLDERS = {
    "<pid>": r"\d+",
    "<cpu>": r"\d+",
    "<uid>": r"\d+",
    "<comm>": r".+?",
    "<hardware>": r".+",
    "<modules>": r".*",
    "+0x.../0x...": r"\+0x[0-9a-f]+/0x[0-9a-f]+",
}


@dataclass
class RealReport:
    header: list[str]
    frames: list[str]


@dataclass
class Prediction:
    header: list[str]
    frames: list[str]
    silent: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    case: str
    match: bool
    real: RealReport | None
    predicted: Prediction | None
    problems: list[str] = field(default_factory=list)


def clean(line: str) -> str:
    return _TIMESTAMP.sub("", line.rstrip("\r\n")).rstrip()


def case_blocks(console: str) -> dict[str, list[str]]:
    """The cleaned log lines of each case, between its BEGIN and END markers."""
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for raw in console.splitlines():
        line = clean(raw)
        if line.startswith(BEGIN):
            current = line[len(BEGIN):].split()[0]
            blocks[current] = []
        elif line.startswith(END):
            current = None
        elif current is not None:
            blocks[current].append(line)
    return blocks


def frame_name(name: str) -> str:
    return _CLONE.sub("", name)


def real_report(lines: list[str]) -> RealReport | None:
    """The first report in a case's block: its header lines and its trace."""
    start = next((i for i, line in enumerate(lines) if _HEADER.search(line)), None)
    if start is None:
        return None
    header, frames = [], []
    i = start
    while i < len(lines) and lines[i].strip() != "Call Trace:":
        line = lines[i]
        if i == start:
            line = line[_HEADER.search(line).start():]
        if not _REGISTER_LINE.match(line.strip()):
            header.append(line)
        i += 1
    for line in lines[i + 1:]:
        if line.strip().startswith("? "):  # unreliable: a stale return address on the stack
            continue
        m = _MARKER.match(line)
        if m:
            frames.append(m.group("marker"))
            continue
        m = _FRAME.match(line)
        if not m:
            break
        frames.append(frame_name(m.group("func")))
    return RealReport(header, frames)


def parse_prediction(signature: list[str]) -> Prediction:
    """Split a runtime signature into header lines, frames and notes."""
    notes = [line for line in signature if line.startswith("(")]
    lines = [line for line in signature if not line.startswith("(")]
    silent = not lines and any(n.startswith("(no log line") for n in notes)
    if "Call Trace:" in lines:
        cut = lines.index("Call Trace:")
        header, trace = lines[:cut], lines[cut + 1:]
    else:
        header, trace = lines, []
    frames = []
    for line in trace:
        if not line.startswith(" "):
            break
        name = line.strip()
        frames.append(name if _MARKER.match(name) else frame_name(name))
    return Prediction(header, frames, silent, notes)


def _line_regex(predicted: str) -> re.Pattern:
    text = _BUILD.sub(" #<build>", _TAINT.sub("<taint> ", predicted))
    pattern = ""
    i = 0
    while i < len(text):
        for key, rx in _PLACEHOLDERS.items():
            if text.startswith(key, i):
                pattern += rx
                i += len(key)
                break
        else:
            if text.startswith("<taint>", i) or text.startswith("<build>", i):
                pattern += text[i:i + 7]
                i += 7
            else:
                pattern += re.escape(text[i])
                i += 1
    return re.compile(pattern + r"$")


def line_matches(predicted: str, real: str) -> bool:
    return bool(_line_regex(predicted).match(_BUILD.sub(" #<build>", _TAINT.sub("<taint> ", real))))


def compare_case(case: str, lines: list[str], signatures: list[list[str]] | None) -> CaseResult:
    """Compare a case's block with each predicted text: a match with any of them is a match
    (a prediction may hold several texts, one per run-time case of its context)."""
    if not signatures:
        return _compare_one(case, lines, None)
    results = [_compare_one(case, lines, s) for s in signatures]
    return next((r for r in results if r.match), results[0])


OPTIONAL_TAINT = "Tainted: <taint flags, when tainted>"
_TAINT_FLAGS = re.compile(r"^Tainted: (\[[A-Z]\]=\w+(, )?)+$")


def _header_problems(predicted: list[str], real: list[str]) -> list[str]:
    """Header lines one for one; the optional taint line matches a real taint line or nothing."""
    problems = []
    r = 0
    for n, p in enumerate(predicted):
        line = real[r] if r < len(real) else None
        if p == OPTIONAL_TAINT:
            if line is not None and _TAINT_FLAGS.match(line):
                r += 1
            continue
        if line is None or not line_matches(p, line):
            problems.append(f"header line {n + 1}: predicted {p!r}, real {line!r}")
        r += 1
    problems += [f"header line not predicted: {x!r}" for x in real[r:]]
    return problems


def _compare_one(case: str, lines: list[str], signature: list[str] | None) -> CaseResult:
    real = real_report(lines)
    if signature is None:
        problems = [] if real is None else ["the kernel printed a report; allocscan predicted nothing"]
        return CaseResult(case, real is None, real, None, problems)
    pred = parse_prediction(signature)
    if pred.silent or real is None:
        problems = []
        if pred.silent and real is not None:
            problems.append("predicted silent, the kernel printed a report")
        if real is None and not pred.silent:
            problems.append("the kernel printed no report")
        return CaseResult(case, not problems, real, pred, problems)
    problems = _header_problems(pred.header, real.header)
    got = real.frames[:len(pred.frames)]
    if got != pred.frames:
        problems.append(f"frames: predicted {pred.frames}, real {real.frames[:len(pred.frames) + 2]}")
    return CaseResult(case, not problems, real, pred, problems)
