"""AS001 on requests that fail without a log line: a silent failure is still a failure.
A note when the author wrote __GFP_NOWARN or the allocator adds it (an skb head);
the full level when the silence is only the bit the tree's own GFP_NOWAIT carries."""

from __future__ import annotations

from types import SimpleNamespace

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import by_id

OPTIONS = SimpleNamespace(min_order=4)


def _as001(source: str, version: str = "6.1"):
    analysis = analyze(link([extract_file("drivers/demo/demo.c", source.encode())]), builtin_kernel(version))
    return sorted(by_id()["AS001"].check(analysis, OPTIONS), key=lambda f: f.line)


URB_RX = """
#define DEMO_AGG_LEN	(18 * 1024)

static void demo_rx_complete(struct urb *urb)
{
	struct demo *d = urb->context;

	d->skb = netdev_alloc_skb(d->net, DEMO_AGG_LEN);
	d->big = netdev_alloc_skb(d->net, 40 * 1024);
	d->small = netdev_alloc_skb(d->net, 1536);
}

static void demo_start(struct demo *d)
{
	usb_fill_bulk_urb(d->urb, d->udev, d->pipe, d->buf, 4096, demo_rx_complete, d);
	usb_submit_urb(d->urb, GFP_KERNEL);
}
"""


def test_a_large_skb_head_in_a_urb_completion_is_a_note_with_size_and_order():
    """__alloc_skb() tries the head with __GFP_NOWARN: a 40 KiB skb (order 4 with the
    pad and skb_shared_info) fails silently and the frame is dropped. 18 KiB is order 3,
    and 1536 bytes is no page-allocator request at all."""
    findings = _as001(URB_RX)
    assert [(f.line, f.level) for f in findings] == [(9, "note")]
    (f,) = findings
    assert f.properties["sizeRange"] == [40 * 1024 + 64 + 320] * 2
    assert f.properties["maxOrder"] == 4
    assert "fails silently" in f.message and "urb-complete" in f.message


NOWARN = """
#define DEMO_TRY_GFP	(GFP_ATOMIC | __GFP_NOWARN)

static void demo_timer(struct timer_list *t)
{
	struct demo *d = from_timer(d, t, timer);

	d->a = kmalloc(65536, GFP_ATOMIC | __GFP_NOWARN);
	d->b = kmalloc(65536, DEMO_TRY_GFP);
	d->c = dev_alloc_pages(4);
	d->d = kmalloc(65536, GFP_ATOMIC);
}

static void demo_arm(struct demo *d)
{
	timer_setup(&d->timer, demo_timer, 0);
}
"""


def test_a_request_the_author_or_the_allocator_made_silent_is_a_note():
    """Written out, through the driver's own #define, or added by dev_alloc_pages():
    a note, not dropped; the plain GFP_ATOMIC beside them keeps its level."""
    levels = [(f.line, f.level) for f in _as001(NOWARN)]
    assert levels == [(8, "note"), (9, "note"), (10, "note"), (11, "error")]


NOWAIT = """
struct demo_ring {
	char slots[8192];
};

int demo_grow(struct demo *d)
{
	d->rings = kzalloc(sizeof(struct demo_ring) * 8, GFP_NOWAIT);
	d->quiet = kzalloc(sizeof(struct demo_ring) * 8, GFP_NOWAIT | __GFP_NOWARN);
	return 0;
}
"""


def test_gfp_nowait_keeps_its_level_where_the_kernel_makes_it_silent():
    """6.12's GFP_NOWAIT is __GFP_KSWAPD_RECLAIM | __GFP_NOWARN: that bit is not the
    author's fallback. The 64 KiB kzalloc is reported as on 6.1, saying it is silent;
    the one the author wrote __GFP_NOWARN on is a note on both."""
    on_61 = _as001(NOWAIT, "6.1")
    on_612 = _as001(NOWAIT, "6.12")
    assert [(f.line, f.level) for f in on_61] == [(8, "error"), (9, "note")]
    assert [(f.line, f.level) for f in on_612] == [(8, "error"), (9, "note")]
    assert "silent" not in on_61[0].message
    assert "GFP_NOWAIT includes __GFP_NOWARN on 6.12" in on_612[0].message
    assert on_612[0].properties["maxOrder"] == 4 and on_612[0].properties["sizeRange"] == [65536, 65536]


