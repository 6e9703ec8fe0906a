// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a USB gadget function with a user-settable buffer length.
 * Written for allocscan's tests; the shape follows the alloc_ep_req() case.
 */
#include <linux/slab.h>
#include <linux/usb/gadget.h>
#include "u_buf.h"

struct usb_request *demo_alloc_ep_req(struct usb_ep *ep, size_t len)
{
	struct usb_request *req;

	req = usb_ep_alloc_request(ep, GFP_ATOMIC);
	if (!req)
		return NULL;
	req->length = len;
	req->buf = kmalloc(req->length, GFP_ATOMIC); /* expect: AS001 AS003 */
	if (!req->buf) {
		usb_ep_free_request(ep, req);
		return NULL;
	}
	return req;
}

static void demo_complete(struct usb_ep *ep, struct usb_request *req)
{
	struct demo_dev *dev = ep->driver_data;

	/* completions run in interrupt context: this may not sleep */
	dev->scratch = kzalloc(DEMO_SCRATCH_LEN, GFP_KERNEL); /* expect: AS002 */
	dev->small = kzalloc(64, GFP_ATOMIC); /* ok: AS001 */
}

int demo_start_io(struct demo_dev *dev, struct usb_ep *ep)
{
	struct usb_request *req;

	req = demo_alloc_ep_req(ep, dev->buflen);
	if (!req)
		return -ENOMEM;
	req->complete = demo_complete;
	return usb_ep_queue(ep, req, GFP_ATOMIC);
}
