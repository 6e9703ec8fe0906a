"""Bounds without a witness (lattice): a size the analysis cannot prove is still proven
to lie below a check, a mask or an unsigned type. The bound never becomes a finding (no
rule sees it), and it is dropped wherever it could be wrong: a difference that may wrap,
an operation it says nothing of."""

from __future__ import annotations

from allocscan.analyze import analyze, bounded_order
from allocscan.analyze.values.lattice import interval
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.pipeline import ScanOptions, run_scan

DRIVER = ("drivers/demo/rx.c", """
#define DEMO_MAX_SG 32
#define DEMO_LEN_MASK 0x1fff
struct demo_desc { unsigned int status; unsigned short len; unsigned char count; };

void *checked_length(size_t sg_len)
{
	if (sg_len > DEMO_MAX_SG)
		return NULL;
	return kmalloc_array(sg_len, 40, GFP_NOWAIT);
}

void *checked_but_large(size_t len)
{
	if (len > 65532)
		return NULL;
	return kmalloc(len, GFP_ATOMIC);
}

void *masked_status(void __iomem *base)
{
	unsigned int pkt_len = demo_hw_status(base) & DEMO_LEN_MASK;
	return kmalloc(pkt_len + 2, GFP_ATOMIC);
}

void *masked_in_a_typedef_cast(struct demo_desc *d)
{
	u16 size;

	size = (u16)((read_status(d) & 0x3fff0000) >> 16);
	return kmalloc(size + 2, GFP_ATOMIC);
}

void *masked_in_place(struct demo_desc *d)
{
	unsigned int totlen;
	totlen = read_status(d);
	totlen &= 0x3fff;
	return kmalloc(totlen + 2, GFP_ATOMIC);
}

void *narrow_count(struct demo_desc *d)
{
	u8 count = read_count(d);
	return kcalloc(count, 16, GFP_ATOMIC);
}

void *narrow_field(struct demo_desc *d)
{
	return kcalloc(d->count, 64, GFP_ATOMIC);
}

void *may_wrap(void __iomem *base)
{
	int len = (demo_hw_status(base) & 0xfff) - 4;
	return kmalloc(len + 2, GFP_ATOMIC);
}

void *negated(size_t n)
{
	if (n > 8)
		return NULL;
	return kmalloc(-n, GFP_ATOMIC);
}

void *rounded_up(u8 n)
{
	return kmalloc(roundup_pow_of_two(n) * 64, GFP_ATOMIC);
}

void *signed_count(short n)
{
	return kmalloc(n, GFP_ATOMIC);
}

static void *past_an_unseen_check(struct demo_priv *p, unsigned int len)
{
	if (len > demo_limit(p))
		return NULL;
	return kmalloc(len, GFP_ATOMIC);
}

static void *negative_past_an_unseen_check(struct demo_priv *p, int len)
{
	if (len > demo_limit(p))
		return NULL;
	return kmalloc(len + 8, GFP_ATOMIC);
}

void demo_callers(struct demo_priv *p)
{
	past_an_unseen_check(p, 512);
	past_an_unseen_check(p, 2048);
	negative_past_an_unseen_check(p, -4);
	negative_past_an_unseen_check(p, 100);
}
""")


def analysed():
    facts = [extract_file(DRIVER[0], DRIVER[1].encode())]
    kernel = builtin_kernel("6.1")
    analysis = analyze(link(facts), kernel)
    return analysis, kernel, {s.function.name: s for s in analysis.sites if s.allocator}


def test_checks_masks_and_unsigned_types_bound_an_unknown_size():
    analysis, kernel, sites = analysed()
    expected = {
        "checked_length": 32 * 40,
        "masked_status": 0x1fff + 2,
        "masked_in_place": 0x3fff + 2,
        "masked_in_a_typedef_cast": 0x3fff + 2,
        "narrow_count": 255 * 16,
        "narrow_field": 255 * 64,
        "rounded_up": 256 * 64,
        "checked_but_large": 65532,
        # checked against what the analysis cannot evaluate: what the callers pass still
        # bounds whatever passes the check, but no value is proven to get there
        "past_an_unseen_check": 2048,
    }
    for name, hi in expected.items():
        size = sites[name].size
        assert not size.known, name  # the bound proves no value is reached
        assert interval(size)[1] == hi, (name, size)
    assert bounded_order(sites["checked_length"], kernel) == -1  # a slab cache serves it
    assert bounded_order(sites["masked_in_place"], kernel) == 3
    assert bounded_order(sites["checked_but_large"], kernel) == 4


