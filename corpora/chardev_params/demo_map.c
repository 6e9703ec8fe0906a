// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: an ioctl maps a user buffer described by a struct the user
 * fills in. The set-up function checks the description before handing it to
 * the allocating helper; a check whose product the user can make zero bounds
 * nothing.
 * Written for allocscan's tests.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

struct demo_map_desc {
	__s32 total;
	__s32 size;
	__s32 count;
};

struct demo_map_slot {
	void *addr;
	int len;
};

static struct demo_map_slot *slots;
static struct demo_map_slot *small_slots;

static int demo_map_alloc(struct demo_map_desc *desc)
{
	slots = kcalloc(desc->count, sizeof(struct demo_map_slot), GFP_KERNEL); /* expect: AS003 */
	return slots ? 0 : -ENOMEM;
}

static int demo_map_small(struct demo_map_desc *desc)
{
	small_slots = kcalloc(desc->count, sizeof(struct demo_map_slot), GFP_KERNEL); /* ok: AS003 (at most 64) */
	return small_slots ? 0 : -ENOMEM;
}

static int demo_map_init(struct demo_map_desc *desc)
{
	if (desc->count < 0 || desc->size < 0)
		return -EINVAL;
	/* a size of 0 passes this with any count */
	if (desc->total != desc->size * desc->count)
		return -EINVAL;
	return demo_map_alloc(desc);
}

static int demo_map_init_small(struct demo_map_desc *desc)
{
	if (desc->count < 0 || desc->count > 64)
		return -EINVAL;
	return demo_map_small(desc);
}

struct demo_map_desc32 {
	__s32 total;
	__s32 size;
	__s32 count;
	__u32 flags;
};

/* the 32-bit layout, translated field by field */
static long demo_map_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct demo_map_desc desc;
	struct demo_map_desc32 d32;

	if (copy_from_user(&d32, (void __user *)arg, sizeof(d32)))
		return -EFAULT;
	desc.total = d32.total;
	desc.size = d32.size;
	desc.count = d32.count;
	if (cmd == 1)
		return demo_map_init_small(&desc);
	return demo_map_init(&desc);
}

static const struct file_operations demo_map_fops = {
	.unlocked_ioctl = demo_map_ioctl,
};
