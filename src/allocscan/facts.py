"""Plain dataclasses passed between pipeline stages.

`extract` turns one source file into one `FileFacts`; nothing here holds a
tree-sitter object, so facts pickle to the cache and across processes.
Expressions are kept in a small IR (see `exprs`): nested tuples such as
``("num", 4096)``, ``("id", "len")``, ``("bin", "*", a, b)``.
"""

from __future__ import annotations

import pickle
from collections import deque
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import ClassVar

# A lock-state annotation at a program point: (held on every path, held on some path).
# Each held item is a short human description such as "spin_lock_irqsave(&priv->lock)".
LockState = tuple[tuple[str, ...], tuple[str, ...]]
NO_LOCKS: LockState = ((), ())


@dataclass(slots=True)
class CallSite:
    """One call expression inside a function."""

    callee: str  # identifier called, or "" for an indirect call
    line: int  # 1-based
    col: int  # 1-based
    end_col: int  # 1-based, exclusive, on `line` (end of the call or of the line)
    args_text: str  # the argument list as written, without the parentheses
    field: str = ""  # for indirect calls through `x->field(...)`: the field name
    receiver_type: str = ""  # struct type of the receiver when it is known
    args: tuple | None = None  # argument IR, filled for calls the analyses need
    locks: LockState = NO_LOCKS  # lock/atomic regions around the call
    # (description, line, col, primitive) of the acquisitions in `locks`; the primitive is the
    # API that opened the region (`spin_lock_irqsave`, a guard class, `__must_hold`)
    lock_sites: tuple[tuple[str, int, int, str], ...] = ()
    byte: int = 0  # start offset, to place the call after or before guards
    lock_conds: tuple[str, ...] = ()  # conditions true whenever its some-path regions are open

    def arguments(self) -> tuple:
        """Argument IR: kept from extraction for the calls it knew to be of interest,
        parsed from the text for any other (the analyses' tables may name more), the
        same argument text once however many analyses and callers read it."""
        if self.args is not None:
            return self.args
        from .exprs import ir_of_args

        return ir_of_args(self.args_text)


RECEIVER_MARK = ">"  # in an access path (Assignment.receiver): never part of a struct's name
DEREF_MARK = "*"  # before the pointer's name in a store through it (Assignment kind "deref")


@dataclass(slots=True)
class Assignment:
    """`target = value` (or an initialised declaration) inside a function."""

    kind: str  # "local" | "field" | "global" | "deref" (`*p = v`: target "*p", base "p")
    target: str  # local name, or field name
    struct_type: str  # for fields: the receiver's struct type when known, else ""
    value_text: str  # the assigned expression as written; parsed to IR on demand
    line: int
    op: str = "="  # "=", "+=", "|=" ...
    byte: int = 0
    # a clamp: inside `if (... && target > value)`, it only ever lowers the target
    lowers: bool = False
    # for fields: the object written (`ptp` in `ptp->max_vclocks = n;`, squashed); for
    # fields and locals, the block holding the statement: a read later in that block sees
    # this store
    base: str = ""
    block_start: int = 0
    block_end: int = 0
    # for fields whose receiver's struct type extraction cannot name: the access path the
    # link resolves against the struct definitions, RECEIVER_MARK between the root
    # variable's type text and the members down to the receiver (`priv->rx.buf_sz = n`:
    # "struct velocity_info *>rx"; a typedef'd root `ring_t *r`: "ring_t *>"), else ""
    receiver: str = ""

    @property
    def value(self) -> tuple:
        """Expression IR of the assigned value (parsed lazily: most are never needed)."""
        from .exprs import ir_from_text

        return ir_from_text(self.value_text)


@dataclass(slots=True)
class Guard:
    """`if (cond) return/goto ...;` before later statements: narrows values after it."""

    cond_text: str  # the condition under which control leaves, as written
    line: int
    end_byte: int  # statements after this byte offset are guarded ...
    block_start: int  # ... when they are inside the block holding the `if`
    block_end: int

    @property
    def cond(self) -> tuple:
        from .exprs import ir_from_text

        return ir_from_text(self.cond_text)


