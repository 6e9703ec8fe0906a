"""AS001's evidence: a size and a mask that reach a function from two different callers
prove nothing together, and a size only a device's own field width makes large is a note."""

from __future__ import annotations

from types import SimpleNamespace

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import by_id

OPTIONS = SimpleNamespace(min_order=4)


def _as001(path: str, source: str):
    analysis = analyze(link([extract_file(path, source.encode())]), builtin_kernel("6.1"))
    return sorted(by_id()["AS001"].check(analysis, OPTIONS), key=lambda f: f.line)


TWO_CALLERS = """
static unsigned int demo_mtu;
module_param(demo_mtu, uint, 0644);

static void *demo_buf_acquire(unsigned int size, gfp_t gfp)
{
	return kmalloc(size, gfp);
}

static void *demo_build(void)
{
	return demo_buf_acquire(demo_mtu, GFP_KERNEL);
}

static void *demo_key_xmit(void)
{
	return demo_buf_acquire(112, GFP_ATOMIC);
}

static void *demo_buf_acquire2(unsigned int size, gfp_t gfp)
{
	return kmalloc(size, gfp);
}

static void *demo_build2(void)
{
	return demo_buf_acquire2(demo_mtu, GFP_ATOMIC);
}
"""


def test_a_large_size_and_a_non_blocking_mask_from_different_callers_prove_nothing():
    """demo_buf_acquire() gets the user's MTU only with GFP_KERNEL, and GFP_ATOMIC only
    with 112 bytes: no caller makes it request a high order without sleeping. The same
    function called once with both (demo_buf_acquire2) is reported."""
    findings = _as001("drivers/demo/two.c", TWO_CALLERS)
    assert [f.function for f in findings] == ["demo_buf_acquire2"]


THREE_LEVELS = """
static unsigned int demo_order;
module_param(demo_order, uint, 0644);

static void *demo_alloc_folio(gfp_t gfp, unsigned int order)
{
	return alloc_pages(gfp | __GFP_COMP, order);
}

static void *demo_cache_alloc(gfp_t gfp, unsigned int order)
{
	return demo_alloc_folio(gfp, order);
}

static void *demo_readahead(void)
{
	return demo_cache_alloc(GFP_KERNEL, demo_order);
}

static void *demo_dir_iterate(void)
{
	return demo_cache_alloc(0, 0);
}
"""


def test_a_size_and_a_mask_that_part_two_calls_up_prove_nothing():
    """Both come into demo_alloc_folio() through the same call, but from different callers of
    demo_cache_alloc(): the user's order only with GFP_KERNEL, a mask of 0 only with order 0."""
    assert _as001("mm/demo_folio.c", THREE_LEVELS) == []
    together = THREE_LEVELS.replace("demo_cache_alloc(GFP_KERNEL, demo_order)", "demo_cache_alloc(0, demo_order)")
    assert [f.function for f in _as001("mm/demo_folio.c", together)] == ["demo_alloc_folio"]


NIC_RX = """
struct demo_desc { __le32 addr; __le16 len; __le16 status; };

static int demo_poll(struct napi_struct *napi, int budget)
{
	struct demo_priv *priv = container_of(napi, struct demo_priv, napi);
	struct demo_desc *desc = priv->ring + priv->head;
	unsigned int len = le16_to_cpu(desc->len);

	priv->copy = kmalloc(len, GFP_ATOMIC);
	return 0;
}

static void demo_open(struct net_device *dev, struct demo_priv *priv)
{
	netif_napi_add(dev, &priv->napi, demo_poll);
}
"""

GADGET_SETUP = """
static int demo_setup(struct usb_gadget *gadget, const struct usb_ctrlrequest *ctrl)
{
	struct demo_dev *dev = get_gadget_data(gadget);
	u16 w_length = le16_to_cpu(ctrl->wLength);

	dev->buf = kmalloc(w_length, GFP_ATOMIC);
	return 0;
}

static struct usb_gadget_driver demo_driver = {
	.setup = demo_setup,
};
"""


