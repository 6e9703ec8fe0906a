"""Discover: the files to read, the root paths are reported against, the kernel.

PATH may be a whole kernel tree, a subdirectory of one, or loose files. The
report root is the kernel tree that contains the inputs when there is one
(so `drivers/usb/gadget/u_f.c` reads the same whichever subdirectory was
scanned), else the common directory of the inputs. In a kernel tree the
userspace parts are skipped by default; excludes are configurable.

The files are those of the filesystem, or of a git revision's listing
(`gittree.RevisionView`): a `view` answers the few questions discovery asks.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .kernel.version import KernelInfo, builtin_kernel, find_kernel_root, kernel_from_tree

DEFAULT_KERNEL_EXCLUDES = ("tools", "scripts", "usr", "Documentation", "samples")
SOURCE_SUFFIXES = (".c", ".h")


class DiscoverError(Exception):
    """A path given on the command line that cannot be scanned."""


class PathList(Sequence):
    """Paths kept as text and made `Path`s when read. A diff's discovery of the working
    tree runs in another process and sends 52,000 of them for 6.1: making every one a
    `Path` cost the diff 0.17 s, and a relinked scan reads none (it takes the content
    keys sent with them)."""

    __slots__ = ("_texts",)

    def __init__(self, texts: list[str]):
        self._texts = texts

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [Path(t) for t in self._texts[index]]
        return Path(self._texts[index])

    def __iter__(self):
        return map(Path, self._texts)

    def __eq__(self, other) -> bool:  # as a list of the same Paths
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None


@dataclass
class Discovery:
    root: Path  # paths are reported relative to this
    files: Sequence[Path]  # absolute paths, sorted: a list, or a PathList
    kernel: KernelInfo
    kernel_root: Path | None
    warnings: list[str] = field(default_factory=list)
    # The whole kernel tree is scanned (its root was given): every header and Makefile
    # that defines a macro is in view. Then `makefiles` lists the tree's Makefiles.
    whole_tree: bool = False
    makefiles: list[Path] = field(default_factory=list)
    # Content ids already known (a git revision's blob ids), by absolute path: such a
    # file is neither read nor hashed unless its facts are missing from the cache.
    content_ids: dict[str, str] = field(default_factory=dict)
    # Text of files read from git and held in memory (a revision's Makefiles), by absolute path.
    texts: dict[str, str] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        # string prefix, not Path.relative_to(): this runs once per file of the tree
        text, root = str(path), str(self.root)
        if root != "/" and text.startswith(root + os.sep):
            return text[len(root) + 1:].replace(os.sep, "/")
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


class FilesystemView:
    """The files discovery sees: the filesystem's."""

    exists = staticmethod(Path.exists)
    is_dir = staticmethod(Path.is_dir)
    is_file = staticmethod(Path.is_file)
    walk = staticmethod(os.walk)


def discover(paths: list[str], excludes: tuple[str, ...] = (), kernel_version: str | None = None,
             include_headers: bool = True, view=FilesystemView) -> Discovery:
    if not paths:
        raise DiscoverError("no path given")
    resolved: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not view.exists(p):
            raise DiscoverError(f"{raw}: no such file or directory")
        resolved.append(p.resolve())

    kernel_root = None
    for p in resolved:
        kernel_root = find_kernel_root(p if view.is_dir(p) else p.parent)
        if kernel_root is not None:
            break
    if kernel_root is not None and all(_is_within(p, kernel_root) for p in resolved):
        root = kernel_root
    else:
        kernel_root = None
        root = Path(os.path.commonpath([str(p if view.is_dir(p) else p.parent) for p in resolved]))

    all_excludes = tuple(excludes) + (DEFAULT_KERNEL_EXCLUDES if kernel_root is not None else ())
    whole_tree = kernel_root is not None and kernel_root in resolved
    files: set[Path] = set()
    makefiles: list[Path] = []
    warnings: list[str] = []
    for p in resolved:
        if view.is_file(p):
            files.add(p)  # an explicitly named file is always read
            continue
        for dirpath, dirnames, filenames in view.walk(p):
            here = Path(dirpath)
            rel_dir = _rel(here, root)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and not _excluded(_join(rel_dir, d), all_excludes))
            for name in filenames:
                if whole_tree and (name.startswith("Makefile") or name == "Kbuild" or name.endswith(".mk")):
                    makefiles.append(here / name)
                if not name.endswith(SOURCE_SUFFIXES if include_headers else (".c",)):
                    continue
                rel_file = _join(rel_dir, name)
                if _excluded(rel_file, tuple(excludes)):
                    continue
                files.add(here / name)

    if kernel_version:
        kernel = builtin_kernel(kernel_version)
    elif kernel_root is not None:
        kernel = kernel_from_tree(kernel_root)
        if not kernel.from_tree:
            warnings.extend(kernel.notes)
    else:
        kernel = builtin_kernel(None)
    # Sorted as Path sorts (part by part), with a key: Path.__lt__ is Python code, and
    # a kernel tree has 52,000 files to sort.
    ordered = sorted(files, key=lambda f: f.parts)
    return Discovery(root=root, files=ordered, kernel=kernel, kernel_root=kernel_root, warnings=warnings,
                     whole_tree=whole_tree, makefiles=sorted(makefiles))


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _rel(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
    return "" if rel == "." else rel


def _join(rel_dir: str, name: str) -> str:
    return f"{rel_dir}/{name}" if rel_dir else name


def _excluded(rel_path: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if rel_path == pattern or fnmatch.fnmatch(rel_path, pattern) or rel_path.startswith(pattern + "/"):
            return True
    return False
