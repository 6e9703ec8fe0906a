"""Parse kernel logs into allocation-failure and atomic-sleep reports.

Reading happens in four steps:

1. `read_lines`: every line loses its prefixes, which are kept apart as
   fields: `<4>` priorities, syslog and `journalctl -k` prefixes
   (`Nov 25 20:37:02 host kernel: `), dmesg timestamps (`[ 123.456789]`), and
   the caller ids of CONFIG_PRINTK_CALLER (`[ T123]` a task, `[ C3]` a CPU in
   interrupt context). CRLF line ends are fine.
2. With caller ids, the log is split into one stream per caller, so reports
   printed by several CPUs at once are read apart.
3. `stitch_headers`: a failure header that other CPUs' lines split apart
   (`swapper/3: page allocation failure: order:0`, a stack line of another
   CPU, `, mode:0x1080020(GFP_ATOMIC), nodemask=` ...) is rebuilt from the
   continuation fragments that follow it in its stream, within a second when
   the log has timestamps.
4. Each stream is read into reports. A report's frames are those of its own
   stack dump (after its `CPU:`/`Call Trace:` line); frames outside any
   report form orphan stacks, and an orphan stack that starts inside the
   allocator is kept as a report of its own, a fragment without a header.

Recognised reports:

* `page allocation failure: order:N, mode:0x...` (3.x `mode:0x..` to 6.x
  `mode:0x..(names), nodemask=..,cpuset=..,mems_allowed=..`);
* `BUG: sleeping function called from invalid context at FILE:LINE`;
* `BUG: scheduling while atomic: comm/pid/0xCOUNT`;
* the order WARN of `__alloc_pages*` for requests above the maximum order;
* a call trace fragment that starts in the allocator (`stack-fragment`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .frames import allocator_chain

_PRIORITY_RE = re.compile(r"^<\d>")
_HOST_PREFIX_RES = (
    re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ kernel: "),  # syslog / journalctl -k
    re.compile(r"^\d{4}-\d\d-\d\d[T ][\d:.,]+(?:[+-]\d\d:?\d\d|Z)? \S+ kernel: "),  # short-iso, rsyslog
    re.compile(r"^kernel: "),
    re.compile(r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]\s?"),  # dmesg -T
)
_TIMESTAMP_RE = re.compile(r"^\[\s*(?P<ts>\d+\.\d+)\]\s?")
_CALLER_RE = re.compile(r"^\[\s*(?P<caller>[TC]\d+)\]\s?")  # CONFIG_PRINTK_CALLER

FAILURE_RE = re.compile(
    r"(?:(?P<comm>\S.*?): )?page allocation failure: order:(?P<order>\d+)"
    r"(?:, mode:(?P<mode>0x[0-9a-fA-F]+)(?:\((?P<names>[^)]*)\))?)?(?:, nodemask=(?P<nodemask>[^,\s]*))?"
    r"(?:,\s*cpuset=(?P<cpuset>[^,]*))?(?:,\s*mems_allowed=(?P<mems>\S+))?")
SLEEP_RE = re.compile(r"BUG: sleeping function called from invalid context at (?P<file>\S+?):(?P<line>\d+)")
SCHED_RE = re.compile(r"BUG: scheduling while atomic: (?P<comm>.+)/(?P<pid>\d+)/0x(?P<preempt>[0-9a-fA-F]+)")
WARN_RE = re.compile(r"WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) at (?P<file>mm/page_alloc\.c):(?P<line>\d+) "
                     r"(?P<func>__alloc_pages\w*)")
CPU_RE = re.compile(r"CPU: (?P<cpu>\d+)(?: UID: \d+)? PID: (?P<pid>\d+) Comm: (?P<comm>.*?) "
                    r"(?P<taint>Not tainted|Tainted: [A-Z ]+?)\s+(?P<release>\d+\.\d+[\w.+~-]*)")
FRAME_RE = re.compile(r"(?:\[<?[0-9a-fA-F]+>?\]\s*)?(?P<unreliable>\? )?(?P<func>[A-Za-z_][\w.]*)\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+"
                      r"(?: \[(?P<module>[\w-]+)\])?")
TRACE_START_RE = re.compile(r"^(?:Call [Tt]race|Backtrace):?\s*$")
MARKER_RE = re.compile(r"^<(?P<close>/?)(?P<name>IRQ|TASK|SOFTIRQ|NMI|EOI)>$")
END_TRACE_RE = re.compile(r"^-+\[ end trace")
_NOT_FRAMES = ("RIP:", "RSP:", "Code:", "pc :", "lr :", "WARNING:")
ATOMIC_RE = re.compile(r"in_atomic\(\): (?P<in_atomic>\d+), irqs_disabled\(\): (?P<irqs>\d+)(?:, non_block: \d+)?,"
                       r" pid: (?P<pid>\d+), name: (?P<comm>.+)")
PREEMPT_RE = re.compile(r"preempt_count: (?P<count>[0-9a-fA-F]+), expected: (?P<expected>[0-9a-fA-F]+)")
MEMINFO_FREE_RE = re.compile(r"\bfree:(?P<free>\d+) free_pcp:(?P<pcp>\d+) free_cma:(?P<cma>\d+)")
ZONE_RE = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>DMA32|DMA|Normal|HighMem|Movable|Device) free:(?P<free>\d+)kB")
ZONE_FIELD_RE = re.compile(r"\b(min|low|high|managed|present|free_cma|reserved_highatomic|boost):(\d+)[kK]B")
RESERVE_RE = re.compile(r"lowmem_reserve\[\]:(?P<values>(?: \d+)+)")
BUDDY_START_RE = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>DMA32|DMA|Normal|HighMem|Movable|Device): (?P<rest>\d+\*\d+kB.*)$")
BUDDY_ITEM_RE = re.compile(r"(?P<count>\d+)\*(?P<size>\d+)kB(?: \((?P<types>[UMEHCRI]+)\))?")
_ZONE_FIELDS = {"min": "min_kb", "low": "low_kb", "high": "high_kb", "managed": "managed_kb",
                "free_cma": "free_cma_kb", "reserved_highatomic": "reserved_highatomic_kb"}
BUDDY_TOTAL_RE = re.compile(r"= (?P<total>\d+)kB\s*$")

# How far after a split failure header its continuation fragments may come.
STITCH_WINDOW_LINES = 40
STITCH_WINDOW_SECONDS = 1.0
# An orphan stack is a fragment report only with this many reliable frames.
FRAGMENT_MIN_FRAMES = 3


@dataclass
class ZoneInfo:
    name: str
    node: int | None = None
    free_kb: int | None = None
    min_kb: int | None = None
    low_kb: int | None = None
    high_kb: int | None = None
    managed_kb: int | None = None
    free_cma_kb: int | None = None
    reserved_highatomic_kb: int | None = None
    lowmem_reserve: list[int] = field(default_factory=list)
    buddy: list[tuple[int, int, str]] = field(default_factory=list)  # (order, count, types) for every listed order
    buddy_total_kb: int | None = None
    buddy_cut: bool = False  # the buddy line ended early (cut)


@dataclass
class Frame:
    func: str
    unreliable: bool = False
    module: str | None = None
    line_no: int = 0


@dataclass
class Report:
    kind: str  # "page-allocation-failure" | "sleeping-in-atomic" | "scheduling-while-atomic" | "order-warning" | "stack-fragment"
    header: str
    line_no: int
    comm: str | None = None
    pid: int | None = None
    cpu: int | None = None
    release: str | None = None
    order: int | None = None
    mode: int | None = None
    mode_names: str | None = None
    nodemask: str | None = None
    cpuset: str | None = None
    file: str | None = None
    file_line: int | None = None
    preempt_count: int | None = None
    in_atomic: int | None = None
    irqs_disabled: int | None = None
    frames: list[Frame] = field(default_factory=list)
    meminfo_free_pages: int | None = None
    meminfo_free_cma_pages: int | None = None
    zones: list[ZoneInfo] = field(default_factory=list)
    timestamp: float | None = None  # the header's dmesg timestamp
    caller_id: str | None = None  # the header's CONFIG_PRINTK_CALLER id (T123 / C3)
    header_lines: tuple[int, ...] = ()  # the log lines the header was rebuilt from, when it was split
    first_marker: str | None = None  # a stack marker (<IRQ>, <SOFTIRQ>) printed before the first frame
    end_line: int = 0  # last line of the report's stack (fragments)


class LogError(Exception):
    pass


@dataclass(frozen=True)
class LogLine:
    number: int  # 1-based line of the log
    text: str  # the message, prefixes removed
    timestamp: float | None = None
    caller: str | None = None
    joined: tuple[int, ...] = ()  # lines a stitched header was rebuilt from


def split_prefixes(raw: str) -> tuple[str, float | None, str | None]:
    """(message, timestamp, caller id) of one raw log line."""
    line = raw.rstrip("\r\n").rstrip("\r")
    timestamp = caller = None
    for _ in range(4):
        before = line
        line = _PRIORITY_RE.sub("", line, count=1)
        for rx in _HOST_PREFIX_RES:
            line = rx.sub("", line, count=1)
        m = _TIMESTAMP_RE.match(line)
        if m:
            timestamp = float(m.group("ts"))
            line = line[m.end():]
        m = _CALLER_RE.match(line)
        if m:
            caller = m.group("caller")
            line = line[m.end():]
        if line == before:
            break
    return line.rstrip(), timestamp, caller


def clean_line(raw: str) -> str:
    """A log line without its prefixes."""
    return split_prefixes(raw)[0]


def read_lines(text: str) -> list[LogLine]:
    out = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        message, timestamp, caller = split_prefixes(raw)
        out.append(LogLine(number, message, timestamp, caller))
    return out


def caller_streams(lines: list[LogLine]) -> list[list[LogLine]]:
    """One stream per printk caller id when the log has them (a line without one goes with the line before)."""
    if not any(line.caller for line in lines):
        return [lines]
    streams: dict[str | None, list[LogLine]] = {}
    current = None
    for line in lines:
        current = line.caller or current
        streams.setdefault(current, []).append(line)
    return list(streams.values())


# --- rebuilding split failure headers ------------------------------------------

# What a failure header may still lack, in print order, and how its continuation starts.
_CONTINUATIONS = (
    ("mode", re.compile(r"^,?\s*mode:0x[0-9a-fA-F]+")),
    ("nodemask", re.compile(r"^,?\s*nodemask=")),
    ("nodemask value", re.compile(r"^(?:\(null\)|[\d,-]+)(?=,|$)")),
    ("cpuset", re.compile(r"^,\s*cpuset=")),
    ("cpuset value", re.compile(r"^/\S*?(?=,|$)")),
    ("mems_allowed", re.compile(r"^,\s*mems_allowed=")),
    ("mems_allowed value", re.compile(r"^[\d,-]+$")),
)
_FAILURE_START_RE = re.compile(r"page allocation failure: order:\d+")


def _missing_part(header: str) -> str | None:
    """The next part a failure header lacks, or None when it is whole."""
    for key, value in (("mode:0x", "mode"), ("nodemask=", "nodemask"), ("cpuset=", "cpuset"),
                       ("mems_allowed=", "mems_allowed")):
        if key not in header:
            return value
        if header.endswith(key):
            return value + " value"
    return None


def _continuation(header: str, text: str) -> str | None:
    """`text` joined to `header` when it is the header's next part, else None."""
    missing = _missing_part(header)
    if missing is None:
        return None
    wanted = dict(_CONTINUATIONS)[missing]
    m = wanted.match(text.strip())
    if not m:
        return None
    fragment = text.strip()
    if missing in ("mode", "nodemask") and not fragment.startswith(","):
        fragment = ", " + fragment
    return header + fragment


