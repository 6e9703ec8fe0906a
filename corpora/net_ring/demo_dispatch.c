// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a control-frame dispatcher that validates a header's length
 * word against the frame before handing the frame to a handler, which reads
 * the word again and allocates by it.
 * Written for allocscan's tests.
 */
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#define DEMO_CTL_WORD	4
#define DEMO_CTL_MAX	1500

struct demo_ctl_hdr {
	__u8 op;
	__u8 flags;
	__be16 words;	/* length of what follows, in 4-byte words */
};

struct demo_ctl_desc {
	__be32 id;
	__be32 addr;
};

struct demo_ctl_priv {
	spinlock_t lock;
	struct demo_ctl_desc *descs;
};

/* reached only from demo_ctl_recv(), which checked the length word */
static void demo_ctl_table(struct demo_ctl_priv *priv, struct sk_buff *skb)
{
	struct demo_ctl_hdr *hdr = (struct demo_ctl_hdr *)skb->data;
	size_t len = ntohs(hdr->words) * DEMO_CTL_WORD;
	size_t n = len / sizeof(struct demo_ctl_desc);

	priv->descs = kmalloc_array(n, sizeof(struct demo_ctl_desc), GFP_ATOMIC); /* ok: AS001 (the word fits the frame) */
}

/* one caller checks, the other does not */
static void demo_ctl_stats(struct demo_ctl_priv *priv, struct sk_buff *skb)
{
	struct demo_ctl_hdr *hdr = (struct demo_ctl_hdr *)skb->data;
	void *buf;

	buf = kmalloc(ntohs(hdr->words) * 64, GFP_ATOMIC); /* expect: AS001 order>=8 */
	kfree(buf);
}

/* called only inside the arm that checked the word */
static void demo_ctl_short(struct demo_ctl_priv *priv, struct sk_buff *skb)
{
	struct demo_ctl_hdr *hdr = (struct demo_ctl_hdr *)skb->data;
	void *buf;

	buf = kmalloc(ntohs(hdr->words) * 256, GFP_ATOMIC); /* ok: AS001 (at most 64 words) */
	kfree(buf);
}

static int demo_ctl_recv(struct demo_ctl_priv *priv, struct sk_buff *skb)
{
	struct demo_ctl_hdr *ch = (struct demo_ctl_hdr *)skb->data;

	if (ntohs(ch->words) * DEMO_CTL_WORD + sizeof(*ch) > DEMO_CTL_MAX)
		goto drop;
	spin_lock(&priv->lock);
	if (ch->op == 1)
		demo_ctl_table(priv, skb);
	else
		demo_ctl_stats(priv, skb);
	spin_unlock(&priv->lock);
	return 0;
drop:
	kfree_skb(skb);
	return -EINVAL;
}

static int demo_ctl_peek(struct demo_ctl_priv *priv, struct sk_buff *skb)
{
	struct demo_ctl_hdr *ph = (struct demo_ctl_hdr *)skb->data;

	if (ph->flags && ntohs(ph->words) <= 64)
		demo_ctl_short(priv, skb);
	demo_ctl_stats(priv, skb);
	return 0;
}

static int demo_ctl_rcv(struct sk_buff *skb, struct net_device *dev, struct packet_type *pt,
			struct net_device *orig)
{
	struct demo_ctl_priv *priv = netdev_priv(dev);

	if (skb->len > 2)
		return demo_ctl_recv(priv, skb);
	return demo_ctl_peek(priv, skb);
}

static struct packet_type demo_ctl_packet_type = {
	.func = demo_ctl_rcv,
};

void demo_ctl_start(void)
{
	dev_add_pack(&demo_ctl_packet_type);
}
