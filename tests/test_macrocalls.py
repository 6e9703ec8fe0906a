"""Calls through lowercase forwarding macros reach the function the macro calls."""

from __future__ import annotations

import shutil
from pathlib import Path

from allocscan.extract import extract_file
from allocscan.link import link
from allocscan.macrocalls import MAX_FORWARDS, ForwardedCall, parse_forward, substitute
from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA

HEADER = ("include/linux/demo_link.h", """
#define demo_link_create(priv) demo_link_create_mq(priv, 1)
#define demo_link_create_mq(priv, count) demo_link_create_mqs(priv, count, count)
#define demo_ping(a) demo_pong(a)
#define demo_pong(a) demo_ping(a)
#define demo_checked(len) ({ void *__p = demo_raw(len); __p; })
#define DEMO_WRAP(x) demo_raw(x)
#define demo_raw(len) demo_raw_impl(len, 0)
#define kzalloc(size, flags) demo_kzalloc_impl(size, flags)
#define demo_zbuf(n) kzalloc(n, GFP_KERNEL)
#define demo_note(x) demo_note_elsewhere(x)
#define demo_wrap(x) DEMO_WRAP(x)
""")
CORE = ("net/core/demo_link.c", """
void *demo_link_create_mqs(int priv, unsigned int tx, unsigned int rx) { return kvzalloc(priv, GFP_KERNEL); }
void *demo_raw_impl(long len, int flags) { return vmalloc(len); }
void *demo_kzalloc_impl(long size, gfp_t flags) { return kmalloc(size, flags); }
""")


def sites_of(prog, path: str, fn_name: str):
    fn = next(f for f in prog.file(path).functions if f.name == fn_name)
    return [(s.callee, s.args_text, prog.targets(s, path)) for s in fn.calls]


def test_a_two_level_chain_becomes_the_inner_call_with_the_arguments_put_in():
    facts = [extract_file(p, t.encode()) for p, t in (HEADER, CORE, ("drivers/net/demo/d.c", """
void demo_probe(struct demo *d) { d->link = demo_link_create(d->priv_size + 8); }
"""))]
    caller = facts[2].functions[0]
    original = caller.calls[0]
    prog = link(facts)
    assert sites_of(prog, "drivers/net/demo/d.c", "demo_probe") == \
        [("demo_link_create_mqs", "d->priv_size + 8, 1, 1", ["demo_link_create_mqs"])]
    site = caller.calls[0]
    assert isinstance(site, ForwardedCall) and site.written == "demo_link_create(d->priv_size + 8)"
    assert len(site.arguments()) == 3 and site.arguments()[1] == ("num", 1)
    assert caller.callees == ("demo_link_create_mqs",)
    assert list(prog.graph.successors("demo_probe")) == ["demo_link_create_mqs"]
    # the site extraction made (the one the cache holds) is left as it was
    assert (original.callee, original.args_text, original.args) == ("demo_link_create", "d->priv_size + 8", None)


def test_what_is_not_a_forwarding_call_is_left_alone():
    prog = link([extract_file(p, t.encode()) for p, t in (HEADER, CORE, ("drivers/net/demo/d.c", """
void demo_probe(struct demo *d)
{
	demo_ping(1);
	d->buf = demo_checked(64);
	d->buf = DEMO_WRAP(64);
	d->buf = kzalloc(64, GFP_KERNEL);
	d->buf = demo_zbuf(64);
	demo_note(d);
	d->buf = demo_wrap(64);
	d->buf = demo_raw(64);
}
"""))])
    assert sites_of(prog, "drivers/net/demo/d.c", "demo_probe") == [
        ("demo_ping", "1", []),  # a cycle of macros: no function at its end
        ("demo_checked", "64", []),  # a statement expression
        ("DEMO_WRAP", "64", []),  # ALL_CAPS: expanded in place, never followed
        ("kzalloc", "64, GFP_KERNEL", []),  # the allocator table's name stays the allocator
        ("kzalloc", "64, GFP_KERNEL", []),  # ... also at the end of a chain
        ("demo_note", "d", []),  # it ends in a name the scan does not define
        ("demo_wrap", "64", []),  # it goes on through an ALL_CAPS macro: not followed
        ("demo_raw_impl", "64, 0", ["demo_raw_impl"]),
    ]


def test_a_chain_is_followed_so_far_only():
    levels = "".join(f"#define demo_l{i}(x) demo_l{i + 1}(x)\n" for i in range(MAX_FORWARDS + 1))
    prog = link([extract_file(p, t.encode()) for p, t in (
        ("include/linux/demo_levels.h", levels),
        ("lib/demo_levels.c", f"void demo_l{MAX_FORWARDS + 1}(int x) {{ kfree(0); }}\n"),
        ("drivers/misc/demo/main.c", "void demo_deep(void) { demo_l0(1); demo_l1(2); }\n"),
    )])
    assert sites_of(prog, "drivers/misc/demo/main.c", "demo_deep") == [
        ("demo_l0", "1", []), (f"demo_l{MAX_FORWARDS + 1}", "2", [f"demo_l{MAX_FORWARDS + 1}"])]


def test_a_name_that_resolves_to_a_function_keeps_its_function():
    prog = link([extract_file(p, t.encode()) for p, t in (
        ("include/linux/demo_cfg.h", "#define demo_reset(d) demo_reset_stub(d)\n"),
        ("drivers/misc/demo/reset.c", "void demo_reset(struct demo *d) { kfree(d->buf); }\n"
                                      "void demo_reset_stub(struct demo *d) { }\n"),
        ("drivers/misc/demo/main.c", "void demo_stop(struct demo *d) { demo_reset(d); }\n"),
    )])
    assert sites_of(prog, "drivers/misc/demo/main.c", "demo_stop") == [("demo_reset", "d", ["demo_reset"])]


