"""The expression IR: parsing source text, splitting arguments, macro expansion, rendering."""

from __future__ import annotations

import pytest

from allocscan.exprs import (conjuncts, disjuncts, expand_macro, identifiers, ir_from_text, ir_of_args,
                             parse_int_literal, render, split_args, squash)


@pytest.mark.parametrize("text, value", [
    ("4096", 4096), ("0x1000", 4096), ("0X10", 16), ("010", 8), ("0", 0), ("0b101", 5),
    ("4096UL", 4096), ("16u", 16), ("1'000", 1000), ("1.5", None), ("abc", None),
])
def test_integer_literals(text, value):
    assert parse_int_literal(text) == value


def test_arithmetic_keeps_precedence():
    assert ir_from_text("a + b * 4") == ("bin", "+", ("id", "a"), ("bin", "*", ("id", "b"), ("num", 4)))
    assert ir_from_text("(a + b) * 4") == ("bin", "*", ("bin", "+", ("id", "a"), ("id", "b")), ("num", 4))


def test_fields_casts_sizeof_and_calls():
    assert ir_from_text("priv->rx.len") == ("field", ("field", ("id", "priv"), "rx", True), "len", False)
    assert ir_from_text("(u16)len") == ("cast", "u16", ("id", "len"))
    assert ir_from_text("sizeof(struct demo_desc)") == ("sizeof_t", "struct demo_desc")
    assert ir_from_text("sizeof(*d)") == ("sizeof_e", ("deref", ("id", "d")))
    assert ir_from_text("min_t(u32, len, SZ_4K)") == ("call", "min_t", (("id", "u32"), ("id", "len"), ("id", "SZ_4K")))
    assert ir_from_text("x ? 1 : 2") == ("cond", ("id", "x"), ("num", 1), ("num", 2))
    assert ir_from_text("&d->lock")[0] == "addr"
    assert ir_from_text("")[0] == "unk"


def test_a_cast_to_a_typedef_name_in_parentheses_is_a_cast_not_a_call():
    """tree-sitter reads `(u16)(x & 0x7ff)` as a call through `(u16)`: it does not know the
    typedef. A kernel integer type or a `_t` name with one operand is a cast; a
    parenthesized callee of another name stays an indirect call."""
    masked = ("bin", "&", ("field", ("id", "rx"), "header", True), ("num", 0x7FF))
    assert ir_from_text("(u16)(rx->header & 0x7ff)") == ("cast", "u16", masked)
    assert ir_from_text("(__le32)(n)") == ("cast", "__le32", ("id", "n"))
    assert ir_from_text("(demo_len_t)(n)") == ("cast", "demo_len_t", ("id", "n"))
    assert ir_from_text("(handler)(n)") == ("call", "", (("id", "n"),))
    assert ir_from_text("(u16)(a, b)")[0] == "call"


def test_split_args_respects_nesting_and_strings():
    assert split_args("a, f(b, c), \"x,y\", d[1, 2]") == ["a", "f(b, c)", "\"x,y\"", "d[1, 2]"]
    assert [render(a) for a in ir_of_args("len, GFP_KERNEL | __GFP_ZERO")] == ["len", "GFP_KERNEL | __GFP_ZERO"]


def test_conjuncts_disjuncts_identifiers():
    cond = ir_from_text("a && (b || c) && !d")
    assert [render(c) for c in conjuncts(cond)] == ["a", "b || c", "!d"]
    assert [render(c) for c in disjuncts(ir_from_text("a || b || c > 1"))] == ["a", "b", "c > 1"]
    assert identifiers(ir_from_text("x->len + MAX(y, 3)")) >= {"x", "y", "MAX"}


def test_function_like_macro_expansion_substitutes_whole_identifiers():
    body = "((n) * sizeof(struct demo_desc) + HDR_LEN)"
    expanded = expand_macro(("n",), body, (ir_from_text("count"),))
    assert render(expanded) == "count * sizeof(struct demo_desc) + HDR_LEN"
    # `n` inside another identifier (`nr`) is not a parameter
    assert render(expand_macro(("n",), "(nr + n)", (("num", 2),))) == "nr + 2"


def test_render_round_trips_what_it_parsed():
    for text in ("len + 4", "dev->cfg.buflen * 2", "min(a, b)", "x << 3", "!ready"):
        assert render(ir_from_text(text)) == text


def test_squash_drops_whitespace():
    assert squash("  & priv -> lock ") == "&priv->lock"


def test_a_type_of_several_words_as_a_macro_argument():
    """`min_t(unsigned int, a, b)` is no C expression (1,400 such calls in 6.1): its type
    argument is kept whole, as a one-word type would parse, in source and in text."""
    from allocscan.extract.treesitter import parser
    from allocscan.exprs import ir_from_node

    assert ir_from_text("min_t(unsigned long, a,\n\t\t b - 1)") == (
        "call", "min_t", (("id", "unsigned long"), ("id", "a"), ("bin", "-", ("id", "b"), ("num", 1))))
    assert ir_from_text("max_t(struct demo *, p, q)")[2][0] == ("id", "struct demo*")
    assert ir_from_text("f(a, b")[0] == "unk"  # unbalanced: still not a call
    source = b"int x = clamp_t(unsigned long long, n, 1, 64);"
    tree = parser().parse(source)
    init = tree.root_node.named_children[0].named_children[1].child_by_field_name("value")
    assert ir_from_node(init) == ("call", "clamp_t", (("id", "unsigned long long"), ("id", "n"), ("num", 1),
                                                      ("num", 64)))


def test_render_keeps_the_parentheses_precedence_needs():
    """A witness shows `((mtu + 26 + 7) & ~7) + 16` as the driver wrote it, not a text
    that reads as another value; arithmetic inside a bitwise operator and `&&` inside
    `||` keep theirs as gcc's -Wparentheses asks, a plain sum or product adds none."""
    cases = {
        "((mtu + 26 + 7) & ~7) + 16": "((mtu + 26 + 7) & ~7) + 16",
        "a - (b - c)": "a - (b - c)",
        "(a + b) * c": "(a + b) * c",
        "a + b * c - d": "a + b * c - d",
        "(*ring)->desc[i + 1].len": "(*ring)->desc[i + 1].len",
        "-(len + 1)": "-(len + 1)",
        "(u32)(a + b)": "(u32)(a + b)",
        "(flags ? 64 : 32) << 10": "(flags ? 64 : 32) << 10",
        "a && b || c": "(a && b) || c",
        "x < y && y < z": "x < y && y < z",
    }
    assert {text: render(ir_from_text(text)) for text in cases} == cases
