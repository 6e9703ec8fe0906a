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
    stringifies or pastes (`#`, `##`) other than GNU's `, ##__VA_ARGS__`;
  - a chain whose end is neither a function of the scan nor a table name (it ends
    in another kind of macro: nothing would be gained).
Chains are followed up to MAX_FORWARDS macros; a name already expanded in the chain
is not expanded again (cpp's rule), so it names the function.

The cache is never changed: it is written during extraction, before link. The
rewrite makes new CallSite objects (`ForwardedCall`) in a new call list of the
calling function and updates that function's in-memory summary (its callee names
and the table flags the analyses start from); the sites the cache loaded are left
as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .exprs import IDENT_RE, ir_of_args, split_args
from .facts import CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_ARGUMENT, CallSite, FileFacts, FunctionFacts
from .kernel.tables import allocators, contexts, gfp_tables, inert_calls, source_tables, value_tables

if TYPE_CHECKING:
    from .link import Program, Resolver

MAX_FORWARDS = 8  # macros followed from one call site

# A string or character literal (cpp substitutes nothing inside), or an identifier.
_TOKEN_RE = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|[A-Za-z_]\w*")
_VA_PASTE_RE = re.compile(r",\s*##\s*([A-Za-z_]\w*)")  # GNU `, ##__VA_ARGS__`
_CAST_RE = re.compile(r"(?:(?:const|volatile|struct|union|enum|unsigned|signed)\s+)*[A-Za-z_]\w*(?:\s+\w+)*\s*\**")


@dataclass(slots=True)
class ForwardedCall(CallSite):
    """A call site rewritten through forwarding macros: `written` is the call as the
    source has it (`alloc_thing(sz)`), for witness steps."""

    written: str = ""


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


def forward_macro_calls(program: "Program", resolver: "Resolver") -> bool:
    """Rewrite every call site of the scan that names a lowercase forwarding macro
    (see the module docstring). True when some function's table flags changed."""
    candidates = _forwarding_names(program.files)
    if not candidates:
        return False
    flags_changed = False
    for ff in program.files:
        chains: dict[str, tuple[tuple[Forward, ...], str] | None] = {}
        for fn in ff.functions:
            if candidates.isdisjoint(fn.callees):
                continue
            for name in fn.callees:
                if name in candidates and name not in chains:
                    chains[name] = _chain(program, resolver, ff, fn.line, name)
            if any(chains.get(name) for name in fn.callees):
                flags_changed |= _rewrite_function(fn, chains)
    return flags_changed


def _forwarding_names(files: list[FileFacts]) -> frozenset[str]:
    """Names of lowercase function-like macros, anywhere in the scan, whose body is a
    single call: the only names worth a look-up."""
    names = set()
    for ff in files:
        for name, (params, body) in ff.func_macros.items():
            if name not in names and not name.isupper() and parse_forward(params, body):
                names.add(name)
    return frozenset(names)


def _chain(program: "Program", resolver: "Resolver", ff: FileFacts, line: int,
           name: str) -> tuple[tuple[Forward, ...], str] | None:
    """(the macros a call of `name` in `ff` goes through, the name it ends calling), or
    None when it is not rewritten."""
    if resolver.resolve(ff.path, name, line, ff.func_macros):
        return None  # a function of that name: the resolver's choice stands
    tables = table_names()
    forwards: list[Forward] = []
    expanded: set[str] = set()
    current = name
    while True:
        if current in expanded or current in tables or (forwards and resolver.resolve(
                ff.path, current, line, ff.func_macros)):
            break  # cpp does not expand a name twice; a table name or a function ends the chain
        found = program.lookup("func_macros", current, ff.path)
        if found is None:
            break
        forward = parse_forward(*found[1])
        if forward is None or current.isupper() or len(forwards) >= MAX_FORWARDS:
            return None  # it ends in another kind of macro
        forwards.append(forward)
        expanded.add(current)
        current = forward.inner
    if not forwards:
        return None
    if current not in tables and not resolver.resolve(ff.path, current, line, ff.func_macros):
        return None  # it ends in a name the scan does not define
    return tuple(forwards), current


def parse_forward(params: tuple[str, ...], body: str) -> Forward | None:
    """The single call a macro body is, outer parentheses and casts aside; None otherwise."""
    text = body.strip()
    while text.startswith("("):
        close = _matching(text, 0)
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
    if open_at >= len(text) or text[open_at] != "(" or _matching(text, open_at) != len(text) - 1:
        return None
    inner_args = text[open_at + 1:-1].strip()
    if ";" in inner_args or "{" in inner_args:
        return None
    return Forward(tuple(params), m.group(0), inner_args)


def _matching(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at `start` (-1 when unbalanced)."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


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
    if "#" in _TOKEN_RE.sub(lambda m: "" if m.group(0)[0] in "\"'" else m.group(0), text):
        return None  # stringifies or pastes: not a plain argument list
    return _TOKEN_RE.sub(lambda m: values.get(m.group(0), m.group(0)), text)


def _rewrite_function(fn: FunctionFacts, chains: dict) -> bool:
    """Give `fn` a new call list with its forwarded calls rewritten, and its summary to
    match. True when its table flags changed."""
    calls = []
    rewritten = False
    for site in fn.calls:
        chain = chains.get(site.callee) if site.callee else None
        new = _forwarded(site, *chain) if chain else None
        if new is not None:
            rewritten = True
        calls.append(new or site)
    if not rewritten:
        return False
    fn.packed_calls = calls
    fn.callees = tuple(dict.fromkeys(c.callee for c in calls if c.callee))
    flags = fn.flags
    if not allocators().keys().isdisjoint(fn.callees):
        flags |= CALLS_ALLOCATOR
    if not contexts().callback_calls.isdisjoint(fn.callees):
        flags |= CALLS_REGISTRAR
    if any(type(c) is ForwardedCall and "GFP" in c.args_text for c in calls):
        flags |= HAS_GFP_ARGUMENT
    changed = flags != fn.flags
    fn.flags = flags
    return changed


def _forwarded(site: CallSite, forwards: tuple[Forward, ...], final: str) -> ForwardedCall | None:
    args_text = site.args_text
    for forward in forwards:
        args_text = substitute(forward, args_text)
        if args_text is None:
            return None
    return ForwardedCall(
        callee=final, line=site.line, col=site.col, end_col=site.end_col, args_text=args_text,
        args=ir_of_args(args_text), locks=site.locks, lock_sites=site.lock_sites, byte=site.byte,
        lock_conds=site.lock_conds, written=f"{site.callee}({site.args_text})")


def call_text(site: CallSite) -> str:
    """The call as a witness shows it: as written, and what a forwarding macro made of it."""
    text = f"{site.callee or site.field}({site.args_text})"
    return f"{site.written}, that is {text}" if type(site) is ForwardedCall else text


def through(site: CallSite) -> str:
    """` through alloc_thing(sz)` for a call written through forwarding macros, else ""."""
    return f" through {site.written}" if type(site) is ForwardedCall else ""
