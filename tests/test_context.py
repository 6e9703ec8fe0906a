"""Context analysis: where a call may run atomically, across calls."""

from __future__ import annotations

import random

import pytest

from allocscan.analyze import analyze
from allocscan.analyze.context import in_one_time_setup, witness_chains
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import select

from .conftest import CORPORA


def findings(*files: tuple[str, str]) -> list[tuple[str, str, int]]:
    analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
    out = []
    for rule in select(["AS002"], None):
        out.extend((f.rule_id, f.path, f.line) for f in rule.check(analysis, None))
    return sorted(out)


def test_an_allocators_insides_are_not_reported_for_its_callers():
    """A driver calling vzalloc() under a lock is reported at its call, not inside mm/."""
    assert findings(
        ("mm/vmalloc.c", "void *__vmalloc_node(unsigned long size, gfp_t gfp) { return vmalloc(size); }\n"
                         "void *vzalloc(unsigned long size) { return __vmalloc_node(size, GFP_KERNEL); }\n"),
        ("drivers/demo/demo.c", "static DEFINE_SPINLOCK(demo_lock);\n"
                                "void demo_add(void) { spin_lock(&demo_lock); vzalloc(4096); spin_unlock(&demo_lock); }\n"),
    ) == [("AS002", "drivers/demo/demo.c", 2)]


def test_a_wrapper_that_drops_the_callers_lock():
    """tg3_restart_hw() unlocks through tg3_full_unlock() before calling what sleeps."""
    assert findings(("drivers/demo/tg.c", """
static void demo_full_lock(struct demo *tp) { spin_lock_bh(&tp->lock); }
static void demo_full_unlock(struct demo *tp) { spin_unlock_bh(&tp->lock); }
static void demo_close(struct demo *tp) { kzalloc(64, GFP_KERNEL); }
static int demo_restart(struct demo *tp, int err)
{
	if (err) {
		demo_full_unlock(tp);
		demo_close(tp);
		demo_full_lock(tp);
	}
	return err;
}
static void demo_set_ring(struct demo *tp)
{
	demo_full_lock(tp);
	demo_restart(tp, 1);
	demo_full_unlock(tp);
}
""")) == []


def test_an_interrupt_handler_stays_atomic_through_a_callee_that_drops_its_lock():
    """An interrupt handler takes the host lock and resets the adapter; the reset
    allocates the mailboxes with GFP_KERNEL, then drops and retakes the lock to wait.
    Dropping the lock does not leave hard irq: the allocation sleeps in the handler.
    The same reset called under the lock from process context is not reported."""
    assert findings(("drivers/scsi/demo_bl.c", """
static int demo_init_mbox(struct demo_host *h)
{
	h->mbox = dma_alloc_coherent(h->dev, h->mbox_size, &h->mbox_dma, GFP_KERNEL);
	return h->mbox != NULL;
}
static int demo_reset(struct demo_host *h, bool hard)
{
	if (!demo_init_mbox(h))
		return -ENOMEM;
	if (hard) {
		spin_unlock_irq(&h->lock);
		msleep(100);
		spin_lock_irq(&h->lock);
	}
	return 0;
}
static irqreturn_t demo_intr(int irq, void *data)
{
	struct demo_host *h = data;
	unsigned long flags;

	spin_lock_irqsave(&h->lock, flags);
	if (h->ext_reset)
		demo_reset(h, false);
	spin_unlock_irqrestore(&h->lock, flags);
	return IRQ_HANDLED;
}
int demo_eh_reset(struct demo_host *h)
{
	int rc;

	spin_lock_irq(&h->lock);
	rc = demo_reset(h, true);
	spin_unlock_irq(&h->lock);
	return rc;
}
int demo_probe(struct demo_host *h)
{
	return request_irq(h->irq, demo_intr, IRQF_SHARED, "demo", h);
}
""")) == [("AS002", "drivers/scsi/demo_bl.c", 25)]  # the handler's call


