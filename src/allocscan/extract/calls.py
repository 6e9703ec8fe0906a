"""Calls: every call site in a function (callee or indirect field, argument text,
the argument IR for the calls the analyses read most), file-scope calls that
register callbacks, netlink policy limits and module parameters."""

from __future__ import annotations

from ..exprs import ir_from_node, split_args
from ..facts import CallSite, FunctionFacts, ModuleParam
from functools import lru_cache

from ..kernel.tables import allocators, inert_calls
from .file import FileExtraction
from .nodes import param_type, struct_of, node_text

@lru_cache(maxsize=1)
def _interesting_calls() -> frozenset[str]:
    """Calls whose arguments the analyses read often: IR computed eagerly. Only a
    speed-up: the analyses parse any other call's arguments from its text
    (CallSite.arguments()), so the entry-point and source tables may name more."""
    names = set(allocators())
    names |= {"module_param", "module_param_named", "module_param_array", "module_param_array_named",
              "module_param_cb", "kstrtoul", "kstrtouint", "kstrtoint", "kstrtol", "kstrtou32",
              "kstrtou16", "kstrtou8", "kstrtoull", "kstrtou64", "kstrtos32", "kstrtoint_from_user",
              "kstrtouint_from_user", "kstrtoul_from_user", "sscanf", "copy_from_user", "get_user",
              "__get_user", "nla_get_u8", "nla_get_u16", "nla_get_u32", "nla_get_u64", "nla_get_be16",
              "nla_get_be32", "le16_to_cpu", "le32_to_cpu", "be16_to_cpu", "be32_to_cpu",
              "usb_endpoint_maxp", "get_order", "memdup_user", "simple_write_to_buffer"}
    return frozenset(names)


# netlink policy macros that bound an attribute: name -> index of the upper-bound argument
_NLA_POLICY_LIMIT = {"NLA_POLICY_RANGE": 2, "NLA_POLICY_MAX": 1}


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
        if receiver is not None and receiver.type == "identifier" and fn is not None:
            site.receiver_type = struct_of(fn.locals.get(node_text(receiver)) or param_type(fn, node_text(receiver)))
        wants_ir = (callee in interesting or callee in lock_names or "GFP" in args_text
                    or (fn is not None and _passes_gfp_param(fn, args_text)))
        if wants_ir:
            site.args = tuple(ir_from_node(a) for a in args_node.named_children if a.type != "comment")
        site_key = node.start_byte
        site.byte = site_key
        if fn is None:
            f.top_calls.append(site)
            if callee in _NLA_POLICY_LIMIT:
                _netlink_limit(fx, node, callee, args_text)
        else:
            fn.calls.append(site)
        fx.call_bytes.append((site_key, site))


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
    index = _NLA_POLICY_LIMIT[callee]
    if attr and index < len(args):
        fx.facts.nla_limits.setdefault(attr, args[index].strip())

# --- assignments and bindings -----------------------------------------


def module_params(fx: FileExtraction) -> None:
    for site in fx.facts.top_calls:
        if not site.callee.startswith("module_param") or site.args is None:
            continue
        args = site.args
        texts = split_args(site.args_text)
        name = texts[0] if texts else ""
        if site.callee in ("module_param", "module_param_array") and len(texts) >= 3:
            fx.facts.module_params.append(ModuleParam(name, name, texts[1], texts[-1], site.line,
                                                        site.callee.endswith("array")))
        elif site.callee in ("module_param_named", "module_param_array_named") and len(texts) >= 4:
            fx.facts.module_params.append(ModuleParam(texts[1], name, texts[2], texts[-1], site.line,
                                                        site.callee.endswith("array_named")))
        elif site.callee == "module_param_cb" and len(texts) >= 4:
            var = args[2][1][1] if args[2][0] == "addr" and args[2][1][0] == "id" else ""
            if var:
                fx.facts.module_params.append(ModuleParam(var, name, "cb", texts[-1], site.line))

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
