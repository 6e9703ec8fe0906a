// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a driver calling the port core through the header's forwarding
 * macros, some of it under its transport lock. Written for allocscan's tests.
 */
#include <linux/spinlock.h>
#include <linux/demo_port.h>

#define DEMO_JUMBO	(64 * 1024)

static DEFINE_SPINLOCK(demo_transport_lock);

struct demo_transport {
	int priv_size;
	void *buf;
	void *scratch;
	void *raw;
	struct demo_port *port;
};

static void demo_configure(struct demo_transport *t)
{
	t->port = demo_port_create(t->priv_size);
}

static void demo_setup(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	demo_configure(t); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_refill(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	t->buf = demo_pool_get(GFP_ATOMIC, 256, GFP_KERNEL); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_refill_atomic(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	/* GFP_KERNEL is only remembered for a later refill: this allocation is atomic */
	t->buf = demo_pool_get(GFP_KERNEL, 256, GFP_ATOMIC); /* ok: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_frag_jumbo(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	t->buf = demo_frag_get(GFP_ATOMIC, DEMO_JUMBO); /* expect: AS001 */
	t->raw = demo_frag_get(GFP_ATOMIC, 256); /* ok: AS001 AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_frag_sleeping(struct demo_transport *t)
{
	t->buf = demo_frag_get(GFP_KERNEL, DEMO_JUMBO); /* ok: AS001 */
}

static void demo_scratch(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	t->scratch = demo_scratch_zalloc(64); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_table(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	t->raw = demo_table_get(4096); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_pool_sleeping(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	t->buf = demo_pool_get_sleeping(128); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_raw(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	t->raw = demo_raw_get_checked(64); /* ok: AS002 */
	t->raw = demo_raw_get_padded(64); /* ok: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_bringup(struct demo_transport *t)
{
	t->port = demo_port_create(t->priv_size);
	demo_port_hold(t->port, GFP_KERNEL);
}

static void demo_bringup_locked(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	demo_bringup(t); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

static void demo_scratch_fill(struct demo_transport *t)
{
	t->scratch = demo_scratch_zalloc(128);
}

static void demo_scratch_locked(struct demo_transport *t)
{
	spin_lock(&demo_transport_lock);
	demo_scratch_fill(t); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}

struct demo_transport_ops {
	void (*bringup)(struct demo_transport *t);
};

static const struct demo_transport_ops demo_ops = {
	.bringup = demo_bringup,
};

static void demo_bringup_through_ops(struct demo_transport *t, const struct demo_transport_ops *ops)
{
	spin_lock(&demo_transport_lock);
	ops->bringup(t); /* expect: AS002 */
	spin_unlock(&demo_transport_lock);
}