def test_no_bound_where_it_could_be_wrong():
    _, kernel, sites = analysed()
    # (x & 0xfff) - 4 may go below zero: a negative size is a huge one
    # -n of a small n is huge; a signed count may be negative
    # (and past a check we cannot read, a value that may be negative)
    for name in ("may_wrap", "negated", "signed_count", "negative_past_an_unseen_check"):
        assert interval(sites[name].size)[1] is None, (name, sites[name].size)
        assert bounded_order(sites[name], kernel) is None


def test_a_bound_is_never_reported(tmp_path):
    path = tmp_path / DRIVER[0]
    path.parent.mkdir(parents=True)
    path.write_text(DRIVER[1])
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1))
    assert result.analysis.sites  # the file was scanned
    # checked_but_large may request 64 KiB, but nothing proves a value reaches it
    assert not [f for f in result.findings if f.rule_id == "AS001"]


def test_a_clamp_of_an_unknown_length_bounds_it():
    facts = [extract_file("drivers/demo/clamp.c", b"""
#define DEMO_MAX_XFER 4096
void *clamped(size_t len)
{
	return kmalloc((len > DEMO_MAX_XFER) ? DEMO_MAX_XFER : len, GFP_ATOMIC);
}
""")]
    kernel = builtin_kernel("6.1")
    site = next(s for s in analyze(link(facts), kernel).sites if s.allocator)
    assert site.size.partial and site.size.hi == 4096  # the clamp's arm is reached
    assert interval(site.size) == (0, 4096)  # and the other arm is below it
    assert bounded_order(site, kernel) == -1


def test_a_parameter_incremented_in_place_is_what_was_passed_plus_one():
    """`if (!(len % 512)) len++;`: a USB driver adding a byte so that no transfer ends on a
    packet boundary turns a 32 KiB buffer into a 32 KiB + 1 kmalloc, order 4."""
    facts = [extract_file("drivers/demo/usb_tx.c", b"""
#define DEMO_TX_BUF_SIZE (32 * 1024)
static void *demo_alloc_tx(int len)
{
	if (!(len % 512))
		len++;
	return kmalloc(len, GFP_ATOMIC);
}
void *demo_start_tx(void) { return demo_alloc_tx(DEMO_TX_BUF_SIZE); }
""")]
    kernel = builtin_kernel("6.1")
    site = next(s for s in analyze(link(facts), kernel).sites if s.allocator)
    assert site.size.known and (site.size.lo, site.size.hi) == (32768, 32769)
    assert site.order_hi == 4


def test_a_helper_computing_a_size_from_its_parameters_is_read_for_each_call():
    """`demo_arr_size(capacity)` returns a sum of its parameter: what it returns for this
    call is what this caller passes (6 handles), not the join over every caller (one of
    which grows the array without a bound)."""
    facts = [extract_file("drivers/demo/handles.c", b"""
#define DEMO_HDR 16
#define DEMO_DEFAULT 6
struct demo_handle { unsigned int context; unsigned int resource; };
static size_t demo_arr_size(u32 capacity)
{
	return DEMO_HDR + capacity * sizeof(struct demo_handle);
}
void *demo_arr_create(u32 capacity)
{
	if (capacity == 0)
		capacity = DEMO_DEFAULT;
	return kmalloc(demo_arr_size(capacity), GFP_ATOMIC);
}
void *demo_arr_grow(void *old, u32 n)
{
	return krealloc(old, demo_arr_size(n * 2), GFP_ATOMIC);
}
void *demo_default(void) { return demo_arr_create(0); }
""")]
    site = next(s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.function.name == "demo_arr_create")
    assert site.size.known and not site.size.partial and site.size.hi == 16 + 6 * 8
    assert any("demo_arr_size() returns" in step.text for step in site.size.steps)


def test_a_helper_with_tests_returns_what_this_call_passes_and_a_u16_local_holds_16_bits():
    """demo_align_size() has its own tests: what it returns to this call is read with this
    call's argument, not with the 256 KiB another driver passes; and whatever it returns,
    a u16 local holds at most 65535."""
    facts = [extract_file("drivers/demo/sdio.c", b"""
unsigned int demo_align_size(unsigned int sz)
{
	if (sz <= 512)
		return sz;
	return (sz / 512) * 512 + 4;
}
void *demo_other_driver(void) { return vmalloc(demo_align_size(256 * 1024)); }
void *demo_small_tx(void)
{
	return kzalloc(demo_align_size(1500) + 16, GFP_ATOMIC);
}
void *demo_u16_tx(unsigned int nb)
{
	u16 size = demo_align_size(nb + 4);
	return kzalloc(size + 16, GFP_ATOMIC);
}
void *demo_u16_caller(void) { return demo_u16_tx(1 << 20); }
""")]
    sites = {s.function.name: s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator}
    small = sites["demo_small_tx"].size
    assert small.known and not small.partial and small.hi == 1024 + 4 + 16
    assert sites["demo_u16_tx"].size.hi == 65535 + 16


