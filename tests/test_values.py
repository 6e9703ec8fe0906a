"""Value analysis: intervals for size expressions, with sources and guards."""

from __future__ import annotations

from allocscan.analyze import analyze
from allocscan.analyze.values.lattice import interval
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link


def sizes(*files: tuple[str, str]) -> dict[str, object]:
    """Size Value of every allocation, keyed by the function holding it."""
    facts = [extract_file(path, text.encode()) for path, text in files]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    return {s.function.name: s.size for s in analysis.sites if s.allocator}


HEADER = ("drv/demo.h", """
#define DEMO_RING	128
#define DEMO_SLOT(n)	((n) * 2 + 1)
enum demo_sizes { SMALL = 16, MEDIUM, LARGE = SZ_64K };
struct demo_hdr { u8 type; u32 len; u16 flags; };
struct demo_pkt { struct demo_hdr hdr; u8 data[DEMO_RING]; };
struct demo_flex { u32 count; u64 items[]; };
union demo_u { u8 b[3]; u32 w; };
""")


def test_constants_macros_enums_sizeof():
    v = sizes(HEADER, ("drv/a.c", """
void *f1(void) { return kmalloc(sizeof(struct demo_hdr), GFP_KERNEL); }
void *f2(void) { return kmalloc(sizeof(struct demo_pkt) * DEMO_RING, GFP_KERNEL); }
void *f3(void) { return kmalloc(LARGE + MEDIUM, GFP_KERNEL); }
void *f4(void) { return kmalloc(DEMO_SLOT(8) << PAGE_SHIFT, GFP_KERNEL); }
void *f5(struct demo_flex *p) { return kmalloc(struct_size(p, items, 10), GFP_KERNEL); }
void *f6(void) { return kmalloc(sizeof(union demo_u) + ALIGN(100, 64), GFP_KERNEL); }
void *f7(void) { return kmalloc(max_t(size_t, 2048, min(BIT(20), SZ_4K)), GFP_KERNEL); }
"""))
    assert (v["f1"].lo, v["f1"].hi) == (12, 12)
    assert (v["f2"].lo, v["f2"].hi) == (140 * 128, 140 * 128)
    assert v["f3"].hi == 65536 + 17
    assert v["f4"].hi == 17 << 12
    assert v["f5"].hi == 8 + 80
    assert v["f6"].hi == 4 + 128
    assert v["f7"].hi == 4096


def test_parameters_join_call_sites_and_guards_narrow():
    v = sizes(("drv/b.c", """
static void *get(size_t len) { return kmalloc(len, GFP_ATOMIC); }
void a(void) { get(100); }
void b(void) { get(SZ_1M); }
int c(u32 __user *up) {
	u32 n;
	if (get_user(n, up))
		return -EFAULT;
	if (n > 512 || !n)
		return -EINVAL;
	return kcalloc(n, 8, GFP_KERNEL) != NULL;
}
"""))
    assert (v["get"].lo, v["get"].hi) == (100, 1 << 20)
    assert (v["c"].lo, v["c"].hi) == (8, 4096)
    assert v["c"].sources  # still user-controlled, but bounded


def test_an_assertion_that_stops_the_kernel_bounds_what_follows():
    """`BUG_ON(idx >= ARRAY_SIZE(chips));` is a guard: after it idx < 5, as after an
    `if` that returns (pinctrl-at91's gpio alias index); WARN_ON() goes on, and bounds
    nothing; a BUG_ON() inside a condition is no statement of its own."""
    v = sizes(("drv/c.c", """
static void *chips[5];
static int banks;
void probe_one(const char *s)
{
	int idx;
	if (kstrtoint(s, 10, &idx) || idx < 0)
		return;
	BUG_ON(idx >= ARRAY_SIZE(chips));
	banks = max(banks, idx + 1);
}
void *probe(void) { return kcalloc(banks * 32, 24, GFP_KERNEL); }
void *warned(const char *s)
{
	int n;
	if (kstrtoint(s, 10, &n) || n < 0)
		return NULL;
	WARN_ON(n > 8);
	return kcalloc(n, 24, GFP_KERNEL);
}
"""))
    assert v["probe"].hi == 5 * 32 * 24
    assert v["warned"].hi > 1 << 30


def test_unknown_is_not_big():
    v = sizes(("drv/c.c", "void *f(struct x *p) { return kmalloc(p->len, GFP_ATOMIC); }"))
    assert not v["f"].known


def test_a_joined_value_keeps_the_sources_that_can_make_it_large():
    """Two sources joined: one at most a page (a user's setting the core caps at 1500)
    and one that goes far beyond it (a descriptor field). The large value is the
    device's: the capped user setting is not named among its sources. Two sources that
    both go past a page are both named."""
    from allocscan.analyze.values.lattice import Value, join
    user = Value(0, 1500, frozenset({"netlink:demo"}), (), True)
    wide_user = Value(0, 65535, frozenset({"sysfs:demo"}), (), True)
    device = Value(0, None, frozenset({"device:demo.wLength"}), (), True)
    assert join(user, device).sources == {"device:demo.wLength"}
    assert join(device, user).sources == {"device:demo.wLength"}
    assert join(wide_user, device).sources == {"sysfs:demo", "device:demo.wLength"}
    constant = Value(9000, 9000, frozenset(), (), True)
    assert join(user, constant).sources == {"netlink:demo"}  # nothing else to name


def test_a_user_value_joined_with_an_unknown_keeps_the_users_bound():
    """`len` is the user's up to 65535, or something else we cannot see: the user reaches
    65535, and the unknown alternative is not "unbounded user input"."""
    v = sizes(("drv/a.c", """
struct demo { u32 depth; };
static void *f(struct demo *d, u16 n, int other)
{
    u32 len = n;
    if (other)
        len = d->depth + other;
    return kmalloc(len, GFP_KERNEL);
}
ssize_t store(struct device *dev, struct device_attribute *attr, const char *buf, size_t count)
{
    u16 n;
    if (kstrtou16(buf, 0, &n)) return -EINVAL;
    return (ssize_t)f(dev_get_drvdata(dev), n, count);
}
void *g(struct demo *d, unsigned int a, unsigned int b)
{
    return kmalloc(a - b, GFP_KERNEL);
}
"""))
    assert (v["f"].hi, v["f"].sources) == (0xFFFF, frozenset({"sysfs:store"}))
    assert not v["f"].partial
    assert not v["g"].sources  # an unsigned wrap-around is not the user's doing


def test_the_census_does_not_take_a_users_reach_for_a_bound(monkeypatch):
    """The recall census asks for an upper bound: the user's 65535 joined with an unknown
    alternative is what the user reaches, not a maximum (lattice.UPPER_BOUNDS_ONLY)."""
    from allocscan.analyze.values import lattice
    from allocscan.analyze.values.lattice import Value, join, unknown

    user = Value(0, 0xFFFF, frozenset({"sysfs:store"}), (), True)
    assert join(user, unknown("field-hub")) == user
    monkeypatch.setattr(lattice, "UPPER_BOUNDS_ONLY", True)
    joined = join(user, unknown("field-hub"))
    assert joined.partial and joined.hi == 0xFFFF and joined.sources == user.sources


def test_checks_against_bounds_we_cannot_see_make_the_value_unknown():
    v = sizes(("drv/a.c", """
struct demo { u32 fw_size; };
ssize_t dbg_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
    struct demo *d = file->private_data;
    u32 off, len;
    if (sscanf(ubuf, "%x,%x", &off, &len) != 2) return -EINVAL;
    if (off + len > d->fw_size) return -EINVAL;
    return (ssize_t)kzalloc(len, GFP_KERNEL);
}
ssize_t dbg_write2(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
    u32 off, len;
    if (sscanf(ubuf, "%x,%x", &off, &len) != 2) return -EINVAL;
    if (off + len > SZ_64K) return -EINVAL;
    return (ssize_t)kzalloc(len, GFP_KERNEL);
}
"""))
    assert not v["dbg_write"].sources or v["dbg_write"].hi is not None
    assert v["dbg_write2"].hi == 65536 and v["dbg_write2"].sources


def test_a_typed_user_value_checked_against_an_unseen_bound_is_unknown():
    # a u32 netlink attribute checked against max_mpdu_len(phy): not "up to 4 GiB"
    v = sizes(("drivers/net/demo/tm.c", """
int demo_cmd(struct demo_phy *phy, struct nlattr **tb)
{
    struct demo_td *td = &phy->td;
    if (tb[A_LEN]) {
        u32 val = nla_get_u32(tb[A_LEN]);
        if (val > demo_max_mpdu_len(phy, td->mode) || val < 24)
            goto out;
        td->tx_len = val;
    }
out:
    return 0;
}
int demo_raw(struct demo_phy *phy, struct nlattr **tb)
{
    struct demo_td *td = &phy->td;
    td->raw_len = nla_get_u32(tb[A_RAW]);
    return 0;
}
void demo_tx(struct demo_phy *phy)
{
    struct demo_td *td = &phy->td;
    phy->buf = kmalloc(td->tx_len, GFP_KERNEL);
}
void demo_tx_raw(struct demo_phy *phy)
{
    struct demo_td *td = &phy->td;
    phy->buf = kmalloc(td->raw_len, GFP_KERNEL);
}
"""))
    assert not v["demo_tx"].known
    assert v["demo_tx_raw"].hi == 0xFFFFFFFF and v["demo_tx_raw"].sources


def test_a_store_inside_a_range_check_is_bounded_by_it():
    v = sizes(("drv/a.c", """
struct demo { u32 queues; };
static int demo_queues_init(struct demo *d, u32 val)
{
    if (val >= 1 && val <= 64) {
        d->queues = val;
        return 0;
    }
    d->queues = 8;
    return -EINVAL;
}
ssize_t queues_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t count)
{
    struct demo *d = dev_get_drvdata(dev);
    u32 val;
    if (kstrtou32(buf, 0, &val)) return -EINVAL;
    return demo_queues_init(d, val);
}
void *alloc_queues(struct demo *d) { return kcalloc(d->queues, 4096, GFP_KERNEL); }
"""))
    assert v["alloc_queues"].hi == 64 * 4096


def test_a_module_parameter_checked_at_init_is_bounded_everywhere():
    v = sizes(("drv/a.c", """
static unsigned int max_data = 4096;
module_param(max_data, uint, 0444);
static int __init demo_init(void)
{
    if (max_data < 4 || max_data > 0x10000)
        return -EINVAL;
    return 0;
}
void *msg_alloc(void) { return kmalloc(max_data, GFP_KERNEL); }
"""))
    assert v["msg_alloc"].hi == 0x10000 and v["msg_alloc"].sources


def test_only_a_check_at_init_bounds_a_module_parameter_everywhere():
    """A test of the parameter in another function bounds nothing elsewhere: scsi_debug's
    `if (ret != (num - rest) * sdebug_sector_size)` in its I/O path is no validation
    of the sector size, which its init function checks case by case."""
    v = sizes(("drv/sd.c", """
static int sector_size = 512;
module_param_named(sector_size, sector_size, int, 0444);
static int demo_copy(int ret, int num)
{
	if (ret != num * sector_size)
		return -EIO;
	return 0;
}
void *demo_scat(u8 *cmd)
{
	u16 blocks = get_unaligned_be16(cmd + 4);
	u32 lb_size = sector_size;
	return kzalloc(blocks * lb_size, GFP_ATOMIC);
}
"""))
    assert v["demo_scat"].hi is None or v["demo_scat"].hi > 1 << 20
    assert "module_param:sector_size" in v["demo_scat"].sources


def test_a_switch_whose_default_leaves_bounds_the_value_by_its_labels():
    """scsi_debug checks its sector_size parameter at init with a switch over 512..4096
    whose default returns -EINVAL: after it, the parameter is at most 4096 everywhere.
    A default that goes on (break) bounds nothing."""
    source = """
static int sector_size = 512;
module_param_named(sector_size, sector_size, int, 0444);
static int __init demo_init(void)
{
	switch (sector_size) {
	case  512:
	case 1024:
	case 4096:
		break;
	default:
		pr_err("invalid sector_size %d\\n", sector_size);
		LEAVE;
	}
	return 0;
}
void *demo_scat(u8 *cmd)
{
	u16 blocks = get_unaligned_be16(cmd + 4);
	u32 lb_size = sector_size;
	return kzalloc(blocks * lb_size, GFP_ATOMIC);
}
"""
    v = sizes(("drv/sd.c", source.replace("LEAVE", "return -EINVAL")))
    assert v["demo_scat"].hi == 65535 * 4096
    v = sizes(("drv/sd.c", source.replace("LEAVE", "break")))
    assert v["demo_scat"].hi is None or v["demo_scat"].hi > 1 << 32


def test_a_module_parameter_whose_check_reads_itself_again_is_taken_unvalidated():
    """demo_read() clamps `len` to max_len. Validating max_len reads that check, which
    evaluates `len`, whose own checks read max_len again: this recursed until
    RecursionError and the allocation was skipped (hsi_char's max_data_size)."""
    v = sizes(("drv/demo_char.c", """
static unsigned int max_len = 0x1000;
module_param(max_len, uint, 0);

struct demo_chan {
	spinlock_t lock;
	struct list_head free;
	unsigned int ch;
};

static void demo_add_tail(struct demo_chan *chan, struct demo_msg *msg, struct list_head *queue)
{
	unsigned long flags;

	spin_lock_irqsave(&chan->lock, flags);
	list_add_tail(&msg->link, queue);
	spin_unlock_irqrestore(&chan->lock, flags);
}

static struct demo_msg *demo_msg_alloc(unsigned int size)
{
	struct demo_msg *msg;
	void *buf;

	msg = demo_alloc_msg(1, GFP_KERNEL);
	if (!msg)
		return NULL;
	buf = kmalloc(size, GFP_KERNEL);
	if (!buf)
		return NULL;
	sg_init_one(msg->sgt.sgl, buf, size);
	return msg;
}

static int demo_msgs_alloc(struct demo_chan *chan)
{
	struct demo_msg *msg;
	int i;

	for (i = 0; i < 4; i++) {
		msg = demo_msg_alloc(max_len);
		if (!msg)
			return -ENOMEM;
		demo_add_tail(chan, msg, &chan->free);
	}
	return 0;
}

static unsigned int demo_msg_len(struct demo_msg *msg)
{
	return msg->sgt.sgl->length;
}

static ssize_t demo_read(struct file *file, char __user *buf, size_t len, loff_t *ppos)
{
	struct demo_chan *chan = file->private_data;
	struct demo_msg *msg;
	ssize_t ret;

	if (len == 0)
		return 0;
	if (!IS_ALIGNED(len, sizeof(u32)))
		return -EINVAL;
	if (len > max_len)
		len = max_len;
	msg = demo_first(chan);
	if (!msg)
		return -ENOSPC;
	msg->sgt.sgl->length = len;
	ret = copy_to_user(buf, sg_virt(msg->sgt.sgl), demo_msg_len(msg));
	if (ret)
		ret = -EFAULT;
	else
		ret = demo_msg_len(msg);
	demo_add_tail(chan, msg, &chan->free);
	return ret;
}
"""))
    assert v["demo_msg_alloc"].sources == frozenset({"module_param:max_len"})
    assert v["demo_msg_alloc"].hi is None  # nothing in the file bounds it


def test_user_copies_are_bounded_by_their_destination_type_and_policy():
    v = sizes(("net/demo/nl.c", """
static const struct nla_policy demo_policy[] = {
    [DEMO_A_LEN] = NLA_POLICY_RANGE(NLA_U32, 1, 128),
    [DEMO_A_RAW] = { .type = NLA_U32 },
};
long demo_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    u16 n;
    if (get_user(n, (u16 __user *)arg)) return -EFAULT;
    return (long)kzalloc(n * 2 + 1, GFP_KERNEL);
}
int demo_get(struct sk_buff *skb, struct genl_info *info)
{
    u32 len = nla_get_u32(info->attrs[DEMO_A_LEN]);
    return (long)kmalloc(len, GFP_KERNEL);
}
int demo_raw(struct sk_buff *skb, struct genl_info *info)
{
    u32 len = nla_get_u32(info->attrs[DEMO_A_RAW]);
    return (long)kmalloc(len, GFP_KERNEL);
}
"""))
    assert v["demo_ioctl"].hi == 0xFFFF * 2 + 1 and v["demo_ioctl"].sources
    assert v["demo_get"].hi == 128
    assert v["demo_raw"].hi == 0xFFFFFFFF and v["demo_raw"].sources


def test_an_attribute_read_through_a_local_is_named_and_bounded_by_its_policy():
    """`a = attrs[ATTR]; if (a) len = nla_get_u16(a);`: the getter's argument is a local
    holding the attribute. The source names the attribute it last took (not `netlink:a`),
    and that attribute's policy bounds the value as it would written inline."""
    v = sizes(("net/demo/nl.c", """
static const struct nla_policy demo_policy[] = {
    [DEMO_A_LEN] = NLA_POLICY_RANGE(NLA_U16, 1, 512),
    [DEMO_A_RAW] = { .type = NLA_U16 },
};
int demo_set(struct sk_buff *skb, struct genl_info *info)
{
    struct nlattr *a;
    u16 len = 64;

    a = info->attrs[DEMO_A_LEN];
    if (a)
        len = nla_get_u16(a);
    return (long)kmalloc(len, GFP_KERNEL);
}
int demo_raw(struct sk_buff *skb, struct nlattr **attrs)
{
    struct nlattr *a;
    u16 len = 64;

    a = attrs[DEMO_A_LEN];
    a = attrs[DEMO_A_RAW];
    if (a)
        len = nla_get_u16(a);
    return (long)kmalloc(len, GFP_KERNEL);
}
"""))
    assert v["demo_set"].hi == 512 and not v["demo_set"].sources
    assert v["demo_raw"].hi == 0xFFFF
    assert v["demo_raw"].sources == {"netlink:attrs[DEMO_A_RAW]"}


def test_a_users_size_plus_a_bounded_unknown_header_room_reaches_the_users_maximum():
    """`cur_pkt_size + 64 + LL_RESERVED_SPACE(dev)`: the device's header room is unknown
    (fields drivers set), but two u16 fields rounded up are small and never negative.
    The user's size still reaches its maximum plus the room's least value; an addend
    with no bound, or one that may be negative, still hides it."""
    v = sizes(("include/linux/netdevice.h", """
struct net_device { unsigned short hard_header_len; unsigned short needed_headroom; int delta; long room; };
#define HH_DATA_MOD 16
#define LL_RESERVED_SPACE(dev) ((((dev)->hard_header_len + (dev)->needed_headroom) & ~(HH_DATA_MOD - 1)) + HH_DATA_MOD)
"""), ("net/core/gen.c", """
struct gen_dev { int cur_pkt_size; };
static ssize_t gen_write(struct file *file, const char __user *buf, size_t count, loff_t *off)
{
	struct gen_dev *g = file->private_data;
	unsigned long value;

	if (kstrtoul_from_user(buf, count, 10, &value))
		return -EINVAL;
	g->cur_pkt_size = value;
	return count;
}
static const struct proc_ops gen_ops = { .proc_write = gen_write };
static void *gen_alloc(struct net_device *dev, struct gen_dev *g)
{
	unsigned int extralen = LL_RESERVED_SPACE(dev);
	unsigned int size = g->cur_pkt_size + 64 + extralen;

	return kmalloc(size, GFP_NOWAIT);
}
static void *gen_signed(struct net_device *dev, struct gen_dev *g)
{
	return kmalloc(g->cur_pkt_size + dev->delta, GFP_ATOMIC);
}
static void *gen_wide(struct net_device *dev, struct gen_dev *g)
{
	return kmalloc(g->cur_pkt_size + dev->room, GFP_ATOMIC);
}
"""))
    assert v["gen_alloc"].known and v["gen_alloc"].sources == {"write:gen_write"}
    assert v["gen_alloc"].hi == 0x7FFFFFFF + 64 + 16  # the room is at least HH_DATA_MOD
    assert not v["gen_signed"].known and not v["gen_wide"].known


