"""Intraprocedural lock state: which atomic regions are open at each call.

A flow-sensitive, path-insensitive abstract interpretation over one function's
structured control flow (blocks, if/else, switch, loops, return, goto to a
label, break/continue, `#ifdef` branches). The state is a pair of sets of held
regions: those held on *every* path to the point ("must") and those held on
*some* path ("may"). Joins intersect the first and unite the second.

Regions come from the context table (`data/contexts.toml`): spinlock/rwlock/
seqlock acquisitions keyed by the lock expression, interrupt/bottom-half/
preemption disabling and the RCU read side keyed by class alone, trylocks on
their success branch, `guard(x)(&l)` until the end of the block,
`scoped_guard(x, &l) { }` for its block, and `__must_hold`/`__acquires`
annotations at entry. Calls to functions of the same file whose summary says
they take or drop a lock apply that summary.

Only functions that contain a lock-family call are walked; the extractor
decides that from the call query, so no Python pass visits other functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..exprs import squash
from ..kernel.tables import contexts

_WAIT_CMD_RE = re.compile(r"wait_event\w*_cmd$")
Token = tuple[str, str]  # (class, lock expression squashed; "" for per-CPU state)
Acquisition = tuple[str, int, int, str]  # (description, line, col, primitive) of one acquiring call
# (must, may, reaching); None = unreachable. `reaching` pairs each held token with the
# acquisitions that may have opened it on the way here: a region opened, closed and
# opened again (local_irq_save ... local_irq_restore ... local_irq_save) is in force
# from its last opening, which is the one a witness must name.
State = tuple[frozenset, frozenset, frozenset] | None
EMPTY: State = (frozenset(), frozenset(), frozenset())


@dataclass
class Summary:
    """Net effect of a function on its caller's lock state."""

    acquires: tuple[tuple[Token, str, str], ...] = ()  # tokens held at every exit: (token, description, primitive)
    releases: tuple[str, ...] = ()  # classes released without a matching acquisition


@dataclass
class LockResult:
    at_call: dict[int, State] = field(default_factory=dict)  # call start byte -> state before the call
    # call start byte -> conditions that hold whenever a region open only on some paths
    # is open there (`if (typeReq == GetPortStatus && ...) local_irq_save(f);`)
    conds_at_call: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # token -> (description, line, col, primitive) of its first acquisition: the primitive is
    # the API that opened the region (`spin_lock_bh`, a guard class such as
    # `spinlock_irqsave`, `__must_hold`); the state's `reaching` says which one is in force
    info: dict[Token, Acquisition] = field(default_factory=dict)
    summary: Summary = field(default_factory=Summary)


def _join(a: State, b: State) -> State:
    if a is None:
        return b
    if b is None:
        return a
    return (a[0] & b[0], a[1] | b[1], a[2] | b[2])


def _without(state: State, tokens) -> State:
    """The state with the regions `tokens` closed."""
    if state is None:
        return None
    tokens = frozenset(tokens)
    if not tokens:
        return state
    return (state[0] - tokens, state[1] - tokens, frozenset(r for r in state[2] if r[0] not in tokens))


def reaching_acquisition(state: State, token: Token, before: int, line_of) -> Acquisition | None:
    """The acquisition of `token` in force at a point: of those that reach it, the last
    one written before it (`before` is the point's line); with none before it (a loop
    whose end takes the lock for the next round), the last one."""
    found = sorted((acq for t, acq in state[2] if t == token), key=line_of) if state is not None else []
    if not found:
        return None
    earlier = [a for a in found if line_of(a) <= before]
    return (earlier or found)[-1]


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


