"""What an edit inside one function changed, statement by statement: the input the
incremental analysis (incremental.py, rule 2) slices from instead of taking every
name of an edited function as changed.

A one-token gfp flip or a lock put around a call changes one or two statements.
Taking the whole function as changed made every field it stores, and every caller,
count as changed too: on a real driver that reaches hundreds of structs and the
head side analysed the whole tree. `function_edit()` compares the two versions'
facts (the analyses read nothing else) item by item, each item with what decides
whether it runs: the `if`/`else` arms, early exits, loops and `#if` branches around
it. An item that moved into or out of such code differs, as one whose text did.

It gives up (None: take the whole function as changed) when the signature changed,
or when the control skeleton of the text differs: the braces, the keywords that
branch or leave, the labels and the preprocessor lines in order. A statement
added or removed among them changes what the code after it depends on in ways the
items alone do not show.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .exprs import closing_paren, split_args
from .facts import FunctionFacts
from .kernel.tables import allocators, contexts

WORD_RE = re.compile(r"[A-Za-z_]\w*")
_COMMENT_OR_LITERAL = re.compile(rb'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_SKELETON = re.compile(rb"[{}]|\bgoto\s+\w+|\b(?:if|else|for|while|do|switch|case|default|return|break|continue)\b"
                       rb"|^[ \t]*#[^\n]*|^[ \t]*[A-Za-z_]\w*[ \t]*:(?!:)", re.M)


@dataclass
class FunctionEdit:
    """The changed items of an edited function."""

    # the names whose values a changed item writes (a local, a field's name, what a call
    # is handed the address of) or a changed decision reads
    words: set[str] = field(default_factory=set)
    at: set[int] = field(default_factory=set)  # bytes, in the new version, of the changed stores, calls, returns
    # a changed call that is the same call as before with other arguments: its byte in
    # the new version -> the positions of the arguments that changed (any other changed
    # call is in `at`: all of its arguments)
    arguments: dict[int, frozenset[int]] = field(default_factory=dict)
    # a changed store or return that differs from its old version only in the arguments
    # of calls: its byte in the new version -> (the functions those calls call, what the
    # store writes). When every one of them is followed by the value flow, what they
    # return for the new arguments decides whether it changed (incremental._Cone).
    through_calls: dict[int, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    fields: set[tuple[str, str]] = field(default_factory=set)  # (struct, field) a changed store writes, either version
    named: set[str] = field(default_factory=set)  # every word of the changed items, either version
    # a changed call registers, binds or arms a callback (request_irq, timer_setup,
    # mod_timer): what it arms may be bound by any other statement of the function
    registers: bool = False

    def join(self, other: "FunctionEdit") -> None:
        self.words |= other.words
        self.at |= other.at
        self.arguments.update(other.arguments)
        self.through_calls.update(other.through_calls)
        self.fields |= other.fields
        self.named |= other.named
        self.registers |= other.registers


def signature_changed(old: FunctionFacts, new: FunctionFacts) -> bool:
    """Did what callers bind to change: the parameters, or the linkage?"""
    return old.params != new.params or old.is_static != new.is_static


def function_edit(old: FunctionFacts, new: FunctionFacts, old_text: bytes, new_text: bytes,
                  old_branches=(), new_branches=()) -> FunctionEdit | None:
    """The items that differ between two versions of a function; None when the edit
    cannot be told item by item (see the module docstring). `*_branches` are the
    files' `macro_branches` (FileFacts)."""
    if signature_changed(old, new) or old.has_error or new.has_error:
        return None
    if skeleton(old_text) != skeleton(new_text):
        return None
    before, after = _items(old, old_branches), _items(new, new_branches)
    count_before, count_after = Counter(key for key, _ in before), Counter(key for key, _ in after)
    gone, new_items = _unmatched(before, count_after), _unmatched(after, count_before)
    edit = FunctionEdit(arguments=_changed_arguments(gone, new_items))
    edit.through_calls, paired_old, paired_new = _through_calls(gone, new_items)
    for i, (key, item) in enumerate(gone):
        _record(edit, key, item, False, i in paired_old)
    for i, (key, item) in enumerate(new_items):
        _record(edit, key, item, True, i in paired_new)
    return edit


def written_by(a) -> set[str]:
    """The words an assignment writes. A field's store is read back by its field's name
    (a read of it later in the block, or its readers: incremental._Cone._stores): the
    object it is stored in is not changed."""
    return {a.target} if a.kind == "field" else _words(a.target) | _words(a.base)


