"""Fields: struct fields as tree-wide cells, and the hubs that break chains.

A read of `p->len` takes the join of every store to `(struct type, len)` that
counts for the reader: all of them when the field's writers are one driver,
only the reader's own file's (else its module's) when the field is a hub written by several
drivers (`net_device.mtu`, `usb_request.length` are not one variable). A read
right after a plain store to the same object in the same block sees that store.
Stores include the designated initializers of tables (`.ring_size = 1024`) and
module parameters bound to a member (`module_param_named(buflen,
opts.bulk_buflen, uint, 0)`). Two modules that each define a struct of the same
name (sfc's and sfc-siena's `struct efx_nic`) keep their fields apart: a reader
sees the stores made under the same definition (the nearest one up its tree).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ...exprs import ir_from_text, render, split_args, squash
from ...facts import EXIT_ERROR, EXIT_NONE, Assignment
from ...link import directory_of, same_driver, struct_name
from ..witness import FLOW, Step
from .lattice import (held_in, WHY_ARITHMETIC, WHY_DEVICE, WHY_ELEMENT, WHY_FIELD_HUB, WHY_FIELD_UNTYPED,
                      WHY_FIELD_UNWRITTEN, WHY_FIELD_WRITER, Value, arith, const, interval, join, join_all, unknown, unsigned_max,
                      with_bounds)
from .narrowing import SHRINKING_OPS, on_every_path
from .scope import MAX_DEPTH, Scope

if TYPE_CHECKING:
    from .evaluator import ValueAnalysis

_GROWING_OPS = frozenset({"+=", "*=", "<<=", "|="})  # compound stores that may make a field larger

HUB_DIRECTORIES = 3  # a field written in more directories than this is a hub
HUB_MODULE_WRITERS = 8  # a hub's stores in the reader's module joined when its file has none
SETUP_CALLS = 3  # how deep below a setup function a store of a field left zero is looked for
HUB_JOIN_WRITERS = 32  # a hub with more stores than this is not joined tree-wide (see _small_hub)
HUB_SMALL = 4096  # a hub's tree-wide join bounds a reader only when no store exceeds this


@dataclass(slots=True)
class CallStore(Assignment):
    """A store a call makes: a setter defined elsewhere storing its argument into the
    caller's object (`usb_fill_bulk_urb(urb, ..., RX_SIZE, rx_done, dev)`), placed at the
    call. `callbacks`: the plain names among the call's arguments (the completion
    handler it arms with the same call)."""

    setter: str = ""
    callbacks: tuple[str, ...] = ()


class Fields:
    def __init__(self, analysis: "ValueAnalysis"):
        self.analysis = analysis
        self.program = analysis.program
        self._field_cells: dict[tuple[str, str], list] = {}  # (struct, field) -> its writes
        self._cells_by_reader: dict[tuple[str, str, str], tuple[list, bool]] = {}
        self._params_by_field: dict[tuple[str, str], list] | None = None
        self._def_dirs: dict[str, tuple[str, ...]] = {}
        self._def_dir_of: dict[tuple[str, str], str] = {}
        self._setters_of: dict[tuple[str, str], list] = {}
        # (struct, field) -> calling file -> [(setter's file, cell)] (see _setter_calls)
        self._setter_calls_of: dict[tuple[str, str], dict[str, list]] = {}
        self._replaced_in: dict[tuple, tuple] = {}  # (struct, field, path, byte) -> set-ups replacing it
        self._callees: dict[tuple[str, int], frozenset] = {}  # (node, hops) -> what it calls within hops
        self._left_zero: dict[tuple[str, str, str], bool] = {}  # (struct, field, reader's file) -> left_zero()

    def forget(self) -> None:
        """Drop the writers, readers' cells and call cones kept for the whole scan
        (ValueAnalysis.forget): each is computed again when asked for."""
        self._field_cells.clear()
        self._cells_by_reader.clear()
        self._replaced_in.clear()
        self._callees.clear()
        self._left_zero.clear()

    def read(self, ir: tuple, scope: Scope) -> Value:
        """The value of the field expression `ir` at the scope's program point."""
        narrow = self.analysis.narrowing.narrow
        stored = self._stored_before_in_block(ir, scope)
        if stored is not None:
            return narrow(render(ir), stored, scope)
        value = narrow(render(ir), self._cell(ir, scope), scope)
        if value.known and value.sources:
            # a received header's field its callers validated before the call
            value = self.analysis.narrowing.checked_by_callers(ir, self.struct_of_expr(ir[1], scope), value, scope)
        return value

    def _stored_before_in_block(self, ir: tuple, scope: Scope) -> Value | None:
        """`ptp->max_vclocks = PTP_DEFAULT_MAX_VCLOCKS; size = sizeof(int) * ptp->max_vclocks;`:
        a read that follows a plain store to the same object's field in the same block
        sees that store, not every store to the field anywhere in the tree."""
        fn, at = scope.fn, scope.at_byte
        if fn is None or not at or not fn.field_writes:
            return None
        base = squash(render(ir[1]))
        same = [a for a in fn.assignments
                if a.kind == "field" and a.target == ir[2] and a.base == base and a.byte < at]
        stores = [a for a in same if a.block_start <= at < a.block_end]
        last = max(stores, key=lambda a: a.byte) if stores else None
        arms = _stored_in_both_arms(fn, same, at)
        if arms is not None and (last is None or last.byte < arms[0].byte):
            values = [self._stored_value(ir, a, scope) for a in arms]
            return join_all(values)
        if last is None or last.op != "=":
            return None
        return self._stored_value(ir, last, scope)

    def _stored_value(self, ir: tuple, store, scope: Scope, when: str = " just before") -> Value:
        """What the store `store` of the field `ir` puts there, as its member's type holds it."""
        fn = scope.fn
        v = self.analysis.eval(store.value, Scope(scope.file, fn, scope.depth + 1, store.byte))
        struct = self.struct_of_expr(ir[1], scope)
        if struct:  # the member holds what its type holds (usb_request.length is an unsigned)
            v = held_in(v, self._member_max(struct, ir[2], scope.file.path))
        if v.known:
            v = v.with_step(Step(FLOW, f"{fn.name}() stores {render(store.value)} into {render(ir)}{when}",
                                 scope.file.path, store.line, function=fn.name,
                                 field=f"{struct}.{ir[2]}" if struct else ir[2]))
        return v

    def _cell(self, ir: tuple, scope: Scope) -> Value:
        fname = ir[2]
        sources = self.analysis.sources
        struct = self.struct_of_expr(ir[1], scope)
        if struct and ir[1][0] == "idx":
            held = self._table_member(struct, fname, ir[1], scope)
            if held is not None:
                return held
        source = (sources.user_copied_field(ir, scope) or sources.descriptor_field(struct, fname, scope)
                  or sources.user_field(struct, fname, ir[1], scope) or sources.wire_copied_field(struct, ir, scope)
                  or sources.wire_cast_field(struct, ir, scope) or sources.filled_field(struct, fname, ir, scope))
        if source is not None:
            if source.known and sources.joins_driver_stores(struct, fname):
                source = self._with_driver_stores(source, struct, fname, scope)
            return source
        if scope.depth >= MAX_DEPTH:
            return self.analysis.truncated()
        if not struct:
            return unknown(WHY_FIELD_UNTYPED)
        local = self._local_object(ir, struct, fname, scope)
        if local is not None:
            return local
        device_written = self._device_written(struct, fname, ir, scope)
        if device_written is not None:
            return device_written
        cells, params, view, hub = self._writers_seen_from(struct, fname, scope.file.path, _handled(ir, scope))
        if not cells and not params:
            device = sources.wire_field(struct, fname, ir, scope)
            if device is not None:
                return device
            value = self._small_hub(struct, fname, scope) if hub else unknown(WHY_FIELD_UNWRITTEN)
            if value.known and not value.partial:
                return value
            # what the member's unsigned type bounds it to (bounds only: lattice)
            type_max = unsigned_max(self._member_max(struct, fname, scope.file.path))
            return with_bounds(value, 0, type_max) if type_max is not None else value
        key = ("field", struct, fname, view)
        value = self.analysis.guarded(key, lambda: self._join_stores(struct, fname, cells, params, scope),
                                      depth=scope.depth)
        value = held_in(value, self._member_max(struct, fname, scope.file.path))
        return _of_one_element(value) if _indexed(ir[1]) else value

    def _local_object(self, ir: tuple, struct: str, fname: str, scope: Scope) -> Value | None:
        """`struct demo_cmd cmd = { .len = len }; ... kmalloc(cmd.len, ...)`: a member of a
        struct the function declares as a local object holds what the function's own
        initializer and stores put there, not what every store to that member anywhere in
        the tree does (hmcdrv's `ftp.len` is the caller's count, not the cache size another
        function stores into its own copy). None where something else may fill it: its
        address taken other than by recorded calls whose parameter points to that struct
        and which store no such member within two calls (memcpy(), `p = &cmd`), the member's
        own address passed on, the object assigned whole, a compound store, or no
        initializer and no store (a copy_from_user() target is the sources' business)."""
        fn, base = scope.fn, ir[1]
        if fn is None or ir[3] or base[0] != "id":
            return None
        name = base[1]
        type_text = fn.locals.get(name)
        if (not type_text or "*" in type_text or "static" in type_text.split() or name in fn.local_arrays
                or any(p == name for p, _ in fn.params) or fn.declaration_at(name, scope.at_byte) is not None):
            return None
        if any(a.kind == "local" and a.target == name for a in fn.assignments):
            return None  # `cmd = *req;`: the whole object replaced
        init = fn.inits.get(name)
        line, start, end = fn.init_spans.get(name, (fn.line, 0, 0))
        stores = [a for a in fn.assignments if a.kind == "field" and a.base == name and a.target == fname
                  and not start <= a.byte < end]  # (the initializer's own members: `init`)
        if (init is None and not stores) or any(a.op != "=" for a in stores):
            return None
        if not self._object_stays_local(fn, name, struct, fname, scope):
            return None
        values = [self._stored_value(ir, a, scope, when="") for a in stores]
        if init is not None:
            text = next((t for path, t in init if path == fname), None)
            at = Scope(scope.file, fn, scope.depth + 1, scope.at_byte)
            value = self.analysis.eval(ir_from_text(text), at) if text is not None else const(0)
            if value.known:
                value = value.with_step(Step(
                    FLOW, f"{fn.name}() declares {name} with {render(ir)} {'= ' + text if text else 'zero'}",
                    scope.file.path, line, function=fn.name, field=f"{struct}.{fname}"))
            values.append(value)
        value = join_all(values)
        return held_in(value, self._member_max(struct, fname, scope.file.path))

    def _object_stays_local(self, fn, name: str, struct: str, fname: str, scope: Scope) -> bool:
        """Is every `&name` of the body an argument of a recorded call, and does each such
        call made before the read (any, when the read is in a loop) hand out another
        member's address (`&cmd.hdr`) or the object's to a callee that takes a pointer to
        `struct` there and stores no `fname` of that struct within two calls?"""
        taken = fn.addressed.get(name, 0)
        if not taken:
            return True
        passed = 0
        typedefs = self.program.typedefs
        looped = not scope.at_byte or _in_loop(fn, scope.at_byte)
        writers: set | None = None  # (the functions storing that member: asked once, when needed)
        for site in fn.calls:
            if name not in site.args_text:
                continue
            for i, arg in enumerate(site.arguments()):
                member = _address_within(arg, name)
                if member is None:
                    continue
                passed += 1
                if site.byte > scope.at_byte and not looped:
                    continue  # handed out after the read: what it does comes too late
                if member == fname:
                    return False  # `&cmd.len`: the member itself handed out
                if member:
                    continue  # `&cmd.hdr`: another member's storage
                targets = self.program.targets(site, scope.file.path)
                if not targets:
                    return False
                if writers is None:
                    writers = {id(f) for _, f in self.program.field_writers_of((struct, fname)) if f is not None}
                for node in targets:
                    params = self.program.functions[node].fn.params
                    if i >= len(params) or "*" not in params[i][1] or struct_name(params[i][1], typedefs) != struct:
                        return False  # a `void *` (a copy) or another type: not followed
                    if writers and any(id(self.program.functions[n].fn) in writers
                                       for n in self._callees_within(node, 2)):
                        return False
        return passed == taken

    def _device_written(self, struct: str, fname: str, ir: tuple, scope: Scope) -> Value | None:
        """A member declared `volatile`: memory a device writes, which the driver's stores
        do not bound (ariadne's `volatile u_short RMD3` in its DMA ring, where the driver
        stores 0 and the chip the frame's length). Unknown, within its unsigned type
        (bounds only); None for any other member."""
        member = self.analysis.builtins.member(ir, scope)
        if member is None or not member.volatile or member.array_dims:
            return None
        type_max = unsigned_max(self._member_max(struct, fname, scope.file.path))
        device = unknown(WHY_DEVICE)
        return with_bounds(device, 0, type_max) if type_max is not None else device

    def _small_hub(self, struct: str, fname: str, scope: Scope) -> Value:
        """A hub field the reader's driver never writes: the core reading what each driver
        set (mac80211's `local->hw.extra_tx_headroom`, DC's `res_pool->pipe_count`). When
        every store in the tree is known and at most HUB_SMALL, whichever driver's object
        the reader holds, the field is within their join: a bound, and no store of another
        driver is large enough to make a high-order allocation by itself. Otherwise unknown."""
        writers = self.program.field_writers_of((struct, fname))
        if not writers or len(writers) > HUB_JOIN_WRITERS:
            return unknown(WHY_FIELD_HUB)
        cells = self._same_definition(struct, self.field_cells((struct, fname)), scope.file.path)
        if not cells:
            return unknown(WHY_FIELD_HUB)
        return self.analysis.guarded(("field", struct, fname, "*"),
                                     lambda: self._join_small(struct, fname, cells, scope), depth=scope.depth)

    def _join_small(self, struct: str, fname: str, cells: list, scope: Scope) -> Value:
        """The join of the stores, each known and at most HUB_SMALL; else unknown at the
        first that is not (most hubs have one early: the rest are never evaluated); where
        one is only bounded (at most HUB_SMALL, no maximum proven), a bound only. A
        driver's `hw->extra_tx_headroom += MT_USB_TXD_SIZE` outside any loop adds to what
        its own setup stored: the join's maximum grows by every such addition in the tree,
        which bounds whatever one object's setup adds (a header's size, added once per
        object). A counter stepped by one (`list->count++`, once per address added) or an
        addition of a variable amount may run any number of times: no bound."""
        value = None
        grown = 0
        lo, hi = None, 0  # every store's interval: a bound where some store proves no maximum
        for cell in cells:
            path, _, fn, a = cell
            if a.op in SHRINKING_OPS or a.lowers:
                continue  # never larger than what was stored before
            if fn is not None and a.op == "+=" and not any(start <= a.byte < end for start, end in fn.loop_spans):
                v = self.analysis.eval(a.value, Scope(self.analysis.file_by_path[path], fn, scope.depth + 1, a.byte))
                if not v.known or v.partial or v.sources or v.hi is None or v.lo != v.hi or v.hi <= 1:
                    # a counter (`list->count++` per address added) or a variable amount
                    # runs any number of times on one object: no bound
                    return unknown(WHY_FIELD_HUB)
                grown += v.hi
                continue
            v = self._join_stores(struct, fname, [cell], [], scope)
            v_lo, v_hi = interval(v)
            if v.sources or v_hi is None or v_hi > HUB_SMALL:
                return unknown(WHY_FIELD_HUB)
            lo, hi = v_lo if lo is None else min(lo, v_lo), max(hi, v_hi)
            value = v if value is None else join(value, v)
        if value is None or hi + grown > HUB_SMALL:
            return unknown(WHY_FIELD_HUB)
        if not value.known or value.partial:
            # a store bounded but not proven (`max_t(u32, 16, hdr_len)` of a masked length):
            # the field is within the stores' bounds, no value of it is proven
            return with_bounds(unknown(WHY_FIELD_HUB), lo, hi + grown)
        return value.bounded(value.lo, value.hi + grown) if grown else value

    def _with_driver_stores(self, user: Value, struct: str, fname: str, scope: Scope) -> Value:
        """A field the user sets through a checked core path (net_device.mtu) that the
        driver may also store itself (natsemi's probe stores its `mtu` module parameter,
        unchecked): the user's range joined with each store whose value is known. A store of
        a value that cannot be evaluated is the core's checked one handed down
        (ndo_change_mtu's new_mtu), already in the user's range."""
        if scope.depth >= MAX_DEPTH:
            return user
        cells, params, view, _ = self._writers_seen_from(struct, fname, scope.file.path)

        def stores() -> Value:
            value = user
            for cell in cells:
                v = self._join_stores(struct, fname, [cell], [], scope)
                if v.known:
                    value = join(value, v)
            for param in params:
                v = self._join_stores(struct, fname, [], [param], scope)
                if v.known:
                    value = join(value, v)
            return value

        key = ("field+user", struct, fname, view, scope.fn.name if scope.fn is not None else "")
        value = self.analysis.guarded(key, stores, depth=scope.depth)
        return value if value.known else user

    def _member_max(self, struct: str, fname: str, near: str) -> int | None:
        """The largest value the member can hold: its integer type's, or its bit-field's."""
        builtins = self.analysis.builtins
        sd = builtins.struct(struct, near)
        member = next((m for m in sd.members if m.name == fname), None) if sd is not None else None
        if member is None or member.pointer or member.array_dims:
            return None
        if member.bits:
            return (1 << member.bits) - 1
        return builtins.type_max(member.type_text, near)

    def _join_stores(self, struct: str, fname: str, cells: list, params: list, scope: Scope) -> Value:
        analysis = self.analysis
        value = None
        for ff, mp in params:  # module_param_named(buflen, opts.bulk_buflen, ...)
            v = analysis.sources.module_param(mp, Scope(ff, None, scope.depth + 1))
            value = v if value is None else join(value, v)
        replacing = self._replacing_nodes(cells)
        for path, _, fn, a in cells:
            if a.op in SHRINKING_OPS or a.lowers:
                continue  # `x -= n`, `if (x > max) x = max;`: never larger than what was stored before
            if replacing and fn is not None and self._overwritten_at_setup(struct, fname, path, fn, a, scope,
                                                                           replacing):
                continue  # replaced before the object is used: see the method
            if fn is None:  # `.ring_size = 1024` in the initializer of a file-scope table
                v = analysis.eval(a.value, Scope(analysis.file_by_path[path], None, scope.depth + 1))
                if v.known:
                    v = v.with_step(Step(FLOW, f"the initializer of {a.base} sets .{fname} = {a.value_text}", path,
                                         a.line, field=f"{struct}.{fname}"))
                value = v if value is None else join(value, v)
                continue
            v = analysis.eval(a.value, Scope(analysis.file_by_path[path], fn, scope.depth + 1, a.byte))
            reset = self._reset_before(fn, a, path, scope) if a.op in _GROWING_OPS else None
            if reset is not None:
                # `len = base; len += VLAN_HLEN;`: the compound store adds to what the
                # function itself stored first, not to every earlier value of the field
                v = arith(a.op[:-1], reset, v)
            elif a.op != "=":
                # `x += n` accumulates without a bound, unless checked right after
                # (`hist_data->key_size += key_size; if (hist_data->key_size > MAX) ...`);
                # the missing bound is the user's doing only when n itself is unbounded,
                # as in join(): raid5's `conf->raid_disks += mddev->delta_disks` adds a
                # delta that dm-raid and md both check
                grown = Value(0, None, v.sources, v.steps, True) if v.sources else unknown(WHY_ARITHMETIC, v)
                grown = analysis.narrowing.checked_after_store(fname, grown, fn, a, path)
                v = unknown(WHY_ARITHMETIC) if grown.hi is None and v.hi is not None else grown
            else:
                v = analysis.narrowing.checked_after_store(fname, v, fn, a, path)
                v = analysis.narrowing.clamped_after_store(fname, v, fn, a, path, scope.depth + 1)
                v = analysis.narrowing.allocated_after_store(fname, v, fn, a, path)
            if v.known:
                who = f"{a.setter}() in {fn.name}()" if isinstance(a, CallStore) else f"{fn.name}()"
                v = v.with_step(Step(FLOW, f"{who} stores {render(a.value)} into {struct}.{fname}", path, a.line,
                                     function=fn.name, field=f"{struct}.{fname}"))
            value = v if value is None else join(value, v)
        if value is None:
            return unknown(WHY_FIELD_UNWRITTEN)  # only stores that lower it
        return value if value.known else unknown(WHY_FIELD_WRITER, value)

    def _replacing_nodes(self, cells: list) -> frozenset:
        """The functions holding a plain store of the field, which a replacing call
        reaches (itself or within two calls: cdc_ncm_setup() -> cdc_ncm_update_rxtx_max()).
        Empty when fewer than two functions store it: nothing replaces anything."""
        program = self.program
        nodes = set()
        for path, _, fn, a in cells:
            if fn is not None and a.op == "=" and not isinstance(a, CallStore):
                node = program.find_node(fn, path)
                if node is not None:
                    nodes.add(node)
        return frozenset(nodes) if len(nodes) >= 2 else frozenset()

    def _overwritten_at_setup(self, struct: str, fname: str, path: str, fn, a, scope: Scope,
                              replacing: frozenset) -> bool:
        """Is store `a` always replaced during the set-up that makes it, before anything
        outside that set-up reads the field? cdc_ncm's bind calls cdc_ncm_init(dev), which
        stores the device's raw dwNtbOutMaxSize into ctx->tx_max, and then, on every path
        that does not fail the bind, cdc_ncm_setup(dev), which stores the clamped size on
        every path through it: the transmit path never sees the raw value. The set-up is
        the store's own function or its only caller: a later call there, run on every
        path that does not leave with an error, handed the same object (the argument the
        store's object came from), to a function storing the field of that object on
        every path through it (itself, or by a call it always makes passing the object on).
        Not when the reading function is that set-up or something it calls. `replacing`:
        the functions a replacing call may reach (_replacing_nodes)."""
        if a.op != "=" or isinstance(a, CallStore) or not a.base:
            return False  # (a setter's call names its object by an argument: not followed)
        key = (struct, fname, path, a.byte)
        setups = self._replaced_in.get(key)
        if setups is None:
            setups = self._replaced_in[key] = self._replacing_setups(struct, fname, path, fn, a, replacing)
        if not setups:
            return False
        reader = self._reader_node(scope)
        return any(not self._reached_from(setup, reader) for setup in setups)

    def _replacing_setups(self, struct: str, fname: str, path: str, fn, a, replacing: frozenset) -> tuple:
        """The set-up functions (nodes) in which a later call replaces store `a`, as
        _overwritten_at_setup() describes; whoever reads the field."""
        program = self.program
        node = program.find_node(fn, path)
        if node is None:
            return ()
        # (set-up node, function, path, the byte after which the overwrite must come, the
        # object as the set-up's later calls would be handed it)
        names = _object_names(fn, a.base)
        setups = [(node, fn, path, a.byte, names)] if names else []
        index = _object_param(fn, a.base)
        if index is not None:
            callers = list(program.callers(node))
            if len(callers) == 1:
                caller, site = callers[0]
                args = split_args(site.args_text)
                if index < len(args):
                    ref = program.functions[caller]
                    setups.append((caller, ref.fn, ref.path, site.byte, {squash(args[index])}))
        members = _members_from_param(fn, a.base)
        found = []
        for setup_node, setup_fn, setup_path, after, names in setups:
            for site in setup_fn.calls:
                if site.byte <= after:
                    continue
                targets = [t for t in program.targets(site, setup_path) if self._reaches(t, replacing)]
                if not targets or not _runs_after(setup_fn, after, site.byte):
                    continue
                handed = [i for i, arg in enumerate(split_args(site.args_text)) if squash(arg) in names]
                if handed and any(self._stores_on_every_path(t, struct, fname, handed, members, 0) for t in targets):
                    found.append(setup_node)
                    break
        return tuple(found)

    def _reaches(self, node: str, storing: frozenset) -> bool:
        """Is `node` one of the `storing` functions, or does it call one within two calls?"""
        return not storing.isdisjoint(self._callees_within(node, 2))

    def _reader_node(self, scope: Scope) -> str | None:
        if scope.fn is None:
            return None
        try:
            return self.program.node_for(scope.fn, scope.file.path)
        except KeyError:
            return None

    def _reached_from(self, setup: str, reader: str | None) -> bool:
        """Is the reading function the set-up itself or one it calls (within three calls)?
        Unknown readers count as reached: the store is kept."""
        return reader is None or reader in self._callees_within(setup, 3)

    def _callees_within(self, node: str, hops: int) -> frozenset:
        """`node` and the functions it calls within `hops` calls (memoized)."""
        key = (node, hops)
        found = self._callees.get(key)
        if found is None:
            seen, frontier = {node}, {node}
            for _ in range(hops):
                frontier = {n for f in frontier for n in self.program.graph.successors(f)} - seen
                seen |= frontier
            found = self._callees[key] = frozenset(seen)
        return found

    def _stores_on_every_path(self, node: str, struct: str, fname: str, params: list[int], members: str | None,
                              depth: int) -> bool:
        """Does every path through the function at `node` store the field of the object
        its parameters `params` point to, directly (in each arm of an if/else, or outside
        any arm) or by a call it makes on every path handing that object on? An early
        return before the store fails it. `members`: the members from the parameter to the
        replaced store's object (`->info` of `h2g->info.size`), which a store written
        straight from the parameter must name too (None: the replaced store went through
        a local)."""
        ref = self.program.functions[node]
        fn = ref.fn
        # (a store of the field's own saved copy, `mddev->new_layout = l->new_layout` of
        # dm-raid's rs_config_restore(), puts the replaced value back: not a replacement)
        saved = re.compile(rf"(->|\.)\s*{re.escape(fname)}\b")
        stores = [b.byte for b in fn.assignments
                  if b.kind == "field" and b.target == fname and b.op == "=" and not saved.search(b.value_text)
                  and _object_param(fn, b.base) in params and self._writes_struct(b, ref.path, struct)
                  and _same_members(_members_from_param(fn, b.base), members)]
        if _covered(fn, stores, fn.start_byte, fn.end_byte, 0):
            return True
        if depth >= 2:
            return False
        names = {fn.params[i][0] for i in params if i < len(fn.params)}
        for site in fn.calls:
            handed = [i for i, arg in enumerate(split_args(site.args_text)) if squash(arg) in names]
            if handed and _on_every_path_within(fn, site.byte, fn.start_byte, fn.end_byte) \
                    and not _in_loop(fn, site.byte) \
                    and any(self._stores_on_every_path(t, struct, fname, handed, members, depth + 1)
                            for t in self.program.targets(site, ref.path)):
                return True
        return False

    def _reset_before(self, fn, a, path: str, scope: Scope) -> Value | None:
        """The value the same object's field holds just before the compound store `a` when
        the function stored it plainly first on every path there: a store before it in
        every if/else arm around it (`f = x; f += n;`), or one in each arm of an if/else
        before it (`if (jumbo) f = 9000; else f = 1500; f += hdr;`); later stores on some
        paths only are alternatives (`f = 1500; if (small) f = 16; f += hdr;`). None when
        a path may reach `a` with no store of the function's own."""
        stores = [b for b in fn.assignments if b.kind == "field" and b.target == a.target and b.base == a.base
                  and b.op == "=" and b.byte < a.byte]
        if not stores:
            return None
        first = _first_reset(fn, stores, a.byte)
        if first is None:
            return None
        file = self.analysis.file_by_path[path]
        value = None
        for b in stores:
            if b.byte >= first:
                v = self.analysis.eval(b.value, Scope(file, fn, scope.depth + 1, b.byte))
                value = v if value is None else join(value, v)
        return value

    def field_cells(self, key: tuple[str, str]) -> list:
        """Every assignment to (struct type, field) in the tree, as (path, directory,
        function, assignment). Only the functions that write it are unpacked, on first use."""
        cells = self._field_cells.get(key)
        if cells is None:
            cells = self._field_cells[key] = self._cells_of(key, self.program.field_writers_of(key))
        return cells

    def _cells_of(self, key: tuple[str, str], writers) -> list:
        file = self.analysis.file_by_path
        return [(path, directory_of(path), fn, a) for path, fn in writers
                for a in (fn.assignments if fn is not None else file[path].field_inits)
                if a.kind == "field" and a.target == key[1] and self._writes_struct(a, path, key[0])]

    def _writes_struct(self, a, path: str, struct: str) -> bool:
        """Does the field store `a` in file `path` write a `struct`?"""
        if a.struct_type:
            return a.struct_type == struct
        return bool(a.receiver) and self.program.receiver_struct(a.receiver, path) == struct

    def _param_writers(self, key: tuple[str, str]) -> list:
        """Module parameters bound to a member of a file-scope struct, as (file, parameter)."""
        if self._params_by_field is None:
            index: dict[tuple[str, str], list] = {}
            for ff in self.program.files:
                for mp in ff.module_params:
                    variable, dot, member = mp.name.partition(".")
                    if dot and variable in ff.global_types:
                        struct = struct_name(ff.global_types[variable], self.program.typedefs)
                        if struct:
                            index.setdefault((struct, member), []).append((ff, mp))
            self._params_by_field = index
        return self._params_by_field.get(key, [])

    def _writers_seen_from(self, struct: str, fname: str, here: str,
                           handler: str = "") -> tuple[list, list, str, bool]:
        """The stores and module parameters that write `struct.fname` as a reader in file
        `here` sees them, the name of that view (for the memo), and whether the field is a hub.
        `handler`: the reading function, when the object read is its parameter. Where
        setter calls arm it with the object (`usb_fill_bulk_urb(urb, ..., RX_SIZE,
        rx_done, dev)` for `rx_done(struct urb *urb)`), it sees only those calls' stores of
        the setter's, not the file's other transfers'."""
        cells, hub = self._cells_seen_from(struct, fname, here)
        params = [(ff, mp) for ff, mp in self._param_writers((struct, fname)) if same_driver(ff.path, here)]
        view = here if hub else ""
        if handler and any(isinstance(c[3], CallStore) and handler in c[3].callbacks for c in cells):
            cells = [c for c in cells if not isinstance(c[3], CallStore) or handler in c[3].callbacks]
            view = f"{view}@{handler}"
        if len(self._definition_dirs(struct)) > 1:
            cells = self._same_definition(struct, cells, here)
            mine = self._definition_dir(struct, here)
            params = [(ff, mp) for ff, mp in params if self._definition_dir(struct, ff.path) == mine]
            view = view or mine
        return cells, params, view, hub

    def _same_definition(self, struct: str, cells: list, here: str) -> list:
        """The stores into the struct of that name file `here` sees, when several modules
        define one (sfc's and siena's efx_nic): two structs, not one."""
        if len(self._definition_dirs(struct)) <= 1:
            return cells
        mine = self._definition_dir(struct, here)
        return [c for c in cells if self._definition_dir(struct, c[0]) == mine]

    def _definition_dirs(self, struct: str) -> tuple[str, ...]:
        dirs = self._def_dirs.get(struct)
        if dirs is None:
            dirs = self._def_dirs[struct] = tuple(sorted({posixpath.dirname(p) for p, _ in
                                                          self.program.structs.get(struct, ())}))
        return dirs

    def _definition_dir(self, struct: str, path: str) -> str:
        """The directory of the definition of `struct` a file sees: the nearest one up its
        tree (sfc/siena/x.c sees sfc/siena/net_driver.h, sfc/x.c sees sfc/net_driver.h),
        else the one sharing the longest path with it."""
        here = directory_of(path)
        key = (struct, here)
        found = self._def_dir_of.get(key)
        if found is None:
            dirs = self._definition_dirs(struct)
            up = [d for d in dirs if here == d or here.startswith(d + "/")]
            if up:
                found = max(up, key=len)
            else:
                found = max(dirs, key=lambda d: len(posixpath.commonpath([d, here])) if d and here else 0)
            self._def_dir_of[key] = found
        return found

    def _cells_seen_from(self, struct: str, fname: str, here: str) -> tuple[list, bool]:
        """The writes of `struct.fname` that count for a reader in file `here`, and whether
        the field is a hub. A field written by several drivers (net_device.mtu,
        usb_request.length) is not one variable: only the writes in the reader's own
        file count, or in its module when the file has none (drivers/net/ holds dozens
        of drivers in one directory, each its own module). Cached per
        reader: hub fields are read thousands of times."""
        here_dir = directory_of(here)
        key = (struct, fname, here)
        seen = self._cells_by_reader.get(key)
        if seen is None:
            # Whether it is a hub follows from the writers' files alone (each writer holds
            # a store to the field): a hub's other writers are never unpacked.
            writers = self.program.field_writers_of((struct, fname))
            paths = {path for path, _ in writers}
            dirs = {directory_of(path) for path in paths}
            hub = dirs != {here_dir} and (len(dirs) > HUB_DIRECTORIES
                                          or not all(same_driver(p, here) for p in paths))
            if hub:
                # The reader's own file's stores; when it has none, its module's (Kbuild):
                # hostap stores dev->mtu in hostap_main.c and reads it in hostap_80211_rx.c.
                # A module with many stores of its own is not joined (sk_buff.len in a
                # wifi driver: dozens, each a chain, for nothing a reader's file lacks).
                # A call of a helper elsewhere that stores its argument into the object
                # (usb_fill_bulk_urb()'s buffer_length) is a store the file makes.
                mine = [w for w in writers if w[0] == here]
                calls = self._setter_calls(struct, fname, lambda path: path == here)
                if not mine and not calls:
                    same_module = self.program.same_module
                    mine = [w for w in writers if same_module(w[0], here)]
                    calls = self._setter_calls(struct, fname, lambda path: same_module(path, here))
                    if not mine and not calls:
                        calls = self._setup_cells(struct, fname, here)
                    elif len(mine) + len(calls) > HUB_MODULE_WRITERS:
                        mine, calls = [], []
                cells = self._cells_of((struct, fname), mine) + calls
            else:
                cells = self.field_cells((struct, fname))
            seen = self._cells_by_reader[key] = (cells, hub)
        return seen

    def _setter_calls(self, struct: str, fname: str, in_view: Callable[[str], bool]) -> list:
        """Cells for the calls, in the files `in_view` accepts, of a setter of the field
        defined outside them: `usb_fill_bulk_urb(urb, udev, pipe, buf, RX_SIZE, rx_done,
        dev)` stores RX_SIZE into the caller's `urb->transfer_buffer_length`, as a plain
        store there would. Each is (path, directory, calling function, CallStore). A
        setter in those files is the reader's own helper: its store is followed to its
        callers instead."""
        calls = self._setter_calls_of.get((struct, fname))
        if calls is None:
            calls = self._setter_calls_of[(struct, fname)] = self._index_setter_calls(struct, fname)
        return [cell for path, entries in calls.items() if in_view(path)
                for setter_path, cell in entries if not in_view(setter_path)]

    def _index_setter_calls(self, struct: str, fname: str) -> dict[str, list]:
        """Every call of a setter of the field, by calling file: [(setter's file, cell)]."""
        calls: dict[str, list] = {}
        for node, obj, value in self._setters(struct, fname):
            setter = self.program.functions[node]
            for caller, site in self.program.callers(node):
                ref = self.program.functions[caller]
                args = site.arguments()
                if len(args) <= max(obj, value):
                    continue
                store = CallStore("field", fname, struct, render(args[value]), site.line, "=", site.byte,
                                  base=squash(render(args[obj])), setter=setter.fn.name,
                                  callbacks=tuple(a[1] for a in args if a[0] == "id"))
                calls.setdefault(ref.path, []).append((setter.path, (ref.path, directory_of(ref.path), ref.fn, store)))
        return calls

    def _setup_cells(self, struct: str, fname: str, here: str) -> list:
        """The stores of the setup functions the allocators called in the module of file
        `here` run on a new object of `struct` ([setups]: alloc_etherdev() runs
        ether_setup(), which stores ETH_DATA_LEN into max_mtu), for a field the module
        never stores itself: what the object holds. Empty unless every such call's setup
        is known and stores the field (a setup leaving it zero says nothing: max_mtu 0
        means no limit), and unless every allocating function is called from the module
        only: a library's (alloc_libipw()) hands the object to drivers of other modules,
        which store their own max_mtu into it."""
        setups = self.analysis.sources.tables.setups
        if not any(spec.struct == struct for spec in setups.values()):
            return []  # most hubs (sk_buff.len): no allocator's setup stores into that struct
        program = self.program
        nodes = self._module_setups(struct, here)
        if not nodes:
            return []
        cells = []
        for node in sorted(nodes):
            ref = program.functions[node]
            stores = [(ref.path, directory_of(ref.path), ref.fn, a) for a in ref.fn.assignments
                      if a.kind == "field" and a.target == fname and self._writes_struct(a, ref.path, struct)]
            if not stores:
                return []
            cells += stores
        return cells

    def left_zero(self, struct: str, fname: str, here: str) -> bool:
        """Does every `struct` the module of file `here` allocates hold 0 in `fname`? No
        file of the module stores it (nor a setter it calls, nor a file-scope
        initializer), and each allocator call of the module runs a known setup function
        ([setups]) that stores it neither itself nor in what it calls, SETUP_CALLS deep
        (a driver's setup calling ether_setup()): the allocator zeroes it. False when the
        module allocates none (the object is another module's) or hands its allocating
        function to other modules (alloc_libipw()). ppp's ppp_setup() sets no max_mtu."""
        key = (struct, fname, here)
        found = self._left_zero.get(key)
        if found is None:
            found = self._left_zero[key] = self._module_leaves_zero(struct, fname, here)
        return found

    def _module_leaves_zero(self, struct: str, fname: str, here: str) -> bool:
        program = self.program
        same_module = program.same_module
        writers = program.field_writers_of((struct, fname))
        if any(same_module(path, here) for path, _ in writers) or \
                self._setter_calls(struct, fname, lambda path: same_module(path, here)):
            return False
        if any(a.kind == "field" and a.target == fname for ff in program.files_in(directory_of(here))
               if same_module(ff.path, here) for fn in ff.functions for a in fn.assignments):
            return False  # a store whose receiver's type extraction could not tell: maybe this one
        setup_nodes = self._module_setups(struct, here)
        if not setup_nodes:
            return False
        writing = {program.node_for(fn, path) for path, fn in writers if fn is not None}
        return all(writing.isdisjoint(self._callees_within(node, SETUP_CALLS)) for node in setup_nodes)

    def _module_setups(self, struct: str, here: str) -> set[str] | None:
        """The setup functions the allocator calls of the module of file `here` run on a
        new `struct` ([setups]); None when one of them is not known, or an allocating
        function is called from outside the module; empty when the module allocates none."""
        setups = self.analysis.sources.tables.setups
        program = self.program
        nodes: set[str] = set()
        for ff in program.files_in(directory_of(here)):
            if not program.same_module(ff.path, here):
                continue
            for fn in ff.functions:
                for site in fn.calls:
                    spec = setups.get(site.callee)
                    if spec is None or spec.struct != struct:
                        continue
                    found = setup_functions(program, spec, site, ff.path)
                    if not found or self._called_elsewhere(program.node_for(fn, ff.path), here):
                        return None
                    nodes.update(found)
        return nodes

    def _called_elsewhere(self, node: str, here: str) -> bool:
        """Is the function called from a file outside the module of file `here` (directly,
        or through a pointer the link resolved)?"""
        program = self.program
        return any(not program.same_module(program.functions[caller].path, here)
                   for caller, _ in program.callers(node))

    def _setters(self, struct: str, fname: str) -> list[tuple[str, int, int]]:
        """The functions storing one of their parameters into the field of an object
        another parameter points to (`urb->transfer_buffer_length = buffer_length;`), as
        (node, index of the object, index of the value)."""
        found = self._setters_of.get((struct, fname))
        if found is None:
            found = []
            for path, fn in self.program.field_writers_of((struct, fname)):
                if fn is None:
                    continue
                found += [(self.program.node_for(fn, path), obj, value) for a, obj, value in parameter_stores(fn)
                          if a.target == fname and self._writes_struct(a, path, struct)]
            self._setters_of[(struct, fname)] = found
        return found

    def struct_of_expr(self, ir: tuple, scope: Scope) -> str:
        """Struct type of an expression (the receiver of `->`/`.`), or ''."""
        typedefs = self.program.typedefs
        if ir[0] == "id":
            fn = scope.fn
            t = (fn.locals.get(ir[1]) or next((pt for pn, pt in fn.params if pn == ir[1]), "")) if fn is not None else ""
            return struct_name(t or scope.file.global_types.get(ir[1], "") or self._global_type(ir[1], scope), typedefs)
        if ir[0] == "field":
            base = self.struct_of_expr(ir[1], scope)
            found = self.analysis.builtins.find_member(base, scope.file.path, ir[2]) if base else None
            if found is not None:
                return struct_name(found[0].type_text, typedefs)
        if ir[0] in ("addr", "deref") or (ir[0] == "idx" and (_constant_index(ir[2]) or self._table(ir[1], scope))):
            # `&q`, `*q`, `dev->tx[0]`: an element of a pointer or array member is of the
            # struct the member's type names (struct_name drops the `*`). Only an element
            # at a constant index, or of a table the kernel initializes: a ring indexed at
            # run time (`rx_ring[entry]->len`) is where a device writes, and the driver's
            # stores there (ariadne's `RMD3 = 0`) are not what it holds
            return self.struct_of_expr(ir[1], scope)
        return ""

    def _table(self, base: tuple, scope: Scope) -> str:
        """The file-scope array an indexed object is (`demo_cmd_tbl[i].in_args`), or that a
        local only ever points at (`tbl = demo_cmd_tbl; ... tbl[i].in_args`): a table whose
        elements the kernel's initializers and stores fill, not a device's ring; or ''."""
        if base[0] != "id":
            return ""
        fn, name = scope.fn, base[1]
        if fn is None or name not in fn.locals:
            if fn is not None and any(pname == name for pname, _ in fn.params):
                return ""
            return name if name in scope.file.global_arrays else ""
        tables = {a.value_text.strip() if a.op == "=" else "" for a in fn.assignments
                  if a.kind == "local" and a.target == name}
        table = tables.pop() if len(tables) == 1 else ""
        return table if table in scope.file.global_arrays else ""

    def _table_member(self, struct: str, fname: str, element: tuple, scope: Scope) -> Value | None:
        """A member of a file-scope table's element at any index: the join of what the
        table's initializer sets it to in every element, written by name (`.in_args = 6`)
        or by position (`{ QLCNIC_CMD_CREATE_RX_CTX, 136, 27 }`, the member's place in
        its struct), 0 where an element leaves it out. None when something else may store
        there (a function's store into the member), or the position is not clear."""
        table = self._table(element[1], scope)
        init = scope.file.global_inits.get(table) if table else None
        if not init or any(fn is not None for _, fn in self.program.field_writers_of((struct, fname))):
            return None
        found = self.analysis.builtins.find_member(struct, scope.file.path, fname)
        sd = self.analysis.builtins.struct(struct, scope.file.path)
        if found is None or sd is None or found[0] not in sd.members:
            return None
        position = sd.members.index(found[0])
        if any(not m.name or m.bits is not None for m in sd.members[:position + 1]):
            return None  # an anonymous member or a bit-field before it: positions are not plain
        texts: dict[str, str] = {}
        for path, text in init:
            element_key, _, member = path.partition(".")
            if member in (fname, f"#{position}"):
                texts[element_key] = text
        elements = {path.partition(".")[0] for path, _ in init}
        if not texts or any(not key.startswith("#") for key in elements):
            return None  # `[DEMO_CMD_RX] = { ... }`: elements by index are not read here
        value = None
        at_file = Scope(scope.file, None, scope.depth + 1)
        for key in sorted(elements):
            text = texts.get(key)
            v = self.analysis.eval(ir_from_text(text), at_file) if text is not None else const(0)
            value = v if value is None else join(value, v)
        if not value.known:
            return None
        fn = scope.fn
        pointed = [a for a in fn.assignments if a.kind == "local" and a.target == render(element[1])] if fn else []
        line = pointed[0].line if pointed else (fn.line if fn else 1)
        return value.with_step(Step(FLOW, f"{render(element[1])}[] is the file-scope table {table}, whose initializer "
                                          f"sets .{fname} in its {len(elements)} elements", scope.file.path, line,
                                    function=fn.name if fn else ""))

    def _global_type(self, name: str, scope: Scope) -> str:
        """The type of a global the file declares in a header it includes, or another file
        of its directory defines (`extern struct datalink_proto *aarp_dl;`)."""
        found = self.program.lookup("global_types", name, scope.file.path)
        return found[1] if found is not None else ""


