"""Path validation: a witness holds only if its conditions can hold together, and
its evidence grades the finding; findings sit at the call where the fix goes."""

from __future__ import annotations

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import select


def findings(*files: tuple[str, str]):
    analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
    out = []
    for rule in select(["AS002"], None):
        out.extend(rule.check(analysis, None))
    return sorted(out, key=lambda f: (f.path, f.line))


def lines(*files):
    return [(f.line, f.level) for f in findings(*files)]


HELPER = """
struct demo { spinlock_t lock; void *buf; int state; };
static void demo_sync(struct demo *d, bool may_sleep)
{
	if (!may_sleep)
		return;
	d->buf = kzalloc(64, GFP_KERNEL);
}
"""


def test_a_callers_constant_rules_out_the_branch():
    assert lines(("drivers/demo/a.c", HELPER + """
void demo_timeout(struct demo *d)
{
	spin_lock(&d->lock);
	demo_sync(d, false);
	spin_unlock(&d->lock);
}
""")) == []
    assert lines(("drivers/demo/a.c", HELPER + """
void demo_resync(struct demo *d)
{
	spin_lock(&d->lock);
	demo_sync(d, true);
	spin_unlock(&d->lock);
}
""")) == [(13, "error")]


def test_each_read_through_an_incremented_pointer_is_a_new_value():
    """`*buff++ == 0x42 && *buff++ == 0x42 && *buff++ == 0x03` compares three bytes of a
    frame (an LLC header): the same text read three times is three values, not one that
    would have to be 0x42 and 0x03 at once."""
    assert lines(("net/demo/bridge.c", """
static void demo_handle_bridge(struct sk_buff *skb, struct net_device *dev)
{
	char *buff = skb->data + skb->dev->hard_header_len;

	if (*buff++ == 0x42 && *buff++ == 0x42 && *buff++ == 0x03) {
		struct sk_buff *skb2 = alloc_skb(64, GFP_KERNEL);

		if (skb2)
			demo_send(dev, skb2);
	}
}
static netdev_tx_t demo_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	demo_handle_bridge(skb, dev);
	return NETDEV_TX_OK;
}
static const struct net_device_ops demo_ops = {
	.ndo_start_xmit = demo_start_xmit,
};
""")) == [(15, "note")]  # at the call in the transmit entry


def test_a_call_reaching_two_allocations_of_one_file_names_both():
    """The finding sits at the locked call; the first allocation is its witness, and the
    second one, on a path of its own, is named in the message and as a related
    location (a fix that only turns the first into GFP_ATOMIC leaves the second)."""
    (f,) = findings(("drivers/demo/rx.c", """
static void demo_dequeue(struct demo *d, unsigned int len)
{
	struct sk_buff *skb = dev_alloc_skb(len);

	if (skb)
		demo_push(d, skb);
	d->copy = kmalloc(len, GFP_KERNEL);
	d->desc = kzalloc(64, GFP_KERNEL);
}
static void demo_poll(struct demo *d)
{
	spin_lock(&d->lock);
	demo_dequeue(d, 128);
	spin_unlock(&d->lock);
}
"""))
    assert (f.path, f.line) == ("drivers/demo/rx.c", 14)
    assert f.witness[-1].line == 8
    assert f.properties["alsoReaches"] == ["drivers/demo/rx.c:9"]
    assert "it also reaches 'kzalloc' with GFP_KERNEL (drivers/demo/rx.c:9" in f.message


def test_the_callers_branch_and_the_callees_contradict():
    src = """
struct demo { spinlock_t lock; void *buf; int state; };
static void demo_reset(struct demo *d)
{
	if (d->state != 3)
		return;
	d->buf = kzalloc(64, GFP_KERNEL);
}
void demo_close(struct demo *d)
{
	spin_lock_bh(&d->lock);
	if (d->state == %s)
		demo_reset(d);
	spin_unlock_bh(&d->lock);
}
"""
    assert lines(("drivers/demo/a.c", src % "5")) == []
    # state 3 is the callee's own test: the path is proven
    assert lines(("drivers/demo/a.c", src % "3")) == [(13, "error")]


