"""Diff mode: the findings a change introduces (and, on request, those it fixes).

Both sides are scanned with the same facts cache, so only the files the
change touches are parsed again. For a diff of the whole checkout, the base
side's results come from the results cache when a scan kept them, and the head
side relinks the program kept of the base and analyses only the change's cone
(incremental.py, relink.py); a base whose whole revision was scanned before is
found by its tree alone (results.KeptRevision). The processes: the base side is
scanned in a forked one (which lists a base it has no record of in another, while
it reads the program kept last), the working tree is discovered in another, a
third tells which kept program the head side needs, and this one reads the
program kept last meanwhile; told, it asks git for the files naming a changed
header's definitions (FilesNaming.start()), which the head side's cone reads.
Findings are matched by rule and our line-independent fingerprint, so a finding
that only moved is not new.

Sides come from git: `--base REV` (default `HEAD`) and `--head REV` (default:
the working tree), read from git's object store without a checkout
(`gittree`: the cache is keyed by blob id); or a patch or mbox (`--patch`)
applied with `git apply --cached` to a temporary index of `--tree`'s HEAD.
The user's own tree and index are never modified.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, NamedTuple

from .cache import FactsCache
from .discover import DiscoverError, Discovery, PathList, discover
from .extract.driver import ContentKeys, content_keys, default_jobs, extract_all
from .extract.source import content_id
from .gittree import GitTreeError, list_revision, read_blobs, revision_input, revision_scan_input
from .incremental import MAX_READER_FILES, MAX_SAME_FACTS_FILES, Previous, header_question, same_facts
from .linkstore import LinkStore, drop_read_ahead
from .relink import refusal
from .results import KeptRevision, ResultCache, StoredResult, code_key
from .rules.base import Finding
from .pipeline import Prepared, ScanOptions, ScanResult, nearest_scans, result_key_of, results_kept, run_scan


# Processor priorities (nice values) of a diff's processes. The base side's yields to
# this one: a base the cache keeps no record of is listed while the base side reads the
# program kept last, in case its scan must start from it (the branch moved); most often
# its results are kept all the same, and that read only slowed this process's read of
# the program its head side relinks, the step such a diff waits on (_read_base_program).
# Listing or discovering a side's files yields to both: its answer is waited for only
# after a program's read, and with a base that moved, the base side's read (nice 10)
# had shared a processor at equal weight with the working tree's discovery.
BASE_SIDE_NICENESS = 10
LISTING_NICENESS = 15


class DiffError(Exception):
    """A git or patch problem, reported as one line."""


@dataclass
class DiffResult:
    new: list[Finding]
    fixed: list[Finding]
    unchanged: list[Finding]
    head: ScanResult
    base: ScanResult
    warnings: list[str] = field(default_factory=list)
    head_revision: str | None = None  # the head as a git revision (None: the working tree)
    head_prefix: str = ""  # where the head's report root is in that revision ("": its top)


def _git(repo: Path, *args: str, check: bool = True, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise DiffError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
    return proc


def repo_root(path: Path) -> Path:
    if shutil.which("git") is None:
        raise DiffError("git is not installed")
    proc = _git(path, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise DiffError(f"{path}: not inside a git checkout")
    return Path(proc.stdout.strip())


def patched_tree(repo: Path, patch: Path) -> str:
    """The tree (a git object id) of HEAD with a patch or an mbox series applied,
    made in a temporary index: neither the checkout nor the user's index is touched."""
    try:
        text = patch.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DiffError(f"{patch}: cannot read ({err.strerror})") from None
    if "diff --git" not in text and "\n--- " not in text and not text.startswith("--- "):
        raise DiffError(f"{patch}: not a patch (no diff in it)")
    with tempfile.TemporaryDirectory(prefix="allocscan-index-") as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        _git(repo, "read-tree", "HEAD", env=env)
        # An mbox series applies in order: `git apply` takes the diffs of all its
        # messages, a later one on top of an earlier one to the same file.
        proc = _git(repo, "apply", "--cached", "--whitespace=nowarn", str(patch.resolve()), env=env, check=False)
        if proc.returncode != 0:
            lines = (proc.stderr or "").strip().splitlines()
            raise DiffError(f"{patch}: does not apply ({lines[-1] if lines else 'git apply failed'})")
        return _git(repo, "write-tree", env=env).stdout.strip()


def _scan_side(root: Path, rel_paths: list[str], options: ScanOptions,
               previous: Previous | None = None, prepared: _Forked | None = None) -> ScanResult:
    """The working tree's side; `prepared`: its discovery and content keys being
    computed in another process (_discover_checkout), when the side is the whole checkout."""
    ready = _discovered(prepared)
    targets = [str(root / p) for p in rel_paths] if rel_paths else [str(root)]
    missing = [t for t in targets if not Path(t).exists()]
    targets = [t for t in targets if Path(t).exists()]
    if not targets:
        raise DiffError(f"{', '.join(missing)}: not present on this side")
    return run_scan(targets, options, previous=previous, prepared=ready)


class _CheckoutDiscovery(NamedTuple):
    """What _discover_checkout() computes of a working tree in another process."""

    disc: Discovery  # its lists of files left empty: they come back as text
    files: list[str]
    makefiles: list[str]
    keys: ContentKeys
    nearest: list[str] | None  # the kept scans nearest to it (pipeline.nearest_scans), when asked
    question: frozenset[str]  # the words a rescan's cone will first look for (_rescan_question)
    kept: bool  # whether the results cache holds its results (see _results_kept)