def _address_within(arg: tuple, name: str) -> str | None:
    """`&cmd` -> "", `&cmd.hdr.len` -> "hdr" (the member of `cmd` whose storage it is), for
    `name` cmd; None when the argument is not the address of `name` or within it."""
    if arg[0] != "addr":
        return None
    node, first = arg[1], ""
    while node[0] == "field" and not node[3]:
        first = node[2]
        node = node[1]
    return first if node == ("id", name) else None


def _handled(ir: tuple, scope: Scope) -> str:
    """The reading function's name when the object of the field read `ir` is one of its
    parameters (a completion handler's `urb`), else ''."""
    fn, base = scope.fn, ir[1]
    if fn is None or base[0] != "id" or not any(name == base[1] for name, _ in fn.params):
        return ""
    return fn.name


def _constant_index(index: tuple) -> bool:
    """Is an array index a constant: a number, or an upper-case macro or enumerator
    (`tx[0]`, `profile[MTHCA_RES_CQ]`)?"""
    return index[0] == "num" or (index[0] == "id" and index[1].isupper())


def _indexed(ir: tuple) -> bool:
    """Is the object an element of an array (`profile[i].num`, `dev->tx[0].winfo_size`)?"""
    while ir[0] in ("field", "addr", "deref"):
        ir = ir[1]
    return ir[0] == "idx"


