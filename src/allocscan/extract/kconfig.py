"""Apply a kernel config to one file's preprocessor conditionals, before parsing.

`apply_config(text, config)` evaluates each `#if`/`#ifdef`/`#ifndef`/`#elif`/
`#else` chain whose conditions read CONFIG_ symbols (`defined(CONFIG_X)`,
`IS_ENABLED()`, `IS_BUILTIN()`, `IS_MODULE()`, a bare `CONFIG_X`, joined by
`&&`, `||`, `!` and parentheses) with the config, and blanks the branches
that config does not compile with same-length whitespace (newlines kept), so
lines, columns and byte offsets stay those of the file. A condition that
reads anything else (a header guard, `MODULE`, a comparison, a symbol the
file defines itself) is unknown: its branches all stay, as without a config.
A chain whose every branch is decided loses its directive lines too, so the
parser sees the compiled code as the compiler does (the two halves of an
`#ifdef`/`#else` that each open a brace no longer confuse it).

It also returns which lines depend on the config: the kept branches whose
chain read CONFIG_ symbols, with those symbols, so a finding whose path runs
through them can say so.

Without a config, `macro_branches(text)` records the branches whose
compilation turns on a macro that is neither a CONFIG_ symbol nor reserved to
the compiler (`#if defined(BENCH_FORK)`, `#ifdef DEBUG`) or on a literal (`#if
0`), with the condition under which each is compiled. Whether that macro is
defined is a question for the whole scan (a header or a Makefile's `-D` may
define it): `analyze.preproc` decides it with `MacroResolver`, through the
same evaluator.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..kernel.kconfig import KernelConfig
from ..kernel.tables import kbuild
from .source import line_matches

T, F, U = True, False, None  # a condition's value under the config: true, false, unknown

_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(ifdef|ifndef|if|elif|else|endif)\b((?:[^\n\\]|\\.)*)", re.M | re.S)
# Comments and literals, so a directive inside a block comment is not taken for one.
_COMMENT_OR_LITERAL = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)


@lru_cache(maxsize=1)
def _token_re() -> re.Pattern:
    """The tokens of an #if expression; the config macros (IS_ENABLED() ...) from kbuild.toml."""
    macros = "|".join(sorted(map(re.escape, kbuild().macros), key=len, reverse=True))
    return re.compile(
        r"\s*(?:(?P<defined>defined)\s*(?:\(\s*(?P<dsym>\w+)\s*\)|(?P<dsym2>\w+))"
        rf"|(?P<macro>{macros})\s*\(\s*(?P<msym>\w+)\s*\)"
        r"|(?P<op>\|\||&&|!(?!=)|\(|\))"
        r"|(?P<num>(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)"
        r"|(?P<ident>[A-Za-z_]\w*)"
        r"|(?P<other>\S))")
_LOCAL_DEFINE = re.compile(r"^[ \t]*#[ \t]*(?:define|undef)[ \t]+(CONFIG_\w+)", re.M)
# what the lines of those two hold, for `line_matches`
_DIRECTIVE_HINT = re.compile(r"#[ \t]*(?:if|el|endif)")
_LOCAL_DEFINE_HINT = re.compile(r"(?:define|undef)[ \t]+CONFIG_")


@dataclass
class ConfiguredText:
    text: str  # same length as the input, disabled branches blanked
    blanked_lines: int = 0  # lines of code the config removed (directives not counted)
    depends: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)  # (first, last line, symbols)
    unbalanced: bool = False  # the conditionals did not nest; nothing was blanked


def apply_config(text: str, config: KernelConfig) -> ConfiguredText:
    if "#" not in text or "CONFIG_" not in text:
        return ConfiguredText(text)
    comments = _comment_spans(text)
    local = frozenset(m.group(1) for m in line_matches(_LOCAL_DEFINE, text, _LOCAL_DEFINE_HINT))
    directives = [m for m in line_matches(_DIRECTIVE, text, _DIRECTIVE_HINT) if not _inside(comments, m.start())]
    if not directives:
        return ConfiguredText(text)
    walker = _Walker(text, config, local, comments)
    for m in directives:
        if not walker.directive(m):
            return ConfiguredText(text, unbalanced=True)
    if walker.stack:
        return ConfiguredText(text, unbalanced=True)
    return walker.result()


