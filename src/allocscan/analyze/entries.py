"""Entry points: the driver functions the kernel calls in atomic context, and why.

Three ways a function becomes one (all from `data/entries.toml`):

- a registration that arms the callback itself (`request_irq`, `netif_napi_add`,
  `call_rcu`): the kernel may run it from then on;
- an ops field the kernel calls atomically, bound by a designated initializer or
  an assignment (`.ndo_start_xmit = foo_xmit`);
- an armed callback: a timer, hrtimer, tasklet, irq_work, URB or usb_request runs
  the function bound to its object *when it is armed*. A binder
  (`timer_setup(&p->t, fn)`, `t->function = fn`) binds a function to an object,
  an arming call (`add_timer(&p->t)`, `tasklet_schedule`) arms it. Objects are
  keyed by their field path (struct type and field, `&priv->timer`), a global,
  or a local. An arming call runs the binding made last before it in the same
  function (or in the caller that passes the object to an arming helper); with
  none there, every binding of that object may. A function bound but reached by
  no arming call is no entry point: cpqphp binds `slot->task_event` to
  cpqhp_pushbutton_thread at init, but re-binds it to pushbutton_helper_thread
  right before its only add_timer().

Registrations of process context (work items, kthreads, threaded handlers) are
kept apart: nothing atomic flows into them.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace

from ..exprs import IDENT_RE, ir_from_text, render, split_args
from ..facts import IS_INIT, CallSite, FileFacts, FunctionFacts
from ..kernel.tables import ArmedKind, ContextTables
from ..link import TARGET_ARCH, Program, directory_of
from .witness import BIND, ENTRY, Step, Witness

MAX_ARM_CALLER_DEPTH = 2  # helpers an object is passed through to its arming call

# An object key: ("field", struct type or "", field), ("var", directory, name), or
# ("any", directory) for an object the analysis cannot name (a local from an
# allocator, a pointer it cannot follow): it matches any binding or arm there.
Key = tuple


@dataclass(frozen=True)
class Binder:
    kind: ArmedKind
    function: str  # node of the bound callback
    key: Key
    path: str
    line: int
    col: int
    holder: str  # node of the function making the binding ("" at file scope)
    byte: int
    text: str  # `timer_setup(&slot->task_event, fn)`


@dataclass(frozen=True)
class Arm:
    kind: ArmedKind
    key: Key
    path: str
    line: int
    col: int
    holder: str  # node of the function that makes the arming call
    context: tuple[str, int]  # (node, byte) where the binding that reaches it is looked for
    callee: str
    mode: tuple | None = None  # IR of the call's mode argument, when its kind has one
    # (node, byte) of the call that handed the object to this arming helper as an argument
    # (a driver's register_netevent_notifier(&nb)), or None
    handed: tuple[str, int] | None = None


@dataclass
class Entries:
    atomic: dict[str, list[Witness]]  # node -> witnesses of its atomic entry
    process: dict[str, str]  # node -> "workqueue (INIT_WORK)", ...


class _Wanted:
    """The functions whose atomic entries are asked for (None: all), those whose
    process-context registrations are, and their names, which a registration's or
    binding's text must name to make one of them an entry."""

    def __init__(self, only: set[str] | None, program: Program, process: set[str] | None = None):
        self.only = only
        self.process = only if process is None or only is None else only | process
        self.by_name = program.by_name

    def __contains__(self, node: str) -> bool:
        return self.only is None or node in self.only

    def wants_process(self, node: str) -> bool:
        return self.process is None or node in self.process

    def may_name(self, text: str) -> bool:
        # through by_name, not a set of the names asked for: an incremental scan asks
        # for 50,000 functions, and most sites are never tested
        if self.process is None:
            return True
        process, by_name = self.process, self.by_name
        return any(node in process for word in IDENT_RE.findall(text) for node in by_name.get(word, ()))


def find_entries(program: Program, tables: ContextTables, oracle=None, compiled=None,
                 only: set[str] | None = None, only_process: set[str] | None = None) -> Entries:
    """`oracle` (a BranchOracle) evaluates an arming call's mode argument; `compiled`
    (a preproc.CompiledCode) says which #if branches no build compiles: a
    registration or arming call there, or a callback defined there, is none.
    `only`, when given, are the functions whose entries are asked for: the others
    are left out, and so is the work that could only find theirs (an arming call
    whose object no binding of one of `only` may be; its binding of another
    function is still seen, as it may be the one the call runs). `only_process` adds
    functions whose process-context registrations (a work item's) are asked for."""
    found = Entries({}, {})
    wanted = _Wanted(only, program, only_process)
    sites = _callback_sites(program)
    if compiled is not None:
        sites = [(ff, fn, s) for ff, fn, s in sites if not compiled.dead(ff.path, s.byte)]
    _registrations(program, found, tables, sites, wanted)
    _ops_fields(program, found, tables, wanted)
    _armed(program, found, tables, sites, oracle, wanted)
    if compiled is not None:
        for node in [n for n in found.atomic if compiled.dead(program.functions[n].path,
                                                              program.functions[n].fn.start_byte)]:
            del found.atomic[node]
    return found


