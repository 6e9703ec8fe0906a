"""Extraction never drops a file whole: a file tree-sitter cannot parse as one
translation unit is read piece by piece, a file that is not UTF-8 is read as
Latin-1, and what the parse still loses is counted."""

from __future__ import annotations

from pathlib import Path

from allocscan.cache import FactsCache
from allocscan.discover import discover
from allocscan.extract import extract_file
from allocscan.extract import treesitter as ts
from allocscan.extract.driver import extract_all
from allocscan.extract.masking import mask_source

# Rows of an initializer under #ifdefs: four of them and tree-sitter's error
# recovery gives up on the whole file (its root is an ERROR node).
TABLE = "static struct demo_probe demo_probes[] = {\n" + "".join(
    f"#ifdef CONFIG_DEMO_{i}\n\t{{demo_probe_{i}, 0}},\n#endif\n" for i in range(4)) + "\t{NULL, 0},\n};\n"

AFTER = """
static DEFINE_SPINLOCK(demo_lock);

void demo_add(struct demo *d)
{
	spin_lock(&demo_lock);
	d->buf = kmalloc(64, GFP_KERNEL);
	spin_unlock(&demo_lock);
}

static int demo_count(struct demo *d)
{
	return d->n;
}
"""


def _call(facts, callee: str):
    return next(c for fn in facts.functions for c in fn.calls if c.callee == callee)


def test_the_table_shape_does_not_parse_whole():
    """The premise of the tests below (and of corpora/usb_net/demo_quirks.c)."""
    assert not ts.parse(mask_source(TABLE + AFTER).text.encode()).whole
    assert ts.parser().parse((TABLE + AFTER).encode()).root_node.type == "ERROR"


def test_a_file_that_does_not_parse_whole_is_read_in_pieces():
    source = TABLE + AFTER
    facts = extract_file("drivers/demo/probe.c", source.encode())
    assert [f.name for f in facts.functions] == ["demo_add", "demo_count"]
    assert facts.pieces >= 2
    site = _call(facts, "kmalloc")
    lines = source.split("\n")
    assert lines[site.line - 1].index("kmalloc") + 1 == site.col  # positions are the file's
    assert site.locks[0], "the lock walk runs over the recovered function"


def test_pieces_cut_after_top_level_closing_braces():
    src = b"int a(void)\n{\n\treturn 0;\n}\nstatic int t[] = {\n\t1,\n};\nint b;\n"
    assert [src[a:b] for a, b in ts.pieces(src)] == [
        b"int a(void)\n{\n\treturn 0;\n}\n", b"static int t[] = {\n\t1,\n};\n", b"int b;\n"]


def test_a_latin1_byte_is_read_with_the_files_own_columns():
    data = (b"/* (c) J\xfcrgen */\n"
            b"void demo_retry(struct demo *d)\n{\n"
            b"\t/* r\xe9essai */ d->buf = kmalloc(64, GFP_ATOMIC);\n}\n")
    facts = extract_file("drivers/demo/legacy.c", data)
    assert facts.warnings == ["drivers/demo/legacy.c:1: invalid UTF-8 (byte 0xfc); read as Latin-1"]
    site = _call(facts, "kmalloc")
    line = data.split(b"\n")[site.line - 1]
    assert (site.line, site.col) == (4, line.index(b"kmalloc") + 1)  # bytes, one per Latin-1 character
    assert site.args_text == "64, GFP_ATOMIC"


def test_bodies_the_parse_loses_are_counted(tmp_path: Path):
    """A SYSCALL_DEFINE body is a function no definition holds: counted, not silently gone."""
    (tmp_path / "sys.c").write_text("SYSCALL_DEFINE1(demo, int, arg)\n{\n\treturn demo_do(arg);\n}\n\n"
                                    "static int demo_do(int arg)\n{\n\treturn arg;\n}\n")
    (tmp_path / "probe.c").write_text(TABLE + AFTER)
    disc = discover([str(tmp_path)])
    result = extract_all(disc.files, disc.rel, FactsCache(None), 1)
    stats = result.stats
    assert (stats.skipped, stats.files_in_pieces, stats.bodies_unparsed) == (0, 1, 1)
    assert stats.functions == 3


OPS = """static DEMO_OP_VARIANTS(demo_read_variants,
		DEMO_READ_OP(true, 0, 1, NULL, 0),
		DEMO_READ_OP(false, 0, 1, NULL, 0));

static int demo_layout(struct demo *d, int section)
{
	return section ? -ERANGE : 0;
}

void demo_fill(struct demo *d)
{
	d->buf = kmalloc(64, GFP_ATOMIC);
}
"""


def test_a_whole_parse_that_loses_bodies_gives_way_to_pieces():
    """A file-scope macro with macro arguments: tree-sitter still makes a translation
    unit, but one declaration of everything after it. Cut into pieces, and the piece
    holding the macro cut again at its blank lines, every function is back."""
    assert ts.parser().parse(OPS.encode()).root_node.type == "translation_unit"
    facts = extract_file("drivers/demo/ops.c", OPS.encode())
    assert [f.name for f in facts.functions] == ["demo_layout", "demo_fill"]
    assert facts.pieces and facts.bodies_unparsed == 0


def test_a_file_that_parses_whole_stays_whole():
    clean = extract_file("drivers/demo/clean.c", AFTER.encode())
    assert (clean.pieces, clean.bodies_unparsed) == (0, 0)
    # pieces that keep no more bodies than the whole parse are not taken either
    syscall = extract_file("kernel/demo.c", b"SYSCALL_DEFINE1(demo, int, arg)\n{\n\treturn arg;\n}\n")
    assert (syscall.pieces, syscall.bodies_unparsed) == (0, 1)