def _of_one_element(value: Value) -> Value:
    """A field of one array element, read from the stores to every element's field (cells
    are not per element): their join bounds it, but another element's maximum is not this
    one's (mthca's `profile[MTHCA_RES_UDAV].num = num_udav` is not the CQ entry's count).
    Bounds only (lattice)."""
    lo, hi = interval(value)
    element = unknown(WHY_ELEMENT)
    return with_bounds(element, lo, hi) if hi is not None else element


def _first_reset(fn, stores: list, at: int) -> int | None:
    """The byte from which every path to `at` has run one of `stores`: the last store
    on every path, or the start of the last if/else chain whose arms each store on
    every path through them or leave the function (qla3xxx's `if (mtu == 1500) f =
    1500; else if (mtu == 9000) f = 9000; else return -EINVAL;`); None when there is none."""
    dominating = [b.byte for b in stores if on_every_path(fn, b.byte, at)]
    best = max(dominating) if dominating else None
    exits = [byte for _, byte, _ in fn.returns] + [byte for byte, _ in fn.pointer_returns]
    for cond in fn.conditions:
        ts, te, es, ee = cond[1], cond[2], cond[3], cond[4]
        if not (es < ee <= at and (best is None or ts > best) and on_every_path(fn, ts - 1, at)):
            continue
        inside = [b.byte for b in stores if ts <= b.byte < ee]
        if inside and _arm_covered(fn, stores, exits, ts, te, 0) and _arm_covered(fn, stores, exits, es, ee, 0):
            best = min(inside)
    return best