def test_a_store_checked_right_after_and_shrinking_updates():
    v = sizes(("net/demo/sch.c", """
struct demo_q { u32 flows; u32 len; };
static int demo_change(struct demo_q *q, struct nlattr **tb)
{
    q->flows = nla_get_u32(tb[DEMO_FLOWS]);
    if (!q->flows || q->flows > 65536)
        return -EINVAL;
    q->len -= nla_get_u32(tb[DEMO_LEN]);
    return 0;
}
static int demo_init(struct demo_q *q) { return (long)kvcalloc(q->flows, sizeof(u32), GFP_KERNEL); }
static int demo_len(struct demo_q *q) { return (long)kmalloc(q->len, GFP_KERNEL); }
"""))
    assert v["demo_init"].hi == 65536 * 4
    assert not v["demo_len"].sources


def test_an_accumulated_field_is_unbounded_unless_checked_right_after():
    v = sizes(("kernel/demo/hist.c", """
static unsigned int demo_step = 64;
module_param(demo_step, uint, 0644);
struct demo_hist { u32 key_size; u32 val_size; u32 total; };
static int demo_add_key(struct demo_hist *h, const char *s)
{
    u32 size;
    if (kstrtou32(s, 10, &size)) return -EINVAL;
    h->key_size += size;
    if (h->key_size > DEMO_KEY_MAX) return -EINVAL;
    h->val_size += size;
    h->total += demo_step;
    return 0;
}
static void *demo_key(struct demo_hist *h) { return kzalloc(h->key_size, GFP_KERNEL); }
static void *demo_val(struct demo_hist *h) { return kzalloc(h->val_size, GFP_KERNEL); }
static void *demo_total(struct demo_hist *h) { return kzalloc(h->total, GFP_KERNEL); }
"""), ("kernel/demo/hist.h", "#define DEMO_KEY_MAX 256\n"))
    assert v["demo_key"].hi == 256 and v["demo_key"].sources
    # adding a bounded user value over and over: unbounded, but not by the user's choice of value
    assert not v["demo_val"].sources
    # adding an unbounded user value: the user's, as far as the u32 field holds
    assert v["demo_total"].hi == 0xFFFFFFFF and v["demo_total"].sources


def test_a_parameter_with_a_set_callback_is_not_taken_raw():
    v = sizes(("drv/a.c", """
static unsigned int chunk = 4096;
static int chunk_set(const char *val, const struct kernel_param *kp) { return param_set_uint(val, kp); }
static const struct kernel_param_ops chunk_ops = { .set = chunk_set, .get = param_get_uint };
module_param_cb(max_chunk, &chunk_ops, &chunk, 0644);
static unsigned int raw = 4096;
module_param(raw, uint, 0644);
void *a(void) { return kmalloc(chunk, GFP_KERNEL); }
void *b(void) { return kmalloc(raw, GFP_KERNEL); }
"""))
    assert not v["a"].sources
    assert v["b"].sources == frozenset({"module_param:raw"})


def test_a_store_that_only_lowers_a_field_adds_no_source():
    """`if (max && p->size > max) p->size = max;` clamps: the user's max never raises it."""
    v = sizes(("drv/a.c", """
static unsigned long max_size;
module_param(max_size, ulong, 0644);
struct peer { u64 size; };
static void setup(struct peer *p, u64 hw)
{
	p->size = hw;
	if (max_size && p->size > max_size)
		p->size = max_size;
}
void *alloc_buf(struct peer *p) { return kmalloc(p->size, GFP_KERNEL); }
"""))
    assert not v["alloc_buf"].sources


def test_descriptor_fields_are_as_wide_as_their_usb_name_says():
    v = sizes(("drivers/hid/demo.c", """
static void demo_desc(struct hid_descriptor *desc)
{
    demo_copy = kmemdup(desc, desc->bLength, GFP_ATOMIC);
}
static void demo_config(struct usb_config_descriptor *cfg)
{
    demo_raw = kmalloc(le16_to_cpu(cfg->wTotalLength), GFP_KERNEL);
}
"""))
    assert v["demo_desc"].hi == 0xFF and v["demo_desc"].sources  # a `b` field is one byte
    assert v["demo_config"].hi == 0xFFFF and v["demo_config"].sources


def test_a_read_right_after_a_store_in_the_same_block_sees_that_store():
    v = sizes(("drivers/ptp/demo.c", """
struct demo_clock { u32 max_vclocks; int *index; };
static ssize_t max_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t count)
{
    struct demo_clock *c = dev_get_drvdata(dev);
    u32 max;
    if (kstrtou32(buf, 0, &max))
        return -EINVAL;
    c->max_vclocks = max;
    return count;
}
int demo_register(struct demo_clock *c, bool virt)
{
    size_t size;
    if (!virt) {
        c->max_vclocks = 20;
        size = sizeof(int) * c->max_vclocks;
        c->index = kzalloc(size, GFP_KERNEL);
    }
    return 0;
}
int demo_resize(struct demo_clock *c)
{
    c->index = kcalloc(c->max_vclocks, sizeof(int), GFP_KERNEL);
    return 0;
}
"""))
    assert v["demo_register"].hi == 80 and not v["demo_register"].sources
    assert v["demo_resize"].sources  # elsewhere, every store still counts


LOCAL_OBJECTS = ("drivers/s390/demo.c", """
static unsigned int cachesize = 2097152;
module_param(cachesize, uint, 0444);
struct demo_cmd { size_t len; int id; struct demo_hdr hdr; };
static int demo_parse(char *c, struct demo_cmd *cmd) { cmd->id = 1; return 0; }
static int demo_grow(struct demo_cmd *cmd) { cmd->len = cachesize; return 0; }
static void demo_cache_init(void)
{
    struct demo_cmd copy;
    copy.len = cachesize;
    demo_send(&copy);
}
int demo_run(char *c)
{
    struct demo_cmd cmd = { .len = 4096 };
    if (demo_parse(c, &cmd))
        return -EINVAL;
    return !__get_free_pages(GFP_KERNEL, get_order(cmd.len));
}
int demo_zeroed(void)
{
    struct demo_cmd cmd = { .id = 2 };
    demo_fill_hdr(&cmd.hdr);
    return !kmalloc(cmd.len + 64, GFP_KERNEL);
}
int demo_grown(void)
{
    struct demo_cmd cmd = { .len = 4096 };
    demo_grow(&cmd);
    return !kmalloc(cmd.len, GFP_KERNEL);
}
int demo_then_grown(void)
{
    struct demo_cmd cmd = { .len = 4096 };
    void *buf = kmalloc(cmd.len, GFP_KERNEL);

    demo_grow(&cmd);
    return !buf;
}
int demo_copied(const void *from)
{
    struct demo_cmd cmd = { .len = 4096 };
    memcpy(&cmd, from, sizeof(cmd));
    return !kmalloc(cmd.len, GFP_KERNEL);
}
""")


def test_a_local_objects_member_holds_what_the_function_puts_there():
    """`struct demo_cmd cmd = { .len = 4096 };`: its len is the initializer's (or 0 where
    the initializer leaves it out), not the module parameter another function stores
    into its own copy, as long as its address goes only to callees that take a
    `struct demo_cmd *` and store no len (demo_parse()) or to another member, or
    after the read. A callee that stores len before it, or a copy into it (memcpy() is
    not a recorded call), leaves the member to every store of the tree."""
    v = sizes(LOCAL_OBJECTS)
    assert (v["demo_run"].lo, v["demo_run"].hi, v["demo_run"].sources) == (4096, 4096, frozenset())
    assert (v["demo_zeroed"].lo, v["demo_zeroed"].hi) == (64, 64)
    assert v["demo_grown"].sources == {"module_param:cachesize"}
    assert (v["demo_then_grown"].hi, v["demo_then_grown"].sources) == (4096, frozenset())
    assert v["demo_copied"].sources == {"module_param:cachesize"}


def test_a_local_objects_member_with_several_stores_holds_any_of_them():
    """The initializer and two stores in arms of an `if`: three values joined (this
    raised a TypeError and the site was skipped, six sites a tree at stop 65)."""
    v = sizes(("drivers/demo/three.c", """
struct demo_req { size_t len; int mode; };
int demo_pick(int mode)
{
    struct demo_req req = { .len = 512 };
    if (mode == 1)
        req.len = 2048;
    else if (mode == 2)
        req.len = 8192;
    return !kmalloc(req.len, GFP_KERNEL);
}
"""))
    assert (v["demo_pick"].lo, v["demo_pick"].hi) == (512, 8192)


def test_a_clamp_that_tests_its_own_assignment_bounds_the_local():
    """usblp's write loop: `if ((len = count - done) > DEMO_BUF) len = DEMO_BUF;` stores
    the user's remainder and clamps it in one test; the chunk handed on is at most
    DEMO_BUF. Without the clamp the chunk is the user's count."""
    v = sizes(("drivers/usb/demo_lp.c", """
#define DEMO_BUF 8192
static void *demo_chunk(int len) { return kmalloc(len, GFP_KERNEL); }
static void *demo_chunk_raw(int len) { return kmalloc(len, GFP_KERNEL); }
static ssize_t demo_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
    size_t done = 0;
    int len;
    while (done < count) {
        if ((len = count - done) > DEMO_BUF)
            len = DEMO_BUF;
        if (!demo_chunk(len))
            return -ENOMEM;
        done += len;
    }
    return count;
}
static ssize_t demo_write_raw(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
    int len;
    if ((len = count) == 0)
        return 0;
    return demo_chunk_raw(len) ? count : -ENOMEM;
}
static const struct file_operations demo_fops = { .write = demo_write };
static const struct file_operations demo_raw_fops = { .write = demo_write_raw };
"""))
    assert v["demo_chunk"].hi == 8192
    assert v["demo_chunk_raw"].sources and (v["demo_chunk_raw"].hi is None or v["demo_chunk_raw"].hi > 8192)


def test_each_arm_of_an_if_else_bounds_the_count_it_leaves():
    """smack's rule writes: the fixed format checks the count against the length of its
    line (`sizeof(DEMO_ACCESS) - 1` of a string #define), the other clamps it to a page;
    after the if/else the count and its NUL fill at most a page. With only one arm
    bounding it, the user's count still reaches the allocation."""
    v = sizes(("security/demo/fs.c", """
#define DEMO_ACCESS "rwxatl"
#define DEMO_LABELLEN 24
#define DEMO_LOADLEN (DEMO_LABELLEN + DEMO_LABELLEN + sizeof(DEMO_ACCESS) - 1)
static ssize_t demo_write_rules(const char __user *buf, size_t count, int format)
{
    char *data;
    if (format == 1) {
        if (count < DEMO_LABELLEN || count > DEMO_LOADLEN)
            return -EINVAL;
    } else {
        if (count >= PAGE_SIZE)
            count = PAGE_SIZE - 1;
    }
    data = memdup_user_nul(buf, count);
    return IS_ERR(data) ? PTR_ERR(data) : count;
}
static ssize_t demo_write_half(const char __user *buf, size_t count, int format)
{
    char *data;
    if (format == 1) {
        if (count > DEMO_LOADLEN)
            return -EINVAL;
    } else {
        format = 2;
    }
    data = memdup_user_nul(buf, count);
    return IS_ERR(data) ? PTR_ERR(data) : count;
}
static ssize_t demo_load_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
    return demo_write_rules(buf, count, 1) + demo_write_half(buf, count, 2);
}
static const struct file_operations demo_load_ops = { .write = demo_load_write };
"""))
    assert v["demo_write_rules"].hi == 4096  # the count and its NUL
    assert v["demo_write_half"].sources and v["demo_write_half"].hi > 4096


def test_sizeof_a_string_literal_and_a_define_of_one():
    """sizeof("rwxatl") is 7 (the NUL counts), an escape is one byte, adjacent pieces join."""
    v = sizes(("drivers/demo/str.c", """
#define DEMO_NAME "demo" "_drv"
void *demo_a(void) { return kmalloc(sizeof("rwxatl"), GFP_KERNEL); }
void *demo_b(void) { return kmalloc(sizeof(DEMO_NAME) * 2, GFP_KERNEL); }
void *demo_c(void) { return kmalloc(sizeof("a\\n\\x41"), GFP_KERNEL); }
"""))
    assert (v["demo_a"].hi, v["demo_b"].hi, v["demo_c"].hi) == (7, 18, 4)


def test_a_parameter_reassigned_from_itself_holds_the_new_value():
    """`count = min_t(size_t, count, PAGE_SIZE);`: the min_t() call reads count to compute
    what is stored, and access_ok() gets a copy: neither writes it, so the read sees the
    clamp, not the caller's value. get_user(count, p) and kstrtouint(buf, 0, &count) in
    between do write it."""
    v = sizes(("drivers/demo/reassign.c", """
static void *demo_clamped(const char __user *buf, size_t count)
{
    count = min_t(size_t, count, PAGE_SIZE);
    if (!access_ok(buf, count))
        return NULL;
    return kmalloc(count, GFP_KERNEL);
}
static void *demo_refilled(const size_t __user *p, size_t count)
{
    count = min_t(size_t, count, PAGE_SIZE);
    get_user(count, p);
    return kmalloc(count, GFP_KERNEL);
}
void demo_go(void) { demo_clamped(NULL, 1 << 30); demo_refilled(NULL, 1 << 30); }
"""))
    assert v["demo_clamped"].hi == 4096
    assert v["demo_refilled"].hi is None or v["demo_refilled"].hi > 4096


def test_a_power_of_two_the_user_rounds_to_keeps_the_users_reach():
    """lpfc's trace size: `i = kstrtoul(...)` is overwritten by `i = 0` before the loop
    (its error code never reaches the read), the loop counts how often the user's sz
    halves (at most its bit width), and `1 << i` is then as large as the user wants."""
    v = sizes(("drivers/scsi/demo_dbg.c", """
struct demo_trc { u64 stamp; u64 data; };
static ssize_t demo_trc_write(struct file *file, const char __user *buf, size_t nbytes, loff_t *ppos)
{
    struct demo_trc *trc;
    unsigned long sz;
    char mybuf[64];
    int i;

    if (copy_from_user(mybuf, buf, min(nbytes, sizeof(mybuf) - 1)))
        return -EFAULT;
    i = kstrtoul(mybuf, 0, &sz);
    if (i)
        return -EINVAL;
    i = 0;
    while (sz > 1) {
        sz = sz >> 1;
        i++;
    }
    sz = (1 << i);
    trc = kzalloc(sizeof(struct demo_trc) * sz, GFP_KERNEL);
    return trc ? nbytes : -ENOMEM;
}
static const struct file_operations demo_trc_fops = { .write = demo_trc_write };
"""))
    assert v["demo_trc_write"].hi is None and v["demo_trc_write"].sources
    assert any("counts up to 64" in st.text for st in v["demo_trc_write"].steps)


def test_a_clamp_with_an_else_branch_that_stores_literals():
    v = sizes(("drivers/vhost/demo.c", """
static unsigned int demo_max_vqs = 128;
module_param_named(max_vqs, demo_max_vqs, uint, 0644);
#define DEMO_MAX_VQ 1024
int demo_open(struct demo *d)
{
    int nvqs = demo_max_vqs;
    if (nvqs > DEMO_MAX_VQ) {
        pr_err("too many\\n");
        nvqs = DEMO_MAX_VQ;
    } else if (nvqs == 0) {
        nvqs = 1;
    }
    d->vqs = kmalloc_array(nvqs, sizeof(void *), GFP_KERNEL);
    return 0;
}
int demo_open_unclamped(struct demo *d)
{
    int nvqs = demo_max_vqs;
    if (nvqs > DEMO_MAX_VQ) {
        pr_err("too many\\n");
        nvqs = DEMO_MAX_VQ;
    } else {
        nvqs = demo_max_vqs * 2;
    }
    d->vqs = kmalloc_array(nvqs, sizeof(void *), GFP_KERNEL);
    return 0;
}
"""))
    assert v["demo_open"].hi == 1024 * 8
    assert v["demo_open_unclamped"].hi is None or v["demo_open_unclamped"].hi > 1024 * 8


def test_a_count_checked_through_size_add_and_a_macro_against_a_checked_length():
    v = sizes(("drivers/tee/demo.c", """
#define DEMO_MAX_ARG_SIZE 1024
#define DEMO_PARAM_SIZE(x) (sizeof(struct demo_param) * (x))
struct demo_param { u64 a, b, c, d; };
struct demo_arg { u32 ret; u32 num_params; u32 len; };
long demo_recv(struct demo_arg __user *uarg)
{
    u32 num_params, buf_len;
    if (get_user(buf_len, &uarg->len))
        return -EFAULT;
    if (buf_len > DEMO_MAX_ARG_SIZE)
        return -EINVAL;
    if (get_user(num_params, &uarg->num_params))
        return -EFAULT;
    if (size_add(sizeof(*uarg), DEMO_PARAM_SIZE(num_params)) != buf_len)
        return -EINVAL;
    return (long)kcalloc(num_params, sizeof(struct demo_param), GFP_KERNEL);
}
long demo_recv_unchecked(struct demo_arg __user *uarg, u32 buf_len)
{
    u32 num_params;
    if (get_user(num_params, &uarg->num_params))
        return -EFAULT;
    if (size_add(sizeof(*uarg), DEMO_PARAM_SIZE(num_params)) < 8)
        return -EINVAL;
    return (long)kcalloc(num_params, sizeof(struct demo_param), GFP_KERNEL);
}
"""))
    assert v["demo_recv"].hi is not None and v["demo_recv"].hi <= 1024 * 32  # num_params <= buf_len <= 1024
    assert v["demo_recv_unchecked"].hi == 0xFFFFFFFF * 32 and v["demo_recv_unchecked"].sources