def _discover_checkout(root: Path, options: ScanOptions, nearest: bool = False) -> _CheckoutDiscovery:
    """What the scan of a whole working tree computes first: its discovery, the content
    keys of its files and the text of its Makefiles; and whether the results cache
    holds its results already (the same change diffed again: then the base's program,
    read meanwhile, is not needed). A diff computes it in another process while it
    reads the base's program (_read_base_program), a second before the head side
    would. The paths come back as text: 52,000 Path objects take longer to unpickle
    than to make again. With `nearest`, the kept scans nearest to the tree, and the
    words the cone of a rescan from the nearest will first look for
    (_rescan_question())."""
    disc = discover([str(root)], options.excludes, options.kernel_version)
    cache = FactsCache(options.cache_dir, options.kconfig)
    keys = content_keys(disc.files, disc.rel, cache, disc.content_ids)
    cache.save_index()  # the content ids of the files that changed, for the next scan
    for makefile in disc.makefiles:
        try:
            disc.texts[str(makefile)] = makefile.read_text(errors="replace")
        except OSError:
            pass  # read again by the scan, which warns
    files, makefiles = [str(f) for f in disc.files], [str(m) for m in disc.makefiles]
    near = nearest_scans(disc, keys, options) if nearest else None
    question = _rescan_question(root, keys, near, cache, options) if near else frozenset()
    return _CheckoutDiscovery(replace(disc, files=[], makefiles=[]), files, makefiles, keys, near, question,
                              results_kept(disc, keys, options))


def _rescan_question(root: Path, keys: ContentKeys, near: list[str], cache: FactsCache,
                     options: ScanOptions) -> frozenset[str]:
    """The words the cone of a rescan of the working tree from the nearest kept scan
    (pipeline.run_scan takes the first of `near` git holds the files of) will first
    look for in every file (incremental.header_question()); empty when no header's
    definitions changed. The changed headers are extracted here, into the cache where
    the scan finds them."""
    stored = ResultCache(options.cache_dir).get(near[0])
    if stored is None:
        return frozenset()
    file_keys = {rel: sha for _, rel, sha in keys.keyed}
    changed = [rel for rel, sha in file_keys.items() if stored.file_keys.get(rel) != sha]
    headers = [rel for rel in changed if rel.endswith(".h") and rel in stored.file_keys]
    if not headers or len(changed) > MAX_SAME_FACTS_FILES:
        return frozenset()
    _extract_into(cache, root, {rel: file_keys[rel] for rel in headers})
    versions = {rel: (cache.get(stored.file_keys[rel], rel), cache.get(file_keys[rel], rel)) for rel in headers}
    if any(ff is None or isinstance(ff, tuple) for pair in versions.values() for ff in pair):
        return frozenset()
    return header_question(versions)


def _extract_into(cache: FactsCache, root: Path, content_ids: dict[str, str]) -> None:
    """Extract the working tree's files (relative path -> content id) the cache does not
    hold yet, into it, where the scan that follows finds them."""
    extract_all([], None, cache, 1, keys=ContentKeys([(str(root / rel), rel, sha) for rel, sha in content_ids.items()
                                                      if not cache.has(sha, rel)], [], len(content_ids)))


def _discovered(prepared: _Forked | None) -> Prepared | None:
    """What _discover_checkout() computed, or None (the scan discovers again, and reports
    any problem itself)."""
    answer = _answer_or(prepared, None) if prepared is not None else None
    if answer is None:
        return None
    disc = answer.disc
    disc.files, disc.makefiles = PathList(answer.files), [Path(m) for m in answer.makefiles]
    return Prepared(disc, answer.keys, answer.nearest)


def _results_kept(prepared: _Forked | None) -> Callable[[], bool]:
    """For the read ahead (its `stop`): has the working tree's discovery found the head
    side's results kept? Then the base's program is not needed."""
    def kept() -> bool:
        if prepared is None or not prepared.ready():
            return False
        answer = _answer_or(prepared, None)
        return answer is not None and answer.kept
    return kept


def _previous(repo: Path, head: str | None, base: ScanResult | StoredResult, rel_paths: list[str],
              naming: FilesNaming | None = None) -> Previous | None:
    """`base` (a side's scan, or one the results cache kept) as the previous scan of
    the side at `head` (None: the working tree): that side then analyses only the
    sites the change can reach (incremental.py). For a diff of the whole checkout,
    whose report paths are the repository's. `naming`: the side's FilesNaming, when a
    search may have been started before (_read_base_program)."""
    if rel_paths or not base.file_keys:
        return None

    def blobs(ids: list[str]) -> list[bytes | None]:
        try:
            return [data for _, data in read_blobs(repo, ids)]
        except (GitTreeError, OSError):
            return [None] * len(ids)

    if isinstance(base, StoredResult):
        warnings = base.warnings
    else:  # a side's scan: its warnings begin with those of discovering its files
        found = set(base.discovery.warnings)
        warnings = [w for w in base.warnings if w not in found]
    return Previous(base.findings, base.suppressed, base.file_keys, base.context_key, blobs,
                    naming if naming is not None else FilesNaming(repo, head), warnings, base.stats)