def _arm_covered(fn, stores: list, exits: list[int], start: int, end: int, depth: int) -> bool:
    """Does every path through the arm [start, end) store the field or leave the function:
    a store or a `return` on every path through it, or an if/else filling the arm (an
    `else if`) whose own arms are covered?"""
    if any(start <= b.byte < end and _on_every_path_within(fn, b.byte, start, end) for b in stores):
        return True
    if any(start <= r < end and _on_every_path_within(fn, r, start, end) for r in exits):
        return True
    if depth >= 4:
        return False
    for cond in fn.conditions:
        ts, te, es, ee = cond[1], cond[2], cond[3], cond[4]
        if start < ts < end and es < ee == end:  # `else if (...) { } else { }`: the arm is that if
            return _arm_covered(fn, stores, exits, ts, te, depth + 1) and \
                _arm_covered(fn, stores, exits, es, ee, depth + 1)
    return False


def _root_name(ir: tuple) -> str | None:
    """The variable an object expression starts from: `dev` of `(struct x *)dev->data[0]`,
    `rs` of `&rs->md`."""
    while ir and ir[0] in ("cast", "addr", "deref", "field", "idx"):
        ir = ir[2] if ir[0] == "cast" else ir[1]
    return ir[1] if ir and ir[0] == "id" else None


