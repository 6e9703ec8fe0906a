"""Link: call resolution by file scope, by architecture, and by ops-struct binding."""

from __future__ import annotations

from allocscan.extract import extract_file
from allocscan.link import link


def program(*files: tuple[str, str]):
    return link([extract_file(path, text.encode()) for path, text in files])


def targets_of(prog, path: str, fn_name: str, callee: str) -> list[str]:
    ff = prog.file(path)
    fn = next(f for f in ff.functions if f.name == fn_name)
    site = next(s for s in fn.calls if s.callee == callee)
    return prog.targets(site, path)


def test_a_static_function_wins_over_a_global_of_the_same_name():
    prog = program(("drv/a.c", "static int helper(void) { return 0; }\nint f(void) { return helper(); }\n"),
                   ("drv/b.c", "int helper(void) { return 1; }\n"))
    assert targets_of(prog, "drv/a.c", "f", "helper") == ["drv/a.c::helper"]


def test_calls_link_within_one_architecture():
    """powerpc code never calls hexagon's ioremap(); generic code sees the target's (x86)."""
    files = [
        ("arch/powerpc/mm/ioremap.c", "void *ioremap(long a, long s) { return 0; }\n"),
        ("arch/hexagon/mm/ioremap.c", "void *ioremap(long a, long s) { return 0; }\n"),
        ("arch/x86/mm/ioremap.c", "void *ioremap(long a, long s) { return 0; }\n"),
        ("arch/powerpc/platforms/board.c", "void restart(void) { ioremap(1, 2); }\n"),
        ("drivers/misc/dev.c", "void probe(void) { ioremap(1, 2); }\n"),
        ("arch/arm/only.c", "void arm_only(void) { }\n"),
        ("drivers/misc/other.c", "void g(void) { arm_only(); }\n"),
    ]
    prog = program(*files)
    assert targets_of(prog, "arch/powerpc/platforms/board.c", "restart", "ioremap") == \
        ["ioremap@arch/powerpc/mm/ioremap.c:1"]
    assert targets_of(prog, "drivers/misc/dev.c", "probe", "ioremap") == ["ioremap@arch/x86/mm/ioremap.c:1"]
    assert targets_of(prog, "drivers/misc/other.c", "g", "arm_only") == []


def test_callers_are_found_from_the_call_sites():
    prog = program(("drv/a.c", "void leaf(void) { }\nvoid mid(void) { leaf(); kfree(0); }\n"
                               "void top(void) { mid(); mid(); }\n"))
    assert [(caller, site.line) for caller, site in prog.callers("mid")] == [("top", 3), ("top", 3)]
    assert list(prog.graph.successors("top")) == ["mid"]
    assert type(prog.graph._succ["top"]).__name__ == "_FewCalls"  # link() compacts the graph
    # a function that calls nothing gets no edges: nothing flows on from it
    assert list(prog.graph.predecessors("leaf")) == []
    assert prog.targets(prog.file("drv/a.c").functions[1].calls[0], "drv/a.c") == ["leaf"]


def test_a_field_name_bound_in_several_struct_types_is_not_resolved_by_name():
    prog = program(("net/demo/mpc.c", """
static int demo_ioctl_send(struct atm_vcc *vcc, struct sk_buff *skb) { return 0; }
static const struct atmdev_ops demo_ops = { .send = demo_ioctl_send };
static void demo_xmit(struct demo_entry *entry, struct sk_buff *skb) { entry->shortcut->send(entry->shortcut, skb); }
static void demo_kick(struct demo *d) { d->ops->kick(d); }
static void demo_kick_impl(struct demo *d) { }
static void demo_setup(struct demo *d) { d->ops->kick = demo_kick_impl; }
"""), ("net/other/proto.c", """
static int other_send(struct socket *s, struct msghdr *m, size_t n) { return 0; }
static const struct proto_ops other_ops = { .send = other_send };
"""))
    ff = prog.file("net/demo/mpc.c")
    xmit = next(f for f in ff.functions if f.name == "demo_xmit")
    kick = next(f for f in ff.functions if f.name == "demo_kick")
    assert prog.targets(xmit.calls[0], ff.path) == []
    assert prog.targets(kick.calls[0], ff.path) == ["net/demo/mpc.c::demo_kick_impl"]


def test_names_are_found_in_the_drivers_own_tree():
    """iwlwifi/mvm/x.c reads an enum from iwlwifi/fw/api/y.h: not a parent directory, same driver."""
    prog = program(
        ("drivers/net/wireless/demo/fw/api/dbg.h", "enum demo_tp { DEMO_TP_EARLY = 1, DEMO_TP_MISSED = 7 };\n"),
        ("drivers/net/wireless/demo/mvm/rx.c", "void f(void) { }\n"),
    )
    found = prog.lookup("enums", "DEMO_TP_MISSED", "drivers/net/wireless/demo/mvm/rx.c")
    assert found is not None and found[0] == "drivers/net/wireless/demo/fw/api/dbg.h"


