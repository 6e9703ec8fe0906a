"""A git revision as a scan input, without checking it out.

`allocscan diff` scans two sides of a change. Checking a side out as a
worktree writes every file of the revision (70,000 for a kernel) only for the
scan to find nearly all of them in the facts cache. The cache is keyed by a
file's content id, which is git's blob id (`extract.source.content_id`), so
`git ls-tree` already says which entry each file of the revision has.

`revision_scan_input()` lists the revision, then writes into a temporary
directory only what must be read as a file: the files the kernel facts come
from (the top Makefile's release, the GFP headers) and the C files whose
facts are not in the cache. A whole tree's Makefiles (their `-D` flags) are
read into memory (`Discovery.texts`). Discovery walks the listing
(`RevisionView`), so paths, scope and excludes are exactly those of a
checkout of the same revision.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .cache import FactsCache
from .discover import Discovery, discover

# Files the kernel facts come from (release, GFP bits, orders, might_sleep and
# dump_stack lines: kernel.version), written out whenever the revision has them.
KERNEL_FACT_FILES = ("Makefile", "include/linux/gfp.h", "include/linux/gfp_types.h", "include/linux/mmzone.h",
                     "include/linux/sched/mm.h", "include/trace/events/mmflags.h", "mm/page_alloc.c",
                     "lib/dump_stack.c")

_REGULAR_FILE_MODES = ("100644", "100755")
_SYMLINK_MODE = "120000"


class GitTreeError(Exception):
    """git could not list or read the revision: one line for the user."""


def list_revision(repo: Path, rev: str) -> dict[str, str]:
    """Every file of `rev` (its path from the top of the repository) and its blob id.
    A symbolic link to a file of the revision is that file, as a checkout's walk sees it;
    links to directories, out of the tree or dangling are left out, as are submodules."""
    proc = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "-z", "--full-tree", rev],
                          capture_output=True)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitTreeError(f"git ls-tree {rev}: {lines[-1] if lines else 'failed'}")
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, blob = meta.decode().split(" ")
        name = path.decode("utf-8", errors="surrogateescape")
        if kind == "blob" and mode in _REGULAR_FILE_MODES:
            files[name] = blob
        elif kind == "blob" and mode == _SYMLINK_MODE:
            links[name] = blob
    if links:
        targets = dict(read_blobs(repo, list(set(links.values()))))
        _add_links(files, {name: targets[blob].decode("utf-8", errors="surrogateescape")
                           for name, blob in links.items()})
    return files


def _add_links(files: dict[str, str], links: dict[str, str]) -> None:
    """Give each link to a file (through other links too) the file's blob id."""
    def resolve(name: str, seen: int = 0) -> str | None:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), links[name]))
        if target.startswith("../") or links[name].startswith("/"):
            return None
        if target in files:
            return files[target]
        return resolve(target, seen + 1) if target in links and seen < 8 else None

    for name in links:
        blob = resolve(name)
        if blob is not None:
            files[name] = blob


def read_blobs(repo: Path, blobs: list[str]):
    """(blob id, content) of each of `blobs`, in order, read with one `git cat-file --batch`."""
    with tempfile.TemporaryFile() as ids:
        ids.write("".join(f"{blob}\n" for blob in blobs).encode())
        ids.seek(0)
        proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"], stdin=ids,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for blob in blobs:
                header = proc.stdout.readline().split()
                if len(header) != 3 or header[0].decode() != blob:
                    raise GitTreeError(f"git cat-file: cannot read object {blob}")
                data = proc.stdout.read(int(header[2]))
                proc.stdout.read(1)  # the newline after each object
                yield blob, data
        finally:
            proc.stdout.close()
            proc.wait()


def write_blobs(repo: Path, wanted: dict[str, str], top: Path) -> None:
    """Write each blob of `wanted` (path -> blob id) under `top`."""
    paths = list(wanted)
    for rel, (_, data) in zip(paths, read_blobs(repo, [wanted[p] for p in paths])):
        target = top / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@dataclass
class _Directory:
    subdirs: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)


