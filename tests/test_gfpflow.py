"""gfp masks that flow through parameters: followed up through several callers (as far
as the context analysis follows calls down), whichever site asks first, and a function
that takes a lock and hands its caller's mask on is reported at its own call."""

from __future__ import annotations

from types import SimpleNamespace

from allocscan.analyze import analyze
from allocscan.analyze.witness import FLOW
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import select

OPTIONS = SimpleNamespace(min_order=4)


def _findings(source: str, rules=("AS001", "AS002"), version="6.1"):
    analysis = analyze(link([extract_file("drivers/demo/demo.c", source.encode())]), builtin_kernel(version))
    out = []
    for rule in select(list(rules), None):
        out.extend(rule.check(analysis, OPTIONS))
    return sorted(out, key=lambda f: (f.line, f.rule_id))


TWO_DEEP = """
static DEFINE_SPINLOCK(demo_lock);

static void *demo_g(struct demo *d, gfp_t gfp)
{
	return kmalloc(16, gfp);
}

static void *demo_f(struct demo *d, gfp_t gfp)
{
	void *p;

	spin_lock(&demo_lock);
	p = demo_g(d, gfp);
	spin_unlock(&demo_lock);
	return p;
}

void demo_h(struct demo *d)
{
	d->buf = demo_f(d, GFP_KERNEL);
}
"""


def test_a_mask_handed_on_under_a_lock_is_reported_where_the_lock_is_held():
    """h() passes GFP_KERNEL to f(), which takes a spinlock and hands it on to g(),
    which allocates: the finding is f()'s call, proven by h()'s call and f()'s lock."""
    (finding,) = _findings(TWO_DEEP)
    assert (finding.rule_id, finding.function, finding.line) == ("AS002", "demo_f", 14)
    assert "passed by demo_h() at line 21" in finding.message
    assert [(s.kind, s.line) for s in finding.witness] == [(FLOW, 21), ("acquire", 13), ("allocation", 14)]


def test_a_mask_that_cannot_sleep_handed_on_under_a_lock_is_not_reported():
    assert _findings(TWO_DEEP.replace("GFP_KERNEL", "GFP_ATOMIC")) == []


FOUR_LEVELS = """
static void *demo_buf(struct demo *d, gfp_t flags)
{
	return kmalloc(65536, flags);
}

static void *demo_ring(struct demo *d, gfp_t flags)
{
	d->ring = kmalloc(65536, flags);
	return demo_buf(d, flags);
}

static void *demo_setup(struct demo *d, gfp_t flags)
{
	return demo_ring(d, flags);
}

static void *demo_start(struct demo *d, gfp_t flags)
{
	return demo_setup(d, flags);
}

void demo_rx(struct demo *d)
{
	d->buf = demo_start(d, GFP_ATOMIC);
}
"""


def test_a_parameter_is_followed_as_far_from_each_site_whichever_asks_first():
    """demo_buf's kmalloc, four calls below the GFP_ATOMIC, is out of reach; asking for it
    first must not cut demo_ring's own kmalloc, three calls below, short."""
    findings = _findings(FOUR_LEVELS, ("AS001",))
    assert [(f.function, f.line) for f in findings] == [("demo_ring", 9)]
    hops = [(s.kind, s.function, s.line) for s in findings[0].witness]
    assert hops == [(FLOW, "demo_rx", 25), (FLOW, "demo_start", 20), (FLOW, "demo_setup", 15),
                    ("allocation", "demo_ring", 9)]


def test_each_call_that_hands_the_mask_on_is_a_step_of_the_proof():
    """The mask comes from two calls above the lock: each call is a step, in order, at
    its own line."""
    source = TWO_DEEP.replace("""void demo_h(struct demo *d)
{
	d->buf = demo_f(d, GFP_KERNEL);
}""", """static void *demo_m(struct demo *d, gfp_t mask)
{
	return demo_f(d, mask);
}

void demo_h(struct demo *d)
{
	d->buf = demo_m(d, GFP_KERNEL);
}""")
    (finding,) = _findings(source)
    assert (finding.function, finding.line) == ("demo_f", 14)
    assert [(s.kind, s.function, s.line) for s in finding.witness[:2]] == [(FLOW, "demo_h", 26), (FLOW, "demo_m", 21)]


def test_a_callee_that_drops_the_callers_lock_is_not_called_under_it():
    """ttm_device_swapout() calls ttm_bo_swapout(bo, ctx, gfp) under its lru_lock, and
    ttm_bo_swapout() unlocks it before it allocates: as the context analysis does, the
    call does not count as made under the lock."""
    source = TWO_DEEP.replace("""static void *demo_g(struct demo *d, gfp_t gfp)
{
	return kmalloc(16, gfp);
}""", """static void *demo_g(struct demo *d, gfp_t gfp)
{
	spin_unlock(&demo_lock);
	return kmalloc(16, gfp);
}""")
    assert _findings(source) == []


