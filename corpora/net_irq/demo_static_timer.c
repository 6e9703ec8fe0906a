// SPDX-License-Identifier: GPL-2.0
/* Timers and tasklets declared at file scope with `static DEFINE_TIMER(...)`. */
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/interrupt.h>

struct demo_poll_stats {
	u32 polls;
	u32 misses;
};

static struct demo_poll_stats *demo_stats;
static unsigned long demo_bits;

static void demo_poll_fn(struct timer_list *unused);
static void demo_flush_fn(struct tasklet_struct *unused);

static DEFINE_TIMER(demo_poll_timer, demo_poll_fn);
static DECLARE_TASKLET(demo_flush_tasklet, demo_flush_fn);

static void demo_poll_fn(struct timer_list *unused)
{
	struct demo_poll_stats *snap = kmalloc(sizeof(*snap), GFP_KERNEL); /* expect: AS002 */

	if (snap) {
		*snap = *demo_stats;
		kfree(snap);
	}
	mod_timer(&demo_poll_timer, jiffies + HZ);
}

static void demo_flush_fn(struct tasklet_struct *unused)
{
	unsigned long *copy = kmalloc(sizeof(*copy), GFP_ATOMIC); /* ok: AS002 */

	if (copy) {
		*copy = demo_bits;
		kfree(copy);
	}
}

static int demo_poll_start(void)
{
	demo_stats = kzalloc(sizeof(*demo_stats), GFP_KERNEL);
	if (!demo_stats)
		return -ENOMEM;
	mod_timer(&demo_poll_timer, jiffies + HZ);
	tasklet_schedule(&demo_flush_tasklet);
	return 0;
}
