// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a network driver with an interrupt handler, NAPI poll,
 * a transmit path and a lock-protected ring. Written for allocscan's tests.
 */
#include <linux/netdevice.h>
#include <linux/interrupt.h>
#include <linux/slab.h>

#define RX_RING_SIZE	256
#define RX_BUF_LEN	2048
#define JUMBO_LEN	(64 * 1024)

struct demo_desc {
	__le32 addr;
	__le16 len;
	__le16 flags;
};

struct demo_priv {
	spinlock_t lock;
	struct napi_struct napi;
	struct demo_desc *ring;
	void *stats;
	void *jumbo;
	struct work_struct reset_work;
	void *filter;
};

enum demo_filter_op {
	DEMO_FILTER_ADD = 1,
	DEMO_FILTER_DEL = 2,
};

static void demo_refill(struct demo_priv *priv, gfp_t gfp)
{
	priv->stats = kmalloc(128, gfp); /* ok: AS002 (the caller's gfp is reported at the caller) */
}

static irqreturn_t demo_irq(int irq, void *data)
{
	struct demo_priv *priv = data;

	priv->stats = kzalloc(sizeof(struct demo_desc) * 4, GFP_KERNEL); /* expect: AS002 */
	napi_schedule(&priv->napi);
	return IRQ_HANDLED;
}

static int demo_poll(struct napi_struct *napi, int budget)
{
	struct demo_priv *priv = container_of(napi, struct demo_priv, napi);

	priv->jumbo = kmalloc(JUMBO_LEN, GFP_ATOMIC); /* expect: AS001 */
	demo_refill(priv, GFP_ATOMIC);
	return 0;
}

static netdev_tx_t demo_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct demo_priv *priv = netdev_priv(dev);

	demo_refill(priv, GFP_KERNEL); /* expect: AS002 */
	return NETDEV_TX_OK;
}

static void demo_reset_work(struct work_struct *work)
{
	struct demo_priv *priv = container_of(work, struct demo_priv, reset_work);
	unsigned long flags;

	priv->ring = kcalloc(RX_RING_SIZE, sizeof(struct demo_desc), GFP_KERNEL); /* ok: AS002 (workqueue) */
	spin_lock_irqsave(&priv->lock, flags);
	if (!priv->ring) {
		spin_unlock_irqrestore(&priv->lock, flags);
		return;
	}
	priv->stats = vmalloc(RX_BUF_LEN); /* expect: AS002 */
	spin_unlock_irqrestore(&priv->lock, flags);
	priv->stats = vzalloc(RX_BUF_LEN); /* ok: AS002 (unlocked) */
}

static int demo_resize(struct demo_priv *priv)
{
	void *ring = kzalloc(8 * 1024 * 1024, GFP_KERNEL); /* expect: AS004 */

	if (!ring)
		return -ENOMEM;
	return 0;
}

static const struct net_device_ops demo_netdev_ops = {
	.ndo_start_xmit = demo_xmit,
};

static int demo_probe(struct net_device *dev, struct demo_priv *priv)
{
	int err;

	err = request_irq(dev->irq, demo_irq, 0, "demo", priv);
	if (err)
		return err;
	netif_napi_add(dev, &priv->napi, demo_poll);
	INIT_WORK(&priv->reset_work, demo_reset_work);
	demo_refill(priv, GFP_KERNEL); /* ok: AS002 (probe may sleep) */
	return demo_resize(priv);
}

/* Negative: the callee drops the caller's lock around its allocation. */
static void *demo_grow_table(struct demo_priv *priv, unsigned long *flags)
{
	void *table;

	spin_unlock_irqrestore(&priv->lock, *flags);
	table = kzalloc(RX_BUF_LEN, GFP_KERNEL); /* ok: AS002 (lock dropped by this function) */
	spin_lock_irqsave(&priv->lock, *flags);
	return table;
}

static void demo_expand(struct demo_priv *priv)
{
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	priv->stats = demo_grow_table(priv, &flags);
	spin_unlock_irqrestore(&priv->lock, flags);
}

