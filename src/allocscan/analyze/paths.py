"""Path validation: does a witness's whole interprocedural path hold together?

A witness is a chain of calls from an atomic origin (a lock held, an entry
point) to an allocation. Each call and the allocation sit inside branches of
their function: the `if` arms they are in, the early exits before them, the
`switch` case. This module collects those conditions along the whole chain and
asks an SMT solver (z3) whether they can hold together, as DSAC does:

- a callee's parameters are the caller's argument expressions (substituted, so
  `sk->sk_state` in the callee and in the caller are one term);
- a local is the value last assigned to it before its use (`pmlmepriv =
  &padapter->mlmepriv`); one assigned on several paths is a choice over its
  assignments, each holding when the path ran it (the `if` arms around it were
  taken): btrfs's `prealloc = NULL; if (nodesize < PAGE_SIZE) prealloc =
  btrfs_alloc_subpage(...);` is the subpage exactly when nodesize < PAGE_SIZE;
  an unknown value is one term only between two changes of the local; a local
  struct with a brace initializer has the initialised fields and zero elsewhere
  (`struct fib6_config cfg = {...}`), and the field stores made to it before
  the call;
- the early exits of every function on the path, the origin's too: the rest
  of the block after `if (!p) goto err;` has p != NULL (up to the label a goto
  lands on, when it follows: p2pdma's `goto done;` lands before its call), and
  an exit the path passes inside an arm (`if (IS_ERR(p)) goto free;`) was not
  taken whenever that arm was;
- a callee that never returns NULL (every return is an address, an
  ERR_PTR(), or a local its own tests show non-NULL) gives a non-NULL result;
  a constructor that stores its parameter into the object it returns
  (`eb->fs_info = fs_info`) makes that field the caller's argument;
- a global struct with a brace initializer that no code writes is a template
  (`&key_type_rxrpc_s` has no `.match_preparse`, so it is NULL);
- a pointer field that the code in scope (the files of the path's functions)
  sets to one template only points to it
  (`shost->transportt = &blank_transport_template` in scsi_host_alloc());
- what every caller of the origin function stores into an object it passes
  (bnx2x_cnic_cfc_comp sets `ctl.cmd = CNIC_CTL_COMPLETION_CMD` before its one
  call of the lock holder);
- when nothing but one call can run the origin function (static, its address never
  taken), the values that call passes: a path that holds only with other values is
  dropped (6.12's btrfs takes its lock in attach_eb_folio_to_filemap(), which
  alloc_extent_buffer() alone calls with the preallocation). That caller's own
  branches are not read: state the path changes after them would read unchanged;
- a parameter the function assigns is, past the assignment, a value of its own
  (dlm's `p = (union dlm_packet *)(p->opts.o_opts + ...)` before the call);
- constants, enumerators and macros are their values; a string literal is a
  non-NULL constant; a call in a condition is an uninterpreted function of its
  arguments (the same call with the same arguments has the same value), but a
  context test is what it returns in the context of the path's entry point
  (in_task() is false in a softirq);
- a callee's allocation under a table condition (`kstrdup_const` of a string
  literal does not allocate) is one more condition.

State changed by code between two conditions (a store in a function called in
between) is not modelled: the same term is assumed to keep its value along the
path, as in DSAC. A witness whose conditions cannot hold together is dropped.

The evidence of a feasible witness is graded: "proven" when every condition in
the callees is implied by what the path knows (or is an early error exit not
taken), "undecided" when one depends on a value the path passes but the
analysis could not decide, "state" when one depends on state the path does not
set (a field, a global, a helper's result).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..exprs import ir_from_text, render
from ..facts import EXIT_ERROR, EXIT_NONE, CallSite
from ..kernel.tables import contexts
from ..link import Program
from .branches import BranchOracle
from .entries import only_called_directly, type_of

MAX_LOCAL_DEPTH = 3  # locals resolved through other locals' assignments
# z3's deterministic work limit per check, in its resource units (a wall-clock timeout
# would make results depend on the machine's load). An answer not found within it counts
# as "sat" does: the limit can keep a witness, never drop one, though a condition it
# leaves unproven grades the witness's evidence down ("undecided", "state"). On the
# whole 6.1 and 6.12 trees every "unsat" took under 1,000 units, and a deliberately
# hard one (x * y == 4099 over 64 bits, both factors above 1) takes 115,000; the dearest
# "sat" answers took up to 3.7 million (6.1; 1.4 s) and 3.95 million (6.12), and z3's
# memory rose to 115 MB for them.
SOLVER_RLIMIT = 250_000
MAX_CALLERS_FOR_FACTS = 8  # callers of the origin read for the values they pass
_CONTAINER_OF = ("container_of", "container_of_const")
PROVEN, UNDECIDED, STATE = "proven", "undecided", "state"
_PASSED = -1  # _Requirement.kind of an early exit the path passes (see _passed_exit)



@dataclass
class Verdict:
    feasible: bool
    evidence: str = PROVEN  # PROVEN | UNDECIDED | STATE
    reason: str = ""  # for an infeasible path or an undecided one: the condition that decides it
    conditions: int = 0  # branch conditions on the path
    state_frame: int = -1  # STATE: the function on the path (0 = origin) whose condition reads that state
    # STATE: the deepest such function: a path may read the driver's state first and an
    # API's own state further down (hid_hw_request()'s transport)
    deepest_state_frame: int = -1


def _mode_test(ir: tuple) -> bool:
    """Is a condition a field compared with a named constant, `ioc->bus_type != SAS`? An
    early exit on it (`goto out;`) leaves for the object's mode: state the path depends
    on, which the verdict names, not an error check a path normally passes."""
    if ir[0] != "bin" or ir[1] not in ("==", "!="):
        return False
    return any(x[0] == "field" and y[0] == "id" and y[1].isupper() for x, y in ((ir[2], ir[3]), (ir[3], ir[2])))


@dataclass
class _Frame:
    node: str
    path: str
    fn: object  # FunctionFacts
    byte: int  # the call (or allocation) this frame's function makes on the path
    args: tuple = ()  # argument IR of the call into this frame (from the frame before)


@dataclass
class _Requirement:
    term: object  # z3 Bool
    frame: int
    kind: int
    text: str
    free: bool = False  # reads a bare parameter/local value (an argument flow), not state


class PathValidator:
    """Checks witnesses with z3, imported on first use (each path in a context of its own)."""

    def __init__(self, program: Program, oracle: BranchOracle):
        self.program = program
        self.oracle = oracle
        self.z3 = None
        self.checked = 0
        self.dropped = 0
        self.over_limit = 0  # solver questions left unanswered within SOLVER_RLIMIT
        self._never_null: dict[str, bool] = {}
        self._stored: dict[tuple[str, str], int | None] = {}

    def never_null(self, node: str) -> bool:
        """Does this function return a pointer that is never NULL: every return gives an
        address, an ERR_PTR(), or a local that its own tests have shown non-NULL
        there (`ret = kzalloc(...); if (!ret) return ERR_PTR(-ENOMEM); ... return
        ret;`)?"""
        known = self._never_null.get(node)
        if known is not None:
            return known
        self._never_null[node] = False  # while in progress (recursion)
        ref = self.program.functions[node]
        returns = ref.fn.pointer_returns
        errors = contexts().error_returns
        ok = bool(returns)
        for byte, text in returns:
            ir = ir_from_text(text)
            while ir[0] == "cast":
                ir = ir[2]
            if ir[0] == "addr" or ir[0] == "str" or (ir[0] == "call" and ir[1] in errors):
                continue
            if ir[0] != "id" or ir[1] not in ref.fn.locals:
                ok = False
                break
            translator = _Translator(self, [_Frame(node, ref.path, ref.fn, byte)], caller_facts=False)
            reqs = translator.requirements()
            value = translator.term(ir, 0, byte)
            if not translator.unsatisfiable([r.term for r in reqs] + [value == translator.bv(0)]):
                ok = False
                break
        self._never_null[node] = ok
        return ok

    def stored_parameter(self, node: str, fname: str) -> int | None:
        """The parameter a constructor stores into field `fname` of what it returns: it
        returns one local (or NULL / an ERR_PTR), and sets `local->fname = param` once,
        outside any `if` arm or loop, after the local's last assignment."""
        key = (node, fname)
        if key in self._stored:
            return self._stored[key]
        self._stored[key] = None
        fn = self.program.functions[node].fn
        names = set()
        errors = contexts().error_returns
        for _, text in fn.pointer_returns:
            ir = ir_from_text(text)
            if ir[0] == "id" and ir[1] != "NULL":
                names.add(ir[1])
            elif not (ir == ("id", "NULL") or ir == ("num", 0) or (ir[0] == "call" and ir[1] in errors)):
                return None
        if len(names) != 1:
            return None
        (local,) = names
        if local not in fn.locals:
            return None
        stores = [a for a in fn.assignments if a.kind == "field" and a.target == fname and a.base == local]
        if len(stores) != 1 or stores[0].op != "=":
            return None
        store = stores[0]
        if any(a.kind == "local" and a.target == local and a.byte > store.byte for a in fn.assignments):
            return None
        if any(ls <= store.byte < le for ls, le in fn.loop_spans):
            return None
        for _, ts, te, es, ee, kind, _ in fn.conditions:
            if ts <= store.byte < te or (kind == EXIT_NONE and es <= store.byte < ee):
                return None
        value = ir_from_text(store.value_text)
        index = next((i for i, (p, _) in enumerate(fn.params) if value == ("id", p)), None)
        self._stored[key] = index
        return index

    def check(self, chain: list[tuple[str, CallSite]], alloc_node: str, alloc_site: CallSite,
              alloc_condition: tuple | None = None, extra: tuple[str, ...] = (),
              context_values: dict[str, bool] | None = None) -> Verdict:
        """Validate the path: `chain` is [(function node, call site)] from the origin
        function to the allocating function, then the allocation `alloc_site` in
        `alloc_node`. `alloc_condition` is a table condition under which the allocator
        does not allocate (("literal", arg index)); `extra` are conditions (source text,
        in the origin frame) known to hold at the origin (a lock taken only under them).
        `context_values` are what the context tests return in the context the path
        runs in (gfpflow.context_test_values): f2fs's end_io passes `in_task() &&
        !irqs_disabled()` down to the test that guards its allocation."""
        verdict = self._check(chain, alloc_node, alloc_site, alloc_condition, extra, context_values)
        if not verdict.feasible:
            return verdict
        caller = self._only_caller(chain[0][0] if chain else alloc_node, chain)
        if caller is None:
            return verdict
        # The origin's one caller: the values it passes are the origin's parameters
        # whenever the origin runs (btrfs's preallocation, there exactly when the callee
        # would allocate). Only a path that fails with them is changed (dropped); the
        # evidence of one that holds stays the origin's own.
        widened = self._check([caller] + list(chain), alloc_node, alloc_site, alloc_condition, extra,
                              context_values, origin=1)
        return widened if not widened.feasible else verdict

    def _only_caller(self, origin: str, chain) -> tuple[str, CallSite] | None:
        """(caller, call) of the one call of `origin` in the program, when nothing else can
        call it (static, its address never taken) and the caller is not on the chain."""
        if not _only_called_directly(self.program, origin):
            return None
        callers = []
        for caller, site in self.program.callers(origin):
            callers.append((caller, site))
            if len(callers) > 1:
                return None
        if len(callers) != 1:
            return None
        caller = callers[0]
        if caller[0] == origin or any(node == caller[0] for node, _ in chain):
            return None  # recursion: the caller's frame would be the origin's own
        return caller

    def _check(self, chain, alloc_node: str, alloc_site: CallSite, alloc_condition, extra, context_values,
               origin: int = 0) -> Verdict:
        """check() of one chain; `origin`: the index of the frame that holds the lock or is
        the entry point (1 when the chain starts at the origin's one caller)."""
        frames = []
        prev_args: tuple = ()
        for node, site in chain:
            ref = self.program.functions[node]
            frames.append(_Frame(node, ref.path, ref.fn, site.byte, prev_args))
            prev_args = site.arguments()
        ref = self.program.functions[alloc_node]
        frames.append(_Frame(alloc_node, ref.path, ref.fn, alloc_site.byte, prev_args))
        translator = _Translator(self, frames, context_values=context_values or {}, values_only=origin)
        reqs = translator.requirements()
        for text in extra:
            reqs.append(_Requirement(translator.boolean(ir_from_text(text), origin), origin, 0, text))
        if alloc_condition is not None:
            req = translator.allocator_condition(alloc_condition, alloc_site)
            if req is not None:
                reqs.append(req)
        if not reqs:
            return Verdict(True, PROVEN, "", 0)
        self.checked += 1
        return translator.solve(reqs)


