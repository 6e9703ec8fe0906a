"""Stores: assignments to locals, struct fields and globals (and the store
macros WRITE_ONCE()/atomic_set()...), and function pointers bound to fields
(`.ndo_start_xmit = foo_xmit`, `urb->complete = foo`)."""

from __future__ import annotations

import re

from ..facts import DEREF_MARK, RECEIVER_MARK, Assignment, Binding, FunctionFacts
from .file import FileExtraction
from .nodes import (declarator_name, initializer_owner, initializer_struct, param_type, statement_block, struct_of,
                    node_text)
from ..exprs import squash

# store helpers: name -> (index of the stored-to argument, index of the value)
_STORE_MACROS = {"WRITE_ONCE": (0, 1), "smp_store_release": (0, 1), "atomic_set": (0, 1),
                 "atomic_long_set": (0, 1), "refcount_set": (0, 1), "set_bit": (1, 0), "__set_bit": (1, 0)}


def assignments(fx: FileExtraction) -> None:
    f = fx.facts
    for m in fx.m["call"]:
        # WRITE_ONCE(x->f, v), smp_store_release(&x->f, v), atomic_set(&x->f, v),
        # set_bit(N, &x->f) are stores to x->f
        positions = _STORE_MACROS.get(node_text(m["call.name"][0]))
        if positions is None:
            continue
        node = m["call"][0]
        idx = fx.enclosing(node.start_byte)
        args = [a for a in m["call.args"][0].named_children if a.type != "comment"]
        if idx < 0 or len(args) != 2:
            continue
        target, value = args[positions[0]], args[positions[1]]
        if target.type == "pointer_expression" and node_text(target.child_by_field_name("operator") or target) == "&":
            target = target.child_by_field_name("argument")
        if target is not None and target.type in ("identifier", "field_expression"):
            _assignment(fx, f.functions[idx], target, value, "=", node)
    for m in fx.m["update"]:
        # `n++` grows n as `n += 1` does; `n--` shrinks it
        node = m["update"][0]
        idx = fx.enclosing(node.start_byte)
        target = m["update.arg"][0]
        if idx >= 0 and target.type in ("identifier", "field_expression"):
            op = "-=" if "--" in node_text(node) else "+="
            _assignment(fx, f.functions[idx], target, None, op, node)
    for m in fx.m["fieldinit"]:
        _field_initializer(fx, m)
    for m in fx.m["assign"] + fx.m["init"] + fx.m["bind"]:
        if "assign" in m:
            node = m["assign"][0]
            idx = fx.enclosing(node.start_byte)
            if idx < 0:
                continue
            fn = f.functions[idx]
            left = m["assign.left"][0]
            right = m["assign.right"][0]
            op = node_text(m["assign.op"][0])
            _assignment(fx, fn, left, right, op, node)
        elif "init" in m:
            node = m["init"][0]
            idx = fx.enclosing(node.start_byte)
            if idx < 0:
                continue
            name, _, _ = declarator_name(m["init.declarator"][0])
            value = m["init.value"][0]
            if name and value.type != "initializer_list":
                decl = node.parent
                block = decl.parent if decl is not None and decl.type == "declaration" else None
                span = (block.start_byte, block.end_byte) if block is not None and block.type == "compound_statement" \
                    else (0, 0)
                f.functions[idx].assignments.append(
                    Assignment("local", name, "", node_text(value), node.start_point[0] + 1, "=", node.start_byte,
                               False, "", *span))
            elif name:
                f.functions[idx].inits[name] = initializer_fields(value)
                f.functions[idx].init_spans[name] = (node.start_point[0] + 1, node.start_byte, node.end_byte)
        elif "bind" in m:
            node = m["bind"][0]
            value = m["bind.value"][0]
            if value.type == "pointer_expression":
                arg = value.child_by_field_name("argument")
                if arg is None or arg.type != "identifier":
                    continue
                value = arg
            fname = node_text(value)
            struct_type = initializer_struct(node)
            idx = fx.enclosing(node.start_byte)
            # at file scope, the variable the initializer belongs to: a registration that
            # arms the struct by address (`static struct notifier_block foo_nb = {
            # .notifier_call = foo_event }` armed by a register call on `&foo_nb`) names it
            variable = initializer_owner(node)[1] if idx < 0 else ""
            f.bindings.append(Binding(struct_type, node_text(m["bind.field"][0]), fname,
                                      node.start_point[0] + 1, f.functions[idx].name if idx >= 0 else "",
                                      variable, node.start_byte if variable else 0))
    for fn, body in zip(f.functions, fx.fn_nodes):
        if body is not None:
            _deref_stores_complete(fn, body)


