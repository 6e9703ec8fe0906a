// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: the port core the forwarding macros reach. Written for
 * allocscan's tests.
 */
#include <linux/slab.h>
#include <linux/demo_port.h>

struct demo_port {
	int priv_size;
	unsigned int txq;
	void *queues;
};

static gfp_t demo_refill_gfp;

struct demo_port *demo_port_create_mqs(int priv_size, unsigned int txq, unsigned int rxq)
{
	struct demo_port *port;

	port = kvzalloc(sizeof(*port) + priv_size, GFP_KERNEL);
	if (!port)
		return NULL;
	port->priv_size = priv_size;
	port->txq = txq;
	return port;
}

void *demo_pool_get_node(size_t len, gfp_t buf_gfp, gfp_t refill_gfp)
{
	demo_refill_gfp = refill_gfp;
	return kmalloc(len, buf_gfp);
}

void *demo_raw_get(size_t len)
{
	return vmalloc(len);
}

/* a reference that is tracked (and the tracker allocated) only in debugging builds */
void demo_port_hold(struct demo_port *port, gfp_t gfp)
{
	port->txq++;
	demo_port_track(port, gfp);
}