class _Translator:
    """C condition IR -> z3 terms, with the parameters of each frame bound to the
    argument expressions of the frame before."""

    def __init__(self, validator: PathValidator, frames: list[_Frame], caller_facts: bool = True,
                 context_values: dict[str, bool] | None = None, values_only: int = 0):
        if validator.z3 is None:
            import z3

            validator.z3 = z3
        self.z = validator.z3
        # A context of its own: z3's answers within SOLVER_RLIMIT depend on the terms its
        # context has seen before, so in a shared one a witness's verdict would depend on
        # which questions the scan asked first (an incremental scan's fewer, a test's order).
        self.ctx = self.z.Context()
        self.v = validator
        self.program = validator.program
        self.frames = frames
        self.facts: list = []
        self.fresh = 0
        self.memo: dict = {}
        self.local_structs: dict = {}  # id of a z3 pointer term -> (frame index, local name, byte)
        self.global_structs: dict = {}  # id of a z3 pointer term -> (path, global name)
        # id of a local pointer's z3 term -> (frame index, local name, byte of the assignment
        # it holds): a callee's read through it finds the caller's stores before the call
        self.local_pointers: dict = {}
        self.funcs: dict = {}
        self.transparent = contexts().transparent_calls  # likely(x) is x
        self.caller_facts = caller_facts  # read what the origin's callers pass
        # frames before this one (the origin's one caller, check()) give the values they
        # pass on, not their branches: state the path changes after them (a ring the
        # callee allocates under `if (!ch->rx_ring)`) would read as unchanged
        self.values_only = values_only
        self.context_values = context_values or {}  # in_task() -> False in a softirq ...

    # --- z3 helpers ------------------------------------------------------
    def bv(self, value: int):
        return self.z.BitVecVal(value & ((1 << 64) - 1), 64, self.ctx)

    def sym(self, name: str):
        return self.z.BitVec(name, 64, self.ctx)

    def fresh_sym(self, hint: str = "unk"):
        self.fresh += 1
        return self.z.BitVec(f"{hint}!{self.fresh}", 64, self.ctx)

    def func(self, name: str, arity: int):
        key = (name, arity)
        f = self.funcs.get(key)
        if f is None:
            f = self.funcs[key] = self.z.Function(f"{name}/{arity}", *([self.z.BitVecSort(64, self.ctx)] * (arity + 1)))
        return f

    def truth(self, term):
        return term != self.bv(0)

    # --- requirements ----------------------------------------------------
    def requirements(self) -> list[_Requirement]:
        out = []
        for i, frame in enumerate(self.frames):
            if i < self.values_only:
                continue  # a caller above the origin: the values it passes, not its branches
            for cond, ts, te, es, ee, kind, goes_to in frame.fn.conditions:
                if ts <= frame.byte < te:
                    positive = True
                elif es <= frame.byte < ee:
                    # (an exit's else ends at the label its goto lands on when that label
                    # follows in the block: p2pdma takes the RCU lock after `done:`)
                    positive = False
                else:
                    if kind != EXIT_NONE:
                        passed = self._passed_exit(i, cond, ts, es, kind, goes_to)
                        if passed is not None:
                            out.append(passed)
                    continue
                ir = ir_from_text(cond)
                if kind == EXIT_ERROR and _mode_test(ir):
                    kind = EXIT_NONE  # the object's mode, not an error the path passes
                term = self.boolean(ir, i, at=ts if positive else es)
                free = self._reads_origin_value(term)
                out.append(_Requirement(term if positive else self.z.Not(term), i, kind,
                                        cond if positive else f"!({cond})", free))
        return out

    def _passed_exit(self, i: int, cond: str, ts: int, es: int, kind: int, goes_to: int) -> _Requirement | None:
        """An early exit the path passes on its way to the frame's call without the call
        being in the rest of its block: `if (nodesize < PAGE_SIZE) { p = alloc(); if
        (IS_ERR(p)) goto free; } ... call(p);`. Wherever the path runs through it, it
        did not leave there: the arms that hold the exit imply its condition is false.
        A break/continue (the loop's end may lead to the call), a goto to a label before
        the call, and an exit inside a loop the call is not in (the loop may not run)
        tell nothing."""
        frame = self.frames[i]
        at = ts - 1  # the `if` itself, outside its arm
        if at >= frame.byte or goes_to == 0 or at < goes_to <= frame.byte:
            return None
        if any(ls <= at < le and not ls <= frame.byte < le for ls, le in frame.fn.loop_spans):
            return None
        arms = self._arms_around(i, at, frame.byte)
        if arms is None:
            return None
        z = self.z
        left = self.boolean(ir_from_text(cond), i, at=es)
        term = z.Implies(z.And(*arms), z.Not(left)) if arms else z.Not(left)
        return _Requirement(term, i, _PASSED, f"not leaving at !({cond})")

    def _arms_around(self, i: int, at: int, use: int):
        """The conditions of the `if` arms and switch cases that hold `at` but not `use`
        (taking them is what brings the path to `at`), or None when `at` is in a loop
        `use` is not in (it runs there any number of times, maybe none)."""
        fn = self.frames[i].fn
        if any(ls <= at < le and not ls <= use < le for ls, le in fn.loop_spans):
            return None
        arms = []
        for cond, ts, te, es, ee, kind, _ in fn.conditions:
            if ts <= at < te and not ts <= use < te:
                arms.append(self.boolean(ir_from_text(cond), i, at=ts))
            elif es <= at < ee and not es <= use < ee:
                arms.append(self.z.Not(self.boolean(ir_from_text(cond), i, at=es)))
        return arms

    def _reads_origin_value(self, term) -> bool:
        """Does the condition, once the callee's parameters are the caller's arguments,
        read a value the origin function holds (its parameter or local, `p0:`/`l0:`)
        other than through a field, a call or a dereference? Such a branch is decided by
        what the caller passes: undecided. Any other unknown is state the path does not
        set (a field, a helper's result, a callee's own local)."""
        z = self.z
        stack = [term]
        seen = 0
        while stack and seen < 2000:
            t = stack.pop()
            seen += 1
            if z.is_const(t) and t.decl().kind() == z.Z3_OP_UNINTERPRETED:
                if t.decl().name().startswith(("p0:", "l0:")):
                    return True
                continue
            if t.decl().kind() == z.Z3_OP_UNINTERPRETED:
                continue  # a field, a call, a dereference: state
            stack.extend(t.children())
        return False

    def allocator_condition(self, cond: tuple, site: CallSite) -> _Requirement | None:
        kind, index = cond
        args = site.arguments()
        if kind != "literal" or index >= len(args):
            return None
        last = len(self.frames) - 1
        arg = self._resolve_literal(args[index], last)
        if arg == "literal":
            return _Requirement(self.z.BoolVal(False, self.ctx), last, 0, f"{site.callee}() of a string literal does not allocate")
        return None

    def _resolve_literal(self, ir, frame: int, depth: int = 0):
        """Is this expression (through parameters and single assignments) a string literal?"""
        if depth > 6:
            return None
        if ir[0] == "str":
            return "literal"
        if ir[0] == "cast":
            return self._resolve_literal(ir[2], frame, depth + 1)
        if ir[0] != "id":
            return None
        fn = self.frames[frame].fn
        for i, (p, _) in enumerate(fn.params):
            if p == ir[1]:
                if frame == 0 or i >= len(self.frames[frame].args):
                    return None
                return self._resolve_literal(self.frames[frame].args[i], frame - 1, depth + 1)
        value = self._last_assignment(frame, ir[1], self.frames[frame].byte)
        if value is not None:
            return self._resolve_literal(value.value, frame, depth + 1)
        return None

    def unsatisfiable(self, terms: list) -> bool:
        """Can the path's facts and `terms` not hold together? False when z3 finds them
        satisfiable, and when it gives up within SOLVER_RLIMIT (counted in over_limit)."""
        z = self.z
        solver = z.Solver(ctx=self.ctx)
        solver.set("rlimit", SOLVER_RLIMIT)
        solver.add(*self.facts)
        solver.add(*terms)
        result = solver.check()
        if result == z.unknown:
            self.v.over_limit += 1
        return result == z.unsat

    def solve(self, reqs: list[_Requirement]) -> Verdict:
        z = self.z
        if self.unsatisfiable([r.term for r in reqs]):
            self.v.dropped += 1
            return Verdict(False, "", self._culprit(reqs), len(reqs))
        evidence = PROVEN
        reason = ""
        state: _Requirement | None = None
        deepest = -1
        for k, r in enumerate(reqs):
            if r.frame == 0 or r.kind in (EXIT_ERROR, _PASSED):
                continue  # the origin function's own branches; an exit not taken
            if r.free and evidence != PROVEN or not r.free and r.frame <= deepest:
                continue  # nothing this requirement could change in the verdict
            # decided: what the path knows (its facts and its other conditions) implies it
            implied = self.unsatisfiable([o.term for j, o in enumerate(reqs) if j != k] + [z.Not(r.term)])
            if implied:
                continue
            if r.free:
                evidence, reason = UNDECIDED, r.text
            else:
                state = state or r
                deepest = r.frame
        if state is not None:
            return Verdict(True, STATE, state.text, len(reqs), state.frame, deepest)
        return Verdict(True, evidence, reason, len(reqs))

    def _culprit(self, reqs: list[_Requirement]) -> str:
        """The last requirement without which the path is feasible: the branch to blame."""
        for k in range(len(reqs) - 1, -1, -1):
            if not self.unsatisfiable([r.term for j, r in enumerate(reqs) if j != k]):
                f = self.frames[reqs[k].frame]
                return f"{self.program.functions[f.node].fn.name}(): {reqs[k].text}"
        return ""

    # --- translation -----------------------------------------------------
    def boolean(self, ir, frame: int, at: int | None = None):
        z = self.z
        kind = ir[0]
        if kind == "un" and ir[1] == "!":
            return z.Not(self.boolean(ir[2], frame, at))
        if kind == "bin" and ir[1] in ("&&", "||"):
            a, b = self.boolean(ir[2], frame, at), self.boolean(ir[3], frame, at)
            return z.And(a, b) if ir[1] == "&&" else z.Or(a, b)
        if kind == "bin" and ir[1] in ("==", "!=", "<", ">", "<=", ">="):
            a, b = self.term(ir[2], frame, at), self.term(ir[3], frame, at)
            return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, ">": lambda: a > b,
                    "<=": lambda: a <= b, ">=": lambda: a >= b}[ir[1]]()
        if kind == "call" and ir[1] in self.transparent and len(ir[2]) == 1:
            return self.boolean(ir[2][0], frame, at)
        return self.truth(self.term(ir, frame, at))

    def term(self, ir, frame: int, at: int | None = None, depth: int = 0):
        z = self.z
        kind = ir[0]
        if depth > 12:
            return self.fresh_sym()
        if kind == "num":
            return self.bv(ir[1])
        if kind == "str":
            t = self.sym(f"str:{ir[1][:40]}")
            self.facts.append(t != self.bv(0))
            return t
        if kind == "id":
            return self.identifier(ir[1], frame, at, depth)
        if kind == "cast":
            return self.term(ir[2], frame, at, depth + 1)
        if kind == "field":
            return self.field(ir, frame, at, depth)
        if kind == "addr":
            return self.address(ir[1], frame, at, depth)
        if kind == "bin":
            op = ir[1]
            if op in ("&&", "||", "==", "!=", "<", ">", "<=", ">="):
                return z.If(self.boolean(ir, frame, at), self.bv(1), self.bv(0))
            a, b = self.term(ir[2], frame, at, depth + 1), self.term(ir[3], frame, at, depth + 1)
            ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "&": lambda: a & b,
                   "|": lambda: a | b, "^": lambda: a ^ b, "<<": lambda: a << b, ">>": lambda: z.LShR(a, b)}
            return ops[op]() if op in ops else self.fresh_sym("op")
        if kind == "un":
            if ir[1] == "!":
                return z.If(self.boolean(ir[2], frame, at), self.bv(0), self.bv(1))
            inner = self.term(ir[2], frame, at, depth + 1)
            return {"-": lambda: -inner, "~": lambda: ~inner, "+": lambda: inner}.get(ir[1], lambda: inner)()
        if kind == "cond":
            return z.If(self.boolean(ir[1], frame, at), self.term(ir[2], frame, at, depth + 1),
                        self.term(ir[3], frame, at, depth + 1))
        if kind == "call":
            name = ir[1]
            if name in self.transparent and len(ir[2]) == 1:
                return self.term(ir[2][0], frame, at, depth + 1)
            if name in _CONTAINER_OF and len(ir[2]) == 3:
                back = self._member_owner(ir, frame, at, depth)
                if back is not None:
                    return back
            if name and name[:1].isupper():
                value = self.v.oracle.value(ir, {}, self.frames[frame].path)
                if isinstance(value, int):
                    return self.bv(value)
            if not name:
                return self.fresh_sym("icall")
            if name in self.context_values and not ir[2]:
                return self.context_test(name)
            args = [self.term(a, frame, at, depth + 1) for a in ir[2]]
            t = self.func(f"call:{name}", len(args))(*args) if args else self.sym(f"call:{name}()")
            callee = self._callee(name, frame)
            if callee is not None and self.v.never_null(callee):
                self.facts.append(t != self.bv(0))  # btrfs_alloc_subpage(): a subpage or ERR_PTR
            return t
        if kind == "deref":
            return self.func("deref", 1)(self.term(ir[1], frame, at, depth + 1))
        if kind == "idx":
            return self.func("idx", 2)(self.term(ir[1], frame, at, depth + 1), self.term(ir[2], frame, at, depth + 1))
        if kind == "unk" and _updates(ir[1]):
            # `*buff++ == 0x42 && *buff++ == 0x42 && *buff++ == 0x03` reads three bytes: an
            # increment or an assignment gives a new value at each occurrence
            return self.fresh_sym("update")
        # (sizeof, a statement expression ...): the same text in a frame is one value, so that
        # `kzalloc(sizeof(*p), ...)` in a test and in the assignment it tests are one call
        return self.sym(f"x{frame}:{render(ir)[:80]}")

    def _member_owner(self, ir, frame: int, at: int | None, depth: int):
        """container_of(&x->member, type, member) is x: a work handler's container_of() of
        the `&w->work` its caller passed is that caller's `w`."""
        member = render(ir[2][2]).strip()
        ptr = self.term(ir[2][0], frame, at, depth + 1)
        z = self.z
        if z.is_app(ptr) and ptr.decl() == self.func("addr", 1):
            inner = ptr.arg(0)
            if z.is_app(inner) and inner.decl() == self.func(f"fld:{member}", 1):
                return inner.arg(0)
        return None

    def context_test(self, name: str):
        """in_task() and its kind in the path's context: 0 when it answers false, a
        nonzero value (in_interrupt() returns a count mask) when it answers true."""
        if not self.context_values[name]:
            return self.bv(0)
        t = self.sym(f"ctx:{name}")
        self.facts.append(t != self.bv(0))
        return t

    def identifier(self, name: str, frame: int, at: int | None, depth: int):
        f = self.frames[frame]
        fn = f.fn
        if name in ("true", "false", "NULL"):
            return self.bv(1 if name == "true" else 0)
        for i, (p, _) in enumerate(fn.params):
            if p == name:
                changes = self._epoch(frame, name, at if at is not None else f.byte)
                if changes != "0":
                    # `p = (union dlm_packet *)(p->opts.o_opts + ...)`: past its own
                    # assignment a parameter is no longer what the caller passed
                    return self.sym(f"l{frame}:{name}@{changes}")
                if frame > 0 and i < len(f.args):
                    return self.term(f.args[i], frame - 1, self.frames[frame - 1].byte, depth + 1)
                sym = self.sym(f"p{frame}:{name}")
                if frame == 0 and self.caller_facts:
                    self._caller_facts(i, sym)
                return sym
        if name in fn.locals or name in fn.inits:
            use = at if at is not None else f.byte
            if name in fn.inits:
                return self._local_struct_pointer(frame, name, use, addressed=False)
            value = self._last_assignment(frame, name, use)
            if value is not None and depth < MAX_LOCAL_DEPTH * 4 and not _reads(value.value_text, name):
                t = self.term(value.value, frame, value.byte, depth + 1)
                self.local_pointers.setdefault(t.get_id(), (frame, name, value.byte))
                return t
            if value is None and depth < MAX_LOCAL_DEPTH * 4:
                folded = self._local_value(frame, name, use, depth)
                if folded is not None:
                    return folded
            return self.sym(f"l{frame}:{name}@{value.byte if value is not None else self._epoch(frame, name, use)}")
        if name[:1].isupper():
            value = self.v.oracle.value(("id", name), {}, f.path)
            if isinstance(value, int):
                return self.bv(value)
            return self.sym(f"c:{name}")
        return self.sym(f"g:{name}")

    def _last_assignment(self, frame: int, name: str, byte: int):
        """The assignment that gives local `name` its value at `byte`: its only one, when it
        comes before, names an object or a call's result rather than a constant (counters
        and flags change by `i++`, unseen), and no call is handed the local's address
        (`f(&len)` may set it). None: unknown."""
        fn = self.frames[frame].fn
        best = None
        for a in fn.assignments:
            if a.kind == "local" and a.target == name:
                if a.byte >= byte or best is not None:
                    return None  # assigned more than once: a loop or a branch may bring another
                best = a
        if best is None or best.op != "=":
            return None
        if (best.value[0] in ("num", "un", "bin") and not _flag_test(best.value) and not _flag_set(best.value)) or \
                best.value_text.strip() in ("NULL", "false", "true"):
            # a counter or a flag starting at a constant: `i++` and the like are not seen
            return None
        addressed = "&" + name
        if any(addressed in site.args_text and _takes_address(site.args_text, name) for site in fn.calls):
            return None
        return best

    def _epoch(self, frame: int, name: str, use: int) -> str:
        """Which changes of a local may give it its unknown value at `use`: its
        assignments (any operator) and calls handed its address before `use`, less
        those a later one surely overwrites on the way (one outside any `if` arm or
        loop that `use` is not in). Two points with the same changes see one value;
        `buf = find(); if (buf) return buf; buf = alloc(); if (!buf) return -ENOMEM;`
        tests two, and `p = NULL; if (c) { p = f(); if (!p) goto err; } g(p);` tests
        f()'s result inside the arm and NULL-or-f() at the call."""
        fn = self.frames[frame].fn
        changes = [a.byte for a in fn.assignments if a.kind == "local" and a.target == name and a.byte < use]
        addressed = "&" + name
        changes += [c.byte for c in fn.calls
                    if c.byte < use and addressed in c.args_text and _takes_address(c.args_text, name)]
        changes.sort()
        reaching = []
        for k, byte in enumerate(changes):
            if not any(_surely_runs(fn, later, use) for later in changes[k + 1:]):
                reaching.append(byte)
        return "+".join(map(str, reaching)) or "0"

    def _assignments_to(self, frame: int, name: str, use: int):
        """The assignments of local `name` that may give it its value at `use`, in order,
        or None when they cannot say: one after `use` (a loop may bring it back), a
        compound one (`n += x`), its address handed to a call, or a non-pointer local
        set to a constant (a counter or flag: `i++` is not seen)."""
        fn = self.frames[frame].fn
        defs = sorted((a for a in fn.assignments if a.kind == "local" and a.target == name), key=lambda a: a.byte)
        if not defs or any(a.byte >= use or a.op != "=" for a in defs):
            return None
        if "*" not in fn.locals.get(name, "") and \
                any(a.value[0] in ("num", "un", "bin") or a.value_text.strip() in ("NULL", "false", "true") for a in defs):
            return None
        addressed = "&" + name
        if any(addressed in site.args_text and _takes_address(site.args_text, name) for site in fn.calls):
            return None
        return defs

    def _local_value(self, frame: int, name: str, use: int, depth: int):
        """The value of a local assigned on several paths, as a choice over its
        assignments: each one holds when the path ran it, that is when the `if` arms
        around it (and not around `use`) were taken; the last one the path runs
        whatever it takes is the default. btrfs's `prealloc = NULL; if (nodesize <
        PAGE_SIZE) { prealloc = btrfs_alloc_subpage(...); ... }` is the subpage when
        nodesize < PAGE_SIZE, NULL otherwise. None when the assignments cannot say."""
        key = (frame, name, use)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None  # (a guard reading this very value sees it unknown)
        defs = self._assignments_to(frame, name, use)
        if defs is None or len(defs) < 2:
            return None
        z = self.z
        guards = [self._arms_around(frame, a.byte, use) for a in defs]
        sure = [k for k, g in enumerate(guards) if g is not None and not g]
        start = sure[-1] if sure else None
        loops = self.frames[frame].fn.loop_spans
        for ls, le in loops:
            # a loop around `use` whose body assigns the local: the value may come from
            # the round before, unless an assignment in the body always runs first
            if ls <= use < le and any(ls <= a.byte < le for a in defs[start or 0:]) and \
                    (start is None or not ls <= defs[start].byte < le):
                start = None
        if start is None:
            value = self.sym(f"l{frame}:{name}@entry")
        else:
            value = self.term(defs[start].value, frame, defs[start].byte, depth + 1)
        later = list(zip(defs, guards))[(start + 1 if start is not None else 0):]
        for a, g in later:
            taken = z.Bool(f"ran!{self._next()}", self.ctx) if g is None else z.And(*g) if g else z.BoolVal(True, self.ctx)
            value = z.If(taken, self.term(a.value, frame, a.byte, depth + 1), value)
        if start is not None and not later:  # the one assignment that reaches `use`
            self.local_pointers.setdefault(value.get_id(), (frame, name, defs[start].byte))
        self.memo[key] = value
        return value

    def _callee(self, name: str, frame: int) -> str | None:
        """The one function node a direct call of `name` in this frame's file reaches."""
        nodes = self.program.resolve(self.frames[frame].path, name)
        return nodes[0] if len(nodes) == 1 else None

    def _next(self) -> int:
        self.fresh += 1
        return self.fresh

    def _sure_value(self, frame: int, name: str, use: int):
        """The assignment that surely gives local `name` its value at `use`: its last one,
        when the path runs it whatever it takes (no `if` arm around it but not around
        `use`, no loop), or None."""
        value = self._last_assignment(frame, name, use)
        if value is not None:
            return value
        defs = self._assignments_to(frame, name, use)
        if not defs:
            return None
        last = defs[-1]
        return last if self._arms_around(frame, last.byte, use) == [] else None

    def _call_behind(self, ir, frame: int, at: int | None, depth: int = 0):
        """(call IR, frame, byte) of the call whose result an expression is: the call
        itself, a local surely set from it, or a parameter the caller passed such a
        value for."""
        while depth < 6:
            depth += 1
            if ir[0] == "call":
                return ir, frame, at
            if ir[0] == "cast":
                ir = ir[2]
                continue
            if ir[0] != "id":
                return None
            f = self.frames[frame]
            index = next((i for i, (p, _) in enumerate(f.fn.params) if p == ir[1]), None)
            if index is not None:
                if frame == 0 or index >= len(f.args):
                    return None
                ir, frame, at = f.args[index], frame - 1, self.frames[frame - 1].byte
                continue
            if ir[1] not in f.fn.locals:
                return None
            a = self._sure_value(frame, ir[1], at if at is not None else f.byte)
            if a is None:
                return None
            ir, at = a.value, a.byte
        return None

    def address(self, ir, frame: int, at: int | None, depth: int):
        """`&x`: a non-NULL pointer; `&local_struct` and `&global_template` remember what
        they point to, so that a field read through them finds its initializer."""
        f = self.frames[frame]
        if ir[0] == "id":
            name = ir[1]
            if name in f.fn.inits or (name in f.fn.locals and not any(p == name for p, _ in f.fn.params)):
                return self._local_struct_pointer(frame, name, at if at is not None else f.byte, addressed=True)
            if name not in f.fn.locals and not any(p == name for p, _ in f.fn.params):
                found = self._global_init(name, f.path)
                t = self.sym(f"&g:{name}")
                self.facts.append(t != self.bv(0))
                if found is not None:
                    self.global_structs[t.get_id()] = found
                return t
        inner = self.term(ir, frame, at, depth + 1)
        t = self.func("addr", 1)(inner)
        self.facts.append(t != self.bv(0))
        return t

    def _local_struct_pointer(self, frame: int, name: str, byte: int, addressed: bool):
        t = self.sym(f"&l{frame}:{name}")
        self.facts.append(t != self.bv(0))
        self.local_structs[t.get_id()] = (frame, name, byte)
        return t

    def _global_init(self, name: str, path: str):
        """Where the brace initializer of global `name` is: in the file itself, else the
        one file that defines it (`key_type_rxrpc_s` is defined in server_key.c and
        passed by security.c)."""
        ff = self.program.file(path)
        if ff is not None and name in ff.init_names:
            return path, name
        found = self.program.global_init_files().get(name, ())
        return (found[0], name) if len(found) == 1 else None

    def field(self, ir, frame: int, at: int | None, depth: int):
        base_ir, fname = ir[1], ir[2]
        base = self.term(base_ir, frame, at, depth + 1) if ir[3] else self._dot_base(base_ir, frame, at, depth)
        local = self.local_structs.get(base.get_id())
        if local is not None:
            value = self._local_field(local, fname)
            if value is not None:
                return value
        glob = self.global_structs.get(base.get_id())
        if glob is not None:
            value = self._global_field(glob, fname)
            if value is not None:
                return value
        if ir[3]:
            value = self._stored_before_call(base, fname, frame)
            if value is not None:
                return value
            value = self._written(base_ir, fname, frame)
            if value is not None:
                return value
            value = self._constructed(base_ir, fname, frame, at, depth)
            if value is not None:
                return value
        return self.func(f"fld:{fname}", 1)(base)

    def _stored_before_call(self, base, fname: str, frame: int):
        """`ew->ib_dev` read in a callee, where `ew` is a local pointer of a caller on the path
        that stored `ew->ib_dev = ibdev` after pointing `ew` at its object and before the
        call: the value stored (mlx4_ib_event() fills a work item and runs its handler
        at once, which reads the device back). The caller's own reads keep their terms."""
        found = self.local_pointers.get(base.get_id())
        if found is None or found[0] >= frame:
            return None
        owner, name, assigned = found
        call = self.frames[owner].byte
        stores = [a for a in self.frames[owner].fn.assignments
                  if a.kind == "field" and a.target == fname and a.base == name and assigned < a.byte < call]
        if not stores:
            return None
        last = max(stores, key=lambda a: a.byte)
        return self.term(last.value, owner, last.byte, 1) if last.op == "=" else None

    def _constructed(self, base_ir, fname: str, frame: int, at: int | None, depth: int):
        """`eb->fs_info` of an `eb` a constructor returned: the argument it stores there
        (__alloc_extent_buffer(fs_info, ...) sets `eb->fs_info = fs_info` on its one
        path), as the same term the caller's own `fs_info` is."""
        found = self._call_behind(base_ir, frame, at)
        if found is None:
            return None
        call, cframe, cat = found
        callee = self._callee(call[1], cframe) if call[1] else None
        if callee is None:
            return None
        index = self.v.stored_parameter(callee, fname)
        if index is None or index >= len(call[2]):
            return None
        return self.term(call[2][index], cframe, cat, depth + 1)

    def _written(self, base_ir, fname: str, frame: int):
        """The one template the code in scope points this field to: the writers in the
        files of the path's functions (another file's stores are into its own objects,
        a transport of its own: uhid sets `hid->ll_driver` for its devices, not for a
        USB driver's). scsi_host_alloc() sets
        `shost->transportt = &blank_transport_template` and no fas216 driver sets it."""
        f = self.frames[frame]
        stype = type_of(self.program, f.path, f.fn, base_ir)
        writers = self.program.field_writers_of((stype, fname)) if stype else None
        if not writers:
            return None
        files = {fr.path for fr in self.frames}
        values = set()
        for path, wfn in writers:
            if path not in files:
                continue
            if wfn is not None:
                stores = wfn.assignments
            else:  # a file-scope table's designated initializer (`.ops = &demo_ops`)
                ff = self.program.file(path)
                stores = ff.field_inits if ff is not None else ()
            for a in stores:
                if a.kind == "field" and a.target == fname and (
                        a.struct_type == stype
                        or (not a.struct_type and a.receiver and self.program.receiver_struct(a.receiver, path) == stype)):
                    if a.op != "=":
                        return None
                    values.add((path, a.value_text.strip()))
        if len(values) != 1:
            return None
        path, text = values.pop()
        value_ir = ir_from_text(text)
        # only a template pointer: scalar fields are as often set by initializers and
        # copies, which are not stores this index sees
        if value_ir[0] == "addr" and value_ir[1][0] == "id":
            name = value_ir[1][1]
            t = self.sym(f"&g:{name}")
            self.facts.append(t != self.bv(0))
            ff = self.program.file(path)
            if ff is not None and name in ff.init_names:
                self.global_structs[t.get_id()] = (path, name)
            return t
        return None

    def _dot_base(self, base_ir, frame: int, at: int | None, depth: int):
        """`x.f`: the base object is x itself; give it the pointer term `&x` has."""
        if base_ir[0] == "id":
            return self.address(base_ir, frame, at, depth + 1)
        if base_ir[0] == "field":  # a.b.c: the pointer to the inner struct
            return self.func("addr", 1)(self.field(base_ir, frame, at, depth + 1))
        return self.term(base_ir, frame, at, depth + 1)

    def _local_field(self, local, fname: str):
        frame, name, byte = local
        fn = self.frames[frame].fn
        best = None
        for a in fn.assignments:
            if a.kind == "field" and a.target == fname and a.base in (name, f"&{name}") and a.byte < byte and \
                    (best is None or a.byte > best.byte):
                best = a
        if best is not None:
            return self.term(best.value, frame, best.byte, 1) if best.op == "=" else self.fresh_sym()
        init = fn.inits.get(name)
        if init is None:
            return None
        for path, text in init:
            if path == fname:
                return self.term(ir_from_text(text), frame, byte, 1)
        if any(p == fname or p.startswith(fname + ".") for p, _ in init) or _positional_values(init):
            return None  # a nested struct (not a scalar), or members set by position
        if any(self._escapes(frame, name, byte)):
            return None
        return self.bv(0)  # not named in the initializer: zero

    def _escapes(self, frame: int, name: str, byte: int):
        """Calls before `byte` that are handed the local's address (they may fill it)."""
        for site in self.frames[frame].fn.calls:
            if site.byte < byte and f"&{name}" in site.args_text.replace(" ", ""):
                yield site

    def _global_field(self, glob, fname: str):
        path, name = glob
        ff = self.program.file(path)
        init = ff.global_inits.get(name, ()) if ff is not None else ()
        struct = ff.global_types.get(name, "").replace("const ", "").replace("struct ", "").strip() if ff else ""
        if struct and self.program.field_writers_of((struct, fname)):
            return None  # some code writes the field: not a template
        for p, text in init:
            if p == fname:
                return self.term(ir_from_text(text), 0, None, 1) if not _is_function_name(self.program, text) \
                    else self.sym(f"&fn:{text}")
        if any(p.startswith(fname + ".") for p, _ in init) or _positional_values(init):
            return None  # a nested struct, or members set by position
        return self.bv(0)

    # --- what the callers of the origin pass ------------------------------
    def _caller_facts(self, index: int, sym) -> None:
        """A value every caller of the origin function passes for its parameter `index`:
        a constant argument, or the fields they store into a local struct they pass."""
        origin = self.frames[0]
        if not _only_called_directly(self.program, origin.node):
            return  # a pointer to it may call it with anything
        callers = []
        for caller, site in self.program.callers(origin.node):
            callers.append((caller, site))
            if len(callers) > MAX_CALLERS_FOR_FACTS:
                return
        if not callers:
            return
        values = []
        for caller, site in callers:
            args = site.arguments()
            if index >= len(args):
                return
            values.append((caller, site, args[index]))
        consts = [self.v.oracle.value(a, {}, self.program.functions[c].path) for c, _, a in values]
        if all(isinstance(x, int) for x in consts) and len(set(consts)) == 1:
            self.facts.append(sym == self.bv(consts[0]))
            return
        # &local struct in every caller: the fields they all set alike
        per_caller = []
        for caller, site, arg in values:
            if arg[0] != "addr" or arg[1][0] != "id":
                return
            per_caller.append(self._struct_fields(caller, arg[1][1], site.byte))
        common = set(per_caller[0].items())
        for fields in per_caller[1:]:
            common &= set(fields.items())
        for fname, value in common:
            self.facts.append(self.func(f"fld:{fname}", 1)(sym) == self.bv(value))

    def _struct_fields(self, node: str, name: str, byte: int) -> dict[str, int]:
        """Constant fields of a local struct at `byte` in `node`: its initializer, then the
        stores made to it before the call."""
        ref = self.program.functions[node]
        out: dict[str, int] = {}
        for p, text in ref.fn.inits.get(name, ()):
            value = self.v.oracle.value(ir_from_text(text), {}, ref.path)
            if isinstance(value, int) and "." not in p and "#" not in p:
                out[p] = value
        for a in sorted(ref.fn.assignments, key=lambda a: a.byte):
            if a.kind == "field" and a.base == name and a.byte < byte:
                value = self.v.oracle.value(a.value, {}, ref.path) if a.op == "=" else None
                if isinstance(value, int):
                    out[a.target] = value
                else:
                    out.pop(a.target, None)
        return out


