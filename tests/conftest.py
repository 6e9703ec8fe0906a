"""Shared fixtures: the project root, the corpora, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "corpora"


@pytest.fixture
def run_cli(tmp_path):
    """Run `python -m allocscan ...`; returns the CompletedProcess."""

    def run(*args: str, cwd: Path | None = None, stdin: str | None = None):
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
        return subprocess.run([sys.executable, "-m", "allocscan", *args], capture_output=True, text=True,
                              cwd=cwd or tmp_path, env=env, input=stdin, timeout=300)

    return run