def test_every_caller_of_the_lock_holder_sets_the_command():
    src = """
struct demo_ctl { int cmd; };
struct demo { spinlock_t lock; void *tbl; };
static int demo_handler(struct demo *d, struct demo_ctl *info)
{
	switch (info->cmd) {
	case 1:
		d->tbl = kcalloc(4, 8, GFP_KERNEL);
		break;
	}
	return 0;
}
static void demo_send(struct demo *d, struct demo_ctl *ctl)
{
	spin_lock(&d->lock);
	demo_handler(d, ctl);
	spin_unlock(&d->lock);
}
void demo_done(struct demo *d) { struct demo_ctl c = {0}; c.cmd = 3; demo_send(d, &c); }
"""
    assert lines(("drivers/demo/a.c", src)) == []
    other = src + "void demo_start(struct demo *d) { struct demo_ctl c = { .cmd = 1 }; demo_send(d, &c); }\n"
    assert [ln for ln, _ in lines(("drivers/demo/a.c", other))] == [16]


def test_a_template_without_the_hook_and_kstrdup_const_of_a_literal():
    src = """
struct demo_type { const char *name; int (*prep)(struct demo *d); };
struct demo { spinlock_t lock; void *c; const char *label; };
static int demo_prep(struct demo *d) { d->c = kmalloc(8, GFP_KERNEL); return 0; }
static struct demo_type demo_full = { .name = "full", .prep = demo_prep };
static struct demo_type demo_plain = { .name = "plain" };
static int demo_search(struct demo *d, struct demo_type *t)
{
	if (t->prep)
		return t->prep(d);
	return 0;
}
static void demo_label(struct demo *d, const char *l) { d->label = kstrdup_const(l, GFP_KERNEL); }
void demo_lookup(struct demo *d, const char *name)
{
	rcu_read_lock();
	demo_search(d, &%s);
	demo_label(d, "fixed");
	rcu_read_unlock();
}
"""
    assert lines(("drivers/demo/a.c", src % "demo_plain")) == []
    assert [ln for ln, _ in lines(("drivers/demo/a.c", src % "demo_full"))] == [17]


def test_evidence_levels():
    src = """
struct demo { spinlock_t lock; void *c; };
static void *demo_get(struct demo *d, int len)
{
	if (d->c)
		return d->c;
	if (len > 64)
		return kmalloc(len, GFP_KERNEL);
	return NULL;
}
void demo_refill(struct demo *d, int len)
{
	spin_lock(&d->lock);
	demo_get(d, len);
	spin_unlock(&d->lock);
}
"""
    (f,) = findings(("drivers/demo/a.c", src))
    assert (f.line, f.level) == (14, "note")  # the cache being empty is state the path does not set
    assert f.properties["pathEvidence"] == "state"
    (f,) = findings(("drivers/demo/a.c", src.replace("\tif (d->c)\n\t\treturn d->c;\n", "")))
    assert (f.level, f.properties["pathEvidence"]) == ("warning", "undecided")  # len: the caller's, unknown


def test_the_finding_sits_at_the_call_and_points_at_the_allocation():
    (f,) = findings(("drivers/demo/drv.c", """
struct demo { spinlock_t lock; };
void demo_op(struct demo *d)
{
	spin_lock(&d->lock);
	core_register(d);
	spin_unlock(&d->lock);
}
"""), ("lib/core.c", "void core_register(struct demo *d) { kmalloc(32, GFP_KERNEL); }\n"))
    assert (f.path, f.line, f.function) == ("drivers/demo/drv.c", 6, "demo_op")
    assert [(r.path, r.line) for r in f.related] == [("lib/core.c", 1)]
    assert f.witness[-1].kind == "allocation" and f.witness[-1].path == "lib/core.c"
    assert "core_register()" in f.message and "lib/core.c:1" in f.message


def test_a_template_defined_in_another_file():
    """key_type_rxrpc_s is defined in server_key.c and passed by security.c."""
    types = """
struct demo;
struct demo_type { const char *name; int (*prep)(struct demo *d); };
static int demo_prep(struct demo *d) { d->c = kmalloc(8, GFP_KERNEL); return 0; }
struct demo_type demo_full = { .name = "full", .prep = demo_prep };
struct demo_type demo_plain = { .name = "plain" };
"""
    user = """
struct demo { spinlock_t lock; void *c; };
static int demo_search(struct demo *d, struct demo_type *t)
{
	if (t->prep)
		return t->prep(d);
	return 0;
}
void demo_lookup(struct demo *d)
{
	rcu_read_lock();
	demo_search(d, &%s);
	rcu_read_unlock();
}
"""
    assert lines(("net/demo/types.c", types), ("net/demo/user.c", user % "demo_plain")) == []
    assert [ln for ln, _ in lines(("net/demo/types.c", types), ("net/demo/user.c", user % "demo_full"))] == [12]


