"""The scan job end to end: discover -> extract -> link -> analyze -> rules.

`run_scan()` returns plain results (findings, warnings, stats) that the CLI
renders; tests and the benchmark call it directly.
"""

from __future__ import annotations

import gc
import hashlib
import posixpath
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from .analyze import analyze
from .analyze.context import MAX_HOPS
from .analyze.preproc import makefile_defines
from .cache import FactsCache
from .discover import Discovery, discover
from .kbuild import composite_modules
from .link import Program, link
from .linkstore import Linked, LinkStore, drop_read_ahead
from .extract.driver import ContentKeys, ExtractResult, ExtractStats, content_keys, extract_all
from .incremental import MAX_SAME_FACTS_FILES, Previous, changed_files, merge, plan as incremental_plan, same_facts
from .results import ResultCache, StoredResult, scan_key
from .report.signature import attach_signatures
from .rules import select
from .rules.base import Finding
from .relink import refusal, relink
from .scope import annotate, restrict
from .kernel.version import PAGE_ALLOC_COSTLY_ORDER


@dataclass
class ScanOptions:
    min_order: int = PAGE_ALLOC_COSTLY_ORDER + 1
    jobs: int = 1
    cache_dir: Path | None = None
    excludes: tuple[str, ...] = ()
    kernel_version: str | None = None
    select: list[str] | None = None
    ignore: list[str] | None = None
    kconfig: object = None  # a kernel.kconfig.KernelConfig: scan what it builds (--kconfig)
    compile_commands: Path | None = None  # scan the C files this compilation database lists
    # Take the findings of an earlier scan of exactly the same input (results.py) when
    # the cache has them (diff's sides); every scan with a cache stores its own.
    reuse_results: bool = False


@dataclass
class Prepared:
    """What a scan computes first, when another process computed it meanwhile (diff.py):
    the discovery of its paths, their content keys, and the keys of the kept scans
    nearest to them (nearest_scans(); None: not computed, the scan looks them up)."""

    discovery: Discovery
    keys: ContentKeys
    nearest: list[str] | None = None


@dataclass
class ScanResult:
    discovery: Discovery
    findings: list[Finding]
    suppressed: list[Finding]
    warnings: list[str]
    stats: ExtractStats
    timings: dict[str, float] = field(default_factory=dict)
    analysis: object = None  # the Analysis, for callers that map back to sites (explain --tree)
    scope: object = None  # the scope.Scope with --kconfig/--compile-commands, else None
    file_keys: dict[str, str] = field(default_factory=dict)  # relative path -> content id
    context_key: str = ""  # what besides the files the findings depend on (context_key())
    incremental: str = ""  # what an incremental scan analysed again (incremental.Plan.stats)
    result_key: str = ""  # where the results cache keeps these findings ("": not kept)


def run_scan(paths: list[str], options: ScanOptions, progress_factory=None,
             discovery: Discovery | None = None, previous: Previous | None = None,
             from_stored: Callable[[StoredResult, dict], Previous | None] | None = None,
             prepared: Prepared | None = None) -> ScanResult:
    """Scan `paths`; `discovery`, when given, is what discovering them found (a git
    revision's files: gittree). With `previous`, a scan of the same tree before a
    change, only the sites the change can reach are analysed (incremental.py).
    Without it, `from_stored` makes one (or None: not usable) of a scan the results
    cache keeps, given this scan's file keys: the nearest it can (ResultCache.nearest),
    when the cache does not hold this very scan's results. `prepared` is what this
    scan would compute first, its discovery of `paths` and their content keys, when
    another process computed them meanwhile (a diff's head side: diff.py)."""
    # The stages build millions of small objects that never form cycles; the
    # cyclic collector re-walking them all costs half a warm whole-tree scan.
    collecting = gc.isenabled()
    gc.disable()
    links = LinkStore(FactsCache(options.cache_dir, options.kconfig))
    try:
        return _run_scan(paths, options, links, progress_factory, discovery, previous, from_stored, prepared)
    finally:
        links.wait()  # the program a full scan saves (linkstore.py)
        if collecting:
            gc.freeze()  # what the scan built stays alive until exit: never re-walk it
            gc.enable()


