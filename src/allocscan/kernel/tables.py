"""Load the kernel API tables kept as data in `allocscan/data/*.toml`.

The allocator table says, for each allocation entry point, which argument is
the size, count, order and gfp, and what the call adds on its way down. The
context table (contexts.toml) lists lock/atomic-region APIs, guard classes,
what each region disables, and functions that never return; the entry table
(entries.toml) lists callback registrations and atomic function-pointer
fields; the Kbuild table (kbuild.toml) what --kconfig reads of Kbuild and
Kconfig; the gfp table (gfp.toml) what helpers do with a mask (return one
chosen at run time, test it, store it) and which context tests choose one.
The value analysis reads the kernel macros and constants it evaluates itself
(macros.toml) and the places where values from outside the kernel enter
(sources.toml). Extraction reads these tables too (which calls to keep, whose
arguments to parse, which call registers a callback), so every table is part
of the facts cache's key. The trace table (traces.toml, read by `explain`)
says what the frames of a call trace mean: the report's own frames, execution
contexts, and the gfp bits a logged mode is compared on; the allocators'
frames are in allocators.toml.

`ALLOCSCAN_DATA_DIR` names a directory whose tables replace the built-in ones
of the same file name.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# A directory of tables that replace the built-in ones of the same name (a site's own
# registrars or allocators); the built-in table is used for every name it lacks.
DATA_DIR_ENV = "ALLOCSCAN_DATA_DIR"


def table_paths() -> dict[str, Path]:
    """Every table, by file name, from where it is read (the override or the package)."""
    builtin = Path(str(resources.files("allocscan") / "data"))
    paths = {p.name: p for p in builtin.glob("*.toml")}
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        paths.update({p.name: p for p in Path(override).glob("*.toml")})
    return dict(sorted(paths.items()))


def _load(name: str) -> dict:
    with table_paths()[name].open("rb") as fh:
        return tomllib.load(fh)


def reload_tables() -> None:
    """Forget the tables read so far (after the override directory or a table changed)."""
    for loader in _LOADERS:
        loader.cache_clear()


@dataclass(frozen=True, slots=True)
class Allocator:
    name: str
    family: str
    size: int | None = None
    count: int | None = None
    order: int | None = None
    gfp: int | None = None
    gfp_fixed: str | None = None
    add: tuple[str, ...] = ()
    header: int = 0
    pages: int | None = None
    sleeps: bool = False
    trace: str | None = None  # allocation path in signatures.toml ("kmalloc": chosen by size)
    no_alloc_if_literal: int | None = None  # this argument a string literal: no allocation


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    page_alloc_above: str  # constant name, a number as text, or "never"
    max_bytes: str | None
    add: tuple[str, ...]
    silent: bool
    page_align: bool
    overhead: int  # bytes the family adds to the caller's size ([overheads] of allocators.toml)
    kmalloc_attempt_add: tuple[str, ...]
    frames: dict[str, tuple[str, ...]]
    sleep_frames: dict[str, tuple[str, ...]] = None  # era -> frames of a might_sleep BUG, innermost first
    label: str = ""  # what the family is, in words
    # frame -> path ("slab", "page", "any"): how a call of the family shows in a call trace
    trace_entries: dict[str, str] = field(default_factory=dict)
    holds_frames: bool = False  # allocates packet buffers: a received frame's length sizes them
    # largest size the family's own arithmetic can carry: __alloc_skb(unsigned int size) adds
    # its overhead in 32 bits, so the head it asks for wraps past 4 GiB - 1 (None: size_t)
    size_max: int | None = None


@dataclass(frozen=True, slots=True)
class AllocatorFrames:
    """Allocator internals a call trace shows between an entry point and the warning."""

    page: frozenset[str]
    slab: frozenset[str]
    slab_refill: frozenset[str]  # a slab cache refilling from the page allocator
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TraceContext:
    kind: str  # hardirq, softirq, bh, nmi, atomic, process
    description: str


@dataclass(frozen=True, slots=True)
class TraceTables:
    strip_suffixes: tuple[str, ...]
    report_frames: frozenset[str]
    report_implies: dict[str, str]  # report frame -> the report kind it proves
    entry_prefixes: tuple[str, ...]
    contexts: dict[str, TraceContext]
    markers: dict[str, TraceContext]
    atomic_kinds: frozenset[str]
    gfp_compare: tuple[str, ...]
    gfp_silent: str


@dataclass(frozen=True, slots=True)
class Registration:
    arg: int
    context: str  # "hardirq", "softirq:timer", "process", ...


@dataclass(frozen=True, slots=True)
class ArmedKind:
    """A callback that runs only once its object is armed (see entries.toml [[armed]])."""

    kind: str  # "timer", "hrtimer", "tasklet", ...
    context: str  # where the kernel runs it once armed, e.g. "softirq:timer"
    binders: dict[str, tuple[int, int]]  # call -> (object argument, function argument)
    fields: tuple[tuple[str, str], ...]  # (struct, field) whose assignment binds a function
    arms: dict[str, int]  # call -> object argument
    # an arming call's mode argument (call -> index) that may ask for another context: when
    # its value has the bits of the constant `soft_mode`, the callback runs in `soft_context`
    modes: dict[str, int] = field(default_factory=dict)
    soft_mode: str = ""
    soft_context: str = ""
    # call -> (argument, names): an arming call whose argument names one of these objects
    # arms a callback the kernel runs only where no report is printed (a panic's or a
    # restart's notifier chain): it makes no entry point
    quiet_objects: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FieldContext:
    field: str
    struct: str
    context: str
    # the field's name is its struct's alone: a binding whose receiver's type is unknown
    # (`sock->sk->sk_data_ready = fn`) binds it too
    untyped: bool = False
    # names whose mention anywhere in the binding's module makes the kernel call the
    # field in process context instead (BLK_MQ_F_BLOCKING in a tag set's flags): no entry
    unless_module_mentions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextTables:
    acquire: dict[str, tuple[str, int]]
    release: dict[str, tuple[str, int]]
    irq_restore: dict[str, int]  # unlock -> flags argument (-1: enables interrupts unconditionally)
    trylock: dict[str, tuple[str, int]]
    guards: dict[str, str]
    registrations: dict[str, tuple[Registration, ...]]
    fields: tuple[FieldContext, ...]
    quiet_functions: frozenset[str]
    noreturn: frozenset[str] = frozenset()
    stops_when: frozenset[str] = frozenset()  # assertions ending the kernel when their argument holds (BUG_ON)
    # primitive (acquire/trylock call, guard class, lock annotation) -> what its region
    # disables: "preempt", "irq", "bh", "rcu"
    effects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    armed: tuple[ArmedKind, ...] = ()
    # calls a condition reads through (likely(x) is x), and the returns that mean an
    # error (`return ERR_PTR(-ENOMEM);`): for branch conditions and exits
    transparent_calls: frozenset[str] = frozenset()
    error_returns: frozenset[str] = frozenset()
    bug_assertions: frozenset[str] = frozenset()  # `if (WARN_ON(x))`: the arm is a bug path
    null_when_not_taken: frozenset[str] = frozenset()  # acquisitions returning NULL when they took nothing
    # calls that drop the lock their caller holds around a blocking allocation (__xa_store)
    drops_held_lock: frozenset[str] = frozenset()
    boot_root: str = ""  # the function early boot runs in (start_kernel), see contexts.toml [early_boot]
    boot_after: frozenset[str] = frozenset()  # the calls that end early boot (rest_init)
    # file-scope declarations early boot runs the function of (IRQCHIP_DECLARE -> its index)
    boot_declarations: tuple[tuple[str, int], ...] = ()

    @property
    def lock_calls(self) -> frozenset[str]:
        return frozenset(self.acquire) | frozenset(self.release) | frozenset(self.trylock)

    @property
    def callback_calls(self) -> frozenset[str]:
        """Calls that register, bind or arm a callback: extraction flags the functions
        making them and keeps them at file scope (DEFINE_TIMER, DECLARE_TASKLET)."""
        names = set(self.registrations) | {name for name, _ in self.boot_declarations}
        for kind in self.armed:
            names |= kind.binders.keys() | kind.arms.keys()
        return frozenset(names)


@lru_cache(maxsize=1)
def allocators() -> dict[str, Allocator]:
    table = _load("allocators.toml")["allocators"]
    out = {}
    for name, spec in table.items():
        spec = dict(spec)
        spec["add"] = tuple(spec.get("add", ()))
        out[name] = Allocator(name=name, **spec)
    return out


@lru_cache(maxsize=1)
def page_size_by_arch() -> dict[str, int]:
    """allocators.toml [page_size_by_arch]: architectures whose default page is not 4 KiB."""
    return dict(_load("allocators.toml")["page_size_by_arch"])


@lru_cache(maxsize=1)
def families() -> dict[str, Family]:
    raw = _load("allocators.toml")
    table = raw["families"]
    overheads = raw.get("overheads", {})
    out = {}
    for name, spec in table.items():
        frames = {k[len("frames_"):]: tuple(v) for k, v in spec.items() if k.startswith("frames_")}
        sleep_frames = {k[len("sleep_frames_"):]: tuple(v) for k, v in spec.items() if k.startswith("sleep_frames_")}
        out[name] = Family(
            name=name,
            page_alloc_above=str(spec.get("page_alloc_above", "never")),
            max_bytes=spec.get("max_bytes"),
            add=tuple(spec.get("add", ())),
            silent=bool(spec.get("silent", False)),
            page_align=bool(spec.get("page_align", False)),
            overhead=sum(overheads[n] for n in spec.get("overhead", ())),
            kmalloc_attempt_add=tuple(spec.get("kmalloc_attempt_add", ())),
            frames=frames,
            sleep_frames=sleep_frames,
            label=spec.get("label", name),
            trace_entries=dict(spec.get("trace_entries", {})),
            holds_frames=bool(spec.get("holds_frames", False)),
            size_max=(1 << spec["size_bits"]) - 1 if "size_bits" in spec else None,
        )
    return out


@lru_cache(maxsize=1)
def allocator_frames() -> AllocatorFrames:
    raw = _load("allocators.toml")["allocator_frames"]
    return AllocatorFrames(page=frozenset(raw["page"]), slab=frozenset(raw["slab"]),
                           slab_refill=frozenset(raw["slab_refill"]), prefixes=tuple(raw["prefixes"]))


@lru_cache(maxsize=1)
def traces() -> TraceTables:
    raw = _load("traces.toml")
    return TraceTables(
        strip_suffixes=tuple(raw["names"]["strip_suffixes"]),
        report_frames=frozenset(raw["report"]["frames"]),
        report_implies=dict(raw["report"]["implies"]),
        entry_prefixes=tuple(raw["report"]["entry"]["prefixes"]),
        contexts={k: TraceContext(*v) for k, v in raw["contexts"].items()},
        markers={k: TraceContext(*v) for k, v in raw["markers"].items()},
        atomic_kinds=frozenset(raw["kinds"]["atomic"]),
        gfp_compare=tuple(raw["gfp"]["compare"]),
        gfp_silent=raw["gfp"]["silent"],
    )


@lru_cache(maxsize=1)
def contexts() -> ContextTables:
    raw = {**_load("contexts.toml"), **_load("entries.toml")}
    return ContextTables(
        acquire={k: (v[0], v[1]) for k, v in raw["acquire"].items()},
        release={k: (v[0], v[1]) for k, v in raw["release"].items()},
        irq_restore=dict(raw.get("irq_restore", {})),
        trylock={k: (v[0], v[1]) for k, v in raw["trylock"].items()},
        guards=dict(raw["guards"]),
        registrations={k: tuple(Registration(a, c) for a, c in v) for k, v in raw["registrations"].items()},
        fields=tuple(FieldContext(f["field"], f["struct"], f["context"], bool(f.get("untyped", False)),
                                  tuple(f.get("unless_module_mentions", ()))) for f in raw["fields"]),
        quiet_functions=frozenset(raw.get("quiet_regions", {}).get("functions", ())),
        noreturn=frozenset(raw.get("noreturn", {}).get("functions", ())),
        stops_when=frozenset(raw.get("noreturn", {}).get("when", ())),
        effects={k: tuple(v) for k, v in raw.get("effects", {}).items()},
        armed=tuple(ArmedKind(a["kind"], a["context"], {k: (v[0], v[1]) for k, v in a.get("binders", {}).items()},
                              tuple(tuple(f.split(".", 1)) for f in a.get("fields", ())),
                              dict(a.get("arms", {})), dict(a.get("modes", {})), a.get("soft_mode", ""),
                              a.get("soft_context", ""),
                              {k: (v[0], frozenset(v[1])) for k, v in a.get("quiet_objects", {}).items()})
                    for a in raw.get("armed", ())),
        transparent_calls=frozenset(raw.get("conditions", {}).get("transparent_calls", ())),
        error_returns=frozenset(raw.get("conditions", {}).get("error_returns", ())),
        bug_assertions=frozenset(raw.get("conditions", {}).get("bug_assertions", ())),
        null_when_not_taken=frozenset(raw.get("acquire_or_null", {}).get("functions", ())),
        drops_held_lock=frozenset(raw.get("drops_held_lock", {}).get("functions", ())),
        boot_root=raw.get("early_boot", {}).get("root", ""),
        boot_after=frozenset(raw.get("early_boot", {}).get("after", ())),
        boot_declarations=tuple(sorted(raw.get("early_boot", {}).get("declared_by", {}).items())),
    )


@lru_cache(maxsize=1)
def inert_calls() -> frozenset[str]:
    """Calls not recorded in the facts (data/inert.toml)."""
    return frozenset(_load("inert.toml")["names"])


@dataclass(frozen=True, slots=True)
class GfpHelper:
    masks: tuple[str, ...]  # the masks it may return
    test: str  # the context test that picks one ("" when it returns one mask)


@dataclass(frozen=True, slots=True)
class GfpTables:
    helpers: dict[str, GfpHelper]  # helpers returning a mask chosen at run time (gfp_any)
    not_allocating: frozenset[str]  # calls taking a mask without allocating with it
    blocking_bits: tuple[str, ...]  # bits that let a mask block (__GFP_DIRECT_RECLAIM)
    blocking_tests: frozenset[str]  # helpers testing whether a mask may block
    context_tests: frozenset[str]  # run-time context tests a mask may be chosen by
    decided_by: dict[str, frozenset[str]]  # context kind -> tests that answer "atomic" there
    answers_task: frozenset[str]  # tests whose "atomic" answer is false (in_task, preemptible)
    failure_allowed_bits: tuple[str, ...]  # bits that, with __GFP_NOWARN, declare NULL expected
    # calls allocating only when an argument asks for more: name -> (1-based argument, most that allocates nothing)
    allocates_only_when: dict[str, tuple[int, int]] = field(default_factory=dict)

    def allocates_nothing(self, callee: str, args) -> bool:
        """Does a call of `callee` with these argument IRs allocate nothing, by its
        constant argument ([allocates_only_when]: virtqueue_add_outbuf(vq, &sg, 1, ...))?"""
        when = self.allocates_only_when.get(callee)
        if when is None or args is None or len(args) < when[0]:
            return False
        arg = args[when[0] - 1]
        return arg[0] == "num" and isinstance(arg[1], int) and arg[1] <= when[1]


@lru_cache(maxsize=1)
def gfp_tables() -> GfpTables:
    raw = _load("gfp.toml")
    return GfpTables(
        helpers={k: GfpHelper(tuple(v["masks"]), v.get("test", "")) for k, v in raw["helpers"].items()},
        not_allocating=frozenset(raw["not_allocating"]["names"]),
        blocking_bits=tuple(raw["blocking"]["bits"]),
        blocking_tests=frozenset(raw["blocking"]["tests"]),
        context_tests=frozenset(raw["context_tests"]["names"]),
        decided_by={k: frozenset(v) for k, v in raw["decided_by"].items()},
        answers_task=frozenset(raw["context_tests"].get("answers_task", ())),
        failure_allowed_bits=tuple(raw["failure_allowed"]["bits"]),
        allocates_only_when={name: (int(v["argument"]), int(v["above"]))
                             for name, v in raw.get("allocates_only_when", {}).items()},
    )


@dataclass(frozen=True, slots=True)
class SignatureConfig:
    """A kernel config a runtime signature is predicted for (signatures.toml [[configs]])."""
    name: str
    preempt_rcu: bool
    describe: str


@dataclass(frozen=True, slots=True)
class IrqVariant:
    base: int  # the preempt count of what the interrupt context interrupted
    marker: str  # the trace's first marker, <IRQ> or <TASK>
    when: str


@dataclass(frozen=True, slots=True)
class IrqContext:
    offset: int  # HARDIRQ_OFFSET, SOFTIRQ_OFFSET
    irqs_disabled: bool
    variants: tuple[IrqVariant, ...]
    # what the kernel holds around the call, counted as a held region's effects are
    # ([effects]): "rcu" for an atomic notifier chain's rcu_read_lock()
    effects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TraceSeries:
    """What the traces of one kernel series look like (signatures.toml [[series]])."""
    since: tuple[int, ...]
    verified: str  # the release the frames were observed on, "" if read from source
    dump_stack: str
    might_sleep: tuple[str, ...]
    warn_alloc: tuple[str, ...]
    markers: bool
    cpu_uid: bool
    taint_line: bool
    paths: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class SignatureTables:
    configs: tuple[SignatureConfig, ...]
    effects: dict[str, int]  # region effect -> what it adds to preempt_count()
    irq_contexts: dict[str, IrqContext]
    series: tuple[TraceSeries, ...]  # oldest first

    def for_series(self, version: tuple[int, ...]) -> TraceSeries:
        """The newest series table not newer than `version` (the newest one for an unknown version)."""
        if not version:
            return self.series[-1]
        fitting = [s for s in self.series if s.since <= version]
        return fitting[-1] if fitting else self.series[0]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


@lru_cache(maxsize=1)
def signature_tables() -> SignatureTables:
    """signatures.toml: configs, preempt-count effects, interrupt contexts and frames per series."""
    raw = _load("signatures.toml")
    series = [TraceSeries(since=_version(s["since"]), verified=s.get("verified", ""), dump_stack=s["dump_stack"],
                          might_sleep=tuple(s["might_sleep"]), warn_alloc=tuple(s["warn_alloc"]),
                          markers=bool(s["markers"]), cpu_uid=bool(s["cpu_uid"]), taint_line=bool(s["taint_line"]),
                          paths={k: tuple(v) for k, v in s["paths"].items()})
              for s in raw["series"]]
    return SignatureTables(
        configs=tuple(SignatureConfig(c["name"], bool(c["preempt_rcu"]), c["describe"]) for c in raw["configs"]),
        effects=dict(raw["effects"]),
        irq_contexts={name: IrqContext(c["offset"], bool(c["irqs_disabled"]),
                                       tuple(IrqVariant(v["base"], v["marker"], v["when"]) for v in c["variants"]),
                                       tuple(c.get("effects", ())))
                      for name, c in raw["irq_contexts"].items()},
        series=tuple(sorted(series, key=lambda s: s.since)),
    )


@dataclass(frozen=True, slots=True)
class MacroSpec:
    """How the value analysis evaluates one kernel macro (macros.toml [macros])."""

    name: str
    eval: str  # the evaluation: "min", "align_up", "product" ...
    args: int | None = None  # the argument count it takes (None: any)
    skip: int = 0  # leading arguments that are a type
    step: str | int | None = None  # the alignment, when it is not an argument
    plus: str | int | None = None  # added to the result
    minus: str | int | None = None  # taken from the argument (or the result: bits)
    less: int = 0  # taken from the argument before the evaluation (bits)
    end: bool = False  # member_offset: the offset past the member (offsetofend)
    field: bool = False  # member_offset: the member's size (sizeof_field)
    mask: int = 0  # field_get: the argument that is the mask (the other is the register)
    swapped: bool = False  # field_get: the register is of the other byte order (be32_get_bits)


@dataclass(frozen=True, slots=True)
class ValueTables:
    """macros.toml: kernel macros and constants the value analysis evaluates itself."""

    macros: dict[str, MacroSpec]
    constants: dict[str, int]  # one value on the target
    kernel_constants: dict[str, str]  # name -> KernelInfo attribute
    size_prefix: str  # "SZ_"
    size_units: dict[str, int]  # unit suffix -> shift
    sizes: dict[str, int]  # sizes the allocation paths add ("skb_shared_info")
    integer_types: dict[str, int]  # type -> largest value, for types narrower than 64 bits
    member_macros: dict[str, tuple[str, str]]  # DECLARE_BITMAP -> (element type, count with {0}, {1} ...)
    macro_defined_types: dict[str, str]  # seqcount_spinlock_t -> the type it lays out as
    asm_headers: tuple[str, ...]  # globs of the headers whose functions are inline assembly
    signed_wide_types: frozenset[str]  # signed integer types of 64 bits
    cast_types: frozenset[str]  # names `(name)(x)` casts to, though it parses as a call
    generated_defines: dict[str, str]  # MAX_NR_ZONES -> what include/generated defines it as
    assigning_macros: frozenset[str]  # macros that assign a plain variable argument (do_div)


@lru_cache(maxsize=1)
def value_tables() -> ValueTables:
    raw = _load("macros.toml")
    return ValueTables(
        macros={name: MacroSpec(name=name, **spec) for name, spec in raw["macros"].items()},
        constants=dict(raw["constants"]),
        kernel_constants=dict(raw["kernel_constants"]),
        size_prefix=raw["size_constants"]["prefix"],
        size_units=dict(raw["size_constants"]["units"]),
        sizes=dict(raw["sizes"]),
        integer_types=dict(raw["integer_types"]),
        member_macros={name: (spec["type"], spec.get("count", "")) for name, spec in raw["member_macros"].items()},
        macro_defined_types=dict(raw["macro_defined_types"]),
        asm_headers=tuple(raw["asm_headers"]["paths"]),
        signed_wide_types=frozenset(raw["signed_wide_types"]["names"]),
        cast_types=frozenset(raw["cast_types"]["names"]) | frozenset(raw["integer_types"])
        | frozenset(raw["signed_wide_types"]["names"]),
        generated_defines=dict(raw.get("generated_defines", {})),
        assigning_macros=frozenset(raw["assigning_macros"]["names"]),
    )


@dataclass(frozen=True, slots=True)
class KbuildTables:
    built_lists: tuple[str, ...]
    composite_suffixes: tuple[str, ...]
    other_sources: tuple[str, ...]
    arch_lists: dict[str, tuple[str, ...]]  # $(ARCH_CORE) ... -> the arch Makefile's lists
    top_libs: tuple[str, ...]
    arches: tuple[tuple[str, str], ...]  # (CONFIG_ symbol, SRCARCH), the first set wins
    module_suffix: str
    # IS_ENABLED() ... -> {"y"|"m"|"n": True | False | None (unknown)}
    macros: dict[str, dict[str, bool | None]]
    # macros the build or its generated headers define, which no source file does
    build_defines: frozenset[str] = frozenset()
    # options a struct's layout takes as set (on) or not (off) without --kconfig
    layout_on: frozenset[str] = frozenset()
    layout_off: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def kbuild() -> KbuildTables:
    """What --kconfig knows of Kbuild and Kconfig (data/kbuild.toml)."""
    raw = _load("kbuild.toml")
    kb, kc = raw["kbuild"], raw["kconfig"]
    return KbuildTables(
        built_lists=tuple(kb["built_lists"]), composite_suffixes=tuple(kb["composite_suffixes"]),
        other_sources=tuple(kb["other_sources"]),
        arch_lists={k: tuple(v) for k, v in kb["arch_lists"].items()}, top_libs=tuple(kb["top_libs"]),
        arches=tuple((a["symbol"], a["srcarch"]) for a in kb["arch"]),
        module_suffix=kc["module_suffix"],
        macros={name: {state: (None if v == "unknown" else bool(v)) for state, v in spec.items()}
                for name, spec in kc["macros"].items()},
        build_defines=frozenset(raw.get("preprocessor", {}).get("build_defines", ())),
        layout_on=frozenset(raw.get("layout", {}).get("on", ())),
        layout_off=frozenset(raw.get("layout", {}).get("off", ())),
    )


@dataclass(frozen=True, slots=True)
class ModuleParamForm:
    """Where a module_param*() form names the parameter, its variable, type and permissions."""

    macro: str
    name: int
    type: int | str  # an argument index, or the type itself ("cb": module_param_cb)
    perm: int
    min_args: int
    variable: int | None = None  # argument naming the variable ...
    variable_address: int | None = None  # ... or passing its address
    array: bool = False


@dataclass(frozen=True, slots=True)
class HandlerKind:
    """Which interface a function serves, from its parameter types (sources.toml [[handlers]])."""

    kind: str
    params: tuple[str, ...]
    with_word: str = ""
    names: tuple[str, ...] = ()

    def matches(self, types: str, function: str) -> bool:
        return (any(p in types for p in self.params) and self.with_word in types
                and (not self.names or any(n in function for n in self.names)))


@dataclass(frozen=True, slots=True)
class DeviceReader:
    """An accessor of a device's descriptor (usb_endpoint_maxp): its maximum and the field it reads."""

    name: str
    max: int
    field: str
    text: str


