"""AS003 reports what a user decides: where a user's value and a device's meet, the
chain that reaches the maximum says whose it is."""

from __future__ import annotations

from types import SimpleNamespace

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import by_id

OPTIONS = SimpleNamespace(min_order=4)

RING = """
struct demo_desc { __le32 max_in; };
struct demo_priv { u32 urb_size; };
static unsigned int rx_max = 2048;
module_param(rx_max, uint, 0644);

static void demo_set_user(struct demo_priv *priv)
{
	priv->urb_size = USER_PART;
}

static void demo_set_device(struct demo_priv *priv, struct demo_desc *desc)
{
	priv->urb_size = le32_to_cpu(desc->max_in);
}

static void *demo_rx_buf(struct demo_priv *priv)
{
	return kmalloc(priv->urb_size, GFP_KERNEL);
}
"""


def _as003(user_part: str):
    source = RING.replace("USER_PART", user_part)
    analysis = analyze(link([extract_file("drivers/net/demo/ring.c", source.encode())]), builtin_kernel("6.1"))
    return by_id()["AS003"].check(analysis, OPTIONS)


def test_a_bounded_user_value_beside_a_larger_device_value_is_not_the_users():
    # The user's part stops at 64 KiB; only the device's 32-bit field makes it large.
    assert _as003("min_t(u32, rx_max, 65536)") == []


def test_an_unbounded_user_value_beside_a_device_value_is_reported():
    (finding,) = _as003("rx_max * 1024")
    assert finding.properties["userControlled"] == ["module_param:rx_max"]


TABLES = """
static unsigned int nr_pages = 16;
module_param(nr_pages, uint, 0644);

int demo_alloc(struct demo *d)
{
	d->pages = kcalloc(nr_pages, sizeof(struct page *), GFP_KERNEL);
	if (!d->pages)
		return -ENOMEM;
	d->addrs = kcalloc(nr_pages, sizeof(dma_addr_t), GFP_KERNEL);
	if (!d->addrs)
		return -ENOMEM;
	d->stats = kcalloc(nr_pages, 64, GFP_KERNEL);
	return d->stats ? 0 : -ENOMEM;
}

int demo_branch(struct demo *d, int fast)
{
	if (fast) {
		d->pages = kcalloc(nr_pages, sizeof(struct page *), GFP_KERNEL);
		if (!d->pages)
			return -ENOMEM;
	}
	d->addrs = kmalloc(nr_pages * sizeof(dma_addr_t), GFP_KERNEL);
	return 0;
}

int demo_together(struct demo *d)
{
	d->pages = kcalloc(nr_pages, sizeof(struct page *), GFP_KERNEL);
	d->addrs = kcalloc(nr_pages, sizeof(dma_addr_t), GFP_KERNEL);
	if (!d->pages || !d->addrs)
		return -ENOMEM;
	return 0;
}
"""


def test_an_earlier_allocation_of_the_same_count_bounds_a_later_one():
    """`pages` must have succeeded for `addrs` to be reached: n <= 4 MiB / 8 there, and an
    8-byte table of n fits too. A 64-byte one does not; nor does a table after an
    allocation made only in one branch, or one made before the first is checked."""
    analysis = analyze(link([extract_file("drivers/misc/demo/tables.c", TABLES.encode())]), builtin_kernel("6.1"))
    found = by_id()["AS003"].check(analysis, OPTIONS)
    # each function's allocations of nr_pages are one finding, the later ones named in it
    assert sorted(f.line for f in found) == [7, 20, 30]
    also = [int(place.rpartition(":")[2]) for f in found for place in f.properties.get("alsoSizes", ())]
    assert sorted(also) == [13, 24, 31]


CLAMPED_AFTER_STORE = """
#define CTRL_MAX_WIDE	4096
#define CTRL_MAX_NARROW	1024

static unsigned int max_entries = 256;
module_param(max_entries, uint, 0444);

struct ctrl { int wide; int err; unsigned int max; void *tbl; };

static void ctrl_init(struct ctrl *c)
{
	unsigned int n = max_entries;

	c->max = n;
	CLAMP
}

static int ctrl_alloc(struct ctrl *c)
{
	c->tbl = kcalloc(c->max, 512, GFP_KERNEL);
	return 0;
}
"""