def test_an_unknown_size_says_why():
    """Unknown is not big, but it is counted: each unknown value names where its
    evaluation stopped, the outer cause first (a field, a parameter) and what hid it."""
    v = sizes(("drivers/demo/why.c", """
struct demo { u32 len; u32 fw_len; u32 depth; };
void *a(struct demo *d) { return kmalloc(d->len, GFP_ATOMIC); }
void demo_set(struct demo *d) { d->fw_len = demo_read_fw(d); }
void *b(struct demo *d) { return kmalloc(d->fw_len, GFP_ATOMIC); }
static void *c(size_t n) { return kmalloc(n, GFP_ATOMIC); }
static const struct demo_ops ops = { .alloc = c };
void *e(void) { return kmalloc(DEMO_UNDEFINED_LEN(4), GFP_ATOMIC); }
void *f(void) { return kmalloc(demo_len(), GFP_ATOMIC); }
void *g(void *p) { return kmalloc(sizeof(struct nowhere), GFP_ATOMIC); }
void *h(unsigned long order) { return (void *)__get_free_pages(GFP_ATOMIC, order); }
void *k(void) { return kmalloc(undefined_name, GFP_ATOMIC); }
"""))
    assert v["a"].why == "field-unwritten"
    assert v["b"].why == "field-unknown-writer/call-result"
    assert v["c"].why == "param-no-caller"
    assert v["e"].why == "macro-not-found"
    assert v["f"].why == "call-result"
    assert v["g"].why == "sizeof"
    assert v["h"].why == "computed-order/param-no-caller"
    assert v["k"].why == "name-unresolved"
    assert all(not value.known for value in v.values())


def test_partial_knowledge_keeps_what_the_known_writers_prove():
    """A field or parameter with a writer we cannot see keeps what the known ones prove: the
    largest of them is reached, though it is no upper bound (`partial`)."""
    v = sizes(("drivers/demo/part.c", """
struct demo { u32 len; u32 cap; u32 cut; u32 small; };
void demo_big(struct demo *d) { d->len = SZ_64K; d->cut = SZ_64K; d->small = 16; }
void demo_fw(struct demo *d) { d->len = demo_read_fw(d); d->cut = demo_read_fw(d); d->small = demo_read_fw(d); }
void *a(struct demo *d) { return kmalloc(d->len, GFP_ATOMIC); }
void *b(struct demo *d) { if (d->cut > 512) return NULL; return kmalloc(d->cut, GFP_ATOMIC); }
void *c(struct demo *d) { return kmalloc(d->len & 0xfff, GFP_ATOMIC); }
void *e(struct demo *d) { return kmalloc(SZ_1M - d->len, GFP_ATOMIC); }
void *f(struct demo *d) { return kmalloc(max(demo_read_fw(d), 8192) * 2, GFP_ATOMIC); }
void *g(struct demo *d) { return kmalloc(d->small, GFP_ATOMIC); }
void *h(struct demo *d) { return kmalloc(d->len * 2 + 64, GFP_ATOMIC); }
"""))
    assert v["a"].partial and (v["a"].lo, v["a"].hi) == (0, 65536)
    assert v["a"].steps and v["a"].steps[0].field == "demo.len" and v["a"].steps[0].function == "demo_big"
    assert not v["b"].known  # the store that proves 64 KiB does not pass the check
    assert not v["c"].known  # a mask of what one writer proves proves nothing
    assert not v["e"].known  # nor does subtracting it
    assert (v["f"].lo, v["f"].hi, v["f"].partial) == (16384, 16384, True)  # at least 8192, on every path
    assert v["g"].partial and v["g"].hi == 16
    assert v["h"].partial and v["h"].hi == 65536 * 2 + 64
    # what hid the other writers, for the recall census: through arithmetic and min/max too
    assert {v[k].why for k in "aghf"} == {"call-result"}


def test_ethtool_ring_sizes_are_the_users_up_to_the_drivers_maximum():
    """`ring->rx_pending` in set_ringparam is what the user asked for; the ethtool core lets
    through at most what the driver's get_ringparam reports. A driver whose maximum cannot
    be read gives an unknown, not a 4 GiB ring."""
    v = sizes(("drivers/net/demo/eth.c", """
struct demo_priv { u32 rx_count; u32 tx_count; };
static void demo_get(struct net_device *dev, struct ethtool_ringparam *ring)
{
	ring->rx_max_pending = 8192;
	ring->tx_max_pending = demo_hw_max(dev);
}
static int demo_set(struct net_device *dev, struct ethtool_ringparam *ring)
{
	struct demo_priv *priv = netdev_priv(dev);
	priv->rx_count = ring->rx_pending;
	priv->tx_count = ring->tx_pending;
	return 0;
}
void *demo_rx(struct demo_priv *priv) { return kcalloc(priv->rx_count, 16, GFP_ATOMIC); }
void *demo_tx(struct demo_priv *priv) { return kcalloc(priv->tx_count, 16, GFP_ATOMIC); }
"""))
    assert (v["demo_rx"].hi, v["demo_rx"].sources) == (8192 * 16, frozenset({"ethtool:demo_set"}))
    assert not v["demo_tx"].known


def test_device_data_is_a_source_of_its_own():
    """Fields a device writes (declared with a byte-order type, stored into by nothing in the
    scan), register reads and raw reads of wire bytes are device sources, as wide as the
    read; a field of the same type that the driver writes itself is not."""
    from allocscan.rules.base import device_sources, user_sources

    v = sizes(("drivers/net/demo/rx.c", """
struct demo_desc { __le16 len; __le16 own_len; __le32 big; };
void demo_fill(struct demo_desc *d, u16 n) { d->own_len = cpu_to_le16(n); }
void *a(struct demo_desc *d) { return kmalloc(le16_to_cpu(d->len), GFP_ATOMIC); }
void *b(struct demo_desc *d) { return kmalloc(le16_to_cpu(d->own_len), GFP_ATOMIC); }
void *c(void __iomem *regs) { return kmalloc(readw(regs + 4), GFP_ATOMIC); }
void *e(const u8 *cdb) { return kmalloc(get_unaligned_be32(&cdb[6]), GFP_ATOMIC); }
"""))
    assert (v["a"].hi, v["a"].sources) == (0xFFFF, frozenset({"device:demo_desc.len"}))
    assert device_sources(v["a"]) == ["device:demo_desc.len"] and user_sources(v["a"]) == []
    assert not v["b"].sources
    assert v["c"].hi == 0xFFFF and device_sources(v["c"]) == ["device:readw(regs + 4)"]
    assert v["e"].hi == 0xFFFFFFFF and v["e"].sources


def test_a_header_copied_out_of_a_received_buffer_is_the_devices():
    """The driver stores into the same wire struct when it builds frames to send; a local
    copy of a received frame's header still holds what the device sent."""
    v = sizes(("drivers/net/demo/agg.c", """
struct demo_dpe { __le16 index; __le16 length; };
void demo_tx_fill(struct demo_dpe *dpe, struct sk_buff *skb) { dpe->length = cpu_to_le16(skb->len); dpe->index = 0; }
void *demo_rx(struct sk_buff *skb, int off)
{
	struct demo_dpe dpe;
	u16 len;

	if (skb_copy_bits(skb, off, &dpe, sizeof(dpe)))
		return NULL;
	len = le16_to_cpu(dpe.length);
	return kmalloc(len, GFP_ATOMIC);
}
void *demo_own(struct demo_dpe *dpe) { return kmalloc(le16_to_cpu(dpe->length), GFP_ATOMIC); }
"""))
    assert (v["demo_rx"].hi, v["demo_rx"].sources) == (0xFFFF, frozenset({"device:demo_dpe.length"}))
    assert "skb_copy_bits() copies received data into 'dpe'" in v["demo_rx"].steps[-1].text
    assert not v["demo_own"].sources  # the driver's own frame: its stores, not the device's


def test_a_struct_copied_from_the_user_has_user_fields():
    v = sizes(("drivers/misc/demo.c", """
struct demo_req { u16 len; u32 count; struct demo_req *next; };
long demo_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct demo_req req;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	return (long)kmalloc(req.len, GFP_KERNEL);
}
long demo_ioctl_dup(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct demo_req *r = memdup_user((void __user *)arg, sizeof(*r));
	return (long)kcalloc(r->count, 8, GFP_KERNEL);
}
long demo_ioctl_before(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct demo_req req;
	void *p = kmalloc(req.len, GFP_KERNEL);
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	return (long)p;
}
"""))
    assert (v["demo_ioctl"].hi, v["demo_ioctl"].sources) == (0xFFFF, frozenset({"ioctl:demo_ioctl"}))
    assert v["demo_ioctl_dup"].hi == 0xFFFFFFFF * 8 and v["demo_ioctl_dup"].sources
    assert not v["demo_ioctl_before"].sources  # read before the copy


def test_a_user_value_capped_by_a_bound_we_cannot_see_is_unknown():
    """min(len, DEMO_LIMIT) with DEMO_LIMIT not found: the cap is real, only unseen; the user's
    value is neither unbounded nor as large as its type. A cap we can read bounds it."""
    v = sizes(("drivers/misc/cap.c", """
long a(u32 __user *up) { u32 len; if (get_user(len, up)) return -EFAULT; return (long)kmalloc(min_t(u32, len, DEMO_LIMIT), GFP_KERNEL); }
long b(u32 __user *up) { u32 len; if (get_user(len, up)) return -EFAULT; return (long)kmalloc(min_t(u32, len, SZ_64K), GFP_KERNEL); }
long c(struct demo *d) { return (long)kmalloc(min(d->len, SZ_64K), GFP_ATOMIC); }
"""))
    assert not v["a"].known
    assert v["b"].hi == 65536 and v["b"].sources
    assert v["c"].hi == 65536 and not v["c"].sources  # a bound the code states


def test_a_check_that_leaves_its_case_with_break_bounds_what_follows():
    v = sizes(("drivers/net/demo/link.c", """
struct demo_link { int mru; };
static long demo_ioctl(struct demo_link *l, unsigned int cmd, int __user *p)
{
	int val, err = -EFAULT;
	switch (cmd) {
	case 1:
		if (get_user(val, p))
			break;
		if (val > U16_MAX) {
			err = -EINVAL;
			break;
		}
		l->mru = val;
		break;
	}
	return err;
}
void *demo_rx(struct demo_link *l) { return kmalloc(l->mru + 4, GFP_ATOMIC); }
"""))
    assert v["demo_rx"].hi == 0xFFFF + 4 and v["demo_rx"].sources


def test_init_code_does_not_see_values_users_set_later():
    """__init runs once, before any ioctl or sysfs store: a bound that comes from one is not
    what the allocation sees; a module parameter, set at load, still is."""
    facts_text = """
struct demo { u32 len; };
static struct demo demo;
static unsigned int depth = 64;
module_param(depth, uint, 0444);
long demo_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	u32 n;
	if (get_user(n, (u32 __user *)arg)) return -EFAULT;
	demo.len = n;
	return 0;
}
static int __init demo_init(void) { void *a = kmalloc(demo.len, GFP_KERNEL); void *b = kmalloc(depth, GFP_KERNEL); return 0; }
void *demo_later(void) { return kmalloc(demo.len, GFP_KERNEL); }
"""
    from allocscan.analyze import analyze
    from allocscan.extract import extract_file
    from allocscan.kernel.version import builtin_kernel
    from allocscan.link import link

    analysis = analyze(link([extract_file("drivers/misc/demo.c", facts_text.encode())]), builtin_kernel("6.1"))
    size = {(s.function.name, s.call_text): s.size for s in analysis.sites if s.allocator}
    at_init = size[("demo_init", "kmalloc(demo.len, GFP_KERNEL)")]
    assert not at_init.known and at_init.why == "init-before-user"
    assert size[("demo_init", "kmalloc(depth, GFP_KERNEL)")].sources == frozenset({"module_param:depth"})
    assert size[("demo_later", "kmalloc(demo.len, GFP_KERNEL)")].sources == frozenset({"ioctl:demo_ioctl"})


def test_structs_of_one_name_in_two_modules_keep_their_fields_apart():
    """sfc and sfc-siena both define struct efx_nic; siena's module parameter does not reach
    sfc's reader."""
    header = "struct efx_nic { unsigned int vf_count; unsigned int rxq_entries; };\\n"
    v = sizes(("drivers/net/ethernet/demo/net_driver.h", header),
              ("drivers/net/ethernet/demo/siena/net_driver.h", header),
              ("drivers/net/ethernet/demo/siena/sriov.c", """
#include "net_driver.h"
static unsigned int max_vfs;
module_param(max_vfs, uint, 0444);
void siena_init(struct efx_nic *efx) { efx->vf_count = max_vfs; efx->rxq_entries = 4096; }
void *siena_alloc(struct efx_nic *efx) { return kcalloc(efx->vf_count, 64, GFP_KERNEL); }
"""), ("drivers/net/ethernet/demo/ef10_sriov.c", """
#include "net_driver.h"
void ef10_init(struct efx_nic *efx) { efx->rxq_entries = 512; }
void *ef10_alloc(struct efx_nic *efx) { return kcalloc(efx->vf_count, 64, GFP_KERNEL); }
void *ef10_rxq(struct efx_nic *efx) { return kcalloc(efx->rxq_entries, 16, GFP_ATOMIC); }
"""))
    assert v["siena_alloc"].sources == frozenset({"module_param:max_vfs"})
    assert not v["ef10_alloc"].known
    assert v["ef10_rxq"].hi == 512 * 16


def test_tables_and_module_parameters_bound_to_members_are_stores():
    v = sizes(("drivers/net/demo/chips.c", """
struct demo_info { u32 rx_ring; u32 desc; };
struct demo_priv { const struct demo_info *info; };
static const struct demo_info demo_tbl[] = { [0] = { .rx_ring = 256, .desc = 16 }, [1] = { .rx_ring = 4096, .desc = 16 } };
struct demo_opts { u32 buflen; };
static struct demo_opts opts = { .buflen = 4096 };
module_param_named(buflen, opts.buflen, ushort, 0444);
void *ring(struct demo_priv *p) { return kcalloc(p->info->rx_ring, p->info->desc, GFP_ATOMIC); }
void *buf(void) { return kmalloc(opts.buflen, GFP_ATOMIC); }
"""))
    assert (v["ring"].lo, v["ring"].hi) == (256 * 16, 4096 * 16)
    assert v["ring"].steps[0].text == "the initializer of demo_tbl sets .rx_ring = 4096"
    assert v["buf"].hi == 0xFFFF and v["buf"].sources == frozenset({"module_param:buflen"})
    assert "default 4096" in v["buf"].steps[-1].text


def test_increments_are_growth_not_the_first_value():
    """`order = 0; while (...) order++;`: order is not 0 where the loop leaves."""
    v = sizes(("drivers/misc/inc.c", """
void *f(size_t goal) { unsigned int order = 0; while ((PAGE_SIZE << order) < goal) order++; return (void *)__get_free_pages(GFP_ATOMIC, order); }
void *g(void) { unsigned int n = 64; n--; return kmalloc(n * 1024, GFP_ATOMIC); }
"""))
    assert v["f"].partial or not v["f"].known
    assert v["g"].hi == 64 * 1024 and not v["g"].partial


def test_struct_layouts_read_their_dimensions_where_the_struct_is_defined():
    """An array member sized by the driver's own macro: evaluated in the struct's file, not
    wherever the scan happened to start; members declared by a kernel macro are laid out."""
    v = sizes(("arch/demo/first.c", "int demo_first;"),
              ("drivers/demo/big.c", """
#define DEMO_MAX_LEVELS 4096
struct hlist_head { struct hlist_node *first; };
struct demo_big { u32 levels[DEMO_MAX_LEVELS]; DECLARE_BITMAP(flags, 130); DECLARE_HASHTABLE(tbl, 4); };
void *f(void) { return kzalloc(sizeof(struct demo_big), GFP_ATOMIC); }
"""))
    assert v["f"].hi == 4096 * 4 + 3 * 8 + 16 * 8


def test_computed_orders():
    """get_order(), order_base_2(), ilog2(), fls() of a known length: the order it gives."""
    v = sizes(("drivers/demo/order.c", """
struct demo { u32 len; };
void demo_set(struct demo *d) { d->len = 300000; }
void *a(struct demo *d) { return alloc_pages(GFP_ATOMIC, get_order(d->len)); }
void *b(struct demo *d) { return alloc_pages(GFP_ATOMIC, order_base_2(d->len >> PAGE_SHIFT)); }
void *c(struct demo *d) { return alloc_pages(GFP_ATOMIC, ilog2(d->len) - PAGE_SHIFT); }
void *e(struct demo *d) { return alloc_pages(GFP_ATOMIC, fls(d->len - 1) - PAGE_SHIFT); }
"""))
    assert [v[k].hi for k in "abce"] == [4096 << 7, 4096 << 7, 4096 << 6, 4096 << 7]


def test_what_a_function_returns():
    """A call to a function of the scan that returns an integer is what it returns, error
    codes left out; a recursion is unknown."""
    v = sizes(("drivers/demo/ret.c", """
struct demo { u32 mtu; };
void demo_setup(struct demo *d) { d->mtu = 9000; }
static u32 demo_buf_len(struct demo *d) { if (!d) return -EINVAL; return d->mtu + 32; }
void *a(struct demo *d) { return kmalloc(demo_buf_len(d), GFP_ATOMIC); }
static int demo_rec(int n) { return demo_rec(n - 1) + 1; }
void *b(void) { return kmalloc(demo_rec(4), GFP_ATOMIC); }
static char *demo_name(void) { return "x"; }
"""))
    assert v["a"].hi == 9032
    assert [s.text for s in v["a"].steps] == ["demo_buf_len() returns d->mtu + 32", "demo_setup() stores 9000 into demo.mtu"]
    assert v["a"].steps[0].line == 4
    assert not v["b"].known and v["b"].why.startswith("call-result")


def test_a_local_read_after_its_assignment_in_the_same_block_is_that_value():
    """ioctl handlers reuse one `val` in every case: the case that sets the MRU stores the
    16-bit value it just read, not the 32-bit one another case reads."""
    v = sizes(("drivers/net/demo/lcp.c", """
struct demo_link { u32 mru; u32 accm; };
static void demo_peek(struct demo_link *l, const u8 *data, int opt)
{
	u32 val;
	switch (opt) {
	case 1:
		val = get_unaligned_be16(data + 2);
		l->mru = val;
		break;
	case 2:
		val = get_unaligned_be32(data + 2);
		l->accm = val;
		break;
	}
}
void *demo_rx(struct demo_link *l) { return kmalloc(l->mru, GFP_ATOMIC); }
static void *demo_param(size_t len, int big)
{
	if (big) {
		len = SZ_64K;
		return kmalloc(len, GFP_ATOMIC);
	}
	return kmalloc(len, GFP_ATOMIC);
}
void demo_caller(void) { demo_param(16, 0); }
"""))
    assert v["demo_rx"].hi == 0xFFFF and v["demo_rx"].sources


def test_a_copied_struct_handed_to_a_checker_is_unknown():
    v = sizes(("net/demo/tun.c", """
struct demo_tuna { u32 id; u32 len; };
long demo_get(void __user *useraddr)
{
	struct demo_tuna tuna;
	if (copy_from_user(&tuna, useraddr, sizeof(tuna)))
		return -EFAULT;
	if (demo_tunable_valid(&tuna))
		return -EINVAL;
	return (long)kzalloc(tuna.len, GFP_USER);
}
"""))
    assert not v["demo_get"].known and v["demo_get"].why == "guard-unseen"