@dataclass(frozen=True, slots=True)
class FilledField:
    """A struct field a device fills in when a transfer completes, within a bound the
    driver set on the same object (an URB's actual_length within its transfer_buffer_length)."""

    max: int | None  # as wide as its type
    within: str  # the field of the same struct holding the transfer's length


@dataclass(frozen=True, slots=True)
class ObjectSetup:
    """An allocator that runs a setup function on the object it returns before the
    driver sees it: `runs` names the function, or `setup_argument` is the index of the
    argument naming it (alloc_netdev()'s `setup`)."""

    struct: str
    runs: str = ""
    setup_argument: int = -1


@dataclass(frozen=True, slots=True)
class CallbackParam:
    """A parameter of a driver callback the core calls with what a user asked for, after
    checking it against a field of the object another parameter points to."""

    index: int  # the parameter's position
    max: int | None  # as wide as its type
    kind: str  # the source kind: "netlink"
    bound_field: str = ""  # the field holding the largest value the core lets through ...
    of: int = 0  # ... of the object this parameter points to
    unbounded_max: int | None = None  # what the core lets through when that field is 0 (UserField)
    unbounded_in: tuple[str, ...] = ()  # everywhere: the parameter is always the module's own object


@dataclass(frozen=True, slots=True)
class UserField:
    """A struct field the kernel fills from a user's request before calling the driver."""

    max: int | None  # as wide as its type
    kind: str  # the source kind: "ethtool"
    bound_field: str = ""  # the field of the same struct holding the largest value let through
    # the driver stores into the field itself too (net_device.mtu at probe): its stores
    # join the user's range, and decide alone when the bound cannot be read
    driver_stores: bool = False
    via: str = ""  # the interface the user sets it through, named in the source (else the reader)
    says: str = ""  # how the user sets it, for the witness (else "what the user asked for")
    # the core checks the bound only when it is above 0 (dev_validate_mtu(): max_mtu 0 is
    # no limit): the most it lets through then; None when a bound of 0 is a bound
    unbounded_max: int | None = None
    # where a read of the field is of an object the reader's module made and set up
    # (drivers/: a driver reads its own devices; protocol code reads a route's or a
    # socket's device, whatever set it up): only there is a bound never stored 0
    unbounded_in: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceTables:
    """sources.toml: where values someone outside the kernel chooses enter a driver.
    Widths are resolved to maxima (None: unbounded) with macros.toml's integer types."""

    parsers: dict[str, int | None]
    user_copies: dict[str, str]  # call -> "address" | "first"
    netlink_getters: dict[str, int | None]
    netlink_policies: dict[str, int]  # policy macro -> index of its upper bound
    endian: dict[str, int | None]
    module_param_forms: dict[str, ModuleParamForm]
    module_param_types: dict[str, int | None]
    writable_perms: tuple[str, ...]
    handlers: tuple[HandlerKind, ...]
    ioctl_names: tuple[str, ...]
    descriptor_fields: dict[str, int | None]
    device_readers: dict[str, DeviceReader]
    own_descriptors: tuple[str, ...]  # path prefixes whose descriptors are the driver's own
    user_fields: dict[str, UserField]  # "struct.field" -> what the user may put there
    callback_params: dict[str, CallbackParam]  # "ops struct.member" -> the parameter a user chooses
    user_kinds: tuple[str, ...]  # source kinds a user sets
    device_kinds: tuple[str, ...]  # source kinds a device (host, wire, firmware) sets
    load_time_kinds: tuple[str, ...]  # user kinds set before any code of the module runs
    per_call_kinds: tuple[str, ...]  # user kinds that size only the system call they come with
    host_fields: dict[str, int | None]  # "struct.field" a USB host sends a gadget -> its maximum
    # "struct.field" a USB host sends -> (its maximum, path prefixes where the framework caps it there)
    host_field_caps: dict[str, tuple[int, tuple[str, ...]]]
    filled_fields: dict[str, FilledField]  # "struct.field" a device fills in, within another field
    declared_sizes: frozenset[str]  # "struct.field" in which a device declares its buffers' size
    setups: dict[str, ObjectSetup]  # allocator -> the setup function it runs on the new object
    registers: dict[str, int | None]  # register reads -> their maximum
    raw_reads: dict[str, int | None]  # reads of raw device bytes -> their maximum
    wire_types: dict[str, int]  # byte-order types -> their maximum
    wire_copies: dict[str, int]  # call copying a received buffer -> index of its destination argument

    @property
    def calls(self) -> frozenset[str]:
        """Every call this table names (extraction parses their arguments eagerly)."""
        return frozenset().union(self.parsers, self.user_copies, self.netlink_getters, self.endian,
                                 self.module_param_forms, self.device_readers, self.registers, self.raw_reads)

    def is_user(self, source: str) -> bool:
        """Does the source (`kind:name`) name something a user sets?"""
        return source.partition(":")[0] in self.user_kinds

    def is_device(self, source: str) -> bool:
        return source.partition(":")[0] in self.device_kinds

    def is_received_length(self, source: str) -> bool:
        """Is the device source a length the hardware reports of data it wrote into a
        buffer the driver gave it: a register read, raw bytes or a byte-order field of a
        descriptor or received header? Not a USB host's request, a USB descriptor's field,
        a size a device declares for its buffers (NCM's dwNtbInMaxSize), nor a transfer's
        fill (`urb->actual_length`), whose buffer a device may have sized."""
        kind, _, name = source.partition(":")
        if kind != "device":
            return False
        call = name.partition("(")[0]
        if call != name:
            return call in self.registers or call in self.raw_reads
        return name not in self.host_fields and name not in self.filled_fields and name not in self.declared_sizes

    def is_per_call(self, source: str) -> bool:
        """A read() or write() count: it sizes only the call that passed it."""
        return source.partition(":")[0] in self.per_call_kinds

    def is_run_time(self, source: str) -> bool:
        """A user source set through an interface that exists only after init (ioctl, sysfs ...)."""
        kind = source.partition(":")[0]
        return kind in self.user_kinds and kind not in self.load_time_kinds


