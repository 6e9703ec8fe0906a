"""Link stage: calls through lowercase forwarding macros become calls of what they forward to.

A header often names a function through a lowercase function-like macro whose body
is one call of another name with the arguments moved around or completed:

    #define alloc_thing(size)         alloc_thing_mq(size, 1)
    #define alloc_thing_mq(size, n)   alloc_thing_mqs(size, n, n)

A driver's `alloc_thing(sz)` compiles to `alloc_thing_mqs(sz, 1, 1)`; to the call
graph it was a name defined by no function, and every chain stopped there. This
module rewrites such a call site, once, at link time, into the call the
preprocessor produces: the inner name, with the caller's argument texts put in
for the macro's parameters (token by token, as cpp does) in the inner call's
argument texts. Every later stage (call edges, gfp flow with its argument index,
path validation binding parameters to arguments, the value analysis) then sees
what it would see had the author written the inner call.

Why here and only here: extraction works file by file and cannot see a header's
macro; at link time `Program.lookup` finds the definition visible from the caller's
file the way other header names are found. What is not rewritten:
  - a name that already resolves to a function (a macro in one config, a function
    in another: the function the resolver picks stays);
  - ALL_CAPS macros (never calls, see link.Resolver) and every name the kernel
    tables name (allocators, lock and registration calls, sources, value macros,
    gfp helpers): the tables describe those names as the API;
  - a body that is not a single call once outer parentheses and casts are
    stripped (statement expressions, `do { } while (0)`, operators), and one that
    pastes (`##`) other than GNU's `, ##__VA_ARGS__` (a stringified parameter,
    devres_alloc()'s `#release`, becomes the string of its argument);
  - a chain whose end is neither a function of the scan nor a table name (it ends
    in another kind of macro: nothing would be gained).
Chains are followed up to MAX_FORWARDS macros; a name already expanded in the chain
is not expanded again (cpp's rule), so it names the function.

The cache is never changed: it is written during extraction, before link, and the
rewrite touches only objects in memory. It updates the calling function's summary
(its callee names, the table flags the analyses start from) and gives it a new call
list of new CallSite objects (`ForwardedCall`, which remembers the call as written
for witnesses) in place of the rewritten sites; the sites extraction made are left
as they were. Calls still in their cache entry are rewritten when first read
(`_RewritingStore`): a whole-tree scan has some 30,000 such functions and reads
the calls of few of them.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .exprs import IDENT_RE, closing_paren, ir_of_args, split_args
from .facts import CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_ARGUMENT, CallSite, FileFacts, FunctionFacts, _positional_pickle
from .kernel.tables import allocators, contexts, gfp_tables, inert_calls, source_tables, value_tables

if TYPE_CHECKING:
    from .link import Program, Resolver

MAX_FORWARDS = 8  # macros followed from one call site

# A string or character literal (cpp substitutes nothing inside), or an identifier.
_TOKEN_RE = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|[A-Za-z_]\w*")
_VA_PASTE_RE = re.compile(r",\s*##\s*([A-Za-z_]\w*)")  # GNU `, ##__VA_ARGS__`
# `#param` (stringification), string and character literals skipped, `##` left alone
_STRINGIFY_RE = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|##|#\s*([A-Za-z_]\w*)")
_CAST_RE = re.compile(r"(?:(?:const|volatile|struct|union|enum|unsigned|signed)\s+)*[A-Za-z_]\w*(?:\s+\w+)*\s*\**")


@dataclass(slots=True)
class ForwardedCall(CallSite):
    """A call site rewritten through forwarding macros: `written` is the call as the
    source has it (`alloc_thing(sz)`), for witness steps."""

    written: str = ""


# CallSite's pickling names CallSite and its fields: a rewritten call kept in a linked
# program (linkstore.py) came back as a plain CallSite, without `written`
_positional_pickle(ForwardedCall)


@dataclass(frozen=True, slots=True)
class Forward:
    """One forwarding macro: its parameters, the name its body calls and the argument
    text of that call (still in terms of the parameters)."""

    params: tuple[str, ...]
    inner: str
    inner_args: str


@lru_cache(maxsize=1)
def table_names() -> frozenset[str]:
    """Every call name the kernel tables describe: never rewritten away."""
    ctx, gfp, values = contexts(), gfp_tables(), value_tables()
    return frozenset().union(
        allocators(), ctx.lock_calls, ctx.callback_calls, ctx.irq_restore, ctx.quiet_functions, ctx.noreturn,
        ctx.transparent_calls, gfp.helpers, gfp.not_allocating, gfp.blocking_tests, gfp.context_tests,
        source_tables().calls, values.macros, inert_calls())


def forward_macro_calls(program: "Program", resolver: "Resolver") -> int:
    """Rewrite every call site of the scan that names a lowercase forwarding macro
    (see the module docstring). Returns the table flags some function gained. The
    scan's macros stay with the program (`Program.forwarding`): a relink rewrites a
    changed file's calls with them (forward_file_calls)."""
    macros = program.forwarding = _Macros(program)
    if not macros.candidates:
        return 0
    gained = 0
    in_directory: dict[tuple[str, str], tuple] = {}  # (directory, name) -> (chain, names it looked at)
    for ff in program.files:
        gained |= _forward_file(ff, macros, resolver, in_directory)
    return gained


