// SPDX-License-Identifier: GPL-2.0
/* A transfer under the bus lock: the bounce buffer may sleep, the status word may not. */
#include <linux/slab.h>
#include <linux/spinlock.h>

struct demo_spi {
	spinlock_t lock;
	u8 *bounce;
	unsigned int *status;
	size_t len;
};

int demo_spi_xfer(struct demo_spi *spi)
{
	spin_lock(&spi->lock);
	spi->status = kmalloc(sizeof(*spi->status), GFP_ATOMIC);
	spi->bounce = kmalloc(spi->len, GFP_KERNEL);
	spin_unlock(&spi->lock);
	return 0;
}
