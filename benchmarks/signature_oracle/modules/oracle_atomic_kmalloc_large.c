// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "atomic_kmalloc_large": a 64 KiB GFP_ATOMIC kmalloc (kmalloc's large path, order 4) that finds no free block.
 * Every free block of order 4 and above is taken first (oracle_hog.h), so the
 * request has nothing to take and cannot reclaim or compact.
 */
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include "oracle_hog.h"

#define HOG_BLOCK_BYTES (PAGE_SIZE << HOG_LOW_ORDER)

static void *atomic_kmalloc_large_buf;

static int __init atomic_kmalloc_large_case_init(void)
{
	unsigned long taken = hog_take();

	atomic_kmalloc_large_buf = kmalloc(HOG_BLOCK_BYTES, GFP_ATOMIC);
	hog_give_back();
	pr_info("atomic_kmalloc_large: took %lu pages first; the request %s\n", taken,
		atomic_kmalloc_large_buf != NULL ? "succeeded" : "failed");
	kfree(atomic_kmalloc_large_buf);
	return 0;
}

static void __exit atomic_kmalloc_large_case_exit(void)
{
}

module_init(atomic_kmalloc_large_case_init);
module_exit(atomic_kmalloc_large_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: a 64 KiB GFP_ATOMIC kmalloc (kmalloc's large path, order 4) that finds no free block.");
