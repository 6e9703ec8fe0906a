// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "timer_list": a timer_list callback runs in
 * the TIMER softirq, so a GFP_KERNEL allocation there is invalid.
 */
#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>

static struct timer_list poll_timer;
static DECLARE_COMPLETION(poll_timer_ran);

static void poll_timer_fire(struct timer_list *timer)
{
	void *sample = kmalloc(128, GFP_KERNEL);

	kfree(sample);
	complete(&poll_timer_ran);
}

static int __init timer_list_case_init(void)
{
	timer_setup(&poll_timer, poll_timer_fire, 0);
	mod_timer(&poll_timer, jiffies + msecs_to_jiffies(20));
	wait_for_completion(&poll_timer_ran);
	return 0;
}

static void __exit timer_list_case_exit(void)
{
	del_timer_sync(&poll_timer);
}

module_init(timer_list_case_init);
module_exit(timer_list_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc in a timer_list callback");
