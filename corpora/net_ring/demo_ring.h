/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Demo corpus: a network driver whose buffer and ring sizes are set in one
 * place and read in another (probe or ethtool vs. the NAPI refill path).
 * Written for allocscan's tests.
 */
#ifndef DEMO_RING_H
#define DEMO_RING_H

#include <linux/netdevice.h>
#include <linux/timer.h>

struct demo_rx_desc {
	__le32 addr;
	__le16 len;
	__le16 status;
	__le32 flags;
	__le32 reserved;
};

struct demo_ring_priv {
	spinlock_t lock;
	struct napi_struct napi;
	struct timer_list timer;
	void __iomem *regs;
	unsigned int buf_size;
	unsigned int small_size;
	unsigned int frag_size;
	void *scratch;
	void *bufs[4];
	unsigned int rx_count;
	unsigned int tx_count;
	struct demo_rx_desc *rx_ring;
	struct demo_rx_desc *tx_ring;
	unsigned int rx_head;
};

#define DEMO_MAX_RX		4096
#define DEMO_MAX_TX		256
#define DEMO_MAX_FRAME		2048
#define DEMO_REG_FW_LEN		0x40

unsigned int demo_fw_buf_size(struct demo_ring_priv *priv);

#endif