def handed_addresses(site) -> set[str]:
    """The words of the arguments a call is handed the address of (`get_len(dev,
    &len)`): what it may write back. An allocator writes no value back."""
    if "&" not in site.args_text or site.callee in allocators():
        return set()
    return {w for arg in split_args(site.args_text) if arg.lstrip().startswith("&") for w in _words(arg)}


def _unmatched(items: list[tuple[tuple, object]], other: Counter) -> list[tuple[tuple, object]]:
    """The items beyond as many equal ones as the other version has."""
    seen: Counter = Counter()
    out = []
    for key, item in items:
        seen[key] += 1
        if seen[key] > other[key]:
            out.append((key, item))
    return out


def _pairs(gone: list, new_items: list, where):
    """((position, key, item) old, (position, key, item) new) of the changed items that
    pair one to one: alone on each side with the same `where(key)` (None: never paired)."""
    def grouped(items):
        out: dict[tuple, list] = {}
        for i, (key, item) in enumerate(items):
            at = where(key)
            if at is not None:
                out.setdefault(at, []).append((i, key, item))
        return out

    old_items = grouped(gone)
    for at, new in grouped(new_items).items():
        old = old_items.get(at, ())
        if len(old) == 1 and len(new) == 1:
            yield old[0], new[0]


def _shape_key(key: tuple) -> tuple | None:
    """A store's or return's key with every call's arguments left out of its text."""
    if key[0] == "store":
        return key[:7] + (_call_shape(key[7])[0],) + key[8:]
    if key[0] == "return":
        return ("return", _call_shape(key[1])[0]) + key[2:]
    return None


def _through_calls(gone: list, new_items: list) -> tuple[dict, set[int], set[int]]:
    """The changed stores and returns that pair with one old changed one of the same
    shape (the same text once every call's arguments are left out, in the same code):
    new byte -> (the callees whose arguments differ, the words the store writes); and
    the positions of the items paired so in `gone` and in `new_items`."""
    found, paired_old, paired_new = {}, set(), set()
    for (i, old_key, _), (j, new_key, new_item) in _pairs(gone, new_items, _shape_key):
        text = 7 if new_key[0] == "store" else 1
        old_calls, new_calls = _call_shape(old_key[text])[1], _call_shape(new_key[text])[1]
        if len(old_calls) != len(new_calls) or any(a[0] != b[0] for a, b in zip(old_calls, new_calls)):
            continue
        callees = frozenset(b[0] for a, b in zip(old_calls, new_calls) if a[1].split() != b[1].split())
        if new_key[0] == "store":
            found[new_item.byte] = (callees, frozenset(written_by(new_item)))
        else:
            found[new_item] = (callees, frozenset())
        paired_old.add(i)
        paired_new.add(j)
    return found, paired_old, paired_new