def test_a_loop_that_counts_an_order_up_to_a_goal_stops_at_the_goals_order():
    v = sizes(("drivers/demo/loop.c", """
struct demo { u32 len; };
void demo_set(struct demo *d) { d->len = 300000; }
void *a(struct demo *d) { unsigned int order; for (order = 0; (PAGE_SIZE << order) < d->len; order++) ; return (void *)__get_free_pages(GFP_ATOMIC, order); }
void *b(void) { int i = 0; while (i < 3) i++; return kmalloc(i * SZ_64K, GFP_ATOMIC); }
void *c(struct demo *d) { unsigned int order = 0; while ((PAGE_SIZE << order) < d->len && order < 3) order++; return (void *)__get_free_pages(GFP_ATOMIC, order); }
"""))
    assert v["a"].hi == 4096 << 7 and v["a"].steps[0].text == "order counts up to 7 in the loop (order++)"
    assert v["b"].hi == 3 * 65536
    assert v["c"].hi == 4096 << 3  # the smaller of the two bounds


def test_a_field_holds_no_more_than_its_type():
    """A store truncates: a user's copybreak stored into a u16 field is at most 65535 when
    read back, into a 3-bit field at most 7; into an unsigned long, all of it."""
    v = sizes(("drivers/net/demo/d.c", """
struct demo_priv { u16 rx_data_size; unsigned long big; u8 small:3; };
static unsigned int copybreak = 128;
module_param(copybreak, uint, 0644);
void demo_set(struct demo_priv *p) { p->rx_data_size = copybreak; p->big = copybreak; p->small = copybreak; }
void *demo_a(struct demo_priv *p) { return kmalloc(p->rx_data_size, GFP_ATOMIC); }
void *demo_b(struct demo_priv *p) { return kmalloc(p->big, GFP_ATOMIC); }
void *demo_c(struct demo_priv *p) { return kmalloc(p->small, GFP_ATOMIC); }
"""))
    assert (v["demo_a"].hi, v["demo_c"].hi) == (0xFFFF, 7)
    assert v["demo_b"].hi is None or v["demo_b"].hi >= 0xFFFFFFFF
    assert v["demo_a"].sources == {"module_param:copybreak"}


def test_a_guard_on_a_range_bounds_the_value():
    """`if (qs > 0 && (qs < 32 || qs > 1024)) return -EINVAL;`: after it, qs is 0 or
    between 32 and 1024. A guard one of whose conjuncts bounds nothing bounds nothing."""
    v = sizes(("sound/core/demo.c", """
struct demo_params { unsigned int queue_size; unsigned int flags; };
long demo_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
    struct demo_params params;
    if (copy_from_user(&params, (void __user *)arg, sizeof(params)))
        return -EFAULT;
    if (params.queue_size > 0 && (params.queue_size < 32 || params.queue_size > 1024))
        return -EINVAL;
    if (params.flags & 1 && params.queue_size > 64)
        return -EINVAL;
    return (long)kmalloc_array(params.queue_size, 32, GFP_KERNEL);
}
long demo_ioctl2(struct file *file, unsigned int cmd, unsigned long arg)
{
    struct demo_params params;
    if (copy_from_user(&params, (void __user *)arg, sizeof(params)))
        return -EFAULT;
    if (params.flags & 1 && params.queue_size > 64)
        return -EINVAL;
    return (long)kmalloc_array(params.queue_size, 32, GFP_KERNEL);
}
"""))
    assert v["demo_ioctl"].hi == 1024 * 32
    assert v["demo_ioctl2"].hi is None or v["demo_ioctl2"].hi > 1 << 30


def test_a_check_whose_body_clamps_or_leaves_bounds_what_follows():
    """gadgetfs' shape: a length above the buffer is clamped on one arm and refused on the
    other, so after the `if` it is at most the buffer's size. One arm that neither clamps
    nor leaves bounds nothing."""
    v = sizes(("drivers/usb/gadget/legacy/demo.c", """
#define DEMO_RBUF 256
static int demo_setup(struct usb_gadget *gadget, const struct usb_ctrlrequest *ctrl)
{
    u16 w_length = le16_to_cpu(ctrl->wLength);
    if (w_length > DEMO_RBUF /* one buffer */) {
        if (ctrl->bRequestType & USB_DIR_IN) {
            pr_debug("clamped\\n");
            w_length = DEMO_RBUF;
        } else {
            return -EINVAL;
        }
    }
    return (long)kmalloc(w_length, GFP_ATOMIC);
}
static int demo_setup2(struct usb_gadget *gadget, const struct usb_ctrlrequest *ctrl)
{
    u16 w_length = le16_to_cpu(ctrl->wLength);
    if (w_length > DEMO_RBUF) {
        if (ctrl->bRequestType & USB_DIR_IN)
            w_length = DEMO_RBUF;
        else
            pr_debug("long\\n");
    }
    return (long)kmalloc(w_length, GFP_ATOMIC);
}
"""))
    assert v["demo_setup"].hi == 256
    assert v["demo_setup2"].hi == 0xFFFF


def test_sizes_do_not_depend_on_the_order_sites_are_evaluated_in():
    # A parameter handed down a chain longer than the hop limit, read by an allocation
    # at every level, and a field that feeds itself: what one site's evaluation keeps
    # (a value from one depth, a value cut on a cycle) must not change another's.
    from allocscan.analyze.values import ValueAnalysis
    from allocscan.analyze.values.scope import MAX_DEPTH, Scope

    levels = MAX_DEPTH + 3
    chain = "\n".join(
        f"static void *lvl{i}(unsigned int n) {{ void *p = kmalloc(n * 64, GFP_ATOMIC); lvl{i + 1}(n); return p; }}"
        for i in range(levels))
    text = f"""
struct ring {{ unsigned int len; }};
static void *lvl{levels}(unsigned int n) {{ return kmalloc(n, GFP_ATOMIC); }}
{chain}
static void ring_start(void) {{ lvl0(1024); }}
static void ring_grow(struct ring *r) {{ unsigned int next = r->len * 2; if (next < 4096) r->len = next; }}
static void ring_init(struct ring *r) {{ r->len = 512; }}
static void *ring_buf(struct ring *r) {{ return kmalloc(r->len * 16, GFP_ATOMIC); }}
struct ctl {{ unsigned int a; unsigned int b; }};
static unsigned int user_len = 64;
module_param(user_len, uint, 0644);
static void ctl_copy(struct ctl *c) {{ c->a = c->b; }}
static void ctl_grow(struct ctl *c) {{ c->b = c->a + user_len; }}
static void ctl_init(struct ctl *c) {{ c->b = 16; c->a = 32; }}
static void *ctl_buf_a(struct ctl *c) {{ return kmalloc(c->a, GFP_ATOMIC); }}
static void *ctl_buf_b(struct ctl *c) {{ return kmalloc(c->b, GFP_ATOMIC); }}
"""
    program = link([extract_file("drv/chain.c", text.encode())])
    kernel = builtin_kernel("6.1")
    sites = [(ff, fn, site) for ff in program.files for fn in ff.functions for site in fn.calls
             if site.callee == "kmalloc"]
    assert len(sites) == levels + 4

    # each size read as the site reads it (depth 0) and as a callee's would be (depth 1)
    reads = [(ff, fn, site, depth) for ff, fn, site in sites for depth in (0, 1)]

    def evaluate(order):
        values = ValueAnalysis(program, kernel)
        out = {}
        for ff, fn, site, depth in order:
            values.start_site()
            v = values.eval(site.arguments()[0], Scope(ff, fn, depth, site.byte))
            out[(fn.name, depth)] = (v.known, v.lo, v.hi, v.why, sorted(v.sources))
        return out

    forward, backward = evaluate(reads), evaluate(reads[::-1])
    assert forward == backward
    # the hop limit still bounds how far a parameter is followed
    assert forward[("lvl0", 0)][:3] == (True, 64 * 1024, 64 * 1024)
    assert not forward[(f"lvl{levels}", 0)][0]


def test_a_define_hundreds_of_operators_long_is_evaluated_without_recursing_down_it(tmp_path):
    from allocscan.pipeline import ScanOptions, run_scan

    flags = " | ".join(f"(1 << {i % 30})" for i in range(700))
    (tmp_path / "flags.c").write_text(f"""
#define DEMO_ALL_FLAGS ({flags})
static DEFINE_SPINLOCK(demo_lock);
static void *demo_table(unsigned int mode)
{{
	void *p = NULL;

	spin_lock(&demo_lock);
	if (mode & DEMO_ALL_FLAGS)
		p = kmalloc((DEMO_ALL_FLAGS & 0xff) * 1024, GFP_KERNEL);
	spin_unlock(&demo_lock);
	return p;
}}
""")
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1"))
    assert not result.warnings
    (finding,) = [f for f in result.findings if f.rule_id == "AS002"]
    assert finding.properties["sizeRange"] == [255 * 1024, 255 * 1024]


def test_a_struct_name_defined_twice_is_laid_out_as_the_reader_sees_it():
    # Two drivers each define their own `struct demo_buf_desc`; each one's ring entry
    # embeds its own, and sizeof in each driver is its own.
    v = sizes(("drivers/atm/demo/regs.h", """
struct demo_buf_desc { u32 a, b, c, d, e, f, g, h; };
"""), ("drivers/net/demo/hw.h", """
struct demo_buf_desc { __le64 addr; __le32 len; } __packed;
struct demo_iocb { u8 opcode; u8 flags[3]; struct demo_buf_desc tbd[8]; } __packed;
"""), ("drivers/net/demo/ring.c", """
void *ring_alloc(void) { return kcalloc(256, sizeof(struct demo_iocb), GFP_ATOMIC); }
void *desc_alloc(void) { return kcalloc(256, sizeof(struct demo_buf_desc), GFP_ATOMIC); }
"""), ("drivers/atm/demo/rx.c", """
void *atm_desc_alloc(void) { return kcalloc(256, sizeof(struct demo_buf_desc), GFP_ATOMIC); }
"""))
    assert (v["ring_alloc"].lo, v["ring_alloc"].hi) == (256 * (4 + 8 * 12),) * 2
    assert v["desc_alloc"].hi == 256 * 12
    assert v["atm_desc_alloc"].hi == 256 * 32


def test_stores_through_nested_members_subscripts_and_typedefs_reach_their_readers():
    """A field stored through an embedded struct (`priv->rx.buf_sz = n`), an array element
    (`priv->ring[i].len = n`) or a typedef'd pointer is the same cell its readers read:
    the struct definitions in the header name the receiver's type."""
    header = ("drivers/net/ethernet/demo/nested.h", """
struct demo_rx { int buf_sz; int used; };
struct demo_slot { u32 len; };
struct demo_port { u32 fixed_len; };
struct demo_fn { struct demo_port port; };
typedef struct demo_cfg { u32 chunk; } demo_cfg_t;
struct demo_priv { int mtu; struct demo_rx rx; struct demo_slot ring[8]; };
""")
    v = sizes(header, ("drivers/net/ethernet/demo/setup.c", """
#include "nested.h"
void demo_set_rx(struct demo_priv *vp, int mtu) { vp->rx.buf_sz = (mtu <= 1500) ? 1536 : 65536 + 32; }
void demo_set_ring(struct demo_priv *vp, int i) { vp->ring[i].len = 16384 * 4; }
void demo_set_port(struct demo_fn *fn) { fn->port.fixed_len = 32768; }
void demo_set_cfg(demo_cfg_t *cfg) { cfg->chunk = 131072; }
"""), ("drivers/net/ethernet/demo/rx.c", """
#include "nested.h"
void *demo_rx_refill(struct demo_priv *vp) { return kmalloc(vp->rx.buf_sz + 64, GFP_ATOMIC); }
void *demo_slot_buf(struct demo_slot *s) { return kmalloc(s->len, GFP_ATOMIC); }
void *demo_port_buf(struct demo_port *p) { return kmalloc(p->fixed_len, GFP_ATOMIC); }
void *demo_cfg_buf(struct demo_cfg *c) { return kmalloc(c->chunk, GFP_ATOMIC); }
"""))
    assert v["demo_rx_refill"].known and v["demo_rx_refill"].hi == 65536 + 32 + 64
    assert v["demo_slot_buf"].hi == 65536
    assert v["demo_port_buf"].hi == 32768
    assert v["demo_cfg_buf"].hi == 131072
    assert any("demo_set_rx() stores" in s.text for s in v["demo_rx_refill"].steps)


def test_a_check_that_also_updates_the_value_bounds_it_before_the_update():
    """`if (divisor-- > 0x100) return -EINVAL;` leaves divisor at most 0xff; `++n` checks the new value."""
    v = sizes(("net/sched/demo_cls.c", """
struct demo_ht { u32 divisor; void *ht[]; };
int demo_change(struct nlattr **tb)
{
	struct demo_ht *ht;
	u32 divisor = nla_get_u32(tb[1]);

	if (divisor-- > 0x100)
		return -EINVAL;
	ht = kzalloc(struct_size(ht, ht, divisor + 1), GFP_KERNEL);
	return ht ? 0 : -ENOMEM;
}
int demo_pre(struct nlattr **tb)
{
	u32 n = nla_get_u32(tb[2]);

	if (++n > 64)
		return -EINVAL;
	return kmalloc(n * 16, GFP_KERNEL) ? 0 : -ENOMEM;
}
"""))
    assert v["demo_change"].hi == 8 + 256 * 8
    assert v["demo_pre"].hi == 64 * 16


def test_a_mask_test_that_fails_and_a_checked_running_sum_bound_their_parts():
    """The else of `if (rx_status & 0xF000)` has a 16-bit rx_status below 0x1000; a local
    set to a sum and checked against a limit bounds each of its terms."""
    v = sizes(("drivers/net/demo/mace.c", """
#define DEMO_RCVSTS 0xF000
#define DEMO_MAX_RX 16384
void *demo_rx(void __iomem *io)
{
	u16 rx_status = inw(io + 4);

	if (rx_status & DEMO_RCVSTS) {
		return NULL;
	} else {
		short pkt_len = (rx_status & ~DEMO_RCVSTS) - 4;

		return netdev_alloc_skb(NULL, pkt_len + 2);
	}
}
void *demo_stream(struct sk_buff *skb, int index)
{
	u16 pkt_len = get_unaligned_le16(skb->data + index);
	int pad_len = 4 - (pkt_len & 3);

	index = index + 4 + pkt_len + pad_len;
	if (index > DEMO_MAX_RX) {
		return NULL;
	} else {
		return kmalloc(pkt_len + 32, GFP_ATOMIC);
	}
}
"""))
    assert v["demo_rx"].hi is not None and v["demo_rx"].hi < 0x1000 + 2 + 400  # with the skb overhead
    assert v["demo_stream"].hi == 16384 + 32


def test_a_store_whose_local_copy_is_checked_right_after_holds_what_passed():
    """`info->n = le32_to_cpu(ev->n); n = info->n; if (n > MAX) return -EINVAL;`: the field
    holds at most MAX wherever it is read later; an unchecked copy bounds nothing."""
    v = sizes(("drivers/net/wireless/demo/wmi.c", """
#define DEMO_MAX_RULES 10
struct demo_ev { __le32 n_rules; __le32 n_other; };
struct demo_info { u32 n_rules; u32 n_other; };
int demo_pull(struct demo_info *info, struct demo_ev *ev)
{
	u32 n_rules, n_other;

	info->n_rules = le32_to_cpu(ev->n_rules);
	info->n_other = le32_to_cpu(ev->n_other);
	n_rules = info->n_rules;
	n_other = info->n_other;
	if (n_rules > DEMO_MAX_RULES)
		return -EINVAL;
	return 0;
}
void *demo_build(struct demo_info *info) { return kzalloc(info->n_rules * 64, GFP_ATOMIC); }
void *demo_other(struct demo_info *info) { return kzalloc(info->n_other * 64, GFP_ATOMIC); }
"""))
    assert v["demo_build"].hi == 10 * 64
    assert v["demo_other"].hi == 0xFFFFFFFF * 64


def test_a_module_parameter_of_another_file_of_the_driver_is_read_through_its_extern():
    """e1000e's shape: param.c declares `copybreak` a module parameter, netdev.c reads it
    through an `extern` in the driver's header. As a check's bound it stands at its default;
    as a size it is the user's. A file of another directory does not see it."""
    param_c = ("drivers/net/demo_nic/param.c", """
unsigned int demo_copybreak = 256;
module_param(demo_copybreak, uint, 0644);
unsigned int demo_buflen = 4096;
module_param(demo_buflen, uint, 0644);
""")
    header = ("drivers/net/demo_nic/demo_nic.h",
              "extern unsigned int demo_copybreak;\nextern unsigned int demo_buflen;\nextern unsigned int demo_jobs;\n")
    netdev_c = ("drivers/net/demo_nic/netdev.c", """
#include "demo_nic.h"
struct demo_desc { __le16 length; };
void demo_rx(struct demo_ring *ring, struct demo_desc *desc)
{
	struct sk_buff *skb;
	unsigned int length = le16_to_cpu(desc->length);
	if (length < demo_copybreak)
		skb = napi_alloc_skb(&ring->napi, length);
}
void *demo_buf(void) { return kmalloc(demo_buflen, GFP_ATOMIC); }
""")
    adjusted_c = ("drivers/net/demo_nic/main.c", """
unsigned int demo_jobs = 32;
module_param(demo_jobs, uint, 0444);
""")
    device_c = ("drivers/net/demo_nic/device.c", """
extern unsigned int demo_jobs;
void demo_check_arguments(void) { if (demo_jobs < 4) demo_jobs = 4; }
""")
    jobs_c = ("drivers/net/demo_nic/jobs.c", """
#include "demo_nic.h"
void *demo_jobs_buf(void) { return kcalloc(demo_jobs, 64, GFP_KERNEL); }
""")
    other_c = ("drivers/net/other_nic/rx.c", """
extern unsigned int demo_buflen;
void *other_buf(void) { return kmalloc(demo_buflen, GFP_ATOMIC); }
""")
    v = sizes(param_c, header, netdev_c, other_c, adjusted_c, device_c, jobs_c)
    assert v["demo_rx"].known and v["demo_rx"].hi < 1024  # 255 bytes and the skb's headroom, not 64 KiB
    assert v["demo_buf"].sources == {"module_param:demo_buflen"} and v["demo_buf"].hi is None
    assert not v["other_buf"].sources
    # a parameter the driver adjusts in a third file is not the user's raw value
    assert not v["demo_jobs_buf"].sources