class FilesNaming:
    """Previous.files_naming of the side at `head` (None: the working tree): `git grep
    -o -w -F` of some words over its C files. A question can be asked of git before it
    is asked (start()): a diff asks the cone's first one (incremental.header_question())
    while it reads the program, on the processor the read leaves idle. In the define
    case of benchmarks/premerge.sh that search took 0.4-0.6 s of the head side, and
    2.6 s with the checkout out of the page cache; asked ahead, the diff took 8.2-8.3 s
    instead of 8.7 s, and 8.6-8.8 s instead of 10.1 s with the checkout out of the
    cache. At git's own priority it took the read's processor and saved nothing warm."""

    def __init__(self, repo: Path, head: str | None):
        self.repo, self.head = repo, head
        self._started: dict[tuple[frozenset[str], int | None], subprocess.Popen] = {}

    def start(self, words: frozenset[str], most: int | None) -> None:
        """Ask git now, at a lower priority than the read it runs beside; the call
        asking the same (words, most) reads its answer."""
        if words and (words, most) not in self._started:
            proc = self._started[words, most] = self._grep(words)
            try:  # (before git starts its threads, which take the priority of its first)
                niceness = max(LISTING_NICENESS, os.getpriority(os.PRIO_PROCESS, 0))  # never above this one's
                os.setpriority(os.PRIO_PROCESS, proc.pid, niceness)
            except (AttributeError, OSError):
                pass

    def close(self) -> None:
        """End the searches started and never read."""
        for proc in self._started.values():
            proc.kill()
            proc.wait()
            proc.stdout.close()
        self._started.clear()

    def __call__(self, words: set[str], most: int | None = None) -> dict[str, set[str]] | None:
        """{word: relative paths of the files naming it}; None: git failed. The working
        tree's tracked files (its untracked ones are all new: changed files, analysed
        whole). Read as git prints it: with `most`, git is stopped as soon as more files
        name them, as a common word prints millions of lines (one grep, where a bounding
        `grep -l` before it cost a pre-merge diff a second)."""
        proc = self._started.pop((frozenset(words), most), None) or self._grep(words)
        found: dict[str, set[str]] = {}
        files: set[str] = set()
        with proc:
            for line in proc.stdout:
                line = line.rstrip("\n")
                path, _, word = (line.partition(":")[2] if self.head else line).rpartition(":")
                found.setdefault(word, set()).add(path)
                files.add(path)
                if most is not None and len(files) > most:
                    proc.kill()
                    return {"": files}
        return found if proc.returncode in (0, 1) else None

    def _grep(self, words) -> subprocess.Popen:
        """Not --untracked: that walk skips what .gitignore names even when it is tracked
        (Debian's kernel tree ignores everything)."""
        args = ["git", "-C", str(self.repo), "grep", "-o", "-w", "-F", "-I"]
        if self.head is None:
            # Twice git's default of a thread per core: a working tree out of the page
            # cache keeps more reads in flight. 6.1's 1.1 GB of sources, cold, on 2 cores:
            # 3.4-3.7 s with 2 threads, 2.3-2.5 s with 4; in the cache 0.46-0.51 s and
            # 0.50-0.53 s (more threads cost the cached case more: 8, 0.7 s).
            args += ["--threads", str(2 * default_jobs())]
        for word in sorted(words):
            args += ["-e", word]
        args += [self.head, "--"] if self.head else ["--"]
        return subprocess.Popen([*args, "*.c", "*.h"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                encoding="utf-8", errors="replace")


def _scan_revision(repo: Path, rev: str, rel_paths: list[str], options: ScanOptions,
                   previous: Previous | None = None, listing: _Listing | None = None) -> tuple[ScanResult, str]:
    """Scan `rev`'s files in scope, read from git (see gittree); with where the
    report's paths are relative to in the revision. `listing`: the whole revision
    being listed in another process meanwhile (a diff's head side at a revision)."""
    tree = _tree_of(repo, rev)
    if tree is None:
        raise DiffError(f"{rev}: not a revision of {repo}")
    cache = FactsCache(options.cache_dir, options.kconfig)
    record = _revision_key(tree, options) if not rel_paths and _keeps_scans(options) else None
    # Without a previous side (the base), the nearest scan the results cache kept is one:
    # a base a few commits from one scanned before is analysed incrementally too.
    whole = previous is None and options.reuse_results and not rel_paths  # report paths: the repository's
    if record is not None and options.reuse_results:
        # (a head side too: the findings of a whole scan are those of one from the base's)
        kept = _kept_revision_scan(record, options)
        if kept is not None:
            return kept, ""
    from_stored = _from_stored(repo, rev, rel_paths) if whole else None
    if listing is not None and not rel_paths:
        return _scan_listed(listing, options, previous, from_stored, record)
    if whole and _forking() and _keeps_scans(options):
        return _scan_revision_reading_ahead(repo, rev, options, from_stored, record)
    try:
        with revision_scan_input(repo, rev, rel_paths, options.excludes, options.kernel_version, cache) as (top, targets, disc):
            prefix = disc.root.relative_to(top).as_posix()
            found = list(disc.warnings)
            scanned = run_scan(targets, options, discovery=disc, previous=previous, from_stored=from_stored)
            _remember_revision(record, scanned, found, options)
            return scanned, "" if prefix == "." else prefix
    except GitTreeError as err:
        raise DiffError(str(err)) from None


def _revision_key(tree: str, options: ScanOptions) -> str:
    """The key of a whole revision's scan by its tree (git's id of every file in it) and
    what else its findings depend on: the analyzer and the options (results.KeptRevision)."""
    h = hashlib.sha1(code_key().encode())
    h.update(repr((tree, options.excludes, options.kernel_version, options.min_order,
                   sorted(options.select or []), sorted(options.ignore or []))).encode())
    return h.hexdigest()


def _kept_revision_scan(record: str, options: ScanOptions) -> ScanResult | None:
    """The scan of a whole revision as the results cache kept it, found by its record
    (`_revision_key`) without listing the revision: what run_scan() returns when it
    finds its results kept."""
    start = time.perf_counter()
    results = ResultCache(options.cache_dir)
    kept = results.revision(record)
    stored = results.get(kept.result_key) if kept is not None else None
    if stored is None:
        return None
    disc = replace(kept.discovery, warnings=list(kept.discovery.warnings))
    took = time.perf_counter() - start
    return ScanResult(disc, stored.findings, stored.suppressed, disc.warnings + stored.warnings, stored.stats,
                      {"reused": took, "total": took}, file_keys=stored.file_keys, context_key=stored.context_key,
                      result_key=kept.result_key)


def _remember_revision(record: str | None, scanned: ScanResult, found: list[str], options: ScanOptions) -> None:
    """Keep the record of a whole revision's scan (`found`: the warnings its discovery gave)."""
    if record is not None and scanned.result_key:
        _keep_record(record, scanned.result_key, scanned.discovery, found, options)


def _keep_record(record: str, result_key: str, disc: Discovery, warnings: list[str], options: ScanOptions) -> None:
    """Keep the record of a whole revision's scan: its results' key, and what discovering
    it found (`warnings`, the kernel facts) without its lists of files."""
    disc = replace(disc, files=[], makefiles=[], content_ids={}, texts={}, warnings=warnings)
    ResultCache(options.cache_dir).remember_revision(record, KeptRevision(result_key, disc))


def _keeps_scans(options: ScanOptions) -> bool:
    """Whether a whole-tree scan with these options keeps what it found in the cache (its
    results, its program, a revision's record), and may start from a kept program."""
    return options.cache_dir is not None and options.kconfig is None and options.compile_commands is None


def _scan_revision_reading_ahead(repo: Path, rev: str, options: ScanOptions, from_stored,
                                 record: str | None) -> tuple[ScanResult, str]:
    """_scan_revision() of a whole revision with no previous side (a diff's base), its
    files listed and discovered in another process (_Listing) while this one reads the
    program kept last: a base no kept scan has seen (the branch moved) is analysed
    from the nearest kept scan and relinks a kept program, and listing and keying its
    52,000 files took two seconds before that program's read could start. The read
    stops when the listing finds the base's results kept."""
    listing = _Listing(repo, rev, options, nearest=True)
    store = LinkStore(FactsCache(options.cache_dir))
    guess = store.newest()

    def no_program_needed() -> bool:  # the listing answered: the results are kept, or it failed
        if not listing.ready():
            return False
        answer = _answer_or(listing, None)
        return answer is None or answer.kept

    try:
        if guess is not None:
            store.read_file_ahead(guess, no_program_needed)
        return _scan_listed(listing, options, None, from_stored, record)
    finally:
        listing.cancel()  # (done already, unless the read was interrupted)
        drop_read_ahead()


def _scan_listed(listing: _Listing, options: ScanOptions, previous: Previous | None, from_stored,
                 record: str | None) -> tuple[ScanResult, str]:
    """_scan_revision() of the whole revision `listing` lists (its temporary directory
    removed afterwards)."""
    try:
        listed = listing.result()
        disc = listed.discovery
        disc.files, disc.makefiles = PathList(listed.files), [Path(m) for m in listed.makefiles]
        prefix = disc.root.relative_to(listed.top).as_posix()
        found = list(disc.warnings)
        scanned = run_scan(listed.targets, options, discovery=disc, previous=previous, from_stored=from_stored,
                           prepared=Prepared(disc, listed.keys, listed.nearest))
        _remember_revision(record, scanned, found, options)
        return scanned, "" if prefix == "." else prefix
    finally:
        listing.cancel()


class _Listing:
    """A whole revision listed, discovered and keyed in another process (_revision_input),
    into a temporary directory this one removes (cancel()): a diff's side lists its
    revision while this process reads a kept program."""

    def __init__(self, repo: Path, rev: str, options: ScanOptions, nearest: bool = False):
        self.tmp = Path(tempfile.mkdtemp(prefix="allocscan-rev-")).resolve()
        try:
            self.forked = _Forked(f"listing {rev}", _revision_input, repo, rev, options, self.tmp, nearest,
                                  niceness=LISTING_NICENESS)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def ready(self) -> bool:
        return self.forked.ready()

    def result(self):
        return self.forked.result()

    def cancel(self) -> None:
        """End the listing if it has not answered, and remove what it wrote."""
        self.forked.cancel()
        shutil.rmtree(self.tmp, ignore_errors=True)


class _Listed(NamedTuple):
    """What _revision_input() computes of a whole revision in another process."""

    top: Path  # where the revision's files are read from (gittree.revision_input)
    targets: list[str]
    discovery: Discovery  # its lists of files left empty: they come back as text
    files: list[str]
    makefiles: list[str]
    keys: ContentKeys
    nearest: list[str] | None  # the kept scans nearest to it (pipeline.nearest_scans), when asked
    result_key: str  # the key a scan of it keeps its results under (pipeline.result_key_of)
    kept: bool  # whether the results cache holds its results (see _results_kept)


def _revision_input(repo: Path, rev: str, options: ScanOptions, tmp: Path, nearest: bool = False) -> _Listed:
    """What a whole revision's scan computes first (gittree.revision_input, into `tmp`),
    with its files' content keys, the kept scans nearest to them when `nearest`, and
    whether the results cache holds its results; the paths as text, as
    _discover_checkout() returns them."""
    cache = FactsCache(options.cache_dir, options.kconfig)
    try:
        top, targets, disc = revision_input(repo, rev, [], options.excludes, options.kernel_version, cache, tmp)
    except GitTreeError as err:
        raise DiffError(str(err)) from None
    keys = content_keys(disc.files, disc.rel, cache, disc.content_ids)
    key = result_key_of(disc, keys, options)
    return _Listed(top, targets, replace(disc, files=[], makefiles=[]), [str(f) for f in disc.files],
                   [str(m) for m in disc.makefiles], keys, nearest_scans(disc, keys, options) if nearest else None,
                   key, results_kept(disc, keys, options, key))


def _from_stored(repo: Path, rev: str | None, rel_paths: list[str]):
    """What makes a kept scan the previous scan of `rev` (None: the working tree; see
    _previous), given `rev`'s file keys: a Previous when git holds the kept version of
    every file that differs, else None. An incremental scan compares those texts, and
    a kept scan of a working tree may have read files never committed. Its `naming`
    is the FilesNaming each Previous it makes searches with (scan_checkout() starts
    a search with it)."""
    naming = FilesNaming(repo, rev)

    def make(stored: StoredResult, file_keys: dict[str, str]) -> Previous | None:
        before = [sha for rel, sha in stored.file_keys.items() if file_keys.get(rel) != sha]
        return _previous(repo, rev, stored, rel_paths, naming) if _has_objects(repo, before) else None
    make.naming = naming
    return make


def _has_objects(repo: Path, ids: list[str]) -> bool:
    """Does the repository hold every one of these objects?"""
    proc = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-check"], input="".join(f"{i}\n" for i in ids),
                          capture_output=True, text=True)
    return proc.returncode == 0 and not any(line.endswith(" missing") for line in proc.stdout.splitlines())