def test_the_nearest_definition_wins_for_inlines_and_ops():
    prog = program(
        ("drivers/staging/r8/usb_ops.c", "u32 rtw_read32(struct adapter *a, u32 addr) { return usb_read(a, addr); }\n"),
        ("drivers/net/wireless/realtek/rtw88/hci.h",
         "static inline u32 rtw_read32(struct rtw_dev *d, u32 addr) { return d->hci.ops->read32(d, addr); }\n"),
        ("drivers/net/wireless/realtek/rtw88/pci.c", "void irq(struct rtw_dev *d) { rtw_read32(d, 4); }\n"),
        ("drivers/media/pci/b2/flexcop-pci.c", """
static int pci_read_ibi(struct flexcop_device *fc, int r) { return readl(fc->base + r); }
static void pci_setup(struct flexcop_device *fc) { fc->read_ibi_reg = pci_read_ibi; }
static void pci_isr(struct flexcop_device *fc) { fc->read_ibi_reg(fc, 0); }
"""),
        ("drivers/media/usb/b2/flexcop-usb.c", """
static int usb_read_ibi(struct flexcop_device *fc, int r) { return usb_control_msg(fc->udev, r); }
static void usb_setup(struct flexcop_device *fc) { fc->read_ibi_reg = usb_read_ibi; }
"""),
    )
    assert targets_of(prog, "drivers/net/wireless/realtek/rtw88/pci.c", "irq", "rtw_read32") == \
        ["drivers/net/wireless/realtek/rtw88/hci.h::rtw_read32"]
    ff = prog.file("drivers/media/pci/b2/flexcop-pci.c")
    isr = next(f for f in ff.functions if f.name == "pci_isr")
    assert prog.targets(isr.calls[0], ff.path) == ["drivers/media/pci/b2/flexcop-pci.c::pci_read_ibi"]


def test_another_drivers_global_does_not_shadow_a_shared_inline():
    prog = program(
        ("include/net/mac80211.h", "static inline void ieee80211_rx(struct ieee80211_hw *hw, struct sk_buff *skb) "
                                   "{ ieee80211_rx_napi(hw, skb); }\n"),
        ("drivers/staging/rtl/ieee80211_rx.c", "int ieee80211_rx(struct ieee80211_device *d, struct sk_buff *s) "
                                               "{ return 0; }\n"),
        ("drivers/net/wireless/ath/rx.c", "void rx_tasklet(struct ath *a) { ieee80211_rx(a->hw, a->skb); }\n"),
        ("drivers/staging/rtl/r.c", "void rtl_rx(struct ieee80211_device *d) { ieee80211_rx(d, 0); }\n"),
    )
    assert targets_of(prog, "drivers/net/wireless/ath/rx.c", "rx_tasklet", "ieee80211_rx") == \
        ["include/net/mac80211.h::ieee80211_rx"]
    assert targets_of(prog, "drivers/staging/rtl/r.c", "rtl_rx", "ieee80211_rx") == ["ieee80211_rx"]


def test_a_subsystems_global_is_linked_over_its_config_stub():
    """A header's inline under `#ifdef CONFIG_...`'s other branch is what a kernel
    without the subsystem compiles: a driver elsewhere under drivers/ calls the
    subsystem's global, which a kernel with it links (st-asc's devm_gpiod_get())."""
    header = """#ifdef CONFIG_GPIOLIB
struct gpio_desc *devm_gpiod_get(struct device *dev, const char *id, int flags);
#else
static inline struct gpio_desc *devm_gpiod_get(struct device *dev, const char *id, int flags)
{ return ERR_PTR(-ENOSYS); }
#endif
"""
    prog = program(
        ("include/linux/gpio/consumer.h", header),
        ("drivers/gpio/gpiolib-devres.c", "struct gpio_desc *devm_gpiod_get(struct device *dev, const char *id, "
                                          "int flags) { return devres_alloc(0, 8, GFP_KERNEL); }\n"),
        ("drivers/tty/serial/ser.c", "void ser_termios(struct uart_port *p) { devm_gpiod_get(p->dev, 0, 0); }\n"),
    )
    assert targets_of(prog, "drivers/tty/serial/ser.c", "ser_termios", "devm_gpiod_get") == ["devm_gpiod_get"]
    # the stub is still what a kernel without CONFIG_GPIOLIB compiles: not the
    # unconditional inline of the test above, which shadows the other driver's global
    assert prog.resolver.config_stubs == {"include/linux/gpio/consumer.h::devm_gpiod_get"}


def test_an_indirect_call_reaches_only_functions_of_its_arity():
    """`ci->platdata->hub_control(8 args)` is not the file's 6-parameter hc_driver.hub_control."""
    prog = program(("drivers/usb/ci/host.c", """
static int ci_hub_control(struct usb_hcd *hcd, u16 a, u16 b, u16 c, char *buf, u16 len)
{
	return ci->platdata->hub_control(ci, a, b, c, buf, len, &done, &flags);
}
static void ci_setup(struct hc_driver *drv) { drv->hub_control = ci_hub_control; }
static void ci_call(struct demo *d) { d->drv->hub_control(d->hcd, 1, 2, 3, NULL, 0); }
"""))
    ff = prog.file("drivers/usb/ci/host.c")
    by_name = {f.name: f for f in ff.functions}
    assert prog.targets(by_name["ci_hub_control"].calls[0], ff.path) == []
    assert prog.targets(by_name["ci_call"].calls[0], ff.path) == ["drivers/usb/ci/host.c::ci_hub_control"]


