"""Entry points: callbacks run where they are armed, with the function bound then."""

from __future__ import annotations

from types import SimpleNamespace

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link


def entries(*files: tuple[str, str]) -> dict[str, list]:
    analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
    names = {}
    for node, ws in analysis.contexts.entries.items():
        names[analysis.program.functions[node].fn.name] = ws
    return names


SLOT = """
struct demo_slot { struct timer_list ev; void *buf; };
static void demo_worker(struct timer_list *t) { kmalloc(8, GFP_KERNEL); }
static void demo_kick(struct timer_list *t) { kmalloc(8, GFP_KERNEL); }
"""


def test_rebound_before_arming_runs_the_second_function_only():
    found = entries(("drivers/demo/core.c", SLOT + """
void demo_init(struct demo_slot *slot) { timer_setup(&slot->ev, demo_worker, 0); }
void demo_button(struct demo_slot *slot)
{
	timer_setup(&slot->ev, demo_kick, 0);
	add_timer(&slot->ev);
}
"""))
    assert "demo_kick" in found and "demo_worker" not in found
    (w,) = found["demo_kick"]
    assert [s.kind for s in w.steps] == ["bind", "entry"]
    assert w.entry.callee == "add_timer" and w.entry.context == "softirq:timer"


def test_armed_in_another_file_by_the_field_path():
    found = entries(("drivers/demo/core.c", SLOT + "void demo_init(struct demo_slot *slot) { timer_setup(&slot->ev, demo_worker, 0); }\n"),
                    ("drivers/demo/ctrl.c", "struct demo_slot;\nvoid demo_go(struct demo_slot *s) { mod_timer(&s->ev, 5); }\n"))
    assert "demo_worker" in found


def test_armed_through_a_helper_and_never_armed():
    found = entries(("drivers/demo/core.c", """
struct demo_port { struct tasklet_struct rx; struct tasklet_struct tx; };
static void demo_rx(struct tasklet_struct *t) { kmalloc(8, GFP_KERNEL); }
static void demo_tx(struct tasklet_struct *t) { kmalloc(8, GFP_KERNEL); }
static void demo_kick(struct tasklet_struct *t) { tasklet_schedule(t); }
void demo_probe(struct demo_port *p) { tasklet_setup(&p->rx, demo_rx); tasklet_setup(&p->tx, demo_tx); }
void demo_irq(struct demo_port *p) { demo_kick(&p->rx); }
"""))
    assert "demo_rx" in found and "demo_tx" not in found


def test_registration_arms_irq_handlers_and_process_contexts_stay_apart():
    analysis = analyze(link([extract_file("drivers/demo/irq.c", b"""
static irqreturn_t demo_irq(int irq, void *d) { return IRQ_HANDLED; }
static irqreturn_t demo_thread(int irq, void *d) { return IRQ_HANDLED; }
static void demo_work(struct work_struct *w) { }
int demo_probe(struct demo *d) {
	INIT_WORK(&d->w, demo_work);
	return request_threaded_irq(d->irq, demo_irq, demo_thread, 0, "demo", d);
}
""")]), builtin_kernel("6.1"))
    fns = {analysis.program.functions[n].fn.name: v for n, v in analysis.contexts.process_entries.items()}
    assert fns == {"demo_work": "workqueue (INIT_WORK)", "demo_thread": "threaded irq handler (request_threaded_irq)"}
    assert [analysis.program.functions[n].fn.name for n in analysis.contexts.entries] == ["demo_irq"]


def test_urbs_filled_and_submitted_through_locals():
    found = entries(("drivers/usb/demo/a.c", """
struct demo { struct urb *rx_urb; struct urb *tx_urb; };
static void demo_rx_done(struct urb *urb) { kmalloc(8, GFP_KERNEL); }
static void demo_ctrl_done(struct urb *urb) { kmalloc(8, GFP_KERNEL); }
void demo_fill(struct demo *d, struct usb_device *udev)
{
	struct urb *urb = d->rx_urb;
	usb_fill_bulk_urb(urb, udev, 1, NULL, 0, demo_rx_done, d);
}
void demo_start(struct demo *d) { usb_submit_urb(d->rx_urb, GFP_KERNEL); }
int demo_ctrl(struct usb_device *udev)
{
	struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);
	usb_fill_control_urb(urb, udev, 0, NULL, NULL, 0, demo_ctrl_done, NULL);
	return usb_submit_urb(urb, GFP_KERNEL);
}
"""))
    assert {"demo_rx_done", "demo_ctrl_done"} <= set(found)


def test_an_arm_of_an_unnamed_object_reaches_only_its_own_drivers_bindings():
    """dc21285_serr_irq() arms `timer = dev_id`: that arms no other driver's timer."""
    found = entries(("drivers/demo/a.c", SLOT + "void demo_init(struct demo_slot *slot) { timer_setup(&slot->ev, demo_worker, 0); }\n"),
                    ("arch/arm/mach-demo/irq.c", """
static irqreturn_t demo_serr_irq(int irq, void *dev_id)
{
	struct timer_list *timer = dev_id;
	mod_timer(timer, jiffies + HZ);
	return IRQ_HANDLED;
}
"""))
    assert "demo_worker" not in found


def test_a_helper_arming_a_field_of_its_parameter_runs_its_callers_binding():
    """bcm's shape: op->timer is bound to one function on rx ops and another on tx ops;
    a static helper arms `&op->timer` for the one caller that has just bound tx."""
    source = """
struct demo_op { struct hrtimer timer; };
static enum hrtimer_restart demo_rx_fn(struct hrtimer *h) { kmalloc(8, GFP_KERNEL); return 0; }
static enum hrtimer_restart demo_tx_fn(struct hrtimer *h) { kmalloc(8, GFP_KERNEL); return 0; }
static void demo_tx_start(struct demo_op *op) { hrtimer_start(&op->timer, 1, 0); }
void demo_rx_setup(struct demo_op *op) { op->timer.function = demo_rx_fn; }
void demo_tx_setup(struct demo_op *op) { op->timer.function = demo_tx_fn; demo_tx_start(op); }
"""
    found = entries(("net/demo/bcm.c", source))
    assert "demo_tx_fn" in found and "demo_rx_fn" not in found
    (w,) = found["demo_tx_fn"]
    assert "demo_tx_start" in w.reason
    # a helper whose address is taken may be called with any op: every binding may run
    found = entries(("net/demo/bcm.c", source + "void *demo_hook = demo_tx_start;\n"))
    assert "demo_tx_fn" in found and "demo_rx_fn" in found


