// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "rcu_read_lock": a sleeping allocation inside an RCU read-side section.
 * The module's init does the whole case; the harness removes it afterwards.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/rcupdate.h>


static void *rcu_read_lock_buf;

static int __init rcu_read_lock_case_init(void)
{
	rcu_read_lock();
	rcu_read_lock_buf = kmalloc(64, GFP_KERNEL);
	rcu_read_unlock();
	kfree(rcu_read_lock_buf);
	return 0;
}

static void __exit rcu_read_lock_case_exit(void)
{
}

module_init(rcu_read_lock_case_init);
module_exit(rcu_read_lock_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc under rcu_read_lock");
