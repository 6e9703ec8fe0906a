// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: sleeping allocations under a lock inside #if branches. A branch
 * whose condition needs a macro that nothing in the tree defines (no #define
 * in any file, no -D in a Makefile) is not compiled, and no witness runs
 * through it; one on a macro a header or a Makefile defines, or on a Kconfig
 * symbol, may be compiled. Written for this project after the shape of a
 * benchmark left in a self-test behind a commented-out #define.
 */
#include <linux/spinlock.h>
#include <linux/slab.h>
#include <linux/demo_feature.h>

/* #define DEMO_BENCH */

struct demo_dev {
	spinlock_t lock;
	void *buf;
	int users;
};

static void *demo_grow(struct demo_dev *dev)
{
	return kzalloc(256, GFP_KERNEL);
}

#if defined(DEMO_BENCH)
/* 1. A function only the benchmark build compiles: never built. */
static void demo_bench(struct demo_dev *dev)
{
	spin_lock(&dev->lock);
	dev->buf = kmalloc(64, GFP_KERNEL); /* ok: AS002 (DEMO_BENCH is defined nowhere) */
	spin_unlock(&dev->lock);
}
#endif

static void demo_sync(struct demo_dev *dev)
{
	spin_lock(&dev->lock);
#ifdef DEMO_BENCH
	/* 2. A call site inside a branch that is never compiled. */
	dev->buf = demo_grow(dev); /* ok: AS002 (DEMO_BENCH is defined nowhere) */
#else
	dev->users++;
#endif
#if 0
	dev->buf = demo_grow(dev); /* ok: AS002 (#if 0) */
#endif
#ifdef DEMO_TRACE
	/* 3. Defined by the driver's Makefile (ccflags-y += -DDEMO_TRACE). */
	dev->buf = demo_grow(dev); /* expect: AS002 */
#endif
#ifdef DEMO_HAVE_FASTPATH
	/* 4. Defined by a header of the tree. */
	dev->buf = demo_grow(dev); /* expect: AS002 */
#endif
#ifdef CONFIG_DEMO_STATS
	/* 5. A Kconfig symbol: unknown without --kconfig, so it may be built. */
	dev->buf = demo_grow(dev); /* expect: AS002 */
#endif
#ifndef DEMO_SELFTEST
	/* 6. The #ifndef of a macro nothing defines is always compiled. */
	dev->buf = demo_grow(dev); /* expect: AS002 */
#endif
#ifdef DEMO_SELFTEST
	/* 7. Named only in a comment of the Makefile: not defined. */
	dev->buf = demo_grow(dev); /* ok: AS002 (DEMO_SELFTEST is defined nowhere) */
#endif
	spin_unlock(&dev->lock);
#if defined(DEMO_BENCH) && defined(CONFIG_DEMO_STATS)
	demo_bench(dev);
#endif
}

void demo_preproc_init(struct demo_dev *dev)
{
	demo_sync(dev);
}