def stitch_headers(lines: list[LogLine]) -> list[LogLine]:
    """Rebuild failure headers whose parts other lines split apart; the parts' lines are consumed."""
    consumed: set[int] = set()
    out: list[LogLine] = []
    for i, line in enumerate(lines):
        if i in consumed:
            continue
        if not _FAILURE_START_RE.search(line.text) or _missing_part(line.text) is None:
            out.append(line)
            continue
        text, joined = line.text, [line.number]
        for j in range(i + 1, min(len(lines), i + 1 + STITCH_WINDOW_LINES)):
            other = lines[j]
            if j in consumed or not other.text.strip():
                continue
            if _FAILURE_START_RE.search(other.text):
                break  # the next failure begins: the rest is not this header's
            if line.timestamp is not None and other.timestamp is not None and not (
                    0 <= other.timestamp - line.timestamp <= STITCH_WINDOW_SECONDS):
                continue
            joined_text = _continuation(text, other.text)
            if joined_text is None:
                continue
            text = joined_text
            joined.append(other.number)
            consumed.add(j)
            if _missing_part(text) is None:
                break
        out.append(replace(line, text=text, joined=tuple(joined) if len(joined) > 1 else ()))
    return out


# --- reading a stream into reports ---------------------------------------------

def parse_log(text: str) -> list[Report]:
    """All recognised reports in a log, in log order."""
    reports: list[Report] = []
    for stream in caller_streams(read_lines(text)):
        reports.extend(_StreamReader(stitch_headers(stream)).read())
    reports.sort(key=lambda r: r.line_no)
    return reports


