// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: the configfs side of the gadget function. A user writes
 * buflen through configfs; nothing bounds it before it reaches kmalloc.
 */
#include <linux/configfs.h>
#include "u_buf.h"

static ssize_t demo_opts_buflen_store(struct config_item *item, const char *page, size_t len)
{
	struct demo_opts *opts = to_demo_opts(item);
	unsigned int num;
	int ret;

	ret = kstrtouint(page, 0, &num);
	if (ret)
		return ret;
	opts->buflen = num;
	return len;
}

static int demo_bind(struct demo_dev *dev, struct demo_opts *opts)
{
	dev->buflen = opts->buflen;
	return 0;
}
