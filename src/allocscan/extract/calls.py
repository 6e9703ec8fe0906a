"""Calls: every call site in a function (callee or indirect field, argument text,
the argument IR for the calls the analyses read most), file-scope calls that
register callbacks, netlink policy limits and module parameters."""

from __future__ import annotations

from ..exprs import args_ir, split_args
from ..facts import CallSite, FunctionFacts, ModuleParam
from ..kernel.tables import allocators, inert_calls, source_tables
from .file import FileExtraction
from .nodes import param_type, struct_of, node_text
from .stores import receiver_path


def _interesting_calls() -> frozenset[str]:
    """Calls whose arguments the analyses read often: IR computed eagerly. The
    allocators, and every call sources.toml names (the value analysis reads the
    same table). Only a speed-up: the analyses parse any other call's arguments
    from its text (CallSite.arguments())."""
    return source_tables().calls.union(allocators())


def calls(fx: FileExtraction) -> None:
    f = fx.facts
    interesting = _interesting_calls()
    lock_names = fx.ctx.lock_calls
    inert = inert_calls()
    macros = f.func_macros
    for m in fx.m["call"] + fx.m["call.indirect"]:
        args_node = m["call.args"][0]
        if "call" in m:
            node = m["call"][0]
            callee = node_text(m["call.name"][0])
            if callee in inert or (callee in macros and callee not in interesting and callee not in lock_names):
                continue  # never allocates, sleeps or registers; or a macro expanded in this file
            field = ""
            receiver = None
        else:
            node = m["call.indirect"][0]
            callee = ""
            field = node_text(m["call.field"][0])
            receiver = m["call.receiver"][0]
        args_text = node_text(args_node)[1:-1]
        start = node.start_point
        end = node.end_point
        site = CallSite(
            callee=callee, line=start[0] + 1, col=start[1] + 1,
            end_col=(end[1] + 1) if end[0] == start[0] else start[1] + 1 + len(node_text(node).split("\n", 1)[0]),
            args_text=args_text, field=field,
        )
        idx = fx.enclosing(node.start_byte)
        fn = f.functions[idx] if idx >= 0 else None
        if receiver is not None and fn is not None:
            site.receiver_type = _receiver_type(fx, fn, receiver)
        wants_ir = (callee in interesting or callee in lock_names or "GFP" in args_text
                    or (fn is not None and _passes_gfp_param(fn, args_text)))
        if wants_ir:
            site.args = args_ir(args_node)
        site_key = node.start_byte
        site.byte = site_key
        if fn is None:
            f.top_calls.append(site)
            if callee in source_tables().netlink_policies:
                _netlink_limit(fx, node, callee, args_text)
        else:
            fn.calls.append(site)
        fx.call_bytes.append((site_key, site))


def _receiver_type(fx: FileExtraction, fn: FunctionFacts, receiver) -> str:
    """The struct type of an indirect call's receiver (`ops` in `ops->start(dev)`), or,
    when the struct definitions in headers decide it, its access path for the link to
    resolve (`priv->hw_ops` in `priv->hw_ops->reset(priv)`, `hw->mac.ops`, a variable
    of a typedef'd type): stores.receiver_path()'s form, RECEIVER_MARK between the root's
    type and the members. '' when the root is not a typed variable (a call's result)."""
    if receiver.type == "identifier":
        typed = struct_of(fn.locals.get(node_text(receiver)) or param_type(fn, node_text(receiver)))
        if typed:
            return typed
    return receiver_path(fx, fn, receiver)


def _netlink_limit(fx: FileExtraction, node, callee: str, args_text: str) -> None:
    """`[ATTR] = NLA_POLICY_RANGE(NLA_U32, 1, MAX)` in a policy table: netlink
    validates ATTR against MAX before any handler reads it."""
    parent = node.parent
    if parent is None or parent.type != "initializer_pair":
        return
    designator = parent.named_children[0] if parent.named_children else None
    if designator is None or designator.type != "subscript_designator":
        return
    attr = node_text(designator)[1:-1].strip()
    args = split_args(args_text)
    index = source_tables().netlink_policies[callee]
    if attr and index < len(args):
        fx.facts.nla_limits.setdefault(attr, args[index].strip())

# --- assignments and bindings -----------------------------------------


def module_params(fx: FileExtraction) -> None:
    """`module_param(buflen, uint, 0644)` and the other forms sources.toml lists."""
    forms = source_tables().module_param_forms
    for site in fx.facts.top_calls:
        form = forms.get(site.callee)
        if form is None or site.args is None:
            continue
        texts = split_args(site.args_text)
        if len(texts) < form.min_args:
            continue
        if form.variable_address is not None:
            arg = site.args[form.variable_address]
            var = arg[1][1] if arg[0] == "addr" and arg[1][0] == "id" else ""
        else:
            var = texts[form.variable]
        type_name = texts[form.type] if isinstance(form.type, int) else form.type
        if var:
            fx.facts.module_params.append(ModuleParam(var, texts[form.name], type_name, texts[form.perm], site.line,
                                                        form.array))

# --- suppression comments ---------------------------------------------


def _passes_gfp_param(fn: FunctionFacts, args_text: str) -> bool:
    """Does the argument text mention one of the function's gfp_t parameters/locals?"""
    for pname, ptype in fn.params:
        if ptype in ("gfp_t", "unsigned int gfp_t") and pname and pname in args_text:
            return True
    for lname, ltype in fn.locals.items():
        if ltype == "gfp_t" and lname in args_text:
            return True
    return False