def checkout_scan_previous(paths: list[str]):
    """For `allocscan scan` of a whole git checkout (one path, its top): what makes a
    kept scan of it the previous scan (pipeline.run_scan's `from_stored`), so that a
    re-scan after a change analyses only the change's cone; None for other scans."""
    if len(paths) != 1 or shutil.which("git") is None:
        return None
    path = Path(paths[0])
    proc = _git(path, "rev-parse", "--show-toplevel", check=False) if path.is_dir() else None
    if proc is None or proc.returncode != 0 or Path(proc.stdout.strip()).resolve() != path.resolve():
        return None
    return _from_stored(path.resolve(), None, [])


def scan_checkout(root: Path, options: ScanOptions, from_stored, progress_factory=None) -> ScanResult:
    """`allocscan scan` of a whole git checkout (`from_stored`: checkout_scan_previous()).
    As a diff's head side does, the program kept last is read while another process
    discovers the tree and keys its files (_discover_checkout): the scan relinks the
    kept program nearest to its files (after a one-file change, or none), and
    discovering 52,000 files took 1.5 s before its read could start. A scan that links
    in full lets it go (pipeline.run_scan). A third process lists HEAD meanwhile, to
    record the scan as HEAD's when nothing is changed (_head_scan_key). Once the
    discovery has answered, the cone's search for a changed header's definitions is
    started during the read (_rescan_question(), FilesNaming.start()), as a diff
    does."""
    if not _forking() or options.kconfig is not None or options.compile_commands is not None:
        return run_scan([str(root)], options, progress_factory, from_stored=from_stored)
    prepared = _Forked("discovering the working tree", _discover_checkout, root, options, True,
                       niceness=LISTING_NICENESS)
    head = _Forked("listing HEAD", _head_scan_key, root, options, niceness=LISTING_NICENESS) \
        if _keeps_scans(options) else None
    store = LinkStore(FactsCache(options.cache_dir))
    guess = store.newest()
    naming = getattr(from_stored, "naming", None)

    def search_ahead() -> bool:
        """Start the cone's first search once the discovery told its words; never stops the read."""
        if naming is not None and prepared.ready():
            answer = _answer_or(prepared, None)
            if answer is not None:
                naming.start(answer.question, MAX_READER_FILES)
        return False

    try:
        if guess is not None:
            store.read_file_ahead(guess, search_ahead)
        ready = _discovered(prepared)
        search_ahead()
        scanned = run_scan([str(root)], options, progress_factory, from_stored=from_stored, prepared=ready)
    except BaseException:
        prepared.cancel()
        if head is not None:
            head.cancel()
        raise
    finally:
        if naming is not None:
            naming.close()
    _remember_head(head, scanned, options)
    return scanned