def _callback_sites(program: Program) -> list[tuple[FileFacts, FunctionFacts | None, CallSite]]:
    """Every call that registers, binds or arms a callback (its callee is one of the
    tables' callback_calls), with its file and function: the file-scope ones
    (DEFINE_TIMER, ...) and those the link found in functions (Program.registrar_calls)."""
    out = []
    registering = program.registrar_calls
    for ff in program.files:
        out.extend((ff, None, s) for s in ff.top_calls)
        out.extend((ff, fn, s) for fn, s in registering.get(ff.path, ()))
    return out


def function_arg(program: Program, path: str, ir) -> str | None:
    """The function node an argument names (`foo` or `&foo`), or None."""
    if ir is None:
        return None
    if ir[0] == "addr":
        ir = ir[1]
    if ir[0] != "id":
        return None
    name = ir[1]
    candidates = program.by_name.get(name, ())
    local = [n for n in candidates if n.startswith(f"{path}::")]
    if local:
        return local[0]
    glob = [n for n in candidates if "::" not in n]
    return glob[0] if len(glob) == 1 else None


def _registrations(program: Program, found: Entries, tables: ContextTables, sites, wanted: _Wanted) -> None:
    for ff, fn, site in sites:
        regs = tables.registrations.get(site.callee)
        if not regs or not wanted.may_name(site.args_text):
            continue
        args = site.arguments()
        for reg in regs:
            if reg.arg >= len(args):
                continue
            target = function_arg(program, ff.path, args[reg.arg])
            if target is None:
                continue
            cls, _, kind = reg.context.partition(":")
            if cls == "process":
                if wanted.wants_process(target):
                    found.process[target] = f"{kind or 'process'} ({site.callee})"
                continue
            if target not in wanted:
                continue
            handler = program.functions[target].fn.name
            reason = f"{reg.context}: {handler} ({site.callee})"
            step = Step(ENTRY, f"{handler}() registered with {site.callee}(): runs in {reg.context}",
                        ff.path, site.line, site.col, function=handler, callee=site.callee, context=reg.context)
            found.atomic.setdefault(target, []).append(Witness("must", reason, (step,), 0, origin=target))


def _ops_fields(program: Program, found: Entries, tables: ContextTables, wanted: _Wanted) -> None:
    by_field: dict[str, list] = {}
    for fc in tables.fields:
        by_field.setdefault(fc.field, []).append(fc)
    binding = program.context_bindings
    mentions = _ModuleMentions(program)
    for ff in program.files:
        for b in binding.get(ff.path, ()):
            specs = by_field.get(b.field)
            if not specs:
                continue
            spec = next((s for s in specs if s.struct == b.struct_type), None)
            if spec is None and not b.struct_type:
                spec = next((s for s in specs if s.untyped), None)  # ndo_*, sk_data_ready
            if spec is None:
                continue
            if not wanted.may_name(b.function):
                continue
            target = function_arg(program, ff.path, ("id", b.function))
            if target is None or target not in wanted:
                continue
            if any(mentions(ff.path, name) for name in spec.unless_module_mentions):
                continue
            handler = program.functions[target].fn.name
            how = f".{b.field} = {b.function}" if not b.in_function else f"->{b.field} = {b.function} in {b.in_function}()"
            reason = f"{spec.context}: {handler} ({spec.struct or 'ops'}.{b.field})"
            step = Step(ENTRY, f"{handler}() bound as {spec.struct}.{b.field} ({how}): runs in {spec.context}",
                        ff.path, b.line, function=handler, callee=f"{spec.struct or 'ops'}.{b.field}",
                        context=spec.context)
            found.atomic.setdefault(target, []).append(Witness("must", reason, (step,), 0, origin=target))


class _ModuleMentions:
    """Does any file of the module `path` belongs to name `name` in an assignment (its
    value, or the field it stores: `pcm->nonatomic = true`), a call's arguments or a
    file-scope initializer (`set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING`)?
    The files looked at are those under the binding file's directory that are of its
    module. Answers are memoized by (path, name); the files under a directory are found
    by bisection in the path-sorted list (a scan of all 52,000 files per binding cost a
    whole-tree scan about 3 s)."""

    def __init__(self, program: Program):
        self.program = program
        self.memo: dict[tuple[str, str], bool] = {}
        self.files = sorted(program.files, key=lambda ff: ff.path)
        self.paths = [ff.path for ff in self.files]

    def __call__(self, path: str, name: str) -> bool:
        key = (path, name)
        found = self.memo.get(key)
        if found is None:
            same_module = self.program.same_module
            found = self.memo[key] = any(_file_mentions(ff, name) for ff in self._under(directory_of(path))
                                         if same_module(path, ff.path))
        return found

    def _under(self, directory: str) -> list[FileFacts]:
        if not directory:
            return self.files  # a file at the scan's root: all
        # every path that starts with "dir/" sorts between "dir/" and "dir0" ('0' follows '/')
        lo = bisect_left(self.paths, directory + "/")
        hi = bisect_left(self.paths, directory + "0", lo)
        return self.files[lo:hi]


