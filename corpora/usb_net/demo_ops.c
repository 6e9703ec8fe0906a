// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: the adapter's flash ops. The op tables are file-scope macros
 * with macro arguments; tree-sitter makes one declaration of everything after
 * them, and the functions below would be lost if the file were read whole.
 * Written for allocscan's tests.
 */
#include <linux/slab.h>

static DEMO_OP_VARIANTS(demo_read_variants,
		DEMO_READ_QUAD_OP(0, 1, NULL, 0),
		DEMO_READ_DUAL_OP(0, 1, NULL, 0),
		DEMO_READ_OP(true, 0, 1, NULL, 0),
		DEMO_READ_OP(false, 0, 1, NULL, 0));

static DEMO_OP_VARIANTS(demo_write_variants,
		DEMO_PROG_LOAD_X4(true, 0, NULL, 0),
		DEMO_PROG_LOAD(true, 0, NULL, 0));

struct demo_flash {
	spinlock_t lock;
	void *page;
	void *oob;
};

static int demo_flash_read_page(struct demo_flash *fl)
{
	unsigned long flags;

	spin_lock_irqsave(&fl->lock, flags);
	fl->page = kmalloc(2048, GFP_KERNEL); /* expect: AS002 */
	spin_unlock_irqrestore(&fl->lock, flags);
	return fl->page ? 0 : -ENOMEM;
}

static int demo_flash_read_oob(struct demo_flash *fl)
{
	spin_lock(&fl->lock);
	fl->oob = kzalloc(64, GFP_ATOMIC); /* ok: AS002 (atomic mask) */
	spin_unlock(&fl->lock);
	return fl->oob ? 0 : -ENOMEM;
}

static int demo_flash_erase(struct demo_flash *fl)
{
	void *buf = kmalloc(4096, GFP_KERNEL); /* ok: AS002 (no lock held) */

	spin_lock(&fl->lock);
	fl->page = buf;
	spin_unlock(&fl->lock);
	return 0;
}