@dataclass(slots=True)
class FunctionBody:
    """What a function does, statement by statement, besides its calls.

    Kept pickled inside its `FunctionFacts` until an analysis asks for it: a
    whole-tree scan loads 600,000 functions and looks inside a few percent. The
    calls are pickled apart (`FunctionFacts.packed_calls`): the walks over the
    call graph read only them, and a body's assignments are its largest part."""

    assignments: list[Assignment] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    locals: dict[str, str] = field(default_factory=dict)  # local variable -> type text
    # local arrays: variable -> IR of each dimension (`u8 buf[64]`: its type text is `u8`)
    arrays: dict[str, tuple] = field(default_factory=dict)
    # `return expr;` of a function returning an integer: (expression text, byte offset, line)
    returns: list[tuple[str, int, int]] = field(default_factory=list)
    # A function returning a pointer: (byte, value text) of each `return` with a value
    pointer_returns: list[tuple[int, str]] = field(default_factory=list)
    # `for`/`while` loops whose condition compares: (condition text, loop start byte, loop end byte)
    loops: list[tuple[str, int, int]] = field(default_factory=list)
    # `if`s whose condition reads a parameter: (condition, then start, then end,
    # else start, else end) in bytes; else is (0, 0) when there is none.
    branches: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    # Every `if` and `switch` case, for path validation: (condition, then start, then end,
    # else start, else end, exit kind, where the exit goes). An early exit (`if (c)
    # return ...;`) has the rest of its block as its else (up to the label a `goto`
    # lands on, when that label follows in the block: from there on the code is
    # reached either way); its kind is EXIT_ERROR when it leaves with an error
    # (`return -EINVAL;`, `goto err;`, `return NULL;`), EXIT_OTHER for any other exit.
    # Where it goes: LEAVES_FUNCTION for a return, the label's byte for a goto, 0 for
    # a break/continue (or no exit).
    conditions: list[tuple[str, int, int, int, int, int, int]] = field(default_factory=list)
    # (start, end) bytes of each loop statement: its body may run any number of times
    loop_spans: list[tuple[int, int]] = field(default_factory=list)
    # Locals declared with a brace initializer: name -> ((field path, value text), ...),
    # `struct fib6_config cfg = { .fc_table = t, ... }` (fields not named are zero).
    inits: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # A local name declared more than once in the function (`__u32 t;` in two sibling
    # blocks, or an inner block's shadowing one): name -> ((from byte, to byte, type
    # text), ...), each declaration in force from its start to the end of its block.
    # Stores and reads of that name belong to the innermost one in force where they are.
    scopes: dict[str, tuple[tuple[int, int, str], ...]] = field(default_factory=dict)
    # Where each brace-initialized local's declaration (`inits`) is: (line, start byte,
    # end byte); stores.py also records its members as field stores of the local
    init_spans: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    # Locals with a brace initializer or a member store (`cmd.len = n`) whose address the
    # body takes (`&cmd`, `&cmd.hdr`): name -> how many times. A recorded call passing
    # `&cmd` is one of them; the others are stores of the address or calls not recorded
    # (memcpy(), memset(): inert.toml), which may fill the object.
    addressed: dict[str, int] = field(default_factory=dict)


NOT_DECLARED = (0, 0, "")  # FunctionFacts.declaration_at: no declaration of the name is in force there

# FunctionBody.conditions exit kinds
EXIT_NONE = 0  # an if/else or a switch case
EXIT_ERROR = 1  # an early exit that leaves with an error
EXIT_OTHER = 2  # any other early exit (success, `return;`, break/continue)
LEAVES_FUNCTION = -1  # FunctionBody.conditions: the exit is a `return`

