// SPDX-License-Identifier: GPL-2.0
/* Test fixture: an endpoint-request allocation whose length reaches order 10. */
#define DEMO_BULK_BUFLEN	(4 * 1024 * 1024)

struct usb_request *demo_alloc_req(struct usb_ep *ep, size_t len)
{
	struct usb_request *req = usb_ep_alloc_request(ep, GFP_ATOMIC);

	req->length = len;
	req->buf = kmalloc(req->length, GFP_ATOMIC);
	return req;
}

static int demo_recv(struct usb_ep *ep)
{
	return demo_alloc_req(ep, DEMO_BULK_BUFLEN) != NULL;
}