# hid_hw_request()'s shape: an API that allocates only for a transport without a hook
HUB_CORE = """
struct demo_ll { int (*request)(struct demo_dev *d); };
struct demo_dev { spinlock_t lock; struct demo_ll *ll; void *buf; int ready; };
void demo_hw_request(struct demo_dev *d)
{
	if (d->ll->request) {
		d->ll->request(d);
		return;
	}
	d->buf = kmalloc(64, GFP_KERNEL);
}
"""


def test_state_inside_an_api_many_files_call_is_not_the_callers():
    """hid_hw_request()'s shape: the allocation runs only for a device whose transport lacks
    a hook. From a driver's locked call that state is not the driver's to see: with the API
    called from more than three files no report; from a few files, a note."""
    driver = """
void demo_play_%d(struct demo_dev *d)
{
	spin_lock(&d->lock);
	demo_hw_request(d);
	spin_unlock(&d->lock);
}
"""
    few = [("drivers/hid/core.c", HUB_CORE)] + [(f"drivers/hid/drv{i}.c", driver % i) for i in range(2)]
    assert [(f.path, f.level) for f in findings(*few)] == [("drivers/hid/drv0.c", "note"), ("drivers/hid/drv1.c", "note")]
    many = [("drivers/hid/core.c", HUB_CORE)] + [(f"drivers/hid/drv{i}.c", driver % i) for i in range(5)]
    assert findings(*many) == []


def test_state_inside_an_api_counts_behind_the_drivers_own_state():
    """picolcd_leds_set()'s shape: the driver tests its own state, then calls the API whose
    allocation depends on the transport's state. The API's state still is not the
    driver's: no report once the API is a hub."""
    driver = """
static void demo_set_%d(struct demo_dev *d)
{
	if (!d->ready)
		return;
	demo_hw_request(d);
}
void demo_play_%d(struct demo_dev *d)
{
	spin_lock(&d->lock);
	demo_set_%d(d);
	spin_unlock(&d->lock);
}
"""
    many = [("drivers/hid/core.c", HUB_CORE)] + [(f"drivers/hid/drv{i}.c", driver % (i, i, i)) for i in range(5)]
    assert findings(*many) == []


def test_callers_facts_only_for_a_function_nothing_calls_through_a_pointer():
    """rose_route_frame()'s shape: the loopback calls it with NULL, the protocol table with
    a real neighbour; what the direct caller passes decides nothing."""
    src = """
struct demo { spinlock_t lock; void *route; };
static DEFINE_SPINLOCK(demo_lock);
static int demo_route_frame(struct demo *d, void *ax25)
{
	if (!ax25)
		return demo_loopback(d);
	spin_lock_bh(&demo_lock);
	d->route = kmalloc(32, GFP_KERNEL);
	spin_unlock_bh(&demo_lock);
	return 0;
}
void demo_loop_timer(struct demo *d) { demo_route_frame(d, NULL); }
%s
"""
    assert lines(("net/demo/a.c", src % "")) == []
    table = "static struct demo_proto demo_pid = { .func = demo_route_frame };"
    assert lines(("net/demo/a.c", src % table)) == [(9, "error")]


PREALLOC = """
struct demo_fs { unsigned int nodesize; };
struct demo_sub { int refs; };
struct demo_buf { struct demo_fs *fs; void *priv; };
struct demo_map { spinlock_t lock; int count; };
static struct demo_sub *demo_alloc_sub(struct demo_fs *fs)
{
	struct demo_sub *sub = kzalloc(sizeof(*sub), GFP_NOFS);
	if (!sub)
		return ERR_PTR(-ENOMEM);
	return sub;
}
static struct demo_buf *demo_new_buf(struct demo_fs *fs)
{
	struct demo_buf *buf = kmem_cache_zalloc(demo_cache, GFP_NOFS);
	buf->fs = fs;
	return buf;
}
static void demo_attach(struct demo_buf *buf, struct demo_sub *prealloc)
{
	struct demo_fs *fs = buf->fs;
	if (fs->nodesize >= PAGE_SIZE)
		return;
	if (prealloc)
		buf->priv = prealloc;
	else
		buf->priv = demo_alloc_sub(fs);
}
"""


