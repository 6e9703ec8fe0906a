// SPDX-License-Identifier: GPL-2.0
/* Rx submission: the skb comes from one of two allocators, by a device quirk. */
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/slab.h>

struct demo_rxq_entry {
	struct urb *urb;
	unsigned int len;
};

struct demo_rxq {
	struct net_device *net;
	size_t rx_urb_size;
	bool no_ip_align;
	struct demo_rxq_entry *entry;
};

int demo_rx_submit(struct demo_rxq *q, gfp_t flags)
{
	struct sk_buff *skb;
	size_t size = q->rx_urb_size;

	q->entry = kmalloc(sizeof(struct demo_rxq_entry), flags);
	if (!q->entry)
		return -ENOMEM;
	if (q->no_ip_align)
		skb = __netdev_alloc_skb(q->net, size, flags);
	else
		skb = __netdev_alloc_skb_ip_align(q->net, size, flags);
	if (!skb)
		return -ENOMEM;
	return 0;
}

void demo_rxq_kick(struct demo_rxq *q)
{
	demo_rx_submit(q, GFP_ATOMIC);
}

#define DEMO_JUMBO_RX 16384

int demo_rx_jumbo(struct demo_rxq *q)
{
	struct sk_buff *skb;

	q->entry = kmalloc(sizeof(struct demo_rxq_entry), GFP_ATOMIC);
	if (!q->entry)
		return -ENOMEM;
	skb = __netdev_alloc_skb(q->net, DEMO_JUMBO_RX, GFP_ATOMIC);
	return skb ? 0 : -ENOMEM;
}