def test_the_xarrays_stores_drop_its_lock_around_a_blocking_allocation():
    """__xa_store() and the other __xa_*() called under xa_lock() unlock it while a
    blocking gfp allocates (__xas_nomem()); a kmalloc() of the driver's own under the
    same lock sleeps with it held. Whether lib/xarray.c is in the scan or not."""
    driver = ("drivers/demo/ids.c", """
struct demo { struct xarray ids; };
int demo_store(struct demo *d, void *e)
{
	int err;
	xa_lock_irq(&d->ids);
	err = xa_err(__xa_store(&d->ids, 1, e, GFP_KERNEL));
	xa_unlock_irq(&d->ids);
	return err;
}
void *demo_copy(struct demo *d)
{
	void *p;
	xa_lock(&d->ids);
	p = kmalloc(64, GFP_KERNEL);
	xa_unlock(&d->ids);
	return p;
}
""")
    xarray = ("lib/xarray.c", """
static bool __xas_nomem(struct xa_state *xas, gfp_t gfp)
{
	if (gfpflags_allow_blocking(gfp)) {
		xas_unlock_type(xas, xa_lock_type(xas->xa));
		xas->xa_alloc = kmem_cache_alloc_lru(radix_tree_node_cachep, xas->xa_lru, gfp);
		xas_lock_type(xas, xa_lock_type(xas->xa));
	}
	return true;
}
void *__xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	XA_STATE(xas, xa, index);
	do {
		xas_store(&xas, entry);
	} while (__xas_nomem(&xas, gfp));
	return xas_result(&xas, NULL);
}
""")
    assert findings(driver) == [("AS002", "drivers/demo/ids.c", 15)]
    assert findings(driver, xarray) == [("AS002", "drivers/demo/ids.c", 15)]


def test_a_gfp_local_updated_from_itself():
    """`g = (g | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM` reads the earlier g: both masks, no endless recursion."""
    files = [("mm/demo.c", """
static DEFINE_SPINLOCK(demo_lock);
static void *demo_alloc(int retry)
{
	gfp_t g = GFP_KERNEL;
	void *p;

	if (retry)
		g = (g | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM;
	spin_lock(&demo_lock);
	p = alloc_pages(g, 0);
	spin_unlock(&demo_lock);
	return p;
}
""")]
    analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
    assert not analysis.warnings
    (site,) = [s for s in analysis.sites if s.site.callee == "alloc_pages"]
    gfp = analysis.kernel.gfp
    assert sorted(gfp.allows_blocking(g.mask) for g in site.gfp) == [False, True]


