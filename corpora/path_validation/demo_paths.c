// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: witnesses whose branch conditions cannot hold together along
 * the whole path (caller and callee), and witnesses that can. Each shape is
 * written for this project after one seen in real drivers.
 */
#include <linux/spinlock.h>
#include <linux/slab.h>
#include <linux/string.h>

#define DEMO_SYN_RECV	3
#define DEMO_FIN_WAIT2	5

enum demo_cmd {
	DEMO_CMD_START = 1,
	DEMO_CMD_STOP = 2,
	DEMO_CMD_COMPLETION = 3,
};

struct demo_sock {
	spinlock_t lock;
	int state;
	void *pending;
};

struct demo_ctl {
	int cmd;
	int cid;
};

struct demo_dev {
	spinlock_t lock;
	void *table;
	void *cache;
	const char *label;
	unsigned long flags;
};

/* 1. The caller's branch decides the callee's: a socket in FIN_WAIT2 is not in
 * SYN_RECV, so the reset never takes the allocating arm. */
static void demo_send_reset(struct demo_sock *sk)
{
	if (sk->state != DEMO_SYN_RECV)
		sk->pending = NULL;
	else
		sk->pending = kzalloc(64, GFP_KERNEL); /* ok: AS002 (the locked caller has state FIN_WAIT2) */
}

static void demo_close(struct demo_sock *sk)
{
	spin_lock_bh(&sk->lock);
	if (sk->state == DEMO_FIN_WAIT2)
		demo_send_reset(sk);
	spin_unlock_bh(&sk->lock);
}

static void demo_abort(struct demo_sock *sk)
{
	spin_lock_bh(&sk->lock);
	demo_send_reset(sk); /* expect: AS002 (any state: SYN_RECV too) */
	spin_unlock_bh(&sk->lock);
}

/* 2. Every caller of the lock holder sets the command: the callee's START case,
 * which allocates, is never reached from it. */
static int demo_ctl_handler(struct demo_dev *dev, struct demo_ctl *info)
{
	switch (info->cmd) {
	case DEMO_CMD_START:
		dev->table = kcalloc(16, 64, GFP_KERNEL); /* ok: AS002 (the locked path only sends COMPLETION) */
		break;
	case DEMO_CMD_COMPLETION:
		dev->flags |= 1;
		break;
	}
	return 0;
}

static int demo_ctl_send_locked(struct demo_dev *dev, struct demo_ctl *ctl)
{
	int rc;

	spin_lock(&dev->lock);
	rc = demo_ctl_handler(dev, ctl);
	spin_unlock(&dev->lock);
	return rc;
}

static void demo_completion(struct demo_dev *dev, int cid)
{
	struct demo_ctl ctl = {0};

	ctl.cmd = DEMO_CMD_COMPLETION;
	ctl.cid = cid;
	demo_ctl_send_locked(dev, &ctl);
}

/* 3. A configuration built in a local struct: its metrics are never set, and the
 * callee allocates only when they are. */
struct demo_cfg {
	int table;
	void *metrics;
	int metrics_len;
};

static void *demo_metrics_init(void *metrics, int len)
{
	if (!metrics)
		return NULL;
	return kzalloc(len, GFP_KERNEL); /* ok: AS002 (the caller's cfg has no metrics) */
}

static void *demo_route_create(struct demo_cfg *cfg)
{
	return demo_metrics_init(cfg->metrics, cfg->metrics_len);
}

static void *demo_route_alloc(struct demo_dev *dev, int table)
{
	struct demo_cfg cfg = {
		.table = table,
	};

	return demo_route_create(&cfg);
}

static void demo_anycast_add(struct demo_dev *dev)
{
	spin_lock_bh(&dev->lock);
	dev->table = demo_route_alloc(dev, 254);
	spin_unlock_bh(&dev->lock);
}

/* 4. A template passed by pointer: its optional hook is not set, so the call
 * through it (which another template's hook would allocate in) never happens. */
struct demo_key_type {
	const char *name;
	int (*preparse)(struct demo_dev *dev);
};

static int demo_asym_preparse(struct demo_dev *dev)
{
	dev->cache = kmalloc(128, GFP_KERNEL); /* ok: AS002 (the plain type has no preparse) */
	return dev->cache ? 0 : -ENOMEM;
}

static struct demo_key_type demo_asym_type = {
	.name = "asym",
	.preparse = demo_asym_preparse,
};

