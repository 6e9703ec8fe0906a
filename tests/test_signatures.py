"""Runtime signatures per kernel version, computed from the tree's own headers."""

from __future__ import annotations

from pathlib import Path

from allocscan.pipeline import ScanOptions, run_scan

from .conftest import CORPORA

TREE_4_9 = Path(__file__).parent / "data" / "tree49"


def test_4_9_tree_prints_the_seed_failure_line():
    result = run_scan([str(TREE_4_9 / "drivers")], ScanOptions(jobs=1))
    assert result.discovery.kernel.release == "4.9.56"
    assert result.discovery.kernel.gfp.source == "include/linux/gfp.h"
    (finding,) = [f for f in result.findings if f.rule_id == "AS001"]
    assert finding.properties["maxOrder"] == 10
    head = finding.signature[0]
    assert head == "<comm>: page allocation failure: order:10, mode:0x2084020(GFP_ATOMIC|__GFP_COMP)"
    assert " kmalloc_order" in finding.signature and " demo_alloc_req" in finding.signature


def test_loose_files_use_the_requested_builtin_version():
    result = run_scan([str(CORPORA / "net_irq")], ScanOptions(jobs=1, kernel_version="6.1"))
    as001 = next(f for f in result.findings if f.rule_id == "AS001")
    assert "mode:0x40a20(GFP_ATOMIC|__GFP_COMP), nodemask=(null)" in as001.signature[0]
    as002 = next(f for f in result.findings if f.rule_id == "AS002" and "hardirq" in f.properties["atomicContext"])
    assert as002.signature[0] == "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274"
    assert as002.signature[1].startswith("in_atomic(): 1, irqs_disabled(): 1, non_block: 0")
    as004 = next(f for f in result.findings if f.rule_id == "AS004")
    assert as004.signature[0].startswith("WARNING: CPU: <cpu> PID: <pid> at mm/page_alloc.c:")
    result = run_scan([str(CORPORA / "net_irq")], ScanOptions(jobs=1, kernel_version="6.12"))
    as001 = next(f for f in result.findings if f.rule_id == "AS001")
    assert "mode:0x40820(GFP_ATOMIC|__GFP_COMP)" in as001.signature[0]


def test_signature_property_matches_the_text():
    result = run_scan([str(CORPORA / "net_irq")], ScanOptions(jobs=1, kernel_version="6.1"))
    for f in result.findings:
        assert f.properties["runtimeSignature"] == "\n".join(f.signature)


def test_every_finding_carries_a_signature_even_with_a_gfp_in_a_variable(tmp_path):
    (tmp_path / "lockup.c").write_text("""
static unsigned long alloc_gfp = GFP_KERNEL;
module_param(alloc_gfp, ulong, 0400);
static unsigned int alloc_order = 1;
module_param(alloc_order, uint, 0400);
static void demo_alloc(void) { alloc_pages(alloc_gfp, alloc_order); }
""")
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1"))
    (finding,) = [f for f in result.findings if f.rule_id == "AS003"]
    assert finding.signature[0].startswith("WARNING: CPU: <cpu> PID: <pid> at mm/page_alloc.c")
    assert "gfp is not known here" in finding.signature[-1]
    for corpus in ("net_irq", "usb_gadget", "chardev_params"):
        for f in run_scan([str(CORPORA / corpus)], ScanOptions(jobs=1)).findings:
            assert f.signature, (corpus, f.rule_id, f.line)


def test_sleeping_trace_lists_every_function_of_the_witness_innermost_first(tmp_path):
    # Reported at the lock holder's call, the trace still runs from the allocating
    # function out through each caller, as the kernel prints it.
    (tmp_path / "chain.c").write_text("""
static DEFINE_SPINLOCK(cfg_lock);
static void *cfg_buf;
static void cfg_store(void) { cfg_buf = kmalloc(64, GFP_KERNEL); }
static void cfg_apply(void) { cfg_store(); }
static void cfg_update(void)
{
	spin_lock(&cfg_lock);
	cfg_apply();
	spin_unlock(&cfg_lock);
}
""")
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1"))
    (finding,) = [f for f in result.findings if f.rule_id == "AS002"]
    assert finding.function == "cfg_update"
    frames = [line.strip() for line in finding.signature if line.startswith(" ")]
    assert frames[-3:] == ["cfg_store", "cfg_apply", "cfg_update"], frames


def test_a_callback_run_with_bottom_halves_off_under_a_lock_prints_its_task_and_count(tmp_path):
    """ndo_set_rx_mode runs under netif_addr_lock_bh(): in the caller's task (<TASK>),
    with the count spin_lock_bh() leaves, 0x201, and interrupts on."""
    (tmp_path / "main.c").write_text("""
static void demo_rx_mode(struct net_device *dev) { kfree(kmalloc(64, GFP_KERNEL)); }
static const struct net_device_ops demo_ops = { .ndo_set_rx_mode = demo_rx_mode };
""")
    (finding,) = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1")).findings
    assert finding.rule_id == "AS002"
    assert finding.signature[1].startswith("in_atomic(): 1, irqs_disabled(): 0, non_block: 0")
    assert finding.signature[2] == "preempt_count: 201, expected: 0"
    markers = {line.strip() for line in finding.signature if line.strip().startswith("<")}
    assert markers == {"<TASK>"}