# FunctionFacts.flags
HAS_LOCKED_CALL = 1  # a call inside a lock or atomic region
HAS_INDIRECT_CALL = 2  # a call through `x->field(...)`
HAS_GFP_ARGUMENT = 4  # a call with a gfp mask written in its arguments
# set by extraction from the allocator and context tables (see extract.mark_table_calls)
CALLS_ALLOCATOR = 8  # a direct call of an allocator
CALLS_REGISTRAR = 16  # a direct call that registers, binds or arms a callback (request_irq, timer_setup, mod_timer, ...)
HAS_GFP_PARAM = 32  # a gfp_t parameter
# an early exit whose condition may test whether a gfp mask can block (see
# names_blocking_test and gfp._exits_when_blocking)
HAS_BLOCKING_TEST = 64
IS_INIT = 128  # defined __init: runs once, at boot or module load, before any user can act
# defined inside an #if/#ifdef/#else branch whose condition names a CONFIG_ symbol: the
# variant one kernel config compiles and another does not (include/linux/gpio/consumer.h's
# `static inline` devm_gpiod_get() returning -ENOSYS, for !CONFIG_GPIOLIB)
IN_CONFIG_BRANCH = 256
# the flags extraction sets from the definition itself; pack() sets the others from the body
DEFINITION_FLAGS = IS_INIT | IN_CONFIG_BRANCH


def names_blocking_test(cond_text: str) -> bool:
    """Could this condition test whether a gfp mask may block? It names a blocking bit
    (__GFP_DIRECT_RECLAIM, __GFP_RECLAIM) or a blocking test (gfpflags_allow_blocking())
    of the gfp table."""
    from .kernel.tables import gfp_tables

    tables = gfp_tables()
    return any(b in cond_text for b in tables.blocking_bits) or any(t in cond_text for t in tables.blocking_tests)