class _Frame:
    """One #if chain: whether it sits in dead code, what its branches were so far."""

    __slots__ = ("outer_dead", "taken", "undecided", "symbols", "directive_spans", "branch_start", "branch_live",
                 "branch_symbols")

    def __init__(self, outer_dead: bool):
        self.outer_dead = outer_dead
        self.taken = False  # a branch so far is true under the config
        self.undecided = False  # a branch so far is unknown
        self.symbols: tuple[str, ...] = ()  # CONFIG_ symbols the chain's conditions read so far
        self.directive_spans: list[tuple[int, int]] = []
        self.branch_start = 0  # offset where the current branch's code starts
        self.branch_live = True
        self.branch_symbols: tuple[str, ...] = ()


class _Walker:
    def __init__(self, text: str, config: KernelConfig, local: frozenset, comments):
        self.text = text
        self.config = config
        self.local = local
        self.comments = comments
        self.stack: list[_Frame] = []
        self.blank: list[tuple[int, int]] = []  # spans to blank
        self.depends: list[tuple[int, int, tuple[str, ...]]] = []
        self.blanked_lines = 0

    def dead(self) -> bool:
        return bool(self.stack) and (self.stack[-1].outer_dead or not self.stack[-1].branch_live)

    def enclosing_symbols(self) -> tuple[str, ...]:
        out: list[str] = []
        for frame in self.stack:
            out.extend(s for s in frame.branch_symbols if s not in out)
        return tuple(out)

    def directive(self, m: re.Match) -> bool:
        kind = m.group(1)
        body = _strip_comments(m.group(2))
        start, end = m.start(), m.end()
        if kind in ("if", "ifdef", "ifndef"):
            frame = _Frame(self.dead())
            self.stack.append(frame)
            value, symbols = self.condition(kind, body)
            self.open_branch(frame, value, symbols, start, end)
            return True
        if not self.stack:
            return False
        frame = self.stack[-1]
        self.close_branch(frame, start)
        if kind == "elif":
            value, symbols = self.condition("if", body)
            self.open_branch(frame, value, symbols, start, end)
        elif kind == "else":
            self.open_branch(frame, T, (), start, end)
        else:  # endif
            frame.directive_spans.append((start, end))
            self.stack.pop()
            if not frame.outer_dead and not frame.undecided and frame.symbols:
                self.blank.extend(frame.directive_spans)  # decided: the code reads as compiled
        return True

    def condition(self, kind: str, body: str):
        """(value, CONFIG_ symbols read). A condition that reads no CONFIG_ symbol
        (`#if 0`, a header guard) is unknown: only the config is applied."""
        if kind == "ifdef" or kind == "ifndef":
            name = body.strip().split()[0] if body.strip() else ""
            value, symbols = self.symbol_defined(name)
            if kind == "ifndef" and value is not U:
                value = not value
        else:
            value, symbols = _Condition(body, self).value()
        return (value, symbols) if symbols else (U, ())

    def symbol_defined(self, name: str):
        if not name.startswith("CONFIG_") or name in self.local:
            return U, ()
        return self.config.defines(name), (_base_symbol(name),)

    def bare_value(self, name: str):
        """A bare name in #if: a CONFIG_ symbol's value; anything else is not evaluated."""
        if name and name.startswith("CONFIG_") and name not in self.local:
            # In #if a name that is not a macro reads as 0; =y defines it as 1.
            symbols = (_base_symbol(name),)
            raw = self.config.value(name)
            if raw is None or raw in ("n", "m"):
                return (self.config.defines(name) if name != _base_symbol(name) else F), symbols
            if raw == "y":
                return T, symbols
            try:
                return int(raw, 0) != 0, symbols
            except ValueError:
                return U, symbols
        raise _Unknown

    def macro_value(self, macro: str, name: str):
        if not name.startswith("CONFIG_") or name in self.local:
            return U, ()
        return kbuild().macros[macro].get(self.config.tristate(name), F), (name,)

    def open_branch(self, frame: _Frame, value, symbols, start: int, end: int) -> None:
        frame.directive_spans.append((start, end))
        frame.symbols += tuple(s for s in symbols if s not in frame.symbols)
        live = not frame.taken and value is not F
        if live and value is U:
            frame.undecided = True  # this branch or a later one may be the compiled one
        if live and value is T:
            frame.taken = True  # every later branch is dead (even after an unknown one)
        frame.branch_live = live
        frame.branch_symbols = frame.symbols
        frame.branch_start = end

    def close_branch(self, frame: _Frame, at: int) -> None:
        if frame.outer_dead:
            return
        if not frame.branch_live:
            self.blank.append((frame.branch_start, at))
            self.blanked_lines += self.text.count("\n", frame.branch_start, at) - 1 if at > frame.branch_start else 0
        elif frame.symbols:
            first = self.text.count("\n", 0, frame.branch_start) + 2  # the line after the directive
            last = self.text.count("\n", 0, at)  # the line before the next directive
            if last >= first:
                self.depends.append((first, last, self.enclosing_symbols()))

    def result(self) -> ConfiguredText:
        chars = list(self.text)
        for start, end in self.blank:
            for i in range(start, end):
                if chars[i] not in "\n":
                    chars[i] = " "
        return ConfiguredText("".join(chars), max(self.blanked_lines, 0), sorted(self.depends))