def test_a_callback_the_kernel_runs_with_its_own_lock_held_counts_that_lock(tmp_path):
    """dev_watchdog() calls ndo_tx_timeout from the timer softirq with netif_tx_lock()
    held: one more than a plain softirq's count."""
    (tmp_path / "main.c").write_text("""
static void demo_timeout(struct net_device *dev, unsigned int q) { kfree(kmalloc(64, GFP_KERNEL)); }
static void demo_timer(struct timer_list *t) { kfree(kmalloc(64, GFP_KERNEL)); }
static const struct net_device_ops demo_ops = { .ndo_tx_timeout = demo_timeout };
void demo_init(struct timer_list *t) { timer_setup(t, demo_timer, 0); mod_timer(t, 1); }
""")
    findings = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1")).findings
    counts = {f.function: f.signature[2] for f in findings}
    assert counts == {"demo_timeout": "preempt_count: 102, expected: 0", "demo_timer": "preempt_count: 101, expected: 0"}


def test_a_transmit_from_a_task_prints_the_bottom_half_and_tx_lock_count(tmp_path):
    """__dev_queue_xmit() calls ndo_start_xmit under rcu_read_lock_bh() with the queue's
    tx lock: 0x201 in the sending task, not a softirq's 0x100."""
    (tmp_path / "main.c").write_text("""
static netdev_tx_t demo_xmit(struct sk_buff *skb, struct net_device *dev) { kfree(kmalloc(64, GFP_KERNEL)); return 0; }
static const struct net_device_ops demo_ops = { .ndo_start_xmit = demo_xmit };
""")
    (finding,) = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1")).findings
    assert finding.signature[1].startswith("in_atomic(): 1, irqs_disabled(): 0")
    assert finding.signature[2] == "preempt_count: 201, expected: 0"
    variants = "\n".join(finding.signature)
    assert "`preempt_count: 200, expected: 0` instead of" in variants and "`preempt_count: 101, expected: 0`" in variants


def test_an_atomic_notifiers_callback_prints_the_chains_rcu_read_side(tmp_path):
    """atomic_notifier_call_chain() holds rcu_read_lock(): with PREEMPT_RCU an RCU nest
    depth of 1 and a preempt count of 0; without it, a preempt count of 1."""
    (tmp_path / "main.c").write_text("""
static int demo_event(struct notifier_block *nb, unsigned long ev, void *p) { kfree(kmalloc(64, GFP_KERNEL)); return 0; }
static struct notifier_block demo_nb = { .notifier_call = demo_event };
int demo_init(void) { return register_demo_notifier(&demo_nb); }
int register_demo_notifier(struct notifier_block *nb) { return atomic_notifier_chain_register(&demo_chain, nb); }
""")
    (finding,) = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1")).findings
    assert finding.rule_id == "AS002"
    assert finding.signature[1].startswith("in_atomic(): 0, irqs_disabled(): 0")
    assert finding.signature[2:4] == ["preempt_count: 0, expected: 0", "RCU nest depth: 1, expected: 0"]
    assert "`preempt_count: 1, expected: 0`" in "\n".join(finding.signature)


def test_an_op_the_core_calls_under_a_spinlock_with_interrupts_off_prints_that_lock(tmp_path):
    """uart_ops.start_tx runs under the port's spin_lock_irqsave(): in_atomic() 1, interrupts
    off, preempt count 1 from a task; the driver's interrupt handler adds the hardirq's."""
    (tmp_path / "serial.c").write_text("""
static void demo_start_tx(struct uart_port *port) { kfree(kmalloc(64, GFP_KERNEL)); }
static const struct uart_ops demo_uart_ops = { .start_tx = demo_start_tx };
""")
    (finding,) = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1")).findings
    assert finding.rule_id == "AS002"
    assert finding.signature[1].startswith("in_atomic(): 1, irqs_disabled(): 1")
    assert finding.signature[2] == "preempt_count: 1, expected: 0"
    assert "`preempt_count: 10001, expected: 0`" in "\n".join(finding.signature)


def test_a_console_write_prints_interrupts_off_without_a_preempt_count(tmp_path):
    """printk calls a console's write with interrupts off and no lock: in_atomic() 0,
    irqs_disabled() 1, which __might_resched() reports all the same."""
    (tmp_path / "console.c").write_text("""
static void demo_console_write(struct console *co, const char *s, unsigned int n) { kfree(kmalloc(64, GFP_KERNEL)); }
static struct console demo_console = { .name = "demo", .write = demo_console_write };
""")
    (finding,) = run_scan([str(tmp_path)], ScanOptions(jobs=1, kernel_version="6.1")).findings
    assert finding.rule_id == "AS002"
    assert finding.signature[1].startswith("in_atomic(): 0, irqs_disabled(): 1")
    assert finding.signature[2] == "preempt_count: 0, expected: 0"
