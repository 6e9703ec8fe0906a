// SPDX-License-Identifier: GPL-2.0
/* Receive buffers: a small header kept apart, then the 32 KiB buffer. */
#include <linux/slab.h>

#define DEMO_RX_BUF_LEN 32768
#define DEMO_RX_HDR_LEN 64

struct demo_eth {
	void *rx_hdr;
};

void *demo_rx_buf_alloc(struct demo_eth *eth)
{
	eth->rx_hdr = kmalloc(DEMO_RX_HDR_LEN, GFP_ATOMIC);
	if (!eth->rx_hdr)
		return NULL;
	return kmalloc(DEMO_RX_BUF_LEN, GFP_ATOMIC);
}
