// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: partial knowledge. A size with several writers or callers, one
 * of which proves it large while the others are unknown (firmware values the
 * analysis cannot see), is reported with the writer that proves it.
 * Written for allocscan's tests.
 */
#include <linux/netdevice.h>
#include <linux/slab.h>
#include "demo_ring.h"

/* Jumbo frames: the buffers are set up large. */
static void demo_setup_jumbo(struct demo_ring_priv *priv)
{
	priv->buf_size = 64 << 10;
	priv->small_size = 512;
	priv->frag_size = SZ_64K;
}

/* Or as the firmware says: nothing the analysis can see. */
static void demo_setup_fw(struct demo_ring_priv *priv)
{
	priv->buf_size = demo_fw_buf_size(priv);
	priv->small_size = demo_fw_buf_size(priv);
	priv->frag_size = demo_fw_buf_size(priv);
}

static void *demo_alloc_scratch(struct demo_ring_priv *priv, size_t len)
{
	return kmalloc(len, GFP_ATOMIC); /* expect: AS001 order>=5 */
}

static int demo_poll(struct napi_struct *napi, int budget)
{
	struct demo_ring_priv *priv = container_of(napi, struct demo_ring_priv, napi);

	priv->bufs[0] = kmalloc(priv->buf_size, GFP_ATOMIC); /* expect: AS001 order>=4 */
	priv->bufs[1] = kmalloc(priv->small_size, GFP_ATOMIC); /* ok: AS001 (the writer that proves anything stores 512) */
	if (priv->frag_size > 4096)
		return 0;
	priv->bufs[2] = kmalloc(priv->frag_size, GFP_ATOMIC); /* ok: AS001 (the proving store does not pass the check) */
	return 0;
}

static void demo_timer(struct timer_list *t)
{
	struct demo_ring_priv *priv = from_timer(priv, t, timer);

	priv->scratch = demo_alloc_scratch(priv, SZ_128K);
}

static void demo_reconfigure(struct demo_ring_priv *priv)
{
	priv->scratch = demo_alloc_scratch(priv, demo_fw_buf_size(priv));
}

int demo_ring_probe(struct net_device *dev, struct demo_ring_priv *priv, bool jumbo)
{
	if (jumbo)
		demo_setup_jumbo(priv);
	else
		demo_setup_fw(priv);
	netif_napi_add(dev, &priv->napi, demo_poll);
	timer_setup(&priv->timer, demo_timer, 0);
	demo_reconfigure(priv);
	return 0;
}