def test_a_size_only_the_devices_field_width_makes_large_is_a_note():
    """A NIC's 16-bit descriptor length allows 64 KiB; a NIC with 1.5 KiB frames never
    reports it: possible, not proven. What a USB host asks a gadget for is the host's to
    choose: the level stands."""
    (nic,) = _as001("drivers/net/ethernet/demo/demo.c", NIC_RX)
    assert nic.level == "note" and nic.properties["deviceControlled"]
    (gadget,) = _as001("drivers/usb/gadget/legacy/demo.c", GADGET_SETUP)
    assert gadget.level != "note" and gadget.properties["deviceControlled"]


GADGET_TARGET = """
static int demo_prepare_bounce(struct demo_cmd *cmd)
{
	struct se_cmd *se_cmd = &cmd->se_cmd;

	cmd->data_buf = kmalloc(se_cmd->data_length, GFP_ATOMIC);
	return cmd->data_buf ? 0 : -ENOMEM;
}

static void demo_target_init(struct se_cmd *se_cmd, u32 data_length)
{
	se_cmd->data_length = data_length;
}
"""


def test_a_gadgets_scsi_transfer_length_is_what_the_host_asked_for():
    """A USB target gadget (f_tcm) bounces a command's data through a GFP_ATOMIC buffer of
    se_cmd->data_length: the host's CBW or CDB sets it, whatever target core stores. On
    the host side of the bus, the same field is the initiator's own: no source."""
    (gadget,) = _as001("drivers/usb/gadget/function/f_demo_tcm.c", GADGET_TARGET)
    assert gadget.level != "note" and gadget.properties["deviceControlled"]
    assert not _as001("drivers/target/demo/demo_fabric.c", GADGET_TARGET)


PER_CPU_HANDLERS = """
static unsigned long demo_handlers[8192];

void demo_setup_cpu(int cpu)
{
	struct page *page = alloc_pages_node(cpu_to_node(cpu), GFP_ATOMIC, get_order(sizeof(demo_handlers)));

	demo_install(page);
}
"""


def test_an_architecture_with_larger_pages_is_not_given_x86_orders():
    """64 KiB is order 4 with 4 KiB pages, order 2 with loongarch's default 16 KiB: in
    loongarch's own files the order computed here is not the one the kernel asks for."""
    (finding,) = _as001("drivers/demo/percpu.c", PER_CPU_HANDLERS)
    assert finding.properties["maxOrder"] == 4
    assert _as001("arch/loongarch/mm/demo.c", PER_CPU_HANDLERS) == []
    assert len(_as001("arch/arm64/mm/demo.c", PER_CPU_HANDLERS)) == 1  # 4 KiB pages by default


CONTEXT_OF_ANOTHER_CALLER = """
static unsigned int demo_big;
module_param(demo_big, uint, 0644);

static void *demo_buf_alloc(unsigned int size)
{
	return kmalloc(size + 32, GFP_ATOMIC);
}

void demo_poll_locked(struct demo *d)
{
	spin_lock(&d->lock);
	demo_buf_alloc(16);
	spin_unlock(&d->lock);
}

void *demo_read(void)
{
	return demo_buf_alloc(demo_big);
}
"""


def test_no_context_is_shown_from_another_caller_than_the_sizes():
    """tty_buffer_alloc(): hvc's poll holds a lock and asks for 16 bytes; the large size
    comes from another driver's read path. The finding stands on the size and its own
    GFP_ATOMIC; the lock of the small caller is not shown as its context. When the
    caller bringing the size is the one holding a lock, it is."""
    (f,) = _as001("drivers/tty/demo/buf.c", CONTEXT_OF_ANOTHER_CALLER)
    assert "spin_lock" not in f.message and not any(st.kind == "acquire" for st in f.witness)
    same = CONTEXT_OF_ANOTHER_CALLER.replace("return demo_buf_alloc(demo_big);",
                                             "void *p;\n\tspin_lock(&demo_lock);\n\tp = demo_buf_alloc(demo_big);\n"
                                             "\tspin_unlock(&demo_lock);\n\treturn p;")
    same = same.replace("\tspin_lock(&d->lock);\n\tdemo_buf_alloc(16);\n\tspin_unlock(&d->lock);",
                        "\tdemo_buf_alloc(16);")
    (g,) = _as001("drivers/tty/demo/buf.c", same)
    assert "spin_lock" in g.message and any(st.kind == "acquire" for st in g.witness)


