// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: lengths a device reports, bounded by checks the allocation sits
 * behind in ways a plain `if (len > MAX) return;` does not show: an earlier
 * operand of the condition holding the allocation, a threshold a module
 * parameter sets, and a check in each arm of an if/else.
 * Written for allocscan's tests.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include "demo_ring.h"

#define DEMO_REG_RX_LEN		0x40
#define DEMO_REG_RX_LEN_V2	0x44
#define DEMO_REG_BLOB_LEN	0x48
#define DEMO_REG_HEAD		0x4c
#define DEMO_REG_TAIL		0x50
#define DEMO_RING_SIZE		0x8000
#define DEMO_RING_MASK		(DEMO_RING_SIZE - 1)
#define DEMO_MTU_V1		318
#define DEMO_MTU_V2		250

static int copy_thresh = 256;
module_param(copy_thresh, int, 0);
MODULE_PARM_DESC(copy_thresh, "Frames shorter than this are copied");

static unsigned int big_thresh = 1 << 20;
module_param(big_thresh, uint, 0444);

static unsigned int ring_bytes = 4096;
module_param(ring_bytes, uint, 0444);

#define DEMO_DESC_OWN		0x80000000

/* the driver hands a descriptor to the device; the device writes the status back */
struct demo_status_desc {
	__le32 status;
	__le32 addr;
};

struct demo_blob_hdr {
	__le32 flags;
	__le32 count;
	u8 data[];
};

static void demo_thresh_rx(struct net_device *dev, struct demo_ring_priv *priv)
{
	u32 len = readl(priv->regs + DEMO_REG_RX_LEN);
	struct sk_buff *skb;
	void *buf;

	/* copy-break in the condition holding the allocation */
	if (len < copy_thresh && (skb = netdev_alloc_skb(dev, len + 2)) != NULL) /* ok: AS001 (below the copy-break, 256 by default) */
		dev_kfree_skb_any(skb);
	if (len > 16 && (buf = kmalloc(len, GFP_ATOMIC)) != NULL) /* expect: AS001 order>=10 */
		kfree(buf);
	/* a threshold whose shipped setting is large bounds nothing small */
	if (len < big_thresh && (buf = kmalloc(len, GFP_ATOMIC)) != NULL) /* expect: AS001 order>=8 */
		kfree(buf);
}

static void demo_thresh_copy(struct demo_ring_priv *priv)
{
	u32 len = readl(priv->regs + DEMO_REG_RX_LEN);
	void *buf;

	if (len >= copy_thresh || !(buf = kmalloc(len, GFP_ATOMIC))) /* ok: AS001 (reached only below the copy-break) */
		return;
	kfree(buf);
}

static void demo_status_give(struct demo_status_desc *desc)
{
	desc->status = cpu_to_le32(DEMO_DESC_OWN);
}

/* as far as the driver's stores go, the status is DEMO_DESC_OWN: a length of 32764,
 * which the copy-break arm never lets through; the device's lengths are not seen */
static void demo_status_rx(struct net_device *dev, struct demo_status_desc *desc)
{
	u32 status = le32_to_cpu(desc->status);
	int len = (status >> 16) - 4;
	struct sk_buff *skb;

	if (len < copy_thresh) {
		skb = netdev_alloc_skb(dev, len); /* ok: AS001 (no proven length reaches the arm) */
		if (skb)
			dev_kfree_skb_any(skb);
	}
	demo_status_give(desc);
}

/* the size is the parameter itself: its whole range, not its default */
static void demo_ring_refill(struct demo_ring_priv *priv)
{
	priv->scratch = kmalloc(ring_bytes, GFP_ATOMIC); /* expect: AS001 AS003 */
}

static unsigned int demo_mtu_rx(struct demo_ring_priv *priv)
{
	unsigned int rx_len;
	void *buf;

	/* each register layout refuses a length above its own MTU */
	if (priv->rx_head & 1) {
		rx_len = readw(priv->regs + DEMO_REG_RX_LEN);
		if (rx_len > DEMO_MTU_V1)
			return 0;
	} else {
		rx_len = readw(priv->regs + DEMO_REG_RX_LEN_V2);
		if (rx_len > DEMO_MTU_V2)
			return 0;
	}
	buf = kmalloc(rx_len * 64, GFP_ATOMIC); /* ok: AS001 (at most 318 * 64 bytes) */
	kfree(buf);
	return rx_len;
}