def test_a_local_allocated_under_the_callees_condition_is_known_at_the_call():
    """btrfs alloc_extent_buffer()'s shape: the subpage is preallocated exactly when the
    helper would allocate it (the helper's fs is the one the constructor stored), and
    the preallocation never returns NULL."""
    caller = """
struct demo_buf *demo_get(struct demo_fs *fs, struct demo_map *map)
{
	struct demo_buf *buf;
	int i;

	buf = demo_find(fs);
	if (buf)
		return buf;
	buf = demo_new_buf(fs);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < map->count; i++) {
		struct demo_sub *prealloc = NULL;

		if (fs->nodesize < PAGE_SIZE) {
			prealloc = demo_alloc_sub(fs);
			if (IS_ERR(prealloc))
				goto fail;
		}
		spin_lock(&map->lock);
		demo_attach(buf, prealloc);
		spin_unlock(&map->lock);
	}
	return buf;
fail:
	return ERR_PTR(-ENOMEM);
}
"""
    assert lines(("fs/demo/a.c", PREALLOC + caller)) == []
    # the same, preallocating for large nodes instead: the small-node path passes NULL
    assert lines(("fs/demo/a.c", PREALLOC + caller.replace("nodesize < PAGE_SIZE", "nodesize > PAGE_SIZE"))) != []


def test_the_one_caller_of_the_lock_holder_decides_what_it_passes():
    """6.12's btrfs: the lock is taken in a static helper (attach_eb_folio_to_filemap())
    that alloc_extent_buffer() alone calls, handing it the preallocation. Whatever the
    helper runs, its one caller's arms and values hold: the preallocation is there exactly
    when the callee would allocate. A second caller passing NULL makes the path real."""
    helper = """
static void demo_attach_locked(struct demo_buf *buf, struct demo_map *map, struct demo_sub *prealloc)
{
	spin_lock(&map->lock);
	demo_attach(buf, prealloc);
	spin_unlock(&map->lock);
}
"""
    caller = """
struct demo_buf *demo_get(struct demo_fs *fs, struct demo_map *map)
{
	struct demo_buf *buf;
	struct demo_sub *prealloc = NULL;

	buf = demo_new_buf(fs);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	if (fs->nodesize < PAGE_SIZE) {
		prealloc = demo_alloc_sub(fs);
		if (IS_ERR(prealloc))
			return ERR_PTR(-ENOMEM);
	}
	demo_attach_locked(buf, map, prealloc);
	return buf;
}
"""
    assert lines(("fs/demo/a.c", PREALLOC + helper + caller)) == []
    other = """
void demo_reattach(struct demo_buf *buf, struct demo_map *map)
{
	demo_attach_locked(buf, map, NULL);
}
"""
    assert lines(("fs/demo/a.c", PREALLOC + helper + caller + other)) != []


def test_the_one_callers_branches_are_not_read_against_state_the_path_changes():
    """The one caller calls the set-up under `if (!ch->ring)`; the set-up allocates the
    ring, leaves when that failed, and goes on to allocate under its lock. Read with the
    caller's test, `ch->ring` would be NULL and not NULL at once: only the values the
    caller passes are taken from it."""
    src = """
struct demo_ch { spinlock_t lock; void **ring; void *extra; };

static int demo_alloc_bufs(struct demo_ch *ch)
{
	ch->ring = kcalloc(8, sizeof(void *), GFP_KERNEL);
	if (!ch->ring)
		return -ENOMEM;
	spin_lock(&ch->lock);
	ch->extra = kzalloc(64, GFP_KERNEL);
	spin_unlock(&ch->lock);
	return 0;
}

void demo_handler(struct demo_ch *ch)
{
	if (!ch->ring)
		demo_alloc_bufs(ch);
}
"""
    assert lines(("drivers/demo/a.c", src)) == [(10, "error")]


def test_a_parameter_the_function_assigns_is_not_what_its_caller_passed():
    """dlm's receive: the caller is in the OPTS case of its packet's command, points `p`
    at the inner packet, and hands it on; the callee takes its lock in the FIN case of
    the inner packet's command. The two tests read two packets, not one."""
    src = """
struct demo_hdr { int cmd; };
struct demo_opts { int len; char data[]; };
union demo_packet { struct demo_hdr header; struct demo_opts opts; };
struct demo_node { spinlock_t lock; void *fin; };

static void demo_receive_inner(union demo_packet *p, struct demo_node *node)
{
	switch (p->header.cmd) {
	case DEMO_FIN:
		spin_lock(&node->lock);
		node->fin = kzalloc(64, GFP_KERNEL);
		spin_unlock(&node->lock);
		break;
	default:
		break;
	}
}

void demo_receive(union demo_packet *p, struct demo_node *node)
{
	switch (p->header.cmd) {
	case DEMO_OPTS:
		p = (union demo_packet *)(p->opts.data + p->opts.len);
		demo_receive_inner(p, node);
		break;
	default:
		break;
	}
}
"""
    assert lines(("fs/demo/a.c", "enum { DEMO_FIN = 1, DEMO_OPTS = 2 };" + src)) == [(12, "error")]


