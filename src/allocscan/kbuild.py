"""Which C files a kernel config builds: a walk of Kbuild's `obj-` lines.

Starting at the tree's top `Kbuild` (and `arch/$(SRCARCH)/Makefile`'s
`core-y`/`drivers-y`/`libs-y`, which it descends into as `$(ARCH_CORE)` ...),
each directory's `Kbuild` (else `Makefile`) is read with a small subset of
make: assignments (`=`, `:=`, `+=`, `?=`), `$(VAR)` references, the few
functions Kbuild files use (`subst`, `patsubst`, `addprefix`, `addsuffix`,
`filter`, `filter-out`, `if`, `strip`, `sort`), and `ifeq`/`ifneq`/`ifdef`/
`ifndef` conditionals evaluated with the config (a condition that reads
anything unknown keeps both branches). What `obj-y`, `obj-m`, `lib-y` and
`lib-m` list is built: `dir/` descends, `foo.o` is `foo.c`, or the parts of a
composite object (`foo-y`, `foo-objs`, `foo-m`, themselves possibly in
subdirectories). Every object that resolves to no source file is counted
(generated sources, assembly, and what this subset misses), so the walk says
what it could not follow.

Headers are not listed by Kbuild: a header is kept when it lies under
`include/`, under the architecture's directory, or in a directory that holds
a built C file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .kernel.kconfig import KernelConfig
from .kernel.tables import kbuild

_ASSIGN = re.compile(r"^(?:override\s+|export\s+)*([^\s:+?=#]+)\s*(\+=|:=|::=|\?=|=)\s*(.*)$")
_RULE = re.compile(r"^[^\s#=][^=]*?:(?!=)")  # target: prerequisites (not an assignment's :=)
_CONDITIONAL = re.compile(r"^(ifeq|ifneq|ifdef|ifndef)\b\s*(.*)$")


class KbuildError(Exception):
    """The tree has no Kbuild or Makefile to start the walk from."""


@dataclass
class BuiltFiles:
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # built .c (rel) -> CONFIG_ symbols gating it
    directories: set[str] = field(default_factory=set)  # directories descended into (rel, "" = root)
    unresolved: list[str] = field(default_factory=list)  # objects that named no source file ("dir/foo.o")
    unknown_references: int = 0  # $(...) the subset of make could not expand
    arch: str = ""


def arch_of(config: KernelConfig) -> str:
    """SRCARCH: the directory under arch/ the config builds (data/kbuild.toml)."""
    for symbol, arch in kbuild().arches:
        if config.tristate(symbol) == "y":
            return arch
    return ""


def built_files(root: Path, config: KernelConfig) -> BuiltFiles:
    """Walk the tree at `root` from its top Kbuild (or Makefile) with `config`."""
    walk = _Walk(root, config)
    top = _makefile(root)
    if top is None:
        raise KbuildError(f"{root}: no Kbuild or Makefile to follow for --kconfig")
    tables = kbuild()
    arch_dirs: dict[str, list[str]] = {name: [] for name in tables.arch_lists}
    if walk.arch:
        arch_make = root / "arch" / walk.arch / "Makefile"
        if arch_make.is_file():
            variables = walk.evaluate(arch_make, "", {})
            for name, lists in tables.arch_lists.items():
                arch_dirs[name] = [w for lst in lists for w in variables.get(lst, [])]
            arch_dirs["ARCH_LIB"] = [w for w in arch_dirs.get("ARCH_LIB", []) if w.endswith("/")]
        if top.name == "Kbuild" and (root / "Makefile").is_file():  # the top Makefile's libs-y := lib/
            arch_dirs["ARCH_LIB"] = list(tables.top_libs) + arch_dirs.get("ARCH_LIB", [])
    walk.directory("", (), {k: " ".join(v) for k, v in arch_dirs.items()})
    walk.result.arch = walk.arch
    return walk.result


def sources_from_compile_commands(path: Path) -> list[Path]:
    """The C files a compile_commands.json compiles (scripts/clang-tools/gen_compile_commands.py)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KbuildError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise KbuildError(f"{path}: cannot read ({getattr(err, 'strerror', None) or err})") from None
    except json.JSONDecodeError as err:
        raise KbuildError(f"{path}: not JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(entries, list):
        raise KbuildError(f"{path}: not a compilation database (a JSON list of entries)")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise KbuildError(f"{path}: entry {i} has no \"file\"")
        name = Path(entry.get("directory") or path.parent) / entry["file"]
        if name.suffix == ".c":
            out.append(Path(os.path.normpath(name)))
    return out


def _makefile(directory: Path) -> Path | None:
    for name in ("Kbuild", "Makefile"):
        if (directory / name).is_file():
            return directory / name
    return None


class _Walk:
    def __init__(self, root: Path, config: KernelConfig):
        self.root = root
        self.config = config
        self.arch = arch_of(config)
        self.result = BuiltFiles()
        self.bits = "64" if config.tristate("CONFIG_64BIT") == "y" else "32"
        self.counting = False  # count unknown references (in lists of objects and conditions)

    # --- directories and objects ------------------------------------------------
    def directory(self, rel: str, gates: tuple[str, ...], preset: dict[str, str] | None = None) -> None:
        if rel in self.result.directories:
            return
        self.result.directories.add(rel)
        here = self.root / rel if rel else self.root
        makefile = _makefile(here)
        if makefile is None:
            return
        lists: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        variables = self.evaluate(makefile, rel, dict(preset or {}), lists)
        for name in kbuild().built_lists:
            for word, line_gates in lists.get(name, []):
                self.object(rel, word, gates + line_gates, variables, lists, set())

    def object(self, rel: str, word: str, gates: tuple[str, ...], variables: dict, lists: dict, seen: set) -> None:
        word = word.strip()
        if not word or word in seen:
            return
        seen.add(word)
        if word.endswith("/"):
            target = os.path.normpath(os.path.join(rel, word)) if rel else os.path.normpath(word)
            target = "" if target == "." else target
            if (self.root / target).is_dir():
                self.directory(target, _unique(gates))
            else:
                self.result.unresolved.append(target + "/")
            return
        if not word.endswith(".o"):
            return  # .a archives, targets of other kinds
        base = word[:-2]
        parts: list[tuple[str, tuple[str, ...]]] = []
        for suffix in kbuild().composite_suffixes:
            parts += lists.get(base + suffix, [])
        parts = [(w, g) for w, g in parts if w]
        if parts and not (len(parts) == 1 and parts[0][0] == word):
            for part, part_gates in parts:
                if part == word:  # foo-y := foo.o bar.o: foo.o is a source here
                    self.source(rel, base, gates + part_gates)
                else:
                    self.object(rel, part, gates + part_gates, variables, lists, seen)
            return
        self.source(rel, base, gates)

    def source(self, rel: str, base: str, gates: tuple[str, ...]) -> None:
        name = os.path.normpath(os.path.join(rel, base + ".c")) if rel else os.path.normpath(base + ".c")
        if (self.root / name).is_file():
            known = self.result.sources.get(name, ())
            self.result.sources[name] = _unique(known + gates)
        elif not any((self.root / (name[:-2] + ext)).is_file() for ext in kbuild().other_sources):
            self.result.unresolved.append(name[:-2] + ".o")

    # --- the subset of make -------------------------------------------------------
    def evaluate(self, makefile: Path, rel: str, variables: dict, lists: dict | None = None) -> dict:
        """Run the assignments of `makefile`; returns the variables (as word lists).
        `lists` receives every assignment to a list variable with the CONFIG_
        symbols that gated it (the variable's name, the enclosing conditionals)."""
        lists = lists if lists is not None else {}
        scalars: dict[str, str] = dict(variables)
        scalars.update({"SRCARCH": self.arch, "ARCH": self.arch, "BITS": self.bits, "srctree": ".",
                        "src": rel or ".", "obj": rel or "."})
        try:
            text = makefile.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        # One frame per open if: [value of the current branch, CONFIG_ symbols read,
        # whether an earlier branch was taken] - three-valued (None: unknown).
        conditions: list[list] = []
        in_rule = False  # after a rule's line, tab-indented lines are its recipe
        for line in _logical_lines(text):
            stripped = line.strip()
            if not stripped:
                continue
            if line.startswith("\t") and in_rule:
                continue  # a recipe line (elsewhere a tab only indents, as under ifdef)
            in_rule = bool(_RULE.match(line)) and not _ASSIGN.match(stripped)
            if in_rule:
                continue
            m = _CONDITIONAL.match(stripped)
            if m:
                value, symbols = self.condition(m.group(1), m.group(2), scalars)
                conditions.append([value, symbols, value])
                continue
            if stripped == "else" or stripped.startswith(("else ", "else\t")):
                if conditions:
                    frame = conditions[-1]
                    taken = frame[2]
                    inner = _CONDITIONAL.match(stripped[4:].strip())
                    test, symbols = self.condition(inner.group(1), inner.group(2), scalars) if inner else (True, ())
                    value = _and(_not(taken), test)
                    frame[:] = [value, frame[1] + symbols, _or(taken, test)]
                continue
            if stripped.startswith("endif"):
                if conditions:
                    conditions.pop()
                continue
            if any(frame[0] is False for frame in conditions):
                continue
            m = _ASSIGN.match(stripped)
            if not m:
                continue
            name = self.expand(m.group(1), scalars).strip()
            operator, value = m.group(2), m.group(3)
            self.counting = name in kbuild().built_lists or name.endswith(kbuild().composite_suffixes)
            words = self.expand(value, scalars)
            self.counting = False
            line_gates = tuple(sym for frame in conditions for sym in frame[1])
            line_gates += tuple(re.findall(r"CONFIG_\w+", m.group(1)))
            if operator == "+=":
                scalars[name] = (scalars.get(name, "") + " " + words).strip()
            elif operator == "?=":
                scalars.setdefault(name, words)
            else:
                scalars[name] = words
                if name in lists and operator in (":=", "=", "::="):
                    lists[name] = []
            lists.setdefault(name, []).extend((w, line_gates) for w in words.split())
        return {k: v.split() for k, v in scalars.items()}

    def condition(self, kind: str, text: str, scalars: dict) -> tuple[bool | None, tuple[str, ...]]:
        symbols = tuple(dict.fromkeys(re.findall(r"CONFIG_\w+", text)))
        if kind in ("ifdef", "ifndef"):
            name = text.strip()
            if not name.startswith("CONFIG_"):
                return (None if name not in scalars else (kind == "ifdef") == bool(scalars[name])), symbols
            defined = self.config.tristate(name) != "n"
            return (defined if kind == "ifdef" else not defined), symbols
        args = _split_condition(text)
        if args is None:
            return None, symbols
        before = self.result.unknown_references
        self.counting = True
        a, b = (self.expand(x, scalars).strip() for x in args)
        self.counting = False
        if self.result.unknown_references != before:
            return None, symbols
        return ((a == b) if kind == "ifeq" else (a != b)), symbols

    def expand(self, text: str, scalars: dict) -> str:
        out, i = [], 0
        while i < len(text):
            c = text[i]
            if c == "$" and i + 1 < len(text):
                nxt = text[i + 1]
                if nxt in "({":
                    end = _matching(text, i + 1)
                    if end < 0:
                        return "".join(out) + text[i:]
                    out.append(self.reference(text[i + 2:end], scalars))
                    i = end + 1
                    continue
                if nxt == "$":
                    out.append("$")
                    i += 2
                    continue
                out.append(self.reference(nxt, scalars))
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)

    def reference(self, inner: str, scalars: dict) -> str:
        head, _, rest = inner.partition(" ")
        function = _FUNCTIONS.get(head) if rest else None
        if function is not None:
            args = [self.expand(a, scalars) for a in _split_args(rest, _ARITY[head])]
            return function(*args)
        name = self.expand(inner, scalars)
        if name.startswith("CONFIG_"):
            value = self.config.value(name)
            return "" if value in (None, "n") else value
        if name in scalars:
            return scalars[name]
        if self.counting and not name.endswith(kbuild().composite_suffixes):
            self.result.unknown_references += 1  # in a list of objects or a condition: worth knowing
        return ""