def test_a_macro_body_is_one_call_once_parentheses_and_casts_are_set_aside():
    assert parse_forward(("n",), "((void *)demo_get(n, 1))").inner_args == "n, 1"
    assert parse_forward(("n",), "(struct demo_buf *) demo_get (n)").inner == "demo_get"
    assert parse_forward(("n",), "demo_get(n) + 1") is None
    assert parse_forward(("fn", "n"), "(fn)(n)") is None  # a call through a parameter
    assert parse_forward(("fn", "n"), "fn(n)") is None
    assert parse_forward(("n",), "do { demo_get(n); } while (0)") is None
    assert parse_forward(("n",), "demo_get(n); demo_put(n)") is None
    assert parse_forward(("n",), "demo_get(n)(1)") is None  # calls what demo_get returns


def test_arguments_are_put_in_token_by_token_as_cpp_does():
    fwd = parse_forward(("dev", "len"), "demo_get(dev->dev, len, \"dev\", sizeof(len))")
    # cpp replaces the member name too (a token like any other), never inside a string
    assert substitute(fwd, "pdev, skb->len + 2") == "pdev->pdev, skb->len + 2, \"dev\", sizeof(skb->len + 2)"
    assert substitute(fwd, "pdev") is None  # too few arguments
    assert substitute(fwd, "a, b, c") is None
    variadic = parse_forward(("fmt", "..."), "demo_log(0, fmt, ##__VA_ARGS__)")
    assert substitute(variadic, "\"x %d\", n, m") == "0, \"x %d\", n, m"
    assert substitute(variadic, "\"x\"") == "0, \"x\""
    named = parse_forward(("gfp", "args..."), "demo_alloc(args, gfp)")
    assert substitute(named, "GFP_KERNEL, 4, 8") == "4, 8, GFP_KERNEL"
    # a stringified parameter is its argument's spelling (devres_alloc()'s `#release`)
    stringify = parse_forward(("release", "gfp"), "demo_alloc_node(release, gfp, -1, #release)")
    assert substitute(stringify, "demo_release,\n\t GFP_KERNEL") == \
        "demo_release, GFP_KERNEL, -1, \"demo_release\""
    assert substitute(parse_forward(("x",), "demo_name(#x, \"#x\")"), "a  \"q\" b") == "\"a \\\"q\\\" b\", \"#x\""
    assert substitute(parse_forward(("x",), "demo_name(#y)"), "a") is None  # stringifies no parameter
    assert substitute(parse_forward(("x",), "demo_name(demo_ ## x)"), "a") is None  # pastes


def test_the_witness_runs_through_the_macro_to_the_allocation():
    result = run_scan([str(CORPORA / "macro_calls")], ScanOptions(jobs=1))
    finding = next(f for f in result.findings if f.function == "demo_setup")
    assert [(s.kind, s.callee) for s in finding.witness] == [
        ("acquire", "spin_lock"), ("call", "demo_configure"), ("call", "demo_port_create_mqs"),
        ("allocation", "kvzalloc")]
    assert finding.witness[2].text == \
        "demo_configure() calls demo_port_create_mqs() through demo_port_create(t->priv_size)"
    assert finding.witness[2].line == 23
    assert finding.properties["gfp"] == ["GFP_KERNEL"]


def test_of_equal_witnesses_the_one_ending_at_an_allocator_is_reported():
    """demo_bringup() reaches kvzalloc() through the port constructor's macros and, one
    call nearer, a function that takes a gfp_t (its allocation lies beyond the scan)."""
    result = run_scan([str(CORPORA / "macro_calls")], ScanOptions(jobs=1))
    finding = next(f for f in result.findings if f.function == "demo_bringup_locked")
    assert finding.level == "error"
    assert finding.properties["allocator"] == "kvzalloc"
    assert [s.callee for s in finding.witness][1:] == ["demo_bringup", "demo_port_create_mqs", "kvzalloc"]
    # through a function pointer both witnesses are warnings: the allocator's still wins
    unproven = next(f for f in result.findings if f.function == "demo_bringup_through_ops")
    assert unproven.level == "warning" and unproven.properties["allocator"] == "kvzalloc"


def test_a_warm_scan_rewrites_alike_and_leaves_the_cache_as_it_was(tmp_path: Path):
    tree = tmp_path / "tree"
    shutil.copytree(CORPORA / "macro_calls", tree)
    cache = tmp_path / "cache"

    def scan():
        found = run_scan([str(tree)], ScanOptions(jobs=1, cache_dir=cache)).findings
        return [(f.rule_id, f.path, f.line, [s.text for s in f.witness]) for f in found]

    def entries():
        # the facts' entries (the linked program a scan keeps, linkstore.py, is not facts)
        return {p: p.read_bytes() for p in sorted(cache.rglob("*"))
                if p.is_file() and p.name != "stat-index.pkl" and p.parent.name != "programs"}

    cold = scan()
    written = entries()
    assert scan() == cold
    assert entries() == written
    assert any("through demo_port_create(" in text for *_, steps in cold for text in steps)


def test_a_rewritten_call_pickles_as_itself():
    """A linked program is kept pickled (linkstore.py): a call rewritten through a
    forwarding macro comes back with the call as written, for the witness."""
    import pickle

    site = ForwardedCall(callee="kmalloc", line=3, col=2, end_col=30, args_text="n, GFP_KERNEL",
                         written="demo_alloc(n)")
    again = pickle.loads(pickle.dumps(site))
    assert type(again) is ForwardedCall and again == site and again.written == "demo_alloc(n)"
