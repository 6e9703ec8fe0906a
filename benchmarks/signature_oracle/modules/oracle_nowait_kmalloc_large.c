// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "nowait_kmalloc_large": a 64 KiB GFP_NOWAIT kmalloc (order 4) that finds no free block.
 * Every free block of order 4 and above is taken first (oracle_hog.h), so the
 * request has nothing to take and cannot reclaim or compact.
 */
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include "oracle_hog.h"

#define HOG_BLOCK_BYTES (PAGE_SIZE << HOG_LOW_ORDER)

static void *nowait_kmalloc_large_buf;

static int __init nowait_kmalloc_large_case_init(void)
{
	unsigned long taken = hog_take();

	nowait_kmalloc_large_buf = kmalloc(HOG_BLOCK_BYTES, GFP_NOWAIT);
	hog_give_back();
	pr_info("nowait_kmalloc_large: took %lu pages first; the request %s\n", taken,
		nowait_kmalloc_large_buf != NULL ? "succeeded" : "failed");
	kfree(nowait_kmalloc_large_buf);
	return 0;
}

static void __exit nowait_kmalloc_large_case_exit(void)
{
}

module_init(nowait_kmalloc_large_case_init);
module_exit(nowait_kmalloc_large_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: a 64 KiB GFP_NOWAIT kmalloc (order 4) that finds no free block.");