@dataclass(slots=True)
class FunctionFacts:
    name: str
    is_static: bool
    line: int
    end_line: int
    params: tuple[tuple[str, str], ...]  # (name, type text)
    entry_locks: tuple[str, ...] = ()  # from __must_hold()/__releases() annotations
    lock_releases: tuple[str, ...] = ()  # lock classes it drops without taking them (caller's lock)
    has_error: bool = False  # the parse tree of this function holds an ERROR node
    start_byte: int = 0
    end_byte: int = 0
    # A summary of the body, enough to link and to find where to look (see pack()):
    callees: tuple[str, ...] = ()  # distinct names called directly
    call_count: int = 0
    flags: int = 0  # HAS_* bits
    field_writes: tuple[tuple[str, str], ...] = ()  # (struct type, field) pairs it assigns
    global_writes: tuple[str, ...] = ()  # file-scope variables it assigns
    packed: object = None  # the FunctionBody, or its pickle until first use (None: empty)
    packed_calls: object = None  # the calls (list[CallSite]), or their pickle until first use (None: none)
    # One-time set-up: (start byte, end byte, state tested) of code that runs only while
    # some state is unset: the body of `if (!dev->stats)`, or what follows
    # `if (mhba->fw_flag & FW_ALLOC) return 0;`. State: (("field"|"global", name), ...).
    once: tuple = ()
    # Calls through a pointer (`x->field(...)`): (byte, end column, field, receiver's
    # struct type, argument count) of each, for linking without unpacking the body.
    indirect: tuple[tuple[int, int, str, str, int], ...] = ()
    # Where `packed` and `packed_calls` lie when they are int references into a cache
    # entry rather than bytes (see cache.BlobStore): the file's store, shared.
    store: object = None

    def body(self) -> FunctionBody:
        body = self.packed
        if body is None:
            body = self.packed = FunctionBody()
        elif type(body) is not FunctionBody:
            body = _UNPACKED.keep(self, "packed", body, _unpacked(body, self.store))
        return body

    @property
    def calls(self) -> list[CallSite]:
        calls = self.packed_calls
        if calls is None:
            calls = self.packed_calls = []
        elif type(calls) is not list:
            calls = _UNPACKED.keep(self, "packed_calls", calls, _unpacked(calls, self.store))
        return calls

    @property
    def assignments(self) -> list[Assignment]:
        return self.body().assignments

    @property
    def guards(self) -> list[Guard]:
        return self.body().guards

    @property
    def locals(self) -> dict[str, str]:
        return self.body().locals

    @property
    def local_arrays(self) -> dict[str, tuple]:
        return self.body().arrays

    @property
    def returns(self) -> list[tuple[str, int, int]]:
        return self.body().returns

    @property
    def loops(self) -> list[tuple[str, int, int]]:
        return self.body().loops

    @property
    def branches(self) -> list[tuple[str, int, int, int, int]]:
        return self.body().branches

    @property
    def conditions(self) -> list[tuple[str, int, int, int, int, int]]:
        return self.body().conditions

    @property
    def inits(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return self.body().inits

    @property
    def init_spans(self) -> dict[str, tuple[int, int, int]]:
        return self.body().init_spans

    @property
    def addressed(self) -> dict[str, int]:
        return self.body().addressed

    @property
    def local_scopes(self) -> dict[str, tuple[tuple[int, int, str], ...]]:
        return self.body().scopes

    def declaration_at(self, name: str, byte: int) -> tuple[int, int, str] | None:
        """The declaration of local `name` in force at `byte` (NOT_DECLARED where none
        is), when the function declares the name more than once (FunctionBody.scopes);
        else None: the one name is one variable throughout."""
        declared = self.body().scopes.get(name) if byte else None
        if not declared:
            return None
        inner = NOT_DECLARED
        for d in declared:
            if d[0] <= byte < d[1] and d[0] > inner[0]:
                inner = d
        return inner

    @property
    def pointer_returns(self) -> list[tuple[int, str]]:
        return self.body().pointer_returns

    @property
    def loop_spans(self) -> list[tuple[int, int]]:
        return self.body().loop_spans

    def pack(self) -> None:
        """Summarise the body into the light fields, then pickle it (end of extraction)."""
        body = self.body()
        calls = self.calls
        self.callees = tuple(dict.fromkeys(c.callee for c in calls if c.callee))
        self.call_count = len(calls)
        flags = self.flags & DEFINITION_FLAGS  # set by extraction from the definition
        for c in calls:
            if c.locks[0] or c.locks[1]:
                flags |= HAS_LOCKED_CALL
            if not c.callee and c.field:
                flags |= HAS_INDIRECT_CALL
            if c.args is not None and "GFP" in c.args_text:
                flags |= HAS_GFP_ARGUMENT
        if any(names_blocking_test(g.cond_text) for g in body.guards):
            flags |= HAS_BLOCKING_TEST
        self.flags = flags
        from .exprs import split_args

        self.indirect = tuple((c.byte, c.end_col, c.field, c.receiver_type,
                               len(split_args(c.args_text)) if c.args_text.strip() else 0)
                              for c in calls if not c.callee and c.field)
        self.field_writes = tuple(dict.fromkeys((a.struct_type or a.receiver, a.target) for a in body.assignments
                                                if a.kind == "field" and (a.struct_type or a.receiver)))
        self.global_writes = tuple(dict.fromkeys(a.target for a in body.assignments if a.kind == "global"))
        self.packed_calls = pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL) if calls else None
        empty = not (body.assignments or body.guards or body.locals or body.returns or body.branches
                     or body.loops or body.pointer_returns or body.conditions or body.inits or body.loop_spans)
        self.packed = None if empty else pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL)

    def share(self, same) -> None:
        """Make equal strings and tuples of the summary one object (`same` maps each
        to its first instance in the file): pickle then stores each once per file."""
        self.name = same(self.name)
        self.callees = tuple(same(c) for c in self.callees)
        self.params = same(tuple(same((same(n), same(t))) for n, t in self.params))
        self.field_writes = tuple(same((same(s), same(f))) for s, f in self.field_writes)
        self.global_writes = tuple(same(g) for g in self.global_writes)


@dataclass(slots=True)
class StructMember:
    name: str
    type_text: str  # base type, e.g. "u32", "struct foo", "char"
    pointer: bool
    array_dims: tuple[tuple, ...]  # IR of each dimension; ("flex",) for `x[]`
    bits: int | None = None  # bit-field width
    # A member macro whose arguments hold declarations (`struct_group(addrs, __be32 saddr;
    # __be32 daddr;);`): type_text is the whole call, and the parser split its text into
    # this many members that follow it (kept for their names; the layout expands the call)
    covers: int = 0
    # declared `volatile` (not a pointer to volatile data): memory something besides the
    # code writes, a device's DMA descriptor (ariadne's `volatile u_short RMD3`)
    volatile: bool = False