def test_a_sanitizer_runtime_loses_to_the_headers_stub():
    """mm/kmsan/ is built only into KMSAN kernels; others link include/linux/kmsan.h's inline."""
    prog = program(
        ("include/linux/kmsan.h", "static inline int kmsan_ioremap_page_range(unsigned long s) { return 0; }\n"
                                  "static inline void kmsan_poison(void *p) { }\n"),
        ("mm/kmsan/hooks.c", "int kmsan_ioremap_page_range(unsigned long s) { return alloc_pages(GFP_KERNEL, 0) != 0; }\n"),
        ("mm/slab.c", "void kmsan_poison(void *p) { memset(p, 0, 8); }\n"),
        ("mm/vmalloc.c", "int vmap_range(unsigned long s) { kmsan_poison(0); return kmsan_ioremap_page_range(s); }\n"),
    )
    assert targets_of(prog, "mm/vmalloc.c", "vmap_range", "kmsan_ioremap_page_range") == \
        ["include/linux/kmsan.h::kmsan_ioremap_page_range"]
    assert targets_of(prog, "mm/vmalloc.c", "vmap_range", "kmsan_poison") == ["kmsan_poison"]  # not a sanitizer's


def test_an_indirect_call_by_field_name_is_not_the_caller_itself():
    """cxl's slot_reset handler calls each AFU driver's `err_handler->slot_reset()`."""
    prog = program(("drivers/misc/demo/pci.c", """
static int demo_slot_reset(struct pci_dev *pdev)
{
	return err_handler->slot_reset(afu_dev);
}
static int demo_other(struct pci_dev *pdev) { return err_handler->slot_reset(pdev); }
static const struct pci_error_handlers demo_err = { .slot_reset = demo_slot_reset };
"""))
    ff = prog.file("drivers/misc/demo/pci.c")
    by_name = {f.name: f for f in ff.functions}
    assert prog.targets(by_name["demo_slot_reset"].calls[0], ff.path) == []
    assert prog.targets(by_name["demo_other"].calls[0], ff.path) == ["drivers/misc/demo/pci.c::demo_slot_reset"]


def test_chained_calls_through_pointers_resolve_each_to_its_own_field():
    """`d->ops->get(d)->put(x)`: both calls start at the same byte; each keeps its targets."""
    prog = program(("drv/chain.c", """
struct demo_obj;
static struct demo_obj *demo_get(struct demo *d) { return kmalloc(8, GFP_KERNEL); }
static void demo_put(struct demo_obj *o) { demo_release(o); }
static const struct demo_ops demo_ops = { .get = demo_get };
static const struct demo_obj_ops demo_obj_ops = { .put = demo_put };
static void demo_use(struct demo *d) { d->ops->get(d)->put(d); }
"""))
    ff = prog.file("drv/chain.c")
    use = next(f for f in ff.functions if f.name == "demo_use")
    by_field = {site.field: prog.targets(site, ff.path) for site in use.calls}
    assert by_field == {"get": ["drv/chain.c::demo_get"], "put": ["drv/chain.c::demo_put"]}
    assert set(prog.graph.successors("drv/chain.c::demo_use")) == {"drv/chain.c::demo_get", "drv/chain.c::demo_put"}


def test_a_static_defined_under_two_ifdef_branches_is_called_by_position():
    prog = program(("drv/two.c", """
#ifdef CONFIG_A
static int helper(void) { return demo_one(); }
static int first(void) { return helper(); }
#else
static int helper(void) { return demo_two(); }
static int second(void) { return helper(); }
#endif
"""))
    assert targets_of(prog, "drv/two.c", "first", "helper") == ["drv/two.c::helper"]
    assert targets_of(prog, "drv/two.c", "second", "helper") == ["drv/two.c::helper@6"]
    assert list(prog.graph.predecessors("drv/two.c::helper@6")) == ["drv/two.c::second"]