class _Condition:
    """Three-valued evaluation of an #if expression over the config (recursive descent).
    Anything outside ! && || ( ) defined() IS_*() numbers and CONFIG_ names makes the
    whole condition unknown: comparisons and arithmetic are not evaluated."""

    def __init__(self, body: str, walker: _Walker):
        self.walker = walker
        self.tokens = []
        for m in _token_re().finditer(body):
            if m.group("other") is not None and m.group("other").strip():
                self.tokens = None
                break
            self.tokens.append(m)
        self.pos = 0
        self.symbols: list[str] = []
        self.body = body

    def value(self):
        if not self.tokens:  # not evaluated (a comparison, arithmetic), but still config-dependent
            named = dict.fromkeys(_base_symbol(n) for n in re.findall(r"\bCONFIG_\w+", self.body)
                                  if n not in self.walker.local)
            return U, tuple(named)
        try:
            v = self.parse_or()
        except _Unknown:
            return U, tuple(self.symbols)
        if self.pos != len(self.tokens):
            return U, tuple(self.symbols)
        return v, tuple(self.symbols)

    def peek_op(self) -> str | None:
        if self.pos < len(self.tokens):
            return self.tokens[self.pos].group("op")
        return None

    def parse_or(self):
        v = self.parse_and()
        while self.peek_op() == "||":
            self.pos += 1
            w = self.parse_and()
            v = T if (v is T or w is T) else (F if (v is F and w is F) else U)
        return v

    def parse_and(self):
        v = self.parse_unary()
        while self.peek_op() == "&&":
            self.pos += 1
            w = self.parse_unary()
            v = F if (v is F or w is F) else (T if (v is T and w is T) else U)
        return v

    def parse_unary(self):
        if self.peek_op() == "!":
            self.pos += 1
            v = self.parse_unary()
            return U if v is U else not v
        return self.parse_primary()

    def parse_primary(self):
        if self.pos >= len(self.tokens):
            raise _Unknown
        tok = self.tokens[self.pos]
        self.pos += 1
        if tok.group("op") == "(":
            v = self.parse_or()
            if self.peek_op() != ")":
                raise _Unknown
            self.pos += 1
            return v
        if tok.group("defined"):
            name = tok.group("dsym") or tok.group("dsym2")
            v, symbols = self.walker.symbol_defined(name)
            self.note(symbols)
            return v
        if tok.group("macro"):
            v, symbols = self.walker.macro_value(tok.group("macro"), tok.group("msym"))
            self.note(symbols)
            return v
        if tok.group("num"):
            return int(tok.group("num").rstrip("uUlL"), 0) != 0
        v, symbols = self.walker.bare_value(tok.group("ident"))
        self.note(symbols)
        return v

    def note(self, symbols) -> None:
        self.symbols.extend(s for s in symbols if s not in self.symbols)