/* gfp chosen by context: GFP_ATOMIC in the timer, so not a bug there. */
static void demo_stats_timer(struct timer_list *t)
{
	struct demo_priv *priv = from_timer(priv, t, timer);

	priv->stats = kmalloc(64, in_interrupt() ? GFP_ATOMIC : GFP_KERNEL); /* ok: AS002 */
}

static void demo_setup_timer(struct demo_priv *priv)
{
	timer_setup(&priv->timer, demo_stats_timer, 0);
}

/* A gfp_t parameter that only records the mask does not allocate here. */
static void demo_set_gfp(struct demo_priv *priv, gfp_t gfp)
{
	priv->alloc_flags = gfp;
}

static void demo_configure(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	demo_set_gfp(priv, GFP_KERNEL); /* ok: AS002 (the mask is stored, nothing is allocated) */
	spin_unlock(&priv->lock);
}

/*
 * A helper that may sleep only when its caller says so: the constant the
 * caller passes decides which of its calls run.
 */
static int demo_sync_filter(struct demo_priv *priv, bool may_sleep)
{
	if (!may_sleep)
		return 0;
	priv->filter = kzalloc(RX_BUF_LEN, GFP_KERNEL); /* ok: AS002 (reported at the locked call below) */
	return priv->filter ? 0 : -ENOMEM;
}

static void demo_filter_op(struct demo_priv *priv, int op)
{
	if (op == DEMO_FILTER_ADD)
		priv->filter = kmalloc(64, GFP_KERNEL); /* ok: AS002 (only the DEMO_FILTER_DEL caller is atomic) */
	else
		kfree(priv->filter);
}

static void demo_tx_timeout_locked(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	demo_sync_filter(priv, false);	/* the kzalloc above is not reached from here */
	demo_filter_op(priv, DEMO_FILTER_DEL);
	spin_unlock(&priv->lock);
}

static void demo_resync(struct demo_priv *priv)
{
	spin_lock_irq(&priv->lock);
	demo_sync_filter(priv, true);	/* expect: AS002 (it is from here: the fix goes here) */
	spin_unlock_irq(&priv->lock);
}

/* gfp_any() tests in_softirq(): GFP_ATOMIC under spin_lock_bh(), GFP_KERNEL under spin_lock_irqsave(). */
static void demo_stats_bh(struct demo_priv *priv)
{
	spin_lock_bh(&priv->lock);
	priv->stats = kmalloc(64, gfp_any()); /* ok: AS002 (BH disabled: gfp_any() is GFP_ATOMIC) */
	spin_unlock_bh(&priv->lock);
}

static void demo_stats_irqsave(struct demo_priv *priv)
{
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	priv->stats = kmalloc(64, gfp_any()); /* expect: AS002 */
	spin_unlock_irqrestore(&priv->lock, flags);
}

/* A mask chosen by a flag the caller knows: the author's choice per path. */
static void demo_fill_rx(struct demo_priv *priv, bool atomic)
{
	priv->jumbo = kmalloc(RX_BUF_LEN, atomic ? GFP_ATOMIC : GFP_KERNEL); /* ok: AS002 */
}

static void demo_rx_refill_locked(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	demo_fill_rx(priv, true);
	spin_unlock(&priv->lock);
}

/* A switch on a parameter: the constant the caller passes picks one case. */
static void demo_event(struct demo_priv *priv, enum demo_filter_op op)
{
	switch (op) {
	case DEMO_FILTER_ADD:
		priv->filter = kzalloc(RX_BUF_LEN, GFP_KERNEL); /* ok: AS002 (only reached with DEMO_FILTER_ADD) */
		break;
	case DEMO_FILTER_DEL:
		kfree(priv->filter);
		priv->filter = NULL;
		break;
	}
}

static void demo_link_down_locked(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	demo_event(priv, DEMO_FILTER_DEL);
	spin_unlock(&priv->lock);
}

/* A helper that strips the reclaim bits from what it is given never blocks. */
static void *demo_trace_alloc(struct demo_priv *priv, gfp_t flags)
{
	flags &= ~(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM);
	return kmalloc(64, flags);
}

