// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: ring sizes that come from a table of chip parameters, and a
 * buffer length from a module parameter bound to a member of an options
 * struct. Written for allocscan's tests.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>

struct demo_chip_info {
	u32 rx_ring;
	u32 desc_size;
	u32 hdr_len;
};

struct demo_chip {
	const struct demo_chip_info *info;
	struct timer_list poll_timer;
	void *ring;
	void *hdr;
	void *buf;
};

static const struct demo_chip_info demo_chip_tbl[] = {
	[0] = { .rx_ring = 256, .desc_size = 16, .hdr_len = 64 },
	[1] = { .rx_ring = 2048, .desc_size = 32, .hdr_len = 128 },
};

struct demo_opts {
	u32 buflen;
};

static struct demo_opts demo_opts = { .buflen = 4096 };
module_param_named(buflen, demo_opts.buflen, uint, 0644);

static void demo_chip_poll(struct timer_list *t)
{
	struct demo_chip *chip = from_timer(chip, t, poll_timer);

	chip->ring = kcalloc(chip->info->rx_ring, chip->info->desc_size, GFP_ATOMIC); /* expect: AS001 order>=4 */
	chip->hdr = kmalloc(chip->info->hdr_len, GFP_ATOMIC); /* ok: AS001 (128 bytes at most) */
	chip->buf = kmalloc(demo_opts.buflen, GFP_ATOMIC); /* expect: AS001 AS003 */
}

int demo_chip_probe(struct demo_chip *chip, unsigned int id)
{
	chip->info = &demo_chip_tbl[id];
	timer_setup(&chip->poll_timer, demo_chip_poll, 0);
	return 0;
}