def _file_mentions(ff: FileFacts, name: str) -> bool:
    words = lambda text: name in text and name in IDENT_RE.findall(text)  # noqa: E731
    if ff.init_names and any(words(text) for init in ff.global_inits.values() for _, text in init):
        return True
    return any(words(a.value_text) or a.kind == "field" and a.target == name
               for fn in ff.functions for a in fn.assignments) or \
        any(words(site.args_text) for fn in ff.functions for site in fn.calls)


# --- armed callbacks ---------------------------------------------------------

def _armed(program: Program, found: Entries, tables: ContextTables, sites, oracle, wanted: _Wanted) -> None:
    if not tables.armed:
        return
    binder_kind = {name: kind for kind in tables.armed for name in kind.binders}
    arm_kind = {name: kind for kind in tables.armed for name in kind.arms}
    binding: list = []
    arming: list = []
    for ff, fn, site in sites:
        kind = binder_kind.get(site.callee)
        if kind is not None:
            binding.append((ff, fn, site, kind))
        kind = arm_kind.get(site.callee)
        if kind is not None and fn is not None and fn.name not in arm_kind \
                and not _quiet_arm(program, ff.path, fn, kind, site):
            # (the arming call inside an arming wrapper's own definition, hrtimer_start()'s
            # hrtimer_start_range_ns(), arms whatever its callers pass: their calls count)
            arming.append((ff, fn, site, kind))
    binders, kinds = _binders(program, tables, binding, wanted)
    arming = [a for a in arming if kinds is None or a[3].kind in kinds]
    if not binders or not arming:
        return
    by_kind: dict[str, _BinderIndex] = {}
    for i, b in enumerate(binders):
        by_kind.setdefault(b.kind.kind, _BinderIndex()).add(i, b)
    wanted_by_kind = by_kind  # the bindings of the functions asked about
    if wanted.only is not None:
        wanted_by_kind = {}
        for i, b in enumerate(binders):
            if b.function in wanted:
                wanted_by_kind.setdefault(b.kind.kind, _BinderIndex()).add(i, b)
    empty = _BinderIndex()

    def defines(path: str, name: str) -> bool:
        """Does the file define its own variable `name`: with a brace initializer, or by
        binding a callback to it? (Not an `extern` declaration of another file's.)"""
        ff = program.file(path)
        if ff is None:
            return False
        return name in ff.init_names or any(b.target == name for b in program.context_bindings.get(path, ()))

    def may_run_wanted(kind: ArmedKind, key: Key, path: str) -> bool:
        """May an arm of `key` run a binding of a wanted function (_reaching's match)?"""
        index = wanted_by_kind.get(kind.kind)
        if index is None:
            return False
        if wanted.only is None:
            return True
        if key[0] == "self":  # its own bindings or, with none, any of its directory's (_reaching)
            here = directory_of(path)
            return bool(index.candidates(("any", here), here))
        probe = Arm(kind, key, path, 0, 0, "", ("", 0), "")
        return bool(_matching(probe, index, program.same_module, program.defined_more_than_once, defines))

    # where a function binds its own parameter (`bio->bi_end_io = f` with bio passed in):
    # (function node, parameter index) -> bytes of those bindings
    param_bindings: dict[tuple[str, int], list[int]] = {}
    for b in binders:
        if b.key[0] == "param":
            param_bindings.setdefault((b.holder, b.key[1]), []).append(b.byte)
    arms: list[Arm] = []
    for ff, fn, site, kind in arming:
        arms.extend(arm for arm in _arms_from_call(program, ff, fn, site, kind, may_run_wanted, param_bindings)
                    if may_run_wanted(kind, arm.key, arm.path))
    def arm_order(a: Arm) -> tuple:
        # one arming call reached from several callers that hand it the object: in the
        # callers' file order, not the graph's (an incremental scan relinks in another)
        handed = ("", -1) if a.handed is None else (program.functions[a.handed[0]].path, a.handed[1])
        return a.path, a.line, a.col, handed

    armed = [(b, arm) for arm in sorted(arms, key=arm_order)
             for b in _reaching(arm, by_kind.get(arm.kind.kind, empty), program.same_module,
                                program.defined_more_than_once, defines) if b.function in wanted]
    # The witness shows the arm that starts the callback: one that names the bound object
    # before one that names none (f_tcm's uasp_send_read_response() queueing the
    # req_status it bound, not a queue of an unknown request), and one elsewhere before
    # the callback's own re-arm (iss_net_open()'s mod_timer(), not iss_net_timer()'s).
    # A function that arms the binding by either of two calls, on two branches (dm-crypt's
    # crypto_aead_encrypt() for a write, crypto_aead_decrypt() for a read), names both:
    # which one the allocation's path needs is not decided here.
    arming_calls: dict[tuple, list[str]] = {}
    for b, arm in armed:
        calls = arming_calls.setdefault((b.function, b.path, b.byte, arm.holder), [])
        if arm.callee not in calls:
            calls.append(arm.callee)
    for b, arm in sorted(armed, key=_witness_rank):
        _add_armed_entry(program, found, b, arm, _context(arm, oracle), arming_calls[(b.function, b.path, b.byte, arm.holder)])