def test_a_name_nothing_nearer_defines_is_found_through_the_includes():
    """um's irq.c includes <irq_user.h>, which arch/um/include/shared provides; a display
    header reaches its array bound two includes down (`"../inc/hw/shared.h"`). Another
    driver's header of the same name, or one the file does not include, is not read."""
    prog = program(
        ("arch/um/include/shared/irq_user.h", "enum um_irq_type { IRQ_READ, IRQ_WRITE, NUM_IRQ_TYPES };\n"),
        ("arch/um/kernel/irq.c", "#include <irq_user.h>\nint n = NUM_IRQ_TYPES;\n"),
        ("drivers/gpu/demo/display/dc/inc/hw/shared.h", "#define DEMO_MAX_DWB_PIPES 1\n"),
        ("drivers/gpu/demo/display/dc/inc/core.h", '#include "hw/shared.h"\n'),
        ("drivers/gpu/demo/display/dc/stream.h", '#include "inc/core.h"\n'),
        ("drivers/gpu/demo/display/dc/stream.c", '#include "stream.h"\n'),
        ("drivers/net/other/shared.h", "#define DEMO_ONLY_THERE 7\n"),
        ("drivers/net/mine/a.c", '#include "shared.h"\n#include <linux/demo.h>\n'),
        ("drivers/net/mine/b.c", "int x;\n"),
        ("drivers/net/mine/elsewhere/unrelated.h", "#define DEMO_UNINCLUDED 3\n"),
    )
    assert prog.lookup("enums", "NUM_IRQ_TYPES", "arch/um/kernel/irq.c")[0] == "arch/um/include/shared/irq_user.h"
    assert prog.lookup("defines", "DEMO_MAX_DWB_PIPES", "drivers/gpu/demo/display/dc/stream.c") == \
        ("drivers/gpu/demo/display/dc/inc/hw/shared.h", "1")
    # (a tree this small shares every header by name: ask the include resolution itself)
    assert prog._included_file('"shared.h', "drivers/net/mine/a.c") is None
    assert prog._included_file("<linux/demo.h", "drivers/net/mine/a.c") is None
    assert prog._through_includes("defines", "DEMO_UNINCLUDED", prog.file("drivers/net/mine/a.c")) is None


def test_an_indirect_call_through_a_member_resolves_by_the_members_struct_type():
    """`dev->queue_ops->alloc(...)`: the receiver's type is that of struct demo_dev's member
    (defined in a header), so the call reaches the file binding demo_queue_ops.alloc,
    and not another ops struct's `.alloc` of the same arity."""
    prog = program(
        ("drivers/net/demo/demo.h", """
struct demo_queue_ops { int (*alloc)(struct demo_dev *dev, int n); };
struct demo_pool_ops { int (*alloc)(struct demo_dev *dev, int n); };
struct demo_dev { const struct demo_queue_ops *queue_ops; struct demo_hw hw; };
struct demo_hw { struct demo_pool_ops *pool; };
"""),
        ("drivers/net/demo/dma.c", """
static int demo_dma_alloc_queue(struct demo_dev *dev, int n) { dev->size = n; return 0; }
static const struct demo_queue_ops demo_dma_ops = { .alloc = demo_dma_alloc_queue };
"""),
        ("drivers/net/demo/pool.c", """
static int demo_pool_alloc(struct demo_dev *dev, int n) { dev->pool_size = n; return 0; }
static const struct demo_pool_ops demo_pool_ops = { .alloc = demo_pool_alloc };
"""),
        ("drivers/net/demo/main.c", """
static int demo_init_queue(struct demo_dev *dev) { return dev->queue_ops->alloc(dev, 2048); }
static int demo_init_pool(struct demo_dev *dev) { return dev->hw.pool->alloc(dev, 16); }
static int demo_unknown(struct demo_dev *dev) { return demo_lookup(dev)->alloc(dev, 1); }
"""))
    ff = prog.file("drivers/net/demo/main.c")
    by_name = {f.name: f for f in ff.functions}
    assert prog.targets(by_name["demo_init_queue"].calls[0], ff.path) == \
        ["drivers/net/demo/dma.c::demo_dma_alloc_queue"]
    assert prog.targets(by_name["demo_init_pool"].calls[0], ff.path) == ["drivers/net/demo/pool.c::demo_pool_alloc"]
    unknown = next(c for c in by_name["demo_unknown"].calls if c.field == "alloc")
    assert prog.targets(unknown, ff.path) == []  # a call's result: no type, no guess


def test_another_subsystems_ops_through_a_member_are_not_guessed():
    """A line discipline's `tty->ops->write()` writes to whatever tty it is attached to:
    the nearest driver binding tty_operations.write (a NIC's GNSS tty) is not its target."""
    prog = program(
        ("include/linux/tty.h", """
struct tty_operations { int (*write)(struct tty_struct *tty, const unsigned char *buf, int count); };
struct tty_struct { const struct tty_operations *ops; };
"""),
        ("drivers/net/ethernet/demo/gnss.c", """
static int demo_gnss_write(struct tty_struct *tty, const unsigned char *buf, int count) { return count; }
static const struct tty_operations demo_gnss_ops = { .write = demo_gnss_write };
"""),
        ("drivers/tty/demo_serial.c", """
static int demo_uart_write(struct tty_struct *tty, const unsigned char *buf, int count) { return count; }
static const struct tty_operations demo_uart_ops = { .write = demo_uart_write };
"""),
        ("drivers/net/slip/demo_slip.c", """
static void demo_transmit(struct tty_struct *tty) { tty->ops->write(tty, NULL, 0); }
"""))
    ff = prog.file("drivers/net/slip/demo_slip.c")
    call = next(c for c in ff.functions[0].calls if c.field == "write")
    assert prog.targets(call, ff.path) == []