def test_one_time_setup_is_done_before_the_atomic_callers_arrive():
    """A pool populated by its first (sleeping) user, a flag set after a set-up that
    returns early once done: atomic callers are not followed into them; an error
    check on the same kind of state is not set-up and is followed."""
    assert findings(("net/demo/pool.c", """
static bool demo_pool_ready;
static DEFINE_MUTEX(demo_pool_mutex);
static void demo_fill_pool(void)
{
	demo_pool = kmalloc(4096, GFP_KERNEL);
	WRITE_ONCE(demo_pool_ready, true);
}
bool demo_get_pool(void)
{
	if (unlikely(!READ_ONCE(demo_pool_ready))) {
		mutex_lock(&demo_pool_mutex);
		demo_fill_pool();
		mutex_unlock(&demo_pool_mutex);
	}
	return READ_ONCE(demo_pool_ready);
}
static int demo_init_data(struct demo_hba *hba)
{
	if (hba->fw_flag & DEMO_FW_ALLOC)
		return 0;
	hba->res = kzalloc(8192, GFP_KERNEL);
	hba->fw_flag |= DEMO_FW_ALLOC;
	return 0;
}
static int demo_config_irq(struct demo_hba *hba)
{
	if (!hba->irq_requested) {
		hba->irq_name = kasprintf(GFP_KERNEL, "demo-%d", hba->id);
		if (!hba->irq_name)
			return -ENOMEM;
	}
	hba->irq_requested = true;
	return 0;
}
static struct demo_inode *demo_iget(struct demo_sb *sb, unsigned long ino)
{
	struct demo_inode *inode = demo_lookup_or_new(sb, ino);
	if (!(inode->state & DEMO_NEW))
		return inode;
	inode->data = kmalloc(512, GFP_KERNEL);
	demo_unlock_new(inode);
	return inode;
}
static void demo_unlock_new(struct demo_inode *inode)
{
	inode->state &= ~DEMO_NEW;
}
static atomic_t demo_zero_ref;
static bool demo_get_zero_page(void)
{
	if (likely(atomic_inc_not_zero(&demo_zero_ref)))
		return true;
	demo_zero = alloc_pages(GFP_KERNEL, 9);
	atomic_set(&demo_zero_ref, 2);
	return true;
}
static int demo_start(struct demo_hba *hba)
{
	if (hba->state & DEMO_RUNNING)
		return -EBUSY;
	hba->ring = kzalloc(8192, GFP_KERNEL);
	hba->state |= DEMO_RUNNING;
	return 0;
}
static DEFINE_SPINLOCK(demo_lock);
void demo_close(struct demo_hba *hba)
{
	spin_lock_bh(&demo_lock);
	demo_get_pool();
	demo_init_data(hba);
	demo_config_irq(hba);
	demo_iget(hba->sb, 1);
	demo_get_zero_page();
	demo_start(hba);
	spin_unlock_bh(&demo_lock);
}
int demo_probe(struct demo_hba *hba)
{
	demo_get_pool();
	demo_init_data(hba);
	demo_config_irq(hba);
	demo_iget(hba->sb, 1);
	demo_get_zero_page();
	return demo_start(hba);
}
""")) == [("AS002", "net/demo/pool.c", 75)]  # demo_start: an error return is not set-up
    # (reported at the locked call demo_start(hba), where the fix goes; the kzalloc is line 62)


def test_set_up_that_every_caller_enters_atomically_makes_its_first_call_there():
    """One-time set-up is skipped for its atomic callers only where it may also run where
    it can sleep (a probe, an ops callback, an exported function). A busy flag tested in
    what only the irq handler calls under its lock, a lazy per-buffer cache that only
    the transmit path fills, and a name that the locked caller frees and takes again
    all allocate there: the first call is atomic."""
    assert findings(("drivers/demo/port.c", """
static int demo_tx_dma(struct demo_port *p)
{
	if (p->tx_busy)
		return 0;
	p->tx_busy = 1;
	p->sg = kmalloc_array(p->n, 16, GFP_KERNEL);
	return 1;
}
static irqreturn_t demo_irq(int irq, void *data)
{
	struct demo_port *p = data;

	spin_lock(&p->lock);
	demo_tx_dma(p);
	spin_unlock(&p->lock);
	return IRQ_HANDLED;
}
static void demo_flush(struct demo_queue *q, struct demo_buf *buf)
{
	if (!buf->aob)
		buf->aob = kmem_cache_zalloc(demo_aob_cache, GFP_KERNEL);
	demo_ring(q, buf);
}
static void demo_queue_xmit(struct demo_queue *q, struct demo_buf *buf)
{
	spin_lock(&q->lock);
	demo_flush(q, buf);
	spin_unlock(&q->lock);
}
static netdev_tx_t demo_xmit(struct sk_buff *skb, struct net_device *dev)
{
	demo_queue_xmit(netdev_priv(dev), skb_buf(skb));
	return NETDEV_TX_OK;
}
static const struct net_device_ops demo_ops = {
	.ndo_start_xmit = demo_xmit,
};
static int demo_alloc_name(struct demo_image *image)
{
	if (!image->name) {
		image->name = kmalloc(32, GFP_KERNEL);
		if (!image->name)
			return -ENOMEM;
	}
	return 0;
}
int demo_master_set(struct demo_image *image)
{
	int ret;

	spin_lock(&image->lock);
	ret = demo_alloc_name(image);
	spin_unlock(&image->lock);
	return ret;
}
int demo_port_start(struct demo_port *p, struct demo_queue *q)
{
	return request_irq(p->irq, demo_irq, 0, "demo", p);
}
""")) == [("AS002", "drivers/demo/port.c", 15), ("AS002", "drivers/demo/port.c", 28),
          ("AS002", "drivers/demo/port.c", 33), ("AS002", "drivers/demo/port.c", 53)]
    # demo_queue_xmit's lock (28) and the transmit entry calling it (33) are two calls to fix