def _deref_stores_complete(fn: FunctionFacts, body) -> None:
    """The stores through a pointer kept above are all that the function does with that
    pointer, or a store of unknown value (op "?") says they are not: `(*n)++` in a loop,
    `n[0] = x`, the pointer handed on to another function. Counted by the name's
    occurrences in the body, one per kept store (a read through it counts too: it only
    makes the answer unknown)."""
    stores = [a for a in fn.assignments if a.kind == "deref"]
    if not stores:
        return
    text = node_text(body)
    for name in dict.fromkeys(a.base for a in stores):  # in order: a set's order changes with the hash seed
        kept = sum(1 for a in stores if a.base == name)
        if len(re.findall(rf"\b{re.escape(name)}\b", text)) != kept:
            fn.assignments.append(Assignment("deref", DEREF_MARK + name, "", "", fn.line, "?", body.start_byte,
                                             False, name))


_ADDRESS_OF = re.compile(rb"&\s*(?:\(\s*)?([A-Za-z_]\w*)")
# the last byte of an operand: a `&` after it is `a & b` (or the second of `a && b`)
_OPERAND_END = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_)]&")


def addressed_locals(fx: FileExtraction) -> None:
    """FunctionBody.addressed: for the locals a function initializes with braces or
    stores a member of (`struct demo_cmd cmd = { .len = n };`), how many times the body
    takes their address. `&` after an operand is `a & b` or `a && b`, not an address."""
    for idx, fn in enumerate(fx.facts.functions):
        if fn.packed is None:
            continue  # no stores, no initializers: nothing recorded in the body
        names = set(fn.inits)
        names.update(a.base for a in fn.assignments if a.kind == "field" and a.base.isidentifier())
        if not names or idx >= len(fx.fn_nodes):
            continue
        text = fx.fn_nodes[idx].text or b""
        counts: dict[str, int] = {}
        for m in _ADDRESS_OF.finditer(text):
            name = m.group(1).decode()
            if name not in names:
                continue
            i = m.start() - 1
            while i >= 0 and text[i] in b" \t\r\n":
                i -= 1
            if i >= 0 and text[i] in _OPERAND_END:
                continue
            counts[name] = counts.get(name, 0) + 1
        if counts:
            fn.addressed.update(counts)


def initializer_fields(node, prefix: str = "", depth: int = 0) -> tuple[tuple[str, str], ...]:
    """`{ .a = 1, .b = { .c = x } }` -> (("a", "1"), ("b.c", "x")); positional elements
    are named by their index (`{ 0 }` -> (("#0", "0"),))."""
    out: list[tuple[str, str]] = []
    position = 0
    for child in node.named_children:
        if child.type == "comment":
            continue
        if child.type == "initializer_pair":
            designators = [c for c in child.children_by_field_name("designator")]
            value = child.child_by_field_name("value")
            names = [node_text(d).lstrip(".") for d in designators]
            if value is None or not names:
                continue
            path = prefix + ".".join(names)
        else:
            value = child
            path = f"{prefix}#{position}"
            position += 1
        if value.type == "initializer_list" and depth < 3:
            out.extend(initializer_fields(value, path + ".", depth + 1))
        else:
            out.append((path, node_text(value)))
    return tuple(out)


# Initializer values that set nothing a size could come from: strings, nested
# initializers (their struct is another), addresses, functions.
_NOT_A_SIZE = frozenset({"string_literal", "concatenated_string", "initializer_list", "pointer_expression",
                         "compound_literal_expression", "char_literal"})


def _field_initializer(fx: FileExtraction, m) -> None:
    """`.ring_size = DEMO_RING` in the initializer of a struct (a file-scope table of chip
    parameters, or a local): a store into (struct type, ring_size). Function bindings and
    values that cannot be a size are left out."""
    value = m["fieldinit.value"][0]
    if value.type in _NOT_A_SIZE:
        return
    text = node_text(value)
    if value.type == "identifier" and text[:1].islower() and text not in fx.facts.enums:
        return  # a function bound to an ops field, or a variable: not a constant size
    if value.type in ("null", "true", "false"):
        return
    node = m["fieldinit"][0]
    owner, variable = initializer_owner(node)
    if not owner:
        return
    a = Assignment("field", node_text(m["fieldinit.field"][0]), owner, text, node.start_point[0] + 1, "=",
                   node.start_byte, base=variable)
    idx = fx.enclosing(node.start_byte)
    if idx >= 0:
        fx.facts.functions[idx].assignments.append(a)
    else:
        fx.facts.field_inits.append(a)