def test_the_call_graph_carries_no_attributes():
    """Nodes and edges share one empty attribute dict (627,000 nodes and 1.44 million
    edges in a whole tree): setting an attribute is refused rather than shared."""
    import pytest

    prog = program(("drv/a.c", "void leaf(void) { }\nvoid mid(void) { leaf(); }\nvoid top(void) { mid(); }\n"))
    assert dict(prog.graph.nodes["top"]) == {} and dict(prog.graph.edges["top", "mid"]) == {}
    assert prog.graph.edges["top", "mid"] is prog.graph.nodes["mid"]
    with pytest.raises(TypeError):
        prog.graph.add_edge("top", "mid", ambiguous=True)
    with pytest.raises(TypeError):
        prog.graph.nodes["top"]["seen"] = True


def test_a_files_defines_are_unpacked_only_when_it_may_define_the_name(monkeypatch):
    """A look-up reads the #define tables of the files whose name hashes say they define
    the name, not every table of the directories it walks; a table read goes back to
    its packed form once newer ones push it out of the window, and reads the same."""
    from allocscan import facts as facts_module

    monkeypatch.setattr(facts_module, "_DEFINES_UNPACKED", facts_module._RecentlyUnpacked(2), raising=False)
    headers = [(f"drivers/net/demo/regs{i}.h", f"#define DEMO_REG{i} {i * 4}\n#define DEMO_MASK{i} 0xff\n")
               for i in range(8)]
    prog = program(*headers, ("drivers/net/demo/main.c", "int f(void) { return DEMO_REG5; }\n"),
                   ("include/linux/demo_shared.h", "#define DEMO_SHARED_LEN 64\n"),
                   ("drivers/net/demo/enum.h", "enum demo_q {\n\tDEMO_Q_A,\n\t__DEMO_Q_MAX\n"
                                               "#define DEMO_Q_MAX __DEMO_Q_MAX\n};\n"))
    unpacked = lambda: sorted(ff.path for ff in prog.files if type(ff.packed_defines) is dict and ff.packed_defines)  # noqa: E731
    assert prog.lookup("defines", "DEMO_REG5", "drivers/net/demo/main.c") == ("drivers/net/demo/regs5.h", "20")
    assert unpacked() == ["drivers/net/demo/regs5.h"]
    # a #define the grammar leaves in an enum's body is hashed too: found, from its directory
    assert prog.lookup("defines", "DEMO_Q_MAX", "drivers/net/demo/main.c") == ("drivers/net/demo/enum.h",
                                                                              "__DEMO_Q_MAX")
    assert prog.lookup("defines", "DEMO_SHARED_LEN", "drivers/net/demo/main.c")[1] == "64"
    assert "drivers/net/demo/regs5.h" not in unpacked()  # out of the window of two
    assert prog.lookup("defines", "DEMO_MASK5", "drivers/net/demo/main.c") == ("drivers/net/demo/regs5.h", "0xff")
    assert prog.lookup("defines", "DEMO_NOWHERE", "drivers/net/demo/main.c") is None


def test_the_call_graph_is_built_as_networkx_would_build_it():
    """CallGraph.add_functions()/add_calls() fill the adjacency directly: the same nodes,
    edges and adjacency order (which fixes the order of every walk over callers) as
    networkx's add_nodes_from()/add_edges_from(), repeated edges included."""
    import networkx as nx

    from allocscan.link import CallGraph

    nodes = ["a", "b", "c", "d"]
    edges = [("c", "a"), ("a", "b"), ("c", "b"), ("a", "b"), ("b", "c"), ("d", "d")]
    fast = CallGraph()
    fast.add_functions(nodes)
    fast.add_calls(edges)
    slow = nx.DiGraph()
    slow.add_nodes_from(nodes)
    slow.add_edges_from(edges)
    assert list(fast.nodes) == list(slow.nodes)
    assert list(fast.edges) == list(slow.edges)
    for n in nodes:
        assert list(fast.predecessors(n)) == list(slow.predecessors(n))
        assert list(fast.successors(n)) == list(slow.successors(n))


def test_the_call_graphs_nodes_are_its_adjacencys_keys():
    """`_node` reads `_succ` (no dict of its own repeating 627,000 keys): networkx's
    node API, its own add and remove, and a pickle round trip see the same nodes."""
    import pickle

    import networkx as nx
    import pytest

    from allocscan.link import CallGraph

    graph, plain = CallGraph(), nx.DiGraph()
    for g in graph, plain:
        g.add_nodes_from(["a", "b"])
        g.add_edge("b", "c")
        g.add_node("d")
        g.remove_node("a")
    assert type(graph._node) is not dict and graph._node == plain._node
    assert list(graph.nodes) == list(plain.nodes) == ["b", "c", "d"] and graph.number_of_nodes() == 3
    assert "c" in graph and "a" not in graph and dict(graph.nodes["c"]) == {} and list(graph.nodes(data=True))
    with pytest.raises(KeyError):
        graph.nodes["a"]
    copy = pickle.loads(pickle.dumps(graph))
    copy.add_edge("d", "e")
    assert list(copy.nodes) == ["b", "c", "d", "e"] and list(graph.nodes) == ["b", "c", "d"]
    assert copy._node._succ is copy._succ


