// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a character device with module parameters, an ioctl and a
 * timer. Written for allocscan's tests.
 */
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

#define DEMO_MAX_LEN	SZ_64K

static unsigned int bufsize = 4096;
module_param(bufsize, uint, 0644);
MODULE_PARM_DESC(bufsize, "buffer size in bytes");

static ushort depth = 16;
module_param(depth, ushort, 0444);

struct demo_cmd {
	u32 len;
	u32 flags;
};

struct demo_state {
	struct timer_list timer;
	spinlock_t lock;
	void *buf;
	void *ring;
	void *scratch;
};

static struct demo_state state;

static int demo_open(struct inode *inode, struct file *file)
{
	state.buf = kmalloc(bufsize, GFP_KERNEL); /* expect: AS003 */
	state.ring = kcalloc(depth, 64, GFP_KERNEL); /* ok: AS003 (ushort: at most 4 MiB) */
	return state.buf ? 0 : -ENOMEM;
}

static long demo_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct demo_cmd req;
	u32 len;
	void *p;

	if (copy_from_user(&len, (void __user *)arg, sizeof(len)))
		return -EFAULT;
	p = kmalloc(min_t(u32, len, DEMO_MAX_LEN), GFP_KERNEL); /* ok: AS003 (clamped) */
	kfree(p);
	return 0;
}

static void demo_timer_fn(struct timer_list *t)
{
	unsigned long flags;

	spin_lock_irqsave(&state.lock, flags);
	state.scratch = kmalloc(sizeof(struct demo_cmd), GFP_ATOMIC); /* ok: AS002 */
	spin_unlock_irqrestore(&state.lock, flags);
	state.scratch = kmalloc(PAGE_SIZE * 16, GFP_ATOMIC); /* expect: AS001 */
	state.scratch = kmalloc(PAGE_SIZE * 4, GFP_ATOMIC); /* ok: AS001 (order 2) */
	state.scratch = kmalloc(PAGE_SIZE * 32, GFP_ATOMIC | __GFP_NOWARN); /* expect: AS001:note (a try with a fallback, silent) */
	if (!state.scratch)
		state.scratch = kmalloc(PAGE_SIZE, GFP_ATOMIC);
}

/* kvmalloc falls back to vmalloc when it may sleep: 16 MiB is fine there. */
static void *demo_alloc_log(void)
{
	return kvmalloc(16 * 1024 * 1024, GFP_KERNEL); /* ok: AS004 (vmalloc fallback) */
}

static int __init demo_init(void)
{
	timer_setup(&state.timer, demo_timer_fn, 0);
	return 0;
}
module_init(demo_init);

static long demo_ioctl_set(struct file *file, unsigned int cmd, unsigned long arg)
{
	u32 count;
	void *p;

	if (get_user(count, (u32 __user *)arg))
		return -EFAULT;
	if (!count || count > 64)
		return -EINVAL;
	p = kcalloc(count, sizeof(struct demo_cmd), GFP_KERNEL); /* ok: AS003 (guarded) */
	kfree(p);
	return 0;
}

static long demo_ioctl_raw(struct file *file, unsigned int cmd, unsigned long arg)
{
	u32 count;
	void *p;

	if (copy_from_user(&count, (void __user *)arg, sizeof(count)))
		return -EFAULT;
	p = kcalloc(count, sizeof(struct demo_cmd), GFP_KERNEL); /* expect: AS003 */
	kfree(p);
	return 0;
}

/* A module parameter the driver clamps itself is not taken raw. */
static unsigned int ring_entries = 256;
module_param(ring_entries, uint, 0444);

static int demo_ring_init(void)
{
	if (ring_entries > 4096)
		ring_entries = 4096;
	state.ring = kcalloc(ring_entries, 64, GFP_KERNEL); /* ok: AS003 (clamped at init) */
	return state.ring ? 0 : -ENOMEM;
}

/* Iterator-named definitions are functions, not loops. */
static int demo_for_each_buffer(int (*fn)(void *), void *data)
{
	return fn(data);
}

/* A size clamped by assignment is bounded after the clamp. */
static int demo_fill_from_user(u32 __user *up)
{
	u32 len;
	void *p;

	if (get_user(len, up))
		return -EFAULT;
	if (len > SZ_4K) {
		pr_warn("demo: clamping %u\n", len);
		len = SZ_4K;
	}
	p = kmalloc(len, GFP_KERNEL); /* ok: AS003 (clamped) */
	kfree(p);
	return 0;
}

/* A request struct copied whole from the user: each of its fields is the user's. */
static long demo_ioctl_req(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct demo_cmd req;
	struct demo_cmd *dup;
	void *p;

	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	p = kmalloc(req.len, GFP_KERNEL); /* expect: AS003 */
	kfree(p);
	if (req.len > SZ_64K)
		return -EINVAL;
	p = kmalloc(req.len, GFP_KERNEL); /* ok: AS003 (checked) */
	kfree(p);
	dup = memdup_user((void __user *)arg, sizeof(*dup));
	if (IS_ERR(dup))
		return PTR_ERR(dup);
	p = kmalloc(dup->len, GFP_KERNEL); /* expect: AS003 */
	kfree(p);
	kfree(dup);
	return 0;
}

/* A setting rejected with `break` in its ioctl case: bounded after the check. */
#define DEMO_SET_MRU	0x4004
#define DEMO_MIN_MRU	1500

static struct demo_link {
	int mru;
	unsigned int rx_len;
	void *rx;
} link;

static long demo_link_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	int __user *p = (int __user *)arg;
	int val, err = -EFAULT;

	switch (cmd) {
	case DEMO_SET_MRU:
		if (get_user(val, p))
			break;
		if (val > U16_MAX) {
			err = -EINVAL;
			break;
		}
		if (val < DEMO_MIN_MRU)
			val = DEMO_MIN_MRU;
		link.mru = val;
		err = 0;
		break;
	default:
		if (get_user(val, p))
			break;
		link.rx_len = val;
		err = 0;
		break;
	}
	return err;
}

static void demo_link_rx(struct timer_list *t)
{
	link.rx = kmalloc(link.mru + 4, GFP_ATOMIC); /* expect: AS001 order>=5 */
}

static int demo_link_open(struct inode *inode, struct file *file)
{
	link.rx = kmalloc(link.rx_len, GFP_KERNEL); /* expect: AS003 */
	return link.rx ? 0 : -ENOMEM;
}

/* __init runs once at load, before any ioctl: the ioctl's value cannot reach it. */
static int __init demo_link_init(void)
{
	link.rx = kmalloc(link.rx_len, GFP_KERNEL); /* ok: AS003 (before any user can set it) */
	timer_setup(&state.timer, demo_link_rx, 0);
	return link.rx ? 0 : -ENOMEM;
}