class _Walker:
    def __init__(self, summaries: dict[str, Summary], scoped_guards: dict[int, tuple[str, str]]):
        self.tables = contexts()
        self.summaries = summaries
        self.scoped_guards = scoped_guards
        self.result = LockResult()
        self.labels: dict[str, State] = {}
        self.exits: list[State] = []
        self.loop_breaks: list[list[State]] = []
        self.loop_continues: list[list[State]] = []
        # Guards in force (guard(x)(&l), scoped_guard): (token, start, end byte of their
        # scope). Their cleanup runs on every way out of the scope, so a `return`, a
        # `break`/`continue` out of it, or a `goto` to a label outside it closes them.
        self.scope_guards: list[tuple[Token, int, int]] = []
        self.break_depths: list[int] = []  # len(scope_guards) where each break target began
        self.continue_depths: list[int] = []
        self.label_bytes: dict[str, int] = {}  # label -> where its statement starts
        # `pte = pte_offset_map_lock(...)`: the variable -> the lock, held only when it is
        # not NULL (an acquisition in contexts.toml's [acquire_or_null])
        self.held_if_set: dict[str, Token] = {}
        self.unmatched: set[str] = set()  # classes released that this function did not take
        self.entry_tokens: set[Token] = set()
        self.correlated: dict[Token, tuple[str, bool]] = {}  # token -> (condition, held when it is true)
        self.acquired_under: dict[Token, str] = {}  # token -> condition of the `if` that took it

    # --- state changes -------------------------------------------------
    def _acquire(self, state: State, token: Token, desc: str, node, primitive: str, may_only: bool = False) -> State:
        if state is None:
            return None
        acquisition = (desc, node.start_point[0] + 1, node.start_point[1] + 1, primitive)
        self.result.info.setdefault(token, acquisition)
        must, may, reaching = state
        reaching = frozenset(r for r in reaching if r[0] != token) | {(token, acquisition)}
        return (must if may_only else must | {token}, may | {token}, reaching)

    def _release(self, state: State, cls: str, key: str | None) -> State:
        if state is None:
            return None
        may = state[1]
        hit = {t for t in may if t[0] == cls and (key is None or t[1] == key)}
        if hit & self.entry_tokens:
            self.unmatched.add(cls)  # drops a lock its caller holds (__releases/__must_hold)
        if not hit:
            # Unknown aliasing (spin_lock(lock) / spin_unlock(&x->lock)): releasing
            # every region of the class errs on the side of fewer reports.
            hit = {t for t in may if t[0] == cls}
            self.unmatched.add(cls)
        return _without(state, hit)

    def _restore_irqs(self, state: State, call, flags_index: int, lock_matched: bool) -> State:
        """`spin_unlock_irqrestore(lock, flags)` also ends a `local_irq_save(flags)`
        region with the same flags; `spin_unlock_irq()` ends every one. An unlock
        wrapper (its lock taken by the caller) passes the irq release on in its
        summary too, as krc_this_cpu_unlock() does for krc_this_cpu_lock()."""
        if state is None:
            return None
        irq_tokens = {tok for tok in state[1] if tok[0] == "irq"}
        if flags_index >= 0:
            flags = self._lock_arg(call, flags_index)
            irq_tokens = {tok for tok in irq_tokens if tok[1] and squash(tok[1].lstrip("*&")) == squash(flags.lstrip("*&"))}
        if irq_tokens:
            return _without(state, irq_tokens)
        if not lock_matched:
            self.unmatched.add("irq")
        return state

    def _lock_arg(self, call, index: int) -> str:
        if index < 0:
            return ""
        args = call.child_by_field_name("arguments")
        named = [a for a in args.named_children if a.type != "comment"] if args else []
        return squash(_text(named[index])) if index < len(named) else ""

    def apply_call(self, call, state: State) -> State:
        """Record the state before `call` and return the state after it."""
        if state is None:
            return None
        prev = self.result.at_call.get(call.start_byte)
        self.result.at_call[call.start_byte] = _join(prev, state) if prev is not None else state
        if self.acquired_under and prev is None:
            conds = tuple(sorted({c for t, c in self.acquired_under.items() if t in state[1] - state[0]}))
            if conds:
                self.result.conds_at_call[call.start_byte] = conds
        fn = call.child_by_field_name("function")
        if fn is None:
            return state
        if fn.type == "call_expression":  # guard(spinlock)(&lock)
            return state  # handled per block, see walk_block
        if fn.type != "identifier":
            return state
        name = _text(fn)
        t = self.tables
        if name in t.noreturn:
            return None  # panic(), do_task_dead(): this path ends here
        if name in t.acquire:
            cls, idx = t.acquire[name]
            lock = self._lock_arg(call, idx)
            if name in t.null_when_not_taken:
                stored = _stored_into(call)
                if stored:
                    self.held_if_set[stored] = (cls, lock)
            return self._acquire(state, (cls, lock), f"{name}({lock})" if lock else f"{name}()", call, name)
        if name in t.release:
            cls, idx = t.release[name]
            key = self._lock_arg(call, idx) if idx >= 0 else None
            matched = state is not None and any(tok[0] == cls and (key is None or tok[1] == key) for tok in state[1])
            state = self._release(state, cls, key)
            if name in t.irq_restore:
                state = self._restore_irqs(state, call, t.irq_restore[name], matched)
            return state
        if name in t.trylock:
            cls, idx = t.trylock[name]
            lock = self._lock_arg(call, idx)
            return self._acquire(state, (cls, lock), f"{name}({lock})", call, name, may_only=True)
        summary = self.summaries.get(name)
        if summary is not None:
            for cls in summary.releases:
                state = self._release(state, cls, None)
            for token, desc, primitive in summary.acquires:
                state = self._acquire(state, token, f"{desc} in {name}()", call, primitive)
        return state

    # --- expressions -----------------------------------------------------
    def calls_in(self, node) -> list:
        """Call expressions under node, in evaluation order (innermost first)."""
        found = []
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "call_expression":
                found.append(n)
            if n.child_count:
                stack.extend(n.children)
        found.sort(key=lambda c: (c.end_byte, -c.start_byte))
        return found

    def expr(self, node, state: State) -> State:
        sleeping = self._wait_commands(node)
        for call in self.calls_in(node):
            if sleeping and any(a.start_byte <= call.start_byte and call.end_byte <= a.end_byte for a in sleeping):
                self.apply_call(call, EMPTY if state is not None else None)
                continue
            state = self.apply_call(call, state)
        return state

    def _wait_commands(self, node) -> list:
        """The command arguments of `wait_event*_cmd(wq, cond, cmd...)` macros under node.
        They run right before the task sleeps, so no lock or atomic region is held
        there: raid10's freeze_array() waits with wait_event_barrier_cmd(), whose
        command drops resync_lock and then flushes (and allocates)."""
        if b"_cmd" not in node.text:
            return []
        found = []
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "call_expression":
                fn = n.child_by_field_name("function")
                if fn is not None and fn.type == "identifier" and _WAIT_CMD_RE.match(_text(fn)):
                    args = n.child_by_field_name("arguments")
                    named = [a for a in args.named_children if a.type != "comment"] if args else []
                    found.extend(named[2:])
            stack.extend(n.children)
        return found

    def _trylock_in(self, cond) -> tuple[object, bool] | None:
        """(call, negated) when a condition is `trylock(..)` or `!trylock(..)`."""
        node = cond
        negated = False
        while node is not None and node.type == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
        if node is not None and node.type == "unary_expression":
            op = node.child_by_field_name("operator")
            if op is not None and _text(op) == "!":
                negated = True
                node = node.child_by_field_name("argument")
                while node is not None and node.type == "parenthesized_expression" and node.named_child_count == 1:
                    node = node.named_children[0]
        if node is not None and node.type == "call_expression":
            fn = node.child_by_field_name("function")
            if fn is not None and fn.type == "identifier" and _text(fn) in self.tables.trylock:
                return node, negated
        return None

    # --- statements ------------------------------------------------------
    def walk(self, node, state: State) -> State:
        if state is None and node.type != "labeled_statement":
            # Unreachable code still gets visited for labels inside it.
            if node.type in ("compound_statement",):
                return self.walk_block(node, None)
            return None
        t = node.type
        if t == "compound_statement":
            return self.walk_block(node, state)
        if t == "if_statement":
            return self.walk_if(node, state)
        if t in ("while_statement", "for_statement", "do_statement"):
            return self.walk_loop(node, state)
        if t == "switch_statement":
            return self.walk_switch(node, state)
        if t == "return_statement":
            state = self.expr(node, state)
            self.exits.append(self._leaving_guards(state, 0))
            return None
        if t == "goto_statement":
            label = node.child_by_field_name("label")
            if label is not None:
                name = _text(label)
                self.labels[name] = _join(self.labels.get(name), self._going_to(name, state))
            return None
        if t == "labeled_statement":
            label = node.child_by_field_name("label")
            name = _text(label) if label is not None else ""
            state = _join(state, self.labels.get(name))
            inner = [c for c in node.named_children if c.type != "statement_identifier"]
            for child in inner:
                state = self.walk(child, state)
            return state
        if t == "break_statement":
            if self.loop_breaks:
                self.loop_breaks[-1].append(self._leaving_guards(state, self.break_depths[-1]))
            return None
        if t == "continue_statement":
            if self.loop_continues:
                self.loop_continues[-1].append(self._leaving_guards(state, self.continue_depths[-1]))
            return None
        if t in ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_else", "preproc_elifdef"):
            return self.walk_preproc(node, state)
        if t in ("case_statement",):
            return self.walk_block(node, state)
        if t == "ERROR":
            return self.walk_block(node, state)
        return self.expr(node, state)

    def _leaving_guards(self, state: State, depth: int) -> State:
        """The state once the guards opened since `depth` (of `scope_guards`) ran their cleanup."""
        if state is None or len(self.scope_guards) <= depth:
            return state
        return _without(state, [token for token, _, _ in self.scope_guards[depth:]])

    def _going_to(self, label: str, state: State) -> State:
        """The state a `goto label` takes there: the guards whose scope the label lies
        outside are closed on the way."""
        if state is None or not self.scope_guards:
            return state
        at = self.label_bytes.get(label)
        if at is None:
            return state
        return _without(state, [token for token, start, end in self.scope_guards if not start <= at < end])

    def walk_block(self, node, state: State) -> State:
        guards: list[Token] = []
        mark = len(self.scope_guards)
        for child in node.named_children:
            if child.type == "comment":
                continue
            scoped = self.scoped_guards.get(child.start_byte) if child.type == "while_statement" else None
            if scoped is not None:
                state = self.walk_scoped_guard(child, scoped, state)
                continue
            guard = self._guard_call(child)
            if guard is not None and state is not None:
                call, cls, lock = guard
                state = self.apply_call(call, state)
                token = (cls, lock)
                guard_class = _text(call.child_by_field_name('function').child_by_field_name('arguments'))[1:-1]
                state = self._acquire(state, token, f"guard({guard_class})({lock})", call, guard_class.strip())
                guards.append(token)
                self.scope_guards.append((token, node.start_byte, node.end_byte))
                continue
            state = self.walk(child, state)
        del self.scope_guards[mark:]
        if guards and state is not None:
            state = _without(state, guards)
        return state

    def _guard_call(self, stmt):
        if stmt.type not in ("expression_statement", "declaration"):
            return None
        call = stmt.named_children[0] if stmt.named_children else None
        if call is None or call.type != "call_expression":
            return None
        fn = call.child_by_field_name("function")
        if fn is None or fn.type != "call_expression":
            return None
        inner = fn.child_by_field_name("function")
        if inner is None or _text(inner) != "guard":
            return None
        args = fn.child_by_field_name("arguments")
        cls_name = _text(args)[1:-1].strip() if args is not None else ""
        cls = self.tables.guards.get(cls_name)
        if cls is None:
            return None
        outer_args = call.child_by_field_name("arguments")
        lock = squash(_text(outer_args)[1:-1]) if outer_args is not None else ""
        return call, cls, lock if cls == "spin" else ""

    def walk_scoped_guard(self, node, scoped: tuple[str, str], state: State) -> State:
        cls = self.tables.guards.get(scoped[0])
        cond = node.child_by_field_name("condition")
        if cond is not None:
            state = self.expr(cond, state)
        body = node.child_by_field_name("body")
        if cls is None or body is None:
            return self.walk(body, state) if body is not None else state
        token = (cls, squash(scoped[1]) if cls == "spin" else "")
        inner = self._acquire(state, token, f"scoped_guard({scoped[0]}, {scoped[1]})", node, scoped[0])
        self.scope_guards.append((token, node.start_byte, node.end_byte))
        # (scoped_guard is a for loop: a `break` inside leaves it, closing the guard)
        self.loop_breaks.append([])
        self.break_depths.append(len(self.scope_guards) - 1)
        out = self.walk(body, inner)
        for s in self.loop_breaks.pop():
            out = _join(out, s)
        self.break_depths.pop()
        self.scope_guards.pop()
        return _without(out, {token})

    def walk_if(self, node, state: State) -> State:
        cond = node.child_by_field_name("condition")
        then = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        state = self.expr(cond, state) if cond is not None else state
        then_in = else_in = state
        key = _pure_condition(cond)
        if key is not None and state is not None:
            then_in, else_in = self._split_on(key, state)
        null_test = _null_test(cond, self.tables.transparent_calls) if self.held_if_set and cond is not None else None
        if null_test is not None and null_test[0] in self.held_if_set:
            # `if (!pte) goto out;`: the acquisition that returned NULL took nothing
            token = self.held_if_set[null_test[0]]
            if null_test[1]:
                then_in = _without(then_in, {token})
            else:
                else_in = _without(else_in, {token})
        cond_text = squash(_text(cond)) if cond is not None else ""
        trylock = self._trylock_in(cond) if cond is not None else None
        if trylock is not None and state is not None:
            call, negated = trylock
            cls, idx = self.tables.trylock[_text(call.child_by_field_name("function"))]
            lock = self._lock_arg(call, idx)
            token = (cls, lock)
            desc = f"{_text(call.child_by_field_name('function'))}({lock})"
            # The condition pass recorded a may-acquire; undo it for the failure branch.
            base = _without(state, {token})
            taken = self._acquire(base, token, desc, call, _text(call.child_by_field_name("function")))
            then_in, else_in = (base, taken) if negated else (taken, base)
        then_out = self.walk(then, then_in) if then is not None else then_in
        if alt is not None:
            alt_body = [c for c in alt.named_children if c.type != "comment"]
            else_out = else_in
            for child in alt_body:
                else_out = self.walk(child, else_out)
        else:
            else_out = else_in
        if key is not None and state is not None:
            self._remember_correlated(key, state, then_out, else_out)
        if cond_text and state is not None and then_out is not None and alt is None:
            # taken only in the then-branch: wherever it is open later, the condition held
            for token in then_out[0] - state[1] - (else_out[1] if else_out else frozenset()):
                self.acquired_under[token] = cond_text
        return _join(then_out, else_out)

    # `if (exists) spin_lock(&l); ... if (exists) spin_unlock(&l);`: the lock is held
    # exactly when the condition is true. Remembering that, the second `if` knows
    # the lock is held in its then-branch and not in its else-branch, and the code
    # after it is unlocked on every path (the condition's variables are assumed
    # unchanged in between, as they are in this idiom).
    def _split_on(self, key: str, state: State) -> tuple[State, State]:
        must, may, reaching = state
        then_must, then_may, else_must, else_may = set(must), set(may), set(must), set(may)
        for token, (cond, when) in self.correlated.items():
            if cond != key or token not in may:
                continue
            held, free = (then_must, else_may) if when else (else_must, then_may)
            held.add(token)
            free.discard(token)
            (else_must if when else then_must).discard(token)
        then_reach = frozenset(r for r in reaching if r[0] in then_may)
        else_reach = frozenset(r for r in reaching if r[0] in else_may)
        return (frozenset(then_must), frozenset(then_may), then_reach), \
            (frozenset(else_must), frozenset(else_may), else_reach)

    def _remember_correlated(self, key: str, before: State, then_out: State, else_out: State) -> None:
        if then_out is None or else_out is None:
            return
        for token in then_out[0] - before[1] - else_out[1]:
            self.correlated[token] = (key, True)
        for token in else_out[0] - before[1] - then_out[1]:
            self.correlated[token] = (key, False)

    def walk_loop(self, node, state: State) -> State:
        body = node.child_by_field_name("body")
        cond = node.child_by_field_name("condition")
        init = node.child_by_field_name("initializer")
        update = node.child_by_field_name("update")
        if init is not None:
            state = self.expr(init, state)
        entry = state
        exit_state: State = None
        for _ in range(3):  # small fixed point: states only grow in `may`, shrink in `must`
            head = entry
            if node.type != "do_statement" and cond is not None:
                head = self.expr(cond, head)
                exit_state = _join(exit_state, head)
            self.loop_breaks.append([])
            self.loop_continues.append([])
            self.break_depths.append(len(self.scope_guards))
            self.continue_depths.append(len(self.scope_guards))
            out = self.walk(body, head) if body is not None else head
            breaks = self.loop_breaks.pop()
            continues = self.loop_continues.pop()
            self.break_depths.pop()
            self.continue_depths.pop()
            for s in continues:
                out = _join(out, s)
            if node.type == "do_statement" and cond is not None:
                out = self.expr(cond, out)
                exit_state = _join(exit_state, out)
            if update is not None:
                out = self.expr(update, out)
            for s in breaks:
                exit_state = _join(exit_state, s)
            new_entry = _join(entry, out)
            if new_entry == entry:
                break
            entry = new_entry
        if node.type == "for_statement" and cond is None:
            return exit_state  # for (;;) leaves only through break
        return exit_state if exit_state is not None or node.type == "do_statement" else entry

    def walk_switch(self, node, state: State) -> State:
        cond = node.child_by_field_name("condition")
        body = node.child_by_field_name("body")
        state = self.expr(cond, state) if cond is not None else state
        if body is None:
            return state
        self.loop_breaks.append([])
        self.break_depths.append(len(self.scope_guards))
        current: State = None
        has_default = False
        for child in _switch_items(body):
            if child.type == "case_statement":
                if child.child_by_field_name("value") is None:
                    has_default = True
                current = _join(current, state)
                for stmt in child.named_children:
                    if stmt == child.child_by_field_name("value") or stmt.type == "comment":
                        continue
                    current = self.walk(stmt, current)
            else:
                current = self.walk(child, current)
        out = current
        for s in self.loop_breaks.pop():
            out = _join(out, s)
        self.break_depths.pop()
        if not has_default:
            out = _join(out, state)
        return out

    def walk_preproc(self, node, state: State) -> State:
        """#if/#ifdef inside a function: the branches are alternatives."""
        alt = node.child_by_field_name("alternative")
        cond = node.child_by_field_name("condition") or node.child_by_field_name("name")
        main = state
        for child in node.named_children:
            if child is alt or child == cond or child.type in ("comment", "identifier"):
                continue
            main = self.walk(child, main)
        other = self.walk(alt, state) if alt is not None else state
        return _join(main, other)


