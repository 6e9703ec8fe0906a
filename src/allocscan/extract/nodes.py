"""Helpers on tree-sitter nodes shared by the extractors: text, declarators, types."""

from __future__ import annotations

from ..exprs import ir_from_node, split_args, squash_type
from ..facts import FunctionFacts


def node_text(node) -> str:
    return node.text.decode("utf-8", "replace")


def function_declarator(decl):
    node = decl
    for _ in range(8):
        if node is None:
            return None
        if node.type == "function_declarator":
            inner = node.child_by_field_name("declarator")
            # int (*fn(void))(int): the outer function_declarator wraps a pointer.
            if inner is not None and inner.type in ("parenthesized_declarator", "pointer_declarator"):
                node = inner
                continue
            return node
        node = node.child_by_field_name("declarator") or (node.named_children[0] if node.named_children else None)
    return None


def function_params(plist) -> tuple[tuple[str, str], ...]:
    if plist is None:
        return ()
    out = []
    for p in plist.named_children:
        if p.type != "parameter_declaration":
            continue
        type_node = p.child_by_field_name("type")
        decl = p.child_by_field_name("declarator")
        type_text = squash_type(node_text(type_node)) if type_node is not None else ""
        if decl is None:
            if type_text != "void":
                out.append(("", type_text))
            continue
        name, pointer, _ = declarator_name(decl)
        out.append((name, type_text + "*" * pointer))
    return tuple(out)


def initialized_dims(dims: tuple, declarator) -> tuple:
    """An array's dimensions with a first one left to its initializer (`u8 hdr[] = {0xaa,
    0xaa, 3}`, `struct stat stats[] = { STAT(a), STAT(b) }`) counted from the elements;
    as they were when the elements cannot be counted: designated (`[3] = x`), under
    #if, or not parsed."""
    if not dims or dims[0] != ("flex",) or declarator.type != "init_declarator":
        return dims
    value = declarator.child_by_field_name("value")
    if value is None or value.type != "initializer_list":
        return dims
    elements = [c for c in value.named_children if c.type != "comment"]
    if any(c.type in ("initializer_pair", "ERROR") or c.type.startswith("preproc") for c in elements):
        return dims
    return (("num", len(elements)),) + dims[1:]


def declarator_name(node) -> tuple[str, int, tuple]:
    """(name, pointer depth, array dimensions IR) of a declarator (`**p` has depth 2)."""
    pointer = 0
    dims: list[tuple] = []
    for _ in range(12):
        if node is None:
            return "", pointer, tuple(dims)
        t = node.type
        if t in ("identifier", "field_identifier", "type_identifier"):
            return node_text(node), pointer, tuple(dims)
        if t == "pointer_declarator":
            pointer += 1
            node = node.child_by_field_name("declarator")
        elif t == "array_declarator":
            size = node.child_by_field_name("size")
            dims.insert(0, ir_from_node(size) if size is not None else ("flex",))
            node = node.child_by_field_name("declarator")
        elif t == "init_declarator":
            node = node.child_by_field_name("declarator")
        elif t in ("function_declarator", "parenthesized_declarator", "attributed_declarator"):
            if t == "function_declarator":
                pointer = max(pointer, 1)  # a function pointer member/variable
            # `(ACPI_SYSTEM_XFACE *handler)`: a calling-convention macro tree-sitter
            # leaves as an ERROR before the declarator it belongs to
            node = node.child_by_field_name("declarator") or \
                next((c for c in node.named_children if c.type not in ("ERROR", "comment")), None)
        else:
            return "", pointer, tuple(dims)
    return "", pointer, tuple(dims)


def param_type(fn: FunctionFacts, name: str) -> str:
    for pname, ptype in fn.params:
        if pname == name:
            return ptype
    return ""


def struct_of(type_text: str | None) -> str:
    """`struct foo*` -> `foo`; other types -> ''."""
    if not type_text:
        return ""
    t = type_text.replace("*", "").strip()
    if t.startswith("struct ") or t.startswith("union "):
        return t.split(" ", 1)[1].strip()
    return ""


def initializer_struct(pair) -> str:
    """The struct type of the declaration an initializer_pair belongs to."""
    node = pair.parent
    for _ in range(6):
        if node is None:
            return ""
        if node.type == "init_declarator":
            decl = node.parent
            type_node = decl.child_by_field_name("type") if decl is not None else None
            if type_node is not None and type_node.type == "struct_specifier":
                name = type_node.child_by_field_name("name")
                return node_text(name) if name is not None else ""
            return ""
        if node.type == "compound_literal_expression":
            type_node = node.child_by_field_name("type")
            return struct_of(node_text(type_node)) if type_node is not None else ""
        node = node.parent
    return ""


def initializer_owner(pair) -> tuple[str, str]:
    """(struct type, variable) whose initializer holds this `.field = value` pair directly,
    or as an element of an array of them (`static const struct chip_info chips[] = {
    [CHIP_A] = { .rx = 512 }, ... }`); ("", "") when the pair belongs to a nested member's
    initializer (another struct type) or the type is not a named struct."""
    node = pair.parent
    for _ in range(4):
        if node is None or node.type != "initializer_list":
            return "", ""
        node = node.parent
        if node is not None and node.type == "initializer_pair":
            designator = node.named_children[0] if node.named_children else None
            if designator is None or designator.type != "subscript_designator":
                return "", ""  # `.params = { .len = 5 }`: a member of another struct type
            node = node.parent  # `[CHIP_A] = { ... }`: an element of an array
            continue
        if node is not None and node.type == "init_declarator":
            decl = node.parent
            type_node = decl.child_by_field_name("type") if decl is not None else None
            if type_node is None or type_node.type != "struct_specifier":
                return "", ""
            name = type_node.child_by_field_name("name")
            variable, _, _ = declarator_name(node)
            return (node_text(name), variable) if name is not None else ("", "")
    return "", ""


def leaves(body) -> bool:
    """Does this `if` body always leave (return or goto), so code after it is guarded?"""
    if body.type in ("return_statement", "goto_statement"):
        return True
    if body.type == "compound_statement":
        stmts = [c for c in body.named_children if c.type != "comment"]
        return bool(stmts) and stmts[-1].type in ("return_statement", "goto_statement")
    return False


def statement_block(node):
    """The `{ ... }` block (or `case X:` statement list) whose statement is this assignment
    (`x->f = v;`), or None when the assignment sits inside a larger expression or condition."""
    stmt = node.parent
    if stmt is None or stmt.type != "expression_statement":
        return None
    block = stmt.parent
    return block if block is not None and block.type in ("compound_statement", "case_statement") else None


def first_arg(args_text: str) -> str:
    parts = split_args(args_text)
    return parts[0] if parts else ""
