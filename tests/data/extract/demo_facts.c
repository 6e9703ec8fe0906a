#define DEMO_RING 256
#define DEMO_BYTES(n) ((n) * sizeof(struct demo_desc))
enum demo_mode { DEMO_OFF, DEMO_ON = 4, DEMO_MAX };
struct demo_desc { u32 addr; u16 len; u8 flags[2]; };
struct demo_priv { spinlock_t lock; struct demo_desc *ring; unsigned int count; struct timer_list timer; };
static unsigned int ring_len = DEMO_RING;
module_param(ring_len, uint, 0644);
static const struct net_device_ops demo_ops = { .ndo_start_xmit = demo_xmit, };

static void demo_timer_fn(struct timer_list *t)
{
	struct demo_priv *priv = from_timer(priv, t, timer);
	unsigned long flags;

	spin_lock_irqsave(&priv->lock, flags);
	priv->ring = kzalloc(DEMO_BYTES(priv->count), GFP_ATOMIC);
	spin_unlock_irqrestore(&priv->lock, flags);
	kfree(priv->ring); /* allocscan: ignore AS001 -- demo */
}

static int demo_setup(struct demo_priv *priv, bool fast, gfp_t gfp)
{
	if (priv->count > DEMO_RING)
		return -EINVAL;
	if (!priv->ring)
		priv->ring = kmalloc(16, gfp);
	if (fast)
		priv->ops->kick(priv, 1);
	priv->count = ring_len;
	timer_setup(&priv->timer, demo_timer_fn, 0);
	return 0;
}