def test_a_local_checked_before_the_lock_is_not_null_in_the_callee():
    caller = """
int demo_map_one(struct demo_buf *buf, struct demo_map *map)
{
	struct demo_sub *sub;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL);
	if (!sub)
		return -ENOMEM;
	spin_lock(&map->lock);
	demo_attach(buf, sub);
	spin_unlock(&map->lock);
	return 0;
}
"""
    assert lines(("fs/demo/a.c", PREALLOC + caller)) == []
    assert lines(("fs/demo/a.c", PREALLOC + caller.replace("if (!sub)\n\t\treturn -ENOMEM;\n", ""))) != []


def test_a_goto_to_a_label_before_the_call_does_not_rule_it_out():
    """p2pdma's `if (!acs) goto done; ... done: rcu_read_lock(); ...`: the call after the
    label runs whether the exit was taken or not."""
    src = """
struct demo_map { spinlock_t lock; int count; void *buf; };
static void demo_fill(struct demo_map *map, int mode)
{
	if (mode == 0)
		map->buf = kzalloc(64, GFP_KERNEL);
}
void demo_refill(struct demo_map *map, int mode)
{
	if (mode == 0) {
		map->count = 0;
		goto relock;
	}
	map->count = 1;
relock:
	spin_lock(&map->lock);
	demo_fill(map, mode);
	spin_unlock(&map->lock);
}
"""
    assert [line for line, _ in lines(("drivers/demo/a.c", src))] == [17]


def test_a_local_tested_before_and_after_it_is_assigned_again_is_two_values():
    """`buf = find(); if (buf) return buf; buf = alloc(); if (!buf) return -ENOMEM;`
    tests two values of one local: together they do not rule the path out."""
    src = """
struct demo_map { spinlock_t lock; void *buf; };
static void demo_fill(struct demo_map *map) { map->buf = kzalloc(64, GFP_KERNEL); }
int demo_get(struct demo_map *map)
{
	unsigned long flags;
	void *buf;

	local_irq_save(flags);
	buf = demo_lookup(map);
	if (buf)
		goto out;
	spin_lock(&map->lock);
	demo_set(map, &buf);
	if (!buf)
		goto unlock;
	demo_fill(map);
unlock:
	spin_unlock(&map->lock);
out:
	local_irq_restore(flags);
	return 0;
}
"""
    assert [line for line, _ in lines(("drivers/demo/a.c", src))] == [17]


def test_a_field_only_a_file_scope_initializer_writes_is_read_on_the_path(tmp_path):
    # The field's one writer is a designated initializer of a file-scope table, which
    # has no function: path validation reads the initializer (it raised here).
    from allocscan.pipeline import ScanOptions, run_scan

    (tmp_path / "table.c").write_text("""
struct demo_dev { int mode; spinlock_t lock; void *buf; };
static struct demo_dev demo_table[] = { { .mode = 3 }, { .mode = 4 } };

static void demo_fill(struct demo_dev *d)
{
	if (d->mode == 3)
		d->buf = kmalloc(64, GFP_KERNEL);
}

static void demo_update(struct demo_dev *d)
{
	spin_lock(&d->lock);
	demo_fill(d);
	spin_unlock(&d->lock);
}
""")
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1"))
    assert not result.warnings
    (finding,) = [f for f in result.findings if f.rule_id == "AS002"]
    assert finding.function == "demo_update"


