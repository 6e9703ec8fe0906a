"""allocscan: a static analyzer for Linux kernel driver allocation sites.

Pipeline (each stage a pure function of the one before):
discover -> extract (per file, parallel, cached) -> link -> analyze -> rules -> report.
"""

__version__ = "0.1.0"