def test_the_witness_names_the_arm_that_starts_a_self_rearming_timer():
    """The callback re-arms itself; what starts it is the open path's mod_timer()."""
    found = entries(("drivers/net/demo/poll.c", """
struct demo_lp { struct timer_list timer; };
static void demo_poll_timer(struct timer_list *t)
{
	struct demo_lp *lp = from_timer(lp, t, timer);

	kmalloc(8, GFP_KERNEL);
	mod_timer(&lp->timer, jiffies + 1);
}
static int demo_open(struct demo_lp *lp)
{
	timer_setup(&lp->timer, demo_poll_timer, 0);
	mod_timer(&lp->timer, jiffies + 1);
	return 0;
}
"""))
    (w,) = found["demo_poll_timer"]
    assert "once demo_open() arms it with mod_timer()" in w.steps[-1].text


TWO_USB_DRIVERS = (("drivers/net/usbx/ra.c", """
static void ra_rx_done(struct urb *urb)
{
	kmalloc(8, GFP_KERNEL);
	usb_submit_urb(urb, GFP_ATOMIC);
}
int ra_start(struct usb_device *udev)
{
	struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);
	usb_fill_bulk_urb(urb, udev, 1, NULL, 0, ra_rx_done, NULL);
	return usb_submit_urb(urb, GFP_KERNEL);
}
"""), ("drivers/net/usbx/rb.c", """
static void rb_rx_done(struct urb *urb) { kmalloc(8, GFP_KERNEL); }
void rb_prepare(struct usb_device *udev)
{
	struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);
	usb_fill_bulk_urb(urb, udev, 1, NULL, 0, rb_rx_done, NULL);
}
"""))


def _entries_with_modules(files, makefile: str | None) -> dict[str, list]:
    from allocscan.kbuild import composite_modules

    program = link([extract_file(p, t.encode()) for p, t in files])
    if makefile is not None:
        program.modules = composite_modules({"drivers/net/usbx": [makefile]})
    analysis = analyze(program, builtin_kernel("6.1"))
    return {analysis.program.functions[n].fn.name: ws for n, ws in analysis.contexts.entries.items()}


def test_a_callback_resubmitting_its_own_urb_arms_itself_only():
    """catc's completion resubmits its own URB: that arms no other callback of the directory."""
    found = _entries_with_modules(TWO_USB_DRIVERS, None)
    assert "ra_rx_done" in found and "rb_rx_done" not in found
    assert all("ra_start" in w.reason or "ra_rx_done" in w.reason for w in found["ra_rx_done"])


def test_an_unnamed_object_is_matched_within_its_module_by_the_makefile():
    kick = ("drivers/net/usbx/rc.c", """
int rc_kick(void)
{
	struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);
	return usb_submit_urb(urb, GFP_KERNEL);
}
""")
    files = TWO_USB_DRIVERS + (kick,)
    # without the Makefiles, one directory is one driver: rc's submit may arm rb's URB
    assert "rb_rx_done" in _entries_with_modules(files, None)
    # three modules: it cannot
    separate = "obj-$(CONFIG_RA) += ra.o\nobj-$(CONFIG_RB) += rb.o\nobj-$(CONFIG_RC) += rc.o\n"
    assert "rb_rx_done" not in _entries_with_modules(files, separate)
    # rb and rc linked into one module: it can
    linked = "obj-$(CONFIG_RA) += ra.o\nobj-$(CONFIG_RBC) += rbc.o\nrbc-y := rb.o rc.o\n"
    assert "rb_rx_done" in _entries_with_modules(files, linked)


def test_modules_read_from_makefiles():
    from allocscan.kbuild import composite_modules

    modules = composite_modules({
        "drivers/x": ["obj-m += foo.o bar.o\nfoo-y := a.o \\\n\tsub/b.o\nfoo-$(CONFIG_FOO_DBG) += dbg.o\n"
                      "hostprogs := gen\ngen-objs := g.o\n"],
        "drivers/v": ["obj-m := $(MOD).o\n$(MOD)-y := a.o b.o\n"]})
    assert modules.same("drivers/x/a.c", "drivers/x/dbg.c") and modules.same("drivers/x/a.c", "drivers/x/sub/b.c")
    assert not modules.same("drivers/x/a.c", "drivers/x/bar.c")
    assert not modules.same("drivers/x/g.c", "drivers/x/a.c")  # a host program is no part of foo
    assert modules.same("drivers/v/a.c", "drivers/v/c.c")  # named through a variable: by directory
    assert modules.same("drivers/x/foo.h", "drivers/x/bar.c")  # a header: by directory


RING_SETUP = ("drivers/net/wlx/ring.c", """
static int ring_fill(struct ring *r, gfp_t gfp)
{
	void *buf;

	spin_lock_bh(&r->lock);
	buf = kzalloc(r->size, gfp);
	spin_unlock_bh(&r->lock);
	return buf ? 0 : -ENOMEM;
}

int ring_setup(struct ring *r)
{
	return ring_fill(r, GFP_KERNEL);
}

void ring_refill(struct ring *r)
{
	ring_fill(r, GFP_ATOMIC);
}
EXPORT_SYMBOL(ring_refill);
""")


def _as002_lines(files, makefile: str | None) -> list[int]:
    from allocscan.kbuild import composite_modules
    from allocscan.rules import by_id

    program = link([extract_file(p, t.encode()) for p, t in files])
    if makefile is not None:
        program.modules = composite_modules({"drivers/net/wlx": [makefile]})
    analysis = analyze(program, builtin_kernel("6.1"))
    return [f.line for f in by_id()["AS002"].check(analysis, SimpleNamespace(min_order=4))]