def _quiet_arm(program: Program, path: str, fn: FunctionFacts, kind: ArmedKind, site: CallSite) -> bool:
    """Does this arming call arm an object the kernel runs only where nothing is reported
    (ArmedKind.quiet_objects, a variable's name or a "struct.field"):
    `atomic_notifier_chain_register(&panic_notifier_list, nb)`? panic() calls that chain
    with oops_in_progress set, and a restart's chain runs once system_state has left
    SYSTEM_RUNNING: __might_resched() returns before its report."""
    quiet = kind.quiet_objects.get(site.callee)
    if quiet is None:
        return False
    index, names = quiet
    args = site.arguments()
    if index >= len(args):
        return False
    ir = _strip(args[index])
    if ir[0] == "id":
        return ir[1] in names
    if ir[0] == "field":  # register_sys_off_handler()'s `handler->list`
        return f"{type_of(program, path, fn, ir[1])}.{ir[2]}" in names
    return False


def _witness_rank(pair: tuple[Binder, Arm]) -> tuple[bool, bool]:
    """A (binding, arm) pair's place among a callback's witnesses (_armed): one whose arm
    names the bound object first, a callback's own re-arm last."""
    b, arm = pair
    return _vague(arm.key) or arm.key[0] == "self" or _vague(b.key), arm.holder == b.function


def _context(arm: Arm, oracle) -> str:
    """The context the arming call asks for: an hrtimer started with a *_SOFT mode runs
    in softirq (net/can/bcm.c's HRTIMER_MODE_REL_SOFT), otherwise in hardirq."""
    kind = arm.kind
    if arm.mode is None or not kind.soft_mode or oracle is None:
        return kind.context
    mode = oracle.value(arm.mode, {}, arm.path)
    soft = oracle.value(("id", kind.soft_mode), {}, arm.path)
    if isinstance(mode, int) and isinstance(soft, int) and soft and mode & soft == soft:
        return kind.soft_context
    return kind.context


def _add_armed_entry(program: Program, found: Entries, b: Binder, arm: Arm, context: str,
                     calls: list[str] | None = None) -> None:
    witnesses = found.atomic.setdefault(b.function, [])
    if any(w.steps and w.steps[0].path == b.path and w.steps[0].line == b.line for w in witnesses):
        return  # this binding is already known to be armed: one witness is enough
    handler = program.functions[b.function].fn.name
    holder = program.functions[arm.holder].fn.name
    bind = Step(BIND, f"{b.text} binds {handler}()", b.path, b.line, b.col,
                function=program.functions[b.holder].fn.name if b.holder else "", callee=b.text.partition("(")[0])
    calls = calls or [arm.callee]
    arming = " or ".join(f"{c}()" for c in calls)
    handing = _handing_call(program, arm)
    if handing is None:
        entry = Step(ENTRY, f"{handler}() runs in {context} once {holder}() arms it with {arming}",
                     arm.path, arm.line, arm.col, function=handler, callee=arm.callee, context=context)
    else:  # shown where the driver hands the object on: register_netevent_notifier(&nb)
        caller, path, site = handing
        entry = Step(ENTRY, f"{handler}() runs in {context} once {caller}() arms it through {site.callee}() "
                     f"({holder}() calls {arming})",
                     path, site.line, site.col, function=handler, callee=arm.callee, context=context)
    reason = f"{context}: {handler} (armed by {' or '.join(calls)} in {holder}"
    reason += f", called by {handing[0]})" if handing is not None else ")"
    witnesses.append(Witness("must", reason, (bind, entry), 0, origin=b.function))


def _handing_call(program: Program, arm: Arm) -> tuple[str, str, CallSite] | None:
    """(caller's name, its path, its call) where a caller hands the object to the helper
    that arms it as an argument (Arm.handed), or None when the arming call's own function
    names the object."""
    if arm.handed is None:
        return None
    node, byte = arm.handed
    if node == arm.holder or node not in program.functions:
        return None
    ref = program.functions[node]
    site = next((s for s in ref.fn.calls if s.byte == byte), None)
    return None if site is None else (ref.fn.name, ref.path, site)


def _binders(program: Program, tables: ContextTables, calls: list, wanted: _Wanted) -> tuple[list[Binder], set | None]:
    """The bindings of the armed kinds: by the binding `calls` (ff, fn, site, kind), then
    by stores to the kinds' fields; and the kinds they were made for (None: all). With
    functions asked for (`wanted.only`), only those of the kinds one of theirs may be
    bound as: an arm runs bindings of its own kind alone, so another kind's make none
    of theirs an entry. What an object's key costs (its type, a body unpacked) is then
    spent on a few kinds, not on every binding of the tree."""
    named = [(call, target) for call in calls if (target := _binding_call_target(program, *call)) is not None]
    stores = [(ff, b, target, candidates) for ff, b, candidates in _field_bindings(program, tables)
              if (target := function_arg(program, ff.path, ("id", b.function))) is not None]
    kinds = None
    if wanted.only is not None:
        kinds = {call[3].kind for call, target in named if target in wanted}
        kinds |= {kind.kind for _, b, target, candidates in stores if target in wanted for _, kind in candidates}
    binders = [b for call, target in named if kinds is None or call[3].kind in kinds
               if (b := _binder_from_call(program, *call, target)) is not None]
    for ff, b, target, candidates in stores:
        if kinds is None or any(kind.kind in kinds for _, kind in candidates):
            binders.extend(_field_binders(program, ff, b, target, candidates))
    return binders, kinds