def test_an_mtu_is_what_the_admin_sets_up_to_the_drivers_max_mtu():
    """`ip link set DEV mtu N` reaches the driver only through dev_validate_mtu(): the MTU
    is the user's, at most the max_mtu the driver sets, joined with what the driver stores
    itself. Where max_mtu cannot be read, the driver's own stores decide, as before."""
    jumbo = ("drivers/net/demo_jumbo/main.c", """
void demo_setup(struct net_device *ndev) { ndev->max_mtu = 65535; ndev->mtu = 1500; }
void demo_refill(struct net_device *ndev) { netdev_alloc_skb(ndev, ndev->mtu + 14); }
""")
    plain = ("drivers/net/demo_plain/main.c", """
void plain_setup(struct net_device *ndev) { ndev->mtu = 1500; }
void plain_refill(struct net_device *ndev) { netdev_alloc_skb(ndev, ndev->mtu + 14); }
""")
    other = ("drivers/net/demo_other/main.c", "void other_setup(struct net_device *d) { d->max_mtu = 9000; d->mtu = 9000; }\n")
    loaded = ("drivers/net/demo_loaded/main.c", """
static int mtu;
module_param(mtu, int, 0);
void loaded_probe(struct net_device *dev) { dev->max_mtu = 1518; if (mtu) dev->mtu = mtu; }
int loaded_change_mtu(struct net_device *dev, int new_mtu) { dev->mtu = new_mtu; return 0; }
void loaded_refill(struct net_device *dev) { netdev_alloc_skb(dev, dev->mtu + 14); }
""")
    v = sizes(jumbo, plain, other, loaded)
    assert v["demo_refill"].known and v["demo_refill"].hi >= 65535 + 14
    assert v["demo_refill"].sources == {"netlink:demo_refill"}
    assert v["plain_refill"].known and not v["plain_refill"].sources and v["plain_refill"].hi < 2048
    # a module parameter the probe stores unchecked is beside the checked path; the
    # ndo_change_mtu store of the core's checked value is inside the user's range, at
    # most 1518: not what makes the size unbounded, so not among its sources
    assert v["loaded_refill"].sources == {"module_param:mtu"}
    assert v["loaded_refill"].hi is None


def test_a_module_parameter_of_a_drivers_own_type_is_validated_by_its_setter():
    """module_param_named(..., hashtbl_sz, 0644): the driver's param_ops_hashtbl_sz set()
    validates what the user writes, as a module_param_cb() one does; a ulong is the user's."""
    drv = ("net/demo_rpc/auth.c", """
static unsigned int demo_hashbits = 4;
static unsigned long demo_entries = 16;
static int param_set_hashtbl_sz(const char *val, const struct kernel_param *kp) { return 0; }
static const struct kernel_param_ops param_ops_hashtbl_sz = { .set = param_set_hashtbl_sz };
module_param_named(auth_hashtable_size, demo_hashbits, hashtbl_sz, 0644);
module_param_named(entries, demo_entries, ulong, 0644);
void *demo_table(void) { return kcalloc(1U << demo_hashbits, 16, GFP_KERNEL); }
void *demo_list(void) { return kcalloc(demo_entries, 16, GFP_KERNEL); }
""")
    v = sizes(drv)
    assert not v["demo_table"].sources
    assert v["demo_list"].sources == {"module_param:entries"} and v["demo_list"].hi is None


def test_a_module_parameter_read_in_a_checked_arm_is_what_passes_the_check():
    """hvcs' shape: `if (nr <= 0 || nr > MAX) n = DEFAULT; else n = nr;` holds at most MAX."""
    drv = ("drivers/tty/demo_hv/hv.c", """
#define DEMO_MAX_ADAPTERS 64
static int demo_nr_devs = -1;
module_param(demo_nr_devs, int, 0);
void *demo_index(void)
{
	int n;
	if (demo_nr_devs <= 0 || demo_nr_devs > DEMO_MAX_ADAPTERS)
		n = 8;
	else
		n = demo_nr_devs;
	return kmalloc_array(n, 16, GFP_KERNEL);
}
""")
    v = sizes(drv)["demo_index"]
    assert v.known and v.hi == 64 * 16 and v.sources == {"module_param:demo_nr_devs"}


def test_additions_in_sequence_add_once_and_in_a_loop_grow():
    """u_ether's shape: `size = 0; size += ETH_HLEN + mtu + extra; size += hdr_len;` adds
    each term once; a `+=` in a loop accumulates without a bound."""
    drv = ("drivers/usb/demo_eth/eth.c", """
static unsigned int demo_extra = 32;
module_param(demo_extra, uint, 0644);
void *demo_rx(int hdr)
{
	size_t size = 0;
	size += 14 + 1500;
	size += 64;
	if (hdr) {
		size += 511;
		size -= size % 512;
	}
	return kmalloc(size, GFP_ATOMIC);
}
void *demo_loop(int n)
{
	size_t size = 0;
	int i;
	for (i = 0; i < n; i++)
		size += demo_extra;
	return kmalloc(size, GFP_ATOMIC);
}
""")
    v = sizes(drv)
    assert v["demo_rx"].known and v["demo_rx"].hi == 14 + 1500 + 64 + 511
    assert v["demo_loop"].sources == {"module_param:demo_extra"} and v["demo_loop"].hi is None



def test_a_small_term_added_in_a_loop_grows_with_the_count_of_passes_not_its_sources():
    """f_uvc's shape: `bytes += xu->desc.bLength;` over a list, each term a u8 the user sets
    through an ioctl: the sum passes a page only by how many times the loop runs, not
    by the user's value. Unknown, not the user's unbounded size. A loop that counts up
    to the user's number (`i < req.count`) makes the sum the user's, as large as that
    number's type times the term, or as the check on the way lets it (with two additions
    in the loop, that bound is not computed: unknown); a term that can pass a page on
    its own keeps its sources, without a bound, as before."""
    v = sizes(("drivers/usb/demo_uvc/desc.c", """
struct demo_xu { struct list_head list; u8 len; };
struct demo_opts { struct list_head xus; };
struct demo_req { u8 len; u32 count; u32 big; };
long demo_set_len(struct demo_xu *xu, unsigned long arg)
{
	struct demo_req req;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	xu->len = 24 + req.len;
	return 0;
}
void *demo_copy_descriptors(struct demo_opts *opts)
{
	struct demo_xu *xu;
	unsigned int bytes = 16;
	list_for_each_entry(xu, &opts->xus, list)
		bytes += xu->len;
	return kmalloc(bytes, GFP_KERNEL);
}
long demo_entries(unsigned long arg)
{
	struct demo_req req;
	unsigned int size = 0, i;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	for (i = 0; i < req.count; i++)
		size += 64;
	return (long)kmalloc(size, GFP_KERNEL);
}
long demo_checked(unsigned long arg)
{
	struct demo_req req;
	unsigned int size = 0, i;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	if (req.count > 16)
		return -EINVAL;
	for (i = 0; i < req.count; i++)
		size += 64;
	return (long)kmalloc(size, GFP_KERNEL);
}
long demo_checked_twice(unsigned long arg)
{
	struct demo_req req;
	unsigned int size = 0, i;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	if (req.count > 16)
		return -EINVAL;
	for (i = 0; i < req.count; i++) {
		size += 64;
		size += 32;
	}
	return (long)kmalloc(size, GFP_KERNEL);
}
long demo_big_terms(struct demo_opts *opts, unsigned long arg)
{
	struct demo_req req;
	struct demo_xu *xu;
	unsigned int size = 0;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	list_for_each_entry(xu, &opts->xus, list)
		size += req.big;
	return (long)kmalloc(size, GFP_KERNEL);
}
"""))
    assert not v["demo_copy_descriptors"].sources and v["demo_copy_descriptors"].partial  # (16, and unknown)
    assert v["demo_entries"].sources == {"user:demo_entries"} and v["demo_entries"].hi == 0xFFFFFFFF * 64
    assert v["demo_checked"].hi == 16 * 64  # (what was stored before the loop, plus 16 passes)
    assert not v["demo_checked_twice"].sources and v["demo_checked_twice"].partial  # (not 16 * 64, nor 16 * 32)
    assert v["demo_big_terms"].sources == {"user:demo_big_terms"} and v["demo_big_terms"].hi is None


def test_a_value_checked_equal_to_an_unseen_one_unless_zero_is_not_the_users():
    """ethtool's get_rxfh shape: `if (n && n != dev_n) return -EINVAL;` leaves n either 0 or
    the device's size, which the analysis cannot read: unknown, not the user's 2^32."""
    drv = ("net/demo_eth/ioctl.c", """
struct demo_req { u32 n; };
int demo_get_size(void);
int demo_ioctl(void __user *arg)
{
	struct demo_req req;
	u32 n, dev_n = demo_get_size();
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	n = req.n;
	if (n && n != dev_n)
		return -EINVAL;
	return kzalloc(n * 4, GFP_KERNEL) != 0;
}
""")
    v = sizes(drv)
    assert not v["demo_ioctl"].known


def test_a_field_typed_by_a_macro_or_typedef_is_as_wide_as_the_type_it_names():
    """cciss' `#define WORD __u16`: a user's buf_size of that type is at most 65535."""
    defs = ("include/uapi/linux/demo_defs.h", "#define DEMO_WORD __u16\ntypedef __u16 demo_half_t;\n")
    ioctl_h = ("include/uapi/linux/demo_ioctl.h", """
#include <linux/demo_defs.h>
typedef struct { DEMO_WORD buf_size; demo_half_t other; unsigned int big; } demo_cmd_t;
""")
    drv = ("drivers/scsi/demo_raid/ioctl.c", """
#include <linux/demo_ioctl.h>
int demo_passthru_ioctl(void __user *arg)
{
	demo_cmd_t cmd;
	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	return kmalloc(cmd.buf_size, GFP_KERNEL) != 0;
}
int demo_other_ioctl(void __user *arg)
{
	demo_cmd_t cmd;
	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	return kmalloc(cmd.other, GFP_KERNEL) != 0;
}
int demo_big_ioctl(void __user *arg)
{
	demo_cmd_t cmd;
	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	return kmalloc(cmd.big, GFP_KERNEL) != 0;
}
""")
    v = sizes(defs, ioctl_h, drv)
    assert v["demo_passthru_ioctl"].hi == 65535 and v["demo_other_ioctl"].hi == 65535
    assert v["demo_big_ioctl"].hi == 4294967295


def test_a_value_a_checking_function_rejects_past_a_limit_is_bounded_by_it():
    """comedi's shape: `rc = check_len(dev, n); if (rc) break;` in an ioctl's switch, and
    `if (check_len(dev, n)) return -EINVAL;`: the checker's early error exit on its
    parameter bounds what the caller goes on with. A checker that checks nothing does not,
    nor one called in an arm the allocation is not in."""
    drv = ("drivers/demo_daq/fops.c", """
#define DEMO_MAX_INSNS 65536
struct demo_list { unsigned int n_insns; };
static int check_len(struct demo_dev *dev, unsigned int n)
{
	if (n > DEMO_MAX_INSNS) {
		dev_dbg(dev->dev, "too many\\n");
		return -EINVAL;
	}
	return 0;
}
static int check_nothing(unsigned int n) { return 0; }
long demo_ioctl(struct demo_dev *dev, unsigned int cmd, unsigned long arg)
{
	struct demo_list l;
	int rc = 0;
	switch (cmd) {
	case 1:
		if (copy_from_user(&l, (void __user *)arg, sizeof(l)))
			return -EFAULT;
		rc = check_len(dev, l.n_insns);
		if (rc)
			break;
		kcalloc(l.n_insns, 40, GFP_KERNEL);
		break;
	}
	return rc;
}
long demo_tested(struct demo_dev *dev, unsigned long arg)
{
	struct demo_list l;
	if (copy_from_user(&l, (void __user *)arg, sizeof(l)))
		return -EFAULT;
	if (check_len(dev, l.n_insns))
		return -EINVAL;
	return kcalloc(l.n_insns, 40, GFP_KERNEL) != 0;
}
long demo_other_arm(struct demo_dev *dev, unsigned long arg, int mode)
{
	struct demo_list l;
	if (copy_from_user(&l, (void __user *)arg, sizeof(l)))
		return -EFAULT;
	if (mode) {
		if (check_len(dev, l.n_insns))
			return -EINVAL;
	}
	return kcalloc(l.n_insns, 40, GFP_KERNEL) != 0;
}
long demo_unchecked(struct demo_dev *dev, unsigned long arg)
{
	struct demo_list l;
	if (copy_from_user(&l, (void __user *)arg, sizeof(l)))
		return -EFAULT;
	if (check_nothing(l.n_insns))
		return -EINVAL;
	return kcalloc(l.n_insns, 40, GFP_KERNEL) != 0;
}
""")
    v = sizes(drv)
    assert v["demo_ioctl"].hi == 65536 * 40 and v["demo_tested"].hi == 65536 * 40
    assert v["demo_unchecked"].hi == 0xFFFFFFFF * 40
    assert v["demo_other_arm"].hi == 0xFFFFFFFF * 40  # checked in one arm only


def test_a_local_clamped_by_an_if_before_the_read():
    """tehuti counts its FIFO size type up to 4, then clamps 4 to 3: the read after the
    `if` holds at most 3. An `if` inside an arm or a loop the read is not in, or one that
    stores something unbounded, clamps nothing."""
    body = """
static int pkts(int n) { return 64 << n; }
int demo_set(int pending)
{
	int sz = 0;

	for (; sz < 4; sz++) {
		if (pkts(sz) >= pending)
			break;
	}
	CLAMP
	return kmalloc(4096 << sz, GFP_ATOMIC) != NULL;
}
"""

    def hi(clamp: str):
        (size,) = [v for k, v in sizes(("drivers/net/demo/fifo.c", body.replace("CLAMP", clamp))).items()]
        return size.hi

    assert hi("if (sz == 4)\n\t\tsz = 3;") == 4096 << 3
    assert hi("if (sz > 2)\n\t\tsz = 2;") == 4096 << 2
    assert hi("") == 4096 << 4
    assert hi("if (pending)\n\t\tif (sz == 4)\n\t\t\tsz = 3;") == 4096 << 4  # only on some paths
    assert hi("if (sz == 4)\n\t\tsz = pending;") is None or hi("if (sz == 4)\n\t\tsz = pending;") > 4096 << 3


def test_a_local_clamped_by_the_test_of_what_it_was_computed_from():
    """comedi's instruction ioctl: `n = max(n, insn->n); if (insn->n > MAX) { insn->n =
    MAX; n = MAX; }`. Where the `if` is not taken, insn->n <= MAX, so n is too. A store
    that shrinks as the tested value grows, or an `if` testing something else, bounds
    nothing."""
    body = """
#define DEMO_MAX_SAMPLES 65536
struct demo_insn { unsigned int n; unsigned int chan; };
long demo_insn_ioctl(struct demo_dev *dev, unsigned long arg)
{
	struct demo_insn insn;
	unsigned int n = 16;

	if (copy_from_user(&insn, (void __user *)arg, sizeof(insn)))
		return -EFAULT;
	n = STORE;
	if (TEST > DEMO_MAX_SAMPLES) {
		insn.n = DEMO_MAX_SAMPLES;
		n = DEMO_MAX_SAMPLES;
	}
	return kmalloc_array(n, sizeof(unsigned int), GFP_KERNEL) != NULL;
}
"""

    def hi(store: str, test: str):
        text = body.replace("STORE", store).replace("TEST", test)
        (size,) = [v for k, v in sizes(("drivers/demo/insn.c", text)).items()]
        return size.hi

    assert hi("max(n, insn.n)", "insn.n") == DEMO_MAX * 4
    assert hi("insn.n + 1", "insn.n") == (DEMO_MAX + 1) * 4
    assert hi("max(n, insn.n)", "insn.chan") == 0xFFFFFFFF * 4
    assert hi("0x20000 - insn.n", "insn.n") != DEMO_MAX * 4  # shrinks as insn.n grows


DEMO_MAX = 65536


def test_a_parameter_read_in_a_branch_joins_only_the_callers_that_take_it():
    """gve_rx_copy()'s shape: the else of `if (ctx)` allocates `len`; the caller passing
    its context (`ctx = &rx->ctx`, never NULL) never gets there, the NULL caller does."""
    source = """
struct demo_ctx { int n; };
struct demo_rx { struct demo_ctx ctx; };
static void *demo_copy(struct demo_ctx *ctx, unsigned int len)
{
	if (ctx)
		return NULL;
	return kmalloc(len, GFP_ATOMIC);
}
void demo_big(struct demo_rx *rx)
{
	struct demo_ctx *ctx = &rx->ctx;

	demo_copy(ctx, 1 << 20);
}
void demo_small(void)
{
	demo_copy(NULL, 256);
}
CALLER
"""
    size = sizes(("drivers/net/demo/copy.c", source.replace("CALLER", "")))["demo_copy"]
    assert (size.lo, size.hi) == (256, 256)
    # a caller whose context may be NULL may bring its length there
    other = "void demo_any(struct demo_ctx *c) { demo_copy(c, 1 << 16); }"
    size = sizes(("drivers/net/demo/copy.c", source.replace("CALLER", other)))["demo_copy"]
    assert size.hi == 1 << 16


def test_a_compound_store_adds_to_what_the_function_stored_first():
    """qla3xxx's shape: `lrg_buffer_len = NORMAL/JUMBO; lrg_buffer_len += hdr;` in one
    function. The += adds to the function's own store, not to every value the field
    ever had: bounded, not an accumulation. A += whose base another function stored
    stays unknown."""
    v = sizes(("drivers/net/q/q.c", """
struct q { unsigned int len, blen, clen, dlen, elen, flen; int mtu; };
static int q_setup(struct q *q)
{
	if (q->mtu == 1500)
		q->len = 1500;
	else
		q->len = 9000;
	q->len += 32;
	q->blen = 65536;
	q->blen += 64;
	q->clen = 1500;
	if (q->mtu > 9000)
		q->clen = 16;
	q->clen += 32;
	return 0;
}
static int q_open(struct q *q)
{
	if (q->mtu == 1500) {
		q->elen = 1500;
	} else if (q->mtu == 9000) {
		q->elen = 9000;
	} else {
		pr_err("bad mtu\n");
		return -EINVAL;
	}
	q->elen += 64;
	return 0;
}
static int q_open2(struct q *q)
{
	if (q->mtu == 1500)
		q->flen = 1500;
	else if (q->mtu == 9000)
		q->flen = 9000;
	q->flen += 64;
	return 0;
}
static void q_grow(struct q *q) { q->dlen = 64; q_more(q); }
static void q_more(struct q *q) { q->dlen += 4096; }
void *q_rx(struct q *q) { return kmalloc(q->len, GFP_ATOMIC); }
void *q_rx2(struct q *q) { return kmalloc(q->blen, GFP_ATOMIC); }
void *q_rx3(struct q *q) { return kmalloc(q->clen, GFP_ATOMIC); }
void *q_rx4(struct q *q) { return kmalloc(q->dlen, GFP_ATOMIC); }
void *q_rx5(struct q *q) { return kmalloc(q->elen, GFP_ATOMIC); }
void *q_rx6(struct q *q) { return kmalloc(q->flen, GFP_ATOMIC); }
"""))
    assert (v["q_rx"].lo, v["q_rx"].hi, v["q_rx"].partial) == (1500, 9032, False)
    assert (v["q_rx2"].hi, v["q_rx2"].partial) == (65600, False)
    assert (v["q_rx3"].lo, v["q_rx3"].hi, v["q_rx3"].partial) == (16, 1532, False)
    assert v["q_rx4"].partial and v["q_rx4"].why == "arithmetic"
    # an else-if chain whose last arm leaves the function covers every path (qla3xxx) ...
    assert (v["q_rx5"].lo, v["q_rx5"].hi, v["q_rx5"].partial) == (1500, 9064, False)
    # ... one that falls through without a store does not
    assert v["q_rx6"].partial and v["q_rx6"].why == "arithmetic"