@dataclass
class _Dump:
    """A `CPU: N PID: P Comm: C ... release` line seen outside any report."""

    line_no: int
    cpu: int
    pid: int
    comm: str
    release: str


class _StreamReader:
    """One caller's lines -> reports, with orphan stacks kept as fragments."""

    def __init__(self, lines: list[LogLine]):
        self.lines = lines
        self.reports: list[Report] = []
        self.current: Report | None = None
        self.phase = "none"  # "pre": before its stack dump, "dump": CPU line seen, "trace": frames, "post"
        self.early: list[Frame] = []  # frames before the report's own stack dump
        self.dumped = False  # the report's CPU/Call Trace line came
        self.pending_buddy: ZoneInfo | None = None
        self.orphan: list[Frame] = []
        self.orphan_marker: str | None = None
        self.last_dump: _Dump | None = None
        self.pending_marker: str | None = None

    def read(self) -> list[Report]:
        for line in self.lines:
            self._line(line)
        self._close()
        self._end_orphan()
        return self.reports

    # --- one line ---
    def _line(self, line: LogLine) -> None:
        text = line.text.strip()
        header = _header(text, line)
        if header is not None:
            self._close()
            self._end_orphan()
            self.current, self.phase, self.early, self.dumped = header, "pre", [], False
            self.pending_marker = None
            self.reports.append(header)
            return
        if not text:
            return
        if self.pending_buddy is not None:
            # A wrapped buddy line: keep reading items until "= NkB".
            if BUDDY_ITEM_RE.match(text) or BUDDY_TOTAL_RE.search(text) or text.startswith("="):
                _buddy_items(self.pending_buddy, text)
                if self.pending_buddy.buddy_total_kb is not None:
                    self.pending_buddy = None
                return
            self.pending_buddy.buddy_cut = True
            self.pending_buddy = None
        if END_TRACE_RE.match(text):
            self._end_orphan()
            if self.current is not None and self.phase in ("dump", "trace"):
                self.phase = "post"
            return
        m = CPU_RE.search(text)
        if m:
            self._cpu_line(m, line.number)
            return
        if TRACE_START_RE.match(text):
            if self.current is not None and self.phase in ("pre", "dump"):
                self.phase, self.dumped = "dump", True
            else:
                self._end_orphan()
            return
        marker = MARKER_RE.match(text)
        if marker:
            self._marker(text, bool(marker.group("close")))
            return
        frame = _frame(text, line.number)
        if frame is not None:
            self._frame(frame)
            return
        if self.current is not None:
            if self.phase == "trace":
                self.phase = "post"
            self.pending_buddy = _report_line(self.current, text) or None
        self._end_orphan()

    def _cpu_line(self, m: re.Match, number: int) -> None:
        if self.current is not None and self.current.release is None and self.phase in ("pre", "dump"):
            report = self.current
            report.cpu = int(m.group("cpu"))
            report.pid = int(m.group("pid"))
            report.comm = report.comm or m.group("comm")
            report.release = m.group("release")
            self.phase, self.dumped = "dump", True
            return
        # Another stack dump, not this report's: what follows is an orphan stack.
        if self.current is not None and self.phase != "pre":
            self._close()
        self._end_orphan()
        self.last_dump = _Dump(number, int(m.group("cpu")), int(m.group("pid")), m.group("comm"), m.group("release"))

    def _marker(self, text: str, closing: bool) -> None:
        if closing:
            return
        if self.current is not None and self.phase in ("dump", "trace"):
            if self.phase == "dump" and not self.current.frames:
                self.pending_marker = text
            return
        if not self.orphan:
            self.orphan_marker = text

    def _frame(self, frame: Frame) -> None:
        report = self.current
        if report is not None and self.phase in ("dump", "trace"):
            if not report.frames:
                report.first_marker = self.pending_marker
            report.frames.append(frame)
            self.phase = "trace"
            return
        if report is not None and self.phase == "pre":
            self.early.append(frame)
            return
        self.orphan.append(frame)

    # --- ends ---
    def _close(self) -> None:
        if self.pending_buddy is not None:
            self.pending_buddy.buddy_cut = True
            self.pending_buddy = None
        report = self.current
        if report is not None and not self.dumped and not report.frames:
            report.frames = self.early  # a trimmed paste: the frames right after the header are its own
        self.current, self.phase, self.early = None, "none", []

    def _end_orphan(self) -> None:
        frames, marker = self.orphan, self.orphan_marker
        self.orphan, self.orphan_marker = [], None
        fragment = _fragment(frames, marker, self.last_dump)
        if fragment is not None:
            self.reports.append(fragment)


