// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: sizes a device supplies (a descriptor's length field, a
 * register) and ring sizes a user set, allocated where sleeping is not allowed.
 * Written for allocscan's tests.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/netdevice.h>
#include <linux/slab.h>
#include "demo_ring.h"

static int demo_refill(struct demo_ring_priv *priv)
{
	priv->rx_ring = kcalloc(priv->rx_count, sizeof(struct demo_rx_desc), GFP_ATOMIC); /* expect: AS001 order>=4 */
	priv->tx_ring = kcalloc(priv->tx_count, sizeof(struct demo_rx_desc), GFP_ATOMIC); /* ok: AS001 (at most 256 by the core's check) */
	return priv->rx_ring && priv->tx_ring ? 0 : -ENOMEM;
}

#define DEMO_COPY_THRESH 256

/* Copy-break: small frames are copied, inside an `if` that bounds the length. */
static void demo_rx_copybreak(struct demo_ring_priv *priv, struct demo_rx_desc *desc)
{
	unsigned int len = le16_to_cpu(desc->len);
	unsigned int head = priv->rx_head;
	void *copy;

	if (head < 8 && len <= DEMO_COPY_THRESH)
		copy = kmalloc(len, GFP_ATOMIC); /* ok: AS001 (inside the copy-break arm) */
	else
		copy = kmalloc(len, GFP_ATOMIC); /* expect: AS001 order>=4 */
	kfree(copy);
	if (len < DEMO_COPY_THRESH) {
		len = le16_to_cpu(desc->status);
		copy = kmalloc(len, GFP_ATOMIC); /* expect: AS001 (len written again after the test) */
		kfree(copy);
	}
}

static int demo_rx_poll(struct napi_struct *napi, int budget)
{
	struct demo_ring_priv *priv = container_of(napi, struct demo_ring_priv, napi);
	struct demo_rx_desc *desc = &priv->rx_ring[priv->rx_head];
	unsigned int len = le16_to_cpu(desc->len);
	void *copy;

	copy = kmalloc(len, GFP_ATOMIC); /* expect: AS001 order>=4 */
	kfree(copy);
	if (len > DEMO_MAX_FRAME)
		return 0;
	copy = kmalloc(len, GFP_ATOMIC); /* ok: AS001 (checked against the largest frame) */
	kfree(copy);
	demo_rx_copybreak(priv, desc);
	/* the frame went into the buffer the ring posted: its length is at most that */
	napi_gro_receive(napi, napi_alloc_skb(napi, le16_to_cpu(desc->len))); /* ok: AS001 (a received frame's skb) */
	return demo_refill(priv);
}

static irqreturn_t demo_fw_irq(int irq, void *data)
{
	struct demo_ring_priv *priv = data;
	u32 fw_len = readl(priv->regs + DEMO_REG_FW_LEN);

	priv->bufs[3] = kmalloc(fw_len, GFP_ATOMIC); /* expect: AS001 order>=10 */
	priv->bufs[2] = kmalloc(min_t(u32, fw_len, SZ_4K), GFP_ATOMIC); /* ok: AS001 (clamped) */
	return IRQ_HANDLED;
}

int demo_rx_open(struct net_device *dev, struct demo_ring_priv *priv)
{
	netif_napi_add(dev, &priv->napi, demo_rx_poll);
	return request_irq(dev->irq, demo_fw_irq, 0, "demo_fw", priv);
}