@dataclass(slots=True, eq=False, repr=False)
class StructDef:
    """A struct or union definition. Its members are kept pickled until first read
    (`members`): a linked program of 6.1 holds 107,000 structs of 732,000 members, with
    their names, types and dimensions 1.6 million objects, of which an analysis reads
    a few hundred structs'. Equality and repr() are of the members read."""

    name: str
    is_union: bool
    # the members (a tuple of StructMember), or until first read their pickle: bytes, or
    # an int reference into `store` for facts loaded from the cache, whose entries keep
    # it apart (FunctionFacts.store); in a whole-tree scan's memory, 6.1's were 34 MB
    packed_members: object
    line: int
    packed: bool = False
    store: object = None
    # same_facts() and the incremental analysis compare the members read, not their pickle
    UNPACKED_AS: ClassVar[dict[str, str]] = {"packed_members": "members"}

    @property
    def members(self) -> tuple[StructMember, ...]:
        members = self.packed_members
        if type(members) is not tuple:
            members = _MEMBERS_UNPACKED.keep(self, "packed_members", members, _unpacked(members, self.store))
        return members

    def pack(self) -> None:
        """Pickle the members (end of extraction)."""
        if type(self.packed_members) is tuple and self.packed_members:
            self.packed_members = pickle.dumps(self.packed_members, protocol=pickle.HIGHEST_PROTOCOL)

    def _compared(self) -> tuple:
        return self.name, self.is_union, self.members, self.line, self.packed

    def __eq__(self, other) -> bool:
        if type(other) is not StructDef:
            return NotImplemented
        return self._compared() == other._compared()

    __hash__ = None

    def __repr__(self) -> str:
        return (f"StructDef(name={self.name!r}, is_union={self.is_union!r}, members={self.members!r}, "
                f"line={self.line!r}, packed={self.packed!r})")


@dataclass(slots=True)
class Binding:
    """A function bound to a struct field: `.ndo_start_xmit = foo_xmit` or `urb->complete = foo`."""

    struct_type: str  # "" when unknown
    field: str
    function: str
    line: int
    in_function: str = ""  # enclosing function of an assignment binding
    # an assignment binding: the object whose field is set (`priv->timer` in
    # `priv->timer.function = foo`), and where the statement starts
    target: str = ""
    byte: int = 0


@dataclass(slots=True)
class ModuleParam:
    name: str  # the variable
    param_name: str  # name on the command line
    type_name: str
    perm: str  # permission text, e.g. "0644"
    line: int
    is_array: bool = False


@dataclass(slots=True)
class Suppression:
    line: int  # the line the comment applies to (its own and the next)
    rules: tuple[str, ...]  # empty = all rules
    reason: str


