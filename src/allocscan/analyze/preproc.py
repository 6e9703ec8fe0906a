"""Compiled code: the `#if` branches no build of the scanned tree compiles.

Extraction records, per file, the branches whose compilation turns on a macro
outside Kconfig or on a literal (`extract.kconfig.macro_branches`), and the
names the file #defines (as CRC-32s). Here they are decided for the whole scan:
a branch is dead when its condition is false once every macro that no scanned
file #defines and no Makefile passes with `-D` is taken as undefined
(lib/test_maple_tree.c's `#if defined(BENCH_FORK)`: only a commented-out
`#define` names it), or when its literals make it false (`#if 0`). Kconfig
symbols stay unknown both ways (a `--kconfig` scan has already blanked what its
config rules out), and so do names reserved to the compiler and those the build
defines (`MODULE`, the generated headers' macros: kbuild.toml [preprocessor]).

This needs every definition in view: it applies when the scan reads a whole
kernel tree (`Program.command_line_defines` is set), never to a subdirectory or
to loose files, whose macros may come from headers outside the scan.

The context analysis asks `dead(path, byte)` of the calls it follows: code in a
dead branch is not compiled, so no witness runs through it.
"""

from __future__ import annotations

import bisect
import re

from ..extract.kconfig import F, MacroResolver, evaluate_macro_condition
from ..link import Program, macros_defined_in

_MAKEFILE_DEFINE = re.compile(r"(?<![\w-])-D\s*([A-Za-z_]\w*)")
MAKEFILE_NAMES = ("Makefile", "Kbuild")


def makefile_defines(texts) -> frozenset[str]:
    """The macros Makefiles define on the compiler's command line (`ccflags-y +=
    -DDEBUG`, `CFLAGS_foo.o := -DFOO`, `subdir-ccflags-y`, an arch's KBUILD_CFLAGS):
    every `-D` anywhere in them, comments aside, which errs towards "defined"."""
    out: set[str] = set()
    for text in texts:
        for line in text.splitlines():
            out.update(_MAKEFILE_DEFINE.findall(line.partition("#")[0]))
    return frozenset(out)


class CompiledCode:
    """`dead(path, byte)`: is that point of the file in a branch no build compiles?"""

    def __init__(self, program: Program):
        self.program = program
        self.command_line = program.command_line_defines
        self._defined: set[str] | None = None
        self._spans: dict[str, tuple[list[int], list[int]]] = {}
        self.decided: dict[str, int] = {}  # macro name (or "0" for a literal) -> dead branches it decided

    def dead(self, path: str, byte: int) -> bool:
        if self.command_line is None:
            return False
        spans = self._spans.get(path)
        if spans is None:
            spans = self._spans[path] = self._dead_spans(path)
        starts, ends = spans
        if not starts:
            return False
        i = bisect.bisect_right(starts, byte)
        # dead branches may nest (a file holds a few): any that starts before `byte`
        return any(byte < ends[k] for k in range(i))

    def _dead_spans(self, path: str) -> tuple[list[int], list[int]]:
        ff = self.program.file(path)
        if ff is None or not ff.macro_branches:
            return [], []
        resolver = MacroResolver(self._defined_somewhere)
        dead = []
        for start, end, cond in ff.macro_branches:
            value, names = evaluate_macro_condition(cond, resolver)
            if value is F:
                dead.append((start, end))
                for name in names or ("0",):
                    self.decided[name] = self.decided.get(name, 0) + 1
        dead.sort()
        return [s for s, _ in dead], [e for _, e in dead]

    def _defined_somewhere(self, name: str) -> bool:
        if self._defined is None:
            found = self.program.macros_defined
            if found is None:  # a relink changed what a file defines or tests
                found = self.program.macros_defined = macros_defined_in(self.program.files)
            self._defined = found | set(self.command_line or ())
        return name in self._defined