def _call_shape(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text with every call's arguments left out, and (callee, arguments) of each of
    those calls in order."""
    shape, calls, at = [], [], 0
    for m in _CALL_RE.finditer(text):
        if m.start() < at:
            continue
        end = closing_paren(text, m.end() - 1)
        if end < 0:
            return text, []
        shape.append(text[at:m.end()])
        calls.append((m.group(1), text[m.end():end]))
        at = end
    return "".join(shape) + text[at:], calls


def _changed_arguments(gone: list, new_items: list) -> dict[int, frozenset[int]]:
    """new call's byte -> the positions of its changed arguments, for each changed call
    that pairs with one changed call of the old version: the same callee, in the same
    code, as many arguments."""
    found = {}
    same_call = lambda key: key[:4] + key[5:] if key[0] == "call" else None  # noqa: E731 (the key but the arguments)
    for (_, _, old), (_, _, new) in _pairs(gone, new_items, same_call):
        old_args, new_args = split_args(old.args_text), split_args(new.args_text)
        if len(old_args) == len(new_args):
            found[new.byte] = frozenset(i for i, (a, b) in enumerate(zip(old_args, new_args)) if a.split() != b.split())
    return found


def skeleton(text: bytes) -> list[bytes]:
    """The braces, branching and leaving keywords (with a goto's label), labels and
    preprocessor lines of a function's text, in order, comments and literals aside."""
    code = _COMMENT_OR_LITERAL.sub(lambda m: b" " * len(m.group(0).splitlines()[0]) + b"\n" *
                                   m.group(0).count(b"\n"), text)
    return [b" ".join(m.group(0).split()) for m in _SKELETON.finditer(code)]


def _items(fn: FunctionFacts, macro_branches) -> list[tuple[tuple, object]]:
    """(comparable key, the fact) of each item of the function; a key holds what only
    places the item (lines, bytes) as the decisions around it."""
    spans = _decision_spans(fn, macro_branches)

    def around(byte: int) -> tuple:
        return tuple(label for start, end, label, _ in spans if start <= byte < end)

    items: list[tuple[tuple, object]] = []
    for a in fn.assignments:
        items.append((("store", a.kind, a.target, a.struct_type, a.receiver, a.base, a.op, value_read(a.value_text),
                       a.lowers, around(a.byte)), a))
    for c in fn.calls:
        items.append((("call", c.callee, c.field, c.receiver_type, c.args_text, around(c.byte)), c))
    for text, byte, _ in fn.returns:
        items.append((("return", text, around(byte)), byte))
    for byte, text in fn.pointer_returns:
        items.append((("return", text, around(byte)), byte))
    for name, type_text in fn.locals.items():
        items.append((("local", name, type_text), name))
    for name, dims in fn.local_arrays.items():
        items.append((("array", name, repr(dims)), name))
    for name, inits in fn.inits.items():
        items.append((("init", name, inits), name))
    for name, declared in fn.local_scopes.items():
        items.append((("scopes", name, tuple(type_text for _, _, type_text in declared)), name))
    for start, end, label, cond in spans:
        items.append((("decision", label, around(start)), cond))
    return items


def _decision_spans(fn: FunctionFacts, macro_branches) -> list[tuple[int, int, str, str]]:
    """(start, end, label, condition) of the code each decision of the function decides: an arm of
    an `if` or `switch` case, what follows an early exit in its block, a loop's body, an
    `#if` branch, one-time set-up."""
    spans = []
    for cond, then_start, then_end, else_start, else_end, kind, goes in fn.conditions:
        spans.append((then_start, then_end, f"then {kind} {goes >= 0} {cond}", cond))
        spans.append((else_start, else_end, f"else {kind} {cond}", cond))
    for cond, then_start, then_end, else_start, else_end in fn.branches:
        spans.append((then_start, then_end, f"branch then {cond}", cond))
        spans.append((else_start, else_end, f"branch else {cond}", cond))
    for g in fn.guards:
        spans.append((max(g.end_byte, g.block_start), g.block_end, f"guard {g.cond_text}", g.cond_text))
    for cond, start, end in fn.loops:
        spans.append((start, end, f"loop {cond}", cond))
    for start, end in fn.loop_spans:
        spans.append((start, end, "loop", ""))
    for start, end, state in fn.once:
        spans.append((start, end, f"once {state!r}", " ".join(name for _, name in state)))
    for start, end, cond in macro_branches:
        if fn.start_byte <= start < fn.end_byte:
            spans.append((start, end, f"#if {cond}", cond))
    return sorted(span for span in spans if span[1] > span[0])


def _record(edit: FunctionEdit, key: tuple, item, in_new: bool, paired: bool) -> None:
    """Add one changed item to the edit (of one `paired` by _through_calls, only what it
    names: the cone decides the rest)."""
    edit.named |= {w for part in key for w in WORD_RE.findall(part if isinstance(part, str) else repr(part))}
    kind = key[0]
    if paired:
        return
    if kind == "store":
        edit.words |= written_by(item)
        if item.kind == "field" and (item.struct_type or item.receiver):
            edit.fields.add((item.struct_type or item.receiver, item.target))
        if in_new:
            edit.at.add(item.byte)
    elif kind == "call":
        edit.registers |= item.callee in contexts().callback_calls
        if in_new and item.byte not in edit.arguments:
            edit.at.add(item.byte)
        edit.words |= handed_addresses(item)
    elif kind == "return":
        if in_new:
            edit.at.add(item)
    elif kind in ("local", "array", "init", "scopes"):
        edit.words.add(item)
    elif kind == "decision":
        edit.words |= _words(item)


def value_read(text: str, followed: frozenset[str] = frozenset()) -> str:
    """A value's text without an allocator's arguments: an allocator's result is a new
    object (or NULL), the same whatever size it was asked for; no value the evaluator
    computes reads the size back (`skb = netdev_alloc_skb_ip_align(netdev,
    BE_RX_SKB_ALLOC_SIZE); if (!skb) return;` decides nothing with the size). Nor the
    arguments of a call of a `followed` function: what it returns for them is decided
    by following it (incremental._Cone._value_flow)."""
    table = allocators()
    kept, at = [], 0
    for m in _CALL_RE.finditer(text):
        if m.start() < at or (m.group(1) not in table and m.group(1) not in followed):
            continue
        end = closing_paren(text, m.end() - 1)
        if end < 0:
            return text  # unbalanced: all of it
        kept.append(text[at:m.end()])
        at = end
    return "".join(kept) + text[at:] if kept else text


_CALL_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _words(text: str) -> set[str]:
    return set(WORD_RE.findall(text))