def _assignment(fx: FileExtraction, fn: FunctionFacts, left, right, op: str, node) -> None:
    """`left op right`; `right` None for `left++`/`left--` (by one)."""
    line = node.start_point[0] + 1
    value = node_text(right) if right is not None else "1"
    if left.type == "identifier":
        name = node_text(left)
        kind = "local" if (name in fn.locals or any(p == name for p, _ in fn.params)) else "global"
        block = statement_block(node)
        fn.assignments.append(Assignment(kind, name, "", value, line, op, node.start_byte, False, "",
                                         block.start_byte if block is not None else 0,
                                         block.end_byte if block is not None else 0))
    elif left.type == "pointer_expression" and _is_deref(left):
        # `*txwi_size = TXWI_DESC_SIZE;` through a pointer parameter or local: kept under
        # the target "*txwi_size" (DEREF_MARK), which no read of the name itself matches
        name = node_text(left.child_by_field_name("argument"))
        if name in fn.locals or any(p == name for p, _ in fn.params):
            block = statement_block(node)
            fn.assignments.append(Assignment("deref", DEREF_MARK + name, "", value, line, op, node.start_byte, False,
                                             name, block.start_byte if block is not None else 0,
                                             block.end_byte if block is not None else 0))
    elif left.type == "field_expression":
        fld = left.child_by_field_name("field")
        base = left.child_by_field_name("argument")
        if fld is None:
            return
        struct_type = ""
        if base is not None and base.type == "identifier":
            name = node_text(base)
            struct_type = struct_of(fn.locals.get(name) or param_type(fn, name) or fx.facts.global_types.get(name))
        receiver = "" if struct_type or base is None else receiver_path(fx, fn, base)
        block = statement_block(node)
        fn.assignments.append(Assignment("field", node_text(fld), struct_type, value, line, op, node.start_byte,
                                         op == "=" and _lowers(node, left, right),
                                         squash(node_text(base)) if base is not None else "",
                                         block.start_byte if block is not None else 0,
                                         block.end_byte if block is not None else 0, receiver))
        if right is None:
            return
        target = right
        if target.type == "pointer_expression":
            target = target.child_by_field_name("argument")
        if target is not None and target.type == "identifier" and op == "=":
            name = node_text(target)
            if name not in fn.locals and all(p != name for p, _ in fn.params):
                fx.facts.bindings.append(Binding(struct_type, node_text(fld), name, line, fn.name,
                                                 node_text(base) if base is not None else "", node.start_byte))


def _is_deref(node) -> bool:
    """`*name` (not `&name`): a store through the pointer a plain identifier holds."""
    op = node.child_by_field_name("operator")
    arg = node.child_by_field_name("argument")
    return op is not None and node_text(op) == "*" and arg is not None and arg.type == "identifier"


def receiver_path(fx: FileExtraction, fn: FunctionFacts, base) -> str:
    """The access path of a field store's receiver that is not a plain struct variable
    (Assignment.receiver): `priv->rx.buf_sz`, `hw->dch.dev.nrbchan`, `priv->ring[i].size`,
    `rings[i].size`, or a variable of a typedef'd type. The struct definitions that name
    the members' types are in headers, so the link resolves it; "" when the root is not
    a typed variable (a call's result, a cast)."""
    members: list[str] = []
    node = base
    while node is not None:
        if node.type == "field_expression":
            fld = node.child_by_field_name("field")
            if fld is None:
                return ""
            members.append(node_text(fld))
            node = node.child_by_field_name("argument")
        elif node.type == "subscript_expression":
            node = node.child_by_field_name("argument")
        elif node.type == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
        else:
            break
    if node is None or node.type != "identifier":
        return ""
    name = node_text(node)
    root = fn.locals.get(name) or param_type(fn, name) or fx.facts.global_types.get(name)
    if not root:
        return ""
    return root.strip() + RECEIVER_MARK + ".".join(reversed(members))


# --- guards ----------------------------------------------------------------


def _lowers(node, left, right) -> bool:
    """Is `left = right` inside `if (... && left > right)` (or `right < left`): a clamp
    that only ever lowers `left` (`if (max && p->size > max) p->size = max;`)?"""
    stmt = node.parent
    holder = stmt.parent if stmt is not None else None
    if holder is not None and holder.type == "compound_statement":
        holder = holder.parent
    if holder is None or holder.type != "if_statement":
        return False
    cond = holder.child_by_field_name("condition")
    if cond is None:
        return False
    target, value = squash(node_text(left)), squash(node_text(right))
    stack = [cond]
    while stack:
        n = stack.pop()
        if n.type == "parenthesized_expression":
            stack.extend(n.named_children)
        elif n.type == "binary_expression":
            op = n.child_by_field_name("operator")
            a, b = n.child_by_field_name("left"), n.child_by_field_name("right")
            if op is None or a is None or b is None:
                continue
            o = node_text(op)
            if o == "&&":
                stack.extend((a, b))
            elif (o in (">", ">=") and squash(node_text(a)) == target and squash(node_text(b)) == value) or \
                    (o in ("<", "<=") and squash(node_text(a)) == value and squash(node_text(b)) == target):
                return True
    return False