_PREPROC_BRANCHES = ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_else", "preproc_elifdef")


def _switch_items(body):
    """The statements of a switch body, with the cases an `#if` wraps (`#if
    IS_ENABLED(CONFIG_IPV6)` around `case sizeof(struct in6_addr):`) taken out of it:
    each is entered from the switch, holding what the switch holds, not from the
    statement before the `#if` (often a `break`)."""
    for child in body.named_children:
        if child.type in _PREPROC_BRANCHES and any(c.type == "case_statement" for c in child.named_children):
            cond = child.child_by_field_name("condition") or child.child_by_field_name("name")
            inner = [c for c in child.named_children if c != cond and c.type not in ("comment", "identifier")]
            yield from _switch_items_of(inner)
        else:
            yield child


def _switch_items_of(nodes):
    for node in nodes:
        if node.type in _PREPROC_BRANCHES:
            yield from _switch_items(node)
        else:
            yield node


def _pure_condition(cond) -> str | None:
    """The condition's text (squashed) when it calls nothing, else None."""
    if cond is None:
        return None
    stack = [cond]
    while stack:
        n = stack.pop()
        if n.type in ("call_expression", "assignment_expression", "update_expression"):
            return None
        stack.extend(n.children)
    return squash(_text(cond))


def _stored_into(call) -> str:
    """The variable a call's result is stored into (`v = f(..)`, `T *v = f(..)`), or ""."""
    parent = call.parent
    if parent is None:
        return ""
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == call:
        left = parent.child_by_field_name("left")
        return _text(left) if left is not None and left.type == "identifier" else ""
    if parent.type == "init_declarator" and parent.child_by_field_name("value") == call:
        declarator = parent.child_by_field_name("declarator")
        while declarator is not None and declarator.type == "pointer_declarator":
            declarator = declarator.child_by_field_name("declarator")
        return _text(declarator) if declarator is not None and declarator.type == "identifier" else ""
    return ""