def test_a_call_reaching_sleeping_allocations_in_two_files_names_both():
    """One finding per call line: the shorter witness is shown, and the allocation the
    call also reaches in another file is named in it (message, related location)."""
    found = findings(("drivers/net/demo/cm.c", """
struct demo_sock { spinlock_t lock; struct sk_buff *cache; int state; };
void demo_send_reset(struct demo_sock *s);
static struct sk_buff *demo_ctrl_skb(struct sk_buff *skb, int len)
{
	if (!skb || skb_shared(skb))
		skb = alloc_skb(len, GFP_KERNEL);
	return skb;
}
static void demo_reset_child(struct demo_sock *s)
{
	struct sk_buff *skb = demo_ctrl_skb(s->cache, 64);

	demo_send_reset(s);
	kfree_skb(skb);
}
void demo_stop(struct demo_sock *s)
{
	spin_lock_bh(&s->lock);
	demo_reset_child(s);
	spin_unlock_bh(&s->lock);
}
"""), ("drivers/net/demo/hw.c", """
struct demo_sock;
void demo_send_reset(struct demo_sock *s)
{
	struct sk_buff *skb = alloc_skb(128, GFP_KERNEL);

	demo_queue(s, skb);
}
"""))
    assert [(f.path, f.line) for f in found] == [("drivers/net/demo/cm.c", 20)]
    f = found[0]
    # the unconditional allocation is the stronger evidence: it is the witness
    assert (f.witness[-1].path, f.witness[-1].line, f.level) == ("drivers/net/demo/hw.c", 5, "error")
    assert f.properties["alsoReaches"] == ["drivers/net/demo/cm.c:7"]
    assert [(r.path, r.line) for r in f.related] == [("drivers/net/demo/hw.c", 5), ("drivers/net/demo/cm.c", 7)]
    assert "also reaches 'alloc_skb' with GFP_KERNEL (drivers/net/demo/cm.c:7 in demo_ctrl_skb())" in f.message


def test_an_allocation_behind_a_failed_assertion_is_not_reported():
    """`if (WARN_ON_ONCE(...))`: the arm runs only on a bug the kernel reports itself."""
    from allocscan.rules import select as rules

    files = [("mm/demo_early.c", """
void *demo_early_alloc(size_t size, int nid)
{
	if (WARN_ON_ONCE(slab_is_available()))
		return kzalloc_node(size, GFP_NOWAIT, nid);
	return demo_boot_alloc(size);
}
void *demo_table(int nid) { return demo_early_alloc(SZ_2M, nid); }
static DEFINE_SPINLOCK(demo_lock);
void demo_locked(void)
{
	spin_lock(&demo_lock);
	if (unlikely(WARN_ON(demo_lock_broken())))
		demo_buf = kmalloc(64, GFP_KERNEL);
	if (demo_refill_needed())
		demo_buf = kmalloc(64, GFP_KERNEL);
	spin_unlock(&demo_lock);
}
""")]
    analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
    found = [(f.rule_id, f.line) for rule in rules(None, None) for f in rule.check(analysis, _Options())]
    assert sorted(found) == [("AS002", 16)]
    assert {s.site.line for s in analysis.sites if s.on_bug_path} == {5, 14}


class _Options:
    min_order = 4


FACTORS = """
struct demo { spinlock_t lock; void *buf; };
static void demo_fill(struct demo *d, long rows, long cols)
{
	if (rows * cols != 4099)
		return;
	d->buf = kzalloc(64, GFP_KERNEL);
}
void demo_tick(struct demo *d, long rows, long cols)
{
	spin_lock(&d->lock);
	if (rows > 1 && cols > 1 && rows < 4099 && cols < 4099)
		demo_fill(d, rows, cols);
	spin_unlock(&d->lock);
}
"""


def _as002_with_stats(source: str):
    analysis = analyze(link([extract_file("drivers/demo/a.c", source.encode())]), builtin_kernel("6.1"))
    out = [f for rule in select(["AS002"], None) for f in rule.check(analysis, None)]
    return [(f.line, f.level) for f in out], analysis.stats


def test_a_question_the_solver_gives_up_on_keeps_the_witness_and_is_counted(monkeypatch):
    """4099 is prime: no two factors in 2..4098 make it, and z3 proves that within its
    work limit (about 115,000 units), so the path is dropped. Below what the proof
    needs, z3 answers "unknown": the witness is kept, as a feasible one would be, and
    the scan's stats count the unanswered questions."""
    import allocscan.analyze.paths as paths

    found, stats = _as002_with_stats(FACTORS)
    assert found == [] and stats["paths_dropped"] == 1 and stats["paths_over_limit"] == 0
    monkeypatch.setattr(paths, "SOLVER_RLIMIT", 1_000)
    found, stats = _as002_with_stats(FACTORS)
    assert found == [(13, "warning")] and stats["paths_dropped"] == 0 and stats["paths_over_limit"] >= 1


