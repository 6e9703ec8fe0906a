// SPDX-License-Identifier: GPL-2.0
/* Another driver with a static function of the same name as demo_rxq's. */
#include <linux/slab.h>

struct demo_alt_rx {
	void *buf;
	unsigned int len;
};

static int demo_rx_submit(struct demo_alt_rx *rx)
{
	rx->buf = kmalloc(rx->len, GFP_ATOMIC);
	return rx->buf ? 0 : -ENOMEM;
}

int demo_alt_rx_open(struct demo_alt_rx *rx)
{
	return demo_rx_submit(rx);
}
