"""The memory a command's whole process tree holds, sampled while it runs.

`/usr/bin/time`'s peak RSS is one process's: it hides a forked child's copy of
its parent's pages (a kept program's writer, linkstore.py, copies every page it
pickles: CPython writes each object's reference count). This runs the command,
and every SECONDS reads /proc/PID/smaps_rollup of it and of all its descendants.
It prints the peaks of the sums of their Pss (each shared page counted once,
split between its sharers: what the system, or a cgroup's limit, sees) and of
their Rss, and the largest single Rss.

    usage: python benchmarks/tree_memory.py [--every SECONDS] [--json OUT] -- COMMAND...

Linux only (smaps_rollup, and /proc/PID/task/PID/children to find the tree).
The command's exit status is this script's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it."""
    found = [pid]
    for parent in found:  # (grows as it is walked)
        try:
            found.extend(int(child) for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split())
        except OSError:  # ended meanwhile
            pass
    return found


def rollup(pid: int) -> dict[str, int]:
    """Rss and Pss of one process, in KiB; {} when it has ended."""
    sizes = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("Rss", "Pss"):
                sizes[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return sizes


def watch(command: list[str], every: float) -> tuple[int, dict]:
    """Run `command`; its exit status and the peaks (MiB, and when the Pss peak was)."""
    proc = subprocess.Popen(command)
    start = time.monotonic()
    peaks = {"pss_sum_mib": 0, "rss_sum_mib": 0, "rss_max_mib": 0, "processes_at_pss_peak": 0, "pss_peak_at_s": 0.0}
    while proc.poll() is None:
        sizes = [s for s in map(rollup, descendants(proc.pid)) if s]
        pss = sum(s.get("Pss", 0) for s in sizes) // 1024
        if pss > peaks["pss_sum_mib"]:
            peaks.update(pss_sum_mib=pss, processes_at_pss_peak=len(sizes),
                         pss_peak_at_s=round(time.monotonic() - start, 1))
        peaks["rss_sum_mib"] = max(peaks["rss_sum_mib"], sum(s.get("Rss", 0) for s in sizes) // 1024)
        peaks["rss_max_mib"] = max([peaks["rss_max_mib"]] + [s.get("Rss", 0) // 1024 for s in sizes])
        time.sleep(every)
    return proc.returncode, peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=0.5, help="seconds between samples (default 0.5)")
    parser.add_argument("--json", help="also write the peaks to this file")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    if not Path("/proc/self/smaps_rollup").exists():
        print("tree_memory.py: /proc/self/smaps_rollup is not here (Linux 4.14 or later is needed)", file=sys.stderr)
        return 2
    status, peaks = watch(command, args.every)
    print(f"tree memory: Pss summed {peaks['pss_sum_mib']} MiB ({peaks['processes_at_pss_peak']} processes, "
          f"at {peaks['pss_peak_at_s']} s); Rss summed {peaks['rss_sum_mib']} MiB; largest process "
          f"{peaks['rss_max_mib']} MiB", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(peaks, indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