def _head_scan_key(root: Path, options: ScanOptions) -> tuple[str, str, Discovery]:
    """(HEAD's tree, the key a scan of the revision HEAD keeps its results under, what
    discovering it finds), at a lower priority: scan_checkout() computes it as it scans
    the working tree, which is HEAD's files when nothing is changed. Then the scan's
    results are those of HEAD, and its record (results.KeptRevision) spares the next
    diff whose base is HEAD listing and keying HEAD's 52,000 files: a pull request's
    check, after the scan of its target branch its cache came from."""
    if _git(root, "diff", "--quiet", "HEAD", "--", check=False).returncode != 0:
        raise DiffError("the working tree is not HEAD")  # (a tracked file changed: listing HEAD is no use)
    tree = _tree_of(root, "HEAD")
    if tree is None:
        raise DiffError("the checkout has no HEAD")
    with tempfile.TemporaryDirectory(prefix="allocscan-rev-") as tmp:
        listed = _revision_input(root, "HEAD", options, Path(tmp))
    return tree, listed.result_key, replace(listed.discovery, content_ids={}, texts={})  # (all a record keeps)


def _remember_head(head: _Forked | None, scanned: ScanResult, options: ScanOptions) -> None:
    """Record the working tree's scan as the revision HEAD's when its results are HEAD's
    (_head_scan_key: a whole-tree scan outlasts it, but a small tree's may wait for it)."""
    if head is None:
        return
    answer = _answer_or(head, None)
    if answer is not None and answer[1] and answer[1] == scanned.result_key:
        tree, key, found = answer
        _keep_record(_revision_key(tree, options), key, found, list(found.warnings), options)


