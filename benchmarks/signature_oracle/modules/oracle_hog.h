/* SPDX-License-Identifier: GPL-2.0 */
/*
 * allocscan signature oracle: make a high-order atomic failure real.
 *
 * hog_take() takes every free block of order HOG_LOW_ORDER and above, first
 * with reclaim and compaction allowed (so the blocks that could be made are
 * made and taken), then with atomic access to the reserves, both under
 * __GFP_NORETRY|__GFP_NOWARN so that the hog itself neither retries forever
 * nor logs. After it an order-HOG_LOW_ORDER request that cannot reclaim has
 * nothing to take and fails in warn_alloc(). hog_give_back() frees it all.
 */
#ifndef ORACLE_HOG_H
#define ORACLE_HOG_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>

#define HOG_TOP_ORDER 10	/* the largest order on x86_64 in 6.1 and 6.12 */
#define HOG_LOW_ORDER 4		/* the first order above PAGE_ALLOC_COSTLY_ORDER */

static LIST_HEAD(hog_blocks);

static unsigned long hog_pass(gfp_t gfp)
{
	unsigned long taken = 0;
	int order;

	for (order = HOG_TOP_ORDER; order >= HOG_LOW_ORDER; order--) {
		struct page *block;

		while ((block = alloc_pages(gfp | __GFP_NORETRY | __GFP_NOWARN, order))) {
			set_page_private(block, order);
			list_add(&block->lru, &hog_blocks);
			taken += 1UL << order;
		}
	}
	return taken;
}

static unsigned long hog_take(void)
{
	return hog_pass(GFP_KERNEL) + hog_pass(GFP_ATOMIC);
}

static void hog_give_back(void)
{
	struct page *block, *next;

	list_for_each_entry_safe(block, next, &hog_blocks, lru) {
		list_del(&block->lru);
		__free_pages(block, page_private(block));
	}
}

#endif