def _release_between_rules(analysis) -> None:
    """Drop the value and gfp memos the last stage or rule built (each rule asks anew for
    what it needs), and hand the freed heap back to the system: the next rule's peak then
    starts from less. A warm whole 6.12 scan's peak, set by AS002 validating its witnesses,
    is 11 MB lower (AS001 leaves 56 MB of memos that AS002 mostly does not read)."""
    analysis.values.forget()
    analysis.gfp.forget()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _libc_malloc_trim():
    """glibc's malloc_trim(), or None where the C library has none (musl, macOS)."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_malloc_trim()


def context_key(kernel, makefiles, options: ScanOptions) -> str:
    """The key of everything but the files that findings depend on: the analyzer, the
    kernel facts, the Makefiles and the options (two scans of one tree compare it)."""
    return scan_key(ContentKeys([], [], 0), kernel, makefiles, options.min_order, options.select, options.ignore)


def _run_scan(paths: list[str], options: ScanOptions, links: LinkStore, progress_factory=None,
              discovery: Discovery | None = None, previous: Previous | None = None,
              from_stored: Callable[[StoredResult, dict], Previous | None] | None = None,
              prepared: Prepared | None = None) -> ScanResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if prepared is not None:
        disc, keys = prepared.discovery, prepared.keys
    else:
        disc, keys = discovery or discover(paths, options.excludes, options.kernel_version), None
    scope = None
    if options.kconfig is not None or options.compile_commands is not None:
        scope = restrict(disc, options.kconfig, options.compile_commands, paths)
    timings["discover"] = time.perf_counter() - t0

    cache = FactsCache(options.cache_dir, options.kconfig)
    t = time.perf_counter()
    if keys is None:
        keys = content_keys(disc.files, disc.rel, cache, disc.content_ids)
    makefiles = list(_read_makefiles(disc)) if disc.whole_tree else None
    file_keys = {rel: sha for _, rel, sha in keys.keyed}
    this_context = context_key(disc.kernel, makefiles, options)
    results, result_key = None, None
    if options.cache_dir is not None and scope is None:
        results = ResultCache(options.cache_dir)
        result_key = _result_key(disc, keys, makefiles, options)
        stored = results.get(result_key) if options.reuse_results else None
        if stored is not None:
            cache.save_index()
            timings["reused"] = time.perf_counter() - t
            timings["total"] = time.perf_counter() - t0
            return ScanResult(disc, stored.findings, stored.suppressed, disc.warnings + stored.warnings,
                              stored.stats, timings, file_keys=file_keys, context_key=this_context,
                              result_key=result_key)
        if previous is None and from_stored is not None:
            for nearest in results.nearest(this_context, file_keys, prepared.nearest if prepared else None):
                previous = from_stored(nearest, file_keys)
                if previous is not None:
                    break
    if previous is not None and scope is None:
        same = _same_facts_as_before(previous, keys, file_keys, this_context, cache)
        if same:
            timings["total"] = time.perf_counter() - t0
            note = (f"{len(same)} changed file(s), each with the facts it had before (comments, blank space): "
                    "nothing analysed again")
            if results is not None:
                results.put(result_key, StoredResult(previous.findings, previous.suppressed, previous.warnings,
                                                     previous.stats, {"incremental": note}, file_keys, this_context))
            return ScanResult(disc, list(previous.findings), list(previous.suppressed),
                              disc.warnings + previous.warnings, previous.stats, timings, file_keys=file_keys,
                              context_key=this_context, incremental=note, result_key=result_key or "")
    relinked = None
    of_checkout = from_stored is not None or (discovery is not None and disc.whole_tree)
    if scope is None and (previous is not None or of_checkout):
        # (with no previous scan, a program kept of these files, or of files near them,
        # is the one link() would build: the analysis is whole, the link is not redone)
        try:
            relinked = _relinked(previous.file_keys if previous is not None else None, keys, file_keys, cache, links)
        except Exception as err:  # a bug of ours in the relink: linking in full gives the same program
            disc.warnings.append(f"relinking the kept program failed ({type(err).__name__}: {err}); linked in full")
    if relinked is not None:
        program, extracted = relinked
        timings["relink"] = time.perf_counter() - t
    else:
        drop_read_ahead()
        if progress_factory is not None:
            with progress_factory(len(disc.files)) as advance:
                extracted = extract_all(disc.files, disc.rel, cache, options.jobs, advance, keys)
        else:
            extracted = extract_all(disc.files, disc.rel, cache, options.jobs, keys=keys)
        timings["extract"] = time.perf_counter() - t
        t = time.perf_counter()
        program = link(extracted.facts)
        _read_build(program, makefiles)
        timings["link"] = time.perf_counter() - t
        if previous is None and scope is None and of_checkout and not links.has(file_keys):
            # A full scan of a whole git checkout (from_stored: see diff.checkout_scan_previous) or
            # of a whole revision of one (a diff's base side): the next scan or diff after a
            # change starts from its program. Other trees have no later scan to relink.
            t = time.perf_counter()
            links.save(Linked(program, extracted.rejected, extracted.stats), file_keys)
            if links.written_here:  # (too little memory to write it beside the analysis)
                timings["keep"] = time.perf_counter() - t
            elif links.not_kept:
                disc.warnings.append(links.not_kept)

    t = time.perf_counter()
    if relinked is not None:
        _read_build(program, makefiles)
    timings["relink" if relinked is not None else "link"] += time.perf_counter() - t  # the build's facts too

    t = time.perf_counter()
    incremental = None
    if previous is not None and scope is None:
        incremental = _Incremental(previous, program, keys, file_keys, this_context, cache)
    analysis = analyze(program, disc.kernel, incremental.restrict if incremental else None)
    timings["analyze"] = time.perf_counter() - t

    t = time.perf_counter()
    findings: list[Finding] = []
    for rule in select(options.select, options.ignore):
        _release_between_rules(analysis)
        findings.extend(rule.check(analysis, options))
    findings = _one_per_line(findings)
    # Fingerprints of the sites in files with findings only: a tree has 50,000 sites.
    paths = {f.path for f in findings}
    rule_ids = {f.rule_id for f in findings}
    sites_by_fp = {s.fingerprint(rule_id): s for s in analysis.sites if s.path in paths for rule_id in rule_ids}
    attach_signatures(findings, sites_by_fp, disc.kernel, options.kconfig)
    kept, suppressed = _apply_suppressions(findings, extracted.facts)
    if incremental is not None:
        analysis.stats.update(incremental.plan.stats(incremental.allocating))
        if analysis.contexts.visited is not None:
            within, entered = analysis.contexts.visited
            analysis.stats["incremental"] += (f"; contexts: {within} function(s) within {MAX_HOPS} calls above "
                                              f"them, entry points of {entered}")
        if incremental.plan.cone is not None:
            kept, suppressed = merge(previous, program, incremental.plan, kept, suppressed)
    kept.sort(key=lambda f: f.sort_key)
    if scope is not None:
        by_path = {ff.path: ff for ff in extracted.facts}
        scope.stats["findingsDependingOnConfig"] = annotate(kept, by_path, scope)
        if options.kconfig is not None:
            scope.stats["linesBlanked"] = sum(ff.kconfig_blanked for ff in extracted.facts)
    timings["rules"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    warnings = disc.warnings + extracted.warnings + analysis.warnings
    if results is not None:
        # The findings without their sites: those hold the whole linked program.
        results.put(result_key, StoredResult([replace(f, site=None) for f in kept],
                                             [replace(f, site=None) for f in suppressed],
                                             extracted.warnings + analysis.warnings, extracted.stats,
                                             dict(analysis.stats), file_keys, this_context))
    return ScanResult(disc, kept, suppressed, warnings, extracted.stats, timings, analysis, scope,
                      file_keys, this_context, analysis.stats.get("incremental", ""), result_key or "")


def results_kept(disc: Discovery, keys: ContentKeys, options: ScanOptions, key: str | None = None) -> bool:
    """Whether the results cache holds this scan's results, looked up as _run_scan()
    looks them up (a diff asks it of its head side ahead: diff.py); `key`: their
    result_key_of(), when the caller has it."""
    if not options.reuse_results:
        return False
    key = result_key_of(disc, keys, options) if key is None else key
    return bool(key) and ResultCache(options.cache_dir).has(key)


def nearest_scans(disc: Discovery, keys: ContentKeys, options: ScanOptions) -> list[str] | None:
    """The keys of the kept scans nearest to these files (ResultCache.nearest_keys), as
    _run_scan() looks them up when it has no previous scan; None without a cache.
    Reading them takes a third of a second: a diff's base side and a scan of a
    checkout ask it in the process that discovers their files."""
    if options.cache_dir is None:
        return None
    makefiles = list(_read_makefiles(replace(disc, warnings=[]))) if disc.whole_tree else None
    return ResultCache(options.cache_dir).nearest_keys(context_key(disc.kernel, makefiles, options),
                                                       {rel: sha for _, rel, sha in keys.keyed})


def result_key_of(disc: Discovery, keys: ContentKeys, options: ScanOptions) -> str:
    """The key a scan of these files keeps its results under, as _run_scan() makes it;
    "" for a scan that keeps none (no cache, or restricted by --kconfig or a database)."""
    if options.cache_dir is None or options.kconfig is not None or options.compile_commands is not None:
        return ""
    disc = replace(disc, warnings=[])  # a Makefile it cannot read: the scan warns of it
    makefiles = list(_read_makefiles(disc)) if disc.whole_tree else None
    return _result_key(disc, keys, makefiles, options)


def _result_key(disc: Discovery, keys: ContentKeys, makefiles, options: ScanOptions) -> str:
    """The key a scan of these files keeps its results under (results.scan_key)."""
    return scan_key(keys, disc.kernel, makefiles, options.min_order, options.select, options.ignore)


def _same_facts_as_before(previous: Previous, keys: ContentKeys, file_keys: dict[str, str], context: str,
                          cache: FactsCache) -> set[str]:
    """The changed files, when every one holds the facts it held in `previous`
    (incremental.same_facts): then the previous findings stand, and nothing needs to
    be linked or analysed. Empty otherwise."""
    changed = changed_files(previous.file_keys, file_keys)
    if context != previous.context_key or previous.stats is None or not changed or \
            len(changed) > MAX_SAME_FACTS_FILES or not changed <= previous.file_keys.keys() & file_keys.keys():
        return set()
    head = extract_all([], None, cache, 1, keys=ContentKeys([k for k in keys.keyed if k[1] in changed], [],
                                                             len(changed)))
    after = {ff.path: ff for ff in head.facts}
    for rel in changed:
        before = cache.get(previous.file_keys[rel], rel)
        if before is None or rel not in after or isinstance(before, tuple) or not same_facts(before, after[rel]):
            return set()
    return changed


def _relinked(previous_keys: dict[str, str] | None, keys: ContentKeys, file_keys: dict[str, str],
              cache: FactsCache, links: LinkStore) -> tuple[Program, ExtractResult] | None:
    """The program of the previous scan (its file keys: `previous_keys`) relinked for
    the changed files, with what extracting every file would have given (relink.py;
    linkstore.py keeps the programs); None when it has none for them or the change
    is not one a relink takes."""
    # The program of the previous scan, or (its program not kept: a diff's head side,
    # the nearest stored scan of other files; or no previous scan) the kept program
    # nearest to these files: a relink makes either the program of `file_keys`.
    if previous_keys is not None and links.has(previous_keys):
        kept_keys = previous_keys
    else:
        kept_keys = links.nearest(file_keys, MAX_SAME_FACTS_FILES)
    if kept_keys is None or kept_keys.keys() != file_keys.keys():
        return None
    changed = changed_files(kept_keys, file_keys)
    head = extract_all([], None, cache, 1, keys=ContentKeys([k for k in keys.keyed if k[1] in changed], [],
                                                             len(changed)))
    if head.rejected or len(head.facts) != len(changed):
        return None
    before = {ff.path: cache.get(kept_keys[ff.path], ff.path) for ff in head.facts}
    for ff in head.facts:  # what can be told before loading the program: most refusals
        old = before[ff.path]
        if old is None or isinstance(old, tuple) or refusal(old, ff):
            return None
    sources = {rel: path for path, rel, _ in keys.keyed}
    linked = links.load(kept_keys, sources, cache.config)
    if linked is None:
        return None
    if changed & linked.rejected.keys() or relink(linked.program, head.facts):
        linked.program.forwarding = None  # the one cycle: freed now, not by the collector
        return None
    program = linked.program
    stats = replace(linked.stats, files=keys.files, skipped=len(keys.warnings) + len(linked.rejected),
                    parsed=head.stats.parsed, cached=len(program.files) - head.stats.parsed)
    for ff in head.facts:
        stats.count(before[ff.path], -1)
        stats.count(ff)
    warnings = list(keys.warnings) + [linked.rejected[rel] for _, rel, _ in keys.keyed if rel in linked.rejected]
    warnings += [w for ff in program.files for w in ff.warnings]
    return program, ExtractResult(program.files, warnings, stats, dict(linked.rejected))


class _Incremental:
    """The cone of a change (incremental.plan), asked for by analyze() once it knows the
    allocating functions."""

    def __init__(self, previous: Previous, program, keys: ContentKeys, file_keys: dict[str, str],
                 context: str, cache: FactsCache):
        self.previous, self.program, self.file_keys, self.context, self.cache = \
            previous, program, file_keys, context, cache
        self.path_of = {rel: name for name, rel, _ in keys.keyed}
        self.plan = None
        self.allocating = 0

    def restrict(self, allocating: set[str]) -> set[str] | None:
        self.plan = incremental_plan(self.previous, self.program, self.file_keys, self.context,
                                     self._head_text, self._base_facts, allocating)
        cone = self.plan.cone
        self.allocating = len(cone & allocating) if cone is not None else len(allocating)
        return cone

    def _head_text(self, rel: str) -> bytes | None:
        try:
            with open(self.path_of[rel], "rb") as fh:
                return fh.read()
        except (OSError, KeyError):
            return self.previous.read_blobs([self.file_keys[rel]])[0]

    def _base_facts(self, rel: str, sha: str):
        return self.cache.get(sha, rel)


def _read_build(program: Program, makefiles: list[tuple[str, str]] | None) -> None:
    """What the tree's Makefiles say (`makefiles`: each one's directory and text, None
    when the scan is not of a whole tree): the macros the command line defines and
    which files link into one module. Read with the link, before the program is kept,
    so that a relinked program whose Makefiles are the same keeps them (`build_key`)."""
    key = _build_key(makefiles)
    if program.build_key == key:
        return
    program.build_key = key
    if makefiles is None:
        program.command_line_defines = program.modules = None
        return
    program.command_line_defines = makefile_defines(text for _, text in makefiles)
    by_directory: dict[str, list[str]] = {}
    for directory, text in makefiles:
        by_directory.setdefault(directory, []).append(text)
    program.modules = composite_modules(by_directory)


def _build_key(makefiles: list[tuple[str, str]] | None) -> str:
    if makefiles is None:
        return ""
    h = hashlib.sha1()
    for directory, text in makefiles:
        h.update(f"{directory}\0{len(text)}\0".encode())
        h.update(text.encode(errors="surrogateescape"))
    return h.hexdigest()


def _read_makefiles(disc: Discovery):
    """(directory, text) of each of the tree's Makefiles and Kbuild files."""
    for path in disc.makefiles:
        directory = posixpath.dirname(disc.rel(path))
        held = disc.texts.get(str(path))
        if held is not None:
            yield directory, held
            continue
        try:
            yield directory, path.read_text(errors="replace")
        except OSError as err:
            disc.warnings.append(f"{disc.rel(path)}: cannot read ({err.strerror}); its -D macros are not known")


def _one_per_line(findings: list[Finding]) -> list[Finding]:
    """At most one finding per (rule, file, line): the most severe (smatch's warn_line),
    then the one its rule ranks first (`Finding.choice`), then the first found."""
    rank = {"error": 3, "warning": 2, "note": 1}
    best: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.rule_id, f.path, f.line)
        if key not in best or (-rank[f.level], f.choice) < (-rank[best[key].level], best[key].choice):
            best[key] = f
    return list(best.values())


def _apply_suppressions(findings: list[Finding], facts) -> tuple[list[Finding], list[Finding]]:
    by_path = {ff.path: ff.suppressions for ff in facts if ff.suppressions}
    kept, suppressed = [], []
    for f in findings:
        reason = None
        for s in by_path.get(f.path, ()):
            if s.line in (f.line, f.line - 1) and (not s.rules or f.rule_id in s.rules):
                reason = s.reason or "suppressed"
                break
        if reason is None:
            kept.append(f)
        else:
            f.suppressed = reason
            suppressed.append(f)
    return kept, suppressed
