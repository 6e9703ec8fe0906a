"""funcdiff: what an edit inside one function changed, item by item."""

from __future__ import annotations

from allocscan.extract import extract_file
from allocscan.funcdiff import function_edit, signature_changed, skeleton

BEFORE = """#include <linux/slab.h>
#include "demo.h"
int demo_fill(struct demo_priv *priv, unsigned int n)
{
	void *buf;

	if (n > 64)
		priv->ring = n;
	priv->mode = 2;
	buf = kmalloc(n, GFP_KERNEL);
	demo_get_len(priv, &priv->len);
	priv->buf = buf;
	return 0;
}
"""


def _edit(before: str, after: str):
    """The edit of demo_fill() from `before` to `after`, with the new version's facts."""
    old_ff, new_ff = extract_file("demo.c", before.encode()), extract_file("demo.c", after.encode())
    old, new = old_ff.functions[0], new_ff.functions[0]
    edit = function_edit(old, new, before.encode()[old.start_byte:old.end_byte],
                         after.encode()[new.start_byte:new.end_byte], old_ff.macro_branches, new_ff.macro_branches)
    return edit, new


def _byte_of(fn, callee: str) -> int:
    return next(c.byte for c in fn.calls if c.callee == callee)


def test_a_gfp_flip_changes_the_one_call():
    edit, new = _edit(BEFORE, BEFORE.replace("GFP_KERNEL", "GFP_ATOMIC"))
    # the call is the changed item: its result is a new buffer whatever the gfp (the
    # store of it is the same), and an allocator writes nothing back
    assert edit.arguments == {_byte_of(new, "kmalloc"): {1}} and edit.at == set()
    assert edit.fields == set()
    assert edit.words == set()
    assert {"GFP_ATOMIC", "GFP_KERNEL", "kmalloc"} <= edit.named


def test_a_lock_around_a_call_changes_only_the_lock_calls():
    after = BEFORE.replace("\tdemo_get_len(priv, &priv->len);\n",
                           "\tspin_lock(&priv->lock);\n\tdemo_get_len(priv, &priv->len);\n"
                           "\tspin_unlock(&priv->lock);\n")
    edit, new = _edit(BEFORE, after)
    assert edit.at == {_byte_of(new, "spin_lock"), _byte_of(new, "spin_unlock")}
    assert edit.fields == set()
    assert "demo_get_len" not in edit.named


def test_a_changed_constant_changes_its_store():
    edit, new = _edit(BEFORE, BEFORE.replace("priv->mode = 2;", "priv->mode = 8192;"))
    assert edit.fields == {("demo_priv", "mode")}
    assert edit.at == {a.byte for a in new.assignments if a.target == "mode"}


def test_a_store_moved_out_of_its_branch_is_changed():
    """The same statements and the same skeleton: what decides whether the store runs
    is what changed."""
    before = BEFORE.replace("\tif (n > 64)\n\t\tpriv->ring = n;\n\tpriv->mode = 2;\n",
                            "\tif (n > 64) {\n\t\tpriv->ring = n;\n\t\tpriv->mode = 2;\n\t}\n")
    after = BEFORE.replace("\tif (n > 64)\n\t\tpriv->ring = n;\n\tpriv->mode = 2;\n",
                           "\tif (n > 64) {\n\t\tpriv->ring = n;\n\t}\n\tpriv->mode = 2;\n")
    assert skeleton(before.encode()) == skeleton(after.encode())
    edit, _ = _edit(before, after)
    assert edit.fields == {("demo_priv", "mode")}


def test_a_changed_condition_changes_what_it_reads():
    edit, _ = _edit(BEFORE, BEFORE.replace("n > 64", "n > 4096"))
    assert "n" in edit.words
    assert ("demo_priv", "ring") in edit.fields  # decided by it


def test_a_new_exit_or_a_new_signature_changes_everything():
    early = BEFORE.replace("\tpriv->mode = 2;\n", "\tif (!priv)\n\t\treturn -EINVAL;\n\tpriv->mode = 2;\n")
    assert _edit(BEFORE, early)[0] is None
    assert _edit(BEFORE, BEFORE.replace("unsigned int n)", "unsigned int n, int flags)"))[0] is None
    old = extract_file("demo.c", BEFORE.encode()).functions[0]
    new = extract_file("demo.c", BEFORE.replace("int demo_fill", "static int demo_fill").encode()).functions[0]
    assert signature_changed(old, new)


def test_a_call_with_another_argument_changes_that_argument():
    edit, new = _edit(BEFORE, BEFORE.replace("demo_get_len(priv, &priv->len)", "demo_get_len(priv, &priv->max)"))
    assert edit.arguments == {_byte_of(new, "demo_get_len"): {1}}
    assert {"priv", "len", "max"} <= edit.words  # what it is handed the address of, before and after
    edit, new = _edit(BEFORE, BEFORE.replace("demo_get_len(priv, &priv->len)", "demo_get_len(priv, &priv->len, 1)"))
    assert edit.at == {_byte_of(new, "demo_get_len")} and edit.arguments == {}


def test_a_comment_changes_nothing():
    edit, _ = _edit(BEFORE, BEFORE.replace("\tpriv->mode = 2;\n", "\t/* if (x) return; { */\n\tpriv->mode = 2;\n"))
    assert edit is not None
    assert (edit.words, edit.at, edit.arguments, edit.fields) == (set(), set(), {}, set())


def test_a_store_changed_only_in_a_call_s_arguments_is_left_to_the_callee():
    before = BEFORE.replace("\tpriv->mode = 2;\n", "\tpriv->mode = demo_mode(priv, GFP_KERNEL) + 1;\n")
    edit, new = _edit(before, before.replace("priv, GFP_KERNEL", "priv, GFP_ATOMIC"))
    store = next(a.byte for a in new.assignments if a.target == "mode")
    assert edit.through_calls == {store: ({"demo_mode"}, {"mode"})}
    assert edit.fields == set() and edit.at == set()
    assert edit.arguments == {_byte_of(new, "demo_mode"): {1}}
    # another shape (`+ 2`): the store itself changed
    edit, new = _edit(before, before.replace("GFP_KERNEL) + 1", "GFP_ATOMIC) + 2"))
    assert edit.through_calls == {} and edit.fields == {("demo_priv", "mode")}