def _frame(text: str, number: int) -> Frame | None:
    if text.startswith(_NOT_FRAMES):
        return None
    m = FRAME_RE.search(text)
    if not m:
        return None
    return Frame(m.group("func"), bool(m.group("unreliable")), m.group("module"), number)


def _fragment(frames: list[Frame], marker: str | None, dump: _Dump | None) -> Report | None:
    """An orphan stack as a report, when it starts inside the allocator and reaches a caller."""
    reliable = [f.func for f in frames if not f.unreliable]
    if len(reliable) < FRAGMENT_MIN_FRAMES:
        return None
    chain = allocator_chain(reliable)
    if not chain.frames or chain.caller is None or chain.entry is None:
        return None
    first, last = frames[0].line_no, frames[-1].line_no
    report = Report("stack-fragment", f"call trace without a report header (lines {first}-{last})", first,
                    frames=list(frames), first_marker=marker, end_line=last)
    if dump is not None and 0 < first - dump.line_no <= STITCH_WINDOW_LINES:
        report.cpu, report.pid, report.comm, report.release = dump.cpu, dump.pid, dump.comm, dump.release
    return report


def _header(line: str, log_line: LogLine) -> Report | None:
    number = log_line.number
    report = _header_report(line, number)
    if report is not None:
        report.timestamp = log_line.timestamp
        report.caller_id = log_line.caller
        report.header_lines = log_line.joined
    return report