class _Unknown(Exception):
    pass


# --- branches that turn on a macro (decided by the analysis) ------------------

_IDENT = re.compile(r"[A-Za-z_]\w*")


def macro_branches(text: str, local_defines: frozenset = frozenset()) -> list[tuple[int, int, str]]:
    """(start, end, condition) of each #if/#elif/#else branch whose code is compiled
    only under a condition a macro outside Kconfig may decide: `start`..`end` are
    the character offsets of the branch's code, `condition` is an #if expression
    (`!defined(A) && (B)` for an `#elif B` after an `#ifdef A`). A branch whose
    condition reads only CONFIG_ symbols, reserved names (`__KERNEL__`) and
    macros this file defines itself (header guards) is left out, unless its
    literals decide it (`#if 0`). Unbalanced conditionals: nothing."""
    if "#" not in text:
        return []
    chains: list[list] = []  # [conditions so far, current branch start, its condition]
    out: list[tuple[int, int, str]] = []
    for m in _directives(text):
        kind = m.group(1)
        body = " ".join(_strip_comments(m.group(2)).split())
        if kind in ("if", "ifdef", "ifndef"):
            cond = _directive_condition(kind, body)
            chains.append([[cond], m.end(), cond])
            continue
        if not chains:
            return []
        chain = chains[-1]
        _close_macro_branch(chain, m.start(), local_defines, out)
        if kind == "elif":
            cond = _directive_condition("if", body)
            chain[2] = " && ".join([f"!{c}" for c in chain[0]] + [cond])
            chain[0].append(cond)
            chain[1] = m.end()
        elif kind == "else":
            chain[2] = " && ".join(f"!{c}" for c in chain[0])
            chain[1] = m.end()
        else:
            chains.pop()
    return [] if chains else out


def _directive_condition(kind: str, body: str) -> str:
    if kind in ("ifdef", "ifndef"):
        name = body.split()[0] if body else "?"
        return f"defined({name})" if kind == "ifdef" else f"!defined({name})"
    return f"({body})"


def _close_macro_branch(chain: list, at: int, local_defines: frozenset, out: list) -> None:
    start, cond = chain[1], chain[2]
    if at > start and _macro_decidable(cond, local_defines):
        out.append((start, at, cond))


def _macro_decidable(cond: str, local_defines: frozenset) -> bool:
    """Could a macro outside Kconfig (or a literal) make this condition false?"""
    macros = kbuild().macros
    for name in _IDENT.findall(cond):
        if name != "defined" and name not in macros and name not in local_defines and not reserved_macro(name):
            return True
    value, _ = _Condition(cond, MacroResolver(lambda name: True)).value()
    return value is F


def reserved_macro(name: str) -> bool:
    """A name whose definition no scanned file holds: a Kconfig symbol (autoconf.h is
    generated), one reserved to the compiler and the C library (`__KERNEL__`,
    `__x86_64__`, `_LP64`), or one the build defines (kbuild.toml)."""
    return name.startswith(("CONFIG_", "_")) or name in kbuild().build_defines


class MacroResolver:
    """Evaluates #if conditions for `macro_branches`: a macro some file of the scan
    (or a Makefile's -D) defines may be visible, so tests of it are unknown; one that
    nothing defines is not (`defined(X)` is false, a bare `X` reads as 0). Kconfig
    symbols and reserved names are unknown either way."""

    local: frozenset = frozenset()

    def __init__(self, defined_somewhere):
        self.defined_somewhere = defined_somewhere  # name -> bool

    def _undefined(self, name: str) -> bool:
        return not reserved_macro(name) and not self.defined_somewhere(name)

    def symbol_defined(self, name: str):
        return (F, (name,)) if self._undefined(name) else (U, ())

    def bare_value(self, name: str):
        return (F, (name,)) if self._undefined(name) else (U, ())

    def macro_value(self, macro: str, name: str):
        return U, ()