def _clamped(clamp: str) -> list:
    source = CLAMPED_AFTER_STORE.replace("CLAMP", clamp)
    analysis = analyze(link([extract_file("drivers/scsi/ctrl.c", source.encode())]), builtin_kernel("6.1"))
    return [f.line for f in by_id()["AS003"].check(analysis, OPTIONS)]


def test_a_store_clamped_afterwards_on_every_path_holds_the_clamp():
    # ipr's shape: the module parameter stored, then clamped to a bound in each arm
    assert _clamped("if (c->wide) {\n\t\tif (n > CTRL_MAX_WIDE)\n\t\t\tc->max = CTRL_MAX_WIDE;\n"
                    "\t} else {\n\t\tif (n > CTRL_MAX_NARROW)\n\t\t\tc->max = CTRL_MAX_NARROW;\n\t}") == []
    assert _clamped("if (n >= CTRL_MAX_WIDE)\n\t\tc->max = CTRL_MAX_WIDE - 1;") == []
    assert _clamped("if (c->max > CTRL_MAX_WIDE)\n\t\tc->max = CTRL_MAX_WIDE;") == []
    # p54's shape: a local limit, and a conjunct of constants that always holds
    assert _clamped("unsigned int lim = CTRL_MAX_NARROW + 16;\n\tif (c->max > lim && PAGE_SIZE == 4096)\n"
                    "\t\tc->max = lim;") == []


def test_a_clamp_some_path_skips_leaves_the_store_as_it_was():
    # in one arm only
    assert _clamped("if (c->wide) {\n\t\tif (n > CTRL_MAX_WIDE)\n\t\t\tc->max = CTRL_MAX_WIDE;\n\t}") != []
    # after an early return
    assert _clamped("if (c->err)\n\t\treturn;\n\tif (n > CTRL_MAX_WIDE)\n\t\tc->max = CTRL_MAX_WIDE;") != []
    # a clamp that checks another value than the one stored
    assert _clamped("n = c->err;\n\tif (n > CTRL_MAX_WIDE)\n\t\tc->max = CTRL_MAX_WIDE;") != []
    assert _clamped("if (c->err > CTRL_MAX_WIDE)\n\t\tc->max = CTRL_MAX_WIDE;") != []
    # a conjunct of constants that never holds: the clamp never runs
    assert _clamped("if (n > CTRL_MAX_WIDE && PAGE_SIZE == 65536)\n\t\tc->max = CTRL_MAX_WIDE;") != []
    # a "clamp" that stores something unbounded
    assert _clamped("if (n > CTRL_MAX_WIDE)\n\t\tc->max = max_entries * 2;") != []


EARLIER_ALLOCATION = """
static unsigned int nr_slots = 64;
module_param(nr_slots, uint, 0444);

struct profile { void *slots; void *table; unsigned int bits; };

static int profile_init(struct profile *p)
{
	unsigned int n = nr_slots, table_size;

	p->slots = kvcalloc(n, 56, GFP_KERNEL);
	CHECK
	table_size = roundup_pow_of_two(n);
	p->table = kvmalloc_array(table_size, 8, GFP_KERNEL);
	if (!p->table)
		goto err;
	return 0;
err:
	kvfree(p->slots);
	return -ENOMEM;
}
"""


def _after_earlier_allocation(check: str) -> list[int]:
    source = EARLIER_ALLOCATION.replace("CHECK", check)
    analysis = analyze(link([extract_file("block/profile.c", source.encode())]), builtin_kernel("6.1"))
    return [f.line for f in by_id()["AS003"].check(analysis, OPTIONS)]


def test_a_value_an_earlier_allocation_took_is_bounded_by_its_success():
    # blk-crypto's shape: n * 56 <= INT_MAX, or kvcalloc() failed and the function left;
    # the table of roundup_pow_of_two(n) pointers is then at most 2^26 * 8 bytes
    first = EARLIER_ALLOCATION.splitlines().index("\tp->slots = kvcalloc(n, 56, GFP_KERNEL);") + 1
    assert _after_earlier_allocation("if (!p->slots)\n\t\treturn -ENOMEM;") == [first]
    # not checked: the second allocation is attempted whatever the first got
    assert len(_after_earlier_allocation("")) == 2
    # checked, but the function goes on either way
    assert len(_after_earlier_allocation("if (!p->slots)\n\t\tpr_warn(\"no slots\");")) == 2


