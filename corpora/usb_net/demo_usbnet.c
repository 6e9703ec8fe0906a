// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a USB network adapter. Receive URBs complete in softirq
 * context, where every allocation must be atomic; transmit descriptors and
 * rings are set up through helpers that pass their caller's gfp mask down.
 * Written for allocscan's tests.
 */
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/usb.h>

#define DEMO_RX_URB_SIZE	(60 * 1024)	/* aggregated frames: 60 KiB per URB */
#define DEMO_RX_SMALL		1536
#define DEMO_STATS_LEN		(64 * 1024)

struct demo_ring {
	u8 slots[8192];
};

struct demo_dev {
	struct net_device *net;
	struct usb_device *udev;
	struct urb *rx_urb;
	spinlock_t lock;
	void *rx_buf;
	void *stats;
	void *desc;
	struct demo_ring *rings;
	unsigned int pipe;
};

/* Receive: the completion hands each aggregate to the stack in a new skb. */
static void demo_rx_complete(struct urb *urb)
{
	struct demo_dev *dev = urb->context;
	struct sk_buff *skb, *small;

	/* A 60 KiB head is an order-4 kmalloc that __alloc_skb() tries with
	 * __GFP_NOWARN: under fragmentation it fails without a word and the
	 * frames are dropped. */
	skb = netdev_alloc_skb(dev->net, DEMO_RX_URB_SIZE); /* expect: AS001:note */
	small = netdev_alloc_skb(dev->net, DEMO_RX_SMALL); /* ok: AS001 (order 0) */
	if (!skb || !small)
		return;
	/* The author wrote __GFP_NOWARN and keeps the old buffer when this fails. */
	dev->stats = kmalloc(DEMO_STATS_LEN, GFP_ATOMIC | __GFP_NOWARN); /* expect: AS001:note */
}

static int demo_start_rx(struct demo_dev *dev)
{
	usb_fill_bulk_urb(dev->rx_urb, dev->udev, dev->pipe, dev->rx_buf, DEMO_RX_URB_SIZE,
			  demo_rx_complete, dev);
	return usb_submit_urb(dev->rx_urb, GFP_KERNEL);
}

/* GFP_NOWAIT does not sleep: 8 rings of 8 KiB are an order-4 request. On a
 * kernel whose GFP_NOWAIT carries __GFP_NOWARN (6.12) the failure is silent,
 * but the author asked for no silence: it keeps its level. */
static int demo_grow_rings(struct demo_dev *dev)
{
	dev->rings = kzalloc(sizeof(struct demo_ring) * 8, GFP_NOWAIT); /* expect: AS001:error */
	return dev->rings ? 0 : -ENOMEM;
}

/* Descriptors: the caller's mask goes down two helpers to the allocator. */
static void *demo_desc_buf(struct demo_dev *dev, gfp_t gfp)
{
	return kmalloc(64, gfp); /* ok: AS002 (reported where the lock is held) */
}

static void *demo_desc_alloc(struct demo_dev *dev, gfp_t gfp)
{
	void *desc;

	spin_lock(&dev->lock);
	desc = demo_desc_buf(dev, gfp); /* expect: AS002 */
	spin_unlock(&dev->lock);
	return desc;
}

static int demo_open(struct demo_dev *dev)
{
	dev->desc = demo_desc_alloc(dev, GFP_KERNEL);
	return dev->desc ? demo_start_rx(dev) : -ENOMEM;
}

static void demo_reset_desc(struct demo_dev *dev)
{
	dev->desc = demo_desc_alloc(dev, GFP_ATOMIC); /* ok: AS002 (an atomic mask under the lock) */
}

/* Rings for the status endpoint: the mask chosen in the completion goes
 * down the set-up helpers to two 64 KiB kmallocs, three and four calls away. */
static void *demo_status_buf(struct demo_dev *dev, gfp_t flags)
{
	return kmalloc(DEMO_STATS_LEN, flags); /* ok: AS001 (the mask is chosen four calls up: beyond the hop limit) */
}

static void *demo_status_ring(struct demo_dev *dev, gfp_t flags)
{
	dev->rx_buf = kmalloc(DEMO_STATS_LEN, flags); /* expect: AS001:warning */
	return demo_status_buf(dev, flags);
}

static void *demo_status_setup(struct demo_dev *dev, gfp_t flags)
{
	return demo_status_ring(dev, flags);
}

static void *demo_status_start(struct demo_dev *dev, gfp_t flags)
{
	return demo_status_setup(dev, flags);
}

static void demo_status_complete(struct urb *urb)
{
	struct demo_dev *dev = urb->context;

	dev->stats = demo_status_start(dev, GFP_ATOMIC);
}

static int demo_status_probe(struct demo_dev *dev)
{
	dev->stats = demo_status_start(dev, GFP_KERNEL);
	dev->rx_urb->complete = demo_status_complete;
	return dev->stats ? 0 : -ENOMEM;
}