def _findings_only(result: ScanResult) -> ScanResult:
    """Drop what ties a side's findings to its linked program (the analysis, each
    finding's site), and its discovery's lists of files: a diff reads only the base's
    findings and its discovery's warnings, and unpickling 52,000 paths coming back
    from the base side's process took 0.4 s of a pre-merge diff."""
    result.analysis = None
    for f in result.findings + result.suppressed:
        f.site = None
    result.discovery = replace(result.discovery, files=[], makefiles=[], content_ids={}, texts={})
    return result


class _Forked:
    """`function(*args)` run in a forked process, started at once; result() waits for
    what it returned. What it raises comes back as a DiffError (DiffError and
    DiscoverError as they are) naming `what`, and so does its death."""

    def __init__(self, what: str, function: Callable, *args, niceness: int = 0):
        context = multiprocessing.get_context("fork")
        self.what = what
        self._receive, send = context.Pipe(duplex=False)
        self._child = context.Process(target=_forked_child, args=(send, what, function, args, niceness))
        self._child.start()
        send.close()
        self._answer: tuple | None = None

    def ready(self) -> bool:
        """Has it answered (result() would not wait)?"""
        return self._answer is not None or self._receive.poll()

    def result(self):
        if self._answer is None:
            try:
                self._answer = self._receive.recv()
            except EOFError:  # killed (out of memory?) before it could answer
                self._child.join()
                self._answer = ("error", DiffError(f"{self.what} ended without a result "
                                                   f"(exit code {self._child.exitcode})"))
            finally:
                self._receive.close()
                self._child.join()
        kind, value = self._answer
        if kind == "error":
            raise value
        return value

    def cancel(self) -> None:
        """End the process unread (it would block on its answer, and exit wait for it)."""
        if self._answer is None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
            self._receive.close()


def _forked_child(send, what: str, function: Callable, args, niceness: int) -> None:
    _lower_priority(niceness)
    try:
        reply = ("ok", function(*args))
    except (DiffError, DiscoverError) as err:
        reply = ("error", err)
    except Exception as err:  # a bug of ours: the same one line the parent prints for the others
        reply = ("error", DiffError(f"{what}: {type(err).__name__}: {err}"))
    send.send(reply)
    send.close()


def _forking() -> bool:
    try:
        multiprocessing.get_context("fork")
    except ValueError:
        return False
    return True


def _base_side(repo: Path, rev: str, rel_paths: list[str], options: ScanOptions,
               meanwhile: Callable[[], None] | None = None) -> ScanResult:
    """The base side's scan, in a forked process where the platform has fork: the
    program a whole-tree scan links stays in memory until its process ends (the scan
    freezes the collector), and holding the base's while the head is scanned doubled
    peak RSS (7.5 GB on 6.1). Only the findings come back; `meanwhile` runs in this
    process as the base side is scanned."""
    if not _forking():
        return _findings_only(_scan_revision(repo, rev, rel_paths, options)[0])
    code_key()  # read the analyzer's sources once, for both sides: they must agree on it
    scan = _Forked(f"the scan of {rev}", _base_side_scan, repo, rev, rel_paths, options, niceness=BASE_SIDE_NICENESS)
    if meanwhile is not None:
        try:
            meanwhile()
        except BaseException:
            scan.cancel()
            raise
    return scan.result()


def _lower_priority(niceness: int) -> None:
    """Run this process at `niceness` (a nice value), or the lowest it already runs at."""
    try:
        os.nice(max(0, niceness - os.nice(0)))
    except OSError:
        pass


def _base_side_scan(repo: Path, rev: str, rel_paths: list[str], options: ScanOptions) -> ScanResult:
    return _findings_only(_scan_revision(repo, rev, rel_paths, options)[0])