def test_a_gfp_passed_only_by_a_function_nothing_runs_is_not_reported():
    """ath12k's shape: the one caller passing GFP_KERNEL to the spinlocked refill is
    neither called, exported nor bound anywhere in its module. On a whole-tree scan
    (Makefiles read) that GFP_KERNEL never arrives; a call, an export or an ops binding
    anywhere in the module brings it back, and without the Makefiles nothing is decided."""
    makefile = "obj-$(CONFIG_WLX) += wlx.o\nwlx-y := ring.o main.o\n"
    main = ("drivers/net/wlx/main.c", "int wlx_probe(struct ring *r) { return 0; }\n")
    assert _as002_lines([RING_SETUP, main], makefile) == []
    assert _as002_lines([RING_SETUP, main], None) == [7]
    for user in ("int wlx_probe(struct ring *r) { return ring_setup(r); }\n",
                 "static const struct wlx_ops ops = { .setup = ring_setup };\n",
                 "void wlx_hook(struct wlx *w) { w->setup = ring_setup; }\n"):
        assert _as002_lines([RING_SETUP, ("drivers/net/wlx/main.c", user)], makefile) == [7], user
    exported = (RING_SETUP[0], RING_SETUP[1] + "EXPORT_SYMBOL(ring_setup);\n")
    assert _as002_lines([exported, main], makefile) == [7]


BOOT_IRQ = ("arch/sh/kernel/irq.c", """
void __init init_IRQ(void)
{
	intc_finalize();
}
""")
BOOT_X86 = ("arch/x86/kernel/irqinit.c", """
void __init init_IRQ(void)
{
	x86_init_irqs();
}
""")
BOOT_MAIN = ("init/main.c", """
static void rest_init(void)
{
	late_setup();
}
void start_kernel(void)
{
	local_irq_disable();
	init_IRQ();
	rest_init();
}
""")
INTC = ("drivers/sh/intc/virq.c", """
static void __init subgroup_map(struct intc_desc *d)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&d->lock, flags);
	d->map = kzalloc(64, GFP_KERNEL);
	raw_spin_unlock_irqrestore(&d->lock, flags);
}
void __init intc_finalize(void)
{
	subgroup_map(&intc_desc);
}
""")


def test_code_only_early_boot_runs_is_not_reported():
    """sh's intc: start_kernel() -> init_IRQ() -> intc_finalize(), __init all the way,
    before rest_init(): nothing sleeps yet (GFP_BOOT_MASK, SYSTEM_BOOTING). The same code
    run after rest_init(), from an initcall or from a function not __init, is reported."""
    def lines(*files):
        analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
        from allocscan.rules import by_id
        return [f.line for f in by_id()["AS002"].check(analysis, SimpleNamespace(min_order=4))]

    # (generic code links to x86's init_IRQ(); in an sh build it calls sh's)
    assert lines(BOOT_MAIN, BOOT_X86, BOOT_IRQ, INTC) == []
    late = (BOOT_MAIN[0], BOOT_MAIN[1].replace("late_setup();", "intc_finalize();"))
    assert lines(late, BOOT_X86, BOOT_IRQ, INTC) == [7]
    assert lines(BOOT_MAIN, BOOT_X86, BOOT_IRQ, (INTC[0], INTC[1] + "device_initcall(intc_finalize);\n"
                                        "int __init other(void) { intc_finalize(); return 0; }\n"
                                        "late_initcall(other);\n")) == [7]
    run_time = (INTC[0], INTC[1].replace("void __init intc_finalize", "void intc_finalize"))
    assert lines(BOOT_MAIN, BOOT_X86, BOOT_IRQ, run_time) == [7]
    assert lines(BOOT_IRQ, INTC) == [7]  # start_kernel() not in the scan: nothing is decided


VMALLOC = ("mm/vmalloc.c", """
struct demo_vmap_node { unsigned long pool[1024]; };
static struct demo_vmap_node *demo_nodes;
static void demo_init_nodes(unsigned int n)
{
	demo_nodes = kmalloc_array(n, sizeof(*demo_nodes), GFP_NOWAIT | __GFP_NOWARN);
}
void __init demo_vmalloc_init(void)
{
	demo_init_nodes(128);
}
""")


def test_a_high_order_allocation_only_early_boot_makes_is_not_reported():
    """vmalloc_init()'s shape: an __init function of start_kernel() calls a static helper
    (not __init itself, only called directly) that asks for 1 MiB with GFP_NOWAIT. Memory
    is not fragmented yet, and a failure would show on every boot: no AS001. The same
    helper run from an initcall, after rest_init(), is reported."""
    def lines(*files):
        analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
        from allocscan.rules import by_id
        return [f.line for f in by_id()["AS001"].check(analysis, SimpleNamespace(min_order=4))]

    boot = (BOOT_MAIN[0], BOOT_MAIN[1].replace("init_IRQ();", "demo_vmalloc_init();"))
    assert lines(boot, VMALLOC) == []
    assert lines(BOOT_MAIN, (VMALLOC[0], VMALLOC[1] + "device_initcall(demo_vmalloc_init);\n")) == [6]
    # a helper whose address its file takes may run from anywhere
    taken = (VMALLOC[0], VMALLOC[1] + "void (*demo_hook)(unsigned int) = demo_init_nodes;\n")
    assert lines(boot, taken) == [6]


GIC = ("drivers/irqchip/irq-demo-gic.c", """
#define DEMO_PENDBASE_SZ	ALIGN(BIT(16) / 8, SZ_64K)
static struct page *demo_alloc_pending(gfp_t gfp)
{
	return alloc_pages(gfp | __GFP_ZERO, get_order(DEMO_PENDBASE_SZ));
}
static int __init demo_its_init(void)
{
	return demo_alloc_pending(GFP_NOWAIT) ? 0 : -ENOMEM;
}
static int __init demo_gic_of_init(struct device_node *node, struct device_node *parent)
{
	return demo_its_init();
}
IRQCHIP_DECLARE(demo_gic, "arm,demo-gic", demo_gic_of_init);
int demo_vpe_init(struct demo_vpe *vpe)
{
	vpe->pend = demo_alloc_pending(GFP_KERNEL);
	return vpe->pend ? 0 : -ENOMEM;
}
""")