def _not(v):
    return None if v is None else not v


def _and(a, b):
    return False if (a is False or b is False) else (True if (a and b) else None)


def _or(a, b):
    return True if (a is True or b is True) else (False if (a is False and b is False) else None)


def _patsubst(pattern: str, replacement: str, text: str) -> str:
    pattern, replacement = pattern.strip(), replacement.strip()
    if "%" not in pattern:
        return " ".join(replacement if w == pattern else w for w in text.split())
    pre, post = pattern.split("%", 1)
    out = []
    for w in text.split():
        if w.startswith(pre) and w.endswith(post) and len(w) >= len(pre) + len(post):
            stem = w[len(pre):len(w) - len(post)]
            out.append(replacement.replace("%", stem, 1))
        else:
            out.append(w)
    return " ".join(out)


def _filter(patterns: str, text: str, keep: bool) -> str:
    pats = patterns.split()

    def matches(w):
        for p in pats:
            if "%" in p:
                pre, post = p.split("%", 1)
                if w.startswith(pre) and w.endswith(post):
                    return True
            elif w == p:
                return True
        return False

    return " ".join(w for w in text.split() if matches(w) == keep)


_FUNCTIONS = {
    "subst": lambda a, b, t: t.replace(a, b) if a else t,
    "patsubst": _patsubst,
    "addprefix": lambda p, t: " ".join(p.strip() + w for w in t.split()),
    "addsuffix": lambda s, t: " ".join(w + s.strip() for w in t.split()),
    "filter": lambda p, t: _filter(p, t, True),
    "filter-out": lambda p, t: _filter(p, t, False),
    "if": lambda c, a, b="": a if c.strip() else b,
    "strip": lambda t: " ".join(t.split()),
    "sort": lambda t: " ".join(sorted(set(t.split()))),
}
_ARITY = {"subst": 3, "patsubst": 3, "addprefix": 2, "addsuffix": 2, "filter": 2, "filter-out": 2, "if": 3,
          "strip": 1, "sort": 1}