def test_functions_without_callees_or_callers_share_one_empty_adjacency():
    """A function that calls nothing, or that nothing calls, has the one shared NO_CALLS
    as that adjacency (a kept program pickles it as that one object); a call added
    gives the function a dict of its own, and networkx's add_edge() cannot add to it."""
    import pickle

    import pytest

    from allocscan.link import NO_CALLS, CallGraph

    graph = CallGraph()
    graph.add_functions(["a", "b", "c"])
    graph.add_calls([("a", "b")])
    assert graph._succ["b"] is NO_CALLS and graph._succ["c"] is NO_CALLS and graph._pred["a"] is NO_CALLS
    assert dict(graph._succ["a"]) == {"b": {}} and list(graph.predecessors("b")) == ["a"] and not NO_CALLS
    graph.add_calls([("c", "a")])
    assert list(graph.successors("c")) == ["a"] and list(graph.predecessors("a")) == ["c"]
    assert graph._succ["b"] is NO_CALLS and not NO_CALLS
    read = pickle.loads(pickle.dumps(graph))
    assert read._succ["b"] is NO_CALLS and list(read.edges) == list(graph.edges)
    with pytest.raises(TypeError):
        graph.add_edge("b", "c")
    assert not NO_CALLS


def test_few_callees_or_callers_are_a_tuple_networkx_reads_as_a_dict():
    """After compact(), a function's callees or callers, when at most MAX_FEW_CALLS, are
    a tuple that networkx's views read as the adjacency dict; more stay a dict. An edge
    changed gives the function a dict of its own, and compact_changed() a tuple again."""
    import pickle

    import pytest

    from allocscan.link import MAX_FEW_CALLS, NO_CALLS, CallGraph

    many = [f"f{i}" for i in range(MAX_FEW_CALLS + 1)]
    graph = CallGraph()
    graph.add_functions(["a", "b", "c", "hub", *many])
    graph.add_calls([("a", "b"), ("a", "c"), *(("hub", f) for f in many), *((f, "c") for f in many)])
    graph.compact()
    assert type(graph._succ["a"]) is not dict and type(graph._succ["hub"]) is dict
    assert type(graph._pred["c"]) is dict and type(graph._pred["b"]) is not dict
    assert list(graph.successors("a")) == ["b", "c"] and list(reversed(graph._succ["a"])) == ["c", "b"]
    assert graph.has_edge("a", "c") and not graph.has_edge("c", "a") and graph.in_degree("b") == 1
    assert graph["a"]["b"] == {} and dict(graph.edges["a", "c"]) == {} and graph._succ["a"].get("x", 5) == 5
    with pytest.raises(KeyError):
        graph["a"]["x"]
    assert graph._succ["a"] == {"c": {}, "b": {}} and graph._succ["a"] != {"b": {}}
    assert sorted(graph.edges("a")) == [("a", "b"), ("a", "c")] and graph.number_of_edges() == 2 + 2 * len(many)
    read = pickle.loads(pickle.dumps(graph))
    assert list(read.edges) == list(graph.edges) and type(read._succ["a"]) is type(graph._succ["a"])
    assert read._succ["a"] == graph._succ["a"] and read._succ == graph._succ and read._pred == graph._pred
    with pytest.raises(TypeError):
        graph._succ["a"][0] = 1  # immutable
    del graph.calls_to_change(graph._succ, "a")["b"]
    del graph.calls_to_change(graph._pred, "b")["a"]
    del graph.calls_to_change(graph._pred, "c")[many[0]]
    del graph.calls_to_change(graph._pred, "c")[many[1]]
    assert type(graph._succ["a"]) is dict and list(graph.successors("a")) == ["c"]
    graph.compact_changed()
    assert type(graph._succ["a"]) is not dict and list(graph.successors("a")) == ["c"]
    assert graph._pred["b"] is NO_CALLS  # no caller left: the shared empty adjacency
    assert type(graph._pred["c"]) is not dict and list(graph._pred["c"]) == ["a", *many[2:]]


def test_a_function_storing_to_several_fields_is_one_writer_pair():
    """field_writers lists (path, function) per field stored to, in file order; a
    function storing to several fields is the one pair in each list."""
    prog = program(("drv/demo.c", "struct demo { int a; int b; };\n"
                                  "static struct demo cfg = { .a = 1 };\n"
                                  "void set(struct demo *d) { d->a = 2; d->b = 3; }\n"
                                  "void other(struct demo *d) { d->b = 4; }\n"))
    a, b = prog.field_writers[("demo", "a")], prog.field_writers[("demo", "b")]
    assert [(p, fn and fn.name) for p, fn in a] == [("drv/demo.c", None), ("drv/demo.c", "set")]
    assert [(p, fn.name) for p, fn in b] == [("drv/demo.c", "set"), ("drv/demo.c", "other")]
    assert a[1] is b[0]