def _binding_call_target(program: Program, ff: FileFacts, fn: FunctionFacts | None, site: CallSite,
                         kind: ArmedKind) -> str | None:
    """The function node a binding call binds, if it names one."""
    obj_index, fn_index = kind.binders[site.callee]
    args = site.arguments()
    if max(obj_index, fn_index) >= len(args):
        return None
    return function_arg(program, ff.path, args[fn_index])


def _binder_from_call(program: Program, ff: FileFacts, fn: FunctionFacts | None, site: CallSite,
                      kind: ArmedKind, target: str) -> Binder | None:
    obj_index, fn_index = kind.binders[site.callee]
    args = site.arguments()
    holder = program.node_for(fn, ff.path) if fn is not None else ""
    key = object_key(program, ff.path, fn, holder, args[obj_index])
    if key is None:
        return None
    text = f"{site.callee}({render(args[obj_index])}, {render(args[fn_index])})"
    return Binder(kind, target, key, ff.path, site.line, site.col, holder, site.byte, text)


def _field_bindings(program: Program, tables: ContextTables) -> list[tuple[FileFacts, object, list]]:
    """`obj.function = fn` / `obj->func = fn` assignments in functions, and designated
    initializers of file-scope variables (`static struct notifier_block nb = {
    .notifier_call = fn }`), of the armed kinds' fields: (file, binding, [(struct, kind)]
    of its field)."""
    kinds: dict[str, list] = {}
    for kind in tables.armed:
        for struct, fld in kind.fields:
            kinds.setdefault(fld, []).append((struct, kind))
    out = []
    binding = program.context_bindings
    for ff in program.files:
        for b in binding.get(ff.path, ()):
            candidates = kinds.get(b.field)
            if candidates and b.target:
                out.append((ff, b, candidates))
    return out


def _field_binders(program: Program, ff: FileFacts, b, target: str, candidates: list) -> list[Binder]:
    """The bindings one assignment or file-scope initializer of an armed kind's field
    makes (_field_bindings)."""
    fn, holder = None, ""
    if b.in_function:
        fn = next((f for f in ff.functions if f.name == b.in_function), None)
        if fn is None:
            return []
        holder = program.node_for(fn, ff.path)
    obj = ir_from_text(b.target.removeprefix("&") if b.target.startswith("&") else b.target)
    # the object must be of the kind's type: `t->function = fn` with `struct hrtimer *t`,
    # or `priv->timer.function = fn` whose member `timer` is a struct hrtimer; a
    # `.callback` or `.complete` of anything else is not a tasklet or an URB
    struct = b.struct_type or type_of(program, ff.path, fn, obj)
    matching = [k for s, k in candidates if s == struct]
    if not matching:
        return []
    key = object_key(program, ff.path, fn, holder, obj)
    if key is None:
        return []
    text = f"{b.target}.{b.field} = {b.function}" if fn is not None else f"{b.target} = {{ .{b.field} = {b.function} }}"
    return [Binder(kind, target, key, ff.path, b.line, 1, holder, b.byte, text) for kind in matching]


def _arms_from_call(program: Program, ff: FileFacts, fn: FunctionFacts, site: CallSite,
                    kind: ArmedKind, may_run_wanted, param_bindings=None) -> list[Arm]:
    index = kind.arms[site.callee]
    args = site.arguments()
    if index >= len(args):
        return []
    holder = program.node_for(fn, ff.path)
    mode_index = kind.modes.get(site.callee)
    mode = args[mode_index] if mode_index is not None and mode_index < len(args) else None
    out = []
    # (a key found in a caller, for an arming helper's parameter, is matched from the arm's place)
    wanted_key = lambda key, _caller_path: may_run_wanted(kind, key, ff.path)  # noqa: E731
    for key, ctx, handed in _arm_keys(program, ff.path, fn, holder, args[index], site.byte, 0, wanted_key,
                                      param_bindings or {}):
        out.append(Arm(kind, key, ff.path, site.line, site.col, holder, ctx, site.callee, mode, handed))
    return out