def test_calls_the_context_chain_shows_are_not_repeated_as_mask_steps():
    """r8152's rx_bottom() passes GFP_ATOMIC down the same calls that bring NAPI's
    softirq to the allocation: the proof shows each call once."""
    source = FOUR_LEVELS.replace("void demo_rx(struct demo *d)", "static int demo_poll(struct napi_struct *napi, int budget)").replace(
        "\td->buf = demo_start(d, GFP_ATOMIC);\n}", "\tstruct demo *d = napi->dev;\n\n\td->buf = demo_start(d, GFP_ATOMIC);\n\treturn 0;\n}\n"
        "void demo_up(struct demo *d) { netif_napi_add(d->net, &d->napi, demo_poll); }\n")
    (finding,) = _findings(source, ("AS001",))
    kinds = [(s.kind, s.line) for s in finding.witness]
    assert kinds == [("entry", 30), ("call", 27), ("call", 20), ("call", 15), ("allocation", 9)]


FLAG_CHOSEN = """
enum demo_buf_flags { DEMO_BUF_DIRECT = BIT(0), DEMO_BUF_NOSLEEP = BIT(1) };

void *demo_buf_alloc(struct demo *d, u32 size, u32 flags)
{
	gfp_t gfp = (flags & DEMO_BUF_NOSLEEP) ? GFP_ATOMIC : GFP_KERNEL;

	return kmalloc(size, gfp);
}

void demo_table(struct demo *d) { d->table = demo_buf_alloc(d, 65536, 0); }
void demo_ring(struct demo *d, bool direct) { d->ring = demo_buf_alloc(d, 131072, direct ? DEMO_BUF_DIRECT : 0); }
"""


def test_a_mask_chosen_by_a_flag_no_caller_sets_is_the_other_arm():
    """`(flags & DEMO_BUF_NOSLEEP) ? GFP_ATOMIC : GFP_KERNEL` where every caller passes a
    constant without that bit: the allocation is GFP_KERNEL, not reported. A caller that
    sets the bit, or an export (callers the scan cannot see), makes both arms possible."""
    assert _findings(FLAG_CHOSEN, rules=("AS001",)) == []
    nosleep = FLAG_CHOSEN + "void demo_irq(struct demo *d) { d->spare = demo_buf_alloc(d, 64, DEMO_BUF_NOSLEEP); }\n"
    assert [f.function for f in _findings(nosleep, rules=("AS001",))] == ["demo_buf_alloc"]
    exported = FLAG_CHOSEN + "EXPORT_SYMBOL(demo_buf_alloc);\n"
    assert [f.function for f in _findings(exported, rules=("AS001",))] == ["demo_buf_alloc"]


VIRTQUEUE_SEND = """
static DEFINE_SPINLOCK(demo_lock);

static int demo_send_one(struct demo *d, void *msg)
{
	struct scatterlist sg[2];
	int err;

	spin_lock(&demo_lock);
	err = virtqueue_add_outbuf(d->vq, sg, NENTS, msg, GFP_KERNEL);
	spin_unlock(&demo_lock);
	return err;
}

static int demo_queue(struct demo *d, void *msg, gfp_t gfp)
{
	return virtqueue_add_inbuf(d->vq, d->sg, NENTS, msg, gfp);
}

static int demo_refill(struct demo *d, void *msg)
{
	int err;

	spin_lock(&demo_lock);
	err = demo_queue(d, msg, GFP_KERNEL);
	spin_unlock(&demo_lock);
	return err;
}
"""


def test_a_call_whose_constant_argument_asks_for_no_allocation_takes_no_mask():
    """virtio_ring allocates a table of indirect descriptors only for more than one
    scatterlist entry (gfp.toml [allocates_only_when]): with one entry, the mask of
    virtqueue_add_outbuf() is not used, whether written at the call or handed on."""
    two = _findings(VIRTQUEUE_SEND.replace("NENTS", "2"))
    assert [(f.rule_id, f.function) for f in two] == [("AS002", "demo_send_one"), ("AS002", "demo_refill")]
    assert [(f.rule_id, f.function) for f in _findings(VIRTQUEUE_SEND.replace("NENTS", "n"))] == \
        [("AS002", "demo_send_one"), ("AS002", "demo_refill")]
    assert _findings(VIRTQUEUE_SEND.replace("NENTS", "1")) == []