def test_an_ops_field_bound_by_many_drivers_resolves_to_the_nearest_few():
    """`x->op()` on a typed receiver reaches the functions bound to that struct's field
    nearest to the caller (the longest shared directory), as _nearest_definitions()
    ranks them, and none when the nearest are more than MAX_FIELD_CANDIDATES."""
    from allocscan.link import _nearest_definitions

    def driver(path: str, fn: str) -> tuple[str, str]:
        return (path, f"static int {fn}(struct demo_dev *d) {{ return 0; }}\n"
                      f"static const struct demo_ops {fn}_ops = {{ .start = {fn} }};\n")

    bound = [driver(f"drivers/demo/vendor{i}/dev.c", f"v{i}_start") for i in range(6)]
    bound += [driver("drivers/demo/vendor0/extra.c", "v0_extra_start"),
              driver("drivers/other/far/dev.c", "far_start")]
    callers = {"drivers/demo/vendor0/core.c": None, "drivers/demo/vendor3/sub/core.c": None,
               "drivers/demo/core.c": None, "net/core/x.c": None}
    caller_files = [(p, "int demo_run(struct demo_ops *ops, struct demo_dev *d) { return ops->start(d); }\n"
                        .replace("demo_run", "run_" + p.replace("/", "_").replace(".", "_")))
                    for p in callers]
    prog = program(*bound, *caller_files)
    typed = {n for n in prog.functions if n.endswith("_start")}
    for path in callers:
        ff = prog.file(path)
        site = ff.functions[0].calls[0]
        locations = {n: prog.functions[n].path for n in typed}
        expected = _nearest_definitions(sorted(typed), path, locations)
        expected = expected if len(expected) <= 4 else []
        assert prog.targets(site, path) == expected, path
    # the nearest group of each: vendor0's two, vendor3's one, none (8 equally near) twice
    assert [len(prog.targets(prog.file(p).functions[0].calls[0], p)) for p in callers] == [2, 1, 0, 0]


def test_each_definition_finds_its_own_node():
    """A function's node is found from its facts however _define() named it: a static
    (`path::name`, a second one under another #ifdef branch by its line), a global
    defined once (its name) or in several files (`name@path:line`); a function of
    another program has none."""
    prog = program(("drv/two.c", "#ifdef CONFIG_A\nstatic int helper(void) { return 0; }\n#else\n"
                                 "static int helper(void) { return 1; }\n#endif\nint only(void) { return 2; }\n"),
                   ("arch/x86/probe.c", "int probe(void) { return 0; }\n"),
                   ("arch/arm/probe.c", "int probe(void) { return 1; }\n"))
    found = {prog.node_for(ref.fn, ref.file.path) for ref in prog.functions.values()}
    assert found == set(prog.functions) == {"drv/two.c::helper", "drv/two.c::helper@4", "only",
                                           "probe@arch/x86/probe.c:1", "probe@arch/arm/probe.c:1"}
    assert all(prog.node_for(ref.fn, "another/path.c") == node for node, ref in prog.functions.items())
    assert prog.by_name["probe"] == ("probe@arch/x86/probe.c:1", "probe@arch/arm/probe.c:1")  # tuples: see _define()
    other = program(("drv/two.c", "static int helper(void) { return 0; }\n"))
    stranger = other.file("drv/two.c").functions[0]
    assert prog.find_node(stranger, "drv/two.c") is None


def test_edges_hold_each_functions_own_node_string():
    """An edge names its functions by the keys of `functions` themselves, not equal
    strings made again: a kept program pickles each node once (6.1: 17 MB more when not)."""
    prog = program(("drv/a.c", "static int helper(void) { return demo_one(); }\n"
                               "int entry(void) { return helper() + shared(); }\n"),
                   ("drv/b.c", "int shared(void) { return demo_two(); }\nstatic int b_caller(void) { return shared(); }\n"))
    keys = {id(node) for node in prog.functions}
    graph = prog.graph
    held = [n for adjacency in (graph._succ, graph._pred) for node in adjacency for n in (node, *adjacency[node])]
    assert len(held) > len(prog.functions) and all(id(n) in keys for n in held)


def test_link_keeps_the_targets_of_calls_through_pointers_and_lets_the_bindings_indexes_go():
    """The indexes of the bindings serve the linking of `ops->start()`; the analysis
    reads the targets (indirect_targets), so link() does not keep the indexes."""
    source = (b"struct demo_ops { void (*start)(int n); };\n"
              b"static void demo_start(int n) { }\n"
              b"static const struct demo_ops demo_ops = { .start = demo_start };\n"
              b"void demo_run(struct demo_ops *ops)\n{\n\tops->start(1);\n}\n")
    program = link([extract_file("demo.c", source)])
    assert list(program.indirect_targets.values()) == [["demo.c::demo_start"]]
    assert not program._field_index and not program._typed_index