@dataclass(slots=True)
class FileFacts:
    path: str  # as discovered (relative to the scan root when possible)
    sha: str
    functions: list[FunctionFacts] = field(default_factory=list)
    # object-like macro -> replacement text; pickled until first looked up (see `defines`):
    # register headers hold a hundred thousand each, and no lookup ever reaches most
    packed_defines: object = None
    func_macros: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)  # name -> (params, body)
    enums: dict[str, tuple] = field(default_factory=dict)  # enumerator -> IR of its value
    structs: list[StructDef] = field(default_factory=list)
    typedefs: dict[str, str] = field(default_factory=dict)  # alias -> type text
    bindings: list[Binding] = field(default_factory=list)
    globals: dict[str, tuple] = field(default_factory=dict)  # file-scope variable -> IR of initializer
    # file-scope variables with a brace initializer: name -> ((field path, value text), ...);
    # pickled until first looked up (see `global_inits`): device-id tables make them large
    packed_global_inits: object = None
    init_names: tuple[str, ...] = ()  # the names in global_inits, kept unpacked for look-ups
    global_types: dict[str, str] = field(default_factory=dict)  # file-scope variable -> type
    global_arrays: dict[str, tuple] = field(default_factory=dict)  # file-scope array -> IR of each dimension
    module_params: list[ModuleParam] = field(default_factory=list)
    top_calls: list[CallSite] = field(default_factory=list)  # macro invocations at file scope (DEFINE_TIMER, ...)
    exports: tuple[str, ...] = ()  # the names of EXPORT_SYMBOL*(name) at file scope
    # the file's #include targets as written, with their opening delimiter: '"ring.h"',
    # '<linux/skbuff.h>' (Program.lookup reads a name they define when nothing nearer does)
    includes: tuple[str, ...] = ()
    suppressions: list[Suppression] = field(default_factory=list)
    nla_limits: dict[str, str] = field(default_factory=dict)  # netlink attribute -> policy upper bound (text)
    # Fields set by the designated initializers of file-scope variables (`.ring_size = 1024`
    # in a table of chip parameters): the Assignments, pickled until first used (see
    # `field_inits`), and the (struct type, field) pairs they set, for linking.
    packed_field_inits: object = None
    init_writes: tuple[tuple[str, str], ...] = ()
    error_nodes: int = 0  # ERROR/MISSING nodes left after masking
    pieces: int = 0  # parsed in this many top-level pieces (0: whole; extract.treesitter.parse)
    bodies_unparsed: int = 0  # function bodies no extracted definition holds (extract.file.unparsed_bodies)
    # With --kconfig: (first line, last line, CONFIG_ symbols) of the kept #if branches
    # that depend on the config (extract.kconfig), and how many lines it blanked
    kconfig_lines: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)
    kconfig_blanked: int = 0
    # #if branches a macro outside Kconfig (or a literal) may rule out: (start byte, end
    # byte, the #if condition they are compiled under), and the CRC-32s of every macro
    # name the file #defines (packed uint32s): analyze.preproc decides the branches
    # against the macros the whole scan defines
    macro_branches: tuple[tuple[int, int, str], ...] = ()
    macro_hashes: bytes = b""
    warnings: list[str] = field(default_factory=list)
    store: object = None  # where the packed parts lie when they are on disk (see FunctionFacts.store)

    @property
    def defines(self) -> dict[str, str]:
        table = self.packed_defines
        if table is None:
            table = self.packed_defines = {}
        elif type(table) is not dict:
            # Windowed as bodies are: look-ups unpack a header's table for one name; kept,
            # those of a whole 6.1 tree held a million entries to the end of the scan.
            table = _DEFINES_UNPACKED.keep(self, "packed_defines", table, _unpacked(table, self.store))
        return table

    @property
    def global_inits(self) -> dict[str, tuple[tuple[str, str], ...]]:
        table = self.packed_global_inits
        if table is None:
            table = self.packed_global_inits = {}
        elif type(table) is not dict:
            table = self.packed_global_inits = _unpacked(table, self.store)
        return table

    @property
    def field_inits(self) -> list[Assignment]:
        inits = self.packed_field_inits
        if inits is None:
            inits = self.packed_field_inits = []
        elif type(inits) is not list:
            inits = self.packed_field_inits = _unpacked(inits, self.store)
        return inits

    def share_across(self, first: dict) -> None:
        """Make the file's values that equal those of files shared before one object:
        `first` maps each value seen in the scan to its first instance.

        Each file's facts come from a cache entry (or a worker's pickle) of their own,
        so a value two files share is two objects: 6.1's 626,000 functions named their
        callees, parameters and types 1.9 million times over, and their line numbers
        and byte offsets were 2.5 million int objects for 240,000 distinct values.
        extract.driver calls this as each file is loaded, so the next file's objects
        fill the blocks the copies leave: the ints alone, shared once every file was
        loaded, took 47 MiB off a warm 6.1 scan's peak, and as each loads 72 MiB.

        Shared: the functions' names, callees, parameter lists and field-write pairs,
        positions, one-time regions and calls through pointers; the bindings' names
        and positions; initialised globals, exports, #includes, struct names, module
        parameters and #if branches; the tables of enumerators, arrays' dimensions,
        function-like macros, typedefs and globals' initializers. This runs over every
        function of the tree, so it is mostly C-level calls (the dict's setdefault); a
        pair or a macro is taken apart only the first time it is seen.

        One dict serves strings, ints and tuples: none equals another kind. Equal
        tuples hold the same types (an IR node's are fixed by its tag), so sharing
        never turns (1,) into (True,). Equal values only: nothing reads an identity."""
        same, get = first.setdefault, first.get

        # Tuples are taken apart only the first time their value is seen: the shared
        # one is made of shared parts, and is the key the next equal one finds.
        def strings(value: tuple) -> tuple:  # a tuple of strings
            got = get(value)
            if got is None:
                got = tuple(map(same, value, value))
                first[got] = got
            return got

        def pairs(value: tuple) -> tuple:  # a tuple of (str, str) pairs
            got = get(value)
            if got is None:
                got = tuple(map(strings, value))
                first[got] = got
            return got

        for fn in self.functions:
            fn.name = same(fn.name, fn.name)
            fn.line, fn.end_line = same(fn.line, fn.line), same(fn.end_line, fn.end_line)
            fn.start_byte, fn.end_byte = same(fn.start_byte, fn.start_byte), same(fn.end_byte, fn.end_byte)
            if fn.callees:
                fn.callees = strings(fn.callees)
            if fn.params:  # (name, type) pairs
                fn.params = pairs(fn.params)
            if fn.field_writes:  # (struct type, field) pairs
                fn.field_writes = pairs(fn.field_writes)
            if fn.global_writes:
                fn.global_writes = strings(fn.global_writes)
            if fn.once:  # (start, end, ((kind, name), ...))
                fn.once = tuple([(same(start, start), same(end, end), pairs(state))
                                 for start, end, state in fn.once])
            if fn.indirect:  # (byte, end column, field, receiver's type, argument count)
                fn.indirect = tuple([(same(byte, byte), column, same(field, field), same(receiver, receiver), count)
                                     for byte, column, field, receiver, count in fn.indirect])
        if self.init_writes:
            self.init_writes = pairs(self.init_writes)
        for b in self.bindings:
            b.struct_type, b.field, b.function = same(b.struct_type, b.struct_type), same(b.field, b.field), \
                same(b.function, b.function)
            b.line, b.byte = same(b.line, b.line), same(b.byte, b.byte)
            if b.target:
                b.target, b.in_function = same(b.target, b.target), same(b.in_function, b.in_function)
        if self.init_names:
            self.init_names = tuple(map(same, self.init_names, self.init_names))
        if self.exports:
            self.exports = tuple(map(same, self.exports, self.exports))
        if self.includes:  # <linux/module.h> in 30,000 files
            self.includes = strings(self.includes)
        for sd in self.structs:  # (their members are kept pickled until read)
            sd.name = same(sd.name, sd.name)
        for mp in self.module_params:
            mp.type_name, mp.perm, mp.param_name = same(mp.type_name, mp.type_name), same(mp.perm, mp.perm), \
                same(mp.param_name, mp.param_name)
        if self.macro_branches:  # (start, end, condition)
            self.macro_branches = tuple([(same(start, start), same(end, end), same(cond, cond))
                                         for start, end, cond in self.macro_branches])
        if self.func_macros:  # name -> (parameters, body)
            _share_table(self.func_macros, same, [(strings(params), same(body, body))
                                                  for params, body in self.func_macros.values()])
        for table in (self.global_types, self.enums, self.global_arrays, self.typedefs, self.globals):
            if table:  # (values whole: IR may nest deep)
                _share_table(table, same, table.values())
        # Most files leave most tables empty (a header defines no function, a driver no
        # enum): 700,000 empty dicts and lists of 6.12's were 40 MiB of its peak.
        for name in _SHARED_WHEN_EMPTY:
            value = getattr(self, name)
            if not value and type(value) in _EMPTY:
                setattr(self, name, _EMPTY[type(value)])

    def pack(self) -> None:
        """Pickle the bulky parts that most scans never read (end of extraction), and
        share equal summary values: a warm whole-tree scan holds every file's summary
        in memory at once (626,000 functions in Linux 6.1)."""
        first: dict = {}
        same = lambda value: first.setdefault(value, value)  # noqa: E731
        for fn in self.functions:
            fn.pack()
            fn.share(same)
        for sd in self.structs:
            for m in sd.members:
                m.name, m.type_text = same(m.name), same(m.type_text)
            sd.pack()
        if self.defines:
            self.packed_defines = pickle.dumps(self.defines, protocol=pickle.HIGHEST_PROTOCOL)
        if self.global_inits:
            self.init_names = tuple(same(n) for n in self.global_inits)
            self.packed_global_inits = pickle.dumps(self.global_inits, protocol=pickle.HIGHEST_PROTOCOL)
        inits = self.field_inits
        self.init_writes = tuple(dict.fromkeys(same((same(a.struct_type), same(a.target))) for a in inits))
        self.packed_field_inits = pickle.dumps(inits, protocol=pickle.HIGHEST_PROTOCOL) if inits else None