def test_what_an_assembly_primitive_returns_is_not_read_from_its_body():
    """x86's variable__ffs() returns the variable its asm() wrote: read from the `return`,
    __ffs(block_size) would be block_size itself, and a page order of a million."""
    facts = [extract_file("arch/x86/include/asm/demo_bitops.h", b"""
unsigned long demo_ffs(unsigned long word)
{
	asm("rep; bsf %1,%0" : "=r" (word) : "rm" (word));
	return word;
}
"""), extract_file("drivers/md/demo_bufio.c", b"""
#include <asm/demo_bitops.h>
void *demo_alloc_block(void) { return (void *)__get_free_pages(GFP_NOWAIT, demo_ffs(4096) - 9); }
""")]
    site = next(s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator)
    assert site.order_hi is None or site.order_hi <= 3


def test_min_of_an_unknown_and_a_range_is_a_bound_not_a_reached_value():
    """min(len, SZ_4K) states a bound the author expects len to reach; min(hdr, len), a
    header offset at most 65535 and a length we cannot read, proves only an upper bound."""
    facts = [extract_file("drivers/net/demo/headlen.c", b"""
static u16 demo_offset(int deep) { return deep ? 65535 : 14; }
void *demo_copy_head(unsigned int len, int deep)
{
	unsigned int hlen = min_t(u32, demo_offset(deep), len);
	return kmalloc(hlen, GFP_ATOMIC);
}
void *demo_clamped(struct demo_pkt *p) { return kmalloc(min(p->len, SZ_4K), GFP_ATOMIC); }
""")]
    sites = {s.function.name: s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator}
    head = sites["demo_copy_head"].size
    assert not head.known and interval(head)[1] == 65535
    assert sites["demo_clamped"].size.known and sites["demo_clamped"].size.hi == 4096


def test_a_helper_calling_a_helper_is_read_for_the_call_down_the_chain():
    """demo_total_size(8) returns demo_attr_size(8) aligned: each helper is read for the
    argument the one above passes, though other callers pass sizes we cannot read."""
    facts = [extract_file("drivers/demo/nl.c", b"""
#define DEMO_HDRLEN 4
static int demo_attr_size(int payload) { return DEMO_HDRLEN + payload; }
static int demo_total_size(int payload) { return ALIGN(demo_attr_size(payload), 4); }
int demo_other(struct demo_msg *m) { return demo_total_size(m->len) + demo_attr_size(m->extra); }
void *demo_stats(void)
{
	return kmalloc(demo_total_size(8) + demo_total_size(2) * 40, GFP_ATOMIC);
}
""")]
    site = next(s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.function.name == "demo_stats")
    assert site.size.known and not site.size.partial and site.size.hi == 12 + 8 * 40


def test_a_user_length_rounded_up_to_a_packet_stays_the_users():
    """round_up(len, maxpacket) with maxpacket read from a descriptor: at most one packet
    more than the user's len, and still the user's to push (alloc_ep_req's OUT arm)."""
    facts = [extract_file("drivers/usb/gadget/demo_ep.c", b"""
static unsigned short demo_buflen = 4096;
module_param(demo_buflen, ushort, 0644);
static size_t demo_align(struct demo_ep *ep, size_t len)
{
	int max_packet_size = ep->maxpacket & 0x7ff;
	return round_up(len, max_packet_size);
}
void *demo_alloc_req(struct demo_ep *ep) { return kmalloc(demo_align(ep, demo_buflen), GFP_ATOMIC); }
""")]
    site = next(s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator)
    assert site.size.sources and site.size.hi == 0xFFFF + 0x7ff - 1


def test_a_field_stored_just_before_the_read_holds_what_its_type_holds():
    """`req->length = len; kmalloc(req->length)`: a 16-bit member keeps 16 bits of what a
    module parameter of 32 bits sets."""
    facts = [extract_file("drivers/demo/req.c", b"""
static unsigned int demo_len = 512;
module_param(demo_len, uint, 0644);
struct demo_req { unsigned short length; void *buf; };
void demo_fill(struct demo_req *req)
{
	req->length = demo_len + 64;
	req->buf = kmalloc(req->length, GFP_ATOMIC);
}
""")]
    site = next(s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator)
    assert site.size.sources and site.size.hi == 0xFFFF