def _width(spec: dict, integer_types: dict[str, int]) -> int | None:
    """A `{ type = "u16" }` or `{ max = N }` entry's largest value (None: unbounded)."""
    if "max" in spec:
        return spec["max"]
    return integer_types.get(spec["type"])


@lru_cache(maxsize=1)
def source_tables() -> SourceTables:
    raw = _load("sources.toml")
    types = value_tables().integer_types
    widths = lambda table: {name: _width(spec, types) for name, spec in table.items()}  # noqa: E731
    params = raw["module_param"]
    device = raw["device"]
    return SourceTables(
        parsers=widths(raw["parsers"]),
        user_copies={name: spec["fills"] for name, spec in raw["user_copies"].items()},
        netlink_getters=widths(raw["netlink_getters"]),
        netlink_policies=dict(raw["netlink_policies"]),
        endian=widths(raw["endian"]),
        module_param_forms={name: ModuleParamForm(macro=name, **spec) for name, spec in params["forms"].items()},
        module_param_types=widths(params["types"]),
        writable_perms=tuple(params["writable"]["names"]),
        handlers=tuple(HandlerKind(h["kind"], tuple(h["params"]), h.get("with", ""), tuple(h.get("names", ())))
                       for h in raw["handlers"]),
        ioctl_names=tuple(raw["ioctl"]["names"]),
        descriptor_fields=widths(device["descriptor_fields"]),
        device_readers={name: DeviceReader(name, **spec) for name, spec in device["readers"].items()},
        own_descriptors=tuple(device["own_descriptors"]["under"]),
        user_fields={name: UserField(_width(spec, types), spec["kind"], spec.get("bound_field", ""),
                                     spec.get("driver_stores", False), spec.get("via", ""), spec.get("says", ""),
                                     spec.get("zero_bound_lets_through"), tuple(spec.get("zero_bound_in", ())))
                     for name, spec in raw["user_fields"].items()},
        callback_params={name: CallbackParam(spec["param"], _width(spec, types), spec["kind"],
                                             spec.get("bound_field", ""), spec.get("of", 0),
                                             spec.get("zero_bound_lets_through"))
                         for name, spec in raw["callback_params"].items()},
        user_kinds=tuple(raw["kinds"]["user"]),
        device_kinds=tuple(raw["kinds"]["device"]),
        load_time_kinds=tuple(raw["kinds"]["load_time"]),
        per_call_kinds=tuple(raw["kinds"]["per_call"]),
        host_fields=widths(device["host_fields"]),
        host_field_caps={name: (spec["max"], tuple(spec["under"])) for name, spec in device["host_field_caps"].items()},
        filled_fields={name: FilledField(_width(spec, types), spec["within"])
                       for name, spec in device["filled_fields"].items()},
        declared_sizes=frozenset(device["declared_sizes"]["fields"]),
        setups={name: ObjectSetup(**spec) for name, spec in raw["setups"].items()},
        registers=widths(device["registers"]),
        raw_reads=widths(device["raw_reads"]),
        wire_types=dict(device["wire_types"]["types"]),
        wire_copies={name: spec["into"] for name, spec in device["wire_copies"].items()},
    )


_LOADERS = (allocators, families, allocator_frames, traces, contexts, inert_calls, kbuild, signature_tables,
            gfp_tables, value_tables, source_tables)
