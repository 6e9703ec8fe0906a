"""Intraprocedural lock state at each call: must (every path) vs may (some path)."""

from __future__ import annotations

from allocscan.extract import extract_file


def states(src: str) -> dict[str, tuple]:
    facts = extract_file("t.c", src.encode())
    out = {}
    for fn in facts.functions:
        for c in fn.calls:
            if c.callee.startswith("alloc_"):
                out[c.callee] = c.locks
    return out


def test_unlock_before_allocation_and_early_return():
    s = states("""
void f(struct d *d) {
	spin_lock(&d->lock);
	alloc_a();
	if (d->x) {
		spin_unlock(&d->lock);
		return;
	}
	alloc_b();
	spin_unlock(&d->lock);
	alloc_c();
}""")
    assert s["alloc_a"] == (("spin_lock(&d->lock)",), ())
    assert s["alloc_b"] == (("spin_lock(&d->lock)",), ())
    assert s["alloc_c"] == ((), ())


def test_some_path_is_may():
    s = states("""
void f(struct d *d) {
	if (d->x)
		spin_lock_irqsave(&d->lock, flags);
	alloc_a();
}""")
    assert s["alloc_a"] == ((), ("spin_lock_irqsave(&d->lock)",))


def test_trylock_success_branch_and_goto():
    s = states("""
int f(struct d *d) {
	if (!spin_trylock(&d->lock))
		return -EBUSY;
	alloc_a();
	if (d->bad)
		goto out;
	alloc_b();
out:
	spin_unlock(&d->lock);
	alloc_c();
	return 0;
}""")
    assert s["alloc_a"][0] == ("spin_trylock(&d->lock)",)
    assert s["alloc_b"][0] == ("spin_trylock(&d->lock)",)
    assert s["alloc_c"] == ((), ())


def test_loop_with_break_and_rcu_and_guard():
    s = states("""
void f(struct d *d) {
	rcu_read_lock();
	list_for_each_entry(p, &d->list, node) {
		if (p->x)
			break;
		alloc_a();
	}
	rcu_read_unlock();
	alloc_b();
	{
		guard(spinlock_irqsave)(&d->lock);
		alloc_c();
	}
	alloc_d();
	scoped_guard(spinlock, &d->lock) {
		alloc_e();
	}
}""")
    assert s["alloc_a"][0] == ("rcu_read_lock()",)
    assert s["alloc_b"] == ((), ())
    assert s["alloc_c"][0] and "guard(spinlock_irqsave)" in s["alloc_c"][0][0]
    assert s["alloc_d"] == ((), ())
    assert s["alloc_e"][0]  # held (described by the first acquisition of that lock)


def test_lock_released_in_same_file_callee_and_must_hold():
    s = states("""
static void drop(struct d *d) { spin_unlock(&d->lock); }
void f(struct d *d) {
	spin_lock(&d->lock);
	drop(d);
	alloc_a();
}
static void g(struct d *d) __must_hold(&d->lock) {
	alloc_b();
}""")
    assert s["alloc_a"] == ((), ())
    assert s["alloc_b"][0] == ("__must_hold(&d->lock)",)


def test_switch_cases():
    s = states("""
void f(struct d *d, int k) {
	switch (k) {
	case 1:
		spin_lock(&d->lock);
		alloc_a();
		spin_unlock(&d->lock);
		break;
	case 2:
		alloc_b();
		break;
	}
	alloc_c();
}""")
    assert s["alloc_a"][0] == ("spin_lock(&d->lock)",)
    assert s["alloc_b"] == ((), ())
    assert s["alloc_c"] == ((), ())


def test_a_lock_taken_and_dropped_under_the_same_condition():
    """`if (exists) lock; ... if (exists) unlock;`: unlocked after, held in between only if taken."""
    s = states("""
void f(struct d *d, bool exists) {
	if (exists)
		spin_lock_bh(&d->lock);
	alloc_a();
	if (exists)
		spin_unlock_bh(&d->lock);
	alloc_b();
	if (d->sli4)
		spin_lock_irqsave(&d->ring_lock, fl);
	else
		spin_lock_irqsave(&d->hba_lock, fl);
	alloc_c();
	if (d->sli4)
		spin_unlock_irqrestore(&d->ring_lock, fl);
	else
		spin_unlock_irqrestore(&d->hba_lock, fl);
	alloc_d();
}""")
    assert s["alloc_a"] == ((), ("spin_lock_bh(&d->lock)",))
    assert s["alloc_b"] == ((), ())
    assert set(s["alloc_c"][1]) == {"spin_lock_irqsave(&d->ring_lock)", "spin_lock_irqsave(&d->hba_lock)"}
    assert s["alloc_d"] == ((), ())


def test_a_branch_that_never_returns_does_not_leak_its_region():
    s = states("""
void f(struct task *t) {
	if (t->flags & PF_EXITING) {
		preempt_disable();
		do_task_dead();
	}
	alloc_a();
}""")
    assert s["alloc_a"] == ((), ())