static void demo_trace_locked(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	priv->stats = demo_trace_alloc(priv, GFP_KERNEL); /* ok: AS002 (the callee masks the mask) */
	spin_unlock(&priv->lock);
}

/* A CAN receive handler runs in the NET_RX softirq: gfp_any() is GFP_ATOMIC there. */
static void demo_can_rcv(struct sk_buff *skb, void *data)
{
	struct demo_priv *priv = data;

	spin_lock(&priv->lock);
	priv->stats = kmalloc(64, gfp_any()); /* ok: AS002 (softirq: gfp_any() picks GFP_ATOMIC) */
	spin_unlock(&priv->lock);
}

static void demo_can_open(struct demo_priv *priv, struct net *net, struct net_device *dev)
{
	can_rx_register(net, dev, 0x123, 0x7ff, demo_can_rcv, priv, "demo", NULL);
}

/* A wrapper that forwards the constant to the function that switches on it. */
static inline void demo_event_wrapper(struct demo_priv *priv, enum demo_filter_op op)
{
	demo_event(priv, op);
}

static void demo_carrier_lost_locked(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	demo_event_wrapper(priv, DEMO_FILTER_DEL);
	spin_unlock(&priv->lock);
}

/* The caller's own test decides the callee's switch: only the DEMO_FILTER_DEL case runs locked. */
static void demo_filter_ctl(struct demo_priv *priv, enum demo_filter_op op)
{
	unsigned long flags;

	if (op == DEMO_FILTER_DEL) {
		spin_lock_irqsave(&priv->lock, flags);
		demo_event(priv, op);
		spin_unlock_irqrestore(&priv->lock, flags);
	} else {
		demo_event(priv, op);
	}
}

/* Interrupts go off only for the status request: the set-feature case never runs with them off. */
#define DEMO_REQ(dir, type)	(((dir) << 8) | (type))
#define DEMO_GET_STATUS		DEMO_REQ(0xa3, 0x00)
#define DEMO_SET_FEATURE	DEMO_REQ(0x23, 0x03)

static int demo_hub_control(struct demo_priv *priv, u16 req)
{
	switch (req) {
	case DEMO_GET_STATUS:
		return 0;
	case DEMO_SET_FEATURE:
		priv->stats = kmalloc(64, GFP_KERNEL); /* ok: AS002 (only DEMO_GET_STATUS runs with irqs off) */
		return 0;
	}
	return -EINVAL;
}

static int demo_hub_control_quirk(struct demo_priv *priv, u16 req)
{
	unsigned long flags;
	int irq_off = 0, ret;

	if (req == DEMO_GET_STATUS && demo_needs_sof_sync(priv)) {
		irq_off = 1;
		local_irq_save(flags);
	}
	ret = demo_hub_control(priv, req);
	if (irq_off)
		local_irq_restore(flags);
	return ret;
}

/* A per-CPU buffer cache: the lock helper turns interrupts off itself, and the
 * unlock helper's irqrestore turns them back on. */
struct demo_pcpu_cache {
	raw_spinlock_t lock;
	void *spare;
};
static DEFINE_PER_CPU(struct demo_pcpu_cache, demo_cache);

static struct demo_pcpu_cache *demo_cache_lock(unsigned long *flags)
{
	struct demo_pcpu_cache *c;

	local_irq_save(*flags);
	c = this_cpu_ptr(&demo_cache);
	raw_spin_lock(&c->lock);
	return c;
}

static void demo_cache_unlock(struct demo_pcpu_cache *c, unsigned long flags)
{
	raw_spin_unlock_irqrestore(&c->lock, flags);
}

static void *demo_cache_get(void)
{
	struct demo_pcpu_cache *c;
	unsigned long flags;
	void *buf;

	c = demo_cache_lock(&flags);
	buf = c->spare;
	c->spare = NULL;
	if (!buf) {
		demo_cache_unlock(c, flags);
		buf = kmalloc(RX_BUF_LEN, GFP_KERNEL); /* ok: AS002 (both regions closed by the irqrestore) */
		c = demo_cache_lock(&flags);
	}
	demo_cache_unlock(c, flags);
	return buf;
}

