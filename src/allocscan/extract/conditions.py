"""Conditions: guards that leave before later statements (and clamps), branches
and switch cases on parameters, and one-time set-up regions."""

from __future__ import annotations

from ..exprs import IDENT_RE, parse_int_literal, squash
from ..facts import EXIT_ERROR, EXIT_NONE, EXIT_OTHER, LEAVES_FUNCTION, Guard, names_blocking_test
from ..kernel.tables import contexts
from .file import FileExtraction
from .nodes import leaves, node_text

# A guard's body may leave the rest of its block with `break` or `continue` too (a
# `case` that rejects a value with `break`, a loop that skips it with `continue`).
_LEAVES_BLOCK = ("break_statement", "continue_statement")


def _leaves_block(body) -> bool:
    if leaves(body) or body.type in _LEAVES_BLOCK:
        return True
    if body.type == "compound_statement":
        stmts = [c for c in body.named_children if c.type != "comment"]
        return bool(stmts) and stmts[-1].type in _LEAVES_BLOCK
    return False


def guards(fx: FileExtraction) -> None:
    labels = label_positions(fx)
    for m in fx.m["guard"]:
        node = m["guard"][0]
        _branch_on_parameter(fx, m)
        _condition(fx, m, labels)
        _one_time_setup(fx, m)
        _guarded_in_every_arm(fx, m)
        cond = node_text(m["guard.cond"][0])[1:-1]
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            # `if (n > MAX) { pr_err(...); n = MAX; } else if (!n) { n = 1; }`: a clamp
            # when the other branches store nothing but literals into n (vhost-scsi)
            clamp = _clamp_condition(m["guard.cond"][0], m["guard.body"][0])
            if clamp is None or not _stores_only_literals(alternative, clamp.partition(" > ")[0]):
                continue
            cond = clamp
        elif not _leaves_block(m["guard.body"][0]):
            # `if (len > MAX) len = MAX;` clamps: after it, len <= MAX as after a guard.
            clamp = _clamp_condition(m["guard.cond"][0], m["guard.body"][0])
            if clamp is not None:
                cond = clamp
            elif not _clamped_or_left(m["guard.cond"][0], m["guard.body"][0]):
                continue
        if not _compares(cond) and not names_blocking_test(cond):
            # `if (ret) return ret;` bounds nothing; `if (gfp & __GFP_DIRECT_RECLAIM)
            # return ...;` keeps the masks that may block from what follows
            continue
        idx = fx.enclosing(node.start_byte)
        parent = node.parent
        if idx < 0 or parent is None:
            continue
        fx.facts.functions[idx].guards.append(Guard(
            cond, node.start_point[0] + 1, node.end_byte, parent.start_byte, parent.end_byte))


def assertions(fx: FileExtraction) -> None:
    """`BUG_ON(alias >= ARRAY_SIZE(chips));` as a statement of its own: the code after it
    runs only where the condition is false (contexts.toml [noreturn] `when`), a guard
    like `if (alias >= ARRAY_SIZE(chips)) return -EINVAL;`. (The assertion is no call
    the facts keep: inert.toml.)"""
    stops = [name for name in fx.ctx.stops_when if name in fx.original]
    if not stops:
        return  # (most files assert nothing: no walk over their calls)
    for m in fx.m["call"]:
        if "call" not in m or node_text(m["call.name"][0]) not in stops:
            continue
        statement = m["call"][0].parent
        if statement is None or statement.type != "expression_statement" or statement.parent is None:
            continue
        cond = node_text(m["call.args"][0])[1:-1].strip()
        idx = fx.enclosing(statement.start_byte)
        if idx < 0 or not _compares(cond):
            continue
        block = statement.parent
        fx.facts.functions[idx].guards.append(Guard(
            cond, statement.start_point[0] + 1, statement.end_byte, block.start_byte, block.end_byte))


def _compares(cond: str) -> bool:
    """Can the condition bound a value: does it compare or negate (`if (ret) return ret;`
    bounds nothing)?"""
    return any(op in cond.replace("->", ".") for op in ("<", ">", "==", "!"))