def forward_file_calls(program: "Program", resolver: "Resolver", ff: FileFacts) -> int:
    """forward_macro_calls() for one file of a linked program (link.relink): the same
    rewrites, with the macros the program was linked with."""
    macros = program.forwarding
    if macros is None or not macros.candidates:
        return 0
    return _forward_file(ff, macros, resolver, {})


def _forward_file(ff: FileFacts, macros: "_Macros", resolver: "Resolver", in_directory: dict) -> int:
    """Rewrite the forwarded calls of one file's functions; the table flags they gained.
    `in_directory` remembers the chains that do not depend on the file, by directory."""
    gained = 0
    chains: dict[str, tuple[tuple[Forward, ...], str] | None] = {}  # name -> (macros, the name at the end)
    local: set[str] | None = None  # the names the file defines itself, when needed
    here = posixpath.dirname(ff.path)
    for fn in ff.functions:
        if macros.candidates.isdisjoint(fn.callees):
            continue
        for name in fn.callees:
            if name not in macros.candidates or name in chains:
                continue
            if local is None:
                local = resolver.local_names(ff)
            # A chain through no name the file defines itself is the same from the whole directory.
            known = in_directory.get((here, name))
            if known is None or not known[1].isdisjoint(local):
                known = _chain(macros, resolver, ff, fn.line, name)
                if known[1].isdisjoint(local):
                    in_directory[(here, name)] = known
            chains[name] = known[0]
        gained |= _rewrite_function(fn, chains)
    return gained


class _Macros:
    """The scan's lowercase function-like macros: which names may forward, and the
    definition visible from a file (Program.lookup, with a short cut for a name with
    one definition tree-wide that a shared header holds: every file sees that one)."""

    def __init__(self, program: "Program"):
        from .link import _is_shared_header

        values: dict[str, set] = {}
        shared: set[str] = set()
        for ff in program.files:
            in_shared = _is_shared_header(ff.path)
            for name, value in ff.func_macros.items():
                if not name.isupper():  # ALL_CAPS macros are never calls (link.Resolver): not followed
                    values.setdefault(name, set()).add(value)
                    if in_shared:
                        shared.add(name)
        self.program = program
        self.defined = frozenset(values)
        # (params, body) -> parse_forward() of it: one parse per distinct definition, where
        # every call site's chain asks again (a header's macro is seen from thousands)
        self._forwards: dict[tuple[tuple[str, ...], str], Forward | None] = {}
        self.candidates = frozenset(name for name, vs in values.items() if any(self.forward(v) for v in vs))
        self.everywhere = {name: next(iter(vs)) for name, vs in values.items() if len(vs) == 1 and name in shared}

    def forward(self, definition: tuple[tuple[str, ...], str]) -> Forward | None:
        """parse_forward() of a (params, body) definition."""
        try:
            return self._forwards[definition]
        except KeyError:
            found = self._forwards[definition] = parse_forward(*definition)
            return found

    def visible(self, name: str, path: str) -> tuple[tuple[str, ...], str] | None:
        """(params, body) of the definition of `name` a call in `path` expands; None if none."""
        if name not in self.defined:
            return None
        value = self.everywhere.get(name)
        if value is not None:
            return value
        found = self.program.lookup("func_macros", name, path)
        return found[1] if found is not None else None