def test_a_caller_whose_constants_rule_the_set_up_out_does_not_do_it():
    """sidtab's lookup allocates its tree nodes lazily, and only `if (alloc)`: the
    callers that may sleep pass 0 and never do the set-up, so the locked insert makes
    the first call."""
    assert findings(("security/demo/tab.c", """
static struct demo_entry *demo_do_lookup(struct demo_tab *s, u32 index, int alloc)
{
	struct demo_entry *entry = &s->roots[index];

	if (!entry->leaf) {
		if (alloc)
			entry->leaf = kzalloc(4096, GFP_KERNEL);
		if (!entry->leaf)
			return NULL;
	}
	return entry->leaf;
}
struct demo_entry *demo_lookup(struct demo_tab *s, u32 index)
{
	return demo_do_lookup(s, index, 0);
}
int demo_insert(struct demo_tab *s, u32 count)
{
	unsigned long flags;
	struct demo_entry *dst;

	spin_lock_irqsave(&s->lock, flags);
	dst = demo_do_lookup(s, count, 1);
	spin_unlock_irqrestore(&s->lock, flags);
	return dst ? 0 : -ENOMEM;
}
""")) == [("AS002", "security/demo/tab.c", 24)]


def test_set_up_reached_only_from_deep_below_the_transmit_entry_is_atomic():
    """The transmit path is often five calls deep below ndo_start_xmit before it reaches
    the buffer flush that fills a lazy cache (qeth): the walk up to find a sleeping
    caller goes that far before it takes the chain for process context."""
    assert findings(("drivers/demo/q.c", """
static void demo_flush(struct demo_buf *buf)
{
	if (!buf->aob)
		buf->aob = kmem_cache_zalloc(demo_aob_cache, GFP_KERNEL);
}
static void demo_flush_queue(struct demo_buf *buf) { demo_flush(buf); }
static int demo_send(struct demo_buf *buf) { demo_flush_queue(buf); return 0; }
static int demo_core_xmit(struct demo_buf *buf) { return demo_send(buf); }
static int demo_l3_xmit(struct demo_buf *buf) { return demo_core_xmit(buf); }
static netdev_tx_t demo_xmit(struct sk_buff *skb, struct net_device *dev)
{
	return demo_l3_xmit(skb_buf(skb));
}
static const struct net_device_ops demo_ops = {
	.ndo_start_xmit = demo_xmit,
};
void demo_check_queue(struct demo_queue *q)
{
	spin_lock(&q->lock);
	demo_flush(q->buf);
	spin_unlock(&q->lock);
}
""")) == [("AS002", "drivers/demo/q.c", 21)]


_REFILL = """
static DEFINE_SPINLOCK(demo_lock);
static int demo_refill(struct demo_ring *r, gfp_t gfp)
{
	void *buf;

	if (%s)
		return demo_refill_slow(r);
	spin_lock_bh(&demo_lock);
	buf = kmalloc(r->len, gfp);
	spin_unlock_bh(&demo_lock);
	return buf ? 0 : -ENOMEM;
}
int demo_open(struct demo_ring *r) { return demo_refill(r, GFP_KERNEL); }
void demo_poll(struct demo_ring *r) { demo_refill(r, GFP_ATOMIC); }
"""