def _object_param(fn, base: str) -> int | None:
    """The index of the parameter the object `base` of a store is reached from: itself
    (`h2g->info.size`: h2g), or through a local set once from it (`ctx = (struct
    cdc_ncm_ctx *)dev->data[0]; ctx->tx_max = ...`: dev); None otherwise."""
    names = [name for name, _ in fn.params]
    root = _root_name(ir_from_text(base))
    if root in names:
        return names.index(root)
    sets = [b for b in fn.assignments if b.kind == "local" and b.target == root]
    if len(sets) == 1:
        origin = _root_name(ir_from_text(sets[0].value_text))
        if origin in names:
            return names.index(origin)
    return None


def _members_from_param(fn, base: str) -> str | None:
    """`->info` of the store base `h2g->info` written straight from parameter h2g; ""
    for the parameter itself; None when the base starts from anything else (a local)."""
    root = _root_name(ir_from_text(base))
    text = squash(base)
    if root is None or root not in {name for name, _ in fn.params} or not text.startswith(root):
        return None
    return text[len(root):]


def _same_members(mine: str | None, replaced: str | None) -> bool:
    """Do two stores straight from their parameters write the same member path? (Either
    going through a local: not compared.)"""
    return mine is None or replaced is None or mine == replaced


def _object_names(fn, base: str) -> set[str]:
    """What a later call in the storing function would be handed to reach the object of
    `base`: the object as written, its root variable, and the parameter it comes from."""
    names = {squash(base)}
    root = _root_name(ir_from_text(base))
    if root:
        names.add(root)
    index = _object_param(fn, base)
    if index is not None:
        names.add(fn.params[index][0])
    return names