def _header_report(line: str, number: int) -> Report | None:
    m = FAILURE_RE.search(line)
    if m:
        mode = m.group("mode")
        return Report("page-allocation-failure", m.group(0), number, comm=m.group("comm"),
                      order=int(m.group("order")), mode=int(mode, 16) if mode else None, mode_names=m.group("names"),
                      nodemask=m.group("nodemask"), cpuset=m.group("cpuset"))
    m = SLEEP_RE.search(line)
    if m:
        return Report("sleeping-in-atomic", m.group(0), number, file=m.group("file"), file_line=int(m.group("line")))
    m = SCHED_RE.search(line)
    if m:
        return Report("scheduling-while-atomic", m.group(0), number, comm=m.group("comm"), pid=int(m.group("pid")),
                      preempt_count=int(m.group("preempt"), 16))
    m = WARN_RE.search(line)
    if m:
        return Report("order-warning", m.group(0), number, cpu=int(m.group("cpu")), pid=int(m.group("pid")),
                      file=m.group("file"), file_line=int(m.group("line")))
    return None


def _zone(report: Report, name: str, node: str | None) -> ZoneInfo:
    node_no = int(node) if node is not None else None
    for z in report.zones:
        if z.name == name and z.node == node_no:
            return z
    z = ZoneInfo(name, node_no)
    report.zones.append(z)
    return z


def _report_line(report: Report, line: str) -> ZoneInfo | None:
    """Take one non-frame line of a report; returns a zone whose buddy line continues on the next line."""
    m = ATOMIC_RE.search(line)
    if m:
        report.in_atomic = int(m.group("in_atomic"))
        report.irqs_disabled = int(m.group("irqs"))
        report.pid = int(m.group("pid"))
        report.comm = m.group("comm").strip()
        return None
    m = PREEMPT_RE.search(line)
    if m:
        report.preempt_count = int(m.group("count"), 16)
        return None
    m = MEMINFO_FREE_RE.search(line)
    if m and not ZONE_RE.match(line):
        report.meminfo_free_pages = int(m.group("free"))
        report.meminfo_free_cma_pages = int(m.group("cma"))
        return None
    m = ZONE_RE.match(line)
    if m:
        z = _zone(report, m.group("zone"), m.group("node"))
        z.free_kb = int(m.group("free"))
        for key, value in ZONE_FIELD_RE.findall(line):
            attr = _ZONE_FIELDS.get(key)
            if attr is not None:
                setattr(z, attr, int(value))
        return None
    m = RESERVE_RE.search(line)
    if m:
        values = [int(v) for v in m.group("values").split()]
        target = report.zones[-1] if report.zones else None
        if target is not None and not target.lowmem_reserve:
            target.lowmem_reserve = values
        return None
    m = BUDDY_START_RE.match(line)
    if m:
        z = _zone(report, m.group("zone"), m.group("node"))
        _buddy_items(z, m.group("rest"))
        return z if z.buddy_total_kb is None else None
    return None


def _buddy_items(zone: ZoneInfo, text: str) -> None:
    for m in BUDDY_ITEM_RE.finditer(text):
        size_kb = int(m.group("size"))
        order = max(size_kb // 4, 1).bit_length() - 1
        zone.buddy.append((order, int(m.group("count")), m.group("types") or ""))
    t = BUDDY_TOTAL_RE.search(text)
    if t:
        zone.buddy_total_kb = int(t.group("total"))


def reliable_funcs(report: Report) -> list[str]:
    """The report's frames a reader can trust (the `? ` ones are stale stack words), innermost first."""
    return [f.func for f in report.frames if not f.unreliable]