def _chain(macros: _Macros, resolver: "Resolver", ff: FileFacts, line: int, name: str) -> tuple:
    """((the macros a call of `name` in `ff` goes through, the name it ends calling), or
    None when it is not rewritten; the names looked at on the way)."""
    touched = {name}
    if resolver.resolve(ff.path, name, line, ff.func_macros):
        return None, touched  # a function of that name: the resolver's choice stands
    tables = table_names()
    forwards: list[Forward] = []
    expanded: set[str] = set()
    current = name
    while True:
        touched.add(current)
        if current in expanded or current in tables or (forwards and resolver.resolve(
                ff.path, current, line, ff.func_macros)):
            break  # cpp does not expand a name twice; a table name or a function ends the chain
        found = macros.visible(current, ff.path)
        if found is None:
            break
        forward = macros.forward(found)
        if forward is None or len(forwards) >= MAX_FORWARDS:
            return None, touched  # it ends in another kind of macro
        forwards.append(forward)
        expanded.add(current)
        current = forward.inner
    if not forwards or current in inert_calls():
        return None, touched  # not a macro call; one that ends in container_of() and the like calls nothing
    if current not in tables and not resolver.resolve(ff.path, current, line, ff.func_macros):
        return None, touched  # it ends in a name the scan does not define
    return (tuple(forwards), current), touched


def parse_forward(params: tuple[str, ...], body: str) -> Forward | None:
    """The single call a macro body is, outer parentheses and casts aside; None otherwise."""
    text = body.strip()
    while text.startswith("("):
        close = closing_paren(text, 0)
        if close < 0:
            return None
        if close == len(text) - 1:
            text = text[1:-1].strip()  # `(call(...))`
            continue
        inside = text[1:close].strip()
        if _CAST_RE.fullmatch(inside) and inside not in params:
            text = text[close + 1:].strip()  # `(void *)call(...)`
            continue
        return None
    m = IDENT_RE.match(text)
    if m is None or m.group(0) in params:
        return None
    open_at = len(text) - len(text[m.end():].lstrip())
    if open_at >= len(text) or text[open_at] != "(" or closing_paren(text, open_at) != len(text) - 1:
        return None
    inner_args = text[open_at + 1:-1].strip()
    if ";" in inner_args or "{" in inner_args:
        return None
    return Forward(tuple(params), m.group(0), inner_args)


def substitute(forward: Forward, args_text: str) -> str | None:
    """The inner call's argument text with `args_text` (a call's arguments) put in for
    the macro's parameters; None when the call does not fit the macro."""
    args = split_args(args_text) if args_text.strip() else []
    params = forward.params
    variadic = bool(params) and params[-1].endswith("...")
    fixed = params[:-1] if variadic else params
    if len(args) < len(fixed) or (not variadic and len(args) != len(fixed)):
        return None
    values = dict(zip(fixed, args))
    if variadic:
        va_name = params[-1][:-3].strip() or "__VA_ARGS__"
        rest = args[len(fixed):]
        values[va_name] = ", ".join(rest)
        text = _VA_PASTE_RE.sub(lambda m: ("" if not rest else ", " + m.group(1)) if m.group(1) == va_name
                                else m.group(0), forward.inner_args)
    else:
        text = forward.inner_args
    if "#" in text:  # `#release`: the argument's spelling as a string (devres_alloc())
        text = _STRINGIFY_RE.sub(lambda m: _stringified(values[m.group(1)]) if m.group(1) in values else m.group(0),
                                 text)
    if "#" in _TOKEN_RE.sub(lambda m: "" if m.group(0)[0] in "\"'" else m.group(0), text):
        return None  # pastes, or stringifies what is no parameter: not a plain argument list
    return _TOKEN_RE.sub(lambda m: values.get(m.group(0), m.group(0)), text)