def _runs_after(fn, first: int, second: int) -> bool:
    """Does every path through `fn` that runs byte `first` and does not leave with an
    error run byte `second` after it? `second` may follow early error exits (`if (err)
    goto error;`), but no arm, loop or other exit that `first` is not also in."""
    if second <= first or _in_loop(fn, second) and not _in_loop(fn, first):
        return False
    for cond in fn.conditions:
        ts, te, es, ee, kind = cond[1], cond[2], cond[3], cond[4], cond[5]
        if ts <= second < te and not ts <= first < te:
            return False
        if es <= second < ee and not es <= first < ee and kind != EXIT_ERROR:
            return False  # an else arm, or what follows an exit that is no error
    return True


def _covered(fn, stores: list[int], start: int, end: int, depth: int) -> bool:
    """Does every path through [start, end) run one of the bytes `stores`: one outside
    every arm nested there, or an if/else on every path there whose two arms are covered?"""
    if any(start <= b < end and _on_every_path_within(fn, b, start, end) for b in stores):
        return True
    if depth >= 3:
        return False
    for cond in fn.conditions:
        ts, te, es, ee, kind = cond[1], cond[2], cond[3], cond[4], cond[5]
        if kind != EXIT_NONE or not es < ee or not (start <= ts and ee <= end):
            continue
        if _on_every_path_within(fn, ts - 1, start, end) and not _in_loop(fn, ts) \
                and _covered(fn, stores, ts, te, depth + 1) and _covered(fn, stores, es, ee, depth + 1):
            return True
    return False