def _arm_keys(program: Program, path: str, fn: FunctionFacts, node: str, ir, byte: int,
              depth: int, wanted_key=lambda key, path: True,
              param_bindings: dict | None = None) -> list[tuple[Key, tuple[str, int], tuple[str, int] | None]]:
    """The keys of the object an arming call arms, with where to look for the binding that
    reaches it, and the call that handed the object to the arming helper (None: the
    object is named where it is armed). An object passed in as a parameter (an arming
    helper) is the callers', unless this function binds that parameter itself before the
    call (`param_bindings`): then its own last binding there is the one (_reaching), as
    where nothing calls it. A key no wanted binding may match (`wanted_key`) needs no
    place: the arm is dropped."""
    handed = (node, byte) if depth else None
    key = object_key(program, path, fn, node, ir)
    if key is None:
        return [(("any", directory_of(path)), (node, byte), handed)]
    if key[0] == "field":
        if not wanted_key(key, path):
            return [(key, (node, byte), handed)]
        return [(key, ctx, handed) for ctx in _binding_contexts(program, fn, node, ir, byte, depth)]
    if key[0] != "param":
        return [(key, (node, byte), handed)]
    binds_before = any(b < byte for b in (param_bindings or {}).get((node, key[1]), ()))
    if depth >= MAX_ARM_CALLER_DEPTH and not binds_before:
        return [(("any", directory_of(path)), (node, byte), handed)]
    if binds_before or next(program.callers(node), None) is None:
        # A function only called through a pointer arming its parameter: a callback
        # re-arming the object it runs for (a URB completion resubmitting its URB, a
        # timer function re-adding its timer, a usb_request completion `(ep, req)`
        # queueing `req` again); or one binding that parameter itself before the call
        # (btrfs_submit_bio() binding the bio it hands to btrfs_submit_dev_bio()), which
        # runs its own last binding there. See _reaching.
        return [(("self", node, directory_of(path), key[1]), (node, byte), handed)]
    out = []
    for caller, site in program.callers(node):
        ref = program.functions[caller]
        args = site.arguments()
        if key[1] < len(args):
            out.extend(_arm_keys(program, ref.path, ref.fn, caller, args[key[1]], site.byte, depth + 1, wanted_key,
                                 param_bindings))
    return out or [(("any", directory_of(path)), (node, byte), handed)]


def _binding_contexts(program: Program, fn: FunctionFacts, node: str, ir, byte: int,
                      depth: int) -> list[tuple[str, int]]:
    """Where to look for the binding an arm of a field path runs. `hrtimer_start(&op->timer)`
    in a helper whose `op` is a parameter arms the object its caller hands it: the
    binding that reaches the arm is the caller's last one before the call (bcm's
    bcm_tx_start_timer(op) is called by bcm_tx_setup() right after it sets
    `op->timer.function = bcm_tx_timeout_handler`; bcm_rx_setup() binds the same field
    of other ops to bcm_rx_timeout_handler). Only when every call of the helper is in
    view (a static function whose address is never taken); otherwise, or with no
    binding before the call, every binding of the field may run, as before."""
    base = _strip(ir)
    while base[0] == "field":
        base = _strip(base[1])
    index = next((i for i, (p, _) in enumerate(fn.params) if base[0] == "id" and p == base[1]), None)
    if index is None or depth >= MAX_ARM_CALLER_DEPTH or not only_called_directly(program, node):
        return [(node, byte)]
    out = []
    for caller, site in program.callers(node):
        ref = program.functions[caller]
        args = site.arguments()
        if index >= len(args):
            return [(node, byte)]
        out.extend(_binding_contexts(program, ref.fn, caller, args[index], site.byte, depth + 1))
    return out or [(node, byte)]


def only_called_directly(program: Program, node: str) -> bool:
    """Is every call of this function a direct call the graph holds: a static function
    whose address its file never takes (no ops-struct binding, no argument naming it)?"""
    ref = program.functions[node]
    return ref.fn.is_static and not _named_in(ref.file, ref.fn.name)


def _named_in(ff: FileFacts, name: str) -> bool:
    """Does the file take the address of function `name`: bind it in an ops table, pass
    it as an argument, store it in a file-scope pointer or a table of pointers?"""
    if any(b.function == name for b in ff.bindings):
        return True
    for site in ff.top_calls:
        if name in IDENT_RE.findall(site.args_text):
            return True
    if any(ir in (("id", name), ("addr", ("id", name))) for ir in ff.globals.values()):
        return True  # `void *hook = fn;`
    if ff.init_names and any(text.strip().lstrip("&").strip() == name
                             for init in ff.global_inits.values() for _, text in init):
        return True  # a table of pointers, members set by position
    for fn in ff.functions:
        for site in fn.calls:
            if name in site.args_text and name in IDENT_RE.findall(site.args_text):
                return True
    return False


def never_run(program: Program, node: str) -> bool:
    """Does nothing in the tree run this function? Only decided on a whole-tree scan
    (Kbuild's modules known): no call reaches it, and it is neither exported nor named
    (an ops-table binding, an argument, a pointer stored) anywhere in its module, which
    is the only code that could reach a function its module does not export.
    ath12k_dbring_buf_setup() of 6.12 is such a function: the GFP_KERNEL it passes to a
    spinlocked refill path never arrives there."""
    if program.modules is None or any(True for _ in program.graph.predecessors(node)):
        return False
    found = program.never_run_memo.get(node)
    if found is None:
        found = program.never_run_memo[node] = _unreferenced(program, node)
    return found


def _unreferenced(program: Program, node: str) -> bool:
    ref = program.functions[node]
    if ref.fn.is_static:
        return only_called_directly(program, node)
    name, path = ref.fn.name, ref.file.path
    for ff in program.files:
        if ff.path != path and not program.same_module(path, ff.path):
            continue
        if name in ff.exports or _named_in(ff, name):
            return False
        if any(name in a.value_text and name in IDENT_RE.findall(a.value_text)
               for fn in ff.functions for a in fn.assignments):
            return False  # `hook = name;` into a local pointer
    return True


EARLY_BOOT_SEARCH = 400  # callers looked at before giving up (answering no)


