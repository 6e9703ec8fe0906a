"""Scan results kept by what they were computed from, so a scan of the same input is not repeated.

`allocscan diff --base HEAD` scans the base revision every time, and the base
is nearly always a tree scanned before: by the last diff, by a `scan` of the
same checkout, by CI on the target branch. A scan's findings are a function of
its inputs, so they are stored under a key that hashes every one of them:

- the analyzer: every module, data table and query of the package, and the
  tree-sitter versions (`code_key`: unlike the facts cache's key, which covers
  extraction only, the analyses and rules count here too);
- the files: each one's path and content id, and the warnings for files that
  could not be read;
- the kernel facts read from the tree (release, GFP table, orders), and with a
  whole tree the Makefiles' places and text (their `-D` flags, the modules);
- the options that change findings (minimum order, rule selection).

Scans restricted by `--kconfig` or a compilation database are not kept: their
findings carry scope annotations that depend on the build walk.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .cache import analyzer_key

KEEP = 8  # result sets kept per cache directory, most recently used first
KEEP_REVISIONS = 64  # revision records (a few hundred bytes each) kept, most recently used first
MAX_CHANGED_FILES = 200  # nearest(): a stored scan more files away than this is no starting point


@lru_cache(maxsize=1)
def code_key() -> str:
    """A hash of everything in the analyzer that findings depend on: the facts' key
    (version, extraction, tables, queries) and every other module."""
    h = hashlib.sha1(analyzer_key().encode())
    package = Path(__file__).parent
    for module in sorted(package.rglob("*.py")):
        h.update(module.relative_to(package).as_posix().encode())
        h.update(module.read_bytes())
    for dist in ("tree-sitter", "tree-sitter-c"):
        try:
            h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return h.hexdigest()


def scan_key(keys, kernel, makefiles: list[tuple[str, str]] | None, min_order: int, select, ignore) -> str:
    """The key of a scan's results: `keys` (extract.driver.ContentKeys), the KernelInfo,
    the Makefiles' directory and text (a whole tree) and the options."""
    h = hashlib.sha1(code_key().encode())
    h.update(repr((min_order, sorted(select or []), sorted(ignore or []))).encode())
    h.update(pickle.dumps(kernel, protocol=pickle.HIGHEST_PROTOCOL))
    for _, rel, sha in keys.keyed:
        h.update(f"{rel}\0{sha}\n".encode())
    for warning in keys.warnings:
        h.update(f"!{warning}\n".encode())
    if makefiles is not None:
        h.update(b"makefiles")
        for directory, text in makefiles:
            h.update(f"{directory}\0".encode(errors="surrogateescape"))
            h.update(hashlib.sha1(text.encode(errors="surrogateescape")).digest())
    return h.hexdigest()


@dataclass
class StoredResult:
    findings: list
    suppressed: list
    warnings: list[str]
    stats: object  # extract.driver.ExtractStats
    analysis_stats: dict
    # What the scan read (relative path -> content id) and its pipeline.context_key():
    # a later scan of the same tree after a change starts from the nearest (nearest()).
    file_keys: dict[str, str] = field(default_factory=dict)
    context_key: str = ""


@dataclass
class KeptRevision:
    """What a scan of a whole git revision kept, found by the revision's tree alone
    (ResultCache.revision): the key of its results and what discovering the revision
    found (its warnings, the kernel facts), without the lists of files. A diff whose
    base was scanned before then neither lists nor keys the base's 52,000 files."""

    result_key: str
    discovery: object  # discover.Discovery, its lists of files left empty


