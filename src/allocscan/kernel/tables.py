"""Load the kernel API tables kept as data in `allocscan/data/*.toml`.

The allocator table says, for each allocation entry point, which argument is
the size, count, order and gfp, and what the call adds on its way down. The
context table (contexts.toml) lists lock/atomic-region APIs, guard classes,
what each region disables, and functions that never return; the entry table
(entries.toml) lists callback registrations and atomic function-pointer
fields; the Kbuild table (kbuild.toml) what --kconfig reads of Kbuild and
Kconfig; the gfp table (gfp.toml) what helpers do with a mask (return one
chosen at run time, test it, store it) and which context tests choose one.
Extraction reads these tables too (which calls to keep, which call registers a
callback), so every table is part of the facts cache's key. The trace table
(traces.toml, read by `explain`) says what the frames of a call trace mean: the
report's own frames, execution contexts, and the gfp bits a logged mode is
compared on; the allocators' frames are in allocators.toml.

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


@dataclass(frozen=True, slots=True)
class FieldContext:
    field: str
    struct: str
    context: str


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
    # primitive (acquire/trylock call, guard class, lock annotation) -> what its region
    # disables: "preempt", "irq", "bh", "rcu"
    effects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    armed: tuple[ArmedKind, ...] = ()
    # calls a condition reads through (likely(x) is x), and the returns that mean an
    # error (`return ERR_PTR(-ENOMEM);`): for branch conditions and exits
    transparent_calls: frozenset[str] = frozenset()
    error_returns: frozenset[str] = frozenset()

    @property
    def lock_calls(self) -> frozenset[str]:
        return frozenset(self.acquire) | frozenset(self.release) | frozenset(self.trylock)

    @property
    def callback_calls(self) -> frozenset[str]:
        """Calls that register, bind or arm a callback: extraction flags the functions
        making them and keeps them at file scope (DEFINE_TIMER, DECLARE_TASKLET)."""
        names = set(self.registrations)
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
        fields=tuple(FieldContext(f["field"], f["struct"], f["context"]) for f in raw["fields"]),
        quiet_functions=frozenset(raw.get("quiet_regions", {}).get("functions", ())),
        noreturn=frozenset(raw.get("noreturn", {}).get("functions", ())),
        effects={k: tuple(v) for k, v in raw.get("effects", {}).items()},
        armed=tuple(ArmedKind(a["kind"], a["context"], {k: (v[0], v[1]) for k, v in a.get("binders", {}).items()},
                              tuple(tuple(f.split(".", 1)) for f in a.get("fields", ())),
                              dict(a.get("arms", {})), dict(a.get("modes", {})), a.get("soft_mode", ""),
                              a.get("soft_context", ""))
                    for a in raw.get("armed", ())),
        transparent_calls=frozenset(raw.get("conditions", {}).get("transparent_calls", ())),
        error_returns=frozenset(raw.get("conditions", {}).get("error_returns", ())),
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
                                       tuple(IrqVariant(v["base"], v["marker"], v["when"]) for v in c["variants"]))
                      for name, c in raw["irq_contexts"].items()},
        series=tuple(sorted(series, key=lambda s: s.since)),
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
    )


_LOADERS = (allocators, families, allocator_frames, traces, contexts, inert_calls, kbuild, signature_tables,
            gfp_tables)
