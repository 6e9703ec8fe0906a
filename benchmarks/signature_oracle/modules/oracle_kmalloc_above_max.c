// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "kmalloc_above_max": 8 MiB is above
 * KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages and order 10 the largest), so the
 * page allocator refuses the order before looking for pages.
 */
#include <linux/module.h>
#include <linux/slab.h>

#define RING_BYTES (8 << 20)

static void *ring;

static int __init kmalloc_above_max_case_init(void)
{
	ring = kmalloc(RING_BYTES, GFP_KERNEL);
	kfree(ring);
	return 0;
}

static void __exit kmalloc_above_max_case_exit(void)
{
}

module_init(kmalloc_above_max_case_init);
module_exit(kmalloc_above_max_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: kmalloc above KMALLOC_MAX_SIZE");
