// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: an interrupts-off region opened, closed and opened again in one
 * function. The witness names the opening in force at the call (the one in the
 * loop), not the first one, which is closed before. Written for this project
 * after the shape of a processor set-up loop that re-enables interrupts around
 * one allocation and forgets the next.
 */
#include <linux/irqflags.h>
#include <linux/slab.h>

struct demo_tc {
	int index;
	void *ctx;
};

static struct demo_tc *demo_alloc_tc(int index)
{
	struct demo_tc *tc = kzalloc(sizeof(*tc), GFP_KERNEL);

	if (tc)
		tc->index = index;
	return tc;
}

static void *demo_alloc_ctx(int index)
{
	return kmalloc(128, GFP_KERNEL);
}

int demo_setup_units(int first, int count)
{
	unsigned long flags;
	struct demo_tc *tc;
	int i;

	local_irq_save(flags);
	demo_hw_freeze();
	for (i = first; i < count; i++) {
		demo_hw_thaw();
		local_irq_restore(flags);
		tc = demo_alloc_tc(i); /* ok: AS002 (interrupts are back on) */
		if (!tc)
			return -ENOMEM;
		local_irq_save(flags);
		demo_hw_freeze();
		tc->ctx = demo_alloc_ctx(i); /* expect: AS002 */
	}
	demo_hw_thaw();
	local_irq_restore(flags);
	return 0;
}
