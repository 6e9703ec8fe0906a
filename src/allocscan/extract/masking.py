"""Mask kernel macro shapes that tree-sitter-c cannot parse, keeping offsets exact.

Every replacement has the same length as the text it replaces (and keeps
newlines), so byte offsets, lines and columns in the masked text are those of
the original file. What is masked:

* annotations with arguments: ``__acquires(x)``, ``__must_hold(x)``, ``__printf(1, 2)`` ...
  (the lock annotations are recorded first, they seed the lock analysis);
* bare annotations and section markers: ``__init``, ``__must_check``, ``__user`` ...;
* iterator macros followed by a statement: ``list_for_each_entry(pos, head, member) {``
  becomes ``while              (pos, head, member) {`` - a comma expression, so the
  calls in the arguments stay visible. ``scoped_guard(spinlock, &l) {`` is masked the
  same way and recorded, so the lock analysis knows the block is atomic;
* the `static` of a file-scope ``static DEFINE_TIMER(name, fn);`` (the entry
  table's DEFINE_/DECLARE_ definers), which then parses as the call that binds `fn`;
* conditional groups tree-sitter cannot nest in the code around them: one whose
  first arm opens or closes more braces or parentheses than it closes (an
  ``if (a || b) {`` written twice, once per arm, as slip's buffers are) or ends in
  a statement's head (``if (!skb)`` whose body follows ``#endif``), or one
  right after a label (``out:`` then ``#ifdef``: a label needs a statement). Their
  directive lines are blanked, and every arm but the first: the code reads as the
  first arm's configuration compiles it. Without this the parser loses the rest of
  the function, often of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# (what does not count in a brace balance: comments, strings, character literals)
from .kconfig import _COMMENT_OR_LITERAL as _NOT_CODE_RE, _directives

_ANNOTATIONS_WITH_ARGS = (
    "__acquires", "__releases", "__must_hold", "__printf", "__scanf", "__aligned",
    "__section", "__alloc_size", "__diagnose_as", "__assume_aligned", "__counted_by",
    "__cond_acquires", "__cond_releases", "__no_sanitize_or_inline", "__nonstring_array",
    "__malloc", "__realloc_size", "__attribute_const__",
)
_LOCK_ANNOTATIONS = {"__acquires", "__must_hold", "__releases"}

_BARE_WORDS = (
    "__init", "__exit", "__initdata", "__initconst", "__exitdata", "__devinit", "__devexit",
    "__must_check", "__cold", "__hot", "__always_inline", "noinline", "__noinline",
    "__maybe_unused", "__always_unused", "__used", "__user", "__iomem", "__rcu", "__percpu",
    "__force", "__bitwise", "__packed", "__read_mostly", "__ro_after_init", "__weak",
    "__visible", "__noreturn", "__latent_entropy", "__sched", "__kprobes", "notrace",
    "asmlinkage", "__cacheline_aligned", "__cacheline_aligned_in_smp", "____cacheline_aligned",
    "____cacheline_aligned_in_smp", "__randomize_layout", "__no_randomize_layout",
    "__private", "__nocast", "__safe", "__ref", "__refdata", "__meminit", "__cpuinit",
    "__net_init", "__net_exit", "__irq_entry", "__softirq_entry", "__pure", "__flatten",
    "__noclone", "__no_kcsan", "__no_sanitize_address", "noinstr", "__fastpath_inline",
    "__nostackprotector", "__ksym", "__kernel", "__iomem_ptr", "__free_irq_ptr",
    "__devinitdata", "__devexit_p", "__initdata_or_meminfo", "__always_used",
)

# what an iterator's or a scoped guard's name holds; two patterns, each searched for
# by its literal start (one pattern with both is tried at every `f` and `s`)
_ITER_HINT_RE = re.compile(r"for_?each")
_GUARD_HINT_RE = re.compile(r"scoped_(?:cond_)?guard")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@lru_cache(maxsize=256)
def _annotation_re(words: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(" + _words_at_word_start(words) + r")\s*\(")


@lru_cache(maxsize=256)
def _bare_re(words: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(" + _words_at_word_start(words) + r")\b(?!\s*\()")


def _words_at_word_start(words: tuple[str, ...]) -> str:
    """`\\b(?:w1|w2...)` for words that start with a word character, written so that
    the pattern starts with their first letters: `_(?<!\\w_)_init`. A pattern that
    starts with `\\b` is tried at every offset of the text; one that starts with a
    set of letters is searched for them first."""
    return "|".join(re.escape(w[0]) + r"(?<!\w" + re.escape(w[0]) + ")" + re.escape(w[1:]) for w in words)


def _present(words: tuple[str, ...], tokens: set[str]) -> tuple[str, ...]:
    """The words among the text's candidate tokens (see _candidate_tokens): only they
    go into the regex."""
    return tuple(w for w in words if w in tokens)


_DOUBLE_UNDERSCORED_RE = re.compile(r"__\w+")
_PLAIN_WORDS = tuple(w for w in dict.fromkeys(_ANNOTATIONS_WITH_ARGS + _BARE_WORDS) if not w.startswith("__"))


def _candidate_tokens(text: str) -> set[str]:
    """Every `__word` of the text (one search for its literal start, where a substring
    test per word was 84 scans), and those of the few words without the prefix
    (noinline, ...) the text holds, if only inside a longer name: the masking
    patterns match whole words only, so a word too many here changes nothing."""
    tokens = set(_DOUBLE_UNDERSCORED_RE.findall(text))
    tokens.update(w for w in _PLAIN_WORDS if w in text)
    return tokens


def _iterator_calls(text: str):
    """(name start, name end, open paren) of `xxx_for_each_yyy(` and `scoped_guard(` uses."""
    hints = list(_ITER_HINT_RE.finditer(text))
    if "scoped_" in text:
        hints = sorted(hints + list(_GUARD_HINT_RE.finditer(text)), key=lambda m: m.start())
    for hint in hints:
        start = hint.start()
        while start > 0 and text[start - 1] in _IDENT_CHARS:
            start -= 1
        end = hint.end()
        while end < len(text) and text[end] in _IDENT_CHARS:
            end += 1
        paren = end
        while paren < len(text) and text[paren] in " \t":
            paren += 1
        if paren < len(text) and text[paren] == "(" and (start == 0 or text[start - 1] not in _IDENT_CHARS):
            yield start, end, paren


@dataclass(slots=True)
class Masked:
    text: str
    lock_annotations: list[tuple[int, str, str]]  # (offset, annotation, argument text)
    scoped_guards: dict[int, tuple[str, str]]  # offset of the masked `while` -> (guard class, lock text)


def _matching_paren(text: str, open_index: int) -> int:
    """Index of the `)` closing the `(` at open_index, or -1."""
    depth = 0
    limit = min(len(text), open_index + 4000)
    i = open_index
    while i < limit:
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        elif ch == "\n" and depth > 0 and text.startswith("#", i + 1):
            return -1
        i += 1
    return -1


def _on_directive_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos].lstrip().startswith("#")


def _blanked(segment: str) -> str:
    return "".join("\n" if ch == "\n" else " " for ch in segment)


_STATEMENT_BEFORE = frozenset(";{}):")


@lru_cache(maxsize=1)
def _static_definer_re() -> re.Pattern:
    """`static DEFINE_TIMER(name, fn);` parses as a declaration of a macro type; without
    the storage class it is a call at file scope, which binds the callback. Only the
    definers of the entry table (a DEFINE_PER_CPU(type, name) must stay a declaration)."""
    from ..kernel.tables import contexts

    names = sorted(n for n in contexts().callback_calls if n.startswith(("DEFINE_", "DECLARE_")))
    return re.compile(r"^static\s+(?=(?:" + "|".join(map(re.escape, names)) + r")\s*\()", re.M)
_WHILE_TAIL_RE = re.compile(r"\}\s*(while_each_\w+)\s*\(")


def _statement_position(text: str, start: int) -> bool:
    """Is `start` where a statement begins (after `;`, `{`, `}`, `)`, a label, `else` or `do`)?"""
    i = start - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0 or text[i] in _STATEMENT_BEFORE:
        return True
    if text[i] == "/" and i > 0 and text[i - 1] == "*":
        return True  # after a comment
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip():
        # First on its line: a statement unless the line before ends a declaration
        # head (`static int\nfor_each_thing(...)`); directives end with identifiers too.
        prev_start = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
        if text[prev_start:line_start].lstrip().startswith("#"):
            return True
    word_end = i + 1
    while i >= 0 and text[i] in _IDENT_CHARS:
        i -= 1
    return text[i + 1:word_end] in ("else", "do")


_LABEL_BEFORE_RE = re.compile(r"(?:^|[;{}])\s*[A-Za-z_]\w*\s*:\s*$")


def _conditional_groups(text: str):
    """Each outermost-to-innermost `#if` group: (start of its #if line, [(directive
    start, arm start, arm end)], end of its #endif line). Unclosed groups are left out."""
    stack: list[tuple[int, list]] = []
    for m in _directives(text):  # (kconfig's scan: fast, and none inside a block comment)
        kind, start, line_end = m.group(1), m.start(), m.end()
        if kind.startswith("if"):
            stack.append((start, [(start, line_end, None)]))
        elif not stack:
            continue
        elif kind in ("elif", "else"):
            arms = stack[-1][1]
            arms[-1] = (arms[-1][0], arms[-1][1], start)
            arms.append((start, line_end, None))
        else:
            group_start, arms = stack.pop()
            arms[-1] = (arms[-1][0], arms[-1][1], start)
            yield group_start, arms, line_end


