"""Sources: values someone outside the kernel chooses.

Module parameters (settable at load, some writable in sysfs), values parsed
from user buffers (`kstrto*`, `sscanf`, `copy_from_user`, `get_user`) in
configfs/sysfs/debugfs/ioctl handlers, netlink attributes (bounded by their
policy when it says so), and the fields of descriptors a USB device supplies.
Each yields a `Value` with the source named in `sources` (`module_param:buflen`,
`configfs:f_demo_opts_buflen_store`) and the step that proves it. Which calls,
fields and handlers these are is data (data/sources.toml), read by extraction too.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from ...exprs import identifiers, ir_from_text, render
from ...facts import EXIT_ERROR, IS_INIT, FileFacts, FunctionFacts
from ...kernel.tables import SourceTables, source_tables
from ..entries import only_called_directly
from ..witness import FLOW, SOURCE, Step
from .lattice import TOP, WHY_GUARD, WHY_INIT, Value, unknown
from .scope import Scope

if TYPE_CHECKING:
    from .evaluator import ValueAnalysis

class Sources:
    def __init__(self, analysis: "ValueAnalysis"):
        self.analysis = analysis
        self.program = analysis.program
        self.tables = source_tables()
        self._module_params: dict[tuple[str, str], object] = {}
        # (file, parameter) -> its value so far, while its init function's stores are evaluated
        self._init_value: dict[tuple[str, str], Value] = {}
        self._callbacks: dict[str, list] | None = None  # function node -> its [callback_params] bindings
        # variable -> the files of the tree that declare it a module parameter
        self._param_files: dict[str, list] = {}
        for ff in self.program.files:
            for mp in ff.module_params:
                self._module_params[(ff.path, mp.name)] = mp
                self._param_files.setdefault(mp.name, []).append(ff)

    # --- module parameters --------------------------------------------------------
    def is_module_param(self, name: str, path: str) -> bool:
        """Does the file at `path` declare `name` a module parameter?"""
        return (path, name) in self._module_params

    def module_param_read(self, name: str, scope: Scope) -> Value | None:
        """`name` read where it is a module parameter (declared in this file, or in another
        file of its directory behind an `extern`) that the driver never assigns (a parameter
        the driver clamps itself at init is not taken raw); None otherwise."""
        declared = self._declared_param(name, scope)
        if declared is None:
            return self._clamped_at_init(name, scope)
        mp, home = declared
        return self.module_param(mp, Scope(home, None, scope.depth))

    def _clamped_at_init(self, name: str, scope: Scope) -> Value | None:
        """A load-time module parameter (not writable in sysfs) that the module's init
        function normalises in place, unconditionally (isotp's `max_pdu_size =
        min_t(unsigned int, max_pdu_size, MAX_PDU_SIZE);`): at run time it is that store's
        value, of what the user loaded the module with. None when it is not one."""
        mp = self._module_params.get((scope.file.path, name))
        if mp is None or _writable(mp.perm, self.tables):
            return None
        stores = []
        for fn in scope.file.functions:
            if name not in fn.global_writes:
                continue
            own = [a for a in fn.assignments if a.kind == "global" and a.target == name]
            if not (fn.flags & IS_INIT) or any(a.op != "=" or name not in identifiers(a.value) for a in own):
                return None  # a store outside init, or one that does not start from the user's value
            if any(not _unconditional(fn, a.byte) for a in own):
                return None
            stores.extend((fn, a) for a in own)
        if not stores:
            return None
        fn = stores[0][0]
        if any(f is not fn for f, _ in stores):
            return None  # stores in two init functions: which runs last is not known here
        key = (scope.file.path, name)
        if key in self._init_value:  # read by one of those stores: the value so far
            return self._init_value[key]
        # Each store, in order, reads what the one before left (`roundup_pow_of_two()`, then
        # `min()`, then `max()` of ipoib's queue sizes); the first reads the user's value.
        self._init_value[key] = self.module_param(mp, Scope(scope.file, None, scope.depth))
        try:
            for _, a in sorted(stores, key=lambda pair: pair[1].byte):
                value = self.analysis.eval(a.value, Scope(scope.file, fn, scope.depth + 1, a.byte))
                self._init_value[key] = value.with_step(Step(
                    FLOW, f"{fn.name}() stores {render(a.value)} into '{name}' when the module loads",
                    scope.file.path, a.line, function=fn.name))
            return self._init_value[key]
        finally:
            del self._init_value[key]

    def _declared_param(self, name: str, scope: Scope):
        """(ModuleParam, its file) of the module parameter `name` read in scope's file:
        declared there, or else in one other file of the same directory (e1000e reads
        `copybreak` in netdev.c through an `extern` of param.c's). None when there is none,
        when the reader has a variable of that name of its own, or when the driver assigns
        it (its own file; for an extern one, any file of its directory)."""
        mp = self._module_params.get((scope.file.path, name))
        home = scope.file
        if mp is None:
            if name in scope.file.global_types:
                return None
            here = posixpath.dirname(scope.file.path)
            homes = [ff for ff in self._param_files.get(name, ()) if posixpath.dirname(ff.path) == here]
            if len(homes) != 1:
                return None
            home = homes[0]
            mp = self._module_params[(home.path, name)]
        if home is scope.file:
            if _written_in_file(mp.name, home):
                return None
        elif any(_written_in_file(mp.name, ff) for ff in self.program.files_in(posixpath.dirname(home.path))):
            return None  # amdgpu_device_check_arguments() adjusts amdgpu_sched_jobs
        return mp, home

    def module_param_threshold(self, name: str, scope: Scope) -> Value | None:
        """A module parameter read as the bound of a check (`if (len < rx_copybreak &&
        (skb = netdev_alloc_skb(dev, len + 2)))`) is its default, the initializer: a
        threshold is a tuning knob, and a size the driver bounds by it is as large as the
        knob's shipped setting makes it, not as large as any number root may load the module
        with. Where the size is the parameter itself (the seed's buflen), `module_param()`
        keeps its whole range. None when `name` is no plain module parameter the file sees
        with an initializer (a `module_param_cb` one, or one the driver assigns)."""
        declared = self._declared_param(name, scope)
        if declared is None or declared[0].type_name not in self.tables.module_param_types:
            return None  # module_param_cb() or a driver's own type: its set() decides
        mp, home = declared
        scope = Scope(home, None, scope.depth)
        initial = _initializer_of(mp.name, scope.file)
        if initial is None:
            return None
        default = self.analysis.eval(initial, Scope(scope.file, None, scope.depth + 1))
        if not default.known or default.hi is None:
            return None
        step = Step(SOURCE, f"module parameter '{mp.param_name}' bounds the check at its default "
                    f"{default.describe()}", scope.file.path, mp.line, source=f"module_param:{mp.param_name}")
        return Value(default.lo, default.hi, frozenset(), (step,), True)

    def module_param(self, mp, scope: Scope) -> Value:
        if mp.type_name == "cb" or mp.type_name not in self.tables.module_param_types:
            # module_param_cb(), or a type of the driver's own (param_ops_<type>): its
            # set() callback validates what the user writes
            return unknown(WHY_GUARD)
        src = f"module_param:{mp.param_name}"
        default = TOP
        initial = _initializer_of(mp.name, scope.file)
        if initial is not None:
            default = self.analysis.eval(initial, Scope(scope.file, None, scope.depth + 1))
        settable = "settable at load" + (", writable in sysfs" if _writable(mp.perm, self.tables) else "")
        lo = default.lo if default.known else 0
        step = Step(SOURCE, f"module parameter '{mp.param_name}' ({settable}; default {default.describe()})",
                    scope.file.path, mp.line, source=src)
        type_max = self.tables.module_param_types.get(mp.type_name)
        if type_max is not None and type_max <= 0xFFFF:
            value = Value(0, type_max, frozenset({src}), (step,), True)
        else:
            value = Value(min(lo, 0) if lo else 0, None, frozenset({src}), (step,), True)
        return self._validated_in_file(mp.name, value, scope)

    def _validated_in_file(self, name: str, value: Value, scope: Scope) -> Value:
        """A module parameter checked where the module starts (`if (max_data_size > 0x10000)
        return -EINVAL;` in its init function) is bounded by that check everywhere.

        The check may read the parameter again (`max_data_size & (max_data_size - 1)`):
        evaluated from inside its own validation, the parameter is taken unvalidated.
        Only a check that compares the parameter itself with a bound counts (`nrpacks < 0
        || nrpacks > MAX`, in init, in a helper it calls, or in probe): a test that reads it
        inside arithmetic (scsi_debug's `if (ret != (num - rest) * sdebug_sector_size)` in
        its I/O path) is no validation of it."""
        def validated() -> Value:
            for fn in scope.file.functions:
                for g in fn.guards:
                    if name not in g.cond_text or not _compares_itself(g.cond, name):
                        continue
                    narrowed = self.analysis.narrowing.narrow(name, value, Scope(scope.file, fn, scope.depth + 1, g.end_byte))
                    if narrowed is not value:
                        return narrowed
            return value

        return self.analysis.guarded(("validated", scope.file.path, name), validated, on_cycle=value, memoise=False)

    # --- user buffers -------------------------------------------------------------
    def user_filled(self, name: str, scope: Scope) -> Value | None:
        """`kstrtouint(buf, 0, &name)`, `copy_from_user(&name, ...)`: the user writes `name`."""
        from .evaluator import same_variable  # the evaluator imports this module

        fn = scope.fn
        parsers, copies = self.tables.parsers, self.tables.user_copies
        same = same_variable(fn, name, scope.at_byte)
        for site in fn.calls:
            callee = site.callee
            if (callee not in parsers and callee not in copies) or name not in site.args_text or not same(site.byte):
                continue
            args = site.arguments()
            if callee in parsers and args and args[-1] == ("addr", ("id", name)):
                src = f"{handler_kind(fn, self.tables)}:{fn.name}"
                step = Step(SOURCE, f"{callee}() parses user input into '{name}' in {fn.name}()", scope.file.path,
                            site.line, function=fn.name, callee=callee, source=src)
                return Value(0, parsers[callee], frozenset({src}), (step,), True)
            filled = any(a == ("addr", ("id", name)) for a in args) or (
                copies.get(callee) == "first" and args and args[0] == ("id", name))
            if callee in copies and filled:
                ioctl = any(word in fn.name for word in self.tables.ioctl_names)
                src = f"{'ioctl' if ioctl else handler_kind(fn, self.tables)}:{fn.name}"
                # The destination's type bounds what the user can put there (`u16 len`).
                limit = self.analysis.builtins.type_max(self.analysis.builtins.local_type(name, scope) or "",
                                                        scope.file.path)
                step = Step(SOURCE, f"{callee}() copies user data into '{name}' in {fn.name}()", scope.file.path,
                            site.line, function=fn.name, callee=callee, source=src)
                return Value(0, limit, frozenset({src}), (step,), True)
        return None

    # --- calls ----------------------------------------------------------------------
    def call(self, name: str, args: tuple, scope: Scope) -> Value | None:
        """A call that reads a source (a netlink getter, a device descriptor accessor) or
        passes a value through (a byte-order helper); None for any other."""
        tables = self.tables
        if name in tables.netlink_getters:
            return self.netlink_attribute(name, args, scope)
        if name in tables.endian or name in tables.device_readers:
            inner = self.analysis.eval(args[0], scope) if args else TOP
            reader = tables.device_readers.get(name)
            return inner if reader is None else self.device_read(reader, inner, scope)
        if name in tables.registers or name in tables.raw_reads:
            what = "reads a device register" if name in tables.registers else "reads raw bytes a device or host supplied"
            limit = tables.registers[name] if name in tables.registers else tables.raw_reads[name]
            src = f"device:{name}({render(args[0]) if args else ''})"
            step = Step(SOURCE, f"{name}() {what}", *_call_where(scope, name, args),
                        function=scope.fn.name if scope.fn is not None else "", callee=name, source=src)
            return Value(0, limit, frozenset({src}), (step,), True)
        return None

    # --- netlink --------------------------------------------------------------------
    def netlink_attribute(self, name: str, args: tuple, scope: Scope) -> Value:
        """`nla_get_u32(tb[ATTR])`: what the sender put there, as wide as the getter, unless
        the attribute's policy bounds it."""
        limit = self.tables.netlink_getters[name]
        attribute = _attribute_of(args[0], scope) if args else None
        policy = self._netlink_policy_limit(attribute, scope)
        if policy is not None:
            return policy  # validated by the policy before the handler runs
        src = f"netlink:{render(attribute) if attribute is not None else '?'}"
        step = Step(SOURCE, f"{name}() reads a netlink attribute", *_call_where(scope, name, args),
                    function=scope.fn.name if scope.fn is not None else "", callee=name, source=src)
        return Value(0, limit, frozenset({src}), (step,), True)

    def _netlink_policy_limit(self, attr_ir: tuple | None, scope: Scope) -> Value | None:
        """`tb[ATTR]` whose policy entry is `NLA_POLICY_RANGE(.., min, MAX)`: at most MAX."""
        if attr_ir is None or attr_ir[0] != "idx" or attr_ir[2][0] != "id":
            return None
        found = self.program.lookup("nla_limits", attr_ir[2][1], scope.file.path)
        if found is None:
            return None
        def_path, text = found
        bound = self.analysis.eval(ir_from_text(text), Scope(self.program.file(def_path) or scope.file, None, scope.depth + 1))
        return Value(0, bound.hi, frozenset(), (), True) if bound.known and bound.hi is not None else None

    # --- user structs -----------------------------------------------------------------
    def user_copied_field(self, ir: tuple, scope: Scope) -> Value | None:
        """`copy_from_user(&req, ...)` (or `p = memdup_user(...)`) earlier in the function:
        `req.len` (`p->len`) is the user's, as wide as the field's type."""
        fn, base = scope.fn, ir[1]
        if fn is None or base[0] != "id":
            return None
        name = base[1]
        copy = self._user_copy_into(name, ir[3], fn, scope.at_byte)
        if copy is None:
            return None
        callee, line, byte = copy
        copies = self.tables.user_copies
        whole = (("id", name), ("addr", ("id", name)))  # the struct itself, not one of its fields
        if any(byte < site.byte < scope.at_byte and site.callee not in copies and name in site.args_text
               and any(arg in whole for arg in site.arguments()) for site in fn.calls):
            # handed to a function after the copy (ethtool_tunable_valid(&tuna)): checked
            # there, by something we do not follow
            return unknown(WHY_GUARD)
        member = self.analysis.builtins.member(ir, scope)
        if member is None or member.pointer or member.array_dims:
            return None
        ioctl = any(word in fn.name for word in self.tables.ioctl_names)
        src = f"{'ioctl' if ioctl else handler_kind(fn, self.tables)}:{fn.name}"
        step = Step(SOURCE, f"{callee}() copies user data into '{name}' in {fn.name}(): {render(ir)} is the user's",
                    scope.file.path, line, function=fn.name, callee=callee, source=src)
        return Value(0, self.analysis.builtins.type_max(member.type_text, scope.file.path), frozenset({src}), (step,), True)

    def _user_copy_into(self, name: str, pointer: bool, fn: FunctionFacts, before: int) -> tuple[str, int, int] | None:
        """(call, line, byte) of a user copy into the struct `name` (a pointer to it when `pointer`)."""
        copies = self.tables.user_copies
        want = ("id", name) if pointer else ("addr", ("id", name))
        for site in fn.calls:
            if copies.get(site.callee) != "address" or name not in site.args_text or (before and site.byte > before):
                continue
            args = site.arguments()
            if args and args[0] == want:
                return site.callee, site.line, site.byte
        if pointer:
            for a in fn.assignments:
                if a.kind == "local" and a.target == name and a.op == "=" and (not before or a.byte < before):
                    value = a.value
                    if value[0] == "call" and copies.get(value[1]) == "result":
                        return value[1], a.line, a.byte
        return None

    def user_field(self, struct: str, fname: str, base: tuple, scope: Scope) -> Value | None:
        """A field the kernel fills from the user's request before it calls the driver
        (`ring->rx_pending` in set_ringparam): the user's, up to what the driver's own
        get callback says is the largest (`ring->rx_max_pending = DEMO_MAX_RX`)."""
        spec = self.tables.user_fields.get(f"{struct}.{fname}")
        if spec is None:
            return None
        if self._set_up_here(struct, scope):
            return unknown(WHY_INIT)  # the object just made holds what its setup stored: no user reached it
        limit, bound_steps = spec.max, ()
        bound_text = ""
        if spec.bound_field:
            checked = self._core_bound(spec, base, struct, f"{struct}.{spec.bound_field}", scope)
            if checked is None:
                if spec.driver_stores:
                    return None
                return unknown(WHY_GUARD)  # the core checks it against a maximum we cannot read
            limit, bound_steps, bound_text = checked  # (the steps: where the driver's maximum comes from)
        function = scope.fn.name if scope.fn is not None else ""
        src = f"{spec.kind}:{spec.via or function or struct}"
        says = spec.says or f"is what the user asked for ({spec.kind})"
        step = Step(SOURCE, f"{struct}.{fname} {says}{bound_text}",
                    scope.file.path, scope.fn.line if scope.fn is not None else 0, function=function,
                    field=f"{struct}.{fname}", source=src)
        return Value(0, limit, frozenset({src}), (step,) + bound_steps, True)

    def callback_param(self, node: str, index: int, scope: Scope) -> Value | None:
        """Parameter `index` of a function bound as a callback the core calls with what a
        user asked for (`.ndo_change_mtu = demo_change_mtu`: its new_mtu): the user's, up
        to the bound the core checked it against (the device's max_mtu), or unknown when
        that bound cannot be read. None for any other parameter."""
        if self._callbacks is None:
            self._callbacks = {}
            for member, entries in self.program.bindings.items():
                for struct, bound, _, _ in entries:
                    spec = self.tables.callback_params.get(f"{struct}.{member}")
                    if spec is not None:
                        self._callbacks.setdefault(bound, []).append((f"{struct}.{member}", spec))
        found = next(((name, spec) for name, spec in self._callbacks.get(node, ()) if spec.index == index), None)
        if found is None:
            return None
        name, spec = found
        fn = scope.fn
        limit, bound_steps, bound_text = spec.max, (), ""
        if spec.bound_field:
            if spec.of >= len(fn.params):
                return unknown(WHY_GUARD)
            obj = fn.params[spec.of][0]
            struct = self.analysis.fields.struct_of_expr(("id", obj), scope)
            checked = self._core_bound(spec, ("id", obj), struct, f"{obj}->{spec.bound_field}", scope)
            if checked is None:
                return unknown(WHY_GUARD)  # the core checks it against a maximum we cannot read
            limit, bound_steps, bound_text = checked
        src = f"{spec.kind}:{fn.name}"
        step = Step(SOURCE, f"{fn.name}() is a {name} callback: its '{fn.params[index][0]}' is what the user "
                    f"asked for ({spec.kind}){bound_text}", scope.file.path, fn.line, function=fn.name, source=src)
        return Value(0, limit, frozenset({src}), (step,) + bound_steps, True)

    def filled_field(self, struct: str, fname: str, ir: tuple, scope: Scope) -> Value | None:
        """How much a device sent when its transfer completed (`urb->actual_length`): its
        choice, up to the length of the buffer the driver gave that transfer, which the
        same object's `within` field holds (`urb->transfer_buffer_length`, as the driver's
        stores and usb_fill_*_urb() calls set it). None when that length cannot be read:
        the field's own stores decide, as for any field."""
        spec = self.tables.filled_fields.get(f"{struct}.{fname}")
        if spec is None:
            return None
        bound = self._bound_in(ir[1], spec.within, ir[3], scope)
        if bound is None:
            return None
        limit = bound.hi if spec.max is None else min(spec.max, bound.hi)
        src = f"device:{struct}.{fname}"
        step = Step(SOURCE, f"{struct}.{fname} is how much the device sent, at most the buffer's length "
                    f"({struct}.{spec.within}, at most {limit})", *_where(scope),
                    function=scope.fn.name if scope.fn is not None else "", field=f"{struct}.{fname}", source=src)
        # the device chooses within the driver's bound: the bound's own device sources (a
        # buffer sized by a descriptor) stay, a user's choice of the bound does not make
        # the transfer the user's
        devices = frozenset(s for s in bound.sources if self.tables.is_device(s))
        return Value(0, limit, devices | {src}, (step,) + bound.steps, True)

    def _core_bound(self, spec, base: tuple, struct: str, label: str, scope: Scope) -> tuple | None:
        """(limit, steps, text for the source's step) of a value the core checks against
        the field spec.bound_field of `base` (`dev->max_mtu`), as far as it lets values
        through; None when that field's maximum cannot be read."""
        bound = self._bound_in(base, spec.bound_field, True, scope)
        if self._no_limit(spec, bound, struct, scope):
            limit = spec.unbounded_max if spec.max is None else min(spec.max, spec.unbounded_max)
            return limit, bound.steps if bound is not None else (), f", up to {limit}: {label} is 0, which sets no limit"
        if bound is None:
            return None
        limit = bound.hi if spec.max is None else min(spec.max, bound.hi)
        return limit, bound.steps, f", at most {limit} ({label})"

    def _no_limit(self, spec, bound: Value | None, struct: str, scope: Scope) -> bool:
        """Is the core's bound 0, which it reads as no limit (spec.unbounded_max: max_mtu)?
        Stored as 0 by the driver (ip_gre), or never stored in a module whose every new
        object comes zeroed from an allocator whose setup leaves it alone (ppp)."""
        if spec.unbounded_max is None:
            return False
        if bound is not None:
            return bound.hi == 0
        if not struct or scope.file is None or scope.fn is None:
            return False
        path = scope.file.path
        if spec.unbounded_in and not path.startswith(spec.unbounded_in):
            return False
        return self.analysis.fields.left_zero(struct, spec.bound_field, path)

    def _set_up_here(self, struct: str, scope: Scope) -> bool:
        """Does the reading function, or every caller of it (a static function called only
        directly), allocate a `struct` with an allocator that runs a setup on it ([setups])?
        Then the object read is the one just made, holding what its setup stored, which no
        user has reached yet: 6pack's sixpack_open() reads dev->mtu right after
        alloc_netdev(), before register_netdev(), and 6.1's mkiss ax_open() is called only
        by mkiss_open(), which made the device, so the MTU a user sets later (and
        ax_changedmtu() copies back) does not size its buffers."""
        program = self.program
        setups = self.tables.setups
        if scope.fn is None or scope.file is None or not any(spec.struct == struct for spec in setups.values()):
            return False

        def allocates(node: str) -> bool:
            return any((spec := setups.get(site.callee)) is not None and spec.struct == struct
                       for site in program.functions[node].fn.calls)

        node = program.find_node(scope.fn, scope.file.path)
        if node is None:
            return False
        if allocates(node):
            return True
        if not only_called_directly(program, node):
            return False  # also run as a callback (ndo_open), on a device users reach
        callers = [caller for caller, _ in program.callers(node)]
        return bool(callers) and all(allocates(caller) for caller in callers)

    def _bound_in(self, base: tuple, fname: str, arrow: bool, scope: Scope) -> Value | None:
        """The field `fname` of the object `base` (`dev->max_mtu`) as a proven maximum the
        core or the hardware holds a value to; None when no maximum of it is proven."""
        bound = self.analysis.fields.read(("field", base, fname, arrow), Scope(scope.file, scope.fn, scope.depth + 1))
        return bound if bound.known and bound.hi is not None and not bound.partial else None

    def joins_driver_stores(self, struct: str, fname: str) -> bool:
        """Is the user field one the driver may also store into itself (net_device.mtu)?"""
        spec = self.tables.user_fields.get(f"{struct}.{fname}")
        return spec is not None and spec.driver_stores

    # --- device data ---------------------------------------------------------------
    def wire_field(self, struct: str, fname: str, ir: tuple, scope: Scope) -> Value | None:
        """A field declared with a byte-order type (`__le16 len`) that nothing in the scan
        stores into: the device (or the wire, or the disk) wrote it, as wide as the type."""
        wire = self._wire_width(ir, scope)
        if wire is None:
            return None
        member, limit = wire
        src = f"device:{struct}.{fname}"
        path, line = self.analysis.builtins.struct_location(struct, scope.file.path) or _where(scope)
        step = Step(SOURCE, f"{struct}.{fname} ({member.type_text}) is written by the device: nothing in the "
                    f"driver stores into it", path, line, function=scope.fn.name if scope.fn is not None else "",
                    field=f"{struct}.{fname}", source=src)
        return Value(0, limit, frozenset({src}), (step,), True)

    def _wire_width(self, ir: tuple, scope: Scope):
        """(member, its type's largest value) when the field `ir` reads is declared with a
        byte-order type (`__le16 len`), else None."""
        member = self.analysis.builtins.member(ir, scope)
        if member is None or member.pointer or member.array_dims:
            return None
        limit = self.tables.wire_types.get(member.type_text)
        return None if limit is None else (member, limit)

    def wire_copied_field(self, struct: str, ir: tuple, scope: Scope) -> Value | None:
        """`skb_copy_bits(skb, off, &hdr, sizeof(hdr))` earlier in the function: a byte-order
        field of the local `hdr` (`hdr.wLength`) is what the received buffer held, as wide
        as its type, whatever the driver stores into that struct type elsewhere (the frames
        it builds to send)."""
        fn, base = scope.fn, ir[1]
        if fn is None or base[0] != "id" or ir[3] or fn.locals.get(base[1], "*").endswith("*"):
            return None
        name = base[1]
        copy = next((site for site in fn.calls
                     if site.callee in self.tables.wire_copies and name in site.args_text
                     and (not scope.at_byte or site.byte < scope.at_byte)
                     and _arg(site, self.tables.wire_copies[site.callee]) == ("addr", ("id", name))), None)
        if copy is None:
            return None
        return self._received(struct, ir, scope, f"{copy.callee}() copies received data into '{name}' in "
                              f"{fn.name}()", copy.line, copy.callee)

    def wire_cast_field(self, struct: str, ir: tuple, scope: Scope) -> Value | None:
        """`hdr = (void *)msg->params;` earlier in the function: a byte-order field read
        through that pointer (`hdr->size`) is what the buffer held, as wide as its type,
        whatever the driver stores into that struct type elsewhere (the messages it builds
        to send). Not when the function stores into the field itself before the read (a
        header it fills in), nor when the pointer's value comes from an allocation."""
        fn, base = scope.fn, ir[1]
        if fn is None or base[0] != "id" or not ir[3] or not fn.locals.get(base[1], "").endswith("*"):
            return None
        name, at = base[1], scope.at_byte
        filled = False  # the field stored through the pointer between its assignment and the read
        for a in reversed(fn.assignments):
            if at and a.byte >= at:
                continue
            if a.kind == "local" and a.target == name:
                if filled or a.op != "=" or not _cast_of_a_buffer(ir_from_text(a.value_text)):
                    return None
                return self._received(struct, ir, scope, f"'{name}' points into a received buffer in "
                                      f"{fn.name}() ({name} = {a.value_text.strip()})", a.line)
            filled = filled or (a.kind == "field" and a.target == ir[2] and a.base == name)
        return None

    def _received(self, struct: str, ir: tuple, scope: Scope, how: str, line: int, callee: str = "") -> Value | None:
        """The byte-order field `ir` of a received buffer (`how` it is one, at `line`): a
        device source as wide as its type; None when the field has no byte-order type."""
        wire = self._wire_width(ir, scope)
        if wire is None:
            return None
        member, limit = wire
        src = f"device:{struct}.{ir[2]}"
        step = Step(SOURCE, f"{how}: {render(ir)} ({member.type_text}) is what the device sent", scope.file.path,
                    line, function=scope.fn.name, callee=callee, field=f"{struct}.{ir[2]}", source=src)
        return Value(0, limit, frozenset({src}), (step,), True)

    def descriptor_field(self, struct: str, fname: str, scope: Scope) -> Value | None:
        """A field of a USB descriptor the device supplied (host side only), as wide as its
        USB name says, or of a request a USB host sent (gadget side only); None for any
        other field."""
        if self._own_descriptors(scope.file.path):
            host = self.tables.host_fields.get(f"{struct}.{fname}")
            if host is None:
                return None
            capped = ""
            cap = self.tables.host_field_caps.get(f"{struct}.{fname}")
            if cap is not None and scope.file.path.startswith(cap[1]) and (host is None or cap[0] < host):
                host, capped = cap[0], f", at most {cap[0]}: the gadget framework refuses longer ones"
            src = f"device:{struct}.{fname}"
            step = Step(SOURCE, f"{struct}.{fname} is what the USB host asked for{capped}", *_where(scope),
                        function=scope.fn.name if scope.fn is not None else "", field=f"{struct}.{fname}", source=src)
            return Value(0, host, frozenset({src}), (step,), True)
        fields = self.tables.descriptor_fields
        if fname not in fields:
            return None
        src = f"usb-descriptor:{struct or '?'}.{fname}"
        step = Step(SOURCE, f"device descriptor field {fname}", *_where(scope),
                    function=scope.fn.name if scope.fn is not None else "", field=f"{struct or '?'}.{fname}", source=src)
        return Value(0, fields[fname], frozenset({src}), (step,), True)

    def device_read(self, reader, inner: Value, scope: Scope) -> Value:
        """usb_endpoint_maxp(): the endpoint descriptor's 11-bit packet size."""
        if self._own_descriptors(scope.file.path):
            return Value(0, reader.max, frozenset(), (), True)
        if inner.known:
            return inner
        src = f"usb-descriptor:{reader.field}"
        step = Step(SOURCE, f"{reader.name}() {reader.text}", *_call_where(scope, reader.name),
                    function=scope.fn.name if scope.fn is not None else "", callee=reader.name, source=src)
        return Value(0, reader.max, frozenset({src}), (step,), True)

    def _own_descriptors(self, path: str) -> bool:
        """A USB gadget driver: its descriptors are its own. Only the host side reads
        descriptors a device chose, so only there are their fields user input."""
        return path.startswith(self.tables.own_descriptors)


def _initializer_of(variable: str, file: FileFacts) -> tuple | None:
    """The initial value of a file-scope variable (`buflen`), or of a member of one
    (`opts.buflen` set by `static struct demo_opts opts = { .buflen = 4096 };`)."""
    if variable in file.globals:
        return file.globals[variable]
    base, dot, member = variable.partition(".")
    if dot:
        for a in file.field_inits:
            if a.base == base and a.target == member:
                return a.value
    return None


def _attribute_of(arg: tuple, scope: Scope) -> tuple:
    """The attribute a getter reads: `tb[ATTR]` as written, or the one a local last took
    before the read (`a = attrs[IPVS_DAEMON_ATTR_SYNC_MAXLEN]; if (a) ... nla_get_u16(a)`),
    so that the source names the attribute and its policy entry is found."""
    from .evaluator import _reaching_assignment  # the evaluator imports this module

    if arg[0] != "id" or scope.fn is None:
        return arg
    taken = _reaching_assignment(scope.fn, arg[1], scope.at_byte)
    return taken.value if taken is not None and taken.value[0] == "idx" else arg


def _where(scope: Scope) -> tuple[str, int]:
    """Where a source read inside an expression is shown: the function reading it (the
    expression's own line is not kept)."""
    return scope.file.path, scope.fn.line if scope.fn is not None else 0


def _call_where(scope: Scope, callee: str, args: tuple = ()) -> tuple[str, int]:
    """Where a source read by a call (`nla_get_u32(tb[ATTR])`, `readl(base + REG)`) is
    shown: that call's line in the function (with the same first argument when one
    does, the one nearest the point evaluated when several do). Calls extraction does
    not keep (register reads) are found in the assignments whose value makes the call;
    the function's own line is the last resort (a call inside a macro's text)."""
    fn = scope.fn
    if fn is None:
        return _where(scope)
    calls = [(c.byte, c.line, c.arguments()[:1]) for c in fn.calls if c.callee == callee]
    if not calls:
        calls = [(a.byte, a.line, ir[2][:1]) for a in fn.assignments
                 if f"{callee}(" in a.value_text and (ir := _call_in(ir_from_text(a.value_text), callee))]
    if args:
        calls = [c for c in calls if c[2] == args[:1]] or calls
    if not calls:
        return _where(scope)
    return scope.file.path, min(calls, key=lambda c: abs(c[0] - scope.at_byte))[1]


def _call_in(ir: tuple, callee: str) -> tuple | None:
    """The first call of `callee` inside the expression `ir`, or None."""
    if not isinstance(ir, tuple) or not ir:
        return None
    if ir[0] == "call" and ir[1] == callee:
        return ir
    for part in ir[1:]:
        found = _call_in(part, callee) if isinstance(part, tuple) else None
        if found is not None:
            return found
    return None


_ORDERINGS = frozenset({"<", "<=", ">", ">="})


def _compares_itself(cond: tuple, name: str) -> bool:
    """Does the condition, through && and ||, order the variable `name` itself against
    something (`name > MAX`, `MIN > name`)?"""
    if not isinstance(cond, tuple) or len(cond) < 2:
        return False
    if cond[0] == "bin" and cond[1] in ("&&", "||"):
        return _compares_itself(cond[2], name) or _compares_itself(cond[3], name)
    if cond[0] == "un" and cond[1] == "!":
        return _compares_itself(cond[2], name)
    return cond[0] == "bin" and cond[1] in _ORDERINGS and ("id", name) in (cond[2], cond[3])


def handler_kind(fn: FunctionFacts, tables: SourceTables) -> str:
    """Which interface a handler serves, from its parameter types: configfs, sysfs, ..."""
    types = " ".join(t for _, t in fn.params)
    return next((h.kind for h in tables.handlers if h.matches(types, fn.name)), "user")


def _unconditional(fn: FunctionFacts, byte: int) -> bool:
    """Is byte `byte` of `fn` in no if/else arm or switch case (run whenever the function
    gets there)? An error exit before it is a failed load, not another path."""
    return not any(ts <= byte < te or (es <= byte < ee and kind != EXIT_ERROR)
                   for _, ts, te, es, ee, kind, _ in fn.conditions)


def _written_in_file(name: str, file: FileFacts) -> bool:
    """A module parameter the driver assigns itself (usually a clamp at init) is not taken raw."""
    return any(name in fn.global_writes for fn in file.functions)


def _writable(perm: str, tables: SourceTables) -> bool:
    perm = perm.strip()
    try:
        value = int(perm, 0) if perm[:1].isdigit() else None
    except ValueError:
        value = None
    if value is not None:
        return bool(value & 0o222)
    return any(w in perm for w in tables.writable_perms)


def _arg(site, index: int) -> tuple | None:
    args = site.arguments()
    return args[index] if index < len(args) else None


def _cast_of_a_buffer(ir: tuple) -> bool:
    """Is the IR a pointer cast of a buffer a received object holds (`(void *)msg->params`,
    `(struct demo_hdr *)skb->data`, `(void *)&rx->data[0]`, `(void *)(skb->data + off)`)?
    Not of what a call returns (an allocation, a lookup), nor of a plain pointer variable
    (a netlink attribute's data, a buffer copied from user space: not the device's)."""
    if ir[0] != "cast" or not ir[1].endswith("*"):
        return False
    inner = ir[2]
    while inner[0] == "bin" and inner[1] in ("+", "-") or inner[0] in ("addr", "idx"):
        inner = inner[2] if inner[0] == "bin" else inner[1]
    return inner[0] == "field"