def test_a_mask_that_may_block_leaves_before_the_locked_allocation():
    """__netdev_alloc_skb()'s shape: a caller's GFP_KERNEL takes the early exit, so only
    GFP_ATOMIC reaches the allocation under the lock; without the exit, it is reported."""
    for test in ("gfpflags_allow_blocking(gfp)", "gfp & __GFP_DIRECT_RECLAIM", "r->len > 64 || (gfp & __GFP_RECLAIM)"):
        assert findings(("drivers/demo/ring.c", _REFILL % test)) == [], test
    for test in ("r->len > 4096", "gfp & __GFP_NOWARN"):
        assert findings(("drivers/demo/ring.c", _REFILL % test)) == [("AS002", "drivers/demo/ring.c", 10)], test


def test_a_callee_allocating_only_for_one_mask_is_not_reached_with_another():
    """bpf_mem_cache_alloc_flags() allocates afresh only `if (flags == GFP_KERNEL)`: a
    caller under a lock passing GFP_ATOMIC never gets there. Mask names are their bits
    on the kernel version (kernel.gfp)."""
    source = """
struct demo_cache { void *pool; };
struct demo { spinlock_t lock; struct demo_cache *cache; };
void *demo_take(struct demo_cache *c);
static void *demo_alloc_flags(struct demo_cache *c, gfp_t flags)
{
	void *r = demo_take(c);
	if (!r && flags == GFP_KERNEL)
		r = kmalloc(64, GFP_KERNEL);
	return r;
}
void *demo_atomic(struct demo *d)
{
	void *p;
	spin_lock(&d->lock);
	p = demo_alloc_flags(d->cache, GFP_ATOMIC);
	spin_unlock(&d->lock);
	return p;
}
void *demo_blocking(struct demo *d)
{
	void *p;
	spin_lock(&d->lock);
	p = demo_alloc_flags(d->cache, GFP_KERNEL);
	spin_unlock(&d->lock);
	return p;
}
"""
    assert findings(("kernel/bpf/demo.c", source)) == [("AS002", "kernel/bpf/demo.c", 24)]


def test_the_xarrays_stores_drop_a_callers_xa_lock_too():
    """tcp_xa_pool_refill() takes xa_lock_bh() and calls a helper that does
    __xa_cmpxchg(..., GFP_KERNEL): the lock is dropped around that allocation too."""
    assert findings(("net/ipv4/demo.c", """
struct demo { struct xarray frags; };
static int demo_commit_locked(struct demo *d, unsigned long id, void *e)
{
	return xa_err(__xa_cmpxchg(&d->frags, id, XA_ZERO_ENTRY, e, GFP_KERNEL));
}
int demo_refill(struct demo *d, void *e)
{
	int err;
	xa_lock_bh(&d->frags);
	err = demo_commit_locked(d, 1, e);
	xa_unlock_bh(&d->frags);
	return err;
}
""")) == []


def test_xas_nomem_under_the_lock_frees_and_does_not_allocate():
    """xas_nomem() allocates only after an -ENOMEM the caller retries with the lock
    dropped; list_lru calls it under xas_lock_irqsave() to free a preallocation."""
    assert findings(("mm/demo_lru.c", """
int demo_lru_alloc(struct xarray *xa, void *e, gfp_t gfp)
{
	unsigned long flags;
	XA_STATE(xas, xa, 0);
	xas_lock_irqsave(&xas, flags);
	xas_store(&xas, e);
	if (xas.xa_alloc)
		xas_nomem(&xas, gfp);
	xas_unlock_irqrestore(&xas, flags);
	return xas_error(&xas);
}
int demo_lru_init(struct xarray *xa, void *e) { return demo_lru_alloc(xa, e, GFP_KERNEL); }
""")) == []