/* Small frames come from a BH-protected per-CPU pool, but only for callers
 * that cannot sleep: a blocking mask leaves through the first branch. */
static void *demo_frame_alloc(struct demo_priv *priv, unsigned int len, gfp_t gfp)
{
	void *data;

	if (len > RX_BUF_LEN || (gfp & __GFP_DIRECT_RECLAIM))
		return kmalloc(len, gfp);

	local_bh_disable();
	data = kmalloc(len, gfp); /* ok: AS002 (a blocking gfp returned above) */
	local_bh_enable();
	return data;
}

static int demo_open_frames(struct demo_priv *priv)
{
	priv->jumbo = demo_frame_alloc(priv, 256, GFP_KERNEL);
	return priv->jumbo ? 0 : -ENOMEM;
}

/* Refill: the atomic caller holds the ring lock across the loop; the work item
 * allocates unlocked and takes the lock only around the ring update. */
static int demo_rx_refill(struct demo_priv *priv, gfp_t gfp)
{
	unsigned long flags = 0;
	void *buf;

	if (gfp == GFP_ATOMIC)
		spin_lock_irqsave(&priv->lock, flags);
	buf = kmalloc(RX_BUF_LEN, gfp); /* ok: AS002 (locked only for GFP_ATOMIC) */
	if (gfp != GFP_ATOMIC)
		spin_lock_irqsave(&priv->lock, flags);
	priv->stats = buf;
	spin_unlock_irqrestore(&priv->lock, flags);
	return buf ? 0 : -ENOMEM;
}

static void demo_refill_work(struct work_struct *work)
{
	struct demo_priv *priv = container_of(work, struct demo_priv, reset_work);

	demo_rx_refill(priv, GFP_KERNEL);
}

static void demo_refill_atomic(struct demo_priv *priv)
{
	demo_rx_refill(priv, GFP_ATOMIC);
}

/* A timer callback (softirq) that takes a plain spinlock: gfp_any() still sees
 * in_softirq() and picks GFP_ATOMIC. */
static void demo_load_note(struct demo_priv *priv)
{
	priv->stats = kmalloc(64, gfp_any()); /* ok: AS002 (gfp_any() in the timer's softirq is GFP_ATOMIC) */
}

static void demo_load_timer(struct timer_list *t)
{
	struct demo_priv *priv = from_timer(priv, t, load_timer);

	spin_lock(&priv->lock);
	demo_load_note(priv);
	spin_unlock(&priv->lock);
}

static void demo_load_start(struct demo_priv *priv)
{
	timer_setup(&priv->load_timer, demo_load_timer, 0);
	mod_timer(&priv->load_timer, jiffies + HZ);
}

/* One-time set-up: the statistics block is allocated on the first dump, which
 * probe makes; later dumps under the lock find it there. */
struct demo_hw_stats {
	u64 rx;
	u64 tx;
};

static int demo_stats_dump(struct demo_priv *priv, struct demo_hw_stats **out)
{
	if (!priv->hw_stats) {
		priv->hw_stats = kzalloc(sizeof(struct demo_hw_stats), GFP_KERNEL); /* ok: AS002 (one-time set-up, done at probe) */
		if (!priv->hw_stats)
			return -ENOMEM;
	}
	*out = priv->hw_stats;
	return 0;
}

static int demo_stats_probe(struct demo_priv *priv)
{
	struct demo_hw_stats *s;

	return demo_stats_dump(priv, &s);
}

static void demo_stats_get(struct demo_priv *priv)
{
	struct demo_hw_stats *s;
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	demo_stats_dump(priv, &s);
	spin_unlock_irqrestore(&priv->lock, flags);
}

/* The same lazy set-up under the function's own lock sleeps on its first call. */
static void *demo_lazy_filter(struct demo_priv *priv)
{
	spin_lock(&priv->lock);
	if (!priv->filter)
		priv->filter = kzalloc(RX_BUF_LEN, GFP_KERNEL); /* expect: AS002 */
	spin_unlock(&priv->lock);
	return priv->filter;
}