def test_acquires_then_releases_means_unlocked_at_entry():
    facts = extract_file("t.c", b"""
int a(struct s *s) __acquires(&s->lock) __releases(&s->lock)
{
	alloc_x();
	spin_lock(&s->lock);
	spin_unlock(&s->lock);
	return 0;
}
void b(struct s *s) __releases(&s->lock) __acquires(&s->lock)
{
	spin_unlock(&s->lock);
	alloc_y();
	spin_lock(&s->lock);
}
""")
    by_name = {f.name: f for f in facts.functions}
    assert by_name["a"].entry_locks == ()
    assert by_name["b"].entry_locks == ("__releases(&s->lock)",)


def test_irqrestore_unlock_ends_the_irq_region_saved_in_its_flags():
    s = states("""
static struct pcpu *this_cpu_lock(unsigned long *flags)
{
	local_irq_save(*flags);
	raw_spin_lock(&pcpu.lock);
	return &pcpu;
}
static void this_cpu_unlock(struct pcpu *p, unsigned long flags)
{
	raw_spin_unlock_irqrestore(&p->lock, flags);
}
void f(unsigned long *flags)
{
	struct pcpu *p = this_cpu_lock(flags);
	alloc_a();
	this_cpu_unlock(p, *flags);
	alloc_b();
}
void g(struct d *d)
{
	unsigned long outer, inner;
	local_irq_save(outer);
	spin_lock_irqsave(&d->lock, inner);
	spin_unlock_irqrestore(&d->lock, inner);
	alloc_c();
	local_irq_restore(outer);
	alloc_d();
}""")
    assert s["alloc_a"][0]  # both regions held
    assert s["alloc_b"] == ((), ())  # the wrapper's irqrestore closes the local_irq_save region too
    assert s["alloc_c"][0] == ("local_irq_save(outer)",)  # restoring `inner` keeps interrupts off
    assert s["alloc_d"] == ((), ())


def test_a_wait_command_runs_with_the_lock_dropped():
    s = states("""
#define wait_event_ring_cmd(r, cond, cmd) wait_event_cmd((r)->wq, cond, unlock_ring(r); cmd, lock_ring(r))
void f(struct ring *r)
{
	spin_lock_irq(&r->lock);
	wait_event_ring_cmd(r, ring_idle(r), alloc_a(r));
	alloc_b(r);
	spin_unlock_irq(&r->lock);
}""")
    assert s["alloc_a"] == ((), ())  # the command runs right before the task sleeps
    assert s["alloc_b"] == (("spin_lock_irq(&r->lock)",), ())


def sites(src: str) -> dict[str, tuple]:
    facts = extract_file("t.c", src.encode())
    return {c.callee: c.lock_sites for fn in facts.functions for c in fn.calls if c.callee.startswith("alloc_")}


def test_a_region_opened_again_is_named_by_the_opening_that_reaches_the_call():
    s = sites("""
int f(struct d *d)
{
	unsigned long flags;
	int n;

	local_irq_save(flags);
	setup(d);
	for (n = 0; n < d->count; n++) {
		local_irq_restore(flags);
		alloc_a(n);
		local_irq_save(flags);
		if (n > 2)
			spin_lock_irqsave(&d->lock, flags);
		else
			spin_lock_bh(&d->lock);
		alloc_b(n);
		spin_unlock(&d->lock);
	}
	local_irq_restore(flags);
	return 0;
}""")
    assert s["alloc_a"] == ()
    # the save inside the loop (line 12) is in force, not the one before it (line 7)
    opened = {(desc, line) for desc, line, _, _ in s["alloc_b"]}
    assert ("local_irq_save(flags)", 12) in opened and ("local_irq_save(flags)", 7) not in opened
    # the lock is taken on two branches: the later opening written before the call
    assert ("spin_lock_bh(&d->lock)", 16) in opened


def test_a_guard_closes_on_every_way_out_of_its_scope():
    """A guard's cleanup runs when control leaves its scope by any route: a helper that
    returns from inside `guard(rcu)()` leaves its caller outside the read side (ftrace's
    ftrace_find_rec_direct(), sched's check_same_owner()); `break`, `continue` and a
    `goto` to a label outside the scope close it too."""
    s = states("""
static bool same_owner(struct d *d)
{
	guard(rcu)();
	return d->uid == 0;
}
static void *find(struct d *d)
{
	guard(preempt_notrace)();
	if (!d->hash)
		return NULL;
	return d->hash;
}
void f(struct d *d, int n)
{
	if (!same_owner(d)) {
		guard(rcu)();
		if (!d->cap)
			return;
	}
	find(d);
	alloc_a();
	for (int i = 0; i < n; i++) {
		guard(spinlock)(&d->lock);
		if (d->stop)
			break;
		if (d->skip)
			continue;
		alloc_b();
	}
	alloc_c();
	scoped_guard(spinlock, &d->lock) {
		if (d->quit)
			break;
		alloc_d();
	}
	alloc_e();
	{
		guard(spinlock)(&d->lock);
		if (d->bad)
			goto out;
		alloc_f();
	}
	return;
out:
	alloc_g();
}""")
    assert s["alloc_a"] == ((), ())
    assert s["alloc_b"][0]
    assert s["alloc_c"] == ((), ())
    assert s["alloc_d"][0]
    assert s["alloc_e"] == ((), ())
    assert s["alloc_f"][0]
    assert s["alloc_g"] == ((), ())