def test_a_call_reaches_the_private_header_inline_it_sees_not_another_drivers():
    """Several drivers' private headers define inlines of one name: a call reaches the
    one of its own driver (ufs' fs32_to_cpu(), not befs'); a lowercase macro near the
    caller hides another driver's inline of the macro's name (mt76's mt76_rr() is
    mt76.h's macro through the bus ops, not mt7601u.h's inline); alone, a private
    inline is still what a call elsewhere reaches (a header included through -I)."""
    prog = program(
        ("fs/befs/endian.h", "static inline u32 fs32_to_cpu(const struct super_block *sb, u32 n) { return n; }\n"),
        ("fs/ufs/swab.h", "static inline u32 fs32_to_cpu(struct super_block *sbp, u32 n) { return demo_swab(n); }\n"),
        ("fs/ufs/balloc.c", "u32 ufs_count(struct super_block *sb, u32 n) { return fs32_to_cpu(sb, n); }\n"),
        ("drivers/net/wireless/mt7601u/mt7601u.h", "static inline u32 mt76_rr(struct mt7601u_dev *dev, u32 o) "
                                                   "{ return mt7601u_rr(dev, o); }\n"),
        ("drivers/net/wireless/mt76/mt76.h", "#define mt76_rr(dev, ...) (dev)->mt76.bus->rr(&((dev)->mt76), __VA_ARGS__)\n"
                                             "#define mt76_wr(dev, ...) (dev)->mt76.bus->wr(&((dev)->mt76), __VA_ARGS__)\n"),
        ("drivers/net/wireless/mt76/mt7603/core.c", "u32 mt7603_irq(struct mt7603_dev *dev) { return mt76_rr(dev, 4); }\n"),
        ("drivers/net/wireless/mt7601u/phy.c", "u32 mt7601u_phy(struct mt7601u_dev *dev) { return mt76_rr(dev, 4); }\n"),
        ("drivers/net/ethernet/chelsio/cxgb4/cxgb4_uld.h", "static inline void set_wr_txq(struct sk_buff *skb, int p, int q) "
                                                          "{ skb_set_queue_mapping(skb, q); }\n"),
        ("drivers/infiniband/hw/cxgb4/cm.c", "void send_flowc(struct sk_buff *skb) { set_wr_txq(skb, 0, 1); }\n"),
    )
    assert targets_of(prog, "fs/ufs/balloc.c", "ufs_count", "fs32_to_cpu") == ["fs/ufs/swab.h::fs32_to_cpu"]
    assert targets_of(prog, "drivers/net/wireless/mt76/mt7603/core.c", "mt7603_irq", "mt76_rr") == []
    assert targets_of(prog, "drivers/net/wireless/mt7601u/phy.c", "mt7601u_phy", "mt76_rr") == \
        ["drivers/net/wireless/mt7601u/mt7601u.h::mt76_rr"]
    assert targets_of(prog, "drivers/infiniband/hw/cxgb4/cm.c", "send_flowc", "set_wr_txq") == \
        ["drivers/net/ethernet/chelsio/cxgb4/cxgb4_uld.h::set_wr_txq"]


def test_a_macro_near_the_caller_is_the_call_not_another_modules_unexported_global():
    """mt76.h's `mt76_poll()` forwards to __mt76_poll(); mt7601u defines a global
    mt76_poll() of its own, which it does not export: no other module can call it, and
    mt7603's call is the macro's. An exported global of another driver is still what
    a call reaches where no macro is near."""
    prog = program(
        ("drivers/net/wireless/mt7601u/core.c", "bool mt76_poll(struct mt7601u_dev *dev, u32 o) "
                                                "{ return mt7601u_rr(dev, o) != 0; }\n"),
        ("drivers/net/wireless/mt76/mt76.h", "#define mt76_poll(dev, ...) __mt76_poll(&((dev)->mt76), __VA_ARGS__)\n"),
        ("drivers/net/wireless/mt76/mac80211.c", "bool __mt76_poll(struct mt76_dev *dev, u32 o) { return o != 0; }\n"),
        ("drivers/net/wireless/mt76/mt7603/mac.c", "bool mt7603_ps(struct mt7603_dev *dev) { return mt76_poll(dev, 4); }\n"),
        ("drivers/net/wireless/mt7601u/phy.c", "bool mt7601u_phy(struct mt7601u_dev *dev) { return mt76_poll(dev, 4); }\n"),
        ("drivers/gpio/gpiolib.c", "int gpiod_get_value(struct gpio_desc *d) { return 0; }\nEXPORT_SYMBOL(gpiod_get_value);\n"),
        ("drivers/net/wireless/mt76/gpio.h", "#define gpiod_get_value(d) demo_value(d)\n"),
        ("drivers/tty/ser.c", "int ser_get(struct gpio_desc *d) { return gpiod_get_value(d); }\n"),
    )
    assert targets_of(prog, "drivers/net/wireless/mt76/mt7603/mac.c", "mt7603_ps", "__mt76_poll") == ["__mt76_poll"]
    assert targets_of(prog, "drivers/net/wireless/mt7601u/phy.c", "mt7601u_phy", "mt76_poll") == ["mt76_poll"]
    assert targets_of(prog, "drivers/tty/ser.c", "ser_get", "gpiod_get_value") == ["gpiod_get_value"]
