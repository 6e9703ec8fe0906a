// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: the legacy firmware loader, first written by Jürgen Müller.
 * Its header carries Latin-1 bytes, as old drivers do: the file is read as
 * Latin-1 and scanned like any other. Written for allocscan's tests.
 */
#include <linux/slab.h>
#include <linux/timer.h>

#define DEMO_FW_CHUNK	(32 * 4096)

struct demo_fw {
	struct timer_list retry;
	void *chunk;
};

static void demo_fw_retry(struct timer_list *t)
{
	struct demo_fw *fw = from_timer(fw, t, retry);

	/* réessai */ fw->chunk = kmalloc(DEMO_FW_CHUNK, GFP_ATOMIC); /* expect: AS001:error */
}

static void demo_fw_start(struct demo_fw *fw)
{
	timer_setup(&fw->retry, demo_fw_retry, 0);
}
