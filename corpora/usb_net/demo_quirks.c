// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: the adapter's per-chip quirks. The table's rows sit under
 * #ifdefs, which tree-sitter cannot parse inside an initializer: the file
 * does not parse whole, and is read piece by piece. Written for allocscan's tests.
 */
#include <linux/slab.h>
#include <linux/usb.h>

struct demo_quirk {
	u16 product;
	int (*setup)(struct usb_device *udev);
};

static struct demo_quirk demo_quirks[] = {
#ifdef CONFIG_DEMO_CHIP_A
	{ 0x0a01, demo_chip_a_setup },
#endif
#ifdef CONFIG_DEMO_CHIP_B
	{ 0x0b01, demo_chip_b_setup },
#endif
#ifdef CONFIG_DEMO_CHIP_C
	{ 0x0c01, demo_chip_c_setup },
#endif
#ifdef CONFIG_DEMO_CHIP_D
	{ 0x0d01, demo_chip_d_setup },
#endif
	{ 0, NULL },
};

struct demo_quirk_state {
	spinlock_t lock;
	void *fw;
	void *scratch;
};

static void demo_quirk_reload(struct demo_quirk_state *qs)
{
	unsigned long flags;

	spin_lock_irqsave(&qs->lock, flags);
	qs->fw = kzalloc(4096, GFP_KERNEL); /* expect: AS002 */
	spin_unlock_irqrestore(&qs->lock, flags);
	qs->scratch = kzalloc(4096, GFP_KERNEL); /* ok: AS002 (unlocked) */
}
