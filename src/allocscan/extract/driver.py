"""Run the extract stage over many files: cache look-ups, then parallel parsing.

The main process reads and hashes each file and asks the cache; the misses go
to a process pool (`--jobs`), whose workers parse, write the cache and return
the facts. Unreadable and binary files become warnings (`path: problem`) and the
scan goes on; a file that is not UTF-8 is read as Latin-1 with a warning, and
one that does not parse whole is read piece by piece (extract.treesitter).
"""

from __future__ import annotations

import os
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import FactsCache
from ..facts import FileFacts
from .file import extract_file
from .source import InputError, content_id


SKIPPED = "allocscan:skipped"  # cache entry of a file rejected for its content: (SKIPPED, warning)


@dataclass
class ExtractStats:
    files: int = 0
    parsed: int = 0
    cached: int = 0
    skipped: int = 0
    files_with_errors: int = 0
    files_in_pieces: int = 0  # the whole file did not parse: read piece by piece (extract.treesitter.parse)
    functions: int = 0
    functions_with_errors: int = 0
    bodies_unparsed: int = 0  # function bodies no extracted definition holds (extract.file.unparsed_bodies)
    calls: int = 0


    def count(self, facts: FileFacts, sign: int = 1) -> None:
        """Add what one file's facts hold to the counts (sign -1: take it away)."""
        self.files_with_errors += sign * bool(facts.error_nodes)
        self.files_in_pieces += sign * bool(facts.pieces)
        self.bodies_unparsed += sign * facts.bodies_unparsed
        self.functions += sign * len(facts.functions)
        self.functions_with_errors += sign * sum(1 for f in facts.functions if f.has_error)
        self.calls += sign * sum(f.call_count for f in facts.functions)


@dataclass
class ExtractResult:
    facts: list[FileFacts]
    warnings: list[str] = field(default_factory=list)
    stats: ExtractStats = field(default_factory=ExtractStats)
    rejected: dict[str, str] = field(default_factory=dict)  # relative path -> why the file was skipped


_config = None  # the kernel config of this scan (--kconfig), set in each worker by _set_config


def _set_config(config) -> None:
    global _config
    _config = config


def _work(item: tuple[str, str, str, str | None]) -> tuple[str, bytes | None, str | None, bool]:
    """Worker: extract one file, store it in the cache, and return it pickled.

    With a cache, only the header of the entry goes back to the main process
    (its bodies stay in the entry, read when needed); without one, the whole
    facts. A file rejected for what it holds (binary)
    is cached as rejected too: a warm re-scan warns again without reading it
    again. The last item says whether the facts are in the cache."""
    abs_path, rel, sha, cache_dir = item
    try:
        data = Path(abs_path).read_bytes()
        facts = extract_file(rel, data, _config)
    except InputError as err:
        FactsCache.at(cache_dir, _config).put(sha, rel, (SKIPPED, str(err)))
        return rel, None, str(err), False
    except OSError as err:
        return rel, None, f"{rel}: cannot read ({err.strerror})", False
    except RecursionError:
        return rel, None, f"{rel}: nesting too deep to parse; file skipped", False
    if cache_dir is not None:
        header = FactsCache.at(cache_dir, _config).put(facts.sha, rel, facts)
        if header is not None:
            return rel, header, None, True
    return rel, pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL), None, False


def extract_all(files: list[Path], rel_of, cache: FactsCache, jobs: int, progress=None,
                keys: ContentKeys | None = None) -> ExtractResult:
    """The facts of `files`; `keys`: their content ids, when already known (content_keys)."""
    result = ExtractResult(facts=[])
    stats = result.stats
    todo: list[tuple[str, str, str, str | None]] = []
    cache_dir = str(cache.directory) if cache.directory is not None else None
    by_rel: dict[str, FileFacts] = {}
    keys = keys or content_keys(files, rel_of, cache)
    # the first instance of each value of the facts (FileFacts.share_across), dropped
    # once every file is loaded
    first: dict = {}
    stats.files = keys.files
    stats.skipped = len(keys.warnings)
    result.warnings.extend(keys.warnings)
    for path, rel, sha in keys.keyed:
        facts = cache.get(sha, rel, path)
        if isinstance(facts, tuple) and facts[:1] == (SKIPPED,):
            result.warnings.append(facts[1])
            result.rejected[rel] = facts[1]
            stats.skipped += 1
            if progress:
                progress(1)
        elif facts is not None:
            facts.share_across(first)
            by_rel[rel] = facts
            stats.cached += 1
            if progress:
                progress(1)
        else:
            todo.append((path, rel, sha, cache_dir))

    sources = {rel: path for path, rel, _, _ in todo}

    def take(rel: str, blob: bytes | None, warning: str | None, cached: bool) -> None:
        if progress:
            progress(1)
        if blob is None:
            result.warnings.append(warning or f"{rel}: skipped")
            result.rejected[rel] = warning or f"{rel}: skipped"
            stats.skipped += 1
            return
        stats.parsed += 1
        facts = by_rel[rel] = pickle.loads(blob)
        if cached and facts.store is not None:  # the header of the entry the worker wrote
            cache.attach(facts, facts.sha, rel, sources[rel], len(blob))
        facts.share_across(first)

    if jobs <= 1 or len(todo) < 8:
        _set_config(cache.config)
        try:
            for item in todo:
                take(*_work(item))
        finally:
            _set_config(None)
    else:
        chunk = max(1, min(64, len(todo) // (jobs * 8)))
        with ProcessPoolExecutor(max_workers=jobs, initializer=_set_config, initargs=(cache.config,)) as pool:
            for out in pool.map(_work, todo, chunksize=chunk):
                take(*out)

    cache.save_index()
    for rel in sorted(by_rel):
        facts = by_rel[rel]
        result.facts.append(facts)
        result.warnings.extend(facts.warnings)
        stats.count(facts)
    return result


@dataclass
class ContentKeys:
    """What identifies each file of a scan: (path, relative path, content id) of the
    readable ones, and a warning for each file that could not be read."""
    keyed: list[tuple[str, str, str]]
    warnings: list[str]
    files: int


def content_keys(files: list[Path], rel_of, cache: FactsCache, known_ids: dict[str, str] | None = None) -> ContentKeys:
    """The content id of each file: the one given (a git revision's blob id), or the
    one recorded for the same size, mtime and inode when there is one (a warm scan
    reads no source file), else the file is read and hashed."""
    known_ids = known_ids or {}
    keys = ContentKeys([], [], len(files))
    for path in files:
        rel = rel_of(path)
        name = str(path)
        known = known_ids.get(name)
        if known is not None:
            keys.keyed.append((name, rel, known))
            continue
        try:
            st = os.stat(name)
            sha = cache.known_sha(name, st)
            if sha is None:
                with open(name, "rb") as fh:
                    sha = content_id(fh.read())
                cache.remember_sha(name, st, sha)
        except OSError as err:
            keys.warnings.append(f"{rel}: cannot read ({err.strerror or err})")
            continue
        keys.keyed.append((name, rel, sha))
    return keys


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
