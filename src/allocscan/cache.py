"""Facts cache: FileFacts keyed by file content hash plus analyzer version.

A re-scan after a one-file change re-parses that file only. The analyzer key
hashes the package version together with the extractor's sources, the queries
and the data tables, so a change to any of them invalidates old entries.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from . import __version__
from .treesitter import QUERY_FILES, queries_dir

_EXTRACTION_MODULES = ("extract.py", "exprs.py", "lockflow.py", "masking.py", "facts.py", "treesitter.py")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "allocscan"


@lru_cache(maxsize=1)
def analyzer_key() -> str:
    h = hashlib.sha1(__version__.encode())
    here = Path(__file__).parent
    for name in _EXTRACTION_MODULES:
        h.update((here / name).read_bytes())
    for name in ("allocators.toml", "contexts.toml", "inert.toml"):
        h.update((here / "data" / name).read_bytes())
    for name in QUERY_FILES:
        h.update((queries_dir() / f"{name}.scm").read_bytes())
    return f"{__version__}-{h.hexdigest()[:12]}"


class FactsCache:
    def __init__(self, directory: Path | None):
        self.directory = directory / analyzer_key() if directory is not None else None
        self.hits = 0
        self.misses = 0
        self._stat_index: dict[str, tuple[int, int, int, str]] | None = None
        self._stat_dirty = False

    # --- stat index: skip reading and hashing files that did not change ----
    def _index_file(self) -> Path:
        return self.directory / "stat-index.pkl"

    def known_sha(self, path: str, st) -> str | None:
        """The content hash recorded for `path` when its size, mtime and inode are unchanged."""
        if self.directory is None:
            return None
        if self._stat_index is None:
            try:
                with open(self._index_file(), "rb") as fh:
                    self._stat_index = pickle.load(fh)
            except (OSError, pickle.UnpicklingError, EOFError, ValueError):
                self._stat_index = {}
        entry = self._stat_index.get(str(path))
        if entry is not None and entry[:3] == (st.st_size, st.st_mtime_ns, st.st_ino):
            return entry[3]
        return None

    def remember_sha(self, path: str, st, sha: str) -> None:
        if self.directory is None:
            return
        if self._stat_index is None:
            self._stat_index = {}
        self._stat_index[str(path)] = (st.st_size, st.st_mtime_ns, st.st_ino, sha)
        self._stat_dirty = True

    def save_index(self) -> None:
        if self.directory is None or not self._stat_dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(self._stat_index, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._index_file())
        except OSError:
            pass

    @classmethod
    def at(cls, keyed_directory: str | None) -> "FactsCache":
        """A cache whose directory already includes the analyzer key (for workers)."""
        cache = cls(None)
        cache.directory = Path(keyed_directory) if keyed_directory else None
        return cache

    def _path(self, sha: str, rel: str) -> str:
        # The relative path is part of the key: facts record it, and static
        # functions are scoped by it. A string, not a Path: this runs per file.
        key = hashlib.sha1(f"{sha}\0{rel}".encode()).hexdigest()
        return f"{self.directory}{os.sep}{key[:2]}{os.sep}{key}.pkl"

    def get(self, sha: str, rel: str):
        if self.directory is None:
            return None
        try:
            facts = pickle.loads(_read_whole(self._path(sha, rel)))
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, ImportError):
            self.misses += 1
            return None
        self.hits += 1
        return facts

    def put(self, sha: str, rel: str, facts) -> None:
        self.put_pickled(sha, rel, pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))

    def put_pickled(self, sha: str, rel: str, blob: bytes) -> None:
        """Store facts already pickled (workers pickle once, for the cache and the pipe)."""
        if self.directory is None:
            return
        path = self._path(sha, rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)  # atomic: parallel writers never expose half a file
        except OSError:
            pass  # a read-only or full cache directory only costs speed


def _read_whole(path: str) -> bytes:
    """The file's bytes in open, fstat, read and close: a warm whole-tree scan reads
    52,000 entries, and open().readall() makes seven system calls for each. Entries
    are replaced whole (os.replace), never grown in place: a short read is a damaged
    entry, and unpickling it fails as a miss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