def test_a_callee_that_leaves_on_a_field_its_caller_tested_takes_no_value_from_it():
    """usbcore's shape: the mapper calls the coherent helper only `if (hcd->localmem_pool)`,
    and the buffer allocator returns from the pool `if (hcd->localmem_pool)` before its
    kmalloc(): the mapper's length never reaches the kmalloc, two calls down. A caller
    that does not test the field still brings its length."""
    source = """
struct demo_hcd { void *localmem_pool; int flags; };
struct demo_urb { struct demo_hcd *hcd; unsigned int len; };
static void *demo_buffer_alloc(struct demo_hcd *hcd, size_t size, gfp_t gfp)
{
	if (hcd->localmem_pool)
		return demo_pool_alloc(hcd->localmem_pool, size);
	return kmalloc(size, gfp);
}
static int demo_coherent(struct demo_hcd *hcd, size_t size, gfp_t gfp)
{
	void *p = demo_buffer_alloc(hcd, size + sizeof(long), gfp);
	return p ? 0 : -ENOMEM;
}
int demo_map(struct demo_hcd *hcd, struct demo_urb *urb)
{
	if (hcd->localmem_pool)
		return demo_coherent(hcd, 1 << 22, GFP_ATOMIC);
	return 0;
}
int demo_small(struct demo_hcd *hcd)
{
	return demo_coherent(hcd, 64, GFP_ATOMIC);
}
OTHER
"""
    size = sizes(("drivers/usb/demo/hcd.c", source.replace("OTHER", "")))["demo_buffer_alloc"]
    assert (size.lo, size.hi) == (64 + 8, 64 + 8)
    # a caller testing another field, or the same one the same way, still reaches it
    other = """
int demo_pio(struct demo_hcd *hcd)
{
	if (!hcd->localmem_pool && hcd->flags)
		return demo_coherent(hcd, 1 << 16, GFP_ATOMIC);
	return 0;
}
"""
    size = sizes(("drivers/usb/demo/hcd.c", source.replace("OTHER", other)))["demo_buffer_alloc"]
    assert size.hi == (1 << 16) + 8


def test_a_hub_field_takes_the_stores_of_the_readers_module():
    """A field several drivers write (here `demo_netdev.max_len`) is a hub: a reader sees
    only its own driver's stores, and its driver is its module (Kbuild), not only its
    file: the store in the module's setup file bounds the read in its rx file, the other
    drivers' stores do not. Without the Makefile the two directories are two drivers."""
    from allocscan.kbuild import composite_modules

    files = [
        ("include/linux/demo_netdev.h", "struct demo_netdev { unsigned int max_len; };\n"),
        ("drivers/net/foo/foo_main.c", "void foo_setup(struct demo_netdev *nd) { nd->max_len = 9000; }\n"),
        ("drivers/net/foo/rx/foo_rx.c",
         "void *foo_rx(struct demo_netdev *nd) { return kmalloc(nd->max_len, GFP_ATOMIC); }\n"),
    ] + [(f"drivers/net/bar{i}/bar.c", f"void bar{i}(struct demo_netdev *nd) {{ nd->max_len = {1 << (20 + i)}; }}\n")
         for i in range(4)]
    facts = [extract_file(path, text.encode()) for path, text in files]

    def read(makefile):
        program = link(facts)
        if makefile:
            program.modules = composite_modules({"drivers/net/foo": [makefile]})
        analysis = analyze(program, builtin_kernel("6.1"))
        return next(s.size for s in analysis.sites if s.allocator and s.function.name == "foo_rx")

    size = read("obj-m += foo.o\nfoo-y := foo_main.o rx/foo_rx.o\n")
    assert (size.lo, size.hi) == (9000, 9000)
    assert not read("").known


def test_a_hub_the_reader_never_writes_is_bounded_by_small_stores_tree_wide():
    """mac80211's shape: the core reads `hw->extra_tx_headroom`, which each driver sets.
    With every store in the tree known and small, the read is within their join, whichever
    driver's object it is; a store too large (or unknown) leaves it unknown, and no other
    driver's store is taken as proof of a large size."""
    def read(big: str):
        files = [("include/net/demo_hw.h", "struct demo_hw { unsigned int headroom; };\n"),
                 ("net/democore/tx.c",
                  "void *demo_tx(struct demo_hw *hw) { return kmalloc(hw->headroom + 100, GFP_ATOMIC); }\n")]
        stores = ["32", "64", "sizeof(u64) * 4", big]
        files += [(f"drivers/net/wireless/v{i}/main.c", f"void v{i}_probe(struct demo_hw *hw) {{ hw->headroom = {n}; }}\n")
                  for i, n in enumerate(stores)]
        return sizes(*files)["demo_tx"]

    size = read("128")
    assert (size.lo, size.hi) == (132, 228)
    assert not read("1 << 20").known
    assert read("1 << 20").why == "field-hub"
    assert not read("v3_headroom()").known


def test_a_hub_join_adds_what_drivers_add_to_their_own_store_and_skips_what_lowers_it():
    """`hw->headroom += DEMO_USB_HDR` after a driver's own store (mt76's USB variant), and
    `hw->headroom -= ...` (mwl8k): the join's maximum grows by every such addition outside
    a loop, and a store that only lowers the field adds nothing. An addition in a loop, or
    of an unknown, leaves the field unknown."""
    def read(extra: str):
        files = [("include/net/demo_hw.h", "struct demo_hw { unsigned int headroom; };\n"),
                 ("net/democore/tx.c",
                  "void *demo_tx(struct demo_hw *hw) { return kmalloc(hw->headroom + 100, GFP_ATOMIC); }\n"),
                 ("drivers/net/wireless/v0/main.c", "void v0_probe(struct demo_hw *hw) { hw->headroom = 32; }\n"),
                 ("drivers/net/wireless/v1/main.c",
                  "#define DEMO_USB_HDR 8\nvoid v1_probe(struct demo_hw *hw, int usb)\n"
                  "{ hw->headroom = 64; if (usb) hw->headroom += DEMO_USB_HDR; }\n"),
                 ("drivers/net/wireless/v2/main.c",
                  "void v2_probe(struct demo_hw *hw, int ap) { hw->headroom = 40; hw->headroom -= ap ? 4 : 0; }\n"),
                 ("drivers/net/wireless/v3/main.c", f"void v3_probe(struct demo_hw *hw, int n) {{ {extra} }}\n")]
        return sizes(*files)["demo_tx"]

    size = read("hw->headroom = 16; hw->headroom += 4;")
    assert (size.lo, size.hi) == (116, 64 + 8 + 4 + 100)
    assert not read("for (int i = 0; i < n; i++) hw->headroom += 4;").known
    assert not read("hw->headroom = 16; hw->headroom += demo_read(n);").known
    assert not read("hw->headroom = 16; hw->headroom++;").known  # a counter: once per event, not per object


def test_a_typed_min_with_a_type_of_several_words_bounds_the_size():
    """`min_t(unsigned int, len, MAX)` clamps like `min_t(u32, len, MAX)`, in the
    allocation's argument and through a local."""
    v = sizes(("drivers/demo/typed.c", """
static unsigned int big = 1 << 20;
module_param(big, uint, 0644);
void *direct(void) { return kmalloc(min_t(unsigned int, big, 4096), GFP_ATOMIC); }
void *local(void) { unsigned long n = min_t(unsigned long, big,\n\t\t\t8192); return kmalloc(n, GFP_ATOMIC); }
"""))
    assert v["direct"].hi == 4096 and v["local"].hi == 8192


ISOTP = """
#define DEMO_DEFAULT_PDU 8300
#define DEMO_MIN_PDU 4095
#define DEMO_MAX_PDU (1025 * 1024U)
static unsigned int max_pdu __read_mostly = DEMO_DEFAULT_PDU;
module_param(max_pdu, uint, PERM);
static void *demo_rcv(void)
{
	return kmalloc(max_pdu, GFP_ATOMIC);
}
static __init int demo_init(void)
{
	int err = demo_register();

	if (err)
		return err;
	max_pdu = max_t(unsigned int, max_pdu, DEMO_MIN_PDU);
	max_pdu = min_t(unsigned int, max_pdu, DEMO_MAX_PDU);
	return 0;
}
"""


def test_a_load_time_parameter_the_init_normalises_is_the_users_up_to_the_clamp():
    """isotp's shape: `max_pdu = min_t(unsigned int, max_pdu, MAX)` in the init function of
    a 0444 parameter: at run time it is what the user loaded the module with, up to MAX,
    and the value flow says so. Writable in sysfs, the clamp is bypassed later: not bounded
    by it; a clamp only on some path of the init function proves nothing either."""
    v = sizes(("net/demo/isotp.c", ISOTP.replace("PERM", "0444")))["demo_rcv"]
    assert v.hi == 1025 * 1024 and v.sources == {"module_param:max_pdu"} and not v.partial
    assert any("when the module loads" in step.text for step in v.steps)
    def clamped_at_load(source):
        return any("when the module loads" in step.text for step in sizes(("net/demo/isotp.c", source))["demo_rcv"].steps)

    assert not clamped_at_load(ISOTP.replace("PERM", "0644"))
    assert not clamped_at_load(ISOTP.replace("PERM", "0444").replace("	max_pdu = min_t", "	if (err > 1)\n		max_pdu = min_t"))


def test_init_stores_of_a_parameter_apply_in_order():
    """ipoib's shape: `n = roundup_pow_of_two(n); n = min(n, MAX); n = max(n, MIN);` in the
    init function: each store reads what the one before left, so the last one's max()
    does not undo the min()."""
    v = sizes(("drivers/demo/ipo.c", """
static int recvq = 256;
module_param_named(recv_queue_size, recvq, int, 0444);
void *demo_ring(void) { return kcalloc(recvq, 64, GFP_ATOMIC); }
static int __init demo_init(void)
{
	recvq = roundup_pow_of_two(recvq);
	recvq = min(recvq, 8192);
	recvq = max(recvq, 2);
	return 0;
}
"""))["demo_ring"]
    assert v.hi == 8192 * 64 and v.sources == {"module_param:recv_queue_size"}


def test_a_field_of_an_array_element_proves_nothing():
    """`ring[i].len`, `profile[i].num`: cells are not per element, so another element's store
    proves nothing of this one (mthca's profile table: the UDAV entry's count is a module
    parameter, the CQ entry's is not), and the driver's stores to a DMA ring's entries
    (`rx_ring[i]->len = 0` at init) are not what the device writes there. At a constant
    index, the element's stores bound it (bounds only)."""
    v = sizes(("drivers/net/demo/queue.c", """
struct demo_rd { unsigned short len; };
struct demo_priv { struct demo_rd *rx_ring[16]; };
void demo_init_ring(struct demo_priv *priv, int i) { priv->rx_ring[i]->len = 0; }
void *demo_rx(struct demo_priv *priv, int entry) { return netdev_alloc_skb(NULL, priv->rx_ring[entry]->len + 2); }
struct demo_queue { unsigned int winfo_size; };
struct demo_dev { struct demo_queue *tx; };
void demo_queue_init(struct demo_queue *q) { q->winfo_size = 20; }
void *demo_tx(struct demo_dev *dev) { return kmalloc(dev->tx[0].winfo_size * 100, GFP_ATOMIC); }
struct demo_res { u64 num; };
struct demo_limits { u64 num_cqs; };
static unsigned int num_udav = 1 << 20;
module_param(num_udav, uint, 0444);
void demo_profile(struct demo_limits *limits)
{
	struct demo_res profile[2];
	int i;

	profile[0].num = num_udav;
	profile[1].num = 64;
	for (i = 0; i < 2; i++)
		if (i == 1)
			limits->num_cqs = profile[i].num;
}
void *demo_cq_table(struct demo_limits *limits) { return kmalloc_array(limits->num_cqs, 4096, GFP_KERNEL); }
"""))
    assert not v["demo_rx"].known and interval(v["demo_rx"])[1] is None
    # at a constant index, every element's stores bound it (rt2x00's tx[0].winfo_size)
    assert not v["demo_tx"].known and interval(v["demo_tx"])[1] == 2000
    assert not v["demo_cq_table"].sources


def test_a_method_of_an_ops_table_takes_what_its_seen_calls_pass_as_a_lower_bound_only():
    """mt76's queue_ops->alloc: the one call through the member we resolve passes 0; the
    others hide in a macro (mt76_queue_alloc()) or go through receivers of no known type.
    A method bound into an ops table has callers we may not see: what the seen ones pass
    proves a maximum at least that large, never a bound. A plain static helper keeps the
    join of its callers."""
    v = sizes(
        ("drivers/net/demo/demo.h", """
struct demo_queue { unsigned int buf_size; };
struct demo_queue_ops { int (*alloc)(struct demo_dev *dev, struct demo_queue *q, int bufsize); };
struct demo_dev { const struct demo_queue_ops *queue_ops; };
"""),
        ("drivers/net/demo/dma.c", """
static int demo_dma_alloc_queue(struct demo_dev *dev, struct demo_queue *q, int bufsize)
{
	void *p = kmalloc(bufsize, GFP_ATOMIC);
	return p != NULL;
}
static const struct demo_queue_ops demo_dma_ops = { .alloc = demo_dma_alloc_queue };
int demo_helper(struct demo_queue *q, int bufsize)
{
	void *p = kmalloc(bufsize, GFP_ATOMIC);
	return p != NULL;
}
"""),
        ("drivers/net/demo/main.c", """
int demo_init_queue(struct demo_dev *dev, struct demo_queue *q)
{
	demo_helper(q, 512);
	return dev->queue_ops->alloc(dev, q, 2048);
}
"""))
    method, helper = v["demo_dma_alloc_queue"], v["demo_helper"]
    assert method.known and method.partial and method.hi == 2048
    assert "param-through-pointer" in method.why
    assert helper.known and not helper.partial and (helper.lo, helper.hi) == (512, 512)


def test_a_volatile_member_is_what_a_device_writes_not_the_drivers_stores():
    """ariadne's DMA ring: `volatile u_short RMD3` holds the received frame's length, which
    the chip writes; the driver only clears it. Its stores bound nothing but the type;
    a plain member beside it is still what the driver stores."""
    v = sizes(("drivers/net/demo/ring.c", """
struct demo_rdre { volatile unsigned short len; unsigned short buf_len; };
void demo_init_ring(struct demo_rdre *rd) { rd->len = 0; rd->buf_len = 1536; }
void *demo_rx(struct demo_rdre *rd) { return kmalloc(rd->len + 2, GFP_ATOMIC); }
void *demo_refill(struct demo_rdre *rd) { return kmalloc(rd->buf_len, GFP_ATOMIC); }
"""))
    assert not v["demo_rx"].known and v["demo_rx"].why == "device"
    assert interval(v["demo_rx"]) == (2, 0xFFFF + 2)  # bounds only: the u16 still holds
    assert v["demo_refill"].known and v["demo_refill"].hi == 1536


def test_a_field_a_constant_mask_selects():
    """FIELD_GET(mask, reg) and the *_get_bits(reg, mask) helpers: a descriptor's length
    field is at most its mask shifted down, the device still its source; a big-endian
    register's bytes are not the field's, so only the mask bounds it."""
    v = sizes(("drivers/net/demo/rx.c", """
#define DEMO_RX_LEN GENMASK(13, 0)
#define DEMO_RX_SEG GENMASK(27, 16)
struct demo_rxd { __le32 dw0; __le32 dw1; };
void *by_helper(struct demo_rxd *rxd) { return kmalloc(le32_get_bits(rxd->dw0, DEMO_RX_LEN), GFP_ATOMIC); }
void *by_field(struct demo_rxd *rxd) { return kmalloc(FIELD_GET(DEMO_RX_SEG, le32_to_cpu(rxd->dw1)) * 4, GFP_ATOMIC); }
void *exact(void) { return kmalloc(FIELD_GET(GENMASK(7, 4), 0xf5), GFP_ATOMIC); }
void *swapped(void) { return kmalloc(be16_get_bits(0x1234, GENMASK(11, 0)), GFP_ATOMIC); }
"""))
    assert (v["by_helper"].known, interval(v["by_helper"])) == (True, (0, 0x3fff))
    assert v["by_helper"].sources == {"device:demo_rxd.dw0"}
    assert (v["by_field"].known, interval(v["by_field"])) == (True, (0, 0xfff * 4))
    assert (v["exact"].lo, v["exact"].hi) == (0xf, 0xf)
    assert interval(v["swapped"]) == (0, 0xfff) and not (v["swapped"].known and v["swapped"].lo == v["swapped"].hi)


def test_byte_order_helpers_pass_a_device_value_through():
    """`__le32_to_cpu()` is the value itself on the target, whatever definition the tree
    has (a big-endian architecture's header spells it with __builtin_bswap32())."""
    v = sizes(("arch/demo_be/include/uapi/asm/byteorder.h", """
#define __le32_to_cpu(x) __builtin_bswap32((__u32)(x))
"""), ("drivers/net/demo/rxd.c", """
struct demo_rxd { __le32 len; };
void *rx(struct demo_rxd *rxd) { return kmalloc(__le32_to_cpu(rxd->len), GFP_ATOMIC); }
"""))
    assert v["rx"].known and v["rx"].sources == {"device:demo_rxd.len"}


def test_a_byte_order_field_read_through_a_cast_of_a_received_buffer():
    """`hdr = (void *)msg->params; size = be16_to_cpu(hdr->size);`: what the firmware sent,
    though the driver stores `size` into that struct type when it builds messages; not
    when the function fills the field in itself, nor through a fresh allocation."""
    v = sizes(("drivers/misc/demo_prd.c", """
struct demo_msg_hdr { u8 type; __be16 size; };
struct demo_msg { struct demo_msg_hdr hdr; u64 token; };
struct demo_fw_msg { u64 params[8]; };
int demo_send(void) { struct demo_msg msg; msg.hdr.size = cpu_to_be16(sizeof(msg)); return demo_write(&msg); }
void *demo_notify(struct demo_fw_msg *msg)
{
	struct demo_msg_hdr *hdr = (void *)msg->params;
	return kzalloc(be16_to_cpu(hdr->size) + 16, GFP_ATOMIC);
}
void *demo_build(struct sk_buff *skb, u16 len)
{
	struct demo_msg_hdr *hdr = (struct demo_msg_hdr *)skb->data;
	hdr->size = cpu_to_be16(24);
	return kzalloc(be16_to_cpu(hdr->size), GFP_ATOMIC);
}
"""))
    assert v["demo_notify"].known and v["demo_notify"].sources == {"device:demo_msg_hdr.size"}
    assert interval(v["demo_notify"]) == (16, 0xFFFF + 16)
    assert not v["demo_build"].sources