def test_a_flexible_array_allocation_bounds_its_count():
    # dm-crypt's shape: the key lives in the context's flexible array; a later buffer of
    # the key's size is no larger than the context that had to be allocated first
    source = """
static unsigned int key_len = 32;
module_param(key_len, uint, 0444);

struct ctx { unsigned int key_size; void *copy; u8 key[]; };

static struct ctx *ctx_new(void)
{
	struct ctx *cc;
	unsigned int n = key_len;

	cc = kzalloc(struct_size(cc, key, n), GFP_KERNEL);
	if (!cc)
		return NULL;
	cc->key_size = n;
	return cc;
}

static int ctx_copy(struct ctx *cc)
{
	cc->copy = kmalloc(cc->key_size + 8, GFP_KERNEL);
	return cc->copy ? 0 : -ENOMEM;
}
"""
    analysis = analyze(link([extract_file("drivers/md/ctx.c", source.encode())]), builtin_kernel("6.1"))
    reported = [f.function for f in by_id()["AS003"].check(analysis, OPTIONS)]
    assert reported == ["ctx_new"]


def test_a_small_count_an_earlier_allocation_took_is_bounded_by_its_success():
    """ibmvfc's shape: a u16 depth (at most 65535, needing no checking function to be
    bounded) times an 800-byte event is above 4 MiB; but the events table had to be
    allocated for the function to reach the DMA area, so depth <= 4 MiB / 800 there,
    and 600-byte units of it fit (3 MiB)."""
    source = """
static u16 qdepth = 128;
module_param(qdepth, ushort, 0444);

struct evt { char body[800]; };
struct unit { char body[600]; };
struct pool { u32 size; struct evt *events; struct unit *units; };

static int pool_init(struct device *dev, struct pool *pool)
{
	pool->size = qdepth;
	pool->events = kcalloc(pool->size, sizeof(*pool->events), GFP_KERNEL);
	if (!pool->events)
		return -ENOMEM;
	pool->units = kmalloc_array(pool->size, sizeof(*pool->units), GFP_KERNEL);
	return pool->units ? 0 : -ENOMEM;
}
"""
    analysis = analyze(link([extract_file("drivers/scsi/pool.c", source.encode())]), builtin_kernel("6.1"))
    reported = [f.line for f in by_id()["AS003"].check(analysis, OPTIONS)]
    assert reported == [12]  # the events table only


def test_an_skb_allocator_fails_silently_and_is_a_note():
    """An unchecked length a sysfs store takes sizes an skb. Above the 4 MiB kmalloc
    maximum the skb head's first attempt (__GFP_NOWARN) gives a silent NULL, a dropped
    packet: a note that says so. The same size in a kmalloc() WARNs: a warning."""
    source = """
static ssize_t demo_len_store(struct device *d, struct device_attribute *attr, const char *buf, size_t count)
{
	unsigned int len;

	if (kstrtouint(buf, 0, &len))
		return -EINVAL;
	kfree(ALLOC);
	return count;
}
static DEVICE_ATTR_WO(demo_len);
"""
    def findings(alloc):
        facts = [extract_file("drivers/net/demo/rx.c", source.replace("ALLOC", alloc).encode())]
        return by_id()["AS003"].check(analyze(link(facts), builtin_kernel("6.1")), SimpleNamespace(min_order=4))

    skb = findings("dev_alloc_skb(len + 64)")
    assert [f.level for f in skb] == ["note"] and "fails silently" in skb[0].message
    assert [f.level for f in findings("kmalloc(len + 64, GFP_ATOMIC)")] == ["warning"]


def test_a_size_only_a_module_parameter_sets_is_a_note():
    """hostap's shape: an unchecked `mtu` module parameter sizes a buffer. Only the
    administrator sets it, at load: a note (the clamp is still the fix). The same
    parameter beside a length an ioctl copies from any caller is a warning."""
    source = """
static int mtu = 1500;
module_param(mtu, int, 0444);
struct demo_req { unsigned int len; };
void *demo_rx(struct net_device *dev) { return kmalloc(mtu + 64, GFP_KERNEL); }
long demo_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct demo_req req;

	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	kfree(kmalloc(req.len + mtu, GFP_KERNEL));
	return 0;
}
"""
    facts = [extract_file("drivers/net/demo/rx.c", source.encode())]
    found = by_id()["AS003"].check(analyze(link(facts), builtin_kernel("6.1")), SimpleNamespace(min_order=4))
    assert [(f.function, f.level) for f in sorted(found, key=lambda f: f.line)] == \
        [("demo_rx", "note"), ("demo_ioctl", "warning")]


