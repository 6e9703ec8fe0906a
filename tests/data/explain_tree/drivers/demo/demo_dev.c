// SPDX-License-Identifier: GPL-2.0
/* An interrupt handler that logs events: one allocation is fine there, one sleeps. */
#include <linux/slab.h>
#include <linux/interrupt.h>

struct demo_evt {
	unsigned int code;
	unsigned int arg;
};

struct demo_dev {
	struct demo_evt *evt;
	char *log;
	size_t log_len;
};

static irqreturn_t demo_irq_handler(int irq, void *data)
{
	struct demo_dev *dev = data;

	dev->evt = kmalloc(sizeof(struct demo_evt), GFP_ATOMIC);
	dev->log = kmalloc(dev->log_len, GFP_KERNEL);
	return IRQ_HANDLED;
}

int demo_dev_probe(struct demo_dev *dev, int irq)
{
	return request_irq(irq, demo_irq_handler, 0, "demo_dev", dev);
}