_DANGLING_RE = re.compile(r"(?:\b(?:if|while|for)\s*\(.*\)|\belse)\s*$")


def _unbalanced(code: str) -> bool:
    """Does the arm open or close more than it closes or opens, or end in a statement's
    head (`if (!skb)`, `else`) whose body follows the group?"""
    code = _NOT_CODE_RE.sub("", code)
    return (code.count("{") != code.count("}") or code.count("(") != code.count(")")
            or _DANGLING_RE.search(code.rstrip().rpartition("\n")[2]) is not None)


def _conditional_edits(text: str) -> list[tuple[int, int, str]]:
    """Blank the directive lines and the later arms of each group that breaks the
    parse around it (see the module docstring)."""
    if "#" not in text:
        return []
    edits = []
    for group_start, arms, group_end in _conditional_groups(text):
        first_start, first_code, first_end = arms[0]
        after_label = _LABEL_BEFORE_RE.search(_NOT_CODE_RE.sub("", text[max(0, group_start - 300):group_start]))
        if not after_label and not _unbalanced(text[first_code:first_end]):
            continue
        edits.append((first_start, first_code, _blanked(text[first_start:first_code])))
        for arm_start, _, arm_end in arms[1:]:
            edits.append((arm_start, arm_end, _blanked(text[arm_start:arm_end])))
        edits.append((arms[-1][2], group_end, _blanked(text[arms[-1][2]:group_end])))
    return edits


