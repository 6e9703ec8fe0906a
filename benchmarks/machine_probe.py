"""How fast this machine is right now, for reading benchmark figures taken at
different hours: the cost of a page fault (touching fresh anonymous memory) and of
a plain Python loop. On the VM this project is measured on, both drift by 20% or
more within the hour, and a warm whole-tree scan takes about a million faults.

    usage: python benchmarks/machine_probe.py
"""

import mmap
import time

PAGE = mmap.PAGESIZE


def fault_cost(size: int = 1 << 30) -> float:
    """Microseconds per page to touch `size` bytes of fresh anonymous memory."""
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = time.perf_counter()
    for offset in range(0, size, PAGE):
        region[offset] = 1
    elapsed = time.perf_counter() - start
    region.close()
    return elapsed / (size // PAGE) * 1e6


def loop_cost(n: int = 10_000_000) -> float:
    """Seconds for n iterations of a small Python loop."""
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i & 7
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"page fault {fault_cost():.2f} us/page (touch loop included), python loop {loop_cost():.2f} s")