def test_an_irqchip_declared_for_init_irq_runs_in_early_boot():
    """An irqchip's IRQCHIP_DECLARE() init runs from init_IRQ()'s irqchip_init(), before
    rest_init(): a GFP_NOWAIT table there is early boot's (gic-v3-its's pending tables),
    though the allocating helper also runs later, for a vPE, with GFP_KERNEL. The same
    init bound by anything else at file scope, or not __init, may run later."""
    def lines(*files):
        analysis = analyze(link([extract_file(p, t.encode()) for p, t in files]), builtin_kernel("6.1"))
        from allocscan.rules import by_id
        return [f.line for f in by_id()["AS001"].check(analysis, SimpleNamespace(min_order=4))]

    assert lines(BOOT_MAIN, GIC) == []
    also = (GIC[0], GIC[1] + "static struct demo_ops demo_ops = { .probe = demo_gic_of_init };\n")
    assert lines(BOOT_MAIN, also) == [5]
    late = (GIC[0], GIC[1].replace("static int __init demo_gic_of_init", "static int demo_gic_of_init"))
    assert lines(BOOT_MAIN, late) == [5]


def test_a_struct_two_drivers_define_binds_its_timer_only_within_its_module():
    """natsemi.c and winbond-840.c each define their own `struct netdev_private` with a
    `timer`: winbond's add_timer(&np->timer) arms winbond's callback, not natsemi's. A
    callback bound to a field of such a struct is armed only by its own module's calls."""
    quiet = ("drivers/net/ethernet/ns/quiet.c", """
struct netdev_private { struct timer_list timer; void *buf; };
static void quiet_timer(struct timer_list *t)
{
	struct netdev_private *np = from_timer(np, t, timer);

	np->buf = kmalloc(64, GFP_KERNEL);
}
void quiet_open(struct netdev_private *np)
{
	timer_setup(&np->timer, quiet_timer, 0);
}
""")
    other = ("drivers/net/ethernet/wb/other.c", """
struct netdev_private { struct timer_list timer; int n; };
static void other_timer(struct timer_list *t)
{
	struct netdev_private *np = from_timer(np, t, timer);

	np->timer.expires = jiffies + HZ;
	add_timer(&np->timer);
}
void other_open(struct netdev_private *np)
{
	timer_setup(&np->timer, other_timer, 0);
	add_timer(&np->timer);
}
""")
    assert _as002_lines([quiet, other], None) == []
    armed = (quiet[0], quiet[1].replace("timer_setup(&np->timer, quiet_timer, 0);",
                                        "timer_setup(&np->timer, quiet_timer, 0);\n\tadd_timer(&np->timer);"))
    assert _as002_lines([armed, other], None) == [7]


GADGET_REQUESTS = ("drivers/usb/gadget/function/f_demo.c", """
struct demo_stream { struct usb_request *req_in; struct usb_request *req_status; };
static void demo_err_compl(struct usb_ep *ep, struct usb_request *req)
{
	if (req->length)
		usb_ep_queue(ep, req, GFP_ATOMIC);
}
static void demo_status_cmpl(struct usb_ep *ep, struct usb_request *req)
{
	kmalloc(8, GFP_KERNEL);
}
static void demo_send_bad_status(struct usb_ep *ep, struct usb_request *req)
{
	req->complete = demo_err_compl;
	usb_ep_queue(ep, req, GFP_KERNEL);
}
static void demo_prepare(struct demo_stream *stream)
{
	stream->req_in->complete = demo_status_cmpl;
}
static void demo_send_response(struct usb_ep *ep, struct demo_stream *stream)
{
	stream->req_status->complete = demo_status_cmpl;
	usb_ep_queue(ep, stream->req_status, GFP_ATOMIC);
}
""")


def test_a_usb_request_completion_requeueing_its_request_arms_itself_and_witnesses_name_the_queued_object():
    """f_tcm: bot_err_compl() queues again the request it completes (its second parameter):
    that arms bot_err_compl only. uasp_status_data_cmpl's witness is the queue of the
    req_status it was bound to, not a queue of an unnamed request."""
    found = entries(GADGET_REQUESTS)
    assert all("demo_err_compl" not in w.reason for w in found["demo_status_cmpl"])
    first = found["demo_status_cmpl"][0]
    assert "demo_send_response" in first.reason and (first.steps[0].line, first.steps[1].line) == (23, 24)


def test_cross_cpu_calls_run_their_function_at_once_with_interrupts_off():
    found = entries(("arch/x86/kernel/demo.c", """
static void demo_percpu_init(void *info) { kmalloc(64, GFP_KERNEL); }
static bool demo_wants(int cpu, void *info) { return kzalloc(8, GFP_KERNEL) != NULL; }
static void demo_flush(void *info) { kfree(info); }
static void demo_remote(void *info) { vzalloc(4096); }
static int demo_on_cpu(void *arg) { return 0; }
void demo_setup(void *p)
{
	on_each_cpu(demo_percpu_init, NULL, 1);
	on_each_cpu_cond(demo_wants, demo_flush, p, true);
	smp_call_function_single(1, demo_remote, p, 1);
	smp_call_on_cpu(1, demo_on_cpu, p, false);
}
"""))
    for name, call in (("demo_percpu_init", "on_each_cpu"), ("demo_wants", "on_each_cpu_cond"),
                       ("demo_remote", "smp_call_function_single")):
        (w,) = found[name]
        assert w.entry.callee == call and w.entry.context == "hardirq:smp_call_function"
    assert "demo_on_cpu" not in found  # smp_call_on_cpu() runs it in a work item