class RevisionView:
    """Discovery's view of a revision's files (`discover.FilesystemView`'s questions),
    answered from the listing: the files themselves need not exist under `top`."""

    def __init__(self, top: Path, files: dict[str, str]):
        self.top = top
        self._top = os.path.normpath(str(top))
        self.files = files
        self.dirs: dict[str, _Directory] = {"": _Directory()}
        for rel in files:
            parent, _, name = rel.rpartition("/")
            self._directory(parent).files.append(name)

    def _directory(self, rel: str) -> _Directory:
        found = self.dirs.get(rel)
        if found is None:
            found = self.dirs[rel] = _Directory()
            parent, _, name = rel.rpartition("/")
            self._directory(parent).subdirs.add(name)
        return found

    def rel(self, path: Path) -> str | None:
        """`path`'s place in the revision, or None outside it (a string prefix, not
        Path.resolve(): this runs once per file of the tree)."""
        text, top = os.path.normpath(str(path)), self._top
        if text == top:
            return ""
        return text[len(top) + 1:] if text.startswith(top + os.sep) else None

    def is_file(self, path: Path) -> bool:
        return self.rel(path) in self.files

    def is_dir(self, path: Path) -> bool:
        return self.rel(path) in self.dirs

    def exists(self, path: Path) -> bool:
        return self.is_file(path) or self.is_dir(path)

    def walk(self, path: Path):
        """os.walk over the listing, top-down: the caller may prune the subdirectory list."""
        stack = [self.rel(path)]
        while stack:
            rel = stack.pop()
            directory = self.dirs[rel]
            subdirs = sorted(directory.subdirs)
            yield str(self.top / rel) if rel else str(self.top), subdirs, list(directory.files)
            stack.extend(f"{rel}/{d}" if rel else d for d in reversed(subdirs))

    def content_ids(self, disc: Discovery) -> dict[str, str]:
        return {str(f): self.files[self.rel(f)] for f in disc.files}


@contextlib.contextmanager
def revision_scan_input(repo: Path, rev: str, scope: list[str], excludes: tuple[str, ...],
                        kernel_version: str | None, cache: FactsCache):
    """(top, scan targets, Discovery) of `rev`'s files within `scope` (paths from the top of the
    repository; none: all of it), with what must be read written to a temporary directory,
    removed afterwards. `cache` says which C files' facts are already known."""
    tmp = Path(tempfile.mkdtemp(prefix="allocscan-rev-")).resolve()
    try:
        yield revision_input(repo, rev, scope, excludes, kernel_version, cache, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def revision_input(repo: Path, rev: str, scope: list[str], excludes: tuple[str, ...],
                   kernel_version: str | None, cache: FactsCache, tmp: Path) -> tuple[Path, list[str], Discovery]:
    """What revision_scan_input() yields, its files written under `tmp` (an empty
    directory the caller removes): a diff's base side computes it in another process
    while it reads a kept program (diff.py)."""
    files = list_revision(repo, rev)
    top = tmp / "tree"
    top.mkdir()
    write_blobs(repo, {rel: blob for rel, blob in files.items() if rel in KERNEL_FACT_FILES}, top)
    view = RevisionView(top, files)
    targets = [str(top / p) for p in scope] if scope else [str(top)]
    missing = [p for p, t in zip(scope, targets) if not view.exists(Path(t))]
    targets = [t for t in targets if view.exists(Path(t))]
    if not targets:
        raise GitTreeError(f"{', '.join(missing)}: not present in {rev}")
    disc = discover(targets, excludes, kernel_version, view=view)
    disc.content_ids = view.content_ids(disc)
    build_files = [view.rel(path) for path in disc.makefiles]
    for rel, (_, data) in zip(build_files, read_blobs(repo, [files[rel] for rel in build_files])):
        disc.texts[str(top / rel)] = data.decode("utf-8", errors="replace")
    write_blobs(repo, _not_in_cache(disc, cache, view), top)
    return top, targets, disc


def _not_in_cache(disc: Discovery, cache: FactsCache, view: RevisionView) -> dict[str, str]:
    """The discovered files whose facts the cache lacks (all of them without a cache)."""
    wanted = {}
    for path in disc.files:
        blob = disc.content_ids[str(path)]
        if not cache.has(blob, disc.rel(path)):
            wanted[view.rel(path)] = blob
    return wanted