def _guarded_in_every_arm(fx: FileExtraction, m) -> None:
    """An `if`/`else` each of whose arms leaves on a check of its own is a guard for what
    follows it: past it, the checks of one arm or the other were false. iwlwifi's stored
    beacon checks the length against each firmware version's struct in its own arm
    (`if (ver <= 2) { if (pkt_len < struct_size(v2, data, size)) return; ... } else { if
    (pkt_len < struct_size(v3, data, size)) return; ... }`); a card's two register layouts
    each refuse a length above the MTU. Recorded as one guard, `(G1 || G2) && (H1 || H2)`:
    its being false is one arm's checks all being false."""
    node = m["guard"][0]
    alternative = node.child_by_field_name("alternative")
    parent = node.parent
    if alternative is None or parent is None or parent.type != "compound_statement":
        return
    other = alternative if alternative.type != "else_clause" else \
        next((c for c in alternative.named_children if c.type != "comment"), None)
    arms = [m["guard.body"][0], other]
    checks = [_leaving_checks(arm) for arm in arms if arm is not None and arm.type == "compound_statement"]
    if len(checks) != 2 or not all(checks):
        return
    idx = fx.enclosing(node.start_byte)
    if idx < 0:
        return
    cond = " && ".join("(" + " || ".join(f"({c})" for c in arm) + ")" for arm in checks)
    fx.facts.functions[idx].guards.append(Guard(
        cond, node.start_point[0] + 1, node.end_byte, parent.start_byte, parent.end_byte))


def _leaving_checks(arm) -> list[str]:
    """The conditions of the `if (cond) <leave>;` statements (no else) at the top level
    of a compound statement."""
    out = []
    for stmt in arm.named_children:
        if stmt.type != "if_statement" or stmt.child_by_field_name("alternative") is not None:
            continue
        body, cond = stmt.child_by_field_name("consequence"), stmt.child_by_field_name("condition")
        if body is not None and cond is not None and _leaves_block(body):
            out.append(node_text(cond)[1:-1].strip())
    return out


def _one_time_setup(fx: FileExtraction, m) -> None:
    """Record code that runs only while a field or global is unset: the body of
    `if (!vdev->stats) {...}` (no else), or what follows an early success return
    `if (mhba->fw_flag & FW_ALLOC) return 0;`. The context analysis decides
    whether the function sets that state there (then it is one-time set-up)."""
    node = m["guard"][0]
    idx = fx.enclosing(node.start_byte)
    if idx < 0:
        return
    fn = fx.facts.functions[idx]
    found = _state_test(m["guard.cond"][0], fn)
    if found is None:
        return
    state, unset = found
    body = m["guard.body"][0]
    if node.child_by_field_name("alternative") is not None:
        return
    if leaves(body) and _returns_success(body):
        region = (node.end_byte, fn.end_byte)  # `if (done) return 0;` (or `if (!new) return inode;`)
    elif unset:
        region = (body.start_byte, body.end_byte)  # `if (!dev->stats) { ... }`
    else:
        return
    fn.once = fn.once + (region + (state,),)


def label_positions(fx: FileExtraction) -> dict[tuple[int, str], int]:
    """(function index, label) -> the byte where the labelled statement starts."""
    out = {}
    for m in fx.m["label"]:
        node = m["label"][0]
        idx = fx.enclosing(node.start_byte)
        if idx >= 0:
            out.setdefault((idx, node_text(m["label.name"][0])), node.start_byte)
    return out