def test_an_async_crypto_completion_runs_once_its_request_is_submitted():
    found = entries(("crypto/demo_pad.c", """
struct demo_pad_ctx { struct akcipher_request child; struct akcipher_request spare; };
static void demo_pad_done(struct crypto_async_request *areq, int err) { kzalloc(256, GFP_KERNEL); }
static void demo_pad_unused(struct crypto_async_request *areq, int err) { kzalloc(256, GFP_KERNEL); }
int demo_pad_encrypt(struct akcipher_request *req)
{
	struct demo_pad_ctx *ctx = akcipher_request_ctx(req);

	akcipher_request_set_callback(&ctx->spare, 0, demo_pad_unused, req);
	akcipher_request_set_callback(&ctx->child, req->base.flags, demo_pad_done, req);
	return crypto_akcipher_encrypt(&ctx->child);
}
"""))
    (w,) = found["demo_pad_done"]
    assert w.entry.callee == "crypto_akcipher_encrypt" and w.entry.context == "softirq:crypto-complete"
    assert "demo_pad_unused" not in found  # bound to a request nothing submits


def test_ops_the_core_calls_under_its_own_locks_are_entry_points():
    found = entries(("drivers/net/ethernet/demo/main.c", """
static void demo_rx_mode(struct net_device *dev) { kmalloc(64, GFP_KERNEL); }
static void demo_timeout(struct net_device *dev, unsigned int q) { kmalloc(64, GFP_KERNEL); }
static int demo_open(struct net_device *dev) { kmalloc(64, GFP_KERNEL); return 0; }
static const struct net_device_ops demo_ops = {
	.ndo_open = demo_open,
	.ndo_set_rx_mode = demo_rx_mode,
	.ndo_tx_timeout = demo_timeout,
};
"""))
    assert found["demo_rx_mode"][0].entry.context == "bh:ndo_set_rx_mode"
    assert found["demo_timeout"][0].entry.context == "softirq:ndo_tx_timeout"
    assert "demo_open" not in found


BIO_SUBMIT = """
static void demo_simple_end_io(struct bio *bio) { bio_put(bio); }
static void demo_raid_end_io(struct bio *bio) { kfree(kmalloc(64, GFP_NOFS)); }
static void demo_submit_dev_bio(struct bio *bio) { submit_bio(bio); }
void demo_raid_recover(struct bio *bio);
static void demo_submit(struct bio *bio, int raid)
{
	if (!raid) {
		bio->bi_end_io = demo_simple_end_io;
		demo_submit_dev_bio(bio);
	} else {
		bio->bi_end_io = demo_raid_end_io;
		demo_raid_recover(bio);
	}
}
"""


def test_a_function_binding_its_parameter_runs_the_binding_made_before_it_hands_it_on():
    """demo_submit() binds the bio it is given and hands it to the submitting helper in
    one arm; in the other it binds another completion for code that completes the bio
    itself. The helper's submit_bio() runs the first binding only, whether or not
    demo_submit() has callers of its own that pass the bio in."""
    callers = "void demo_chunk(struct demo_bbio *b, int raid) { demo_submit(&b->bio, raid); }\n" \
              "void demo_async(struct bio *bio) { demo_submit(bio, 0); }\n"
    for text in (BIO_SUBMIT, BIO_SUBMIT + callers):
        found = entries(("fs/demo/bio.c", text))
        assert "demo_simple_end_io" in found and "demo_raid_end_io" not in found
        assert found["demo_simple_end_io"][0].entry.context == "hardirq:bio-end-io"


def test_a_dma_descriptors_callback_runs_once_the_descriptor_is_submitted():
    found = entries(("drivers/spi/demo.c", """
struct demo_dev { struct dma_chan *chan; void *buf; };
static void demo_dma_done(void *param) { ((struct demo_dev *)param)->buf = kmalloc(128, GFP_KERNEL); }
static void demo_never_queued(void *param) { kmalloc(128, GFP_KERNEL); }
void demo_prepare(struct demo_dev *d, struct dma_async_tx_descriptor *spare)
{
	spare->callback = demo_never_queued;
}
int demo_start(struct demo_dev *d, dma_addr_t src, size_t len)
{
	struct dma_async_tx_descriptor *desc;

	desc = dmaengine_prep_slave_single(d->chan, src, len, DMA_MEM_TO_DEV, 0);
	desc->callback = demo_dma_done;
	desc->callback_param = d;
	dmaengine_submit(desc);
	return 0;
}
"""))
    assert found["demo_dma_done"][0].entry.context == "softirq:dma-complete"
    assert "demo_never_queued" not in found


def test_a_callback_armed_by_either_of_two_calls_names_both():
    """dm-crypt's convert step encrypts a write and decrypts a read with one completion:
    which arm the allocation's path needs is not decided where it is armed."""
    found = entries(("drivers/md/demo-crypt.c", """
struct demo_ctx { struct aead_request *req; int write; };
static void demo_done(struct crypto_async_request *areq, int err) { kfree(kmalloc(64, GFP_NOIO)); }
int demo_convert(struct demo_ctx *ctx)
{
	aead_request_set_callback(ctx->req, 0, demo_done, ctx);
	if (ctx->write)
		return crypto_aead_encrypt(ctx->req);
	return crypto_aead_decrypt(ctx->req);
}
"""))
    (w,) = found["demo_done"]
    assert w.reason == "softirq:crypto-complete: demo_done (armed by crypto_aead_encrypt or crypto_aead_decrypt in demo_convert)"
    assert w.entry.text.endswith("arms it with crypto_aead_encrypt() or crypto_aead_decrypt()")


