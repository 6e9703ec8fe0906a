"""Branches decided by a caller's constant arguments (analyze/branches.py)."""

from __future__ import annotations

from allocscan.analyze.branches import NONZERO, BranchOracle
from allocscan.exprs import ir_from_text
from allocscan.extract import extract_file
from allocscan.link import link

SOURCE = """\
#define DEMO_MODE_FAST 2
enum demo_req { DEMO_GET = 1, DEMO_SET = 4 };
#define DEMO_REQ(dir, n) (((dir) << 2) | (n))

static void demo_apply(struct demo *d, bool may_sleep, int mode)
{
	if (!may_sleep)
		return;
	demo_slow(d);
	if (mode == DEMO_MODE_FAST)
		demo_fast(d);
	else
		demo_other(d);
}

static void demo_ctl(struct demo *d, int req)
{
	switch (req) {
	case DEMO_GET:
		demo_get(d);
		break;
	case DEMO_SET:
		demo_set(d);
		break;
	}
}

static void demo_caller(struct demo *d)
{
	demo_apply(d, false, 0);
	demo_apply(d, true, DEMO_MODE_FAST);
	demo_ctl(d, DEMO_SET);
}
"""


def _setup():
    program = link([extract_file("drivers/demo/demo_br.c", SOURCE.encode())])
    oracle = BranchOracle(program)
    node = {ref.fn.name: n for n, ref in program.functions.items()}
    return program, oracle, node


def _call(program, node, fn, callee, nth=0):
    return [c for c in program.functions[node[fn]].fn.calls if c.callee == callee][nth]


def test_three_valued_evaluation_with_macros_and_enums():
    program, oracle, _ = _setup()
    path = "drivers/demo/demo_br.c"
    assert oracle.value(ir_from_text("DEMO_REQ(2, DEMO_GET)"), {}, path) == 9
    assert oracle.truth(ir_from_text("x && 0"), {}, path) is False
    assert oracle.truth(ir_from_text("x || 1"), {}, path) is True
    assert oracle.truth(ir_from_text("x && 1"), {}, path) is None  # x unknown: both branches live
    assert oracle.value(ir_from_text("&d->lock"), {}, path) == NONZERO
    assert oracle.truth(ir_from_text("p != NULL"), {"p": NONZERO}, path) is True


def test_a_constant_argument_makes_the_guarded_calls_dead():
    program, oracle, node = _setup()
    first = _call(program, node, "demo_caller", "demo_apply", 0)
    second = _call(program, node, "demo_caller", "demo_apply", 1)
    sig_false = oracle.signature(node["demo_caller"], (), first, node["demo_apply"])
    sig_fast = oracle.signature(node["demo_caller"], (), second, node["demo_apply"])
    assert dict(sig_false) == {"may_sleep": 0, "mode": 0}
    assert dict(sig_fast) == {"may_sleep": 1, "mode": 2}
    slow = _call(program, node, "demo_apply", "demo_slow")
    fast = _call(program, node, "demo_apply", "demo_fast")
    other = _call(program, node, "demo_apply", "demo_other")
    assert oracle.dead(node["demo_apply"], sig_false, slow)  # after `if (!may_sleep) return;`
    assert not oracle.dead(node["demo_apply"], sig_fast, slow)
    assert not oracle.dead(node["demo_apply"], sig_fast, fast)
    assert oracle.dead(node["demo_apply"], sig_fast, other)  # the else of a true condition
    assert not oracle.dead(node["demo_apply"], (), other)  # nothing known: nothing pruned


def test_a_switch_case_other_than_the_constant_is_dead():
    program, oracle, node = _setup()
    site = _call(program, node, "demo_caller", "demo_ctl")
    sig = oracle.signature(node["demo_caller"], (), site, node["demo_ctl"])
    assert dict(sig) == {"req": 4}
    assert oracle.dead(node["demo_ctl"], sig, _call(program, node, "demo_ctl", "demo_get"))
    assert not oracle.dead(node["demo_ctl"], sig, _call(program, node, "demo_ctl", "demo_set"))