def early_boot_only(program: Program, tables: ContextTables, node: str) -> bool:
    """Does this function run only in early boot, from start_kernel() before rest_init()?
    Every caller chain must end there and pass through __init functions alone (an __init
    function cannot be bound in a run-time table) or static ones only called directly
    (vmalloc_init()'s vmap_init_nodes()), none of them rest_init() itself nor a static
    one whose file takes its address. sh's intc_subgroup_map() is: init_IRQ() calls it
    with interrupts off, where nothing can sleep yet. An initcall is not: it runs after
    the scheduler has started."""
    if not tables.boot_root:
        return False
    seen = {node}
    todo = [node]
    while todo:
        current = todo.pop()
        ref = program.functions[current]
        if ref.fn.name == tables.boot_root:
            continue
        declared = _declared_for_boot(tables, ref)
        direct = ref.fn.is_static and (declared or only_called_directly(program, current))
        if ref.fn.name in tables.boot_after or not (direct or (ref.fn.flags & IS_INIT and not ref.fn.is_static)):
            return False
        callers = list(program.graph.predecessors(current)) or _callers_of_counterpart(program, current)
        if not callers:
            if declared:
                continue  # IRQCHIP_DECLARE(...): init_IRQ() runs it from the linker table
            return False  # a root other than start_kernel(): an initcall, a pointer we missed
        for caller in callers:
            if caller not in seen:
                seen.add(caller)
                if len(seen) > EARLY_BOOT_SEARCH:
                    return False
                todo.append(caller)
    return True


def _declared_for_boot(tables: ContextTables, ref) -> bool:
    """Is this __init function named by a declaration early boot runs from its linker table
    and by nothing else of its file (contexts.toml [early_boot] declared_by):
    `IRQCHIP_DECLARE(gic_v3, "arm,gic-v3", gic_of_init)`?"""
    if not tables.boot_declarations or not ref.fn.flags & IS_INIT:
        return False
    name = ref.fn.name
    positions = dict(tables.boot_declarations)
    declared = False
    for site in ref.file.top_calls:
        if name not in IDENT_RE.findall(site.args_text):
            continue
        index = positions.get(site.callee)
        args = split_args(site.args_text)
        if index is None or index >= len(args) or args[index].strip() != name:
            return False  # bound by something else at file scope too
        declared = True
    return declared and not any(b.function == name for b in ref.file.bindings)


def _callers_of_counterpart(program: Program, node: str) -> list[str]:
    """The callers of the target architecture's function of the same name, for another
    architecture's non-static one: generic code links to x86's init_IRQ(), and would call
    sh's the same way in an sh build."""
    ref = program.functions[node]
    if ref.fn.is_static or not ref.path.startswith("arch/") or ref.path.startswith(f"arch/{TARGET_ARCH}/"):
        return []
    found: list[str] = []
    for other in program.by_name.get(ref.fn.name, ()):
        other_path = program.functions[other].path
        if other != node and other_path.startswith(f"arch/{TARGET_ARCH}/"):
            found.extend(c for c in program.graph.predecessors(other)
                         if not program.functions[c].path.startswith("arch/"))
    return found


def object_key(program: Program, path: str, fn: FunctionFacts | None, node: str, ir, depth: int = 0) -> Key | None:
    """The key of the object an expression names: `&priv->timer` -> ("field", <type of
    priv>, "timer"); a global -> ("var", directory, name); a parameter -> ("param", index);
    a local pointer -> the key of what it was set to (`urb = dev->rx_urb`), else ("any",
    directory): an object the analysis cannot name, matched by any of the driver's."""
    ir = _strip(ir)
    if ir[0] == "idx":
        ir = _strip(ir[1])
    if ir[0] == "id":
        name = ir[1]
        if fn is not None:
            for i, (pname, _) in enumerate(fn.params):
                if pname == name:
                    return ("param", i)
            if name in fn.locals:
                assigned = [a for a in fn.assignments if a.kind == "local" and a.target == name]
                if len(assigned) == 1 and assigned[0].op == "=" and depth < 2:
                    key = object_key(program, path, fn, node, assigned[0].value, depth + 1)
                    if key is not None and key[0] in ("field", "var"):
                        return key
                return ("any", directory_of(path))
        return ("var", directory_of(path), name)
    if ir[0] == "field":
        return ("field", type_of(program, path, fn, ir[1]), ir[2])
    return None


def _strip(ir):
    while ir[0] in ("addr", "cast", "deref"):
        ir = ir[2] if ir[0] == "cast" else ir[1]
    return ir


def type_of(program: Program, path: str, fn: FunctionFacts | None, ir, depth: int = 0) -> str:
    """The struct type an expression points to or is (`priv` of `struct foo *priv` -> "foo",
    `priv->a` -> the type of member a), or "" when unknown."""
    if depth > 4:
        return ""
    ir = _strip(ir)
    if ir[0] == "idx":
        return type_of(program, path, fn, ir[1], depth + 1)
    if ir[0] == "id":
        text = ""
        if fn is not None:
            text = next((t for p, t in fn.params if p == ir[1]), "") or fn.locals.get(ir[1], "")
        if not text:
            ff = program.file(path)
            text = ff.global_types.get(ir[1], "") if ff is not None else ""
        return _struct_name(program, text)
    if ir[0] == "field":
        outer = type_of(program, path, fn, ir[1], depth + 1)
        if not outer:
            return ""
        for _, sd in program.structs.get(outer, ()):
            for m in sd.members:
                if m.name == ir[2]:
                    return _struct_name(program, m.type_text)
        return ""
    return ""