/* each arm checks against a limit the analysis cannot evaluate (another module passes
 * it): bounded, by what it cannot see */
unsigned int demo_mtu_limit(struct demo_ring_priv *priv, unsigned int limit)
{
	unsigned int rx_len;
	void *buf;

	if (priv->rx_head & 4) {
		rx_len = readw(priv->regs + DEMO_REG_RX_LEN);
		if (rx_len > limit)
			return 0;
	} else {
		rx_len = readw(priv->regs + DEMO_REG_RX_LEN_V2);
		if (rx_len > limit / 2)
			return 0;
	}
	buf = kmalloc(rx_len * 64, GFP_ATOMIC); /* ok: AS001 (checked against the caller's limit) */
	kfree(buf);
	return rx_len;
}

/* only one arm checks: the other path reaches the allocation unbounded */
static unsigned int demo_one_arm(struct demo_ring_priv *priv)
{
	unsigned int rx_len;
	void *buf;

	if (priv->rx_head & 2) {
		rx_len = readw(priv->regs + DEMO_REG_RX_LEN);
		if (rx_len > DEMO_MTU_V1)
			return 0;
	} else {
		rx_len = readw(priv->regs + DEMO_REG_RX_LEN_V2);
	}
	buf = kmalloc(rx_len * 64, GFP_ATOMIC); /* expect: AS001 order>=8 */
	kfree(buf);
	return rx_len;
}

/* a ring's fill level is less than the ring */
static void demo_ring_drain(struct demo_ring_priv *priv)
{
	u16 head = readw(priv->regs + DEMO_REG_HEAD) & DEMO_RING_MASK;
	u16 tail = readw(priv->regs + DEMO_REG_TAIL) & DEMO_RING_MASK;
	unsigned int count = (tail >= head) ? (tail - head) : (tail - head + DEMO_RING_SIZE);
	unsigned int twice = (tail >= head) ? (tail - head) * 2 : (head - tail + DEMO_RING_SIZE);
	void *buf;

	buf = kmalloc(count, GFP_ATOMIC); /* ok: AS001 (at most DEMO_RING_SIZE - 1) */
	kfree(buf);
	buf = kmalloc(twice, GFP_ATOMIC); /* expect: AS001 order>=4 */
	kfree(buf);
	count = readl(priv->regs + DEMO_REG_BLOB_LEN);
	buf = kmalloc((count > SZ_4K) ? SZ_4K : count, GFP_ATOMIC); /* ok: AS001 (clamped to 4 KiB) */
	kfree(buf);
	buf = kmalloc((count < SZ_4K) ? SZ_4K : count, GFP_ATOMIC); /* expect: AS001 order>=10 */
	kfree(buf);
}

static irqreturn_t demo_thresh_irq(int irq, void *data)
{
	struct net_device *dev = data;
	struct demo_ring_priv *priv = netdev_priv(dev);
	struct demo_blob_hdr *hdr = priv->scratch;
	unsigned int blob_len = readl(priv->regs + DEMO_REG_BLOB_LEN);
	u32 count = le32_to_cpu(hdr->count);
	void *buf;

	demo_status_rx(dev, priv->scratch);
	demo_ring_drain(priv);
	demo_mtu_rx(priv);
	demo_one_arm(priv);
	demo_thresh_copy(priv);
	/* a flexible struct checked against the blob it came in */
	if (blob_len > 8192)
		return IRQ_HANDLED;
	if (blob_len < struct_size(hdr, data, count))
		return IRQ_HANDLED;
	buf = kmalloc(count, GFP_ATOMIC); /* ok: AS001 (count fits in the 8 KiB blob) */
	kfree(buf);
	demo_ring_refill(priv);
	demo_thresh_rx(dev, priv);
	return IRQ_HANDLED;
}

int demo_thresh_open(struct net_device *dev)
{
	return request_irq(dev->irq, demo_thresh_irq, 0, "demo_thresh", dev);
}