NOTIFIERS = """
struct demo_events { struct atomic_notifier_head nh; };
static struct demo_events demo_ev;
struct demo_priv { struct notifier_block events_nb; struct notifier_block reboot_nb; void *buf; };
static BLOCKING_NOTIFIER_HEAD(demo_blocking_chain);

int demo_events_register(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&demo_ev.nh, nb);
}

static int demo_neigh_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	kmalloc(64, GFP_KERNEL);
	return NOTIFY_DONE;
}
static int demo_port_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	kmalloc(64, GFP_KERNEL);
	return NOTIFY_OK;
}
static int demo_reboot_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	kmalloc(64, GFP_KERNEL);
	return NOTIFY_OK;
}
static int demo_panic_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	kmalloc(64, GFP_KERNEL);
	return NOTIFY_OK;
}
static int demo_unregistered_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	kmalloc(64, GFP_KERNEL);
	return NOTIFY_OK;
}

static struct notifier_block demo_neigh_nb = {
	.notifier_call = demo_neigh_event,
};
static struct notifier_block demo_panic_nb = {
	.notifier_call = demo_panic_event,
};
static struct notifier_block demo_spare_nb = {
	.notifier_call = demo_unregistered_event,
};

int demo_probe(struct demo_priv *priv)
{
	priv->events_nb.notifier_call = demo_port_event;
	demo_events_register(&priv->events_nb);
	priv->reboot_nb.notifier_call = demo_reboot_event;
	blocking_notifier_chain_register(&demo_blocking_chain, &priv->reboot_nb);
	atomic_notifier_chain_register(&panic_notifier_list, &demo_panic_nb);
	return atomic_notifier_chain_register(&demo_ev.nh, &demo_neigh_nb);
}
"""


def test_a_notifier_block_runs_under_rcu_once_registered_on_an_atomic_chain():
    """A block registered on an atomic chain, directly (a file-scope initializer) or
    through the subsystem's wrapper (an assignment to an embedded block), runs in the
    chain's RCU read side; one on a blocking chain, on the panic chain, or never
    registered does not."""
    found = entries(("drivers/net/demo/events.c", NOTIFIERS))
    assert {"demo_neigh_event", "demo_port_event"} <= found.keys()
    assert not {"demo_reboot_event", "demo_panic_event", "demo_unregistered_event"} & found.keys()
    (w,) = found["demo_neigh_event"]
    assert w.entry.context == "rcu:atomic-notifier" and w.entry.callee == "atomic_notifier_chain_register"
    assert w.steps[0].text.startswith("demo_neigh_nb = { .notifier_call = demo_neigh_event }")
    (w,) = found["demo_port_event"]
    assert w.steps[0].text.startswith("priv->events_nb.notifier_call = demo_port_event")
    # shown where the driver hands its block to the subsystem's wrapper
    assert (w.entry.function, w.entry.line) == ("demo_port_event", NOTIFIERS.count("\n", 0, NOTIFIERS.index(
        "demo_events_register(&priv")) + 1)
    assert "once demo_probe() arms it through demo_events_register()" in w.entry.text


def test_a_notifier_on_a_chain_run_only_where_nothing_is_reported_is_no_entry():
    """The restart and power-off chains (a handler's `list` field chosen at run time) and
    the die chain are quiet: __might_resched() prints nothing there, or the context is
    the trap's."""
    found = entries(("kernel/demo_reboot.c", """
struct sys_off_handler { struct notifier_block nb; struct atomic_notifier_head *list; };
static int demo_sys_off_notify(struct notifier_block *nb, unsigned long mode, void *cmd)
{ kmalloc(8, GFP_KERNEL); return NOTIFY_DONE; }
static int demo_die_event(struct notifier_block *nb, unsigned long val, void *data)
{ kmalloc(8, GFP_KERNEL); return NOTIFY_DONE; }
static struct notifier_block demo_die_nb = { .notifier_call = demo_die_event };
static ATOMIC_NOTIFIER_HEAD(die_chain);
int demo_register(struct sys_off_handler *handler)
{
	handler->nb.notifier_call = demo_sys_off_notify;
	atomic_notifier_chain_register(&die_chain, &demo_die_nb);
	return atomic_notifier_chain_register(handler->list, &handler->nb);
}
"""))
    assert not {"demo_sys_off_notify", "demo_die_event"} & found.keys()


def test_a_static_block_of_the_same_name_in_another_file_is_another_block():
    """Two files of one driver each define a static `demo_sw_nb`: the one registered on an
    atomic chain arms its own file's callback, not the other file's."""
    found = entries(
        ("drivers/net/demo/a.c", """
static int demo_a_event(struct notifier_block *nb, unsigned long ev, void *p) { kmalloc(8, GFP_KERNEL); return 0; }
static struct notifier_block demo_sw_nb = { .notifier_call = demo_a_event };
int demo_a_init(void) { return atomic_notifier_chain_register(&demo_chain, &demo_sw_nb); }
"""),
        ("drivers/net/demo/b.c", """
static int demo_b_event(struct notifier_block *nb, unsigned long ev, void *p) { kmalloc(8, GFP_KERNEL); return 0; }
static struct notifier_block demo_sw_nb = { .notifier_call = demo_b_event };
int demo_b_init(void) { return blocking_notifier_chain_register(&demo_bchain, &demo_sw_nb); }
"""))
    assert "demo_a_event" in found and "demo_b_event" not in found


def test_a_sockets_data_ready_replaced_by_a_kernel_user_runs_in_softirq():
    """`sock->sk->sk_data_ready = fn` (a receiver whose type the file does not spell) binds
    a socket callback; a field of the same name in the driver's own struct, set to the
    saved original, binds nothing."""
    found = entries(("drivers/demo/tcp.c", """
struct demo_queue { struct socket *sock; void (*data_ready)(struct sock *); };
static void demo_data_ready(struct sock *sk) { kmalloc(8, GFP_KERNEL); }
void demo_start(struct demo_queue *queue)
{
	queue->data_ready = queue->sock->sk->sk_data_ready;
	queue->sock->sk->sk_data_ready = demo_data_ready;
}
"""))
    (w,) = found["demo_data_ready"]
    assert w.entry.context == "softirq:sk-callback"