BROKER = """
#define DEMO_QP_LOCAL 0x2

struct demo_alloc_info { u64 produce_size; u32 flags; };

static int demo_broker_create(u32 flags, u64 produce_size)
{
	bool is_local = flags & DEMO_QP_LOCAL;
	void *pages;

	if (is_local) {
		pages = kcalloc(produce_size, PAGE_SIZE, GFP_KERNEL);
		if (!pages)
			return -ENOMEM;
	}
	return 0;
}

static int demo_broker_alloc(u32 flags, u64 produce_size)
{
	bool is_local = flags & DEMO_QP_LOCAL;

	if (REJECT || !produce_size)
		return -EINVAL;
	return demo_broker_create(flags, produce_size);
}

static long demo_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct demo_alloc_info info;

	if (copy_from_user(&info, (void __user *)arg, sizeof(info)))
		return -EFAULT;
	return demo_broker_alloc(info.flags, info.produce_size);
}
"""


def _broker(reject: str):
    source = BROKER.replace("REJECT", reject)
    analysis = analyze(link([extract_file("drivers/misc/demo/broker.c", source.encode())]), builtin_kernel("6.1"))
    return by_id()["AS003"].check(analysis, OPTIONS), analysis.stats


def test_an_arm_the_callers_rule_out_is_not_reached_by_the_users_value():
    """The broker refuses a local queue pair before it creates one, and only a local pair's
    pages are allocated: the user's size never reaches that kcalloc()."""
    found, stats = _broker("is_local")
    assert found == []
    assert stats["value_paths_dropped"] == 1


def test_an_arm_the_callers_let_through_is_reported():
    found, stats = _broker("(flags & 0x80)")
    (finding,) = found
    assert finding.properties["userControlled"] == ["ioctl:demo_ioctl"]
    assert stats["value_paths_checked"] == 1 and stats.get("value_paths_dropped", 0) == 0


GRANTS = """
struct demo_map_op { u32 count; };
struct demo_map { void *grants; void *ops; void *pages; };
static unsigned int bufsiz = 4096;
module_param(bufsiz, uint, 0444);

static struct demo_map *demo_alloc_map(int count)
{
	struct demo_map *map = kzalloc(sizeof(*map), GFP_KERNEL);

	if (!map)
		return NULL;
	map->grants = kvmalloc_array(count, 16, GFP_KERNEL);
	map->ops = kvmalloc_array(count, 64, GFP_KERNEL);
	map->pages = kvcalloc(count, 8, GFP_KERNEL);
	return map;
}

static long demo_ioctl_map(void __user *u)
{
	struct demo_map_op op;

	if (copy_from_user(&op, u, sizeof(op)))
		return -EFAULT;
	return demo_alloc_map(op.count) ? 0 : -ENOMEM;
}

static int demo_open(void **tx, void **rx)
{
	*tx = kmalloc(bufsiz, GFP_KERNEL);
	if (!*tx)
		return -ENOMEM;
	*rx = kmalloc(bufsiz, GFP_KERNEL);
	return *rx ? 0 : -ENOMEM;
}

static void *demo_refill(void)
{
	return kmalloc(bufsiz, GFP_KERNEL);
}
"""


def test_allocations_a_function_sizes_with_the_same_user_value_are_one_finding():
    """gntdev's five arrays of one user `count`, spidev's tx and rx buffers of one
    `bufsiz`: one finding per function, the others named in it. Another function
    sizing a buffer with the same value is a finding of its own."""
    analysis = analyze(link([extract_file("drivers/demo/grants.c", GRANTS.encode())]), builtin_kernel("6.1"))
    found = {f.line: f for f in by_id()["AS003"].check(analysis, OPTIONS)}
    assert sorted(found) == [13, 30, 39]
    assert found[13].properties["alsoSizes"] == ["drivers/demo/grants.c:14", "drivers/demo/grants.c:15"]
    assert [(r.line, r.callee) for r in found[13].related] == [(14, "kvmalloc_array"), (15, "kvcalloc")]
    assert "also sizes 'kvcalloc' at line 15" in found[13].message
    assert found[30].properties["alsoSizes"] == ["drivers/demo/grants.c:33"]
    assert "alsoSizes" not in found[39].properties