def _in_loop(fn, byte: int) -> bool:
    return any(start <= byte < end for start, end in fn.loop_spans)


def _on_every_path_within(fn, byte: int, start: int, end: int) -> bool:
    """Is `byte` outside every if/else arm nested in the arm [start, end), so that every
    path through the arm runs it?"""
    for cond in fn.conditions:
        for s, e in ((cond[1], cond[2]), (cond[3], cond[4])):
            if start <= s and e <= end and (s, e) != (start, end) and s <= byte < e:
                return False
    return True


def parameter_stores(fn) -> list[tuple[Assignment, int, int]]:
    """A setter's stores: each assignment of one of the function's parameters into a
    field of an object another parameter points to (`urb->transfer_buffer_length =
    buffer_length;`), as (assignment, index of the object, index of the value)."""
    names = [name for name, _ in fn.params]
    return [(a, names.index(a.base), names.index(a.value_text.strip())) for a in fn.assignments
            if a.kind == "field" and a.op == "=" and a.base in names and a.value_text.strip() in names]


def setup_functions(program, spec, site, path: str) -> list[str]:
    """The nodes of the setup function an allocator call at `site` of file `path` runs:
    the one [setups] names (alloc_etherdev(): ether_setup()), or the function the call's
    argument names (alloc_netdev(..., demo_setup))."""
    if spec.runs:
        return list(program.by_name.get(spec.runs, ()))
    args = site.arguments()
    arg = args[spec.setup_argument] if 0 <= spec.setup_argument < len(args) else None
    if arg is None or arg[0] != "id":
        return []
    return program.resolve(path, arg[1], site.line)


