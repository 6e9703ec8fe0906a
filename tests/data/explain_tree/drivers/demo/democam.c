// SPDX-License-Identifier: GPL-2.0
/* Camera frame queue: a small descriptor, then the frame buffer itself. */
#include <linux/slab.h>

#define DEMOCAM_FRAME_LEN (2 * 1024 * 1024)

struct democam_desc {
	unsigned int addr;
	unsigned int len;
	unsigned int flags;
	unsigned int seq;
};

struct democam {
	struct democam_desc *desc;
	void *frame;
};

int democam_queue_frame(struct democam *cam)
{
	cam->desc = kzalloc(sizeof(struct democam_desc), GFP_ATOMIC);
	if (!cam->desc)
		return -ENOMEM;
	cam->frame = kmalloc(DEMOCAM_FRAME_LEN, GFP_ATOMIC);
	if (!cam->frame) {
		kfree(cam->desc);
		return -ENOMEM;
	}
	return 0;
}