def test_two_fields_of_one_user_copy_are_two_values():
    """dasd_symm_io() copies one struct from the user and sizes two buffers with two of
    its fields: two values, two findings."""
    source = """
struct demo_parm { u32 in_len; u32 out_len; };
static long demo_symm_io(void __user *u, void **in, void **out)
{
	struct demo_parm parm;

	if (copy_from_user(&parm, u, sizeof(parm)))
		return -EFAULT;
	*in = kzalloc(parm.in_len, GFP_KERNEL);
	*out = kzalloc(parm.out_len, GFP_KERNEL);
	return 0;
}
"""
    analysis = analyze(link([extract_file("drivers/demo/symm.c", source.encode())]), builtin_kernel("6.1"))
    found = by_id()["AS003"].check(analysis, OPTIONS)
    assert sorted(f.line for f in found) == [9, 10]
    assert not any("alsoSizes" in f.properties for f in found)


PREDICATE_CHECK = """
static unsigned int grant_limit = 65536;
module_param(grant_limit, uint, 0644);

struct map_op { unsigned int count; unsigned int flags; };
struct grant { u64 ref; u64 addr; u64 handle; u64 flags; };

PREDICATE

static struct grant *grants_alloc(int count)
{
	return kvmalloc_array(count, sizeof(struct grant), GFP_KERNEL);
}

static long grants_ioctl(void __user *u)
{
	struct map_op op;
	struct grant *g;

	if (copy_from_user(&op, u, sizeof(op)) != 0)
		return -EFAULT;
	CHECK
	g = grants_alloc(op.count);
	if (!g)
		return -ENOMEM;
	kvfree(g);
	return 0;
}
"""


def _predicate_checked(predicate: str, check: str) -> list[str]:
    source = PREDICATE_CHECK.replace("PREDICATE", predicate).replace("CHECK", check)
    analysis = analyze(link([extract_file("drivers/xen/grants.c", source.encode())]), builtin_kernel("6.1"))
    return [f.function for f in by_id()["AS003"].check(analysis, OPTIONS)]


def test_a_predicate_the_caller_leaves_on_bounds_its_argument():
    """gntdev's shape: `if (unlikely(too_many(op.count))) return -EINVAL;` with
    `bool too_many(unsigned int count) { return !count || count > limit; }`. Past the
    check the count is at most the limit (a module parameter in a check: its default),
    2 MiB of grants, below what kvmalloc_array() can return. A predicate whose answer
    the caller leaves on the other way (`if (!fits(n))`) bounds it too; one the caller
    does not leave on, or one testing something else, does not."""
    too_many = "static bool too_many(unsigned int count)\n{\n\treturn !count || count > grant_limit;\n}"
    fits = "static bool fits(unsigned int count)\n{\n\treturn count <= grant_limit;\n}"
    assert _predicate_checked(too_many, "if (unlikely(too_many(op.count)))\n\t\treturn -EINVAL;") == []
    assert _predicate_checked(fits, "if (!fits(op.count))\n\t\treturn -EINVAL;") == []
    assert _predicate_checked(too_many, "if (too_many(op.count))\n\t\tpr_warn(\"many\\n\");") == ["grants_alloc"]
    assert _predicate_checked(fits, "if (fits(op.count))\n\t\treturn -EINVAL;") == ["grants_alloc"]
    other = "static bool too_many(unsigned int count)\n{\n\treturn !count || op_flags > grant_limit;\n}"
    assert _predicate_checked(other, "if (too_many(op.count))\n\t\treturn -EINVAL;") == ["grants_alloc"]
    assert _predicate_checked(too_many, "") == ["grants_alloc"]