def test_a_context_test_answers_as_the_entry_points_context_does():
    """A completion passes in_task() down to the test that guards its allocation: in the
    interrupt that runs it the guarded call never happens; one guarded by
    in_interrupt() does."""
    found = findings(("fs/demo/read.c", """
struct demo_ctx { void *cache; };
static void demo_cache_page(struct demo_ctx *c) { c->cache = kmalloc(4096, GFP_NOFS); }
static void demo_finish(struct demo_ctx *c, bool in_task)
{
	if (in_task)
		demo_cache_page(c);
}
static void demo_finish_irq(struct demo_ctx *c, bool now)
{
	if (now)
		demo_cache_page(c);
}
static void demo_end_io(struct bio *bio)
{
	struct demo_ctx *c = bio->bi_private;
	bool intask = in_task() && !irqs_disabled();

	demo_finish(c, intask);
	demo_finish(c, !bio_in_atomic());
	demo_finish_irq(c, in_interrupt());
}
void demo_read(struct bio *bio)
{
	bio->bi_end_io = demo_end_io;
	submit_bio(bio);
}
"""))
    assert [(f.function, f.message.split("(")[0]) for f in found] == [("demo_end_io", "demo_end_io")]
    assert "demo_finish_irq" in found[0].message


def test_in_task_is_true_under_a_bottom_half_lock_in_a_task():
    """in_task() asks whether a softirq is being served: spin_lock_bh() in a task leaves
    it true, so `in_task() ? GFP_KERNEL : GFP_ATOMIC` picks GFP_KERNEL under the lock;
    gfp_any() (in_softirq()) picks GFP_ATOMIC there."""
    found = findings(("drivers/demo/q.c", """
struct demo_q { spinlock_t lock; void *buf; };
void demo_fill(struct demo_q *q)
{
	spin_lock_bh(&q->lock);
	q->buf = kmalloc(64, in_task() ? GFP_KERNEL : GFP_ATOMIC);
	spin_unlock_bh(&q->lock);
}
void demo_fill_any(struct demo_q *q)
{
	spin_lock_bh(&q->lock);
	q->buf = kmalloc(64, gfp_any());
	spin_unlock_bh(&q->lock);
}
"""))
    assert [f.function for f in found] == ["demo_fill"]


def test_in_atomic_answers_by_every_effect_of_the_region():
    """in_atomic() reads the preempt count: a spinlock raises it, interrupts off alone or
    an RCU read side under PREEMPT_RCU do not, so `in_atomic() ? GFP_ATOMIC :
    GFP_KERNEL` sleeps under rcu_read_lock() and local_irq_save(), not under
    spin_lock_irqsave()."""
    found = findings(("drivers/demo/pick.c", """
struct demo_q { spinlock_t lock; void *buf; };
void demo_locked(struct demo_q *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->buf = kmalloc(64, in_atomic() ? GFP_ATOMIC : GFP_KERNEL);
	spin_unlock_irqrestore(&q->lock, flags);
}
void demo_rcu(struct demo_q *q)
{
	rcu_read_lock();
	q->buf = kmalloc(64, in_atomic() ? GFP_ATOMIC : GFP_KERNEL);
	rcu_read_unlock();
}
void demo_irq_off(struct demo_q *q)
{
	unsigned long flags;

	local_irq_save(flags);
	q->buf = kmalloc(64, in_atomic() ? GFP_ATOMIC : GFP_KERNEL);
	local_irq_restore(flags);
}
"""))
    assert sorted(f.function for f in found) == ["demo_irq_off", "demo_rcu"]


def test_a_work_item_filled_and_handled_at_once_reads_back_what_its_caller_stored():
    """The event handler queues a work item on a master device and runs the handler at
    once on any other; the handler allocates only for a master. container_of() of the
    `&ew->work` the caller passed is the caller's `ew`, whose `dev` it stored just before:
    the two tests are one test, and they disagree."""
    src = """
struct demo_dev { unsigned long flags; spinlock_t lock; };
struct demo_work { struct work_struct work; struct demo_dev *dev; };
static void demo_port_change(struct work_struct *work)
{
	struct demo_work *ew = container_of(work, struct demo_work, work);
	struct demo_dev *dev = ew->dev;

	if (%sdemo_is_master(dev))
		kfree(kmalloc(64, GFP_KERNEL));
	kfree(ew);
}
void demo_event(struct demo_dev *dev)
{
	struct demo_work *ew;

	spin_lock(&dev->lock);
	ew = kmalloc(sizeof(*ew), GFP_ATOMIC);
	if (ew) {
		INIT_WORK(&ew->work, demo_port_change);
		ew->dev = dev;
		if (demo_is_master(dev))
			queue_work(demo_wq, &ew->work);
		else
			demo_port_change(&ew->work);
	}
	spin_unlock(&dev->lock);
}
"""
    assert lines(("drivers/demo/ev.c", src % "")) == []
    assert [line for line, _ in lines(("drivers/demo/ev.c", src % "!"))] == [25]
    # the local is assigned on another path too (an early branch that queues and leaves)
    early = src.replace("\tspin_lock(&dev->lock);\n", "\tspin_lock(&dev->lock);\n\tif (dev->flags & 4) {\n"
                        "\t\tew = kmalloc(sizeof(*ew), GFP_ATOMIC);\n\t\tew->dev = dev;\n"
                        "\t\tqueue_work(demo_wq, &ew->work);\n\t\tspin_unlock(&dev->lock);\n\t\treturn;\n\t}\n")
    assert early != src
    assert lines(("drivers/demo/ev.c", early % "")) == []