def _read_base_program(repo: Path, base: str, head: str | None, options: ScanOptions,
                       stop: Callable[[], bool] | None = None, naming: FilesNaming | None = None) -> None:
    """Read the linked program a whole-checkout diff's head side will relink from
    (linkstore.LinkStore.load): the one kept of `base`'s files, when the change is one
    a relink takes (_program_to_read()). It is read while the base side is scanned in
    its own process, instead of after it; `stop` ends the read when the program turns
    out not to be needed (the head side's results are kept).

    Which program that is, if any, takes about a second of a pre-merge diff to tell
    (git's lists of the changed files and of the base's, and the changed files
    extracted). It is told in another process, while this one reads the program kept
    last, which is the one most of the time; the read stops when the answer is
    another program or none (a comment, a changed interface), and load() then reads
    the right one itself. A base the results cache has no record of is listed by its
    side while that side reads the program kept last (_scan_revision_reading_ahead):
    this process then does not guess, but waits for the answer, which is most often
    none (no program is kept of a base no scan has seen), and reading the same
    program here only slowed that side's read.

    The same answer tells which words the cone will first look for in the head
    side's files (incremental.header_question()): `naming` starts that search as soon
    as it is told, and the head side's cone reads what git found."""
    if not _keeps_scans(options):
        return
    store = LinkStore(FactsCache(options.cache_dir))
    if not _forking():
        program, words = _program_to_read(repo, base, head, options)
        if naming is not None:
            naming.start(words, MAX_READER_FILES)
        if program is not None:
            store.read_file_ahead(Path(program), stop)
        return
    guess = store.newest()
    telling = _Forked("comparing the changed files' facts", _program_to_read, repo, base, head, options)
    told = lambda: _answer_or(telling, (None, frozenset()))  # noqa: E731
    answer = lambda: told()[0]  # noqa: E731

    def search_ahead() -> bool:
        """Start the cone's first search once told its words; never stops a read."""
        if naming is not None and telling.ready():
            naming.start(told()[1], MAX_READER_FILES)
        return False

    try:
        if guess is not None and options.reuse_results and not _revision_recorded(repo, base, options):
            guess = None
            program = answer()  # (waited for)
            search_ahead()
            if program is not None:
                store.read_file_ahead(Path(program), stop)
        elif guess is not None:
            store.read_file_ahead(guess, lambda: (stop is not None and stop()) or search_ahead()
                                  or (telling.ready() and answer() != str(guess)))
    except BaseException:
        telling.cancel()
        raise
    if guess is not None and answer() != str(guess):  # (the head side reads what it put in the cache: it has answered)
        drop_read_ahead()
    search_ahead()


def _revision_recorded(repo: Path, rev: str, options: ScanOptions) -> bool:
    """Does the results cache hold the record of the whole revision `rev` (results.KeptRevision)?"""
    tree = _tree_of(repo, rev)
    return tree is not None and ResultCache(options.cache_dir).revision(_revision_key(tree, options)) is not None


def _tree_of(repo: Path, rev: str) -> str | None:
    """git's id of the tree of `rev`; None when `rev` names no revision of `repo`."""
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{tree}}", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _answer_or(forked: _Forked, otherwise):
    """What `forked` returned, or `otherwise` when it failed (the scan reports the problem itself)."""
    try:
        return forked.result()
    except (DiffError, DiscoverError):
        return otherwise


def _program_to_read(repo: Path, base: str, head: str | None,
                     options: ScanOptions) -> tuple[str | None, frozenset[str]]:
    """The file of the program kept of `base`'s files, when the change to `head` (None:
    the working tree) is one a relink takes, as far as the facts the cache holds of
    both sides of each changed file tell, else None; with the words the cone of that
    change will first look for in the head's files (incremental.header_question()).
    The working tree's changed files are extracted here, as the head side would (into
    the cache, where it finds them)."""
    cache = FactsCache(options.cache_dir)
    proc = _git(repo, "diff", "--name-only", "--no-renames", "-z", base, *([head] if head else []), "--",
                "*.c", "*.h", check=False)
    changed = [p for p in proc.stdout.split("\0") if p] if proc.returncode == 0 else []
    if not changed or len(changed) > MAX_SAME_FACTS_FILES:
        return None, frozenset()
    try:
        base_files = list_revision(repo, base)
        head_ids = list_revision(repo, head) if head else {}
    except GitTreeError:
        return None, frozenset()
    if any(rel not in base_files for rel in changed):
        return None, frozenset()  # a file added: linked in full
    after_ids = {}
    for rel in changed:
        try:
            after_ids[rel] = head_ids[rel] if head else content_id((repo / rel).read_bytes())
        except (KeyError, OSError):
            return None, frozenset()  # a file removed
    if not head:
        _extract_into(cache, repo, after_ids)
    relinked = False
    versions = {}
    for rel in changed:
        before, after = cache.get(base_files[rel], rel), cache.get(after_ids[rel], rel)
        if before is None or isinstance(before, tuple) or isinstance(after, tuple):
            return None, frozenset()
        versions[rel] = (before, after)
        if after is None:  # not extracted yet (a revision's file): the head side will tell
            relinked = True
        elif not same_facts(before, after):
            if refusal(before, after):
                return None, frozenset()
            relinked = True
    if not relinked:
        return None, frozenset()
    # (a revision's file not extracted yet: the question is not known)
    words = header_question(versions) if all(after is not None for _, after in versions.values()) else frozenset()
    program = LinkStore(cache).kept_for(lambda keys: all(base_files.get(rel) == sha for rel, sha in keys.items()))
    return str(program) if program is not None else None, words


