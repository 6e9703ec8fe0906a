// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: callbacks that run only once armed. A timer, tasklet, hrtimer or
 * irq_work runs the function bound to it when a later call arms it; a function
 * bound but never armed, or bound and re-bound before the arming call, never
 * runs from there. Written for allocscan's tests.
 */
#include <linux/timer.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/slab.h>

/* the mode bits of include/linux/hrtimer.h */
enum hrtimer_mode {
	HRTIMER_MODE_ABS	= 0x00,
	HRTIMER_MODE_REL	= 0x01,
	HRTIMER_MODE_PINNED	= 0x02,
	HRTIMER_MODE_SOFT	= 0x04,
	HRTIMER_MODE_REL_SOFT	= HRTIMER_MODE_REL | HRTIMER_MODE_SOFT,
};

struct demo_slot {
	struct timer_list event;
	void *buf;
	int id;
};

struct demo_port {
	struct timer_list poll;
	struct timer_list watchdog;
	struct tasklet_struct rx_task;
	struct hrtimer pacer;
	struct irq_work kick;
	struct hrtimer rx_timeout;
	void *rx;
	void *stats;
};

/* Bound at init, but bound again right before the only arming call: this one
 * runs from the driver's event thread, never from the timer. */
void demo_slot_worker(struct timer_list *t)
{
	struct demo_slot *slot = from_timer(slot, t, event);

	slot->buf = kmalloc(64, GFP_KERNEL); /* ok: AS002 (re-bound before it is armed) */
}

static void demo_slot_kick(struct timer_list *t)
{
	struct demo_slot *slot = from_timer(slot, t, event);

	slot->buf = kzalloc(32, GFP_KERNEL); /* expect: AS002 */
}

static void demo_slot_init(struct demo_slot *slot)
{
	timer_setup(&slot->event, demo_slot_worker, 0);
	slot->id = 1;
}

static void demo_slot_button(struct demo_slot *slot)
{
	timer_setup(&slot->event, demo_slot_kick, 0);
	slot->event.expires = jiffies + HZ;
	add_timer(&slot->event);
}

/* Bound in probe, armed in another function (open). */
static void demo_port_poll(struct timer_list *t)
{
	struct demo_port *port = from_timer(port, t, poll);

	port->stats = kmalloc(128, GFP_KERNEL); /* expect: AS002 */
}

/* Bound in probe and never armed anywhere: no entry point. */
static void demo_port_watchdog(struct timer_list *t)
{
	struct demo_port *port = from_timer(port, t, watchdog);

	port->stats = kmalloc(256, GFP_KERNEL); /* ok: AS002 (bound, never armed) */
}

/* Bound in probe, armed through a helper that takes the tasklet. */
static void demo_rx_tasklet(struct tasklet_struct *t)
{
	struct demo_port *port = from_tasklet(port, t, rx_task);

	port->rx = kzalloc(512, GFP_KERNEL); /* expect: AS002 */
}

static void demo_kick_tasklet(struct tasklet_struct *t)
{
	tasklet_schedule(t);
}

/* An hrtimer bound by assigning its function, armed by hrtimer_start(). */
static enum hrtimer_restart demo_pacer_fn(struct hrtimer *h)
{
	struct demo_port *port = container_of(h, struct demo_port, pacer);

	port->rx = kmalloc(64, GFP_NOIO); /* expect: AS002 */
	return HRTIMER_NORESTART;
}

/* An irq_work bound and queued. */
static void demo_kick_fn(struct irq_work *w)
{
	struct demo_port *port = container_of(w, struct demo_port, kick);

	port->stats = vzalloc(4096); /* expect: AS002 */
}

/* A soft hrtimer runs in softirq: gfp_any() there picks GFP_ATOMIC. */
static enum hrtimer_restart demo_rx_timeout_fn(struct hrtimer *h)
{
	struct demo_port *port = container_of(h, struct demo_port, rx_timeout);

	port->rx = kmalloc(64, gfp_any()); /* ok: AS002 (a *_SOFT hrtimer runs in softirq) */
	return HRTIMER_NORESTART;
}

static int demo_port_probe(struct demo_port *port)
{
	timer_setup(&port->poll, demo_port_poll, 0);
	timer_setup(&port->watchdog, demo_port_watchdog, 0);
	tasklet_setup(&port->rx_task, demo_rx_tasklet);
	hrtimer_init(&port->pacer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	port->pacer.function = demo_pacer_fn;
	init_irq_work(&port->kick, demo_kick_fn);
	hrtimer_init(&port->rx_timeout, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	port->rx_timeout.function = demo_rx_timeout_fn;
	port->rx = kzalloc(2048, GFP_KERNEL); /* ok: AS002 (probe may sleep) */
	return 0;
}

static int demo_port_open(struct demo_port *port)
{
	mod_timer(&port->poll, jiffies + HZ);
	hrtimer_start(&port->pacer, ms_to_ktime(10), HRTIMER_MODE_REL);
	hrtimer_start(&port->rx_timeout, ms_to_ktime(10), HRTIMER_MODE_REL_SOFT);
	return 0;
}

static irqreturn_t demo_port_irq(int irq, void *data)
{
	struct demo_port *port = data;

	demo_kick_tasklet(&port->rx_task);
	irq_work_queue(&port->kick);
	return IRQ_HANDLED;
}

static int demo_port_start(struct demo_port *port, int irq)
{
	return request_irq(irq, demo_port_irq, 0, "demo", port);
}

/* A timer defined at file scope and armed by name. */
static void demo_heartbeat(struct timer_list *unused);
static DEFINE_TIMER(demo_heartbeat_timer, demo_heartbeat);
static void *demo_heartbeat_log;

static void demo_heartbeat(struct timer_list *unused)
{
	demo_heartbeat_log = kmalloc(32, GFP_KERNEL); /* expect: AS002 */
	mod_timer(&demo_heartbeat_timer, jiffies + HZ);
}

static void demo_heartbeat_start(void)
{
	mod_timer(&demo_heartbeat_timer, jiffies + HZ);
}