WIDE = """
static unsigned int demo_mtu = 1500;
module_param(demo_mtu, uint, 0444);

struct demo { struct net_device *net; unsigned int buf_sz; unsigned char order; void *skb, *pages; };

static void demo_set_bufsize(struct demo *d)
{
	d->buf_sz = demo_mtu + 22;
	d->order = demo_mtu / 4096;
}

static void demo_refill(struct demo *d)
{
	d->skb = netdev_alloc_skb(d->net, d->buf_sz + 16);
	d->pages = alloc_pages(GFP_ATOMIC, d->order);
}
"""


def test_sizes_as_the_allocator_carries_them():
    """A module parameter of 32 bits plus the driver's padding and the skb's overheads is
    no more than the 4 GiB - 1 that `__netdev_alloc_skb(dev, unsigned int len)` adds them
    in (it wraps), and an order held in a u8 is said as an order, not as 2^255 pages."""
    findings = _as001(WIDE)
    skb, pages = findings
    assert skb.properties["sizeRange"][1] == 0xFFFFFFFF
    assert "size up to 4294967295 bytes (about 4.0 GiB); above 4 MiB 'netdev_alloc_skb' refuses every request" \
        in skb.message
    assert "up to order 255, past the largest order (10)" in pages.message


def test_an_unbounded_module_parameter_is_named_as_one_and_keeps_its_level():
    """tsi721's shape: a load-time parameter sizes a GFP_ATOMIC table with no bound. The
    message says the administrator's parameter controls it; the level stays a warning
    (a high order the administrator asks for fails later, under fragmentation)."""
    (f,) = _as001("""
static unsigned int demo_ring = 128;
module_param(demo_ring, uint, 0);

static void demo_refill(struct demo *d)
{
	d->ring = kcalloc(demo_ring, 64, GFP_ATOMIC);
}
""")
    assert "size unbounded (module-parameter-controlled)" in f.message and f.level == "warning"


FALLBACKS = """
static void *demo_try_big(size_t *n, gfp_t gfp)
{
	void *res;

	might_sleep();
	res = (void *)__get_free_pages(gfp | __GFP_NOWARN | __GFP_NORETRY, 6);
	if (res)
		return res;
	*n = 1;
	res = (void *)__get_free_page(gfp);
	return res;
}

static struct demo_buf *demo_sort_buffer(struct demo_pool *pool)
{
	struct demo_buf *out = (void *)__get_free_pages(__GFP_NOWARN | GFP_NOWAIT, 5);

	if (!out) {
		struct page *page = mempool_alloc(&pool->pages, GFP_NOIO);

		out = page_address(page);
	}
	return out;
}

static struct page *demo_chunk(struct demo_pool *pool, gfp_t gfp)
{
	struct page *pages;
	unsigned int order = 6;

	while (order > 0) {
		pages = alloc_pages(GFP_NOWAIT | __GFP_NOWARN | __GFP_COMP, order);
		if (likely(pages != NULL))
			goto have_pages;
		order--;
	}
	pages = mempool_alloc(&pool->pages, gfp);
have_pages:
	return pages;
}

static void *demo_quiet_no_fallback(void)
{
	void *res = (void *)__get_free_pages(GFP_ATOMIC | __GFP_NOWARN, 5);

	if (!res)
		return ERR_PTR(-ENOMEM);
	res = kmemdup(res, 16, GFP_ATOMIC);
	return res;
}

static void *demo_loud_fallback(void)
{
	void *res = (void *)__get_free_pages(GFP_ATOMIC, 5);

	if (!res)
		res = (void *)__get_free_page(GFP_ATOMIC);
	return res;
}

static void *demo_reset_on_failure(void)
{
	void *res = (void *)__get_free_pages(GFP_ATOMIC | __GFP_NOWARN, 5);

	if (!res) {
		res = ERR_PTR(-ENOMEM);
		return res;
	}
	return res;
}

static void demo_refill(struct demo_ring *q, int n, gfp_t gfp)
{
	struct page *pg;

	gfp |= __GFP_NOWARN;
	while (n) {
		pg = alloc_pages_node(0, gfp | __GFP_COMP, 5);
		if (unlikely(!pg)) {
			q->large_failed++;
			break;
		}
		demo_post(q, pg);
		n--;
	}
	while (n--) {
		pg = alloc_pages_node(0, gfp, 0);
		if (unlikely(!pg))
			break;
		demo_post(q, pg);
	}
}

static void demo_refill_large_only(struct demo_ring *q, int n, gfp_t gfp)
{
	struct page *pg;

	gfp |= __GFP_NOWARN;
	while (n--) {
		pg = alloc_pages_node(0, gfp | __GFP_COMP, 5);
		if (unlikely(!pg))
			break;
		demo_post(q, pg);
	}
	pg = demo_spare(q);
	demo_post(q, pg);
}

static void demo_caller(struct demo *d)
{
	size_t n;

	d->xlt = demo_try_big(&n, GFP_ATOMIC);
	demo_refill(d->ring, 8, GFP_ATOMIC);
	demo_refill_large_only(d->ring, 8, GFP_ATOMIC);
}
"""


