"""#if branches no build compiles (analyze.preproc, extract.kconfig.macro_branches)."""

from __future__ import annotations

from allocscan.analyze.preproc import CompiledCode, makefile_defines
from allocscan.extract import extract_file
from allocscan.extract.kconfig import MacroResolver, evaluate_macro_condition, macro_branches
from allocscan.link import link
from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA

SOURCE = """\
/* #define BENCH */
#ifndef DEMO_H
#define DEMO_H
#if defined(BENCH)
static void bench(void) { g(); }
#elif defined(CONFIG_FAST)
static void fast(void) { g(); }
#else
static void plain(void) { g(); }
#endif
#if 0
static void never(void) { g(); }
#endif
#ifdef TRACE
static void traced(void) { g(); }
#endif
#ifdef CONFIG_STATS
static void stats(void) { g(); }
#endif
#endif
"""


def test_branches_a_macro_may_rule_out_are_recorded_with_their_condition():
    text = SOURCE
    found = {text[s:e].split("(")[0].split()[-1]: cond for s, e, cond in macro_branches(text, frozenset({"DEMO_H"}))}
    assert found["bench"] == "(defined(BENCH))"
    assert found["plain"] == "!(defined(BENCH)) && !(defined(CONFIG_FAST))"
    assert found["never"] == "(0)"
    assert found["traced"] == "defined(TRACE)"
    assert "stats" not in found  # Kconfig only: nothing for the analysis to decide
    assert not any("DEMO_H" in c for c in found.values())  # the header guard the file defines


def test_a_macro_nothing_defines_is_false_kconfig_and_reserved_names_stay_unknown():
    nowhere = MacroResolver(lambda name: False)
    somewhere = MacroResolver(lambda name: True)
    assert evaluate_macro_condition("(defined(BENCH))", nowhere)[0] is False
    assert evaluate_macro_condition("!defined(BENCH)", nowhere)[0] is True
    assert evaluate_macro_condition("(BENCH && defined(CONFIG_X))", nowhere)[0] is False
    assert evaluate_macro_condition("(defined(BENCH))", somewhere)[0] is None
    assert evaluate_macro_condition("(defined(CONFIG_X))", nowhere)[0] is None
    assert evaluate_macro_condition("(defined(__KERNEL__))", nowhere)[0] is None
    assert evaluate_macro_condition("(defined(MODULE))", nowhere)[0] is None  # the build defines it
    assert evaluate_macro_condition("(0)", somewhere)[0] is False


def test_makefile_defines_skip_comments():
    text = "ccflags-y += -DDEBUG -D FOO=1\n# CFLAGS_x.o += -DNOT_THIS\nCFLAGS_y.o := -DBAR # -DNOR_THIS\n"
    assert makefile_defines([text]) == frozenset({"DEBUG", "FOO", "BAR"})


def _program(sources: dict[str, str], command_line):
    program = link([extract_file(path, text.encode()) for path, text in sources.items()])
    program.command_line_defines = command_line
    return program


def _dead_functions(program) -> set[str]:
    compiled = CompiledCode(program)
    return {fn.name for ff in program.files for fn in ff.functions if compiled.dead(ff.path, fn.start_byte)}


def test_dead_only_when_nothing_in_the_scan_defines_the_macro():
    sources = {"a.c": SOURCE, "b.h": "#define OTHER 1\n"}
    assert _dead_functions(_program(sources, frozenset())) == {"bench", "never", "traced"}
    # a header of the scan defines TRACE, a Makefile's -D defines BENCH
    sources["b.h"] = "#define TRACE 1\n"
    # (defined somewhere is not known to be visible here: #else of it stays)
    assert _dead_functions(_program(sources, frozenset({"BENCH"}))) == {"never"}
    # the scan does not see every definition (a subdirectory): nothing is decided
    assert _dead_functions(_program(sources, None)) == set()


def test_a_subdirectory_scan_decides_no_branch():
    """The corpus's negatives under a never-defined macro are reported when the scan
    does not cover the whole tree (a header outside it may define the macro)."""
    whole = run_scan([str(CORPORA / "whole_tree")], ScanOptions(jobs=1))
    part = run_scan([str(CORPORA / "whole_tree" / "drivers")], ScanOptions(jobs=1))
    lines = lambda r: {f.line for f in r.findings if f.rule_id == "AS002"}  # noqa: E731
    assert whole.discovery.whole_tree and not part.discovery.whole_tree
    assert lines(whole) < lines(part)
    assert {32, 42, 47, 67} <= lines(part) - lines(whole)
