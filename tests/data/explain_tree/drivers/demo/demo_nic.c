// SPDX-License-Identifier: GPL-2.0
/* Rx ring refill from NAPI: a bookkeeping slot, then one page for the data. */
#include <linux/slab.h>
#include <linux/gfp.h>

struct demo_rx_slot {
	struct page *page;
	unsigned long dma;
	unsigned short len;
};

struct demo_ring {
	struct demo_rx_slot *slot;
	unsigned int fill;
};

static int demo_ring_refill(struct demo_ring *ring)
{
	struct demo_rx_slot *slot;

	slot = kmalloc(sizeof(*slot), GFP_ATOMIC);
	if (!slot)
		return -ENOMEM;
	slot->page = alloc_page(GFP_ATOMIC);
	if (!slot->page) {
		kfree(slot);
		return -ENOMEM;
	}
	ring->slot = slot;
	return 0;
}

int demo_poll(struct demo_ring *ring, int budget)
{
	while (budget-- && !demo_ring_refill(ring))
		ring->fill++;
	return 0;
}
