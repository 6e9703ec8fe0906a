// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "vmalloc_spin_lock": vmalloc() always may
 * sleep, whatever the caller holds; here it runs under a spinlock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>

static DEFINE_SPINLOCK(vmalloc_guard);
static void *vmalloc_area;

static int __init vmalloc_spin_lock_case_init(void)
{
	spin_lock(&vmalloc_guard);
	vmalloc_area = vmalloc(16384);
	spin_unlock(&vmalloc_guard);
	vfree(vmalloc_area);
	return 0;
}

static void __exit vmalloc_spin_lock_case_exit(void)
{
}

module_init(vmalloc_spin_lock_case_init);
module_exit(vmalloc_spin_lock_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: vmalloc under spin_lock");