def test_what_reaches_a_point_no_proven_value_reaches_is_still_within_its_checks():
    """The driver's stores say the length is 32764, but the copy-break arm needs less than
    1518: what the stores prove does not get there (nothing is proven), yet whatever the
    device wrote and got there passed the check."""
    facts = [extract_file("drivers/net/demo/rhine.c", b"""
struct demo_rx { unsigned int status; };
void demo_init(struct demo_rx *d) { d->status = 0x7ffc0000; }
void *demo_rx(struct demo_rx *d)
{
	unsigned int pkt_len = d->status >> 16;
	if (pkt_len < 1518)
		return netdev_alloc_skb(NULL, pkt_len);
	return NULL;
}
""")]
    kernel = builtin_kernel("6.1")
    site = next(s for s in analyze(link(facts), kernel).sites if s.allocator)
    assert not site.size.known and site.size.why.startswith("unreached")
    assert interval(site.size)[1] is not None and interval(site.size)[1] < 1518 + 1024


def test_no_bound_from_a_check_a_negative_or_an_admin_setting_passes():
    """`int periods = buf_len / period_len; if (periods > 16) return NULL;` lets a negative
    count through (a huge size); `if (len <= copybreak)` with copybreak a module parameter
    the admin may raise bounds nothing at its default."""
    facts = [extract_file("drivers/dma/demo_cyclic.c", b"""
static int demo_copybreak = 256;
module_param(demo_copybreak, int, 0644);
void *demo_prep(size_t buf_len, size_t period_len)
{
	int periods = buf_len / period_len;
	if (periods > 16)
		return NULL;
	return kzalloc(periods * 48, GFP_NOWAIT);
}
void *demo_prep_checked(size_t buf_len, size_t period_len)
{
	int periods = buf_len / period_len;
	if (periods < 1 || periods > 16)
		return NULL;
	return kzalloc(periods * 48, GFP_NOWAIT);
}
void *demo_copy(unsigned int rx_bytes)
{
	if (rx_bytes <= demo_copybreak)
		return kmalloc(rx_bytes, GFP_ATOMIC);
	return NULL;
}
""")]
    sites = {s.function.name: s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator}
    assert interval(sites["demo_prep"].size)[1] is None
    assert interval(sites["demo_prep_checked"].size) == (48, 16 * 48)
    copy = sites["demo_copy"].size
    assert not copy.known and (interval(copy)[1] is None or interval(copy)[1] > 256)


def test_a_local_filled_through_its_address_and_a_pointer_read_after_its_store():
    """`get_sizes(dev, &txwi, &rxwi)` stores a constant through each pointer in every case:
    the locals hold those constants; `*len = 128; kmalloc(*len, ...)` reads what was just
    stored. A callee storing what it was not given a bound for keeps the local unknown; what a
    callee stores is read with its parameters bound to that call's arguments."""
    facts = [extract_file("drivers/demo/ring.c", b"""
#define TXWI_4WORDS 16
#define TXWI_5WORDS 20
void demo_get_sizes(int rt, unsigned short *txwi, unsigned short *rxwi)
{
	switch (rt) {
	case 5592:
		*txwi = TXWI_5WORDS;
		*rxwi = 24;
		break;
	default:
		*txwi = TXWI_4WORDS;
		*rxwi = 16;
	}
}
void demo_get_unknown(int rt, unsigned int *n) { *n = demo_read_reg(rt); }
void *filled(int rt)
{
	unsigned short txwi, rxwi;

	demo_get_sizes(rt, &txwi, &rxwi);
	return kmalloc_array(1024, txwi + rxwi, GFP_ATOMIC);
}
void *not_readable(int rt)
{
	unsigned int n;

	demo_get_unknown(rt, &n);
	return kmalloc(n, GFP_ATOMIC);
}
void demo_pages(unsigned long len, unsigned int *nr) { *nr = len / 4096; }
static unsigned long huge_len;
module_param(huge_len, ulong, 0644);
void *for_this_call(void)
{
	unsigned int nr;

	demo_pages(8192 * 4, &nr);
	return kmalloc_array(nr, 64, GFP_ATOMIC);
}
void *another_caller(void)
{
	unsigned int nr;

	demo_pages(huge_len, &nr);
	return kmalloc_array(nr, 8, GFP_KERNEL);
}
static void demo_count(struct demo_res *res, unsigned int *n_devices)
{
	struct demo_dev *dev;

	*n_devices = 0;
	demo_for_each_dev(res, dev)
		(*n_devices)++;
}
void *counted(struct demo_res *res)
{
	unsigned int n;

	demo_count(res, &n);
	return kmalloc_array(n, 48, GFP_ATOMIC);
}
void *stored_then_read(int *len)
{
	*len = 128;
	return kmalloc(*len, GFP_ATOMIC);
}
""")]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    sites = {s.function.name: s.size for s in analysis.sites if s.allocator}
    assert (sites["filled"].lo, sites["filled"].hi) == (1024 * 32, 1024 * 44)
    assert not sites["not_readable"].known
    assert (sites["stored_then_read"].lo, sites["stored_then_read"].hi) == (128, 128)
    # drbd's count_objects(): `*n = 0;` then `(*n)++` per object: not only what was stored
    assert not sites["counted"].known
    # what a filler stores is read for each call: another caller's module parameter is not ours
    assert (sites["for_this_call"].lo, sites["for_this_call"].hi) == (8 * 64, 8 * 64)
    assert sites["another_caller"].sources == frozenset({"module_param:huge_len"})


