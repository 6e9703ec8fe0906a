"""An allocation whose size is always above what the allocator can return.

## What it does
Flags allocation calls whose smallest possible size is already above the
allocator's maximum: `KMALLOC_MAX_SIZE` for the kmalloc family (4 MiB with
4 KiB pages on 6.1), `PAGE_SIZE << MAX_ORDER` for page and DMA allocations,
or an explicit order above the largest buddy order.

## Why is this bad?
The call can never succeed. Every time it runs, the page allocator rejects
the order before trying (`WARNING: ... at mm/page_alloc.c ... __alloc_pages`
unless `__GFP_NOWARN`) and returns NULL.

## Example
```c
ring = kzalloc(8 * 1024 * 1024, GFP_KERNEL);
```

Use instead:
```c
ring = kvzalloc(8 * 1024 * 1024, GFP_KERNEL);   /* or vzalloc(), or smaller chunks */
```

## Known problems
Architectures with larger pages or `CONFIG_ARCH_FORCE_MAX_ORDER` raise the
maximum; the analysis uses the scanned tree's mmzone.h and 4 KiB pages. An
architecture's own files (arch/<name>/) whose default page is larger (sparc64's
8 KiB, ia64's and loongarch's 16 KiB) are not reported.

## Options
None.

## References
include/linux/slab.h `KMALLOC_MAX_SIZE`; include/linux/mmzone.h `MAX_ORDER`.
"""

from __future__ import annotations

from ..analyze import Analysis
from .as003_unbounded_allocation_size import max_bytes
from .base import Finding, base_properties, context_witness, human_bytes, other_page_size, value_witness

ID = "AS004"
NAME = "allocation-exceeds-maximum"
LEVEL = "error"
PRECISION = "very-high"
SEVERITY = "error"  # GitHub's problem.severity: error | warning | recommendation
TAGS = ("correctness", "kernel", "memory-allocation")
SHORT = "Allocation always larger than the allocator's maximum"
FIX = "use vmalloc()/kvmalloc() for buffers this large, or split the buffer into chunks"


def check(analysis: Analysis, options) -> list[Finding]:
    out = []
    for s in analysis.reportable_sites():
        size = s.size
        if s.allocator is None or not size.known:
            continue
        limit = max_bytes(analysis, s)
        if limit is None or size.lo <= limit:
            continue
        if other_page_size(s, analysis.kernel):
            continue  # sparc64's 8 KiB pages: another largest request
        msg = (f"'{s.site.callee}' always asks for at least {human_bytes(size.lo)}, above the "
               f"{human_bytes(limit)} it can ever return: it always fails")
        props = base_properties(s, analysis.kernel.release)
        out.append(Finding.at_site(ID, s, LEVEL, msg, props, context_witness(s), value_witness(s, size)))
    return out
