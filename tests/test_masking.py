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


def test_word_patterns_match_whole_words_as_with_word_boundaries():
    """The masking patterns start with the words' first letters (a fast search), not `\\b`:
    they must find what `\\b(words)` found, on texts made of the edges."""
    import random
    import re

    from allocscan.extract.masking import _BARE_WORDS, _annotation_re, _bare_re

    pieces = ["__init", "x__init", "__init_x", "__initdata", "noinline", "__noinline", "notrace(", " ", "\n",
              "(", "__printf (1, 2)", "a__printf(", "__must_hold(l)", "é__init", "__init\t(", ";", "_"]
    rng = random.Random(2)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        words = tuple(rng.sample(_BARE_WORDS, 20)) + ("__init", "__initdata", "noinline", "__noinline", "notrace")
        old_bare = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b(?!\s*\()")
        assert [m.span() for m in _bare_re(words).finditer(text)] == [m.span() for m in old_bare.finditer(text)], text
        ann = ("__printf", "__must_hold")
        old_ann = re.compile(r"\b(" + "|".join(map(re.escape, ann)) + r")\s*\(")
        assert [m.span(1) for m in _annotation_re(ann).finditer(text)] == [m.span(1) for m in old_ann.finditer(text)]


CONDITIONAL = """\
static int demo_grow(struct demo *d, int mtu)
{
\tchar *x = kmalloc(mtu * 2, GFP_ATOMIC);
#ifdef DEMO_COMPRESS
\tchar *c = kmalloc(mtu * 2, GFP_ATOMIC);
#endif
#ifdef DEMO_COMPRESS
\tif (x == NULL || c == NULL) {
#else
\tif (x == NULL) {
#endif
\t\tgoto out;
\t}
\td->x = x;
out:
#ifdef DEMO_COMPRESS
\tkfree(c);
#endif
\treturn 0;
}
static void demo_after(struct demo *d)
{
\td->buf = kmalloc(4096, GFP_KERNEL);
#ifdef DEMO_RETRY
\tif (!d->buf)
#endif
\t\td->buf = kmalloc(2048, GFP_KERNEL);
}
"""


def test_a_conditional_group_that_would_break_the_parse_reads_as_its_first_arm():
    """An `if (...) {` written once per arm, and a group right after a label, break
    tree-sitter's parse of the rest of the function and the file. Their directive
    lines and later arms are blanked (offsets and lines kept); a balanced group
    elsewhere is left as it is."""
    masked = mask_source(CONDITIONAL).text
    assert len(masked) == len(CONDITIONAL) and masked.count("\n") == CONDITIONAL.count("\n")
    assert ts.parser().parse(CONDITIONAL.encode()).root_node.has_error  # what masking is for
    assert not ts.parser().parse(masked.encode()).root_node.has_error
    assert "if (x == NULL || c == NULL) {" in masked and "if (x == NULL) {" not in masked
    assert masked.count("#ifdef DEMO_COMPRESS") == 1  # the balanced group at the top stays
    assert "\tkfree(c);" in masked
    assert "#ifdef DEMO_RETRY" not in masked and "\tif (!d->buf)" in masked
