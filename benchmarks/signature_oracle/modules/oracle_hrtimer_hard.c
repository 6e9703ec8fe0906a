// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "hrtimer_hard": an hrtimer started with
 * HRTIMER_MODE_REL_HARD expires in hard-interrupt context.
 */
#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>

static struct hrtimer sample_clock;
static DECLARE_COMPLETION(sample_clock_ran);

static enum hrtimer_restart sample_clock_expired(struct hrtimer *timer)
{
	void *sample = kmalloc(96, GFP_KERNEL);

	kfree(sample);
	complete(&sample_clock_ran);
	return HRTIMER_NORESTART;
}

static int __init hrtimer_hard_case_init(void)
{
	hrtimer_init(&sample_clock, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	sample_clock.function = sample_clock_expired;
	hrtimer_start(&sample_clock, ms_to_ktime(20), HRTIMER_MODE_REL_HARD);
	wait_for_completion(&sample_clock_ran);
	return 0;
}

static void __exit hrtimer_hard_case_exit(void)
{
	hrtimer_cancel(&sample_clock);
}

module_init(hrtimer_hard_case_init);
module_exit(hrtimer_hard_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc in a hard-irq hrtimer callback");