def _condition(fx: FileExtraction, m, labels: dict[tuple[int, str], int]) -> None:
    """Record every `if` for path validation: its condition, the range of each arm and,
    for an early exit, the rest of its block as the else and how it leaves."""
    node = m["guard"][0]
    idx = fx.enclosing(node.start_byte)
    if idx < 0:
        return
    fn = fx.facts.functions[idx]
    cond = node_text(m["guard.cond"][0])[1:-1].strip()
    body = m["guard.body"][0]
    alternative = node.child_by_field_name("alternative")
    parent = node.parent
    kind = EXIT_NONE
    goes_to = 0
    if alternative is not None:
        else_range = (alternative.start_byte, alternative.end_byte)
    elif _exits(body) and parent is not None:
        else_range = (node.end_byte, parent.end_byte)
        kind = EXIT_ERROR if _exits_with_error(body, cond) else EXIT_OTHER
        last = _last_statement(body)
        if last.type == "return_statement":
            goes_to = LEAVES_FUNCTION
        elif last.type == "goto_statement":
            label = last.child_by_field_name("label")
            goes_to = labels.get((idx, node_text(label)), LEAVES_FUNCTION) if label is not None else LEAVES_FUNCTION
            if node.end_byte <= goes_to < parent.end_byte:
                # `if (!acs) goto done; ... done: rcu_read_lock(); ...`: from the label on,
                # the rest of the block is reached whether the exit is taken or not
                else_range = (node.end_byte, goes_to)
    else:
        else_range = (0, 0)
    fn.conditions.append((cond, body.start_byte, body.end_byte) + else_range + (kind, goes_to))
    _short_circuit_operands(fn, m["guard.cond"][0])


def _short_circuit_operands(fn, cond_node) -> None:
    """Record what holds inside each later operand of a condition's `&&` (or `||`) chain:
    C evaluates it only when the operands before it are true (false). `if (len <
    copybreak && (skb = netdev_alloc_skb(dev, len + 2)))` allocates only below the
    copy-break; `if (!pool || !(buf = kmalloc(n, ...)))` only with a pool. Each later
    operand is recorded as an arm of the earlier ones (an `&&` operand as the then-arm of
    their conjunction, an `||` operand as the else-arm of their disjunction)."""
    expr = cond_node
    while expr.type == "parenthesized_expression" and expr.named_child_count == 1:
        expr = expr.named_children[0]
    op = _logical_operator(expr)
    if op is None:
        return
    operands = _chain(expr, op)
    for k in range(1, len(operands)):
        earlier = f" {op} ".join(f"({node_text(o)})" for o in operands[:k])
        here = operands[k]
        if op == "&&":
            fn.conditions.append((earlier, here.start_byte, here.end_byte, 0, 0, EXIT_NONE, 0))
        else:
            fn.conditions.append((earlier, 0, 0, here.start_byte, here.end_byte, EXIT_NONE, 0))


def _logical_operator(node) -> str | None:
    if node.type != "binary_expression":
        return None
    operator = node.child_by_field_name("operator")
    return operator.type if operator is not None and operator.type in ("&&", "||") else None


def _chain(node, op: str) -> list:
    """The operands of a left-nested `a op b op c` chain, in order."""
    if _logical_operator(node) != op:
        return [node]
    return _chain(node.child_by_field_name("left"), op) + [node.child_by_field_name("right")]


_LEAVING = ("return_statement", "goto_statement", "break_statement", "continue_statement")


def _last_statement(body):
    if body.type == "compound_statement":
        stmts = [c for c in body.named_children if c.type != "comment"]
        return stmts[-1] if stmts else None
    return body


def _exits(body) -> bool:
    last = _last_statement(body)
    return last is not None and last.type in _LEAVING


_ERROR_RETURN_NAMES = frozenset({"ret", "err", "rc", "error", "status", "retval", "result", "res", "rv"})


def _exits_with_error(body, cond: str = "") -> bool:
    """Does this early exit leave with an error: `return -EINVAL;`, `return NULL;`,
    `return ERR_PTR(...);`, `return false;`, `return ret;`, `goto err;`, or the error
    pointer its test found (`if (IS_ERR(desc)) return desc;`, gpiolib's lookup)?"""
    last = _last_statement(body)
    if last is None:
        return False
    if last.type == "goto_statement":
        return True
    if last.type != "return_statement":
        return False
    values = [c for c in last.named_children if c.type != "comment"]
    if not values:
        return False
    text = node_text(values[0]).strip("() ")
    return text.startswith("-") or text in ("NULL", "false") or text in _ERROR_RETURN_NAMES or \
        text.split("(", 1)[0].strip() in contexts().error_returns or _returns_tested_error(text, cond)


