// SPDX-License-Identifier: GPL-2.0
/* Command, event and spare buffers of the same size: only the gfp tells them apart. */
#include <linux/slab.h>

#define DEMO_CMD_BYTES (24 * 1024)

struct demo_cmdq {
	void *cmd;
	void *evt;
	void *spare;
};

int demo_cmdq_fill(struct demo_cmdq *q)
{
	q->cmd = kmalloc(DEMO_CMD_BYTES, GFP_KERNEL);
	q->evt = kmalloc(DEMO_CMD_BYTES, GFP_ATOMIC);
	q->spare = kmalloc(DEMO_CMD_BYTES, GFP_ATOMIC | __GFP_NOWARN);
	return q->cmd && q->evt ? 0 : -ENOMEM;
}
