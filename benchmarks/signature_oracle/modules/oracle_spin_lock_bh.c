// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "spin_lock_bh": a sleeping allocation under spin_lock_bh (softirqs and preemption off).
 * The module's init does the whole case; the harness removes it afterwards.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(bh_guard);
static void *spin_lock_bh_buf;

static int __init spin_lock_bh_case_init(void)
{
	spin_lock_bh(&bh_guard);
	spin_lock_bh_buf = kmalloc(64, GFP_KERNEL);
	spin_unlock_bh(&bh_guard);
	kfree(spin_lock_bh_buf);
	return 0;
}

static void __exit spin_lock_bh_case_exit(void)
{
}

module_init(spin_lock_bh_case_init);
module_exit(spin_lock_bh_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc under spin_lock_bh");