_UPDATE = re.compile(r"\+\+|--|(?<![=!<>])=(?!=)")


def _updates(text: str) -> bool:
    """Does an expression change what it reads (`p++`, `--n`, `x = f()`, `n += 4`)?"""
    return _UPDATE.search(text) is not None


def _is_function_name(program: Program, text: str) -> bool:
    text = text.strip().lstrip("&")
    return text in program.by_name


def _positional_values(init) -> bool:
    """Does a brace initializer set members by position to anything but zero/NULL?"""
    return any("#" in p.split(".")[0] and text.strip() not in ("0", "NULL", "false", "{}", "{ }")
               for p, text in init)


_SIZEOF = re.compile(r"\bsizeof\s*(?:\((?:[^()]|\([^()]*\))*\)|\**\s*\w+)")


def _reads(text: str, name: str) -> bool:
    """Does an expression read the variable `name` (not a member of that name, not
    inside sizeof)? `buf->fs` does not read a local `fs`; `p->next` reads `p`."""
    return re.search(rf"(?<![\w.>]){re.escape(name)}\b", _SIZEOF.sub(" ", text)) is not None


def _surely_runs(fn, at: int, use: int) -> bool:
    """Does every path to `use` run the statement at `at`, as far as the `if` arms,
    switch cases and loops say (no arm or loop holds `at` without holding `use`)?"""
    if any(ls <= at < le and not ls <= use < le for ls, le in fn.loop_spans):
        return False
    for _, ts, te, es, ee, _, _ in fn.conditions:
        if (ts <= at < te and not ts <= use < te) or (es <= at < ee and not es <= use < ee):
            return False
    return True


