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


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` (with an identity for commits); its stdout."""
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout


def tables_changed(monkeypatch, directory: Path) -> None:
    """Read the tables again, with those in `directory` replacing the built-in ones."""
    from allocscan.cache import analyzer_key
    from allocscan.kernel.tables import DATA_DIR_ENV, reload_tables

    monkeypatch.setenv(DATA_DIR_ENV, str(directory))
    reload_tables()
    analyzer_key.cache_clear()


@pytest.fixture
def table_override(monkeypatch, tmp_path):
    """A directory of replacement tables; the built-in ones are restored afterwards."""
    from allocscan.cache import analyzer_key
    from allocscan.kernel.tables import reload_tables

    directory = tmp_path / "tables"
    directory.mkdir()
    yield directory
    monkeypatch.undo()
    reload_tables()
    analyzer_key.cache_clear()