def test_a_block_drivers_queue_rq_runs_under_rcu_unless_its_module_sets_blocking():
    found = entries(
        ("drivers/block/demo/fast.c", """
static blk_status_t demo_fast_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{ kmalloc(64, GFP_NOIO); return BLK_STS_OK; }
static const struct blk_mq_ops demo_fast_mq_ops = { .queue_rq = demo_fast_queue_rq };
"""),
        ("drivers/block/demo2/slow.c", """
static blk_status_t demo_slow_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{ kmalloc(64, GFP_NOIO); return BLK_STS_OK; }
static const struct blk_mq_ops demo_slow_mq_ops = { .queue_rq = demo_slow_queue_rq };
"""),
        ("drivers/block/demo2/setup.c", """
int demo_slow_init(struct blk_mq_tag_set *set)
{
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	return blk_mq_alloc_tag_set(set);
}
"""))
    assert found["demo_fast_queue_rq"][0].entry.context == "rcu:blk-mq-dispatch"
    assert "demo_slow_queue_rq" not in found
    # an nvme transport asks the core for a blocking tag set in its ops' initializer
    found = entries(("drivers/nvme/demo/tcp.c", """
struct nvme_ctrl_ops { unsigned int flags; };
static blk_status_t demo_tcp_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{ kmalloc(64, GFP_NOIO); return BLK_STS_OK; }
static const struct blk_mq_ops demo_tcp_mq_ops = { .queue_rq = demo_tcp_queue_rq };
static const struct nvme_ctrl_ops demo_tcp_ctrl_ops = { .flags = NVME_F_FABRICS | NVME_F_BLOCKING };
"""))
    assert "demo_tcp_queue_rq" not in found


def test_a_block_declared_extern_in_the_arming_file_is_the_defining_files():
    """`extern struct notifier_block demo_sw_nb;` names the other file's block: registering
    it arms that file's callback."""
    found = entries(
        ("drivers/net/demo/a.c", """
static int demo_a_event(struct notifier_block *nb, unsigned long ev, void *p) { kmalloc(8, GFP_KERNEL); return 0; }
struct notifier_block demo_sw_nb = { .notifier_call = demo_a_event };
"""),
        ("drivers/net/demo/b.c", """
extern struct notifier_block demo_sw_nb;
int demo_b_init(void) { return atomic_notifier_chain_register(&demo_chain, &demo_sw_nb); }
"""))
    assert "demo_a_event" in found


def test_ops_documented_to_run_under_the_cores_spinlock_are_entry_points():
    """uart_ops.start_tx, an input handler's event and clk_ops.enable run with a spinlock
    held and interrupts off; uart_ops.set_termios and tx_empty (called with the port
    mutex only) and a clock's prepare are not entry points."""
    found = entries(("drivers/tty/serial/demo.c", """
static void demo_start_tx(struct uart_port *port) { kmalloc(64, GFP_KERNEL); }
static unsigned int demo_tx_empty(struct uart_port *port) { kfree(kmalloc(64, GFP_KERNEL)); return 1; }
static void demo_set_termios(struct uart_port *port, struct ktermios *t, const struct ktermios *old) { kmalloc(64, GFP_KERNEL); }
static const struct uart_ops demo_uart_ops = {
	.start_tx = demo_start_tx,
	.tx_empty = demo_tx_empty,
	.set_termios = demo_set_termios,
};
"""), ("drivers/input/demo.c", """
static void demo_input_event(struct input_handle *handle, unsigned int type, unsigned int code, int value) { kmalloc(64, GFP_KERNEL); }
static struct input_handler demo_handler = { .event = demo_input_event, .name = "demo" };
static int demo_led_event(struct input_dev *dev, unsigned int type, unsigned int code, int value) { kmalloc(64, GFP_KERNEL); return 0; }
int demo_probe(struct input_dev *input) { input->event = demo_led_event; return input_register_device(input); }
"""), ("drivers/clk/demo.c", """
static int demo_clk_enable(struct clk_hw *hw) { kmalloc(64, GFP_KERNEL); return 0; }
static int demo_clk_prepare(struct clk_hw *hw) { kmalloc(64, GFP_KERNEL); return 0; }
static const struct clk_ops demo_clk_ops = { .enable = demo_clk_enable, .prepare = demo_clk_prepare };
"""))
    assert found["demo_start_tx"][0].entry.context == "lock:uart-port"
    assert found["demo_input_event"][0].entry.context == "lock:input-handler"
    assert found["demo_led_event"][0].entry.context == "lock:input-event"
    assert found["demo_clk_enable"][0].entry.context == "lock:clk-enable"
    for sleepable in ("demo_tx_empty", "demo_set_termios", "demo_clk_prepare"):
        assert sleepable not in found


def test_a_context_test_the_cores_lock_answers_picks_the_gfp_there():
    """Under the uart port's spin_lock_irqsave() irqs_disabled() is true, so
    `irqs_disabled() ? GFP_ATOMIC : GFP_KERNEL` allocates atomically; gfp_any() asks
    in_softirq(), which the lock leaves false in a task: GFP_KERNEL, reported."""
    lines = _as002_lines([("drivers/tty/serial/demo.c", """
static void demo_start_tx(struct uart_port *port)
{
	kfree(kmalloc(64, irqs_disabled() ? GFP_ATOMIC : GFP_KERNEL));
}
static void demo_stop_tx(struct uart_port *port)
{
	kfree(kmalloc(64, gfp_any()));
}
static const struct uart_ops demo_uart_ops = { .start_tx = demo_start_tx, .stop_tx = demo_stop_tx };
""")], None)
    assert lines == [8]


def test_mac80211_ops_it_calls_atomically_are_entry_points_and_those_it_may_call_sleeping_are_not():
    found = entries(("drivers/net/wireless/demo/main.c", """
static void demo_tx(struct ieee80211_hw *hw, struct ieee80211_tx_control *c, struct sk_buff *skb) { kmalloc(64, GFP_KERNEL); }
static int demo_set_tim(struct ieee80211_hw *hw, struct ieee80211_sta *sta, bool set) { kmalloc(64, GFP_KERNEL); return 0; }
static void demo_rc_update(struct ieee80211_hw *hw, struct ieee80211_vif *vif, struct ieee80211_sta *sta, u32 changed) { kmalloc(64, GFP_KERNEL); }
static const struct ieee80211_ops demo_ops = {
	.tx = demo_tx,
	.set_tim = demo_set_tim,
	.sta_rc_update = demo_rc_update,
};
"""))
    assert found["demo_tx"][0].entry.context == "bh:mac80211-tx"
    assert found["demo_set_tim"][0].entry.context == "bh:mac80211-rx"
    assert "demo_rc_update" not in found