def test_a_check_inside_unlikely_bounds_as_the_bare_check_does():
    """`if (unlikely(len > 0x700)) goto drop;`: the branch hint changes nothing of the truth."""
    v = sizes(("drivers/net/demo/pio.c", """
struct demo_rxhdr { __le16 frame_len; };
struct demo_wl { u8 *scratch; };
void *demo_rx(struct demo_wl *wl)
{
	struct demo_rxhdr *rxhdr = (struct demo_rxhdr *)wl->scratch;
	u16 len = le16_to_cpu(rxhdr->frame_len);

	if (unlikely(len > 0x700))
		goto drop;
	if (likely(len != 0) && unlikely(!len))
		goto drop;
	return kmalloc(len + 2, GFP_ATOMIC);
drop:
	return NULL;
}
"""))
    assert interval(v["demo_rx"]) == (2, 0x702)


USB_H = ("include/linux/usb.h", """
struct urb {
	void *transfer_buffer;
	u32 transfer_buffer_length;
	u32 actual_length;
	usb_complete_t complete;
};

static inline void usb_fill_bulk_urb(struct urb *urb, struct usb_device *dev, unsigned int pipe,
				     void *transfer_buffer, int buffer_length,
				     usb_complete_t complete_fn, void *context)
{
	urb->transfer_buffer = transfer_buffer;
	urb->transfer_buffer_length = buffer_length;
	urb->complete = complete_fn;
}
""")

USB_DRIVER = ("drivers/net/usb/demo.c", """
#include <linux/usb.h>
#define DEMO_RX_SIZE 65536
#define DEMO_INT_SIZE 16

struct demo_dev { struct urb *rx_urb, *int_urb; void *rx_buf, *int_buf; };

static void demo_rx_done(struct urb *urb)
{
	struct sk_buff *skb = alloc_skb(urb->actual_length, GFP_ATOMIC);

	if (skb)
		skb_put_data(skb, urb->transfer_buffer, urb->actual_length);
}

static void demo_int_done(struct urb *urb)
{
	kfree(kmalloc(urb->actual_length, GFP_ATOMIC));
}

static void demo_log_done(struct urb *urb)
{
	kfree(kmalloc(urb->actual_length, GFP_ATOMIC));
}

int demo_start(struct demo_dev *dev, struct usb_device *udev)
{
	usb_fill_bulk_urb(dev->rx_urb, udev, 1, dev->rx_buf, DEMO_RX_SIZE, demo_rx_done, dev);
	usb_fill_bulk_urb(dev->int_urb, udev, 2, dev->int_buf, DEMO_INT_SIZE, demo_int_done, dev);
	return 0;
}
""")


def test_a_transfer_completes_with_at_most_the_buffer_the_driver_gave_it():
    """A completion handler's `urb->actual_length` is what the device sent, up to the
    transfer_buffer_length the driver set: through usb_fill_bulk_urb(), a setter defined
    in a header, whose call is the driver's store. The handler the call arms sees that
    call's length only; a handler no call names sees every length the file sets."""
    from allocscan.rules.base import device_sources

    v = sizes(USB_H, USB_DRIVER)
    rx, small, unnamed = v["demo_rx_done"], v["demo_int_done"], v["demo_log_done"]
    assert rx.hi > 65536 and device_sources(rx) == ["device:urb.actual_length"]
    assert "usb_fill_bulk_urb() in demo_start() stores DEMO_RX_SIZE into urb.transfer_buffer_length" in \
        [st.text for st in rx.steps]
    assert (small.lo, small.hi) == (0, 16)
    assert unnamed.hi == 65536
    # without a length the driver sets, the field's stores decide, as before: nothing
    no_fill = USB_DRIVER[1].replace("usb_fill_bulk_urb(", "demo_fill_later(")
    assert not sizes(USB_H, (USB_DRIVER[0], no_fill))["demo_rx_done"].known


NETDEV = [("include/linux/netdevice.h", """
struct net_device { unsigned int mtu; unsigned int min_mtu; unsigned int max_mtu; };
"""), ("net/ethernet/eth.c", """
#include <linux/netdevice.h>
void ether_setup(struct net_device *dev)
{
	dev->mtu = ETH_DATA_LEN;
	dev->max_mtu = ETH_DATA_LEN;
}
"""), ("net/802/hippi.c", """
#include <linux/netdevice.h>
static void hippi_setup(struct net_device *dev)
{
	dev->mtu = 65280;
	dev->max_mtu = 65280;
}
"""), ("drivers/net/other/other.c", """
#include <linux/netdevice.h>
static int other_change_mtu(struct net_device *dev, int new_mtu)
{
	dev->mtu = new_mtu;
	return 0;
}
static void other_setup(struct net_device *dev) { dev->max_mtu = 0; }
""")]

MTU_DRIVER = """
#include <linux/netdevice.h>
void *demo_rx(struct net_device *dev) { return kmalloc(dev->mtu + 64, GFP_ATOMIC); }
int demo_probe(void)
{
	struct net_device *dev = ALLOCATE;
	return register_netdev(dev);
}
static void demo_setup(struct net_device *dev) { dev->flags = 0; }
"""


def test_a_field_the_driver_never_stores_holds_what_its_allocators_setup_stored():
    """An alloc_etherdev() driver's max_mtu is ether_setup()'s ETH_DATA_LEN, so the user's
    MTU reaches 1500; alloc_netdev() with the driver's own setup, which leaves max_mtu 0,
    lets any MTU dev_set_mtu()'s int holds through (dev_validate_mtu() checks max_mtu only
    above 0: ppp); alloc_hippi_dev()'s setup allows 65280."""
    def mtu_size(path, allocate, driver=MTU_DRIVER):
        return sizes(*NETDEV, (path, driver.replace("ALLOCATE", allocate)))["demo_rx"]

    eth = mtu_size("drivers/net/ethernet/demo/demo.c", "alloc_etherdev(64)")
    assert (eth.hi, eth.sources) == (1500 + 64, frozenset({"netlink:demo_rx"}))
    assert "ether_setup() stores ETH_DATA_LEN into net_device.max_mtu" in [st.text for st in eth.steps]
    unset = mtu_size("drivers/net/demo2/demo.c", 'alloc_netdev(64, "d%d", 0, demo_setup)')
    assert (unset.hi, unset.sources) == (2147483647 + 64, frozenset({"netlink:demo_rx"}))
    assert any("net_device.max_mtu is 0, which sets no limit" in st.text for st in unset.steps)
    # a setup that calls ether_setup(), or a store elsewhere in the module (through a
    # receiver whose type is not known), is no proof of 0: unknown, as before
    calling = MTU_DRIVER.replace("dev->flags = 0;", "ether_setup(dev);")
    assert not mtu_size("drivers/net/demo3/demo.c", 'alloc_netdev(64, "d%d", 0, demo_setup)', calling).known
    untyped = MTU_DRIVER + "void demo_tune(void *p) { struct demo_priv *priv = p; priv->ndev->max_mtu = 9000; }\n"
    assert not mtu_size("drivers/net/demo4/demo.c", 'alloc_netdev(64, "d%d", 0, demo_setup)', untyped).known
    # a driver that sets max_mtu to 0 itself (ip_gre) lets any MTU through too
    zero = MTU_DRIVER.replace("dev->flags = 0;", "dev->max_mtu = 0;")
    assert mtu_size("drivers/net/demo5/demo.c", 'alloc_netdev(64, "d%d", 0, demo_setup)', zero).hi == 2147483647 + 64
    assert mtu_size("drivers/net/hippi/demo.c", "alloc_hippi_dev(64)").hi == 65280 + 64
    # protocol code reads a route's device, made and set up anywhere (ip6_output's
    # rt->dst.dev->mtu): a max_mtu its own module never stores says nothing there
    assert not mtu_size("net/demo6/output.c", 'alloc_netdev(64, "d%d", 0, demo_setup)').known
    # the device a function has just made holds its setup's MTU: no user has reached it
    # (6pack's sixpack_open() sizes its buffers after alloc_netdev(), before registering)
    fresh = MTU_DRIVER.replace("return register_netdev(dev);", "demo_rx(dev);\n\treturn register_netdev(dev);")
    fresh = fresh.replace("void *demo_rx(", "static void *demo_rx(")
    assert not mtu_size("drivers/net/demo7/demo.c", 'alloc_netdev(64, "d%d", 0, demo_setup)', fresh).known
    # ... unless it is also a callback, run on a registered device (ndo_open)
    bound = fresh + "static const struct net_device_ops demo_ops = { .ndo_open = demo_rx };\n"
    assert mtu_size("drivers/net/demo8/demo.c", 'alloc_netdev(64, "d%d", 0, demo_setup)', bound).hi == 2147483647 + 64
    # a library's allocator hands the device to drivers of other modules, which raise
    # max_mtu themselves (libipw and ipw2200's 2304): ether_setup() says nothing there
    library = MTU_DRIVER.replace("ALLOCATE", "alloc_etherdev(64)").replace("int demo_probe(void)",
                                                                          "struct net_device *demo_lib_alloc(void)")
    library = library.replace("return register_netdev(dev);", "return dev;")
    user = """
struct net_device *demo_lib_alloc(void);
int demo_user_probe(void)
{
	struct net_device *dev = demo_lib_alloc();

	dev->max_mtu = 2304;
	return register_netdev(dev);
}
"""
    v = sizes(*NETDEV, ("drivers/net/wireless/demolib/lib.c", library), ("drivers/net/wireless/demodrv/drv.c", user))
    assert not v["demo_rx"].known


GADGET_REPORT = """
static void demo_report_complete(struct usb_ep *ep, struct usb_request *req)
{
	struct demo *d = req->context;

	d->report = krealloc(d->report, req->actual, GFP_ATOMIC);
}

static int demo_setup(struct usb_function *f, const struct usb_ctrlrequest *ctrl)
{
	struct usb_request *req = f->config->cdev->req;
	u16 length = __le16_to_cpu(ctrl->wLength);

	req->complete = demo_report_complete;
	req->length = length;
	return usb_ep_queue(f->config->cdev->gadget->ep0, req, GFP_ATOMIC);
}
"""


def test_a_hosts_control_request_is_as_long_as_the_gadget_framework_lets_it_be():
    """What the host sends on ep0 (`req->actual`) is at most the request's length, here the
    host's wLength. composite_setup() refuses one longer than its 4 KiB ep0 buffer, so a
    usb_function sees at most 4096; a gadget outside the composite framework sees 16 bits."""
    composite = sizes(("drivers/usb/gadget/function/f_demo.c", GADGET_REPORT))["demo_report_complete"]
    legacy = sizes(("drivers/usb/gadget/legacy/demo.c", GADGET_REPORT))["demo_report_complete"]
    assert (composite.hi, legacy.hi) == (4096, 0xFFFF)
    assert "device:usb_ctrlrequest.wLength" in composite.sources


CHANGE_MTU = """
#include <linux/netdevice.h>
struct demo_priv { unsigned int rx_buf_len; };

static int demo_change_mtu(struct net_device *dev, int new_mtu)
{
	struct demo_priv *priv = netdev_priv(dev);

	priv->rx_buf_len = new_mtu + 32;
	return 0;
}

void *demo_refill(struct demo_priv *priv) { return kmalloc(priv->rx_buf_len, GFP_ATOMIC); }

static const struct net_device_ops demo_netdev_ops = {
	.ndo_change_mtu = demo_change_mtu,
};

int demo_probe(struct net_device *dev)
{
	dev->netdev_ops = &demo_netdev_ops;
	dev->max_mtu = 9000;
	return 0;
}
"""


def test_ndo_change_mtu_gets_what_the_user_asked_for_up_to_the_devices_max_mtu():
    """dev_set_mtu() calls ndo_change_mtu() only with an MTU dev_validate_mtu() accepted:
    the user's, at most the max_mtu the driver set. Where that cannot be read, unknown;
    a call of the driver's own joins what it passes."""
    v = sizes(*NETDEV, ("drivers/net/ethernet/demo/demo.c", CHANGE_MTU))["demo_refill"]
    assert (v.hi, v.sources) == (9000 + 32, frozenset({"netlink:demo_change_mtu"}))
    assert any("ndo_change_mtu callback" in st.text for st in v.steps)
    unseen = CHANGE_MTU.replace("dev->max_mtu = 9000;", "demo_limits(dev);")
    assert not sizes(*NETDEV, ("drivers/net/ethernet/demo/demo.c", unseen))["demo_refill"].known
    own_call = CHANGE_MTU + """
void demo_reset(struct net_device *dev) { demo_change_mtu(dev, 16000); }
"""
    assert sizes(*NETDEV, ("drivers/net/ethernet/demo/demo.c", own_call))["demo_refill"].hi == 16000 + 32


def test_a_source_read_by_a_call_is_shown_at_that_calls_line():
    """The witness of a netlink attribute or a register shows the line of the getter's
    call with that argument, not the function's first line: a reviewer checks the read."""
    v = sizes(("net/demo/cfg.c", """
static int demo_config(struct demo *d, const struct nlattr * const tb[])
{
	u32 qthresh = 0, bufsiz = 0;

	if (tb[DEMO_QTHRESH])
		qthresh = nla_get_be32(tb[DEMO_QTHRESH]);
	if (tb[DEMO_BUFSIZ])
		bufsiz = nla_get_be32(tb[DEMO_BUFSIZ]);
	d->q = qthresh;
	return (long)kmalloc(ntohl(bufsiz), GFP_KERNEL);
}
static irqreturn_t demo_irq(int irq, void *data)
{
	struct demo *d = data;
	u32 ctl = readl(d->regs + 4);
	u32 len = readl(d->regs + 8);

	d->ctl = ctl;
	return (long)kmalloc(len, GFP_ATOMIC) ? IRQ_HANDLED : IRQ_NONE;
}
"""))
    (netlink,) = [st for st in v["demo_config"].steps if st.source.startswith("netlink:")]
    assert netlink.line == 9
    (register,) = [st for st in v["demo_irq"].steps if st.source.startswith("device:")]
    assert register.line == 17


def test_a_receiver_typed_through_a_member_macro_or_a_global_declared_elsewhere():
    """`sk->sk_prot->max_header`: struct sock's `sk_prot` is a macro for a member of its
    embedded common part (`#define sk_prot __sk_common.skc_prot`), followed through that
    path to the struct it points to; `demo_dl->header_length` of a global the file only
    declares (`extern` in a header, defined in another file of the directory). Both read
    the writers of the field they name."""
    header = ("net/demo/demo.h", """
struct demo_proto { unsigned int max_header; };
struct demo_common { struct demo_proto *skc_prot; };
struct demo_sock { struct demo_common __sk_common; int sk_rcvbuf; };
#define sk_prot __sk_common.skc_prot
struct demo_link { unsigned int header_length; };
extern struct demo_link *demo_dl;
""")
    protocols = ("net/demo/proto.c", """
#include "demo.h"
static struct demo_proto demo_v4 = { .max_header = 128 };
static struct demo_proto demo_v6 = { .max_header = 192 };
struct demo_link *demo_dl;
void demo_link_init(struct demo_link *l) { l->header_length = 14; }
""")
    sender = ("net/demo/send.c", """
#include "demo.h"
void *reply(struct demo_sock *sk) { return kmalloc(sk->sk_prot->max_header, GFP_ATOMIC); }
void *probe(void) { return kmalloc(demo_dl->header_length + 64, GFP_ATOMIC); }
""")
    v = sizes(header, protocols, sender)
    assert (v["reply"].known, v["reply"].hi) == (True, 192)
    assert (v["probe"].known, v["probe"].hi) == (True, 14 + 64)


def test_a_field_of_a_table_element_at_a_run_time_index_is_read_from_its_initializers():
    """`tbl = demo_cmd_tbl; ... tbl[i].in_args`: the element of a file-scope table at a
    run-time index is of the table's struct, and its member is one of the values the
    table's initializer gives it, by position or by name; a ring a device fills
    (`ring->desc[i].len`) stays untyped."""
    v = sizes(("drivers/demo/mbox.c", """
struct demo_cmd_meta { u32 cmd; u32 in_args; u32 out_args; };
#define DEMO_CMD_CREATE_RX 2
static const struct demo_cmd_meta demo_cmd_tbl[] = {
	{1, 2, 3},
	{DEMO_CMD_CREATE_RX, 30, 4},
	{ .cmd = 3, .in_args = 9 },
};
struct demo_desc { u16 len; };
struct demo_ring { struct demo_desc *desc; };
struct demo_args { struct { u32 num; u32 *arg; } req; };
int demo_alloc_args(struct demo_args *mbx, u32 type)
{
	const struct demo_cmd_meta *tbl = demo_cmd_tbl;
	int i;

	for (i = 0; i < ARRAY_SIZE(demo_cmd_tbl); i++) {
		if (type == tbl[i].cmd) {
			mbx->req.num = tbl[i].in_args;
			mbx->req.arg = kcalloc(mbx->req.num, sizeof(u32), GFP_ATOMIC);
			return 0;
		}
	}
	return -EINVAL;
}
void *demo_rx(struct demo_ring *ring, int i) { return kmalloc(ring->desc[i].len, GFP_ATOMIC); }
static const struct demo_cmd_meta demo_by_index[] = { {1, 2, 3}, [7] = {7, 40000, 1} };
void *demo_indexed(int i) { return kmalloc(demo_by_index[i].in_args, GFP_ATOMIC); }
"""))
    assert interval(v["demo_alloc_args"]) == (2 * 4, 30 * 4)
    # an element placed by index (`[7] = ...`) is not read here: no bound from the others
    assert interval(v["demo_indexed"])[1] != 2
    assert not v["demo_rx"].known and v["demo_rx"].why == "field-untyped"


def test_locals_of_one_name_in_sibling_and_nested_blocks_are_different_variables():
    # pktgen's `__u32 t;` in two sibling blocks: the second block's `t` never holds
    # what the first block stored in its own `t`.
    v = sizes(("drivers/net/demo.c", """
struct demo_gen { u32 saddr; u32 cur; u32 limit; };
static unsigned int demo_pkt_size = 64;
module_param(demo_pkt_size, uint, 0644);
static void demo_next(struct demo_gen *g, u32 flags)
{
    if (flags & 1) {
        u32 t;
        if (flags & 4)
            t = demo_pkt_size;
        else
            t = 0;
        g->saddr = t;
    }
    {
        u32 t;
        if (flags & 2)
            t = 64;
        else
            t = 128;
        g->cur = t;
    }
}
void *demo_sibling(struct demo_gen *g) { return kmalloc(g->cur, GFP_ATOMIC); }
void *demo_other(struct demo_gen *g) { return kmalloc(g->saddr, GFP_ATOMIC); }
int demo_nested(const char __user *ubuf, u32 flags)
{
    u8 len = 16;
    if (flags) {
        u32 len;
        if (copy_from_user(&len, ubuf, sizeof(len)))
            return -EFAULT;
        if (flags & 8)
            len = 0;
        flags = len;
    }
    return kmalloc(len, GFP_KERNEL) != NULL;
}
int demo_inner(const char __user *ubuf, u32 flags)
{
    u8 len = 16;
    if (flags) {
        u16 len;
        if (copy_from_user(&len, ubuf, sizeof(len)))
            return -EFAULT;
        if (flags & 8)
            len = 0;
        return kmalloc(len, GFP_KERNEL) != NULL;
    }
    return 0;
}
"""))
    assert v["demo_sibling"].hi == 128 and not v["demo_sibling"].sources
    assert v["demo_other"].sources  # the first block's `t` still carries the parameter
    assert v["demo_nested"].hi == 16 and not v["demo_nested"].sources  # the outer `len` is not the copy's
    # the inner `u16 len` is what the user fills, bounded by its own type, not the outer u8's
    assert v["demo_inner"].sources and v["demo_inner"].hi == 65535


