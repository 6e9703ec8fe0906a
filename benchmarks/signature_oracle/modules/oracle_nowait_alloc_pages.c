// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "nowait_alloc_pages": an order-4 GFP_NOWAIT alloc_pages that finds no free block.
 * Every free block of order 4 and above is taken first (oracle_hog.h), so the
 * request has nothing to take and cannot reclaim or compact.
 */
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include "oracle_hog.h"

#define HOG_BLOCK_BYTES (PAGE_SIZE << HOG_LOW_ORDER)

static struct page *nowait_alloc_pages_page;

static int __init nowait_alloc_pages_case_init(void)
{
	unsigned long taken = hog_take();

	nowait_alloc_pages_page = alloc_pages(GFP_NOWAIT, HOG_LOW_ORDER);
	hog_give_back();
	pr_info("nowait_alloc_pages: took %lu pages first; the request %s\n", taken,
		nowait_alloc_pages_page != NULL ? "succeeded" : "failed");
	if (nowait_alloc_pages_page)
		__free_pages(nowait_alloc_pages_page, HOG_LOW_ORDER);
	return 0;
}

static void __exit nowait_alloc_pages_case_exit(void)
{
}

module_init(nowait_alloc_pages_case_init);
module_exit(nowait_alloc_pages_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: an order-4 GFP_NOWAIT alloc_pages that finds no free block.");