def _split_args(text: str, count: int) -> list[str]:
    """Split a make function's arguments on top-level commas, into at most `count`."""
    parts, depth, current = [], 0, []
    for c in text:
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        if c == "," and depth == 0 and len(parts) < count - 1:
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    parts.append("".join(current))
    while len(parts) < count:
        parts.append("")
    return parts


def _split_condition(text: str) -> tuple[str, str] | None:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        parts = _split_args(text[1:-1], 2)
        return parts[0], parts[1]
    m = re.fullmatch(r"""(["'])(.*?)\1\s+(["'])(.*?)\3""", text)
    if m:
        return m.group(2), m.group(4)
    return None


def _matching(text: str, open_at: int) -> int:
    opening = text[open_at]
    closing = ")" if opening == "(" else "}"
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _logical_lines(text: str):
    """Lines with backslash continuations joined and comments removed (a recipe line
    keeps its leading tab, so that it can be told apart)."""
    pending = ""
    for raw in text.split("\n"):
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = pending + raw
        pending = ""
        if not line.startswith("\t"):
            hash_at = line.find("#")
            if hash_at >= 0:
                line = line[:hash_at]
        yield line
    if pending:
        yield pending


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --- modules: which C files Kbuild links together --------------------------------
_COMPOSITE = re.compile(r"^([A-Za-z0-9_]+)-(y|m|objs|\$\(CONFIG_[A-Za-z0-9_]+\))$")
_OBJECT_LIST = re.compile(r"^(obj|lib)-(y|m|\$\(CONFIG_[A-Za-z0-9_]+\))$")