def evaluate_macro_condition(cond: str, resolver: MacroResolver):
    """(value, names that decided it) of a `macro_branches` condition."""
    return _Condition(cond, resolver).value()


class _LayoutDefaults:
    """Evaluates a struct member's #if condition for its layout without a config: the
    options kbuild.toml's [layout] sets or leaves off are decided, the rest unknown."""

    local: frozenset = frozenset()

    def __init__(self):
        tables = kbuild()
        self.on, self.off = tables.layout_on, tables.layout_off

    def _value(self, name: str):
        base = _base_symbol(name)
        if base in self.off:
            return F, (base,)
        if base in self.on and base == name:
            return T, (base,)
        return U, ()

    def symbol_defined(self, name: str):
        return self._value(name)

    def bare_value(self, name: str):
        return self._value(name)

    def macro_value(self, macro: str, name: str):
        value, symbols = self._value(name)
        return (value, symbols) if value is F or macro == "IS_ENABLED" else (U, ())


@lru_cache(maxsize=1)
def _layout_defaults() -> _LayoutDefaults:
    return _LayoutDefaults()


def layout_condition(kind: str, body: str):
    """True, False or None (unknown): is a struct member under `#if`/`#ifdef`/`#ifndef`
    `body` compiled, as the layouts assume a kernel is configured (kbuild.toml [layout])?
    `#if 0` is false, `#if 1` true."""
    body = _strip_comments(body).strip()
    if kind in ("ifdef", "ifndef"):
        name = body.split()[0] if body else ""
        value, _ = _layout_defaults().symbol_defined(name)
        return value if kind == "ifdef" or value is U else not value
    value, _ = _Condition(body, _layout_defaults()).value()
    if value is U and re.fullmatch(r"\d+", body):
        return int(body) != 0
    return value


def _base_symbol(name: str) -> str:
    suffix = kbuild().module_suffix
    return name[: -len(suffix)] if name.endswith(suffix) else name


def _directives(text: str) -> list[re.Match]:
    """The text's preprocessor conditionals, those inside a block comment left out.
    Finding the comments means reading every comment and literal of the file, so it
    is done only when a directive may lie in one (`_maybe_in_comment`): rarely."""
    found = list(line_matches(_DIRECTIVE, text, _DIRECTIVE_HINT))
    opens = [m.start() for m in re.finditer(r"/\*", text)] if found else []
    if opens:
        closes = [m.start() for m in re.finditer(r"\*/", text)]
        if any(_maybe_in_comment(opens, closes, m.start()) for m in found):
            comments = _comment_spans(text)
            found = [m for m in found if not _inside(comments, m.start())]
    return found


def _maybe_in_comment(opens: list[int], closes: list[int], offset: int) -> bool:
    """Could `offset` (a line start) lie in a block comment, given where the text holds
    `/*` and `*/`? If it does, that comment's `/*` comes before it, and no `*/` between
    ends the comment (one right after the `/*`, as in `/*/`, does not). So the last
    `*/` before it is at most one past the last `/*`. Literals are not told apart:
    that can only answer yes."""
    last_open = bisect.bisect_right(opens, offset - 2) - 1
    if last_open < 0:
        return False
    last_close = bisect.bisect_right(closes, offset - 2) - 1
    return last_close < 0 or closes[last_close] <= opens[last_open] + 1


def _comment_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _COMMENT_OR_LITERAL.finditer(text) if m.group(0).startswith("/*")
            and "\n" in m.group(0)]


def _inside(spans: list[tuple[int, int]], offset: int) -> bool:
    i = bisect.bisect_right(spans, (offset, float("inf"))) - 1
    return i >= 0 and spans[i][0] < offset < spans[i][1]


def _strip_comments(body: str) -> str:
    body = body.replace("\\\n", " ")
    return re.sub(r"/\*.*?\*/|//.*", " ", body, flags=re.S)
