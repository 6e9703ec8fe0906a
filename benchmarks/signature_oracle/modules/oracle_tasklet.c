// SPDX-License-Identifier: GPL-2.0
/*
 * allocscan signature oracle, case "tasklet": a tasklet runs in the TASKLET
 * softirq, so a GFP_KERNEL allocation there is invalid.
 */
#include <linux/completion.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/slab.h>

static struct tasklet_struct rx_tasklet;
static DECLARE_COMPLETION(rx_tasklet_ran);

static void rx_tasklet_run(struct tasklet_struct *t)
{
	void *frame = kmalloc(256, GFP_KERNEL);

	kfree(frame);
	complete(&rx_tasklet_ran);
}

static int __init tasklet_case_init(void)
{
	tasklet_setup(&rx_tasklet, rx_tasklet_run);
	tasklet_schedule(&rx_tasklet);
	wait_for_completion(&rx_tasklet_ran);
	return 0;
}

static void __exit tasklet_case_exit(void)
{
	tasklet_kill(&rx_tasklet);
}

module_init(tasklet_case_init);
module_exit(tasklet_case_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("allocscan signature oracle: GFP_KERNEL kmalloc in a tasklet");
