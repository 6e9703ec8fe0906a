// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a USB gadget function answering control requests. The setup
 * packet's wLength is the host's to choose, but composite_setup() refuses one
 * longer than its 4 KiB ep0 buffer before a function sees it; the function's
 * own endpoint descriptors are not input. Written for allocscan's tests (the tree sits
 * under drivers/usb/gadget/ so that it is seen as gadget-side code).
 */
#include <linux/slab.h>
#include <linux/usb/composite.h>

#define DEMO_CTRL_MAX	256

struct f_demo_ctrl {
	struct usb_function func;
	struct usb_ep *in_ep;
	void *reply;
};

static int demo_ctrl_setup(struct usb_function *f, const struct usb_ctrlrequest *ctrl)
{
	struct f_demo_ctrl *demo = container_of(f, struct f_demo_ctrl, func);
	u16 w_length = le16_to_cpu(ctrl->wLength);

	demo->reply = kzalloc(w_length, GFP_ATOMIC); /* ok: AS001 (at most USB_COMP_EP0_BUFSIZ) */
	demo->reply = kcalloc(w_length, 16, GFP_ATOMIC); /* expect: AS001 order>=4 */
	if (w_length > DEMO_CTRL_MAX)
		return -EOPNOTSUPP;
	demo->reply = kzalloc(w_length, GFP_ATOMIC); /* ok: AS001 (at most 256) */
	demo->reply = kmalloc(usb_endpoint_maxp(demo->in_ep->desc) * 4, GFP_ATOMIC); /* ok: AS001 (its own descriptor) */
	return 0;
}

static struct usb_function *demo_ctrl_alloc(struct usb_function_instance *fi)
{
	struct f_demo_ctrl *demo = kzalloc(sizeof(*demo), GFP_KERNEL);

	if (!demo)
		return ERR_PTR(-ENOMEM);
	demo->func.setup = demo_ctrl_setup;
	return &demo->func;
}
