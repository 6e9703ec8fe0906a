"""Parse kernel logs into allocation-failure and atomic-sleep reports.

Accepts dmesg with or without `[ 123.456]` timestamps, `journalctl -k` and
syslog prefixes (`Nov 25 20:37:02 host kernel: `), `<4>` priority prefixes,
CRLF line ends, several reports in one log with unrelated lines between
them, and buddy lines that were wrapped or cut. Recognised reports:

* `page allocation failure: order:N, mode:0x...` (3.x `mode:0x..` to 6.x
  `mode:0x..(names), nodemask=..,cpuset=..,mems_allowed=..`);
* `BUG: sleeping function called from invalid context at FILE:LINE`;
* `BUG: scheduling while atomic: comm/pid/0xCOUNT`;
* the order WARN of `__alloc_pages*` for requests above the maximum order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX_RES = (
    re.compile(r"^<\d>"),  # printk priority
    re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: "),  # syslog / journalctl -k
    re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:?\d\d|Z)? \S+ kernel: "),  # journalctl -o short-iso
    re.compile(r"^kernel: "),
    re.compile(r"^\[\s*\d+\.\d+\]\s?"),  # dmesg timestamp
    re.compile(r"^\[\s*T\d+\]\s?"),  # CONFIG_PRINTK_CALLER thread id
)

FAILURE_RE = re.compile(
    r"(?:(?P<comm>\S.*?): )?page allocation failure: order:(?P<order>\d+), mode:(?P<mode>0x[0-9a-fA-F]+)"
    r"(?:\((?P<names>[^)]*)\))?(?:, nodemask=(?P<nodemask>[^,\s]*))?(?:,\s*cpuset=(?P<cpuset>[^,]*))?"
    r"(?:,\s*mems_allowed=(?P<mems>\S+))?")
SLEEP_RE = re.compile(r"BUG: sleeping function called from invalid context at (?P<file>\S+?):(?P<line>\d+)")
SCHED_RE = re.compile(r"BUG: scheduling while atomic: (?P<comm>.+)/(?P<pid>\d+)/0x(?P<preempt>[0-9a-fA-F]+)")
WARN_RE = re.compile(r"WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) at (?P<file>mm/page_alloc\.c):(?P<line>\d+) "
                     r"(?P<func>__alloc_pages\w*)")
CPU_RE = re.compile(r"CPU: (?P<cpu>\d+)(?: UID: \d+)? PID: (?P<pid>\d+) Comm: (?P<comm>.*?) "
                    r"(?P<taint>Not tainted|Tainted: [A-Z ]+?)\s+(?P<release>\d+\.\d+[\w.+~-]*)")
FRAME_RE = re.compile(r"(?:\[<?[0-9a-fA-F]+>?\]\s*)?(?P<unreliable>\? )?(?P<func>[A-Za-z_][\w.]*)\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+"
                      r"(?: \[(?P<module>[\w-]+)\])?")
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


@dataclass
class Report:
    kind: str  # "page-allocation-failure" | "sleeping-in-atomic" | "scheduling-while-atomic" | "order-warning"
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


class LogError(Exception):
    pass


def clean_line(raw: str) -> str:
    line = raw.rstrip("\r\n").rstrip("\r")
    for _ in range(3):
        before = line
        for rx in _PREFIX_RES:
            line = rx.sub("", line, count=1)
        if line == before:
            break
    return line.rstrip()


def parse_log(text: str) -> list[Report]:
    """All recognised reports in a log, in order."""
    lines = [clean_line(x) for x in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    reports: list[Report] = []
    current: Report | None = None
    pending_buddy: ZoneInfo | None = None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        header = _header(stripped, number)
        if header is not None:
            current = header
            reports.append(current)
            pending_buddy = None
            continue
        if current is None or not stripped:
            continue
        if pending_buddy is not None:
            # A wrapped buddy line: keep reading items until "= NkB".
            if BUDDY_ITEM_RE.match(stripped) or BUDDY_TOTAL_RE.search(stripped) or stripped.startswith("="):
                _buddy_items(pending_buddy, stripped)
                if pending_buddy.buddy_total_kb is not None:
                    pending_buddy = None
                continue
            pending_buddy.buddy_cut = True
            pending_buddy = None
        pending_buddy = _report_line(current, stripped) or None
    if pending_buddy is not None:
        pending_buddy.buddy_cut = True
    return reports


def _header(line: str, number: int) -> Report | None:
    m = FAILURE_RE.search(line)
    if m:
        return Report("page-allocation-failure", m.group(0), number, comm=m.group("comm"),
                      order=int(m.group("order")), mode=int(m.group("mode"), 16), mode_names=m.group("names"),
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
    """Take one line of a report; returns a zone whose buddy line continues on the next line."""
    m = CPU_RE.search(line)
    if m and report.release is None:
        report.cpu = int(m.group("cpu"))
        report.pid = int(m.group("pid"))
        report.comm = report.comm or m.group("comm")
        report.release = m.group("release")
        return None
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
    if not line.startswith(("RIP:", "RSP:", "Code:", "pc :", "lr :")):
        fm = FRAME_RE.search(line)
        if fm:
            report.frames.append(Frame(fm.group("func"), bool(fm.group("unreliable")), fm.group("module")))
    return None


def _buddy_items(zone: ZoneInfo, text: str) -> None:
    for m in BUDDY_ITEM_RE.finditer(text):
        size_kb = int(m.group("size"))
        order = max(size_kb // 4, 1).bit_length() - 1
        zone.buddy.append((order, int(m.group("count")), m.group("types") or ""))
    t = BUDDY_TOTAL_RE.search(text)
    if t:
        zone.buddy_total_kb = int(t.group("total"))
