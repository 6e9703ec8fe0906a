/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Demo corpus header: ports named through lowercase forwarding macros, as
 * subsystem headers name their constructors. Written for allocscan's tests.
 */
#ifndef _DEMO_PORT_H
#define _DEMO_PORT_H

struct demo_port;

struct demo_port *demo_port_create_mqs(int priv_size, unsigned int txq, unsigned int rxq);
void *demo_pool_get_node(size_t len, gfp_t buf_gfp, gfp_t refill_gfp);
void *demo_raw_get(size_t len);
void demo_port_hold(struct demo_port *port, gfp_t gfp);

/* two levels: demo_port_create() -> demo_port_create_mq() -> demo_port_create_mqs() */
#define demo_port_create(priv_size) demo_port_create_mq(priv_size, 1)
#define demo_port_create_mq(priv_size, count) demo_port_create_mqs(priv_size, count, count)

/* the masks change places: the first one is only remembered, the third allocates */
#define demo_pool_get(refill_gfp, len, buf_gfp) ((void *)demo_pool_get_node(len, buf_gfp, refill_gfp))

/* an allocator with its size and mask in other places, through a variadic macro */
#define demo_frag_get(gfp, ...) kmalloc_node(__VA_ARGS__, gfp, -1)

/* straight to an allocator, with the mask the macro adds, or to one that takes none */
#define demo_scratch_zalloc(len) kzalloc(len, GFP_KERNEL)
#define demo_table_get(len) vmalloc(len)

/* a mask the macro adds, for a function that is not an allocator */
#define demo_pool_get_sleeping(len) demo_pool_get_node(len, GFP_KERNEL, GFP_KERNEL)

/* not a single call: a statement expression and a sum */
#define demo_raw_get_checked(len) ({ void *__p = demo_raw_get(len); __p; })
#define demo_raw_get_padded(len) (demo_raw_get(len) + 16)

#endif
