// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "preempt_disable": a sleeping allocation with preemption disabled by hand;
 * its size is not a compile-time constant (kmalloc's out-of-line path).
 * The module's init does the whole case; the harness removes it afterwards.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/preempt.h>


static unsigned int preempt_disable_len = 64;
module_param(preempt_disable_len, uint, 0444);
static void *preempt_disable_buf;

static int __init preempt_disable_case_init(void)
{
	preempt_disable();
	preempt_disable_buf = kmalloc(min(preempt_disable_len, 256u), GFP_KERNEL);
	preempt_enable();
	kfree(preempt_disable_buf);
	return 0;
}

static void __exit preempt_disable_case_exit(void)
{
}

module_init(preempt_disable_case_init);
module_exit(preempt_disable_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc under preempt_disable");
