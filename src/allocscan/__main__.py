"""`python -m allocscan` runs the command line."""

from .cli import run

run()
