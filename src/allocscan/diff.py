"""Diff mode: the findings a change introduces (and, on request, those it fixes).

Both sides are scanned with the same facts cache, so only the files the
change touches are parsed again; the analyses re-run on the whole graph.
Findings are matched by rule and our line-independent fingerprint, so a
finding that only moved is not new.

Sides come from git: `--base REV` (default `HEAD`) and `--head REV` (default:
the working tree), each checked out into a temporary worktree; or a patch or
mbox (`--patch`) applied with git to a temporary worktree of `--tree`'s HEAD.
The user's own tree is never modified.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .rules.base import Finding
from .pipeline import ScanOptions, ScanResult, run_scan


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


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
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


# Files the kernel facts come from (version, GFP bits, orders, might_sleep line):
# a sparse worktree always includes them.
KERNEL_FACT_FILES = ("Makefile", "include/linux/gfp.h", "include/linux/gfp_types.h", "include/linux/mmzone.h",
                     "include/linux/sched/mm.h", "include/trace/events/mmflags.h", "mm/page_alloc.c")


@contextlib.contextmanager
def worktree(repo: Path, rev: str, only: list[str] | None = None):
    """A detached temporary worktree of `rev`, removed afterwards.

    With `only`, the worktree is sparse: just those paths (and the kernel fact
    files) are checked out, which keeps a kernel-sized checkout to seconds.
    """
    _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="allocscan-wt-"))
    path = tmp / "tree"
    if only:
        _git(repo, "worktree", "add", "--detach", "--no-checkout", "--quiet", str(path), rev)
        patterns = [f"/{p.strip('/')}/" if not p.endswith((".c", ".h")) else f"/{p}" for p in only]
        patterns += [f"/{p}" for p in KERNEL_FACT_FILES]
        _git(path, "sparse-checkout", "set", "--no-cone", *patterns)
        _git(path, "checkout", "--quiet", "--detach", rev)
    else:
        _git(repo, "worktree", "add", "--detach", "--quiet", str(path), rev)
    try:
        yield path
    finally:
        _git(repo, "worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        _git(repo, "worktree", "prune", check=False)


def apply_patch(tree: Path, patch: Path) -> None:
    """Apply a patch or an mbox series inside `tree` (a throw-away worktree)."""
    try:
        text = patch.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DiffError(f"{patch}: cannot read ({err.strerror})") from None
    if "diff --git" not in text and "\n--- " not in text and not text.startswith("--- "):
        raise DiffError(f"{patch}: not a patch (no diff in it)")
    if text.startswith("From ") and text.count("\nFrom ") >= 1:
        proc = _git(tree, "-c", "user.name=allocscan", "-c", "user.email=allocscan@localhost",
                    "am", "--quiet", "--keep-cr", str(patch.resolve()), check=False)
        if proc.returncode == 0:
            return
        _git(tree, "am", "--abort", check=False)
    proc = _git(tree, "apply", "--whitespace=nowarn", str(patch.resolve()), check=False)
    if proc.returncode != 0:
        lines = (proc.stderr or "").strip().splitlines()
        raise DiffError(f"{patch}: does not apply ({lines[-1] if lines else 'git apply failed'})")


def _scan_side(root: Path, rel_paths: list[str], options: ScanOptions) -> ScanResult:
    targets = [str(root / p) for p in rel_paths] if rel_paths else [str(root)]
    missing = [t for t in targets if not Path(t).exists()]
    targets = [t for t in targets if Path(t).exists()]
    if not targets:
        raise DiffError(f"{', '.join(missing)}: not present on this side")
    return run_scan(targets, options)


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
    with worktree(repo, base, rel_paths) as base_tree:
        base_result = _scan_side(base_tree, rel_paths, options)
    if head is None:
        head_result = _scan_side(repo, rel_paths, options)
    else:
        with worktree(repo, head, rel_paths) as head_tree:
            head_result = _scan_side(head_tree, rel_paths, options)
    return compare(base_result, head_result)


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
    with worktree(repo, "HEAD", rel_paths) as base_tree:
        base_result = _scan_side(base_tree, rel_paths, options)
    with worktree(repo, "HEAD", rel_paths) as head_tree:
        apply_patch(head_tree, patch)
        head_result = _scan_side(head_tree, rel_paths, options)
    return compare(base_result, head_result)
