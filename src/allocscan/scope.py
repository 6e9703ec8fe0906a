"""Build scope: restrict a scan to what one kernel build compiles, and say which
findings depend on it.

Runs between discover and extract when `--kconfig FILE` or `--compile-commands
FILE` is given (without either, nothing here runs and a scan is unchanged):

- the C files: those Kbuild builds with the config (`kbuild.built_files`), or
  those a compile_commands.json lists (which wins when both are given: it is
  what a real build compiled); an explicitly named file is always kept;
- the headers: under `include/`, under the config's architecture, or beside a
  built C file (other architectures' headers and unbuilt drivers' go);
- within files, extraction blanks the `#if` branches the config does not
  compile (`extract.kconfig`).

After the rules, `annotate()` gives each finding whose witness, size flow or
site lies in config-dependent code the property `kconfig`: the CONFIG_
symbols of the `#if` branches on its path (`conditionals`) and of the Kbuild
lines that build its files (`builds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .discover import Discovery
from .kbuild import KbuildError, arch_of, built_files, sources_from_compile_commands
from .kernel.kconfig import KernelConfig


class ScopeError(Exception):
    """--kconfig or --compile-commands cannot be applied (one line, naming the input)."""


@dataclass
class Scope:
    config: KernelConfig | None
    gates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # built .c (rel) -> Kbuild's CONFIG_ symbols
    stats: dict = field(default_factory=dict)


def restrict(disc: Discovery, config: KernelConfig | None, compile_commands: Path | None,
             named: list[str]) -> Scope:
    """Drop from `disc.files` what the build does not compile."""
    scope = Scope(config)
    root = disc.kernel_root or disc.root
    explicit = {Path(p).resolve() for p in named if Path(p).is_file()}
    if compile_commands is not None:
        try:
            built = {p.resolve() for p in sources_from_compile_commands(compile_commands)}
        except KbuildError as err:
            raise ScopeError(str(err)) from None
        scope.stats["source"] = str(compile_commands)
    else:
        try:
            walk = built_files(root, config)
        except KbuildError as err:
            raise ScopeError(str(err)) from None
        built = {(root / rel).resolve() for rel in walk.sources}
        scope.gates = {disc.rel(root / rel): gates for rel, gates in walk.sources.items()}
        scope.stats.update(source="kbuild", directories=len(walk.directories),
                           unresolvedObjects=len(walk.unresolved), unknownReferences=walk.unknown_references)
    arches = {arch_of(config)} - {""} if config is not None else set()
    if not arches:  # a compilation database alone: the architectures its files are under
        arches = {p.relative_to(root).parts[1] for p in built
                  if _is_under(p, root) and p.relative_to(root).parts[:1] == ("arch",) and len(p.relative_to(root).parts) > 2}
    built_dirs = {p.parent for p in built}
    kept, dropped_c, dropped_h = [], 0, 0
    for f in disc.files:
        if f in explicit:
            kept.append(f)
        elif f.suffix == ".c":
            if f in built:
                kept.append(f)
            else:
                dropped_c += 1
        elif _header_kept(f, root, arches, built_dirs):
            kept.append(f)
        else:
            dropped_h += 1
    scope.stats.update(cFiles=sum(1 for f in kept if f.suffix == ".c"), headers=sum(1 for f in kept if f.suffix != ".c"),
                       droppedCFiles=dropped_c, droppedHeaders=dropped_h)
    if config is not None:
        scope.stats.update(kconfig=config.path)
    scope.stats["arch"] = sorted(arches)
    disc.files = kept
    return scope


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _header_kept(header: Path, root: Path, arches: set[str], built_dirs: set[Path]) -> bool:
    if header.parent in built_dirs:
        return True
    try:
        rel = header.relative_to(root).parts
    except ValueError:
        return True  # outside the tree: named by the user
    if rel[:1] == ("include",):
        return True
    if rel[:1] == ("arch",):
        return len(rel) > 1 and rel[1] in arches
    return False


def annotate(findings, facts_by_path: dict, scope: Scope) -> int:
    """Add the `kconfig` property to the findings whose path depends on the config;
    returns how many."""
    count = 0
    for f in findings:
        conditionals: list[str] = []
        builds: list[str] = []
        for path, line in _path_points(f):
            facts = facts_by_path.get(path)
            if facts is not None:
                for first, last, symbols in facts.kconfig_lines:
                    if first <= line <= last:
                        conditionals.extend(s for s in symbols if s not in conditionals)
            builds.extend(s for s in scope.gates.get(path, ()) if s not in builds)
        if conditionals or builds:
            f.properties["kconfig"] = {"conditionals": sorted(conditionals), "builds": sorted(builds)}
            count += 1
    return count


def _path_points(f) -> list[tuple[str, int]]:
    points = [(f.path, f.line)]
    points += [(s.path, s.line) for s in f.witness]
    points += [(s.path, s.line) for s in f.value_flow]
    return list(dict.fromkeys(points))


def scope_summary(stats: dict) -> str:
    """One line for --stats."""
    parts = [f"{stats.get('cFiles', 0)} C files and {stats.get('headers', 0)} headers in scope",
             f"{stats.get('droppedCFiles', 0)} C files and {stats.get('droppedHeaders', 0)} headers left out"]
    if stats.get("source") == "kbuild":
        parts.append(f"{stats.get('directories', 0)} Kbuild directories, "
                     f"{stats.get('unresolvedObjects', 0)} objects with no source (generated or not followed)")
    if "findingsDependingOnConfig" in stats:
        parts.append(f"{stats['findingsDependingOnConfig']} findings depend on the config")
    if "linesBlanked" in stats:
        parts.append(f"{stats['linesBlanked']} lines of #if branches blanked")
    return "; ".join(parts)