def _stringified(arg: str) -> str:
    """cpp's `#arg`: the argument's spelling as a string literal, its white space one
    space, the quotes and backslashes of its own literals escaped."""
    spelled = " ".join(arg.split())
    return '"' + _TOKEN_RE.sub(lambda m: m.group(0).replace("\\", "\\\\").replace('"', '\\"')
                               if m.group(0)[0] in "\"'" else m.group(0), spelled) + '"'


def _rewrite_function(fn: FunctionFacts, chains: dict) -> int:
    """Point `fn`'s summary (callee names, table flags) at what its forwarded calls
    reach, and have its calls rewritten: now when they are in memory, when first read
    when they are still in the cache entry (most never are). Returns the table flags
    it gained."""
    mine = {name: chains[name] for name in fn.callees if chains.get(name)}
    if not mine:
        return 0
    fn.callees = tuple(dict.fromkeys(mine[name][1] if name in mine else name for name in fn.callees))
    flags = fn.flags
    if not allocators().keys().isdisjoint(fn.callees):
        flags |= CALLS_ALLOCATOR
    if not contexts().callback_calls.isdisjoint(fn.callees):
        flags |= CALLS_REGISTRAR
    if any("GFP" in forward.inner_args for forwards, _ in mine.values() for forward in forwards):
        flags |= HAS_GFP_ARGUMENT  # the macro writes a mask: the rewritten call passes one
    gained = flags & ~fn.flags
    fn.flags = flags
    if type(fn.packed_calls) is int and fn.store is not None:
        fn.store = _RewritingStore(fn.store, fn.packed_calls, mine)
    else:
        fn.packed_calls = rewrite_calls(fn.calls, mine)
    return gained


class _RewritingStore:
    """A function's store (cache.BlobStore) that hands out the function's calls
    rewritten (FunctionFacts.calls loads them once, on first use); any other part it
    loads as the store does."""

    __slots__ = ("store", "calls_ref", "chains")

    def __init__(self, store, calls_ref: int, chains: dict):
        self.store, self.calls_ref, self.chains = store, calls_ref, chains

    def load(self, ref: int):
        found = self.store.load(ref)
        return rewrite_calls(found, self.chains) if ref == self.calls_ref else found


def rewrite_calls(calls: list[CallSite], chains: dict) -> list[CallSite]:
    """A new call list: the calls of names in `chains` rewritten (those whose arguments
    fit every macro of the chain), the others the same objects."""
    out = []
    for site in calls:
        chain = chains.get(site.callee) if site.callee else None
        out.append((_forwarded(site, *chain) if chain else None) or site)
    return out


def _forwarded(site: CallSite, forwards: tuple[Forward, ...], final: str) -> ForwardedCall | None:
    args_text = site.args_text
    for forward in forwards:
        args_text = substitute(forward, args_text)
        if args_text is None:
            return None
    # Argument IR up front for the calls extraction gives it to (CallSite.arguments()
    # parses the others' text when asked): the tables' names and mask-passing calls.
    eager = site.args is not None or "GFP" in args_text or final in table_names()
    return ForwardedCall(
        callee=final, line=site.line, col=site.col, end_col=site.end_col, args_text=args_text,
        args=ir_of_args(args_text) if eager else None, locks=site.locks, lock_sites=site.lock_sites, byte=site.byte,
        lock_conds=site.lock_conds, written=f"{site.callee}({site.args_text})")


def call_text(site: CallSite) -> str:
    """The call as a witness shows it: as written, and what a forwarding macro made of it."""
    text = f"{site.callee or site.field}({site.args_text})"
    return f"{site.written}, that is {text}" if type(site) is ForwardedCall else text


def through(site: CallSite) -> str:
    """` through alloc_thing(sz)` for a call written through forwarding macros, else ""."""
    return f" through {site.written}" if type(site) is ForwardedCall else ""