def compare(base: ScanResult, head: ScanResult) -> DiffResult:
    key = lambda f: (f.rule_id, f.fingerprint)  # noqa: E731
    base_keys = {key(f) for f in base.findings}
    head_keys = {key(f) for f in head.findings}
    new = [f for f in head.findings if key(f) not in base_keys]
    unchanged = [f for f in head.findings if key(f) in base_keys]
    fixed = [f for f in base.findings if key(f) not in head_keys]
    return DiffResult(new, fixed, unchanged, head, base)


def staged_commit(repo: Path) -> str:
    """A commit object of the index (nothing else is touched): the staged change as a revision."""
    tree = _git(repo, "write-tree").stdout.strip()
    return _git(repo, "-c", "user.name=allocscan", "-c", "user.email=allocscan@localhost",
                "commit-tree", tree, "-p", "HEAD", "-m", "allocscan: staged change").stdout.strip()


def driver_scopes(repo: Path, paths: list[str]) -> list[str]:
    """Changed files widen to their directories, so values and contexts within the driver are kept."""
    out: list[str] = []
    for p in paths:
        rel = _repo_relative(repo, p)
        scope = str(Path(rel).parent) if (repo / rel).is_file() or rel.endswith((".c", ".h")) else rel
        scope = "" if scope == "." else scope
        if scope not in out:
            out.append(scope)
    return [s for s in out if s] if "" not in out else []


def diff_revisions(repo_dir: Path, base: str, head: str | None, paths: list[str], options: ScanOptions,
                   staged: bool = False) -> DiffResult:
    repo = repo_root(repo_dir)
    rel_paths = driver_scopes(repo, paths)
    if staged:
        head = staged_commit(repo)
    kept = _head_recorded(repo, head, rel_paths, options)
    prepared = None if kept else _head_prepared(repo, head, rel_paths, options)
    naming = FilesNaming(repo, head)
    meanwhile = None if rel_paths or kept else \
        lambda: _read_base_program(repo, base, head, options, _results_kept(prepared), naming)
    try:
        base_result = _base_side(repo, base, rel_paths, options, meanwhile)
        previous = _previous(repo, head, base_result, rel_paths, naming)
        prefix = ""
        if head is None:
            head_result = _scan_side(repo, rel_paths, options, previous, prepared)
        else:
            head_result, prefix = _scan_revision(repo, head, rel_paths, options, previous, prepared)
    finally:
        naming.close()
        if prepared is not None:
            prepared.cancel()  # (once answered and used: its temporary files only)
    result = compare(base_result, head_result)
    result.head_revision, result.head_prefix = head, prefix
    return result


def _head_recorded(repo: Path, head: str | None, rel_paths: list[str], options: ScanOptions) -> bool:
    """Is the head side a whole revision the results cache has the record of? Then it is
    taken whole (_kept_revision_scan): nothing is listed for it, and no program read.
    The GitHub Action diffs the HEAD its scan step has just scanned and recorded."""
    return head is not None and not rel_paths and options.reuse_results and _keeps_scans(options) \
        and _revision_recorded(repo, head, options)


def _head_prepared(repo: Path, head: str | None, rel_paths: list[str], options: ScanOptions):
    """What a whole-checkout diff's head side computes first, started in another process
    now: the working tree's discovery (_discover_checkout), or the listing of the head
    revision (_Listing: the GitHub Action's `--head HEAD`); None for a diff of some
    paths, or where processes cannot fork."""
    if rel_paths or not _forking():
        return None
    if head is None:
        return _Forked("discovering the working tree", _discover_checkout, repo, options, niceness=LISTING_NICENESS)
    return _Listing(repo, head, options) if _keeps_scans(options) else None


def _repo_relative(repo: Path, path: str) -> str:
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(repo.resolve()))
    except ValueError:
        raise DiffError(f"{path}: outside the git checkout {repo}") from None


def patch_files(patch: Path) -> list[str]:
    """Source files a patch or mbox touches (their new names), parsed with unidiff."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    try:
        patchset = PatchSet(patch.read_text(encoding="utf-8", errors="replace"))
    except (UnidiffParseError, OSError) as err:
        raise DiffError(f"{patch}: not a patch ({err})") from None
    return [f.path for f in patchset if f.path.endswith((".c", ".h"))]


def diff_patch(tree_dir: Path, patch: Path, paths: list[str], options: ScanOptions) -> DiffResult:
    repo = repo_root(tree_dir)
    if not patch.is_file():
        raise DiffError(f"{patch}: no such file")
    if not paths:  # default scope: the directories of the files the patch touches
        paths = [str(repo / p) for p in patch_files(patch)]
    rel_paths = driver_scopes(repo, paths)
    head = patched_tree(repo, patch)
    kept = _head_recorded(repo, head, rel_paths, options)
    prepared = None if kept else _head_prepared(repo, head, rel_paths, options)
    naming = FilesNaming(repo, head)
    meanwhile = None if rel_paths or kept else \
        lambda: _read_base_program(repo, "HEAD", head, options, _results_kept(prepared), naming)
    try:
        base_result = _base_side(repo, "HEAD", rel_paths, options, meanwhile)
        head_result, prefix = _scan_revision(repo, head, rel_paths, options,
                                             _previous(repo, head, base_result, rel_paths, naming), prepared)
    finally:
        naming.close()
        if prepared is not None:
            prepared.cancel()
    result = compare(base_result, head_result)
    result.head_revision, result.head_prefix = head, prefix
    return result
