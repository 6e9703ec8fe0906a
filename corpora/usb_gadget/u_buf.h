/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEMO_U_BUF_H
#define DEMO_U_BUF_H

#define DEMO_SCRATCH_LEN	256

struct demo_opts {
	struct config_item_stub *group;
	unsigned int buflen;
};

struct demo_dev {
	void *scratch;
	void *small;
	unsigned int buflen;
};

struct usb_request *demo_alloc_ep_req(struct usb_ep *ep, size_t len);
int demo_start_io(struct demo_dev *dev, struct usb_ep *ep);
#endif
