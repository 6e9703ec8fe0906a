// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: an offloading NIC driver that follows neighbour updates and its
 * tunnel socket. Callbacks of an atomic notifier chain run under the chain's
 * rcu_read_lock(); a socket's sk_data_ready runs in the NET_RX softirq. Both may
 * only queue work. Written for allocscan's tests.
 */
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/sock.h>

struct demo_neigh_work {
	struct work_struct work;
	void *neigh;
};

struct demo_offload {
	struct notifier_block neigh_nb;
	struct notifier_block config_nb;
	struct socket *tunnel;
	struct workqueue_struct *wq;
	void *rx_buf;
};

static void demo_neigh_update(struct work_struct *work)
{
	struct demo_neigh_work *w = container_of(work, struct demo_neigh_work, work);

	kfree(w);
}

/* A neighbour update: the work item is allocated with GFP_KERNEL under the chain's
 * RCU read side. */
static int demo_neigh_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct demo_offload *priv = container_of(nb, struct demo_offload, neigh_nb);
	struct demo_neigh_work *w;

	w = kzalloc(sizeof(*w), GFP_KERNEL); /* expect: AS002 */
	if (!w)
		return NOTIFY_DONE;
	w->neigh = ptr;
	INIT_WORK(&w->work, demo_neigh_update);
	queue_work(priv->wq, &w->work);
	return NOTIFY_DONE;
}

/* A configuration change arrives on a blocking chain: it may sleep. */
static int demo_config_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct demo_offload *priv = container_of(nb, struct demo_offload, config_nb);

	priv->rx_buf = kmalloc(2048, GFP_KERNEL); /* ok: AS002 (a blocking chain) */
	return NOTIFY_OK;
}

/* The tunnel socket's data_ready, run from the NET_RX softirq under the socket lock. */
static void demo_tunnel_data_ready(struct sock *sk)
{
	struct demo_offload *priv = sk->sk_user_data;
	struct demo_neigh_work *w;

	w = kmalloc(sizeof(*w), GFP_ATOMIC); /* ok: AS002 (GFP_ATOMIC) */
	if (!w)
		return;
	INIT_WORK(&w->work, demo_neigh_update);
	queue_work(priv->wq, &w->work);
	priv->rx_buf = kmalloc(2048, GFP_KERNEL); /* expect: AS002 */
}

int demo_offload_init(struct demo_offload *priv)
{
	priv->neigh_nb.notifier_call = demo_neigh_event;
	register_netevent_notifier(&priv->neigh_nb);
	priv->config_nb.notifier_call = demo_config_event;
	register_demo_config_notifier(&priv->config_nb);
	priv->tunnel->sk->sk_user_data = priv;
	priv->tunnel->sk->sk_data_ready = demo_tunnel_data_ready;
	return 0;
}