def test_a_pcms_trigger_runs_under_the_stream_lock_unless_its_module_asks_for_nonatomic():
    """trigger/pointer/ack run under the PCM stream's spinlock; a driver whose module sets
    `pcm->nonatomic = true` gets a mutex, and its trigger may sleep."""
    ops = """
static int demo%d_trigger(struct snd_pcm_substream *ss, int cmd) { kmalloc(64, GFP_KERNEL); return 0; }
static const struct snd_pcm_ops demo%d_pcm_ops = { .trigger = demo%d_trigger };
"""
    found = entries(
        ("sound/pci/demo1/pcm.c", ops % (1, 1, 1)),
        ("sound/pci/demo2/pcm.c", ops % (2, 2, 2)),
        ("sound/pci/demo2/card.c", """
int demo2_new_pcm(struct snd_card *card)
{
	struct snd_pcm *pcm;
	int err = snd_pcm_new(card, "demo2", 0, 1, 0, &pcm);
	if (err < 0)
		return err;
	pcm->nonatomic = true;
	return 0;
}
"""))
    assert found["demo1_trigger"][0].entry.context == "lock:pcm-stream"
    assert "demo2_trigger" not in found


def test_irq_chip_scsi_and_console_callbacks_the_core_calls_atomically():
    """An irq_chip's irq_set_type runs under desc->lock, its irq_bus_sync_unlock does not;
    an LLD's queuecommand runs inside blk-mq's RCU dispatch unless its module asks for
    queuecommand_may_block; a console's write runs with interrupts off."""
    found = entries(("drivers/gpio/gpio-demo.c", """
static int demo_irq_set_type(struct irq_data *d, unsigned int type) { kmalloc(64, GFP_KERNEL); return 0; }
static void demo_irq_sync_unlock(struct irq_data *d) { kfree(kmalloc(64, GFP_KERNEL)); }
static const struct irq_chip demo_irq_chip = {
	.irq_set_type = demo_irq_set_type,
	.irq_bus_sync_unlock = demo_irq_sync_unlock,
};
"""), ("drivers/scsi/demo_fast.c", """
static int demo_fast_queuecommand(struct Scsi_Host *sh, struct scsi_cmnd *cmd) { kmalloc(64, GFP_KERNEL); return 0; }
static const struct scsi_host_template demo_fast_sht = { .queuecommand = demo_fast_queuecommand };
"""), ("drivers/scsi/demo_slow/main.c", """
static int demo_slow_queuecommand(struct Scsi_Host *sh, struct scsi_cmnd *cmd) { kmalloc(64, GFP_KERNEL); return 0; }
static const struct scsi_host_template demo_slow_sht = { .queuecommand = demo_slow_queuecommand };
int demo_slow_probe(struct Scsi_Host *host) { host->queuecommand_may_block = 1; return scsi_add_host(host, NULL); }
"""), ("drivers/tty/demo_console.c", """
static void demo_console_write(struct console *co, const char *s, unsigned int n) { kmalloc(n, GFP_KERNEL); }
static struct console demo_console = { .name = "demo", .write = demo_console_write };
"""))
    assert found["demo_irq_set_type"][0].entry.context == "lock:irq-desc"
    assert "demo_irq_sync_unlock" not in found
    assert found["demo_fast_queuecommand"][0].entry.context == "rcu:blk-mq-dispatch"
    assert "demo_slow_queuecommand" not in found
    assert found["demo_console_write"][0].entry.context == "irq:console-write"


def test_a_packet_types_handler_and_a_netfilter_hook_run_atomically():
    """dev_add_pack()'s handler runs in the NET_RX softirq; nf_hook() runs the hooks of a
    registered nf_hook_ops array under rcu_read_lock()."""
    found = entries(("net/demo/proto.c", """
static int demo_rcv(struct sk_buff *skb, struct net_device *dev, struct packet_type *pt, struct net_device *orig) { kmalloc(64, GFP_KERNEL); return 0; }
static struct packet_type demo_packet_type = { .type = 0x88b5, .func = demo_rcv };
static unsigned int demo_in(void *priv, struct sk_buff *skb, const struct nf_hook_state *state) { kmalloc(64, GFP_KERNEL); return 1; }
static unsigned int demo_out(void *priv, struct sk_buff *skb, const struct nf_hook_state *state) { kmalloc(64, GFP_KERNEL); return 1; }
static const struct nf_hook_ops demo_nf_ops[] = {
	{ .hook = demo_in, .pf = 2, .hooknum = 0 },
	{ .hook = demo_out, .pf = 2, .hooknum = 3 },
};
"""))
    assert found["demo_rcv"][0].entry.context == "softirq:packet-type"
    assert found["demo_in"][0].entry.context == "rcu:nf-hook"
    assert found["demo_out"][0].entry.context == "rcu:nf-hook"


def test_an_ax25_protocol_and_an_ibmebus_interrupt_run_atomically():
    """An AX.25 protocol's receive function (NET/ROM's router) runs from the AX.25
    receive path in the NET_RX softirq; ibmebus_request_irq() registers a hard-irq
    handler like request_irq(). A function of the same shape left unregistered is no
    entry point."""
    found = entries(("net/demo_l3/route.c", """
static int demo_route_frame(struct sk_buff *skb, ax25_cb *ax25) { kmalloc(64, GFP_KERNEL); return 0; }
static struct ax25_protocol demo_pid = { .pid = 0xcf, .func = demo_route_frame };
static int demo_unused_frame(struct sk_buff *skb, ax25_cb *ax25) { kmalloc(64, GFP_KERNEL); return 0; }
"""), ("drivers/net/ethernet/demo_ebus/main.c", """
static irqreturn_t demo_qp_irq(int irq, void *param) { kmalloc(64, GFP_KERNEL); return IRQ_HANDLED; }
int demo_up(struct demo_port *port) { return ibmebus_request_irq(port->ist, demo_qp_irq, 0, "demo", port); }
"""))
    assert found["demo_route_frame"][0].entry.context == "softirq:ax25-protocol"
    assert "demo_unused_frame" not in found
    assert found["demo_qp_irq"][0].entry.context == "hardirq"