def _read_only(self, *args, **kwargs):
    raise TypeError("a shared empty table of FileFacts is read-only: give the file a table of its own")


class _EmptyDict(dict):
    """The one empty table the files that have none share (FileFacts.share_across):
    read-only, so a write fails loudly instead of reaching every file; pickled as {}."""
    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _read_only

    def __reduce__(self):
        return dict, ()


class _EmptyList(list):
    """The one empty list the files that have none share: read-only, pickled as []."""
    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = \
        sort = reverse = _read_only

    def __reduce__(self):
        return list, ()


_EMPTY = {dict: _EmptyDict(), list: _EmptyList()}  # a container's type -> the shared empty one
# The FileFacts containers nothing adds to once the file is extracted
_SHARED_WHEN_EMPTY = ("functions", "func_macros", "enums", "structs", "typedefs", "bindings", "globals",
                      "global_types", "global_arrays", "module_params", "top_calls", "suppressions",
                      "nla_limits", "kconfig_lines", "warnings")


def _share_table(table: dict, same, values) -> None:
    """`table` made anew in place (nothing else holds it yet) with its keys shared and
    `values`, shared whole, in their order."""
    shared = dict(zip(map(same, table, table), map(same, values, values)))
    table.clear()
    table.update(shared)


class _RecentlyUnpacked:
    """The bodies and call lists unpacked last, at most `size` of them; an older one
    goes back to its pickle (or cache reference) and is unpacked again when asked for.

    A whole-tree scan of 6.1 reads 168,770 of them 2.4 million times, mostly a few
    times in a row for the site it is describing. Kept unpacked, they held 0.8 GB
    to the end of the scan. Replayed on that scan's reads, a window of 5,000 loads
    242,000 times and one of 20,000 loads 227,000 times. On the same scan, a window
    of 4,096 loaded bodies, call lists and tables 298,000 times against 280,000 with
    16,384, at no measurable cost in time, and held 72 MB less at the scan's peak.
    First in, first out, so that a hit stays one attribute read. Only what this class
    set is put back: a list some stage put in its place (macrocalls' rewritten calls)
    stays."""

    def __init__(self, size: int):
        self.size = size
        self._order: deque = deque()

    def keep(self, owner, attribute: str, packed, unpacked):
        setattr(owner, attribute, unpacked)
        order = self._order
        order.append((owner, attribute, packed, unpacked))
        if len(order) > self.size:
            old_owner, old_attribute, old_packed, old_unpacked = order.popleft()
            if getattr(old_owner, old_attribute) is old_unpacked:
                setattr(old_owner, old_attribute, old_packed)
        return unpacked


