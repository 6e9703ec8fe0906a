// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "spin_lock_irqsave": a sleeping allocation under spin_lock_irqsave (preemption and interrupts off).
 * The module's init does the whole case; the harness removes it afterwards.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(irqsave_guard);
static unsigned long irqsave_flags;
static void *spin_lock_irqsave_buf;

static int __init spin_lock_irqsave_case_init(void)
{
	spin_lock_irqsave(&irqsave_guard, irqsave_flags);
	spin_lock_irqsave_buf = kmalloc(64, GFP_KERNEL);
	spin_unlock_irqrestore(&irqsave_guard, irqsave_flags);
	kfree(spin_lock_irqsave_buf);
	return 0;
}

static void __exit spin_lock_irqsave_case_exit(void)
{
}

module_init(spin_lock_irqsave_case_init);
module_exit(spin_lock_irqsave_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc under spin_lock_irqsave");
