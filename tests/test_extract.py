"""Extraction: one driver-shaped file in, the facts each extractor is responsible for out."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from allocscan import incremental
from allocscan.extract import InputError, extract_file
from allocscan.facts import CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_PARAM, HAS_INDIRECT_CALL, HAS_LOCKED_CALL

SOURCE = (Path(__file__).parent / "data" / "extract" / "demo_facts.c").read_bytes()


@pytest.fixture(scope="module")
def facts():
    return extract_file("drivers/demo/demo_facts.c", SOURCE)


def _fn(facts, name):
    return next(fn for fn in facts.functions if fn.name == name)


def test_definitions_macros_enums_structs(facts):
    assert facts.defines["DEMO_RING"] == "256"
    assert facts.func_macros["DEMO_BYTES"] == (("n",), "((n) * sizeof(struct demo_desc))")
    assert facts.enums == {"DEMO_OFF": ("num", 0), "DEMO_ON": ("num", 4), "DEMO_MAX": ("num", 5)}
    desc = next(s for s in facts.structs if s.name == "demo_desc")
    assert [(m.name, m.type_text) for m in desc.members] == [("addr", "u32"), ("len", "u16"), ("flags", "u8")]
    assert desc.members[2].array_dims == (("num", 2),)
    assert facts.globals["ring_len"] == ("id", "DEMO_RING")


def test_struct_members_are_kept_pickled_until_read():
    """A struct's members stay pickled after extraction (what a kept program reads back
    for 100,000 structs), are read on first use, and compare and print as the members
    they are, packed or not."""
    facts = extract_file("drivers/demo/demo_facts.c", SOURCE)
    packed = pickle.loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
    desc = next(s for s in packed.structs if s.name == "demo_desc")
    assert type(desc.packed_members) is bytes
    read = pickle.loads(pickle.dumps(desc))
    assert desc == read and repr(desc) == repr(read)
    assert [m.name for m in read.members] == ["addr", "len", "flags"] and type(read.packed_members) is tuple
    assert desc == read and repr(desc) == repr(read)  # one read, the other still packed
    assert incremental._normal(desc) == incremental._normal(read)
    assert incremental.same_facts(packed, facts)
    other = next(s for s in packed.structs if s.name != "demo_desc")
    assert desc != other


def test_functions_params_and_flags(facts):
    timer_fn = _fn(facts, "demo_timer_fn")
    assert timer_fn.is_static and timer_fn.params == (("t", "struct timer_list*"),)
    assert timer_fn.flags & CALLS_ALLOCATOR and timer_fn.flags & HAS_LOCKED_CALL
    setup = _fn(facts, "demo_setup")
    assert setup.params == (("priv", "struct demo_priv*"), ("fast", "bool"), ("gfp", "gfp_t"))
    for flag in (CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_PARAM, HAS_INDIRECT_CALL):
        assert setup.flags & flag, flag


def test_calls_carry_arguments_and_lock_state(facts):
    calls = {c.callee or "->" + c.field: c for c in _fn(facts, "demo_timer_fn").calls}
    assert "kfree" not in calls  # inert: never allocates, sleeps or registers
    alloc = calls["kzalloc"]
    assert alloc.line == 16 and alloc.args[1] == ("id", "GFP_ATOMIC")
    assert alloc.locks == (("spin_lock_irqsave(&priv->lock)",), ())
    assert alloc.lock_sites == (("spin_lock_irqsave(&priv->lock)", 15, 2, "spin_lock_irqsave"),)
    assert calls["spin_lock_irqsave"].locks == ((), ())  # the state before the call
    (indirect,) = [c for c in _fn(facts, "demo_setup").calls if not c.callee]
    assert indirect.field == "kick" and indirect.line == 28


def test_stores_and_bindings(facts):
    stores = [(a.kind, a.target, a.struct_type, a.value_text) for a in _fn(facts, "demo_setup").assignments]
    assert ("field", "count", "demo_priv", "ring_len") in stores
    assert ("field", "ring", "demo_priv", "kmalloc(16, gfp)") in stores
    assert any(b.field == "ndo_start_xmit" and b.function == "demo_xmit" and b.struct_type == "net_device_ops"
               for b in facts.bindings)


def test_guards_branches_and_one_time_setup(facts):
    setup = _fn(facts, "demo_setup")
    assert [(g.cond_text, g.line) for g in setup.guards] == [("priv->count > DEMO_RING", 23)]
    assert [b[0] for b in setup.branches] == ["priv->count > DEMO_RING", "!priv->ring", "fast"]
    ((start, end, state),) = setup.once
    assert state == (("field", "ring"),)
    assert SOURCE[start:end].decode().strip().startswith("priv->ring = kmalloc")


def test_module_params_and_suppressions(facts):
    (mp,) = facts.module_params
    assert (mp.name, mp.type_name, mp.perm, mp.line) == ("ring_len", "uint", "0644", 7)
    (sup,) = facts.suppressions
    assert (sup.line, sup.rules, sup.reason) == (18, ("AS001",), "demo")


def test_file_scope_calls_kept_only_when_they_register(facts):
    assert [c.callee for c in facts.top_calls] == []  # module_param() is read, then dropped
    f = extract_file("t.c", b"static DEFINE_TIMER(demo_timer, demo_fn);\nMODULE_LICENSE(\"GPL\");\n")
    assert [c.callee for c in f.top_calls] == ["DEFINE_TIMER"]


@pytest.mark.parametrize("data, message", [
    (b"\x7fELF\x00\x01", "binary file"),
])
def test_input_that_is_not_c_is_refused_in_one_line(data, message):
    with pytest.raises(InputError) as err:
        extract_file("bad.c", data)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_input_that_is_not_utf8_is_read_as_latin1_with_one_warning():
    facts = extract_file("bad.c", b"int x; /* caf\xe9 */\n")
    assert facts.warnings == ["bad.c:1: invalid UTF-8 (byte 0xe9); read as Latin-1"]
