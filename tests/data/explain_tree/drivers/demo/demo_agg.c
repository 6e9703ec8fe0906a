// SPDX-License-Identifier: GPL-2.0
/* Rx aggregation buffers: a descriptor, a 64 KiB compound page, and its urb. */
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/usb.h>

#define DEMO_AGG_BUF_SZ (64 * 1024)

struct demo_agg {
	struct demo_agg *next;
	struct page *page;
	void *buffer;
	struct urb *urb;
	unsigned int len;
};

struct demo_usbnet {
	int node;
	atomic_t rx_count;
};

static struct demo_agg *demo_alloc_agg(struct demo_usbnet *dn, gfp_t gfp)
{
	unsigned int order = get_order(DEMO_AGG_BUF_SZ);
	struct demo_agg *agg;

	agg = kmalloc_node(sizeof(*agg), gfp, dn->node);
	if (!agg)
		return NULL;

	agg->page = alloc_pages(gfp | __GFP_COMP, order);
	if (!agg->page)
		goto free_agg;

	agg->buffer = page_address(agg->page);
	agg->urb = usb_alloc_urb(0, gfp);
	if (!agg->urb)
		goto free_page;
	atomic_inc(&dn->rx_count);
	return agg;

free_page:
	__free_pages(agg->page, order);
free_agg:
	kfree(agg);
	return NULL;
}

int demo_agg_refill(struct demo_usbnet *dn)
{
	return demo_alloc_agg(dn, GFP_ATOMIC) ? 0 : -ENOMEM;
}