MASK_BY_CONTEXT = """
struct demo_hdr { __le32 data_length; };
struct demo_port { spinlock_t lock; };

static void *demo_append_event(u32 length)
{
	return kmalloc(64 + length, in_interrupt() ? GFP_ATOMIC : GFP_KERNEL);
}

static int demo_rx_thread(void *arg)
{
	struct sk_buff *skb = demo_dequeue(arg);
	struct demo_hdr *hdr = (struct demo_hdr *)skb->data;

	demo_append_event(le32_to_cpu(hdr->data_length));
	return 0;
}

static irqreturn_t demo_irq(int irq, void *data)
{
	struct sk_buff *skb = demo_dequeue(data);
	struct demo_hdr *hdr = (struct demo_hdr *)skb->data;

	demo_append_event(le32_to_cpu(hdr->data_length));
	return IRQ_HANDLED;
}

int demo_probe(struct demo_port *port, int irq)
{
	kthread_run(demo_rx_thread, port, "demo_rx");
	return request_irq(irq, demo_irq, 0, "demo", port);
}
"""


def test_a_mask_chosen_by_a_context_test_needs_an_atomic_context():
    """`in_interrupt() ? GFP_ATOMIC : GFP_KERNEL` is GFP_ATOMIC only where the function
    runs atomically: with a device's length from a kthread only, nothing; with an
    interrupt handler calling it too, the finding."""
    without_irq = MASK_BY_CONTEXT.replace('return request_irq(irq, demo_irq, 0, "demo", port);', "return 0;")
    assert without_irq != MASK_BY_CONTEXT
    assert _as001("drivers/net/wwan/demo/fsm.c", without_irq) == []
    found = _as001("drivers/net/wwan/demo/fsm.c", MASK_BY_CONTEXT)
    assert [f.line for f in found] == [7]


SIZES = """
struct demo_event {
	u32 header;
	u8 table[35140];
};

static unsigned int demo_rx_size = 32768;
module_param(demo_rx_size, uint, 0644);

static void demo_event_irq(void)
{
	struct demo_event *ev = kzalloc(sizeof(*ev), GFP_ATOMIC);
	kfree(ev);
}

static void demo_refill(void)
{
	unsigned int len = clamp(demo_rx_size, 32768u, 131072u);
	void *buf = kmalloc(len, GFP_ATOMIC);
	kfree(buf);
}

static void demo_small_to_large(void)
{
	unsigned int len = min(demo_rx_size, 131072u);
	void *buf = kmalloc(len, GFP_ATOMIC);
	kfree(buf);
}
"""


def test_the_message_says_a_fixed_size_once_and_a_range_from_its_smallest():
    """A fixed size is one number and a request, not "may request ... up to"; a range
    whose smallest size already goes to the page allocator says where it starts; any
    other range says how far it reaches."""
    by_function = {f.function: f.message for f in _as001("drivers/demo/sizes.c", SIZES)}
    assert by_function["demo_event_irq"].startswith(
        "'kzalloc' requests order 4 (64 KiB) with GFP_ATOMIC, which cannot sleep: size 35144 bytes")
    assert "may request order 5 (128 KiB)" in by_function["demo_refill"]
    assert "size 32 KiB to 128 KiB" in by_function["demo_refill"]
    assert "may request order 5 (128 KiB)" in by_function["demo_small_to_large"]
    assert "size up to 128 KiB" in by_function["demo_small_to_large"]