def test_a_maximum_reached_through_the_drivers_stores_of_a_device_value_is_not_the_users():
    """bnxt's ring arrays: the user's ethtool count is checked against maxima the firmware
    reports, and the chain to the largest count runs through the driver's own stores of
    those maxima, with no user source at its start. A size a device's values feed is the
    user's only when the chain to its maximum starts at the user's source."""
    from allocscan.analyze.values.lattice import Value
    from allocscan.analyze.witness import FLOW, SOURCE, Step
    from allocscan.rules.as003_unbounded_allocation_size import _maximum_from_device

    store = Step(FLOW, "demo_reserve() stores p->hw_rings into demo_priv.rings", "drivers/net/demo/rings.c", 12)
    user = Step(SOURCE, "ethtool set_channels: ch->combined_count is the user's", "drivers/net/demo/rings.c", 20,
                source="ethtool:demo_set_channels")
    both = frozenset({"ethtool:demo_set_channels", "device:demo_resp.alloc_rings"})
    assert _maximum_from_device(Value(0, 1 << 28, both, (store,), True))
    assert not _maximum_from_device(Value(0, 1 << 28, both, (store, user), True))
    assert not _maximum_from_device(Value(0, 1 << 28, frozenset({"ethtool:demo_set_channels"}), (store,), True))


WRITE_HANDLERS = """
static ssize_t demo_cmd_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char *kbuf = kmalloc(count + 1, GFP_KERNEL);

	if (!kbuf || copy_from_user(kbuf, ubuf, count))
		return -EFAULT;
	return demo_parse(kbuf, count);
}
static ssize_t demo_reg_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char *kbuf;

	if (count > PAGE_SIZE)
		return -EINVAL;
	kbuf = kzalloc(count + 1, GFP_KERNEL);
	return kbuf ? demo_parse(kbuf, count) : -ENOMEM;
}
static ssize_t demo_dump_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char *kbuf = memdup_user(ubuf, count);

	return IS_ERR(kbuf) ? PTR_ERR(kbuf) : demo_parse(kbuf, count);
}
static ssize_t demo_log_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	void *tmp = kvmalloc(count, GFP_KERNEL);

	return tmp ? demo_copy(ubuf, tmp, count) : -ENOMEM;
}
static ssize_t demo_tx_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	struct sk_buff *skb = alloc_skb(count + 64, GFP_KERNEL);

	return skb ? demo_send(skb, ubuf, count) : -ENOMEM;
}
static ssize_t demo_trace_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char *kbuf;

	if (count + 1 > PAGE_SIZE)
		count = PAGE_SIZE - 1;
	kbuf = kmalloc(count + 1, GFP_KERNEL);
	return kbuf ? demo_parse(kbuf, count) : -ENOMEM;
}
static ssize_t demo_ctl_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char *kbuf = memdup_user_nul(ubuf, count);

	return IS_ERR(kbuf) ? PTR_ERR(kbuf) : demo_parse(kbuf, count);
}
static const struct file_operations demo_fops = {
	.write = demo_cmd_write,
	.read = demo_log_read,
};
static const struct file_operations demo_ctl_fops = {
	.write = demo_ctl_write,
};
static const struct file_operations demo_tx_fops = {
	.write = demo_tx_write,
};
static const struct file_operations demo_trace_fops = {
	.write = demo_trace_write,
};
static const struct file_operations demo_reg_fops = {
	.write = demo_reg_write,
};
static const struct proc_ops demo_proc_ops = {
	.proc_write = demo_dump_write,
};
"""


def test_the_count_a_process_passes_to_write_sizes_what_the_handler_allocates():
    """vfs_write() hands a file's write() the count the process passed, cut only to
    MAX_RW_COUNT (about 2 GiB): an unchecked kmalloc(count + 1) WARNs above 4 MiB. A
    check of the count bounds it (memdup_user_nul(), a GFP_KERNEL kmalloc of count + 1, does
    not: it WARNs as kmalloc does), and so does a clamp of the parameter (`if (count + 1 >
    PAGE_SIZE) count = PAGE_SIZE - 1;`); memdup_user() is quiet (__GFP_NOWARN) and
    kvmalloc() serves up to INT_MAX; an skb sized by the count fails quietly, that write's
    own -ENOMEM: none of these is reported."""
    facts = [extract_file("drivers/misc/demo_dbg.c", WRITE_HANDLERS.encode())]
    findings = by_id()["AS003"].check(analyze(link(facts), builtin_kernel("6.1")), OPTIONS)
    assert [(f.function, f.level) for f in findings] == [("demo_cmd_write", "warning"), ("demo_ctl_write", "warning")]
    assert "write:demo_cmd_write" in findings[0].message and "2147479553" in findings[0].message