def test_an_allocation_only_a_recursive_call_reaches_is_followed_through_it():
    """bond_verify_device_path() allocates when start == end; its caller under
    rcu_read_lock() returns before the call when they are equal, so only the frame its
    own recursion makes can allocate: the witness goes through that call, once."""
    assert findings(("drivers/net/bonding/demo.c", """
struct demo_nd { struct demo_nd *upper; };
struct demo_tag { int proto; };
struct demo_tag *demo_verify(struct demo_nd *start, struct demo_nd *end, int level)
{
	struct demo_tag *tags;
	struct demo_nd *up;
	if (start == end)
		return kcalloc(level + 1, sizeof(*tags), GFP_KERNEL);
	for (up = start->upper; up; up = up->upper) {
		tags = demo_verify(up, end, level + 1);
		if (tags)
			return tags;
	}
	return NULL;
}
void demo_send_all(struct demo_nd *bond, struct demo_nd *dev)
{
	struct demo_tag *tags;
	if (dev == bond)
		return;
	rcu_read_lock();
	tags = demo_verify(bond, dev, 0);
	rcu_read_unlock();
	kfree(tags);
}
""")) == [("AS002", "drivers/net/bonding/demo.c", 23)]



def _corpus_program(tree):
    files = sorted(p for p in tree.rglob("*.[ch]"))
    return link([extract_file(p.relative_to(tree).as_posix(), p.read_bytes()) for p in files])


def _what_sites_are_told(contexts, node: str) -> list:
    """Everything the rules ask the context analysis about a function's sites."""
    ref = contexts.program.functions[node]
    told = [contexts.variants.get(node), contexts.entries.get(node)]
    for site in ref.fn.calls:
        told.append((site.byte, contexts.site_context(node, site), witness_chains(contexts, node, site),
                     bool(ref.fn.once) and in_one_time_setup(contexts, node, site)))
    return told