def _null_test(cond, transparent: frozenset[str]) -> tuple[str, bool] | None:
    """(variable, whether the condition is true when it is NULL) for `!v`, `v`,
    `v == NULL`, `v != NULL`, through parentheses and likely()/unlikely()."""
    node, negated = cond, False
    while node is not None:
        if node.type == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
        elif node.type == "call_expression" and _text(node.child_by_field_name("function")) in transparent:
            args = [a for a in node.child_by_field_name("arguments").named_children if a.type != "comment"]
            node = args[0] if len(args) == 1 else None
        elif node.type == "unary_expression" and _text(node.child_by_field_name("operator")) == "!":
            negated = not negated
            node = node.child_by_field_name("argument")
        else:
            break
    if node is None:
        return None
    if node.type == "identifier":
        return _text(node), negated
    if node.type == "binary_expression" and _text(node.child_by_field_name("operator")) in ("==", "!="):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        var = left if _text(right) == "NULL" else right if _text(left) == "NULL" else None
        if var is not None and var.type == "identifier":
            is_null = _text(node.child_by_field_name("operator")) == "=="
            return _text(var), is_null != negated
    return None


def analyze_function(body, entry_tokens: list[tuple[Token, str, str]], summaries: dict[str, Summary],
                     scoped_guards: dict[int, tuple[str, str]], labels: dict[str, int] | None = None) -> LockResult:
    """Run the lock walk over one function body (a compound_statement node); `labels`:
    where each of its labels stands (conditions.label_positions)."""
    walker = _Walker(summaries, scoped_guards)
    walker.label_bytes = labels or {}
    walker.entry_tokens = {t for t, _, _ in entry_tokens}
    state: State = EMPTY
    for token, desc, primitive in entry_tokens:
        state = walker._acquire(state, token, desc, body, primitive)
    out = walker.walk(body, state)
    walker.exits.append(out)
    exits = [s for s in walker.exits if s is not None]
    entry_set = {t for t, _, _ in entry_tokens}
    if exits:
        must_all = frozenset.intersection(*(s[0] for s in exits)) - entry_set
        walker.result.summary = Summary(
            acquires=tuple((t, walker.result.info[t][0], walker.result.info[t][3]) for t in sorted(must_all)),
            releases=tuple(sorted(walker.unmatched)),
        )
    return walker.result