@dataclass
class Modules:
    """Which C files Kbuild links into one module (see composite_modules)."""

    composites: dict[str, frozenset[str]]  # path without `.c` -> the composite objects it is in
    unread: frozenset[str]  # directories whose composites this reading may have missed

    def same(self, a: str, b: str) -> bool:
        """Are two C files linked into one module? Headers, and files of a directory whose
        Makefile names its composites through variables, by directory."""
        da, db = os.path.dirname(a), os.path.dirname(b)
        if not (a.endswith(".c") and b.endswith(".c")) or da in self.unread or db in self.unread:
            return da == db
        ka, kb = a[:-2], b[:-2]
        return ka == kb or bool(self.composites.get(ka, frozenset({ka})) & self.composites.get(kb, frozenset({kb})))


def composite_modules(makefiles: dict[str, list[str]]) -> Modules:
    """The composite objects each C file is linked into, by its path without `.c`: for
    `foo-y := a.o sub/b.o` in dir's Makefile, with `foo.o` in one of its obj- lists,
    `dir/a` and `dir/sub/b` map to {"dir/foo"}. `makefiles`: the text of each
    directory's Makefile and Kbuild files, by directory. A file in no composite is its
    own module; a directory whose composites are named through variables
    (`$(MODULE)-y`) is marked unread."""
    modules: dict[str, set[str]] = {}
    unread: set[str] = set()
    for directory, texts in makefiles.items():
        objects: set[str] = set()
        parts: dict[str, list[str]] = {}
        for text in texts:
            for line in _logical_lines(text):
                m = _ASSIGN.match(line.strip())
                if m is None:
                    continue
                name, words = m.group(1), m.group(3).split()
                if _OBJECT_LIST.match(name):
                    objects.update(w[:-2] for w in words if w.endswith(".o"))
                    if any("$" in w for w in words):
                        unread.add(directory)
                    continue
                composite = _COMPOSITE.match(name)
                if composite is not None:
                    parts.setdefault(composite.group(1), []).extend(w[:-2] for w in words if w.endswith(".o")
                                                                   and "$" not in w)
                elif "$" in name.partition("-")[0]:
                    unread.add(directory)
        prefix = f"{directory}/" if directory else ""
        for name, members in parts.items():
            if name not in objects:
                continue  # not an object Kbuild builds (a host program, a list of flags)
            for member in members:
                modules.setdefault(prefix + member, set()).add(prefix + name)
    return Modules({path: frozenset(names) for path, names in modules.items()}, frozenset(unread))