@pytest.mark.parametrize("corpus", sorted(p.name for p in CORPORA.iterdir() if p.is_dir()))
def test_contexts_of_a_cone_equal_the_whole_programs(corpus):
    """An incremental scan runs the context analysis over the callers of its cone only
    (analyze_contexts(only=...)): for random sets of allocating functions, what each of
    their sites is told (its witnesses, the function's variants and entries) is what
    the whole-program analysis tells it."""
    program = _corpus_program(CORPORA / corpus)
    kernel = builtin_kernel("6.1")
    whole = analyze(program, kernel).contexts
    rng = random.Random(corpus)
    allocating = sorted({s.node for s in analyze(program, kernel).sites})
    assert allocating
    for _ in range(8):
        chosen = set(rng.sample(allocating, max(1, len(allocating) // 4)))
        part = analyze(program, kernel, lambda _: chosen).contexts
        for node in sorted(chosen):
            assert _what_sites_are_told(part, node) == _what_sites_are_told(whole, node), node


def test_a_cone_sees_the_entry_far_above_one_time_set_up():
    """Whether one-time set-up may run where it can sleep depends on callers up to
    SLEEPABLE_HOPS calls above it, farther than the MAX_HOPS a witness has: here the
    only unlocked way in starts at an interrupt handler five calls up. A cone holding
    only the allocating function must still know that handler is an entry point."""
    program = link([extract_file("drivers/demo/far.c", b"""
struct demo { void *stats; spinlock_t lock; };
static void demo_stats_get(struct demo *d)
{
	if (!d->stats)
		d->stats = kzalloc(4096, GFP_KERNEL);
}
static void demo_refresh(struct demo *d) { spin_lock(&d->lock); demo_stats_get(d); spin_unlock(&d->lock); }
static void demo_step4(struct demo *d) { demo_stats_get(d); }
static void demo_step3(struct demo *d) { demo_step4(d); }
static void demo_step2(struct demo *d) { demo_step3(d); }
static void demo_step1(struct demo *d) { demo_step2(d); }
static irqreturn_t demo_irq(int irq, void *data) { demo_step1(data); return IRQ_HANDLED; }
static int demo_probe(struct demo *d) { return request_irq(7, demo_irq, 0, "demo", d); }
""")])
    kernel = builtin_kernel("6.1")
    whole = analyze(program, kernel)
    node = next(s.node for s in whole.sites)
    site = next(s.site for s in whole.sites)
    assert not in_one_time_setup(whole.contexts, node, site)  # every way in is atomic
    part = analyze(program, kernel, lambda _: {node}).contexts
    assert _what_sites_are_told(part, node) == _what_sites_are_told(whole.contexts, node)


def test_a_finding_s_fingerprint_does_not_depend_on_its_call_being_the_same_object():
    """AS002 reports a call in the function that holds the lock, fingerprinted by which
    of the function's calls to that callee it is. The witness holds the call from the
    function's call list as it was unpacked then; the list may since have been let go
    and unpacked again (facts._UNPACKED), its calls equal but new objects: the
    fingerprint must be the one the first list gives."""
    import dataclasses

    from allocscan.facts import CallSite, FileFacts, FunctionFacts
    from allocscan.link import FunctionRef
    from allocscan.rules.as002_sleeping_allocation_in_atomic_context import _call_fingerprint

    calls = [CallSite("demo_fill", line, 2, 20, "priv", byte=byte) for line, byte in ((10, 100), (12, 140), (15, 190))]
    fn = FunctionFacts("demo_lock_and_fill", False, 8, 20, (), packed_calls=calls)
    ref = FunctionRef(FileFacts("drivers/demo/demo.c", "0"), fn)
    first = [_call_fingerprint(ref, call) for call in calls]
    assert len(set(first)) == 3  # which of the three calls
    fn.packed_calls = [dataclasses.replace(call) for call in calls]  # unpacked again
    assert [_call_fingerprint(ref, call) for call in calls] == first


def test_a_fourth_call_is_followed_only_when_every_step_is_certain():
    """lib82596's watchdog: the timer holds the tx lock, calls ndo_tx_timeout, which resets
    the chip, which re-inits it, which calls request_irq(): four direct calls under a lock
    held on every path. The same chain with a call through a pointer on the way stops at
    three calls, and a fifth call is never followed."""
    lib = ("drivers/demo/irqlib.c", """
int demo_request_irq(unsigned int irq, void *handler) { return kzalloc(64, GFP_KERNEL) != NULL; }
""")
    driver = ("drivers/demo/chip.c", """
struct demo_ops { int (*init)(struct demo *d); };
static DEFINE_SPINLOCK(demo_lock);
static int demo_init_mem(struct demo *d) { return demo_request_irq(d->irq, NULL); }
static int demo_init_mem_deeper(struct demo *d) { return demo_init_mem(d); }
static void demo_reset(struct demo *d) { demo_init_mem(d); }
static void demo_reset_deeper(struct demo *d) { demo_init_mem_deeper(d); }
static void demo_reset_through_ops(struct demo *d) { d->ops->init(d); }
static const struct demo_ops demo_chip_ops = { .init = demo_init_mem };
static void demo_recover(struct demo *d) { demo_reset(d); }
static void demo_recover_deeper(struct demo *d) { demo_reset_deeper(d); }
static void demo_recover_through_ops(struct demo *d) { demo_reset_through_ops(d); }
void demo_watchdog(struct demo *d)
{
	spin_lock(&demo_lock);
	demo_recover(d);
	spin_unlock(&demo_lock);
}
void demo_watchdog_deeper(struct demo *d)
{
	spin_lock(&demo_lock);
	demo_recover_deeper(d);
	spin_unlock(&demo_lock);
}
void demo_watchdog_through_ops(struct demo *d)
{
	spin_lock(&demo_lock);
	demo_recover_through_ops(d);
	spin_unlock(&demo_lock);
}
""")
    found = findings(lib, driver)
    assert found == [("AS002", "drivers/demo/chip.c", 16)]  # demo_watchdog's call of demo_recover()
