"""The small expression IR shared by extraction and the analyses.

Expressions are nested tuples, cheap to pickle and to hash:

    ("num", 4096)                    integer literal
    ("id", "len")                    identifier
    ("field", base, "length", True)  base->length (False for base.length)
    ("bin", "*", left, right)        binary operator
    ("un", "-", operand)             unary -, ~, !, +
    ("cast", "u32", operand)
    ("sizeof_t", "struct foo")       sizeof(type)
    ("sizeof_e", operand)            sizeof expr
    ("call", "min", (args...))       call or function-like macro ("" when indirect)
    ("cond", c, then, else)
    ("idx", base, index)             base[index]
    ("addr", operand) / ("deref", operand)
    ("str", text)                    string literal
    ("unk", text)                    anything else, kept as source text

`ir_from_node` converts a tree-sitter node; `ir_from_text` parses a piece of
source text (a macro body, an argument kept as text) into the same IR.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

_INT_RE = re.compile(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$")
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a C identifier, in source text
# the inside of one C string literal's quotes, and a whole literal: one piece, or several
# written next to each other ("ab" "cd"), to be matched in full
_LITERAL_PIECE = r'"((?:[^"\\\n]|\\.)*)"'
STRING_LITERAL_RE = re.compile(rf'{_LITERAL_PIECE}(?:\s*{_LITERAL_PIECE})*')
_ESCAPE_RE = re.compile(r'\\(?:x[0-9A-Fa-f]+|[0-7]{1,3}|.)')


def string_literal_size(literal: str) -> int:
    """sizeof of a string literal as written: its characters, an escape counting one,
    adjacent pieces concatenated, plus the terminating NUL."""
    return sum(len(_ESCAPE_RE.sub("x", piece)) for piece in re.findall(_LITERAL_PIECE, literal)) + 1


def conjuncts(cond: tuple) -> list[tuple]:
    """`a && b && c` -> [a, b, c]: inside `if (cond)` each one holds."""
    cond = without_hints(cond)
    if cond[0] == "bin" and cond[1] == "&&":
        return conjuncts(cond[2]) + conjuncts(cond[3])
    return [cond]


def disjuncts(cond: tuple) -> list[tuple]:
    """`a || b || c` -> [a, b, c]: when `cond` is false, each one is."""
    cond = without_hints(cond)
    if cond[0] == "bin" and cond[1] == "||":
        return disjuncts(cond[2]) + disjuncts(cond[3])
    return [cond]


_BRANCH_HINTS = frozenset({"likely", "unlikely", "likely_notrace", "unlikely_notrace"})


def without_hints(cond: tuple) -> tuple:
    """The condition inside `unlikely(...)` / `likely(...)`: a hint to the compiler, the
    same truth (`if (unlikely(len > 0x700)) goto drop;` bounds len as the bare test does)."""
    while cond[0] == "call" and cond[1] in _BRANCH_HINTS and len(cond[2]) == 1:
        cond = cond[2][0]
    return cond


def parse_int_literal(text: str) -> int | None:
    """Value of a C integer literal, or None for floats and oddities."""
    text = text.replace("'", "")
    m = _INT_RE.match(text.strip())
    if not m:
        return None
    digits = m.group(1)
    if digits[:2] in ("0x", "0X"):
        return int(digits, 16)
    if digits[:2] in ("0b", "0B"):
        return int(digits[2:], 2)
    if len(digits) > 1 and digits[0] == "0":
        return int(digits, 8)
    return int(digits)


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def squash(text: str) -> str:
    """Source text with all whitespace removed (for comparing lock expressions)."""
    return "".join(text.split())


def ir_from_node(node) -> tuple:
    """Convert an expression node to IR. Unknown shapes become ("unk", text)."""
    t = node.type
    if t == "number_literal":
        text = _text(node)
        negative = text.startswith("-")  # tree-sitter reads `(-1)` as one literal
        value = parse_int_literal(text[1:] if negative else text)
        if value is None:
            return ("unk", text)
        return ("un", "-", ("num", value)) if negative else ("num", value)
    if t == "identifier":
        return ("id", _text(node))
    if t in ("true", "false"):
        return ("num", 1 if t == "true" else 0)
    if t == "null":
        return ("num", 0)
    if t == "parenthesized_expression":
        inner = [c for c in node.named_children if c.type != "comment"]
        return ir_from_node(inner[0]) if len(inner) == 1 else ("unk", _text(node))
    if t == "field_expression":
        base = node.child_by_field_name("argument")
        fld = node.child_by_field_name("field")
        op = node.child_by_field_name("operator")
        if base is None or fld is None:
            return ("unk", _text(node))
        arrow = op is not None and _text(op) == "->"
        return ("field", ir_from_node(base), _text(fld), arrow)
    if t == "binary_expression":
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        op = node.child_by_field_name("operator")
        if left is None or right is None or op is None:
            return ("unk", _text(node))
        return ("bin", _text(op), ir_from_node(left), ir_from_node(right))
    if t == "unary_expression":
        op = node.child_by_field_name("operator")
        arg = node.child_by_field_name("argument")
        if op is None or arg is None:
            return ("unk", _text(node))
        return ("un", _text(op), ir_from_node(arg))
    if t == "cast_expression":
        typ = node.child_by_field_name("type")
        val = node.child_by_field_name("value")
        if val is None:
            return ("unk", _text(node))
        return ("cast", squash_type(_text(typ)) if typ is not None else "", ir_from_node(val))
    if t == "sizeof_expression":
        typ = node.child_by_field_name("type")
        if typ is not None:
            return ("sizeof_t", squash_type(_text(typ)))
        val = node.child_by_field_name("value")
        if val is not None:
            # `sizeof(x)` parses as sizeof of a parenthesized expression; `sizeof(u32)`
            # may also parse that way when u32 is not known to be a type.
            return ("sizeof_e", ir_from_node(val))
        return ("unk", _text(node))
    if t == "alignof_expression":
        typ = node.child_by_field_name("type")
        if typ is None or node.has_error:
            return ("unk", _text(node))
        return ("call", "__alignof__", (("id", squash_type(_text(typ))),))  # kin of offsetof()
    if t == "call_expression":
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        cast = _cast_written_as_call(fn, args)
        if cast is not None:
            return cast
        name = _text(fn) if fn is not None and fn.type == "identifier" else ""
        return ("call", name, args_ir(args) if args is not None else ())
    if t == "conditional_expression":
        c = node.child_by_field_name("condition")
        a = node.child_by_field_name("consequence")
        b = node.child_by_field_name("alternative")
        if c is None or b is None:
            return ("unk", _text(node))
        return ("cond", ir_from_node(c), ir_from_node(a) if a is not None else ir_from_node(c), ir_from_node(b))
    if t == "subscript_expression":
        base = node.child_by_field_name("argument")
        idx = node.child_by_field_name("index") or node.child_by_field_name("indices")
        if base is None:
            return ("unk", _text(node))
        return ("idx", ir_from_node(base), ir_from_node(idx) if idx is not None else ("unk", ""))
    if t == "pointer_expression":
        op = node.child_by_field_name("operator")
        arg = node.child_by_field_name("argument")
        if arg is None:
            return ("unk", _text(node))
        return ("addr" if op is not None and _text(op) == "&" else "deref", ir_from_node(arg))
    if t in ("string_literal", "concatenated_string"):
        return ("str", _text(node))
    if t == "char_literal":
        txt = _text(node)
        return ("num", ord(txt[1])) if len(txt) == 3 else ("unk", txt)
    if t == "comma_expression":
        right = node.child_by_field_name("right")
        return ir_from_node(right) if right is not None else ("unk", _text(node))
    return ("unk", _text(node))


def args_ir(args) -> tuple:
    """IR of each argument of a call's argument-list node. `min_t(unsigned int, a, b)`,
    `offsetof(struct demo_mgmt, u.action)`: a type as a macro's argument is no C expression,
    and tree-sitter's recovery from it leaves a tree of other shapes (a field access on half
    the call); split the arguments by their commas instead."""
    if args.has_error:
        return _args_from_text(_text(args)[1:-1])
    return tuple(ir_from_node(a) for a in args.named_children if a.type != "comment")


def _cast_written_as_call(fn, args) -> tuple | None:
    """`(u16)(rx->header & 0x7ff)`: a cast to a typedef name, which tree-sitter parses as a
    call through the parenthesized name (it does not know `u16` for a type). A cast when the
    name is a type (macros.toml [cast_types], or a `_t` name) and there is one argument."""
    if fn is None or args is None or fn.type != "parenthesized_expression":
        return None
    inner = [c for c in fn.named_children if c.type != "comment"]
    operands = [a for a in args.named_children if a.type != "comment"]
    if len(inner) != 1 or inner[0].type != "identifier" or len(operands) != 1:
        return None
    name = _text(inner[0])
    if not (name.endswith("_t") or name in _cast_types()):
        return None
    return ("cast", name, ir_from_node(operands[0]))


@lru_cache(maxsize=1)
def _cast_types() -> frozenset[str]:
    from .kernel.tables import value_tables  # local import: tables are loaded once, on first use

    return value_tables().cast_types


def squash_type(text: str) -> str:
    """Normalise a type name: single spaces, no qualifiers that do not change layout."""
    words = [w for w in re.split(r"\s+", text.replace("*", " * ").strip()) if w and w not in _QUALIFIERS]
    return " ".join(words).replace(" *", "*")


_QUALIFIERS = {"const", "volatile", "__user", "__iomem", "__rcu", "__force", "restrict", "__restrict", "register", "__percpu"}


# The last texts parsed, and argument lists split: a whole-tree scan of 6.1 parses
# 141,000 texts 967,000 times, and kept them all to its end (52 MB of its peak, and
# 9 MB for 27,000 argument lists). The reads are near each other: keeping 16,384
# texts parses 152,000 times; 4,096 argument lists, 28,000 times.
@lru_cache(maxsize=1 << 14)
def ir_from_text(text: str) -> tuple:
    """Parse a C expression given as text (macro body, stored argument) into IR."""
    text = strip_comments(text).strip()  # `#define DEMO_SPARE 0 // not used`
    if not text:
        return ("unk", "")
    value = parse_int_literal(text)
    if value is not None:
        return ("num", value)
    if re.fullmatch(r"[A-Za-z_]\w*", text):
        return ("id", text)
    from .extract.treesitter import parser  # local import: keeps the IR module light for workers

    src = f"int __allocscan_x = ({text});".encode("utf-8", "replace")
    tree = parser().parse(src)
    decl = tree.root_node.named_children[0] if tree.root_node.named_children else None
    init = None
    if decl is not None and decl.type == "declaration":
        for child in decl.named_children:
            if child.type == "init_declarator":
                init = child.child_by_field_name("value")
    if init is None or init.has_error:
        unclosed = _unclosed(text)
        if unclosed:
            # tree-sitter's offsetof() takes a member name only: `offsetof(struct demo_cmd,
            # addrs[n])` is recovered as an element of `offsetof(struct demo_cmd, addrs`,
            # and the expression's text stops before the call's `)`
            return ir_from_text(text + ")" * unclosed)
        return _call_from_text(text) or _with_type_calls_set_apart(text) or ("unk", text)
    return ir_from_node(init)


def _unclosed(text: str) -> int:
    """How many parentheses an offsetof() call with an element for its member left open
    (0 for any other text: one cut short elsewhere is not completed)."""
    if not _OFFSETOF_ELEMENT_RE.search(text) or '"' in text or "'" in text:
        return 0
    return max(text.count("(") - text.count(")"), 0)


_OFFSETOF_ELEMENT_RE = re.compile(r"\boffsetof\s*\([^()\[\]]*,[^()\[\]]*\[")


_SET_APART = "__allocscan_call_"


def _with_type_calls_set_apart(text: str) -> tuple | None:
    """`offsetof(struct demo_mgmt, u.action) + 37`: an expression holding calls that take a
    type as an argument, which do not parse. Each such call is replaced by a placeholder
    name, the rest parsed, and the calls (split by their commas) put back in the IR. None
    when there is no such call, or the rest does not parse either."""
    calls: dict[str, tuple] = {}
    out, i = [], 0
    for m in _CALL_START_RE.finditer(text):
        if m.start() < i:
            continue  # inside a call already set apart
        end = closing_paren(text, m.end() - 1)
        if end < 0:
            return None
        inner = text[m.end():end]
        if not any(_TYPE_ARG_RE.fullmatch(" ".join(a.split())) for a in split_args(inner)):
            continue
        placeholder = f"{_SET_APART}{len(calls)}"
        calls[placeholder] = ("call", m.group(1), _args_from_text(inner))
        out.append(text[i:m.start()] + placeholder)
        i = end + 1
    if not calls:
        return None
    ir = ir_from_text("".join(out) + text[i:])
    return None if ir[0] == "unk" else _put_back(ir, calls)


def _put_back(ir, calls: dict[str, tuple]):
    """`ir` with each placeholder identifier replaced by the call it stands for."""
    if isinstance(ir, tuple):
        if len(ir) == 2 and ir[0] == "id" and ir[1] in calls:
            return calls[ir[1]]
        return tuple(_put_back(part, calls) for part in ir)
    return ir


_CALL_START_RE = re.compile(r"([A-Za-z_]\w*)\s*\(")
# A macro argument that is a type: integer keywords, or a struct/union/enum or a name with `*`s.
_TYPE_ARG_RE = re.compile(r"(?:(?:const|volatile|signed|unsigned|short|long|int|char)\s*)+\**"
                          r"|(?:const\s+)?(?:struct|union|enum)\s+\w+\s*\**|[A-Za-z_]\w*\s*\*+")


def _call_from_text(text: str) -> tuple | None:
    """A whole call whose arguments are no C expressions together (`clamp_t(unsigned int,
    w,\n min, max)`), as a call of its arguments split by their commas; None otherwise."""
    m = _CALL_START_RE.match(text)
    if m is None or closing_paren(text, m.end() - 1) != len(text) - 1:
        return None
    return ("call", m.group(1), _args_from_text(text[m.end():-1]))


def _args_from_text(text: str) -> tuple:
    """IR of each argument of an argument-list text; a type (the `unsigned int` of
    `min_t(unsigned int, a, b)`) is kept as a name, as a one-word type would parse."""
    out = []
    for arg in split_args(text):
        arg = " ".join(arg.split())
        out.append(("id", squash_type(arg)) if _TYPE_ARG_RE.fullmatch(arg) else ir_from_text(arg))
    return tuple(out)


@lru_cache(maxsize=1 << 12)  # (see ir_from_text)
def ir_of_args(text: str) -> tuple:
    """IR of each argument of an argument-list text."""
    return tuple(ir_from_text(t) for t in split_args(text))


def closing_paren(text: str, start: int, pair: str = "()") -> int:
    """Index of the parenthesis closing the one at `start` (-1 when unbalanced); parentheses
    inside string and character literals do not count. `pair="{}"` matches braces."""
    opening, closing = pair
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
        elif ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def split_args(text: str) -> list[str]:
    """Split an argument-list text at top-level commas."""
    parts: list[str] = []
    depth = 0
    start = 0
    in_str: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 2
                continue
            if ch == in_str:
                in_str = None
        elif ch in "\"'":
            in_str = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail or parts:
        parts.append(tail)
    return parts


def identifiers(ir: tuple) -> set[str]:
    """All identifiers an expression mentions (including callee names of calls)."""
    out: set[str] = set()
    stack = [ir]
    while stack:
        node = stack.pop()
        kind = node[0]
        if kind == "id":
            out.add(node[1])
        elif kind == "call":
            if node[1]:
                out.add(node[1])
            stack.extend(node[2])
        else:
            stack.extend(x for x in node[1:] if isinstance(x, tuple))
    return out


def expand_macro(params: tuple | list, body: str, args: tuple | list,
                 is_type: Callable[[str], bool] | None = None) -> tuple | None:
    """IR of a function-like macro's body with the argument expressions put in for its
    parameters; None when the call does not fit it. `is_type(text)` tells an argument
    that names a type (see substitute_macro)."""
    if "..." in params:
        return None
    text = substitute_macro(params, body, [render(a) for a in args], parenthesize=True, is_type=is_type)
    return ir_from_text(text) if text is not None else None


_SINGLE_TOKEN_RE = re.compile(r"[A-Za-z_]\w*|\d\w*")
_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def strip_comments(text: str) -> str:
    return _COMMENT_RE.sub(" ", text)


def blank_comments(text: str) -> str:
    """The text with its comments made spaces, newlines kept: offsets and lines stay."""
    return _COMMENT_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def substitute_macro(params: tuple | list, body: str, args: list[str], parenthesize: bool = False,
                     is_type: Callable[[str], bool] | None = None) -> str | None:
    """The text of a function-like macro's body with the arguments' text put in for its
    parameters, as the preprocessor does: `a ## b` pastes the arguments as written, `#a`
    makes a string of one, a variadic parameter (`...` read as `__VA_ARGS__`, or GNU's
    `name...`) takes the remaining arguments, commas and all. With `parenthesize`, an
    argument put in elsewhere is wrapped in parentheses (the body is an expression).
    None when the call does not fit the macro.

    A parameter the body already parenthesizes, `(((n) + (d) - 1) / (d))`, is put in as
    written when the argument is a type (`sizeof(t)`, `(t)(x)`), and with its own
    parentheses too when `is_type` says it is not one: `(NR_TIDS) + (d)` is read as a cast
    of `+(d)` to the type `NR_TIDS` by a parser that cannot tell (tree-sitter reads an
    ALL_CAPS name so), `((NR_TIDS)) + (d)` as the sum."""
    names = [p.strip() for p in params]
    args = [strip_comments(a).strip() for a in args]
    if names and names[-1].endswith("..."):
        variadic = names[-1][:-3].strip() or "__VA_ARGS__"
        names = names[:-1]
        if len(args) < len(names):
            return None
        args = args[:len(names)] + [", ".join(args[len(names):])]
        names.append(variadic)
    elif args == [""] and not names:
        args = []
    elif not args and len(names) == 1:
        args = [""]  # `TAG()`: one empty argument
    if len(names) != len(args):
        return None
    table = dict(zip(names, args))
    body = strip_comments(body)

    def put(m: re.Match) -> str:
        arg = table.get(m.group(0))
        if arg is None:
            return m.group(0)
        before, after = body[:m.start()].rstrip(), body[m.end():].lstrip()
        if before.endswith("##") or after.startswith("##"):
            return arg
        if before.endswith("#"):
            return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if not parenthesize:
            return arg
        if before.endswith("(") and after.startswith(")"):
            # `sizeof(type)` stays a type; a value there is kept from being read as a cast
            return f"({arg})" if is_type is not None and not is_type(arg) else arg
        return arg if _SINGLE_TOKEN_RE.fullmatch(arg) else f"({arg})"

    text = IDENT_RE.sub(put, body)
    text = re.sub(r'(?<!#)#\s*(")', r"\1", text)  # the `#` of a stringified argument
    return re.sub(r"\s*##\s*", "", text)


# C's binding strength of each IR form (higher binds tighter): render() puts parentheses
# where the tree had them, `((mtu + 26 + 7) & ~7) + 16`, and only there.
_BINARY_PRECEDENCE = {"*": 13, "/": 13, "%": 13, "+": 12, "-": 12, "<<": 11, ">>": 11, "<": 10, "<=": 10,
                      ">": 10, ">=": 10, "==": 9, "!=": 9, "&": 8, "^": 7, "|": 6, "&&": 5, "||": 4}
_POSTFIX, _UNARY, _CONDITIONAL = 16, 15, 3


def _precedence(ir: tuple) -> int:
    kind = ir[0]
    if kind == "bin":
        return _BINARY_PRECEDENCE.get(ir[1], 2)
    if kind == "cond":
        return _CONDITIONAL
    if kind in ("un", "cast", "addr", "deref"):
        return _UNARY
    return _POSTFIX


# Operators whose operands read better parenthesized when they are other operators, as
# gcc's -Wparentheses asks: `(mtu + 33) & ~7`, `(a << 3) | b`, `a || (b && c)`.
_CLARIFIED = frozenset({"&", "^", "|", "<<", ">>"})


def _operand(ir: tuple, weakest: int, parent: str = "") -> str:
    """`ir` rendered as an operand that must bind at least as tightly as `weakest` (of the
    binary operator `parent`, if any)."""
    text = render(ir)
    clarify = ir[0] == "bin" and ir[1] != parent and (parent in _CLARIFIED or (parent, ir[1]) == ("||", "&&"))
    return f"({text})" if _precedence(ir) < weakest or clarify else text


def render(ir: tuple) -> str:
    """Source-like text of an IR expression (for messages and witness steps), with the
    parentheses C's precedence needs."""
    kind = ir[0]
    if kind == "num":
        return str(ir[1])
    if kind in ("id", "str", "unk"):
        return ir[1]
    if kind == "field":
        return f"{_operand(ir[1], _POSTFIX)}{'->' if ir[3] else '.'}{ir[2]}"
    if kind == "bin":
        own = _precedence(ir)  # left-associative: an equal right operand keeps its parentheses
        return f"{_operand(ir[2], own, ir[1])} {ir[1]} {_operand(ir[3], own + 1, ir[1])}"
    if kind == "un":
        return f"{ir[1]}{_operand(ir[2], _UNARY)}"
    if kind == "cast":
        return f"({ir[1]}){_operand(ir[2], _UNARY)}"
    if kind == "sizeof_t":
        return f"sizeof({ir[1]})"
    if kind == "sizeof_e":
        return f"sizeof({render(ir[1])})"
    if kind == "call":
        return f"{ir[1]}({', '.join(render(a) for a in ir[2])})"
    if kind == "cond":
        return f"{_operand(ir[1], _CONDITIONAL + 1)} ? {render(ir[2])} : {_operand(ir[3], _CONDITIONAL)}"
    if kind == "idx":
        return f"{_operand(ir[1], _POSTFIX)}[{render(ir[2])}]"
    if kind == "addr":
        return f"&{_operand(ir[1], _UNARY)}"
    if kind == "deref":
        return f"*{_operand(ir[1], _UNARY)}"
    return str(ir)