def mask_source(text: str) -> Masked:
    edits: list[tuple[int, int, str]] = []  # (start, end, same-length replacement)
    lock_annotations: list[tuple[int, str, str]] = []
    scoped: dict[int, tuple[str, str]] = {}

    tokens = _candidate_tokens(text)
    annotations = _present(_ANNOTATIONS_WITH_ARGS, tokens)
    for m in (_annotation_re(annotations).finditer(text) if annotations else ()):
        if _on_directive_line(text, m.start()):
            continue
        close = _matching_paren(text, m.end() - 1)
        if close < 0:
            continue
        name = m.group(1)
        if name in _LOCK_ANNOTATIONS:
            lock_annotations.append((m.start(), name, text[m.end():close].strip()))
        edits.append((m.start(), close + 1, _blanked(text[m.start():close + 1])))

    bare = _present(_BARE_WORDS, tokens)
    for m in (_bare_re(bare).finditer(text) if bare else ()):
        if not _on_directive_line(text, m.start()):
            edits.append((m.start(), m.end(), " " * (m.end() - m.start())))

    last_end = -1
    for start, end, paren in _iterator_calls(text):
        if start < last_end or _on_directive_line(text, start):
            continue
        close = _matching_paren(text, paren)
        if close < 0:
            continue
        rest = text[close + 1:close + 200].lstrip()
        if not rest or rest[0] in ";,)=":
            continue  # an ordinary call
        name = text[start:end]
        if not _statement_position(text, start):
            continue  # `int for_each_thing(...) {` defines a function; it is no loop
        last_end = end
        if name in ("scoped_guard", "scoped_cond_guard"):
            args = text[paren + 1:close].split(",", 1)
            scoped[start] = (args[0].strip(), args[1].strip() if len(args) > 1 else "")
        elif len(name) < 5:
            continue
        edits.append((start, end, "while" + " " * (len(name) - 5)))

    if "static DEFINE_" in text or "static DECLARE_" in text:
        for m in _static_definer_re().finditer(text):
            edits.append((m.start(), m.start() + 6, " " * 6))

    # `do { ... } while_each_thread(g, t);` is a do-while loop once the name reads `while`.
    for m in _WHILE_TAIL_RE.finditer(text):
        name = m.group(1)
        edits.append((m.start(1), m.end(1), "while" + " " * (len(name) - 5)))

    edits.extend(_conditional_edits(text))

    if not edits:
        return Masked(text, lock_annotations, scoped)
    edits.sort()
    out: list[str] = []
    pos = 0
    for start, end, repl in edits:
        if start < pos:  # overlapping edits (an annotation inside another): keep the first
            continue
        out.append(text[pos:start])
        out.append(repl)
        pos = end
    out.append(text[pos:])
    return Masked("".join(out), lock_annotations, scoped)