def _returns_tested_error(returned: str, cond: str) -> bool:
    """Is `returned` the pointer the exit's test found to be an error (`IS_ERR(desc)`,
    `IS_ERR_OR_NULL(desc)`), handed back to the caller as it is?"""
    if not IDENT_RE.fullmatch(returned):
        return False
    test = " ".join(cond.split())
    return test in (f"IS_ERR({returned})", f"IS_ERR_OR_NULL({returned})", f"unlikely(IS_ERR({returned}))")


def _branch_on_parameter(fx: FileExtraction, m) -> None:
    """Record an `if` whose condition reads a parameter: a caller passing a constant
    (`fasync_helper(fd, filp, 0, ...)`, `set_rx_mode(dev, false)`) may make one
    of its branches dead, and the calls in it unreachable from that caller."""
    node = m["guard"][0]
    idx = fx.enclosing(node.start_byte)
    if idx < 0:
        return
    fn = fx.facts.functions[idx]
    cond = node_text(m["guard.cond"][0])[1:-1]
    names = set(IDENT_RE.findall(cond))
    if not any(p in names for p, _ in fn.params):
        return
    body = m["guard.body"][0]
    alternative = node.child_by_field_name("alternative")
    parent = node.parent
    if alternative is not None:
        else_range = (alternative.start_byte, alternative.end_byte)
    elif leaves(body) and parent is not None:
        else_range = (node.end_byte, parent.end_byte)  # after `if (!on) return ...;`
    else:
        else_range = (0, 0)
    fn.branches.append((cond, body.start_byte, body.end_byte) + else_range)


def switches(fx: FileExtraction) -> None:
    """Record each case of a `switch` on a parameter as a branch: its statements run
    only when the parameter equals one of the labels that reach them (its own, and
    those of the cases above that fall through into it)."""
    for m in fx.m["switch"]:
        node = m["switch"][0]
        idx = fx.enclosing(node.start_byte)
        if idx < 0:
            continue
        fn = fx.facts.functions[idx]
        value = node_text(m["switch.cond"][0])[1:-1].strip()
        on_parameter = any(p in set(IDENT_RE.findall(value)) for p, _ in fn.params)
        cases = [c for c in m["switch.body"][0].named_children if c.type == "case_statement"]
        labels = [c.child_by_field_name("value") for c in cases]
        if any(lbl is None for lbl in labels[:-1]) and labels[-1] is not None:
            continue  # `default:` in the middle: leave the switch alone
        reaching: list[str] = []
        for case, label in zip(cases, labels):
            if label is None:  # default: none of the labels matched (unless fallen into)
                if reaching:
                    break
                others = " || ".join(f"({value}) == ({node_text(x)})" for x in labels if x is not None)
                if others:
                    if on_parameter:
                        fn.branches.append((f"!({others})", case.start_byte, case.end_byte, 0, 0))
                    fn.conditions.append((f"!({others})", case.start_byte, case.end_byte, 0, 0, EXIT_NONE, 0))
                break
            reaching.append(f"({value}) == ({node_text(label)})")
            if on_parameter:
                fn.branches.append((" || ".join(reaching), case.start_byte, case.end_byte, 0, 0))
            fn.conditions.append((" || ".join(reaching), case.start_byte, case.end_byte, 0, 0, EXIT_NONE, 0))
            if _case_leaves(case):
                reaching = []
        _validating_switch(fn, node, value, cases, labels)


def _validating_switch(fn, node, value: str, cases, labels) -> None:
    """A switch whose `default:` leaves the function (`return -EINVAL;`, a `goto`) and whose
    labels are all integer literals lets through only those values: after it, `value`
    lies between the smallest and the largest label, as after `if (value < 512 || value >
    4096) return -EINVAL;` (scsi_debug's check of its sector_size parameter at init)."""
    if not labels or labels[-1] is not None or not IDENT_RE.fullmatch(value.replace("->", "").replace(".", "")):
        return
    numbers = [parse_int_literal(node_text(label)) for label in labels[:-1]]
    if not numbers or any(n is None for n in numbers) or not _default_leaves(cases[-1]):
        return
    block = node.parent
    if block is None:
        return
    fn.guards.append(Guard(f"{value} < {min(numbers)} || {value} > {max(numbers)}", node.start_point[0] + 1,
                           node.end_byte, block.start_byte, block.end_byte))