_UNPACKED = _RecentlyUnpacked(4096)
_DEFINES_UNPACKED = _RecentlyUnpacked(1024)  # files' #define tables (FileFacts.defines)
# structs' members (StructDef.members): a whole-tree scan of 6.1 lays out 42,000
# structs; kept unpacked, their members held 70 MB to the end of the scan
_MEMBERS_UNPACKED = _RecentlyUnpacked(4096)


def _unpacked(packed, store):
    """A part kept pickled: in memory (bytes), or on disk (an int reference into `store`,
    for facts loaded from the cache, whose entries keep these parts apart)."""
    if type(packed) is bytes:
        return pickle.loads(packed)
    return store.load(packed)


def _positional_pickle(cls):
    """Pickle as `cls(*values)`: half the load time of the default slots state dict.

    Facts are loaded by the million on a warm whole-tree scan, so this matters.
    """
    names = [f.name for f in fields(cls)]
    values = attrgetter(*names)  # one C call for all fields (a tuple: every class has several)
    assert len(names) > 1, cls

    def __reduce__(self):
        return cls, values(self)

    cls.__reduce__ = __reduce__
    return cls


for _cls in (CallSite, Assignment, Guard, FunctionBody, FunctionFacts, StructMember, StructDef, Binding, ModuleParam,
             Suppression, FileFacts):
    _positional_pickle(_cls)