def test_an_acquisition_that_returned_null_took_nothing():
    """pte_offset_map_lock() returns NULL without the lock when the page table is gone
    (6.5+): the `!pte` exit and its label run unlocked."""
    s = states("""
struct folio *f(struct vm_fault *vmf)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(vmf->mm, vmf->pmd, vmf->address, &ptl);

	if (unlikely(!pte))
		goto fallback;
	alloc_a();
	pte_unmap_unlock(pte, ptl);
	return NULL;
fallback:
	alloc_b();
	return NULL;
}
void g(struct vm_fault *vmf)
{
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(vmf->mm, vmf->pmd, vmf->address, &ptl);
	if (pte != NULL) {
		alloc_c();
		pte_unmap_unlock(pte, ptl);
	}
	alloc_d();
}""")
    assert s["alloc_a"][0]
    assert s["alloc_b"] == ((), ())
    assert s["alloc_c"][0]
    assert s["alloc_d"] == ((), ())


def test_a_case_inside_an_if_directive_is_entered_from_the_switch():
    """`#if IS_ENABLED(CONFIG_IPV6)` around a case: the case is entered from the switch,
    with the lock held, not from the `break` before the directive (netlabel's
    netlbl_unlhsh_add() under rcu_read_lock())."""
    s = states("""
int f(struct d *d, int len) {
	int ret;

	rcu_read_lock();
	switch (len) {
	case 4:
		ret = alloc_v4(d);
		break;
#if IS_ENABLED(CONFIG_IPV6)
	case 16:
		ret = alloc_v6(d);
		break;
#else
	case 8:
		ret = alloc_other(d);
		break;
#endif
	default:
		ret = -EINVAL;
	}
	rcu_read_unlock();
	alloc_after(d);
	return ret;
}""")
    held = (("rcu_read_lock()",), ())
    assert s["alloc_v4"] == held and s["alloc_v6"] == held and s["alloc_other"] == held
    assert s["alloc_after"] == ((), ())


def test_a_local_lock_is_a_region_as_a_spinlock_is():
    """local_lock() of a per-CPU local_lock_t turns preemption (or, with _irq/_irqsave,
    interrupts) off on a kernel without PREEMPT_RT; so do its guard classes, and
    raw_spinlock_bh's guard."""
    s = states("""
void f(struct d *d) {
	unsigned long flags;
	local_lock(&d->llock);
	alloc_a();
	local_unlock(&d->llock);
	alloc_b();
	local_lock_irqsave(&d->llock, flags);
	alloc_c();
	local_unlock_irqrestore(&d->llock, flags);
	alloc_d();
}
void g(struct d *d) {
	scoped_guard(local_lock_irq, &d->llock)
		alloc_e();
	guard(raw_spinlock_bh)(&d->raw);
	alloc_f();
}""")
    assert s["alloc_a"][0] == ("local_lock(&d->llock)",)
    assert s["alloc_b"] == ((), ())
    assert s["alloc_c"][0] == ("local_lock_irqsave(&d->llock)",)
    assert s["alloc_d"] == ((), ())
    assert s["alloc_e"][0] and "local_lock_irq" in s["alloc_e"][0][0]
    assert s["alloc_f"][0] and "raw_spinlock_bh" in s["alloc_f"][0][0]


def test_header_wrappers_of_a_spinlock_open_a_region():
    """netif_addr_lock_bh(), bh_lock_sock(), sch_tree_lock(), hlist_bl_lock() and the
    xarray's xa_lock*()/xas_lock*() are inlines and macros over a spinlock."""
    s = states("""
void f(struct d *d, struct xa_state *xas) {
	unsigned long flags;
	netif_addr_lock_bh(d->netdev);
	alloc_a();
	netif_addr_unlock_bh(d->netdev);
	bh_lock_sock(d->sk);
	alloc_b();
	bh_unlock_sock(d->sk);
	sch_tree_lock(d->q);
	alloc_c();
	sch_tree_unlock(d->q);
	hlist_bl_lock(&d->head);
	alloc_d();
	hlist_bl_unlock(&d->head);
	xa_lock_irqsave(&d->xa, flags);
	alloc_e();
	xa_unlock_irqrestore(&d->xa, flags);
	xas_lock(xas);
	alloc_f();
	xas_unlock(xas);
	alloc_g();
}""")
    for name in "abcdef":
        assert s[f"alloc_{name}"][0], name
    assert s["alloc_g"] == ((), ())
