// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: ring sizes the user sets with `ethtool -G`, checked against a
 * large driver maximum, then used by the refill path that may not sleep.
 * Written for allocscan's tests.
 */
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include "demo_ring.h"

static void demo_get_ringparam(struct net_device *dev, struct ethtool_ringparam *ring,
			       struct kernel_ethtool_ringparam *kring, struct netlink_ext_ack *extack)
{
	struct demo_ring_priv *priv = netdev_priv(dev);

	ring->rx_max_pending = DEMO_MAX_RX;
	ring->tx_max_pending = DEMO_MAX_TX;
	ring->rx_pending = priv->rx_count;
	ring->tx_pending = priv->tx_count;
}

static int demo_set_ringparam(struct net_device *dev, struct ethtool_ringparam *ring,
			      struct kernel_ethtool_ringparam *kring, struct netlink_ext_ack *extack)
{
	struct demo_ring_priv *priv = netdev_priv(dev);

	if (ring->rx_pending > DEMO_MAX_RX || ring->rx_pending < 64)
		return -EINVAL;
	priv->rx_count = ring->rx_pending;
	/* no check of its own: the ethtool core refuses more than tx_max_pending */
	priv->tx_count = ring->tx_pending;
	return 0;
}

const struct ethtool_ops demo_ethtool_ops = {
	.get_ringparam = demo_get_ringparam,
	.set_ringparam = demo_set_ringparam,
};
