"""Facts cache: FileFacts keyed by file content hash plus analyzer version.

A re-scan after a one-file change re-parses that file only. The analyzer key
hashes the package version together with the extractor's sources, the queries
and the data tables, so a change to any of them invalidates old entries.

An entry keeps the file's summary (its header) apart from the pickled function
bodies, defines and struct members: a scan loads the headers and reads a body
from the entry when an analysis first asks for it (see `BlobStore`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from . import __version__
from .extract.treesitter import QUERY_FILES, queries_dir
from .kernel.tables import table_paths

# What the facts depend on besides the source: the extract package, and the modules it builds facts with.
_EXTRACTION_MODULES = ("exprs.py", "facts.py", "kernel/kconfig.py")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "allocscan"


@lru_cache(maxsize=1)
def analyzer_key() -> str:
    h = hashlib.sha1(__version__.encode())
    here = Path(__file__).parent
    for name in _EXTRACTION_MODULES:
        h.update((here / name).read_bytes())
    for module in sorted((here / "extract").glob("*.py")):
        h.update(module.name.encode())
        h.update(module.read_bytes())
    # Every table: extraction reads the allocator, context, entry and inert tables, and
    # a table added later is covered without anyone having to remember this line.
    for name, path in table_paths().items():
        h.update(name.encode())
        h.update(path.read_bytes())
    for name in QUERY_FILES:
        h.update((queries_dir() / f"{name}.scm").read_bytes())
    return f"{__version__}-{h.hexdigest()[:12]}"


class FactsCache:
    """`config`: the kernel config the facts are extracted under (--kconfig), or None.
    Its digest is part of every entry's key: the same file gives other facts under
    another config, and entries of plain scans are never mixed with them."""

    def __init__(self, directory: Path | None, config=None):
        # absolute: a kept program records where each file's entry lies (linkstore.py),
        # and a relative --cache-dir read from another directory found none of them
        self.directory = Path(os.path.abspath(directory)) / analyzer_key() if directory is not None else None
        self.config = config
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
    def at(cls, keyed_directory: str | None, config=None) -> "FactsCache":
        """A cache whose directory already includes the analyzer key (for workers)."""
        cache = cls(None, config)
        cache.directory = Path(keyed_directory) if keyed_directory else None
        return cache

    def _path(self, sha: str, rel: str) -> str:
        # The relative path is part of the key: facts record it, and static
        # functions are scoped by it. A string, not a Path: this runs per file.
        text = f"{sha}\0{rel}" if self.config is None else f"{sha}\0{rel}\0kconfig={self.config.digest}"
        key = hashlib.sha1(text.encode()).hexdigest()
        return f"{self.directory}{os.sep}{key[:2]}{os.sep}{key}.pkl"

    def has(self, sha: str, rel: str) -> bool:
        """Whether an entry for this content at this path is stored (not read)."""
        return self.directory is not None and os.path.exists(self._path(sha, rel))

    def get(self, sha: str, rel: str, source: str | None = None):
        """The facts cached for this content at this path, or None. Their pickled
        bodies and defines stay in the entry until first used; `source`, the file
        scanned, lets them be rebuilt should the entry change meanwhile."""
        if self.directory is None:
            return None
        path = self._path(sha, rel)
        try:
            facts = read_entry(path, source, self.config)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, ImportError, IndexError):
            self.misses += 1
            return None
        self.hits += 1
        return facts

    def attach(self, facts, sha: str, rel: str, source: str, header_length: int) -> None:
        """Point facts unpickled from an entry's header (`header_length` bytes) at the entry."""
        facts.store.attach(self._path(sha, rel), _region_start(header_length), source, rel, sha, self.config)

    def put(self, sha: str, rel: str, facts) -> bytes | None:
        """Store facts (see make_entry); the entry's header, to hand on to the main
        process, or None if the entry could not be written."""
        entry, header = make_entry(facts)
        return header if self.put_entry(sha, rel, entry) else None

    def put_entry(self, sha: str, rel: str, entry: bytes) -> bool:
        if self.directory is None:
            return False
        path = self._path(sha, rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(entry)
            os.replace(tmp, path)  # atomic: parallel writers never expose half a file
        except OSError:
            return False  # a read-only or full cache directory only costs speed
        return True


# --- cache entries ------------------------------------------------------------
# An entry is MAGIC, the header's length (4 bytes, little-endian), the header (the
# pickled FileFacts, or a (SKIPPED, warning) tuple), then the blob region: a token
# (the first 8 bytes of the region's SHA-1) and the pickled function bodies, calls,
# defines and field initializers one after another. A load reads the header only: a warm whole-tree
# scan needs a tenth of the bodies, and holding the other gigabyte in memory cost
# more in page faults than reading a few on demand.

MAGIC = b"ASF\x01"
TOKEN_SIZE = 8
_PREFIX = len(MAGIC) + 4  # magic and header length
# The first read of an entry: 96% of a tree's headers fit in 16 KiB (one read per entry),
# and the blob region behind them is left unread (64 KiB read the whole entry of most
# files: 870 MB copied on a warm whole-tree scan where the headers are 230 MB).
_FIRST_READ = 1 << 14


def _region_start(header_length: int) -> int:
    """Offset in the entry of the first pickled part (after the header and the token)."""
    return _PREFIX + header_length + TOKEN_SIZE


def _entry(header: bytes, token: bytes, region: bytes) -> bytes:
    return b"".join((MAGIC, len(header).to_bytes(4, "little"), header, token, region))


def make_entry(facts) -> tuple[bytes, bytes]:
    """(entry bytes, header pickle) for `facts`. In the header, the packed parts are
    references into the entry's blob region, read back through the file's store;
    `facts` itself is left as it was (if the entry cannot be written, it goes on whole)."""
    functions = getattr(facts, "functions", None)
    if functions is None:  # a rejected file's (SKIPPED, warning)
        header = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
        return _entry(header, bytes(TOKEN_SIZE), b""), header
    blobs: list[bytes] = []
    size = 0

    def move(packed):
        nonlocal size
        if type(packed) is not bytes:
            return packed
        ref = (size << 32) | len(packed)
        blobs.append(packed)
        size += len(packed)
        return ref

    kept = ([(fn.packed, fn.packed_calls) for fn in functions], facts.packed_defines,
            facts.packed_global_inits, facts.packed_field_inits)
    kept_members = [sd.packed_members for sd in facts.structs]
    for fn in functions:
        fn.packed, fn.packed_calls = move(fn.packed), move(fn.packed_calls)
    for sd in facts.structs:
        sd.packed_members = move(sd.packed_members)
    facts.packed_defines = move(facts.packed_defines)
    facts.packed_global_inits = move(facts.packed_global_inits)
    facts.packed_field_inits = move(facts.packed_field_inits)
    region = b"".join(blobs)
    token = hashlib.sha1(region).digest()[:TOKEN_SIZE]
    store = BlobStore(token) if blobs else None
    facts.store = store
    for fn in functions:
        fn.store = store
    for sd in facts.structs:
        sd.store = store
    try:
        header = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for fn, (packed, packed_calls) in zip(functions, kept[0]):
            fn.packed, fn.packed_calls, fn.store = packed, packed_calls, None
        facts.packed_defines, facts.packed_global_inits, facts.packed_field_inits = kept[1:]
        for sd, members in zip(facts.structs, kept_members):
            sd.packed_members, sd.store = members, None
        facts.store = None
    return _entry(header, token, region), header


def read_entry(path: str, source: str | None = None, config=None):
    """The header of the entry at `path`, unpickled, its blob store attached."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _FIRST_READ)
        if not data.startswith(MAGIC):
            raise ValueError("not a cache entry")
        length = int.from_bytes(data[len(MAGIC):_PREFIX], "little")
        if _PREFIX + length > len(data):
            header = data[_PREFIX:] + os.pread(fd, _PREFIX + length - len(data), len(data))
        else:
            header = memoryview(data)[_PREFIX:_PREFIX + length]
        if len(header) != length:
            raise EOFError("short cache entry")
    finally:
        os.close(fd)
    facts = pickle.loads(header)
    store = getattr(facts, "store", None)
    if store is not None:
        store.attach(path, _region_start(length), source, facts.path, facts.sha, config)
    return facts


class CacheChangedError(Exception):
    """A cache entry changed during the scan, and its source file no longer matches it."""


class BlobStore:
    """Where one file's packed bodies, calls and defines lie: its cache entry's blob
    region. Shared by the file's facts; pickled as its token alone (the entry's
    location is attached when the entry is read)."""

    __slots__ = ("token", "path", "base", "source", "rel", "sha", "config", "recovered")

    def __init__(self, token: bytes):
        self.token = token
        self.path: str | None = None
        self.base = 0
        self.source: str | None = None
        self.rel = self.sha = ""
        self.config = None  # the kernel config the facts were extracted under
        self.recovered: bytes | None = None  # the region rebuilt from the source

    def __reduce__(self):
        return BlobStore, (self.token,)

    def attach(self, path: str, base: int, source: str | None, rel: str, sha: str, config=None) -> None:
        self.path, self.base, self.source, self.rel, self.sha = path, base, source, rel, sha
        self.config = config

    def load(self, ref: int):
        offset, length = ref >> 32, ref & 0xFFFFFFFF
        if self.recovered is None:
            data = _read_blob(self, offset, length)
            if data is not None:
                return pickle.loads(data)
            self.recovered = self._rebuild()
        return pickle.loads(self.recovered[offset:offset + length])

    def _rebuild(self) -> bytes:
        """The blob region made again from the source file: the entry was removed or
        replaced during the scan (a cache cleared by hand, another version's scan)."""
        from .extract import InputError, extract_file  # the parser, only in this rare case
        from .extract.source import content_id

        problem = f"{self.rel}: its cache entry changed during the scan"
        try:
            data = Path(self.source).read_bytes() if self.source else None
        except OSError:
            data = None
        if data is None or content_id(data) != self.sha:
            raise CacheChangedError(f"{problem}, and the file changed too; scan again")
        try:
            facts = extract_file(self.rel, data, self.config)
        except InputError as err:
            raise CacheChangedError(f"{problem}: {err}") from None
        entry, header = make_entry(facts)
        start = _region_start(len(header))
        if entry[start - TOKEN_SIZE:start] != self.token:
            raise CacheChangedError(f"{problem}, and extracting the file again gave other facts; scan again")
        return entry[start:]


# (entry path, token) -> descriptor open on it, least recently used first: the bodies
# a scan reads cluster by file, and an open descriptor keeps reading the entry its
# token was checked against even if the path is replaced meanwhile.
_open_entries: "OrderedDict[tuple[str, bytes], int]" = OrderedDict()
_OPEN_LIMIT = 64


def _read_blob(store: BlobStore, offset: int, length: int) -> bytes | None:
    """`length` bytes at `offset` of the store's region, or None if its entry is gone
    or is no longer the one the facts came from (its token differs)."""
    key = (store.path, store.token)
    fd = _open_entries.get(key)
    try:
        if fd is None:
            fd = os.open(store.path, os.O_RDONLY)
            if os.pread(fd, TOKEN_SIZE, store.base - TOKEN_SIZE) != store.token:
                os.close(fd)
                return None
            _open_entries[key] = fd
            if len(_open_entries) > _OPEN_LIMIT:
                os.close(_open_entries.popitem(last=False)[1])
        else:
            _open_entries.move_to_end(key)
        data = os.pread(fd, length, store.base + offset)
    except OSError:
        return None
    return data if len(data) == length else None