def _stored_in_both_arms(fn, stores: list, at: int) -> tuple | None:
    """The stores of an `if`/`else` before byte `at` that sets the field in both arms
    (cdc_ncm's `if (skb) ctx->tx_curr_size = max(skb->len, MIN); else ctx->tx_curr_size =
    MIN;` before its fallback alloc_skb()), when the read follows it in the same block:
    the last such if/else, with each arm's last plain store outside any deeper `if`.
    None when there is none, or a store after it may change the field on some path."""
    spans = [(ts, te, es, ee) for _, ts, te, es, ee, kind, _ in fn.conditions if kind == EXIT_NONE and es]
    found = None
    for ts, te, es, ee in spans:
        if ee > at or (found is not None and ts < found[0]):
            continue
        if not on_every_path(fn, ts - 1, at) or any(ls < ts <= le and not ls <= at < le for ls, le in fn.loop_spans):
            continue  # inside an arm or loop the read is not in: it may not have run
        then = _top_level_store(fn, stores, ts, te)
        other = _top_level_store(fn, stores, es, ee)
        if then is None or other is None:
            continue
        found = (ts, ee, then, other)
    if found is None:
        return None
    ts, ee, then, other = found
    if any(ee <= a.byte < at for a in stores):
        return None  # a later store on some path (an arm of another if)
    return then, other


def _top_level_store(fn, stores: list, start: int, end: int):
    """The last plain store in [start, end) that no deeper `if` arm or loop holds."""
    inner = [a for a in stores if start <= a.byte < end]
    if not inner:
        return None
    last = max(inner, key=lambda a: a.byte)
    if last.op != "=" or not _on_every_path_within(fn, last.byte, start, end):
        return None
    if any(start <= ls and le <= end and ls <= last.byte < le for ls, le in fn.loop_spans):
        return None
    return last