def _default_leaves(case) -> bool:
    """Does the `default:` case (or a block in it) leave the function, return or goto,
    after nothing but expression statements (a pr_err())?"""
    for stmt in case.named_children:
        if stmt.type == "comment":
            continue
        if stmt.type in ("return_statement", "goto_statement"):
            return True
        if stmt.type == "compound_statement":
            return _default_leaves(stmt)
        if stmt.type != "expression_statement":
            return False
    return False

# --- lock states -----------------------------------------------------


def _case_leaves(case) -> bool:
    """Does a `case X: ...` end in break/return/goto/continue (no fall-through)?"""
    stmts = [c for c in case.named_children if c.type not in ("comment",)][1:]  # [0] is the label
    if not stmts:
        return False
    last = stmts[-1]
    if last.type == "compound_statement":
        inner = [c for c in last.named_children if c.type != "comment"]
        last = inner[-1] if inner else last
    return last.type in ("break_statement", "return_statement", "goto_statement", "continue_statement")





# state tests: name -> index of the tested argument (`atomic_inc_not_zero(&huge_zero_refcount)`)
_STATE_READERS = {"atomic_read": 0, "atomic_long_read": 0, "atomic_inc_not_zero": 0, "refcount_inc_not_zero": 0,
                  "kref_get_unless_zero": 0, "test_bit": 1}


def _state_test(cond, fn):
    """(state, tests_unset) for a condition that tests one field or global for being
    set: `!dev->stats`, `unlikely(!READ_ONCE(pool_populated))`, `x->flag & F`,
    `p == NULL`; None for anything else. State is (("field"|"global", name),)."""
    unset = False
    node = cond
    while True:
        while node.type == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
        if node.type == "unary_expression" and node_text(node.child_by_field_name("operator") or node)[:1] == "!":
            unset = not unset
            node = node.child_by_field_name("argument")
        elif node.type == "call_expression" and \
                node_text(node.child_by_field_name("function")) in contexts().transparent_calls:
            args = node.child_by_field_name("arguments")
            named = [a for a in args.named_children if a.type != "comment"] if args else []
            if len(named) != 1:
                return None
            node = named[0]
        elif node.type == "call_expression" and node_text(node.child_by_field_name("function")) in _STATE_READERS:
            args = node.child_by_field_name("arguments")
            named = [a for a in args.named_children if a.type != "comment"] if args else []
            index = _STATE_READERS[node_text(node.child_by_field_name("function"))]
            if len(named) <= index:
                return None
            node = named[index]
            if node.type == "pointer_expression" and node_text(node)[:1] == "&":
                node = node.child_by_field_name("argument")
            break
        elif node.type == "binary_expression":
            op = node_text(node.child_by_field_name("operator"))
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if op == "&" and right is not None and right.type in ("identifier", "number_literal", "call_expression"):
                node = left  # `x->flags & FLAG`: the state is x->flags
            elif op in ("==", "!=") and right is not None and node_text(right) in ("NULL", "0", "false"):
                unset = unset != (op == "==")
                node = left
            else:
                return None
        else:
            break
        if node is None:
            return None
    if node.type == "field_expression":
        field = node.child_by_field_name("field")
        return ((("field", node_text(field)),), unset) if field is not None else None
    if node.type == "identifier":
        name = node_text(node)
        if name in fn.locals or any(p == name for p, _ in fn.params) or name.isupper():
            return None
        return ((("global", name),), unset)
    return None


def _returns_success(body) -> bool:
    """Does this `if` body end in a return that says "already done" (`return 0;`,
    `return true;`, `return inode;`, `return dr->table;`) rather than an error?"""
    stmt = body
    if body.type == "compound_statement":
        stmts = [c for c in body.named_children if c.type != "comment"]
        stmt = stmts[-1] if stmts else None
    if stmt is None or stmt.type != "return_statement":
        return False
    values = [c for c in stmt.named_children if c.type != "comment"]
    if not values:
        return True
    value = values[0]
    text = node_text(value)
    if value.type == "number_literal":
        return not text.startswith("-")
    return value.type in ("true", "identifier", "field_expression") and not text.startswith("-E") and \
        not text.isupper()







