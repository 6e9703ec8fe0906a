// SPDX-License-Identifier: GPL-2.0
/* Ring reset: statistics, then a descriptor ring from a helper the compiler inlines. */
#include <linux/slab.h>
#include <linux/dma-mapping.h>

#define DEMO_RING_BYTES (16 * 4096)

struct demo_ring_stats {
	unsigned long long packets;
	unsigned long long bytes;
};

struct demo_rings {
	struct device *dev;
	struct demo_ring_stats *stats;
	void *ring;
	unsigned long ring_dma;
};

static void *demo_get_desc_ring(struct demo_rings *r)
{
	return dma_alloc_coherent(r->dev, DEMO_RING_BYTES, &r->ring_dma, GFP_ATOMIC);
}

int demo_reset_rings(struct demo_rings *r)
{
	r->stats = kzalloc(sizeof(struct demo_ring_stats), GFP_ATOMIC);
	if (!r->stats)
		return -ENOMEM;
	r->ring = demo_get_desc_ring(r);
	return r->ring ? 0 : -ENOMEM;
}
