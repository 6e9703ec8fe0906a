// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a gadget driver outside the composite framework, bound to the
 * UDC directly. Its setup() sees the host's wLength whole: up to 64 KiB.
 * Written for allocscan's tests.
 */
#include <linux/slab.h>
#include <linux/usb/gadget.h>

struct demo_raw {
	void *ep0_buf;
};

static int demo_raw_setup(struct usb_gadget *gadget, const struct usb_ctrlrequest *ctrl)
{
	struct demo_raw *raw = get_gadget_data(gadget);
	u16 w_length = le16_to_cpu(ctrl->wLength);

	raw->ep0_buf = kmalloc(w_length, GFP_ATOMIC); /* expect: AS001 order>=4 */
	return raw->ep0_buf ? 0 : -ENOMEM;
}

static struct usb_gadget_driver demo_raw_driver = {
	.function	= "demo_raw",
	.setup		= demo_raw_setup,
};
