// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "local_irq_save": a sleeping allocation with interrupts off and no lock (preempt count untouched).
 * The module's init does the whole case; the harness removes it afterwards.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/irqflags.h>

static unsigned long irq_flags;
static void *local_irq_save_buf;

static int __init local_irq_save_case_init(void)
{
	local_irq_save(irq_flags);
	local_irq_save_buf = kmalloc(64, GFP_KERNEL);
	local_irq_restore(irq_flags);
	kfree(local_irq_save_buf);
	return 0;
}

static void __exit local_irq_save_case_exit(void)
{
}

module_init(local_irq_save_case_init);
module_exit(local_irq_save_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc under local_irq_save");