def _struct_name(program: Program, text: str) -> str:
    t = " ".join(text.replace("*", " ").replace("const ", " ").split())
    for _ in range(3):
        if t.startswith(("struct ", "union ")):
            return t.split(" ", 1)[1].strip()
        alias = program.typedefs.get(t)
        if not alias:
            return ""
        t = " ".join(alias.replace("*", " ").replace("const ", " ").split())
    return ""


def _matches(a: Key, b: Key) -> bool:
    if a[0] == "any" or b[0] == "any":
        return True  # within the driver's directory (see _reaching)
    if a[0] != b[0]:
        return False
    if a[0] == "field":
        return a[2] == b[2] and (a[1] == b[1] or not a[1] or not b[1])
    return a == b


class _BinderIndex:
    """One kind's bindings, indexed by what an arm's key can match (see _matches): by
    directory (an "any" key matches everything there), "any" keys by directory, field
    keys by field name, other keys whole. A whole tree has thousands of bindings and
    arms: comparing every pair cost seconds."""

    def __init__(self):
        self.by_dir: dict[str, list] = {}
        self.any_by_dir: dict[str, list] = {}
        self.by_field: dict[str, list] = {}
        self.by_key: dict = {}

    def add(self, i: int, b: Binder) -> None:
        item = (i, b, directory_of(b.path))
        self.by_dir.setdefault(item[2], []).append(item)
        if b.key[0] == "any":
            self.any_by_dir.setdefault(item[2], []).append(item)
        elif b.key[0] == "field":
            self.by_field.setdefault(b.key[2], []).append(item)
        else:
            self.by_key.setdefault(b.key, []).append(item)

    def candidates(self, key: Key, here: str) -> list:
        """(index, binder, directory) of the bindings `key` may match, in binding order."""
        if key[0] == "any":
            return self.by_dir.get(here, [])
        found = self.by_field.get(key[2], []) if key[0] == "field" else self.by_key.get(key, [])
        near = self.any_by_dir.get(here)
        return sorted(found + near) if near else found


def _reaching(arm: Arm, binders: _BinderIndex, same_module, defined_twice=lambda struct: False,
              defines=lambda path, name: False) -> list[Binder]:
    """The bindings an arming call may run: the last one made before it in the function
    that arms it (or in the caller that hands the object to the arming helper), else
    every binding of the object. A struct several files define (natsemi.c's and
    winbond-840.c's own `struct netdev_private`) is one type per module: its field binds
    only within the arming call's module."""
    here = directory_of(arm.path)
    if arm.key[0] == "self":
        # the callback's own object: its own binding, when it is bound as this kind
        # (catc_rx_done() resubmitting its URB arms catc_rx_done, not usbnet's rx_complete)
        own = [b for _, b, _ in binders.candidates(("any", here), here) if b.function == arm.key[1]]
        if own:
            return own
        # a function that binds its parameter and hands it to the arming helper: the binding
        # it made last before the call (btrfs binds a bio to btrfs_simple_end_io before
        # submitting it, and to btrfs_raid56_end_io in the other arm, for the raid code)
        same = ("param", arm.key[3])
        arm = replace(arm, key=("any", here))
    else:
        same = arm.key
    matching = _matching(arm, binders, same_module, defined_twice, defines)
    node, byte = arm.context
    local = [b for b in matching if b.holder == node and b.byte < byte and b.key in (arm.key, same)]
    if local:
        return [max(local, key=lambda b: b.byte)]
    return matching


def _matching(arm: Arm, binders: _BinderIndex, same_module, defined_twice,
              defines=lambda path, name: False) -> list[Binder]:
    """The bindings whose object the arm's may be. An object the analysis cannot name, or
    an untyped field path, on either side: only the bindings of the arming call's own
    driver (`same_module`: its module, by the Makefiles; drivers/net/usb holds catc.c and
    usbnet.c, two modules, each with an rx URB of its own). A file-scope variable the
    arming call's own file defines (`defines`) is that file's: a binding of the same name
    in another file is of another variable (ti's cpsw_switchdev.c and
    am65-cpsw-switchdev.c each have a static `cpsw_switchdev_notifier`)."""
    here = directory_of(arm.path)
    own_variable = arm.key[0] == "var" and defines(arm.path, arm.key[2])
    return [b for _, b, where in binders.candidates(arm.key, here) if _matches(b.key, arm.key) and
            (not _vague(b.key) and not _vague(arm.key) or where == here and same_module(b.path, arm.path))
            and (not _of_struct_defined_twice(b.key, defined_twice) or same_module(b.path, arm.path))
            and not (own_variable and b.key[0] == "var" and b.path != arm.path)]


def _of_struct_defined_twice(key: Key, defined_twice) -> bool:
    return key[0] == "field" and bool(key[1]) and defined_twice(key[1])


def _vague(key: Key) -> bool:
    return key[0] == "any" or (key[0] == "field" and not key[1])
