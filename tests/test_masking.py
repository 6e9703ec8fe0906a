"""Masking macro shapes tree-sitter-c cannot parse: same length, same lines, recorded locks."""

from __future__ import annotations

from allocscan.extract import treesitter as ts
from allocscan.extract.masking import mask_source

SOURCE = """\
static int __init demo_init(void) __must_hold(&demo_lock)
{
\tstruct demo_item *pos;
\tlist_for_each_entry(pos, &demo_list, node) {
\t\tpos->len = 0;
\t}
\tscoped_guard(spinlock_irqsave, &demo_lock) {
\t\tdemo_count++;
\t}
\treturn 0;
}
static void __printf(2, 3) demo_log(int lvl, const char *fmt, ...);
"""


def test_masked_text_keeps_every_offset_and_line():
    masked = mask_source(SOURCE)
    assert len(masked.text) == len(SOURCE)
    assert [i for i, c in enumerate(masked.text) if c == "\n"] == [i for i, c in enumerate(SOURCE) if c == "\n"]
    assert "__init" not in masked.text and "__printf" not in masked.text
    assert "list_for_each_entry" not in masked.text and "while" in masked.text


def test_masked_text_parses_without_errors():
    tree = ts.parser().parse(mask_source(SOURCE).text.encode())
    assert not tree.root_node.has_error
    assert ts.parser().parse(SOURCE.encode()).root_node.has_error  # what masking is for


def test_lock_annotations_and_scoped_guards_are_recorded():
    masked = mask_source(SOURCE)
    assert [(name, arg) for _, name, arg in masked.lock_annotations] == [("__must_hold", "&demo_lock")]
    ((start, (cls, lock)),) = masked.scoped_guards.items()
    assert SOURCE[start:].startswith("scoped_guard") and (cls, lock) == ("spinlock_irqsave", "&demo_lock")


def test_directives_and_ordinary_calls_are_left_alone():
    text = "#define demo_for_each(x) for (;;)\nint n = list_for_each_count(a, b);\n"
    assert mask_source(text).text == text


def test_static_registration_macros_become_file_scope_calls():
    text = "static DEFINE_TIMER(demo_timer, demo_timer_fn);\nstatic const int demo_n = 3;\n"
    masked = mask_source(text).text
    assert masked.startswith("       DEFINE_TIMER(") and len(masked) == len(text)
    assert masked.endswith("static const int demo_n = 3;\n")