def test_a_quiet_first_try_with_a_fallback_is_not_reported():
    """`if (res) return res;` then a smaller order, `if (!out)` then a mempool, and a
    loop that steps the order down and `goto`s past the mempool on success: the failure
    of the quiet try is the design. Without a fallback (the later store is reached only
    on success, or stores an error), or without __GFP_NOWARN (each fallback prints the
    failure), it is reported."""
    lines = [(f.function, f.line) for f in _as001(FALLBACKS)]
    assert lines == [("demo_quiet_no_fallback", 45), ("demo_loud_fallback", 55),
                     ("demo_reset_on_failure", 64), ("demo_refill_large_only", 101)]


DECLARED = """
#define DEMO_HINT_GFP	(__GFP_NORETRY | __GFP_NOWARN | __GFP_NOMEMALLOC)

static int demo_hint_one(struct demo *d)
{
	struct page *page = alloc_pages(DEMO_HINT_GFP, 10);

	if (!page)
		return -EINTR;
	demo_report(d, page);
	return 0;
}

static void demo_irq_work(struct irq_work *w)
{
	struct demo *d = container_of(w, struct demo, work);

	d->huge = alloc_pages(__GFP_HIGHMEM | __GFP_NOWARN | __GFP_NOMEMALLOC, 9);
	d->retry = kmalloc(262144, GFP_ATOMIC | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	d->quiet = kmalloc(262144, GFP_ATOMIC | __GFP_NOWARN);
	d->loud = kmalloc(262144, GFP_ATOMIC | __GFP_NORETRY);
}

static void demo_arm(struct demo *d)
{
	init_irq_work(&d->work, demo_irq_work);
}
"""


def test_a_quiet_request_its_author_declared_failable_is_not_reported():
    """__GFP_NOWARN together with __GFP_NORETRY, __GFP_RETRY_MAYFAIL or
    __GFP_NOMEMALLOC: the author expects NULL (a balloon taking free blocks until
    one is refused). __GFP_NOWARN alone stays a note; __GFP_NORETRY without
    __GFP_NOWARN prints each failure and keeps its level."""
    found = [(f.function, f.line, f.level) for f in _as001(DECLARED)]
    assert found == [("demo_irq_work", 20, "note"), ("demo_irq_work", 21, "error")]


def test_what_a_function_does_to_its_gfp_parameter_reaches_its_calls():
    """`gfp |= __GFP_NOWARN;` before the call: the caller's GFP_ATOMIC arrives quiet (a
    note, and the message names the author's __GFP_NOWARN); `&= ~__GFP_DIRECT_RECLAIM`
    turns a caller's GFP_KERNEL into a mask that cannot sleep. A parameter assigned
    before the call is that mask (`gfp = GFP_ATOMIC;`), or, assigned in an arm, one
    alternative beside the caller's (a note: the mask depends on the path)."""
    findings = _as001("""
static void *demo_quiet(gfp_t gfp)
{
	gfp |= __GFP_NOWARN;
	return kmalloc(65536, gfp);
}

static void *demo_no_reclaim(gfp_t gfp)
{
	gfp &= ~__GFP_DIRECT_RECLAIM;
	return kmalloc(65536, gfp);
}

static void *demo_overwritten(gfp_t gfp)
{
	gfp |= __GFP_NOWARN;
	gfp = GFP_ATOMIC;
	return kmalloc(65536, gfp);
}

static void *demo_maybe(struct demo *d, gfp_t gfp)
{
	if (d->in_irq)
		gfp = GFP_ATOMIC;
	return kmalloc(65536, gfp);
}

static void demo_caller(struct demo *d)
{
	d->a = demo_quiet(GFP_ATOMIC);
	d->b = demo_no_reclaim(GFP_KERNEL);
	d->c = demo_overwritten(GFP_KERNEL);
	d->d = demo_maybe(d, GFP_KERNEL);
}
""")
    assert [(f.function, f.level) for f in findings] == [("demo_quiet", "note"), ("demo_no_reclaim", "error"),
                                                         ("demo_overwritten", "error"), ("demo_maybe", "note")]
    assert "__GFP_NOWARN" in findings[0].message
