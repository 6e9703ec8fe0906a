"""Definitions: object-like and function-like macros, enumerators, function
definitions (with their lock annotations), declarations, structs and typedefs."""

from __future__ import annotations

import re

from ..exprs import (STRING_LITERAL_RE, blank_comments, ir_from_node, parse_int_literal, squash, squash_type,
                     strip_comments)
from ..facts import IN_CONFIG_BRANCH, IS_INIT, FunctionFacts, StructDef, StructMember
from .file import FileExtraction
from .kconfig import layout_condition
from .nodes import declarator_name, function_declarator, function_params, initialized_dims, node_text
from .source import line_matches

# A #define worth keeping for value and gfp evaluation: an expression (or a string
# literal, below), not a statement, attribute or empty include guard.
_VALUE_DEFINE_RE = re.compile(r"^[\w\s()+\-*/%<>|&~^?:,.\[\]]+$")
# a string literal (smack's `#define SMK_ACCESS "rwxatl"`, read by `sizeof(SMK_ACCESS) - 1`):
# long ones (banners, format strings) are never sizes
_STRING_DEFINE_MAX = 128


def _value_define(body: str) -> bool:
    """Is `body` a #define's value the analysis reads: an expression, or a string literal
    a sizeof() may measure?"""
    return bool(_VALUE_DEFINE_RE.match(body)) or (
        len(body) <= _STRING_DEFINE_MAX and STRING_LITERAL_RE.fullmatch(body) is not None)


def toplevel(fx: FileExtraction) -> None:
    f = fx.facts
    f.error_nodes = len(fx.m["error"])
    for m in fx.m["define"] + fx.m["macro"] + fx.m["enum.list"]:
        if "define.name" in m:
            name = node_text(m["define.name"][0])
            fx.define_names.add(name)
            value = m.get("define.value")
            body = node_text(value[0]).strip() if value else ""
            body = body.replace("\\\n", " ")
            if body and _value_define(body):
                f.defines.setdefault(name, body)
        elif "macro.name" in m:
            name = node_text(m["macro.name"][0])
            fx.macro_names.add(name)
            params = tuple(p.strip() for p in node_text(m["macro.params"][0])[1:-1].split(",") if p.strip())
            value = m.get("macro.value")
            body = node_text(value[0]).replace("\\\n", " ").strip() if value else ""
            f.func_macros.setdefault(name, (params, body))
        elif "enum.list" in m:
            enum_list(fx, m["enum.list"][0])
    _unparsed_macros(fx)