def _upper_check(cond_node):
    """(variable, bound) of a condition `(x > C)`, `(x >= C)`, `(C < x)` or `(C <= x)` on
    a variable or field, comments inside it aside (`(len > MAX + 8 /* WEP */)`); else None."""
    parts = [c for c in cond_node.named_children if c.type != "comment"]
    inner = parts[0] if len(parts) == 1 else None
    if inner is None or inner.type != "binary_expression":
        return None
    op = inner.child_by_field_name("operator")
    left, right = inner.child_by_field_name("left"), inner.child_by_field_name("right")
    if op is None or left is None or right is None:
        return None
    op_text = node_text(op)
    if op_text in (">", ">="):
        var, bound = left, right
    elif op_text in ("<", "<="):
        var, bound = right, left
    else:
        return None
    if var.type not in ("identifier", "field_expression"):
        return None
    return var, bound


def _stores_into(stmt, target: str) -> bool:
    """Is the statement `target = ...;` (a plain store; `target` squashed)?"""
    if stmt.type != "expression_statement" or not stmt.named_children:
        return False
    expr = stmt.named_children[0]
    if expr.type != "assignment_expression":
        return False
    lhs, operator = expr.child_by_field_name("left"), expr.child_by_field_name("operator")
    return lhs is not None and operator is not None and node_text(operator) == "=" and squash(node_text(lhs)) == target


def _clamp_condition(cond_node, body) -> str | None:
    """For `if (x > C) { ...; x = ...; }` the condition `x > C` (as text), else None."""
    check = _upper_check(cond_node)
    if check is None:
        return None
    var, bound = check
    target = squash(node_text(var))
    stmts = [body] if body.type == "expression_statement" else (
        [c for c in body.named_children if c.type == "expression_statement"] if body.type == "compound_statement" else [])
    if any(_stores_into(stmt, target) for stmt in stmts):
        return f"{node_text(var)} > {node_text(bound)}"
    return None


def _clamped_or_left(cond_node, body) -> bool:
    """`if (w_length > RBUF_SIZE) { if (in) w_length = RBUF_SIZE; else return value; }`:
    every path through the body stores into what the condition compares or leaves, so
    after the `if` the comparison is false, as after a guard (gadgetfs' setup, hostap's
    frame length set to 0 in monitor mode and dropped otherwise)."""
    check = _upper_check(cond_node)
    return check is not None and _stores_or_leaves(body, squash(node_text(check[0])))


def _stores_or_leaves(node, target: str, depth: int = 0) -> bool:
    """Does every path through this statement store into `target` (plain `=`) or leave?"""
    if node is None or depth > 4:
        return False
    if _leaves_block(node):
        return True
    if node.type == "expression_statement":
        return _stores_into(node, target)
    if node.type == "compound_statement":
        stmts = [c for c in node.named_children if c.type != "comment"]
        return bool(stmts) and _stores_or_leaves(stmts[-1], target, depth + 1)
    if node.type == "if_statement":
        alternative = node.child_by_field_name("alternative")
        if alternative is not None and alternative.type == "else_clause":
            alternative = next((c for c in alternative.named_children if c.type != "comment"), None)
        return alternative is not None and _stores_or_leaves(node.child_by_field_name("consequence"), target,
                                                             depth + 1) \
            and _stores_or_leaves(alternative, target, depth + 1)
    return False


def _stores_only_literals(node, target_text: str) -> bool:
    """Does every assignment to `target_text` under node store a number literal?"""
    target = squash(target_text)
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "assignment_expression":
            lhs, rhs = n.child_by_field_name("left"), n.child_by_field_name("right")
            operator = n.child_by_field_name("operator")
            if lhs is not None and squash(node_text(lhs)) == target:
                if operator is None or node_text(operator) != "=" or rhs is None or rhs.type != "number_literal":
                    return False
        stack.extend(n.named_children)
    return True