static struct demo_key_type demo_plain_type = {
	.name = "plain",
};

static int demo_search(struct demo_dev *dev, struct demo_key_type *type)
{
	if (type->preparse)
		return type->preparse(dev);
	return 0;
}

static void demo_lookup_locked(struct demo_dev *dev)
{
	rcu_read_lock();
	demo_search(dev, &demo_plain_type);
	rcu_read_unlock();
}

/* 5. kstrdup_const() of a string literal returns it without allocating; of a
 * caller's buffer it allocates. */
static int demo_set_label(struct demo_dev *dev, const char *label)
{
	dev->label = kstrdup_const(label, GFP_KERNEL);
	return dev->label ? 0 : -ENOMEM;
}

static void demo_request_own(struct demo_dev *dev, const char *name)
{
	unsigned long flags;

	spin_lock_irqsave(&dev->lock, flags);
	demo_set_label(dev, "demo-own");
	spin_unlock_irqrestore(&dev->lock, flags);

	spin_lock_irqsave(&dev->lock, flags);
	demo_set_label(dev, name); /* expect: AS002 */
	spin_unlock_irqrestore(&dev->lock, flags);
}

/* 6. The same state test in the caller and the callee: the caller runs only while
 * linked, the callee leaves early when linked. */
static bool demo_check_state(struct demo_dev *dev, unsigned long state)
{
	return dev->flags & state;
}

#define DEMO_LINKED	0x1

static int demo_wakeup(struct demo_dev *dev)
{
	if (demo_check_state(dev, DEMO_LINKED))
		return 0;
	dev->cache = kzalloc(256, GFP_KERNEL); /* ok: AS002 (the caller holds the lock only while linked) */
	return 0;
}

static void demo_disassociate(struct demo_dev *dev)
{
	spin_lock_bh(&dev->lock);
	if (demo_check_state(dev, DEMO_LINKED))
		demo_wakeup(dev);
	spin_unlock_bh(&dev->lock);
}

/* 7. A callee that allocates only when the caller's cache is empty: the path depends
 * on state the analysis cannot see, so it is a note, not an error. */
static void *demo_get_buf(struct demo_dev *dev)
{
	if (dev->cache)
		return dev->cache;
	return kmalloc(512, GFP_KERNEL);
}

static void demo_refill_locked(struct demo_dev *dev)
{
	spin_lock(&dev->lock);
	dev->table = demo_get_buf(dev); /* expect: AS002 (a note: only when the cache is empty) */
	spin_unlock(&dev->lock);
}

/* 8. A callee that takes the lock its caller would hold: the caller cannot hold it
 * there (it would deadlock); the lock analysis' "some paths" is a path that does
 * not exist. */
struct demo_glock {
	spinlock_t lock;
	void *bh;
	int state;
};

static void demo_finish(struct demo_glock *gl)
{
	spin_lock(&gl->lock);
	gl->state = 2;
	spin_unlock(&gl->lock);
	gl->bh = kmalloc(64, GFP_NOFS); /* ok: AS002 (the caller's lock is not held here) */
}

static void demo_xmote(struct demo_glock *gl, int skip)
{
	spin_lock(&gl->lock);
	if (skip)
		goto out;
	spin_unlock(&gl->lock);
out:
	demo_finish(gl);
}

/* 9. A host whose transport template the driver never sets: the core default is a
 * blank template, whose host_size is zero, so the core never allocates host data. */
struct demo_transport {
	int host_size;
	int create_wq;
};

struct demo_host {
	spinlock_t host_lock;
	struct demo_transport *transportt;
	void *shost_data;
};

static struct demo_transport demo_blank_transport = { };

struct demo_host *demo_host_alloc(void)
{
	struct demo_host *shost = kzalloc(sizeof(*shost), GFP_KERNEL);

	if (!shost)
		return NULL;
	shost->transportt = &demo_blank_transport;
	return shost;
}

int demo_add_host(struct demo_host *shost)
{
	if (shost->transportt->host_size) {
		shost->shost_data = kzalloc(shost->transportt->host_size, GFP_KERNEL); /* ok: AS002 (blank template) */
		if (!shost->shost_data)
			return -ENOMEM;
	}
	return 0;
}

static int demo_probe_host(struct demo_host *host)
{
	int ret;

	spin_lock_irq(&host->host_lock);
	ret = demo_add_host(host);
	spin_unlock_irq(&host->host_lock);
	return ret;
}