# `#define NAME(params) body` and `#define NAME body`, continuation lines included
_FUNCTION_MACRO_RE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)\n]*)\)((?:[^\n\\]|\\\r?\n|\\.)*)", re.M)
_OBJECT_MACRO_RE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(?![\w(])((?:[^\n\\]|\\\r?\n|\\.)*)", re.M)
# what their lines hold, for `line_matches`, and the name they define
_FUNCTION_MACRO_HINT = re.compile(r"define[ \t]+(\w+)\(")
_OBJECT_MACRO_HINT = re.compile(r"define[ \t]+(\w+)(?![\w(])")


def _missed_names(fx: FileExtraction, text: str) -> bool:
    """Does the text #define a macro the queries did not see (most files: no)?

    Every name the patterns read also follows a `define` the hints find, and the
    hints' names are read in one search. Only when one of those is unknown are the
    #define lines read one by one."""
    functions = fx.macro_names
    if not functions.issuperset(_FUNCTION_MACRO_HINT.findall(text)) and any(
            m.group(1) not in functions for m in line_matches(_FUNCTION_MACRO_RE, text, _FUNCTION_MACRO_HINT)):
        return True
    objects = fx.define_names
    if objects.issuperset(_OBJECT_MACRO_HINT.findall(text)):
        return False
    return any(m.group(1) not in objects for m in line_matches(_OBJECT_MACRO_RE, text, _OBJECT_MACRO_HINT))


def _unparsed_macros(fx: FileExtraction) -> None:
    """Macros tree-sitter's grammar cannot parse, read from the text (outside comments):

    * a function-like macro with a GNU named variadic parameter (`MEMBERS...`) or a
      comment in the body (`__group(/* no tag */, NAME, ...)`) is an ERROR the macro
      query does not match;
    * an object-like macro inside an enum's body (`__DEMO_MAX` then `#define DEMO_MAX
      __DEMO_MAX` before the closing brace) or an initializer's is no `preproc_def`.
    """
    text = fx.original
    if "define" not in text or not _missed_names(fx, text):
        return
    # a `#define` inside a comment (an old value kept for reference) defines nothing
    text = blank_comments(text)
    macros = fx.facts.func_macros
    for m in line_matches(_FUNCTION_MACRO_RE, text, _FUNCTION_MACRO_HINT):
        name = m.group(1)
        if name in macros:
            continue
        params = tuple(p.strip() for p in m.group(2).split(",") if p.strip())
        body = " ".join(m.group(3).replace("\\\n", " ").replace("\\\r\n", " ").split())
        macros[name] = (params, body)
    defines = fx.facts.defines
    for m in line_matches(_OBJECT_MACRO_RE, text, _OBJECT_MACRO_HINT):
        name = m.group(1)
        if name in defines:
            continue
        body = " ".join(m.group(2).replace("\\\n", " ").replace("\\\r\n", " ").split())
        if body and _value_define(body):
            defines[name] = body


def _enumerators(node):
    """The enumerators of an enumerator list in order, those under an `#ifdef` included
    (its first branch: one configuration's numbering), and a bare name
    tree-sitter left in an ERROR node after a `#define` inside the list."""
    for child in node.named_children:
        if child.type == "enumerator":
            yield child, child.child_by_field_name("name"), child.child_by_field_name("value")
        elif child.type in ("preproc_ifdef", "preproc_if"):
            yield from _enumerators(child)
        elif child.type == "ERROR" and [c.type for c in child.named_children] == ["identifier"]:
            yield child, child.named_children[0], None


def enum_list(fx: FileExtraction, node) -> None:
    prev: tuple | None = None
    for child, name, value in _enumerators(node):
        if name is None:
            continue
        if value is not None:
            ir = ir_from_node(value)
        elif prev is None:
            ir = ("num", 0)
        else:
            ir = ("bin", "+", prev, ("num", 1))
            if prev[0] == "num":
                ir = ("num", prev[1] + 1)
        fx.facts.enums.setdefault(node_text(name), ir)
        prev = ir

# --- functions -------------------------------------------------------


_INIT_RE = re.compile(rb"\b__init\b")
_NOT_INTEGER = ("void",)


def _in_config_branch(node) -> bool:
    """Is the definition inside a preprocessor branch whose condition, or that of an
    earlier branch of its chain (an `#else`'s `#ifdef`), names a CONFIG_ symbol?"""
    parent = node.parent
    while parent is not None and parent.type != "translation_unit":
        if parent.type in _CONDITIONALS:
            condition = parent.child_by_field_name("name") or parent.child_by_field_name("condition")
            if condition is not None and "CONFIG_" in node_text(condition):
                return True
        parent = parent.parent
    return False


def _returns_integer(fn, decl, fdecl) -> bool:
    """Does the definition return an integer or a truth value (not void, a pointer or a
    struct)? A predicate's `return !n || n > limit;` bounds what its callers leave on
    (analyze.values.narrowing: _predicate_bound)."""
    if decl is not fdecl:
        return False  # `char *f(...)`: a pointer_declarator wraps the function declarator
    type_node = fn.child_by_field_name("type")
    if type_node is None or type_node.type in ("struct_specifier", "union_specifier"):
        return False
    return node_text(type_node).split()[-1] not in _NOT_INTEGER


def loops(fx: FileExtraction) -> None:
    """Every loop's span (its body may run any number of times: path validation), and
    each `for`/`while` whose condition compares (a counter's bound where it leaves)."""
    for m in fx.m["loop"]:
        node = m["loop"][0]
        idx = fx.enclosing(node.start_byte)
        if idx < 0:
            continue
        body = fx.facts.functions[idx].body()
        body.loop_spans.append((node.start_byte, node.end_byte))
        cond_node = node.child_by_field_name("condition") if node.type != "do_statement" else None
        if cond_node is None:  # for (;;), do ... while
            continue
        cond = node_text(cond_node)
        if any(op in cond for op in ("<", ">")):
            if cond_node.type == "parenthesized_expression":
                cond = cond[1:-1]
            body.loops.append((cond, node.start_byte, node.end_byte))


def returns(fx: FileExtraction) -> None:
    """`return expr;`: in a function returning an integer or a truth value, what it
    returns (a size may be a call's result; a predicate's test bounds what its callers
    leave on); in one returning a pointer, the pointer (can it be NULL?)."""
    pointer: dict[int, bool] = {}
    for m in fx.m["return"]:
        node = m["return"][0]
        value = m["return.value"][0]
        idx = fx.enclosing(node.start_byte)
        if idx < 0 or value.type == "comment":
            continue
        fn = fx.facts.functions[idx]
        if fn.start_byte in fx.integer_functions:
            if value.type not in ("string_literal", "pointer_expression"):
                fn.body().returns.append((node_text(value), node.start_byte, node.start_point[0] + 1))
            continue
        if idx not in pointer:
            definition = fx.fn_nodes[idx].parent
            declarator = definition.child_by_field_name("declarator") if definition is not None else None
            pointer[idx] = declarator is not None and declarator.type == "pointer_declarator"
        if pointer[idx]:
            fn.body().pointer_returns.append((node.start_byte, node_text(value)))


def functions(fx: FileExtraction) -> None:
    found = []
    original = None  # the text before masking (masking blanks __init), as the parser's bytes
    for m in fx.m["function"]:
        fn = m["function"][0]
        decl = m["function.declarator"][0]
        body = m["function.body"][0]
        fdecl = function_declarator(decl)
        if fdecl is None:
            continue
        name_node = fdecl.child_by_field_name("declarator")
        if name_node is None or name_node.type != "identifier":
            continue
        params = function_params(fdecl.child_by_field_name("parameters"))
        is_static = any(c.type == "storage_class_specifier" and node_text(c) == "static" for c in fn.children)
        facts = FunctionFacts(
            name=node_text(name_node), is_static=is_static,
            line=fn.start_point[0] + 1, end_line=fn.end_point[0] + 1,
            params=params, has_error=fn.has_error,
            start_byte=body.start_byte, end_byte=body.end_byte,
        )
        if _returns_integer(fn, decl, fdecl):
            fx.integer_functions.add(body.start_byte)
        if original is None:
            original = fx.original.encode("utf-8", "replace")
        if _INIT_RE.search(original, fn.start_byte, name_node.start_byte):
            facts.flags |= IS_INIT  # kept by pack(), which sets the other flags
        if _in_config_branch(fn):
            facts.flags |= IN_CONFIG_BRANCH
        found.append((body.start_byte, facts, body, fn.start_byte))
    found.sort(key=lambda x: x[0])
    # Lock annotations sit between the function's start and its body.
    annotations = sorted(fx.masked.lock_annotations)
    for _, facts, body, fn_start in found:
        # Held at entry: __must_hold(x) and __releases(x). __acquires(x) means
        # the function takes x itself, so its body starts unlocked; with both,
        # the order tells: `__acquires(x) __releases(x)` takes and drops x inside
        # (unlocked at entry), `__releases(x) __acquires(x)` drops and retakes it.
        mine = [(a, arg) for off, a, arg in annotations if fn_start <= off < body.start_byte]
        first = {}
        for a, arg in mine:
            first.setdefault(squash(arg), a)
        entry = [f"{a}({arg})" for a, arg in mine
                 if a == "__must_hold" or (a == "__releases" and first[squash(arg)] == "__releases")]
        facts.entry_locks = tuple(entry)
        fx.facts.functions.append(facts)
        fx.fn_nodes.append(body)
        fx.fn_starts.append(body.start_byte)

# --- declarations, structs, typedefs ---------------------------------


def _points_to_array(declarator) -> bool:
    """`u8 (*rows)[16]`: a pointer to arrays, not an array (its dimensions are the
    pointee's); `u8 *rows[16]` is an array of pointers."""
    node, seen_array = declarator, False
    for _ in range(12):
        if node is None:
            return False
        if node.type == "array_declarator":
            seen_array = True
        elif node.type == "pointer_declarator" and seen_array:
            return True
        elif node.type not in ("init_declarator", "parenthesized_declarator", "attributed_declarator"):
            return False
        node = node.child_by_field_name("declarator") or (node.named_children[0] if node.named_children else None)
    return False


def declarations(fx: FileExtraction) -> None:
    f = fx.facts
    declared: dict[tuple[int, str], list[tuple[int, int, str]]] = {}  # (function, local) -> declarations
    for m in fx.m["decl"] + fx.m["struct"] + fx.m["union"] + fx.m["typedef"]:
        if "decl" in m:
            decl_node = m["decl"][0]
            type_text = squash_type(node_text(m["decl.type"][0]))
            declarator = m["decl.declarator"][0]
            name, pointer, dims = declarator_name(declarator)
            if not name:
                continue
            dims = initialized_dims(dims, declarator)
            full_type = type_text + "*" * pointer
            idx = fx.enclosing(decl_node.start_byte)
            if idx >= 0:
                if name not in f.functions[idx].locals and dims and not _points_to_array(declarator):
                    f.functions[idx].local_arrays[name] = dims
                f.functions[idx].locals.setdefault(name, full_type)
                declared.setdefault((idx, name), []).append((decl_node.start_byte, _scope_end(decl_node), full_type))
            elif decl_node.parent is not None and decl_node.parent.type in ("translation_unit", "preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"):
                if name not in f.global_types and dims and not _points_to_array(declarator):
                    f.global_arrays[name] = dims
                f.global_types.setdefault(name, full_type)
                if declarator.type == "init_declarator":
                    value = declarator.child_by_field_name("value")
                    if value is not None and value.type != "initializer_list":
                        f.globals.setdefault(name, ir_from_node(value))
                    elif value is not None and not pointer:
                        from .stores import initializer_fields

                        f.global_inits.setdefault(name, initializer_fields(value))
        elif "struct" in m or "union" in m:
            node = (m.get("struct") or m.get("union"))[0]
            struct(fx, node, node_text(m["struct.name"][0]), m["struct.body"][0], "union" in m)
        elif "typedef" in m:
            type_node = m["typedef.type"][0]
            declarator = m["typedef.declarator"][0]
            name, pointer, _ = declarator_name(declarator)
            if name:
                base = squash_type(node_text(type_node)) if type_node.type != "struct_specifier" or type_node.child_by_field_name("name") else ""
                if type_node.type in ("struct_specifier", "union_specifier"):
                    tag = type_node.child_by_field_name("name")
                    kind = "struct" if type_node.type == "struct_specifier" else "union"
                    if tag is not None:
                        base = f"{kind} {node_text(tag)}"
                    else:
                        # typedef struct { ... } name_t; : record the body under the alias.
                        body = type_node.child_by_field_name("body")
                        if body is not None:
                            struct(fx, type_node, name, body, kind == "union")
                        base = f"{kind} {name}"
                f.typedefs.setdefault(name, base + "*" * pointer)
    for (idx, name), scopes in declared.items():
        if len(scopes) > 1:  # one name, several variables (FunctionBody.scopes)
            f.functions[idx].local_scopes[name] = tuple(sorted(set(scopes)))


def _scope_end(decl) -> int:
    """Where a local's declaration stops being in force: the end of the block holding it
    (`for (int i = ...)`: of the loop; after a `case X:` label: of the switch's body)."""
    node = decl.parent
    while node is not None and node.type not in ("compound_statement", "for_statement", "function_definition"):
        node = node.parent
    return node.end_byte if node is not None else decl.end_byte


def struct(fx: FileExtraction, node, name: str, body, is_union: bool) -> None:
    members: list[StructMember] = []
    calls: list[tuple[int, int]] = []  # (index, end byte) of member macro calls spanning members
    firsts: list[tuple[int, int]] = []  # (start byte, index of its first member) per declaration
    call_end = -1
    for fd in _field_declarations(body):
        type_node = fd.child_by_field_name("type")
        if type_node is None:
            continue
        firsts.append((fd.start_byte, len(members)))
        if type_node.type == "macro_type_specifier" and fd.start_byte >= call_end:
            spanning = _spanning_member_call(body, type_node, fd)
            if spanning is not None:
                text, call_end = spanning
                calls.append((len(members), call_end))
                members.append(StructMember("", text, False, ()))
        if type_node.type in ("struct_specifier", "union_specifier") and type_node.child_by_field_name("body") is not None:
            # Anonymous or nested inline definition: lay it out under a synthetic name.
            tag = type_node.child_by_field_name("name")
            inner_union = type_node.type == "union_specifier"
            inner_name = node_text(tag) if tag is not None else f"{name}::anon@{type_node.start_byte}"
            struct(fx, type_node, inner_name, type_node.child_by_field_name("body"), inner_union)
            base = ("union " if inner_union else "struct ") + inner_name
        else:
            base = squash_type(node_text(type_node))
        declarators = [c for c in fd.children_by_field_name("declarator")]
        bits = None
        for c in fd.named_children:
            if c.type == "bitfield_clause":
                lit = c.named_children[0] if c.named_children else None
                bits = parse_int_literal(node_text(lit)) if lit is not None else None
        if not declarators:
            members.append(StructMember("", base, False, (), bits))
            continue
        volatile = any(c.type == "type_qualifier" and node_text(c) == "volatile" for c in fd.children)
        for d in declarators:
            mname, pointer, dims = declarator_name(d)
            members.append(StructMember(mname, base + "*" * max(pointer - 1, 0), pointer > 0, dims, bits,
                                        volatile=volatile and not pointer))
    for index, end in calls:  # the members the parser made of the call's text
        after = next((first for start, first in firsts if start >= end), len(members))
        members[index].covers = after - index - 1
    packed = "__packed" in fx.original[body.end_byte:body.end_byte + 40].split(";")[0] or \
        "packed" in fx.original[body.end_byte:body.end_byte + 60].split(";")[0]
    fx.facts.structs.append(StructDef(name, is_union, tuple(members), node.start_point[0] + 1, packed))

_CONDITIONALS = frozenset({"preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef", "preproc_else"})


def _field_declarations(body):
    """The member declarations of a struct body, those under a preprocessor conditional
    too, in source order. A branch is laid out as a distribution's kernel compiles it
    (`#ifdef CONFIG_LOCKDEP`: not; `#ifdef CONFIG_64BIT`: only it, not its `#else`;
    kbuild.toml [layout]); a branch no configuration takes (`#if 0`) is not. Of a
    condition on any other option every branch is laid out, `#if`, `#elif` and `#else`
    alike: the layout is then at least as large as such a configuration makes it, the
    bound a size needs, and a member of either branch is found by name. With --kconfig
    the config has already blanked the branches it does not compile."""
    for child in body.named_children:
        if child.type == "field_declaration":
            yield child
        elif child.type in _CONDITIONALS:
            yield from _branch_declarations(child)


def _branch_declarations(conditional):
    value = _branch_condition(conditional)
    condition = conditional.child_by_field_name("condition")
    alternative = conditional.child_by_field_name("alternative")
    if value is not False:
        for child in conditional.named_children:
            if child == alternative or child == condition:
                continue
            if child.type == "field_declaration":
                yield child
            elif child.type in _CONDITIONALS:
                yield from _branch_declarations(child)
    if alternative is not None and value is not True:
        yield from _branch_declarations(alternative)


def _branch_condition(conditional):
    """Is the branch compiled as the layouts configure a kernel: True, False or None."""
    if conditional.type == "preproc_else":
        return None
    if conditional.type in ("preproc_ifdef", "preproc_elifdef"):
        directive = node_text(conditional.children[0]).lstrip("#").strip()
        name = conditional.child_by_field_name("name")
        kind = "ifndef" if directive.endswith("ndef") else "ifdef"
        return layout_condition(kind, node_text(name)) if name is not None else None
    condition = conditional.child_by_field_name("condition")
    return layout_condition("if", node_text(condition)) if condition is not None else None


def _spanning_member_call(body, type_node, fd) -> tuple[str, int] | None:
    """(the call's text, its end byte) when a member macro's call holds declarations the
    parser split into several members (`struct_group(addrs, __be32 saddr; __be32 daddr;);`:
    the call's closing parenthesis lies past the member tree-sitter made of its start)."""
    text = body.text
    start = type_node.start_byte - body.start_byte
    open_paren = text.find(b"(", start)
    if open_paren < 0:
        return None
    depth = 0
    for i in range(open_paren, len(text)):
        ch = text[i]
        if ch in b"({[":
            depth += 1
        elif ch in b")}]":
            depth -= 1
            if depth == 0:
                end = body.start_byte + i + 1
                if end <= fd.end_byte:
                    return None
                call = " ".join(strip_comments(text[start:i + 1].decode("utf-8", "replace")).split())
                return call, end
    return None


# --- calls -------------------------------------------------------------


def structs_of_members(text: str, name: str) -> list[StructDef]:
    """The struct that the member declarations `text` make as the body of a struct called
    `name`, last, after the structs nested in it: what a member macro expands to (the
    layouts lay it out in place of the call), read by the same code as a file's structs."""
    from types import SimpleNamespace

    from .treesitter import parser

    src = f"struct __allocscan_members {{ {text} ; }};"
    tree = parser().parse(src.encode("utf-8", "replace"))
    node = next((c for c in tree.root_node.children if c.type == "struct_specifier"), None)
    body = node.child_by_field_name("body") if node is not None else None
    if body is None:
        return []
    shim = SimpleNamespace(facts=SimpleNamespace(structs=[]), original=src)
    struct(shim, node, name, body, False)
    return shim.facts.structs