def test_a_local_set_once_then_added_to_at_most_once_each():
    """synproxy's options size: `size = 0;` then `size += K` under each option's test, no
    loop. At most the sum of every addition; an addition in a loop, or of something
    unknown, bounds nothing."""
    facts = [extract_file("net/demo/proxy.c", b"""
struct demo_opts { unsigned int options; };
static unsigned int demo_options_size(const struct demo_opts *opts)
{
	unsigned int size = 0;

	if (opts->options & 1)
		size += 4;
	if (opts->options & 2)
		size += 12;
	else if (opts->options & 4)
		size += 4;
	if (opts->options & 8)
		size += 4;
	return size;
}
void *demo_send(const struct demo_opts *opts)
{
	return kmalloc(20 + demo_options_size(opts), GFP_ATOMIC);
}
static unsigned int demo_looped(int n)
{
	unsigned int size = 0;
	int i;

	for (i = 0; i < n; i++)
		size += 4;
	return size;
}
void *demo_loop(int n)
{
	return kmalloc(demo_looped(n), GFP_ATOMIC);
}
""")]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    sites = {s.function.name: s.size for s in analysis.sites if s.allocator}
    assert (sites["demo_send"].lo, sites["demo_send"].hi) == (20, 20 + 24)
    assert not sites["demo_loop"].known or sites["demo_loop"].partial  # no maximum proven


def test_a_difference_that_may_go_below_zero_proves_its_maximum_and_no_bound():
    """`(status & 0x7ff) - 4` of a length that may be 2 is -2: a negative size is a huge
    one, and a u16 holding it wraps to 65534 (hamachi's pkt_len). The maximum is still
    proven (AS001 reads it as "at least"); nothing bounds it."""
    facts = [extract_file("drivers/net/demo/rx.c", b"""
static void *demo_rx_int(unsigned int status)
{
	int pkt_len = ((status >> 16) & 0x7ff) - 4;
	return kmalloc(pkt_len + 2, GFP_ATOMIC);
}
static void *demo_rx_u16(unsigned int status)
{
	u16 pkt_len = ((status >> 16) & 0x7ff) - 4;
	return kmalloc(pkt_len + 2, GFP_ATOMIC);
}
static void *demo_rx_checked(unsigned int status)
{
	int pkt_len = ((status >> 16) & 0x7ff);
	if (pkt_len < 4)
		return NULL;
	return kmalloc(pkt_len - 4 + 2, GFP_ATOMIC);
}
void demo_poll(void)
{
	demo_rx_int(0x00020000);
	demo_rx_int(0x01000000);
	demo_rx_u16(0x00020000);
	demo_rx_u16(0x01000000);
	demo_rx_checked(0x00020000);
	demo_rx_checked(0x01000000);
}
""")]
    kernel = builtin_kernel("6.1")
    analysis = analyze(link(facts), kernel)
    sites = {s.function.name: s for s in analysis.sites if s.allocator}
    signed = sites["demo_rx_int"].size
    assert signed.known and signed.partial and signed.hi == 0x100 - 4 + 2
    assert interval(signed)[1] is None and bounded_order(sites["demo_rx_int"], kernel) is None
    assert interval(sites["demo_rx_u16"].size)[1] == 0xFFFF + 2  # the u16 wraps: a bound, no longer 254
    checked = sites["demo_rx_checked"].size
    assert checked.known and not checked.partial and checked.hi == 0x100 - 4 + 2  # the check keeps it >= 0
