// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: a subsystem's event chains. Neighbour updates are announced on an
 * atomic chain (called under rcu_read_lock() from the neighbour code's timers);
 * configuration changes on a blocking one. Drivers register through the wrappers.
 * Written for allocscan's tests.
 */
#include <linux/notifier.h>

static ATOMIC_NOTIFIER_HEAD(demo_neigh_chain);
static BLOCKING_NOTIFIER_HEAD(demo_config_chain);

int register_netevent_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&demo_neigh_chain, nb);
}

int register_demo_config_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&demo_config_chain, nb);
}

int call_netevent_notifiers(unsigned long event, void *ptr)
{
	return atomic_notifier_call_chain(&demo_neigh_chain, event, ptr);
}