def test_an_exit_on_the_objects_mode_is_state_an_exit_on_an_error_is_not():
    """mptscsih_is_phys_disk()'s shape: `if (ioc->bus_type != SAS) goto out;` before the
    allocation leaves for the adapter's kind, which the path then depends on (a note);
    `if (!d->cfg) goto out;` is an error check the path passes (an error)."""
    src = """
struct demo { spinlock_t lock; int bus_type; void *cfg; void *buf; };
static int demo_check_%s(struct demo *d)
{
	int rc = 0;
	if (%s)
		goto out;
	d->buf = kzalloc(64, GFP_KERNEL);
out:
	return rc;
}
void demo_run_%s(struct demo *d)
{
	spin_lock(&d->lock);
	demo_check_%s(d);
	spin_unlock(&d->lock);
}
"""
    mode = src % ("mode", "d->bus_type != DEMO_SAS", "mode", "mode")
    error = src % ("error", "!d->cfg", "error", "error")
    assert [level for _, level in lines(("drivers/demo/mode.c", mode))] == ["note"]
    assert [level for _, level in lines(("drivers/demo/error.c", error))] == ["error"]


def test_a_local_set_once_to_named_flags_decides_the_callees_flag_test():
    """`u32 flags = DEMO_ATOMIC | DEMO_POOL;` handed to a helper that allocates GFP_KERNEL
    only without DEMO_ATOMIC: the path under the lock cannot take that branch (tee's
    register_shm_helper() with TEE_SHM_USER_MAPPED). Without DEMO_ATOMIC among the flags
    it can."""
    helper = """
#define DEMO_ATOMIC 0x1
#define DEMO_POOL 0x2
#define DEMO_DYN 0x4
struct demo { spinlock_t lock; void *buf; };
static void demo_register(struct demo *d, u32 flags)
{
	if (flags & DEMO_ATOMIC)
		return;
	d->buf = kzalloc(64, GFP_KERNEL);
}
"""
    assert lines(("drivers/demo/f.c", helper + """
void demo_fast(struct demo *d)
{
	u32 flags = DEMO_ATOMIC | DEMO_POOL;

	spin_lock(&d->lock);
	demo_register(d, flags);
	spin_unlock(&d->lock);
}
""")) == []
    assert [line for line, _ in lines(("drivers/demo/f.c", helper + """
void demo_slow(struct demo *d)
{
	u32 flags = DEMO_POOL | DEMO_DYN;

	spin_lock(&d->lock);
	demo_register(d, flags);
	spin_unlock(&d->lock);
}
"""))] == [18]


def test_handing_back_the_error_pointer_a_lookup_returned_is_an_error_exit():
    """gpiolib's gpiochip_request_own_desc(): `desc = gpiochip_get_desc(gc, hwnum); if
    (IS_ERR(desc)) return desc;` leaves with the lookup's error; the path that goes on to
    the allocation passes an error check, not a state of the object (an error, not a
    note). Returning some other pointer there is no error exit."""
    src = """
struct demo { spinlock_t lock; void *buf; };
struct demo_desc *demo_get_desc(struct demo *d, unsigned int n);
static struct demo_desc *demo_request_%s(struct demo *d, unsigned int n)
{
	struct demo_desc *desc = demo_get_desc(d, n);
	struct demo_desc *other = NULL;

	if (IS_ERR(desc))
		return %s;
	d->buf = kzalloc(64, GFP_KERNEL);
	return desc;
}
void demo_pwm_%s(struct demo *d)
{
	spin_lock(&d->lock);
	demo_request_%s(d, 3);
	spin_unlock(&d->lock);
}
"""
    error = src % ("error", "desc", "error", "error")
    other = src % ("other", "other", "other", "other")
    assert [level for _, level in lines(("drivers/demo/error.c", error))] == ["error"]
    assert [level for _, level in lines(("drivers/demo/other.c", other))] == ["note"]
