"""Link: call resolution by file scope, by architecture, and by ops-struct binding."""

from __future__ import annotations

from allocscan.extract import extract_file
from allocscan.link import link


def program(*files: tuple[str, str]):
    return link([extract_file(path, text.encode()) for path, text in files])


def targets_of(prog, path: str, fn_name: str, callee: str) -> list[str]:
    ff = prog.file(path)
    fn = next(f for f in ff.functions if f.name == fn_name)
    site = next(s for s in fn.calls if s.callee == callee)
    return prog.targets(site, path)


def test_a_static_function_wins_over_a_global_of_the_same_name():
    prog = program(("drv/a.c", "static int helper(void) { return 0; }\nint f(void) { return helper(); }\n"),
                   ("drv/b.c", "int helper(void) { return 1; }\n"))
    assert targets_of(prog, "drv/a.c", "f", "helper") == ["drv/a.c::helper"]


def test_calls_link_within_one_architecture():
    """powerpc code never calls hexagon's ioremap(); generic code sees the target's (x86)."""
    files = [
        ("arch/powerpc/mm/ioremap.c", "void *ioremap(long a, long s) { return 0; }\n"),
        ("arch/hexagon/mm/ioremap.c", "void *ioremap(long a, long s) { return 0; }\n"),
        ("arch/x86/mm/ioremap.c", "void *ioremap(long a, long s) { return 0; }\n"),
        ("arch/powerpc/platforms/board.c", "void restart(void) { ioremap(1, 2); }\n"),
        ("drivers/misc/dev.c", "void probe(void) { ioremap(1, 2); }\n"),
        ("arch/arm/only.c", "void arm_only(void) { }\n"),
        ("drivers/misc/other.c", "void g(void) { arm_only(); }\n"),
    ]
    prog = program(*files)
    assert targets_of(prog, "arch/powerpc/platforms/board.c", "restart", "ioremap") == \
        ["ioremap@arch/powerpc/mm/ioremap.c:1"]
    assert targets_of(prog, "drivers/misc/dev.c", "probe", "ioremap") == ["ioremap@arch/x86/mm/ioremap.c:1"]
    assert targets_of(prog, "drivers/misc/other.c", "g", "arm_only") == []


def test_callers_are_found_from_the_call_sites():
    prog = program(("drv/a.c", "void leaf(void) { }\nvoid mid(void) { leaf(); leaf(); }\nvoid top(void) { mid(); }\n"))
    assert [(caller, site.line) for caller, site in prog.callers("leaf")] == [("mid", 2), ("mid", 2)]
    assert list(prog.graph.successors("top")) == ["mid"]
