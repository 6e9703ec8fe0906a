// SPDX-License-Identifier: GPL-2.0
/* A table resized from sysfs: its header is fixed, its entries come from the user. */
#include <linux/slab.h>
#include <linux/kstrtox.h>

struct demo_cfg_hdr {
	unsigned int magic;
	unsigned int count;
};

struct demo_cfg {
	struct demo_cfg_hdr *hdr;
	unsigned long long *table;
};

static int demo_cfg_resize(struct demo_cfg *cfg, unsigned long entries)
{
	cfg->hdr = kmalloc(sizeof(struct demo_cfg_hdr), GFP_KERNEL);
	if (!cfg->hdr)
		return -ENOMEM;
	cfg->table = kmalloc(entries * sizeof(unsigned long long), GFP_KERNEL);
	return cfg->table ? 0 : -ENOMEM;
}

static ssize_t demo_cfg_store(struct demo_cfg *cfg, const char *buf, size_t count)
{
	unsigned long entries;
	int err;

	err = kstrtoul(buf, 0, &entries);
	if (err)
		return err;
	err = demo_cfg_resize(cfg, entries);
	return err ? err : count;
}