def test_a_macros_arguments_are_read_where_the_macro_is_used():
    # sgi-gru: GRU_DS_BYTES_TO_AU(req.data_segment_bytes) after the range check
    v = sizes(("drivers/misc/demo.c", """
#define DEMO_TO_AU(n)	DIV_ROUND_UP(n, 64)
struct demo_req { unsigned long data_bytes; };
struct demo_vdata { unsigned long units; };
static long demo_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    struct demo_req req;
    struct demo_vdata *v = f->private_data;
    if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
        return -EFAULT;
    if (req.data_bytes > 32768)
        return -EINVAL;
    v->units = DEMO_TO_AU(req.data_bytes);
    return 0;
}
void *demo_alloc(struct demo_vdata *v) { return kmalloc(v->units * 64, GFP_KERNEL); }
"""))
    assert v["demo_alloc"].hi == 32768 and v["demo_alloc"].sources


def test_a_static_global_without_initializer_is_zero_and_what_the_file_stores():
    # sgi-gru's `static int max_user_cbrs, max_user_dsr_bytes;`, set at init and only
    # ever lowered after (`x = min(x, hw)`): the bound of a user's check
    v = sizes(("drivers/misc/demo.c", """
static int demo_max_dsr_bytes;
extern int demo_hw_dsr_bytes(void);
int demo_init(void)
{
    demo_max_dsr_bytes = 32768;
    demo_max_dsr_bytes = min(demo_max_dsr_bytes, demo_hw_dsr_bytes());
    return 0;
}
int demo_ioctl(unsigned long __user *up)
{
    unsigned long n;
    if (get_user(n, up))
        return -EFAULT;
    if (n > demo_max_dsr_bytes)
        return -EINVAL;
    return kmalloc(n, GFP_KERNEL) != NULL;
}
"""))
    assert v["demo_ioctl"].hi == 32768 and v["demo_ioctl"].sources


def test_a_store_the_set_up_always_replaces_is_not_what_the_object_holds():
    """cdc_ncm's bind: init stores the device's raw maximum, then setup (called on every
    path that does not fail the bind, with the same device) stores the clamped one in
    each arm of an if/else. The transmit path never sees the raw value. A setup called
    on some paths only, or storing in one arm only, leaves the raw value possible."""
    body = """
struct demo_parm { __le32 dwOutMax; u32 tx_max; };
struct demo_ctx { struct demo_parm parm; u32 tx_max; int running; };
struct demo_usb { struct demo_ctx *ctx; };

static void demo_update_tx(struct demo_usb *dev, u32 want)
{
	struct demo_ctx *ctx = dev->ctx;
	u32 val = min_t(u32, want, 16384);

	if (ctx->running && val > ctx->tx_max) {
		ctx->tx_max = val;
	} else {
		ELSE_ARM
	}
}

static int demo_init(struct demo_usb *dev)
{
	struct demo_ctx *ctx = dev->ctx;

	ctx->tx_max = le32_to_cpu(ctx->parm.dwOutMax);
	return 0;
}

static void demo_setup(struct demo_usb *dev)
{
	demo_update_tx(dev, 16384);
}

int demo_bind(struct demo_usb *dev, int quirk)
{
	if (demo_init(dev))
		goto error;
	if (quirk < 0)
		goto error;
	SETUP_CALL
	return 0;
error:
	return -ENODEV;
}

void demo_tx(struct demo_usb *dev)
{
	struct demo_ctx *ctx = dev->ctx;

	kfree(alloc_skb(ctx->tx_max, GFP_ATOMIC));
}
"""

    def hi(setup_call: str, else_arm: str):
        text = body.replace("SETUP_CALL", setup_call).replace("ELSE_ARM", else_arm)
        return sizes(("drivers/net/usb/demo_ncm.c", text))["demo_tx"].hi

    assert hi("demo_setup(dev);", "ctx->tx_max = val;") == 16384 + 320
    assert hi("if (quirk)\n\t\tdemo_setup(dev);", "ctx->tx_max = val;") != 16384 + 320
    assert hi("demo_setup(dev);", "ctx->running = 0;") != 16384 + 320
    # putting back a saved copy (dm-raid's rs_config_restore()) replaces nothing
    assert hi("demo_setup(dev);", "ctx->tx_max = ctx->parm.tx_max;") != 16384 + 320


def test_the_pages_a_user_range_spans_are_bounded_by_its_length_not_its_address():
    """`end = (ubuf + len + PAGE_SIZE - 1) >> PAGE_SHIFT; start = ubuf >> PAGE_SHIFT;`:
    `end - start` is at most (len + PAGE_SIZE - 1) / PAGE_SIZE + 1 pages, whatever the
    user's address is; the address alone (or a shift of another value) bounds nothing."""
    v = sizes(("drv/pin.c", """
struct demo_reg { unsigned long addr; unsigned long len; };

static struct page **demo_pin(unsigned long ubuf, unsigned long len)
{
	unsigned long start, end, nr_pages;

	end = (ubuf + len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	start = ubuf >> PAGE_SHIFT;
	nr_pages = end - start;
	return kvmalloc_array(nr_pages, sizeof(struct page *), GFP_KERNEL);
}

static struct page **demo_other(unsigned long ubuf, unsigned long other, unsigned long len)
{
	unsigned long start, end;

	end = (ubuf + len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	start = other >> PAGE_SHIFT;
	return kvmalloc_array(end - start, sizeof(struct page *), GFP_KERNEL);
}

static long demo_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct demo_reg reg;

	if (copy_from_user(&reg, (void __user *)arg, sizeof(reg)))
		return -EFAULT;
	if (reg.len > SZ_1G)
		return -EINVAL;
	demo_pin(reg.addr, reg.len);
	demo_other(reg.addr, reg.addr + 8, reg.len);
	return 0;
}
"""))
    lo, hi = interval(v["demo_pin"])
    assert hi == ((1 << 30) + 4095) // 4096 * 8 + 8
    assert v["demo_pin"].sources, "still the user's: the length is theirs"
    assert interval(v["demo_other"])[1] is None or interval(v["demo_other"])[1] > 1 << 40


def test_the_witness_of_a_min_is_the_way_to_its_bound():
    """min(t->count, cmax): the count grows without bound (count++), the user's cmax bounds
    it; the value's chain shows the user's cmax, not the store that resets the count."""
    v = sizes(("drv/prl.c", """
struct demo_tun { unsigned int count; };
struct demo_req { unsigned int datalen; };

static void demo_add(struct demo_tun *t)
{
	t->count++;
}

static void demo_flush(struct demo_tun *t)
{
	t->count = 0;
}

static long demo_get(struct demo_tun *t, void __user *arg)
{
	struct demo_req req;
	unsigned int cmax, ca;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	cmax = req.datalen / 16;
	ca = min(t->count, cmax);
	return (long)kcalloc(ca, 16, GFP_ATOMIC);
}
"""))
    value = v["demo_get"]
    assert interval(value)[1] is not None
    assert value.steps and value.steps[-1].source.startswith("user:"), value.steps


def test_a_field_set_in_both_arms_of_an_if_before_the_read_holds_what_they_store():
    """cdc_ncm's fallback: the full-size try stores ctx->tx_max into tx_curr_size inside
    its own `if`; when it fails, `if (skb) tx_curr_size = max(skb->len, 2048); else
    tx_curr_size = 2048;` and the second alloc_skb() reads that, not the full size."""
    v = sizes(("drv/ncm.c", """
struct demo_ctx { u32 tx_max; u32 tx_curr_size; u32 low; };

void demo_set_max(struct demo_ctx *ctx, u32 n)
{
	ctx->tx_max = n;
}

static struct sk_buff *demo_fill(struct demo_ctx *ctx, struct sk_buff *skb)
{
	struct sk_buff *skb_out = NULL;

	if (ctx->low == 0) {
		ctx->tx_curr_size = ctx->tx_max;
		skb_out = alloc_skb(ctx->tx_curr_size, GFP_ATOMIC);
	}
	if (skb_out == NULL) {
		if (skb)
			ctx->tx_curr_size = min(skb->len, (u32)4096);
		else
			ctx->tx_curr_size = 2048;
		skb_out = kmalloc(ctx->tx_curr_size, GFP_ATOMIC);
	}
	return skb_out;
}
"""))
    assert interval(v["demo_fill"])[1] == 4096


def test_a_field_the_set_up_allocates_right_after_storing_holds_what_the_allocator_returns():
    """rfd_ftl's shape: the set-up stores the header's size, allocates that many bytes right
    after and fails without them. An object used later holds at most KMALLOC_MAX_SIZE there
    (a larger size fails at the set-up's own allocation, which stays unbounded). An
    allocation in an arm of its own, or one whose failure the set-up ignores, bounds nothing."""
    v = sizes(("drivers/mtd/demo_ftl.c", """
static int block_size;
module_param(block_size, int, 0);
struct demo_part { u_int block_size; u_int header_size; u_int map_size; u_int spare_size;
		   u16 *header_cache; u16 *map; u16 *spare; };
static int demo_scan(struct demo_part *part, bool want_map)
{
	part->header_size = (4 + part->block_size / 512) * sizeof(u16);
	part->map_size = part->block_size / 256;
	part->spare_size = part->block_size / 128;
	part->header_cache = kmalloc(part->header_size, GFP_KERNEL);
	if (!part->header_cache)
		return -ENOMEM;
	if (want_map) {
		part->map = kmalloc(part->map_size, GFP_KERNEL);
		if (!part->map)
			return -ENOMEM;
	}
	part->spare = kmalloc(part->spare_size, GFP_KERNEL);
	return 0;
}
static int demo_add(struct demo_part *part)
{
	part->block_size = block_size;
	return demo_scan(part, block_size > 4096);
}
static void *demo_move(struct demo_part *part) { return kmalloc(part->header_size, GFP_KERNEL); }
static void *demo_remap(struct demo_part *part) { return kmalloc(part->map_size, GFP_KERNEL); }
static void *demo_respare(struct demo_part *part) { return kmalloc(part->spare_size, GFP_KERNEL); }
"""))
    assert v["demo_move"].hi == 4 << 20
    assert any("allocates part->header_size right after the store" in s.text for s in v["demo_move"].steps)
    assert v["demo_remap"].hi is None and v["demo_respare"].hi is None


def test_a_devices_multicast_list_holds_as_many_addresses_as_users_add():
    """netdev_mc_count(): users add the addresses (`ip maddr add`, each group a socket
    joins) and the core sets no limit, so a list sized by it is the user's, up to what
    the count's int holds; the driver's own check of the macro's use bounds it."""
    v = sizes(("include/linux/netdevice.h", """
struct netdev_hw_addr_list { struct list_head list; int count; };
struct net_device { unsigned int mtu; struct netdev_hw_addr_list uc; struct netdev_hw_addr_list mc; };
#define netdev_hw_addr_list_count(l) ((l)->count)
#define netdev_mc_count(dev) netdev_hw_addr_list_count(&(dev)->mc)
"""), ("net/core/dev_addr_lists.c", """
static int demo_hw_addr_create(struct netdev_hw_addr_list *list) { list->count++; return 0; }
void demo_hw_addr_init(struct netdev_hw_addr_list *list) { list->count = 0; }
"""), ("drivers/net/ethernet/demo/demo_main.c", """
#include <linux/netdevice.h>
#define DEMO_MC_MAX 64
static int demo_write_mc(struct net_device *netdev)
{
	u8 *mta_list = kcalloc(netdev_mc_count(netdev), ETH_ALEN, GFP_ATOMIC);
	if (!mta_list)
		return -ENOMEM;
	kfree(mta_list);
	return 0;
}
static int demo_write_mc_checked(struct net_device *netdev)
{
	u8 *mta_list;
	if (netdev_mc_count(netdev) > DEMO_MC_MAX)
		return -ENOSPC;
	mta_list = kcalloc(netdev_mc_count(netdev), ETH_ALEN, GFP_ATOMIC);
	kfree(mta_list);
	return 0;
}
"""))
    assert v["demo_write_mc"].hi == 0x7FFFFFFF * 6 and v["demo_write_mc"].sources == {"user:dev_mc_add/dev_uc_add"}
    assert v["demo_write_mc_checked"].hi == 64 * 6


def test_a_clamp_under_a_flag_set_from_a_comparison_bounds_what_passes_it():
    """iwlwifi's multicast filter: `pass_all = count > MAX || FORCE; if (pass_all) count = 0;`
    leaves count at most MAX; a flag that something else may set bounds nothing."""
    v = sizes(("drivers/net/wireless/demo/mcast.c", """
#define DEMO_MAX_ADDRS 20
#define DEMO_FORCE 0
struct demo_list { int count; };
static int demo_user_count;
module_param(demo_user_count, int, 0644);
void *demo_prepare(struct demo_list *l)
{
	int count = demo_user_count;
	bool pass_all;

	pass_all = count > DEMO_MAX_ADDRS || DEMO_FORCE;
	if (pass_all)
		count = 0;
	return kzalloc(8 + count * 6, GFP_ATOMIC);
}
void *demo_prepare_other(struct demo_list *l, bool forced)
{
	int count = demo_user_count;
	bool pass_all;

	pass_all = count > DEMO_MAX_ADDRS;
	if (forced)
		pass_all = false;
	if (pass_all)
		count = 0;
	return kzalloc(8 + count * 6, GFP_ATOMIC);
}
"""))
    assert v["demo_prepare"].hi == 8 + 20 * 6
    assert v["demo_prepare_other"].hi is None or v["demo_prepare_other"].hi > 8 + 20 * 6


def test_a_size_checked_to_be_a_power_of_two_is_at_most_the_largest_one_below_its_bound():
    """vhost's VHOST_SET_VRING_NUM: `if (!s.num || s.num > 0xffff || (s.num & (s.num - 1)))
    return -EINVAL;` lets 32768 through at most, not 65535; `!is_power_of_2(n)` too."""
    v = sizes(("drivers/vhost/demo.c", """
struct demo_state { unsigned int index; unsigned int num; };
long demo_set_num(void __user *argp)
{
	struct demo_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (!s.num || s.num > 0xffff || (s.num & (s.num - 1)))
		return -EINVAL;
	return kcalloc(s.num, 128, GFP_KERNEL) != NULL;
}
long demo_set_count(void __user *argp)
{
	u32 n;

	if (get_user(n, (u32 __user *)argp))
		return -EFAULT;
	if (n > 100000 || !is_power_of_2(n))
		return -EINVAL;
	return kcalloc(n, 128, GFP_KERNEL) != NULL;
}
long demo_set_any(void __user *argp)
{
	u32 n;

	if (get_user(n, (u32 __user *)argp))
		return -EFAULT;
	if (n > 0xffff)
		return -EINVAL;
	return kcalloc(n, 128, GFP_KERNEL) != NULL;
}
"""))
    assert v["demo_set_num"].hi == 32768 * 128
    assert v["demo_set_count"].hi == 65536 * 128
    assert v["demo_set_any"].hi == 65535 * 128


def test_a_signed_count_of_an_array_allocation_reaches_it_up_to_its_types_maximum():
    """seq_oss' shape: an int module parameter passed down as `int maxlen` to
    kcalloc(maxlen, 16, ...). A negative count is a huge size_t that kmalloc_array()'s
    overflow check turns into NULL without a warning: what reaches the page allocator
    is at most INT_MAX elements, not an unbounded size. A plain kmalloc(len) of a
    negative int is a huge size, unbounded."""
    v = sizes(("sound/core/demo/readq.c", """
static int maxqlen = 1024;
module_param(maxqlen, int, 0444);
static void *demo_readq_new(int maxlen) { return kcalloc(maxlen, 16, GFP_KERNEL); }
static void *demo_buf_new(int len) { return kmalloc(len, GFP_KERNEL); }
void *demo_open(void) { demo_buf_new(maxqlen); return demo_readq_new(maxqlen); }
"""))
    assert v["demo_readq_new"].hi == 0x7FFFFFFF * 16
    assert v["demo_buf_new"].hi is None


def test_a_users_count_within_the_devices_own_table_size_is_not_the_users_to_grow():
    """mwl8k's shape: the count of multicast addresses users added, checked against the
    filter table size the firmware reported (`if (allmulti || mc_count >
    priv->num_mcaddrs) mc_count = 0;`, or a guard that leaves). Real firmware says 32;
    the field's u16 is no bound a user can reach: bounds only, nothing proven. A check
    against a constant bounds it as usual."""
    v = sizes(("include/linux/netdevice.h", """
struct netdev_hw_addr_list { struct list_head list; int count; };
#define netdev_hw_addr_list_count(l) ((l)->count)
"""), ("drivers/net/wireless/demo/fw.c", """
#include <linux/netdevice.h>
struct demo_priv { u16 num_mcaddrs; };
struct demo_cmd_hw_spec { __le16 num_mcaddrs; };
int demo_get_hw_spec(struct demo_priv *priv, struct demo_cmd_hw_spec *cmd)
{
	priv->num_mcaddrs = le16_to_cpu(cmd->num_mcaddrs);
	return 0;
}
void *demo_mc_cmd(struct demo_priv *priv, int allmulti, struct netdev_hw_addr_list *mc_list)
{
	int mc_count = 0;

	if (mc_list)
		mc_count = netdev_hw_addr_list_count(mc_list);
	if (allmulti || mc_count > priv->num_mcaddrs) {
		allmulti = 1;
		mc_count = 0;
	}
	return kzalloc(12 + mc_count * 6, GFP_ATOMIC);
}
void *demo_mc_guard(struct demo_priv *priv, struct netdev_hw_addr_list *mc_list)
{
	int mc_count = netdev_hw_addr_list_count(mc_list);

	if (mc_count > priv->num_mcaddrs)
		return NULL;
	return kzalloc(12 + mc_count * 6, GFP_ATOMIC);
}
void *demo_mc_fixed(struct demo_priv *priv, struct netdev_hw_addr_list *mc_list)
{
	int mc_count = netdev_hw_addr_list_count(mc_list);

	if (mc_count > 32)
		mc_count = 0;
	return kzalloc(12 + mc_count * 6, GFP_ATOMIC);
}
"""))
    assert not v["demo_mc_cmd"].known and not v["demo_mc_guard"].known
    assert v["demo_mc_fixed"].hi == 12 + 32 * 6 and v["demo_mc_fixed"].sources