class ResultCache:
    """Results under `directory`/results, at most KEEP of them (the least recently used go),
    and the revision records under `directory`/results/revisions."""

    def __init__(self, directory: Path | None):
        self.directory = directory / "results" if directory is not None else None

    def has(self, key: str) -> bool:
        """Whether results are kept under `key` (not read)."""
        return self.directory is not None and (self.directory / f"{key}.pkl").is_file()

    def get(self, key: str) -> StoredResult | None:
        if self.directory is None:
            return None
        stored = _load(self.directory / f"{key}.pkl")
        if stored is not None:
            try:
                os.utime(self.directory / f"{key}.pkl")  # recently used
            except OSError:
                pass
        return stored

    def nearest(self, context_key: str, file_keys: dict[str, str], keys: list[str] | None = None):
        """The kept scans made with the same analyzer, kernel facts, Makefiles and
        options (`context_key`) of other files than `file_keys` (at least one, at most
        MAX_CHANGED_FILES), the nearest first: the previous scans an incremental one may
        start from (incremental.py). The base of a diff is often a commit near one
        scanned before: CI's last run on the target branch, the last diff's base.
        Empty when a scan of exactly these files is kept: that one is the answer
        (`allocscan scan`, which does not take it, analyses everything again).
        Read one by one, as they are asked for; `keys`: their keys as nearest_keys()
        gave them (another process asked it, pipeline.nearest_scans)."""
        for key in self.nearest_keys(context_key, file_keys) if keys is None else keys:
            stored = _load(self.directory / f"{key}.pkl")
            if stored is not None:
                yield stored

    def nearest_keys(self, context_key: str, file_keys: dict[str, str]) -> list[str]:
        """The keys of the kept scans nearest() reads, in its order."""
        if self.directory is None or not context_key:
            return []
        found: list[tuple[int, str]] = []
        for path in sorted(self.directory.glob("*.pkl")):
            stored = _load(path)
            if stored is None or stored.context_key != context_key or not stored.file_keys:
                continue
            before = stored.file_keys
            changed = sum(1 for rel, sha in file_keys.items() if before.get(rel) != sha)
            changed += sum(1 for rel in before if rel not in file_keys)
            if changed == 0:
                return []
            if changed <= MAX_CHANGED_FILES:
                found.append((changed, path.stem))
        return [key for _, key in sorted(found)]

    def put(self, key: str, stored: StoredResult) -> None:
        """Keep `stored` under `key`, unless results of the same key are kept already."""
        if self.directory is None:
            return
        path = self.directory / f"{key}.pkl"
        try:
            if path.is_file():
                os.utime(path)
                return
            write_pickle(path, stored)
            self._trim()
        except OSError:
            pass  # a read-only or full cache directory only costs speed

    def _trim(self, directory: Path | None = None, keep: int = KEEP) -> None:
        entries = sorted((directory or self.directory).glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[keep:]:
            old.unlink(missing_ok=True)

    def revision(self, key: str) -> KeptRevision | None:
        """The record a scan of a whole revision left under `key` (a hash of the
        revision's tree and of what else its findings depend on: diff._revision_key),
        when the results it names are still kept."""
        if self.directory is None:
            return None
        path = self.directory / "revisions" / f"{key}.pkl"
        try:
            with open(path, "rb") as fh:
                kept = pickle.load(fh)
            os.utime(path)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError):
            return None
        return kept if isinstance(kept, KeptRevision) and self.has(kept.result_key) else None

    def remember_revision(self, key: str, kept: KeptRevision) -> None:
        """Record that the results under `kept.result_key` are those of the revision `key` names."""
        if self.directory is None or not self.has(kept.result_key):
            return
        directory = self.directory / "revisions"
        try:
            write_pickle(directory / f"{key}.pkl", kept)
            self._trim(directory, KEEP_REVISIONS)
        except OSError:
            pass  # as put(): only speed is lost


def write_pickle(path: Path, value, pickler=None) -> None:
    """Pickle `value` to `path` whole or not at all (a temporary file renamed), making its
    directory; OSError when it cannot. `pickler(file)`: the Pickler to write with (a
    plain one when None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if pickler is None:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            else:
                pickler(fh).dump(value)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _load(path: Path) -> StoredResult | None:
    try:
        with open(path, "rb") as fh:
            stored = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError):
        return None
    if not isinstance(stored, StoredResult):
        return None
    if not hasattr(stored, "file_keys"):  # kept by a version before incremental starts (no key)
        stored.file_keys, stored.context_key = {}, ""
    return stored