_TESTS = frozenset({"&", "==", "!=", "<", ">", "<=", ">=", "&&", "||"})


def _flag_test(ir: tuple) -> bool:
    """Is `ir` a test of other values, not a count (`is_local = flags & QP_LOCAL`,
    `same = a == b`, `!p`)? A local set once to one is that test wherever it is read."""
    if ir[0] == "un":
        return ir[1] == "!"
    return ir[0] == "bin" and ir[1] in _TESTS and not (ir[2][0] == "num" and ir[3][0] == "num")


def _flag_set(ir: tuple) -> bool:
    """Is `ir` an or of named flags (`TEE_SHM_USER_MAPPED | TEE_SHM_DYNAMIC`)? A local set
    once to one is a set of flags, not a counter a later `i++` moves."""
    if ir[0] != "bin" or ir[1] != "|":
        return False
    return all(side[0] == "id" and side[1][:1].isupper() or _flag_set(side) for side in (ir[2], ir[3]))


def _takes_address(args_text: str, name: str) -> bool:
    """Does an argument list hand over `&name` (not `&name->f`/`&name.f`)?"""
    for arg in args_text.split(","):
        a = "".join(arg.split())
        if a == "&" + name or a.startswith("&" + name + "[") or a == "(void*)&" + name:
            return True
    return False


def _only_called_directly(program: Program, node: str) -> bool:
    """rose_route_frame() is called with ax25 == NULL by the loopback, and through the
    protocol table with a real one: what its direct callers pass is not all it gets."""
    return only_called_directly(program, node)
