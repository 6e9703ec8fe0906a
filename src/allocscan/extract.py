"""Extract: one source file in, one `FileFacts` out (pure, no global state).

The queries in `queries/*.scm` find every definition, call, assignment,
declaration, macro and enumeration natively; Python only visits the matches.
The flow-sensitive lock walk (`lockflow`) runs over the functions that contain
a lock-family call. Arguments are turned into the expression IR only for the
calls the analyses read most (allocators, user-input sources, calls passing a gfp, ...);
the others keep their argument text, which `exprs.ir_from_text` parses on demand.
"""

from __future__ import annotations

import bisect
from functools import lru_cache
import hashlib
import re

from . import treesitter as ts
from .exprs import IDENT_RE, ir_from_node, parse_int_literal, split_args, squash, squash_type
from .facts import (
    CALLS_ALLOCATOR, CALLS_REGISTRAR, HAS_GFP_PARAM, Assignment, Binding, CallSite, FileFacts, FunctionFacts,
    Guard, ModuleParam, StructDef, StructMember, Suppression, names_blocking_test,
)
from .kernel.tables import allocators, contexts, inert_calls
from .lockflow import Summary, analyze_function
from .masking import mask_source


class InputError(Exception):
    """A file that cannot be read as C source (binary, bad encoding...)."""


# A #define worth keeping for value and gfp evaluation: an expression, not a
# string, statement, attribute or empty include guard.
_VALUE_DEFINE_RE = re.compile(r"^[\w\s()+\-*/%<>|&~^?:,.\[\]]+$")
_SUPPRESS_RE = re.compile(r"allocscan:\s*ignore\b([^\n*]*)")


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


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def decode_source(path: str, data: bytes) -> str:
    """Decode a C file, refusing binaries and invalid UTF-8 (one clear reason)."""
    if b"\0" in data[:8192]:
        raise InputError(f"{path}: binary file, not C source")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: invalid UTF-8 (byte 0x{data[err.start]:02x}); file skipped") from None


# netlink policy macros that bound an attribute: name -> index of the upper-bound argument
_NLA_POLICY_LIMIT = {"NLA_POLICY_RANGE": 2, "NLA_POLICY_MAX": 1}


def extract_file(path: str, data: bytes) -> FileFacts:
    """Parse `data` (the content of `path`) and return its facts."""
    text = decode_source(path, data)
    masked = mask_source(text)
    src = masked.text.encode("utf-8")
    tree = ts.parser().parse(src)
    root = tree.root_node
    facts = FileFacts(path=path, sha=hashlib.sha1(data).hexdigest())
    if root.type != "translation_unit":
        raise InputError(f"{path}: tree-sitter could not parse this file")

    ex = _Extractor(facts, root, masked, text)
    ex.run()
    facts.pack()
    mark_table_calls(facts)
    return facts


def mark_table_calls(facts: FileFacts) -> None:
    """Flag the functions the analyses look for by name, so that a whole-tree scan
    finds them without comparing every function's callees with the tables."""
    allocating = allocators().keys()
    registering = contexts().registrations.keys()
    for fn in facts.functions:
        if not allocating.isdisjoint(fn.callees):
            fn.flags |= CALLS_ALLOCATOR
        if not registering.isdisjoint(fn.callees):
            fn.flags |= CALLS_REGISTRAR
        if any("gfp_t" in typ for _, typ in fn.params):
            fn.flags |= HAS_GFP_PARAM


class _Extractor:
    def __init__(self, facts: FileFacts, root, masked, original: str):
        self.facts = facts
        self.root = root
        self.masked = masked
        self.original = original
        self.fn_nodes: list = []  # body nodes, parallel to facts.functions
        self.fn_starts: list[int] = []
        self.ctx = contexts()
        self.m = ts.bucketed_matches(root)
        self._call_bytes: list[tuple[int, CallSite]] = []  # (start byte, site) for the lock walk

    # --- driver ----------------------------------------------------------
    def run(self) -> None:
        self.toplevel()
        self.functions()
        self.declarations()
        self.calls()
        self.assignments()
        self.guards()
        self.switches()
        self.lock_states()
        self.module_params()
        self.suppressions()
        # After extraction, file-scope calls are read only as callback registrations
        # (DEFINE_TIMER, ...): EXPORT_SYMBOL(), MODULE_*() and the like are not kept.
        self.facts.top_calls = [s for s in self.facts.top_calls if s.callee in self.ctx.registrations]

    def enclosing(self, byte: int) -> int:
        """Index of the function whose body contains `byte`, or -1."""
        i = bisect.bisect_right(self.fn_starts, byte) - 1
        if i >= 0 and byte < self.facts.functions[i].end_byte:
            return i
        return -1

    # --- macros, enums, errors ------------------------------------------
    def toplevel(self) -> None:
        f = self.facts
        f.error_nodes = len(self.m["error"])
        for m in self.m["define"] + self.m["macro"] + self.m["enum.list"]:
            if "define.name" in m:
                name = _text(m["define.name"][0])
                value = m.get("define.value")
                body = _text(value[0]).strip() if value else ""
                body = body.replace("\\\n", " ")
                if body and _VALUE_DEFINE_RE.match(body):
                    f.defines.setdefault(name, body)
            elif "macro.name" in m:
                name = _text(m["macro.name"][0])
                params = tuple(p.strip() for p in _text(m["macro.params"][0])[1:-1].split(",") if p.strip())
                value = m.get("macro.value")
                body = _text(value[0]).replace("\\\n", " ").strip() if value else ""
                f.func_macros.setdefault(name, (params, body))
            elif "enum.list" in m:
                self.enum_list(m["enum.list"][0])

    def enum_list(self, node) -> None:
        prev: tuple | None = None
        for child in node.named_children:
            if child.type != "enumerator":
                continue
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
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
            self.facts.enums.setdefault(_text(name), ir)
            prev = ir

    # --- functions -------------------------------------------------------
    def functions(self) -> None:
        found = []
        for m in self.m["function"]:
            fn = m["function"][0]
            decl = m["function.declarator"][0]
            body = m["function.body"][0]
            fdecl = _function_declarator(decl)
            if fdecl is None:
                continue
            name_node = fdecl.child_by_field_name("declarator")
            if name_node is None or name_node.type != "identifier":
                continue
            params = _params(fdecl.child_by_field_name("parameters"))
            is_static = any(c.type == "storage_class_specifier" and _text(c) == "static" for c in fn.children)
            facts = FunctionFacts(
                name=_text(name_node), is_static=is_static,
                line=fn.start_point[0] + 1, end_line=fn.end_point[0] + 1,
                params=params, has_error=fn.has_error,
                start_byte=body.start_byte, end_byte=body.end_byte,
            )
            found.append((body.start_byte, facts, body, fn.start_byte))
        found.sort(key=lambda x: x[0])
        # Lock annotations sit between the function's start and its body.
        annotations = sorted(self.masked.lock_annotations)
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
            self.facts.functions.append(facts)
            self.fn_nodes.append(body)
            self.fn_starts.append(body.start_byte)

    # --- declarations, structs, typedefs ---------------------------------
    def declarations(self) -> None:
        f = self.facts
        for m in self.m["decl"] + self.m["struct"] + self.m["union"] + self.m["typedef"]:
            if "decl" in m:
                decl_node = m["decl"][0]
                type_text = squash_type(_text(m["decl.type"][0]))
                declarator = m["decl.declarator"][0]
                name, pointer, _dims = _declarator_name(declarator)
                if not name:
                    continue
                full_type = type_text + "*" * pointer
                idx = self.enclosing(decl_node.start_byte)
                if idx >= 0:
                    f.functions[idx].locals.setdefault(name, full_type)
                elif decl_node.parent is not None and decl_node.parent.type in ("translation_unit", "preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"):
                    f.global_types.setdefault(name, full_type)
                    if declarator.type == "init_declarator":
                        value = declarator.child_by_field_name("value")
                        if value is not None and value.type != "initializer_list":
                            f.globals.setdefault(name, ir_from_node(value))
            elif "struct" in m or "union" in m:
                node = (m.get("struct") or m.get("union"))[0]
                self.struct(node, _text(m["struct.name"][0]), m["struct.body"][0], "union" in m)
            elif "typedef" in m:
                type_node = m["typedef.type"][0]
                declarator = m["typedef.declarator"][0]
                name, pointer, _ = _declarator_name(declarator)
                if name:
                    base = squash_type(_text(type_node)) if type_node.type != "struct_specifier" or type_node.child_by_field_name("name") else ""
                    if type_node.type in ("struct_specifier", "union_specifier"):
                        tag = type_node.child_by_field_name("name")
                        kind = "struct" if type_node.type == "struct_specifier" else "union"
                        if tag is not None:
                            base = f"{kind} {_text(tag)}"
                        else:
                            # typedef struct { ... } name_t; : record the body under the alias.
                            body = type_node.child_by_field_name("body")
                            if body is not None:
                                self.struct(type_node, name, body, kind == "union")
                            base = f"{kind} {name}"
                    f.typedefs.setdefault(name, base + "*" * pointer)

    def struct(self, node, name: str, body, is_union: bool) -> None:
        members: list[StructMember] = []
        for fd in body.named_children:
            if fd.type != "field_declaration":
                continue
            type_node = fd.child_by_field_name("type")
            if type_node is None:
                continue
            if type_node.type in ("struct_specifier", "union_specifier") and type_node.child_by_field_name("body") is not None:
                # Anonymous or nested inline definition: lay it out under a synthetic name.
                tag = type_node.child_by_field_name("name")
                inner_union = type_node.type == "union_specifier"
                inner_name = _text(tag) if tag is not None else f"{name}::anon@{type_node.start_byte}"
                self.struct(type_node, inner_name, type_node.child_by_field_name("body"), inner_union)
                base = ("union " if inner_union else "struct ") + inner_name
            else:
                base = squash_type(_text(type_node))
            declarators = [c for c in fd.children_by_field_name("declarator")]
            bits = None
            for c in fd.named_children:
                if c.type == "bitfield_clause":
                    lit = c.named_children[0] if c.named_children else None
                    bits = parse_int_literal(_text(lit)) if lit is not None else None
            if not declarators:
                members.append(StructMember("", base, False, (), bits))
                continue
            for d in declarators:
                mname, pointer, dims = _declarator_name(d)
                members.append(StructMember(mname, base + "*" * max(pointer - 1, 0), pointer > 0, dims, bits))
        packed = "__packed" in self.original[body.end_byte:body.end_byte + 40].split(";")[0] or \
            "packed" in self.original[body.end_byte:body.end_byte + 60].split(";")[0]
        self.facts.structs.append(StructDef(name, is_union, tuple(members), node.start_point[0] + 1, packed))

    # --- calls -------------------------------------------------------------
    def calls(self) -> None:
        f = self.facts
        interesting = _interesting_calls()
        lock_names = self.ctx.lock_calls
        inert = inert_calls()
        macros = f.func_macros
        for m in self.m["call"] + self.m["call.indirect"]:
            args_node = m["call.args"][0]
            if "call" in m:
                node = m["call"][0]
                callee = _text(m["call.name"][0])
                if callee in inert or (callee in macros and callee not in interesting and callee not in lock_names):
                    continue  # never allocates, sleeps or registers; or a macro expanded in this file
                field = ""
                receiver = None
            else:
                node = m["call.indirect"][0]
                callee = ""
                field = _text(m["call.field"][0])
                receiver = m["call.receiver"][0]
            args_text = _text(args_node)[1:-1]
            start = node.start_point
            end = node.end_point
            site = CallSite(
                callee=callee, line=start[0] + 1, col=start[1] + 1,
                end_col=(end[1] + 1) if end[0] == start[0] else start[1] + 1 + len(_text(node).split("\n", 1)[0]),
                args_text=args_text, field=field,
            )
            idx = self.enclosing(node.start_byte)
            fn = f.functions[idx] if idx >= 0 else None
            if receiver is not None and receiver.type == "identifier" and fn is not None:
                site.receiver_type = _struct_of(fn.locals.get(_text(receiver)) or _param_type(fn, _text(receiver)))
            wants_ir = (callee in interesting or callee in lock_names or "GFP" in args_text
                        or (fn is not None and _passes_gfp_param(fn, args_text)))
            if wants_ir:
                site.args = tuple(ir_from_node(a) for a in args_node.named_children if a.type != "comment")
            site_key = node.start_byte
            site.byte = site_key
            if fn is None:
                f.top_calls.append(site)
                if callee in _NLA_POLICY_LIMIT:
                    self._netlink_limit(node, callee, args_text)
            else:
                fn.calls.append(site)
            self._call_bytes.append((site_key, site))

    def _netlink_limit(self, node, callee: str, args_text: str) -> None:
        """`[ATTR] = NLA_POLICY_RANGE(NLA_U32, 1, MAX)` in a policy table: netlink
        validates ATTR against MAX before any handler reads it."""
        parent = node.parent
        if parent is None or parent.type != "initializer_pair":
            return
        designator = parent.named_children[0] if parent.named_children else None
        if designator is None or designator.type != "subscript_designator":
            return
        attr = _text(designator)[1:-1].strip()
        args = split_args(args_text)
        index = _NLA_POLICY_LIMIT[callee]
        if attr and index < len(args):
            self.facts.nla_limits.setdefault(attr, args[index].strip())

    # --- assignments and bindings -----------------------------------------
    def assignments(self) -> None:
        f = self.facts
        for m in self.m["call"]:
            # WRITE_ONCE(x->f, v), smp_store_release(&x->f, v), atomic_set(&x->f, v),
            # set_bit(N, &x->f) are stores to x->f
            positions = _STORE_MACROS.get(_text(m["call.name"][0]))
            if positions is None:
                continue
            node = m["call"][0]
            idx = self.enclosing(node.start_byte)
            args = [a for a in m["call.args"][0].named_children if a.type != "comment"]
            if idx < 0 or len(args) != 2:
                continue
            target, value = args[positions[0]], args[positions[1]]
            if target.type == "pointer_expression" and _text(target.child_by_field_name("operator") or target) == "&":
                target = target.child_by_field_name("argument")
            if target is not None and target.type in ("identifier", "field_expression"):
                self._assignment(f.functions[idx], target, value, "=", node)
        for m in self.m["assign"] + self.m["init"] + self.m["bind"]:
            if "assign" in m:
                node = m["assign"][0]
                idx = self.enclosing(node.start_byte)
                if idx < 0:
                    continue
                fn = f.functions[idx]
                left = m["assign.left"][0]
                right = m["assign.right"][0]
                op = _text(m["assign.op"][0])
                self._assignment(fn, left, right, op, node)
            elif "init" in m:
                node = m["init"][0]
                idx = self.enclosing(node.start_byte)
                if idx < 0:
                    continue
                name, _, _ = _declarator_name(m["init.declarator"][0])
                value = m["init.value"][0]
                if name and value.type != "initializer_list":
                    f.functions[idx].assignments.append(
                        Assignment("local", name, "", _text(value), node.start_point[0] + 1, "=", node.start_byte))
            elif "bind" in m:
                node = m["bind"][0]
                value = m["bind.value"][0]
                if value.type == "pointer_expression":
                    arg = value.child_by_field_name("argument")
                    if arg is None or arg.type != "identifier":
                        continue
                    value = arg
                fname = _text(value)
                struct_type = _initializer_struct(node)
                idx = self.enclosing(node.start_byte)
                f.bindings.append(Binding(struct_type, _text(m["bind.field"][0]), fname,
                                          node.start_point[0] + 1, f.functions[idx].name if idx >= 0 else ""))

    def _assignment(self, fn: FunctionFacts, left, right, op: str, node) -> None:
        line = node.start_point[0] + 1
        if left.type == "identifier":
            name = _text(left)
            kind = "local" if (name in fn.locals or any(p == name for p, _ in fn.params)) else "global"
            fn.assignments.append(Assignment(kind, name, "", _text(right), line, op, node.start_byte))
        elif left.type == "field_expression":
            fld = left.child_by_field_name("field")
            base = left.child_by_field_name("argument")
            if fld is None:
                return
            struct_type = ""
            if base is not None and base.type == "identifier":
                struct_type = _struct_of(fn.locals.get(_text(base)) or _param_type(fn, _text(base)))
            block = _statement_block(node)
            fn.assignments.append(Assignment("field", _text(fld), struct_type, _text(right), line, op, node.start_byte,
                                             op == "=" and _lowers(node, left, right),
                                             squash(_text(base)) if base is not None else "",
                                             block.start_byte if block is not None else 0,
                                             block.end_byte if block is not None else 0))
            target = right
            if target.type == "pointer_expression":
                target = target.child_by_field_name("argument")
            if target is not None and target.type == "identifier" and op == "=":
                name = _text(target)
                if name not in fn.locals and all(p != name for p, _ in fn.params):
                    self.facts.bindings.append(Binding(struct_type, _text(fld), name, line, fn.name))

    # --- guards ----------------------------------------------------------------
    def guards(self) -> None:
        for m in self.m["guard"]:
            node = m["guard"][0]
            self._branch_on_parameter(m)
            self._one_time_setup(m)
            cond = _text(m["guard.cond"][0])[1:-1]
            alternative = node.child_by_field_name("alternative")
            if alternative is not None:
                # `if (n > MAX) { pr_err(...); n = MAX; } else if (!n) { n = 1; }`: a clamp
                # when the other branches store nothing but literals into n (vhost-scsi)
                clamp = _clamp_condition(m["guard.cond"][0], m["guard.body"][0])
                if clamp is None or not _stores_only_literals(alternative, clamp.partition(" > ")[0]):
                    continue
                cond = clamp
            elif not _leaves(m["guard.body"][0]):
                # `if (len > MAX) len = MAX;` clamps: after it, len <= MAX as after a guard.
                clamp = _clamp_condition(m["guard.cond"][0], m["guard.body"][0])
                if clamp is None:
                    continue
                cond = clamp
            if not any(op in cond.replace("->", ".") for op in ("<", ">", "==", "!")) and \
                    not names_blocking_test(cond):
                # `if (ret) return ret;` bounds nothing; `if (gfp & __GFP_DIRECT_RECLAIM)
                # return ...;` keeps the masks that may block from what follows
                continue
            idx = self.enclosing(node.start_byte)
            parent = node.parent
            if idx < 0 or parent is None:
                continue
            self.facts.functions[idx].guards.append(Guard(
                cond, node.start_point[0] + 1, node.end_byte, parent.start_byte, parent.end_byte))

    def _one_time_setup(self, m) -> None:
        """Record code that runs only while a field or global is unset: the body of
        `if (!vdev->stats) {...}` (no else), or what follows an early success return
        `if (mhba->fw_flag & FW_ALLOC) return 0;`. The context analysis decides
        whether the function sets that state there (then it is one-time set-up)."""
        node = m["guard"][0]
        idx = self.enclosing(node.start_byte)
        if idx < 0:
            return
        fn = self.facts.functions[idx]
        found = _state_test(m["guard.cond"][0], fn)
        if found is None:
            return
        state, unset = found
        body = m["guard.body"][0]
        if node.child_by_field_name("alternative") is not None:
            return
        if _leaves(body) and _returns_success(body):
            region = (node.end_byte, fn.end_byte)  # `if (done) return 0;` (or `if (!new) return inode;`)
        elif unset:
            region = (body.start_byte, body.end_byte)  # `if (!dev->stats) { ... }`
        else:
            return
        fn.once = fn.once + (region + (state,),)

    def _branch_on_parameter(self, m) -> None:
        """Record an `if` whose condition reads a parameter: a caller passing a constant
        (`fasync_helper(fd, filp, 0, ...)`, `set_rx_mode(dev, false)`) may make one
        of its branches dead, and the calls in it unreachable from that caller."""
        node = m["guard"][0]
        idx = self.enclosing(node.start_byte)
        if idx < 0:
            return
        fn = self.facts.functions[idx]
        cond = _text(m["guard.cond"][0])[1:-1]
        names = set(IDENT_RE.findall(cond))
        if not any(p in names for p, _ in fn.params):
            return
        body = m["guard.body"][0]
        alternative = node.child_by_field_name("alternative")
        parent = node.parent
        if alternative is not None:
            else_range = (alternative.start_byte, alternative.end_byte)
        elif _leaves(body) and parent is not None:
            else_range = (node.end_byte, parent.end_byte)  # after `if (!on) return ...;`
        else:
            else_range = (0, 0)
        fn.branches.append((cond, body.start_byte, body.end_byte) + else_range)

    def switches(self) -> None:
        """Record each case of a `switch` on a parameter as a branch: its statements run
        only when the parameter equals one of the labels that reach them (its own, and
        those of the cases above that fall through into it)."""
        for m in self.m["switch"]:
            node = m["switch"][0]
            idx = self.enclosing(node.start_byte)
            if idx < 0:
                continue
            fn = self.facts.functions[idx]
            value = _text(m["switch.cond"][0])[1:-1].strip()
            if not any(p in set(IDENT_RE.findall(value)) for p, _ in fn.params):
                continue
            cases = [c for c in m["switch.body"][0].named_children if c.type == "case_statement"]
            labels = [c.child_by_field_name("value") for c in cases]
            if any(lbl is None for lbl in labels[:-1]) and labels[-1] is not None:
                continue  # `default:` in the middle: leave the switch alone
            reaching: list[str] = []
            for case, label in zip(cases, labels):
                if label is None:  # default: none of the labels matched (unless fallen into)
                    if reaching:
                        break
                    others = " || ".join(f"({value}) == ({_text(x)})" for x in labels if x is not None)
                    if others:
                        fn.branches.append((f"!({others})", case.start_byte, case.end_byte, 0, 0))
                    break
                reaching.append(f"({value}) == ({_text(label)})")
                fn.branches.append((" || ".join(reaching), case.start_byte, case.end_byte, 0, 0))
                if _case_leaves(case):
                    reaching = []

    # --- lock states -----------------------------------------------------
    def lock_states(self) -> None:
        """Walk the functions that touch locks; annotate their call sites."""
        lock_names = self.ctx.lock_calls
        scoped = self.masked.scoped_guards
        scoped_starts = sorted(scoped)
        call_by_byte = dict(self._call_bytes)
        summaries: dict[str, Summary] = {}
        walked: set[int] = set()
        # `__must_hold(x)` also annotates mutexes and refcounts: trust it only for
        # a lock expression this file passes to a spinlock-family call.
        spin_keys = {squash(_first_arg(c.args_text)) for f in self.facts.functions for c in f.calls
                     if c.callee in self.ctx.acquire and self.ctx.acquire[c.callee][0] == "spin"}
        for fn in self.facts.functions:
            fn.entry_locks = tuple(a for a in fn.entry_locks if _annotation_token(a)[1] in spin_keys)
        for i, fn in enumerate(self.facts.functions):
            if not (fn.entry_locks or (scoped_starts and _any_in(scoped_starts, fn.start_byte, fn.end_byte))
                    or any(c.callee in lock_names or c.callee == "guard" for c in fn.calls)):
                continue
            entry = [(_annotation_token(a), a) for a in fn.entry_locks]
            result = analyze_function(self.fn_nodes[i], entry, {}, scoped)
            self._apply_states(fn, result, call_by_byte)
            fn.lock_releases = result.summary.releases
            walked.add(i)
            if result.summary.acquires or result.summary.releases:
                summaries[fn.name] = result.summary
        if not summaries:
            return
        # Second round: callers of same-file wrappers that take or drop a lock
        # (`foo_lock(dev)`, `unlock_and_free(x)`) see the wrapper's effect.
        for i, fn in enumerate(self.facts.functions):
            if any(c.callee in summaries for c in fn.calls):
                entry = [(_annotation_token(a), a) for a in fn.entry_locks]
                result = analyze_function(self.fn_nodes[i], entry, summaries, scoped)
                self._apply_states(fn, result, call_by_byte)
                # tg3_restart_hw() calls tg3_full_unlock() ... tg3_full_lock(): it drops its
                # caller's lock through the wrappers, and what it calls meanwhile is unlocked.
                fn.lock_releases = tuple(sorted(set(fn.lock_releases) | set(result.summary.releases)))

    def _apply_states(self, fn: FunctionFacts, result, call_by_byte: dict[int, CallSite]) -> None:
        info = result.info
        for byte, state in result.at_call.items():
            site = call_by_byte.get(byte)
            if site is None or state is None:
                continue
            must, may = state
            site.locks = (tuple(sorted(info[t][0] for t in must)), tuple(sorted(info[t][0] for t in may - must)))
            site.lock_sites = tuple(sorted(info[t] for t in may))
            site.lock_conds = result.conds_at_call.get(byte, ())

    # --- module parameters -------------------------------------------------
    def module_params(self) -> None:
        for site in self.facts.top_calls:
            if not site.callee.startswith("module_param") or site.args is None:
                continue
            args = site.args
            texts = split_args(site.args_text)
            name = texts[0] if texts else ""
            if site.callee in ("module_param", "module_param_array") and len(texts) >= 3:
                self.facts.module_params.append(ModuleParam(name, name, texts[1], texts[-1], site.line,
                                                            site.callee.endswith("array")))
            elif site.callee in ("module_param_named", "module_param_array_named") and len(texts) >= 4:
                self.facts.module_params.append(ModuleParam(texts[1], name, texts[2], texts[-1], site.line,
                                                            site.callee.endswith("array_named")))
            elif site.callee == "module_param_cb" and len(texts) >= 4:
                var = args[2][1][1] if args[2][0] == "addr" and args[2][1][0] == "id" else ""
                if var:
                    self.facts.module_params.append(ModuleParam(var, name, "cb", texts[-1], site.line))

    # --- suppression comments ---------------------------------------------
    def suppressions(self) -> None:
        if "allocscan" not in self.original:
            return
        for m in _SUPPRESS_RE.finditer(self.original):
            line = self.original.count("\n", 0, m.start()) + 1
            rest = m.group(1).strip()
            rules = tuple(re.findall(r"\bAS\d{3}\b", rest))
            reason = re.sub(r"^[\sAS0-9,]*[-\u2014:]*\s*", "", rest).strip()
            self.facts.suppressions.append(Suppression(line, rules, reason))


# --- helpers on nodes -----------------------------------------------------

def _function_declarator(decl):
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


def _params(plist) -> tuple[tuple[str, str], ...]:
    if plist is None:
        return ()
    out = []
    for p in plist.named_children:
        if p.type != "parameter_declaration":
            continue
        type_node = p.child_by_field_name("type")
        decl = p.child_by_field_name("declarator")
        type_text = squash_type(_text(type_node)) if type_node is not None else ""
        if decl is None:
            if type_text != "void":
                out.append(("", type_text))
            continue
        name, pointer, _ = _declarator_name(decl)
        out.append((name, type_text + "*" * pointer))
    return tuple(out)


def _declarator_name(node) -> tuple[str, int, tuple]:
    """(name, pointer depth, array dimensions IR) of a declarator (`**p` has depth 2)."""
    pointer = 0
    dims: list[tuple] = []
    for _ in range(12):
        if node is None:
            return "", pointer, tuple(dims)
        t = node.type
        if t in ("identifier", "field_identifier", "type_identifier"):
            return _text(node), pointer, tuple(dims)
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
            node = node.child_by_field_name("declarator") or (node.named_children[0] if node.named_children else None)
        else:
            return "", pointer, tuple(dims)
    return "", pointer, tuple(dims)


def _param_type(fn: FunctionFacts, name: str) -> str:
    for pname, ptype in fn.params:
        if pname == name:
            return ptype
    return ""


def _struct_of(type_text: str | None) -> str:
    """`struct foo*` -> `foo`; other types -> ''."""
    if not type_text:
        return ""
    t = type_text.replace("*", "").strip()
    if t.startswith("struct ") or t.startswith("union "):
        return t.split(" ", 1)[1].strip()
    return ""


def _initializer_struct(pair) -> str:
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
                return _text(name) if name is not None else ""
            return ""
        if node.type == "compound_literal_expression":
            type_node = node.child_by_field_name("type")
            return _struct_of(_text(type_node)) if type_node is not None else ""
        node = node.parent
    return ""


def _passes_gfp_param(fn: FunctionFacts, args_text: str) -> bool:
    """Does the argument text mention one of the function's gfp_t parameters/locals?"""
    for pname, ptype in fn.params:
        if ptype in ("gfp_t", "unsigned int gfp_t") and pname and pname in args_text:
            return True
    for lname, ltype in fn.locals.items():
        if ltype == "gfp_t" and lname in args_text:
            return True
    return False


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


def _leaves(body) -> bool:
    """Does this `if` body always leave (return or goto), so code after it is guarded?"""
    if body.type in ("return_statement", "goto_statement"):
        return True
    if body.type == "compound_statement":
        stmts = [c for c in body.named_children if c.type != "comment"]
        return bool(stmts) and stmts[-1].type in ("return_statement", "goto_statement")
    return False


_TRANSPARENT_CALLS = ("likely", "unlikely", "READ_ONCE", "data_race")
# store helpers: name -> (index of the stored-to argument, index of the value)
_STORE_MACROS = {"WRITE_ONCE": (0, 1), "smp_store_release": (0, 1), "atomic_set": (0, 1),
                 "atomic_long_set": (0, 1), "refcount_set": (0, 1), "set_bit": (1, 0), "__set_bit": (1, 0)}
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
        if node.type == "unary_expression" and _text(node.child_by_field_name("operator") or node)[:1] == "!":
            unset = not unset
            node = node.child_by_field_name("argument")
        elif node.type == "call_expression" and _text(node.child_by_field_name("function")) in _TRANSPARENT_CALLS:
            args = node.child_by_field_name("arguments")
            named = [a for a in args.named_children if a.type != "comment"] if args else []
            if len(named) != 1:
                return None
            node = named[0]
        elif node.type == "call_expression" and _text(node.child_by_field_name("function")) in _STATE_READERS:
            args = node.child_by_field_name("arguments")
            named = [a for a in args.named_children if a.type != "comment"] if args else []
            index = _STATE_READERS[_text(node.child_by_field_name("function"))]
            if len(named) <= index:
                return None
            node = named[index]
            if node.type == "pointer_expression" and _text(node)[:1] == "&":
                node = node.child_by_field_name("argument")
            break
        elif node.type == "binary_expression":
            op = _text(node.child_by_field_name("operator"))
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if op == "&" and right is not None and right.type in ("identifier", "number_literal", "call_expression"):
                node = left  # `x->flags & FLAG`: the state is x->flags
            elif op in ("==", "!=") and right is not None and _text(right) in ("NULL", "0", "false"):
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
        return ((("field", _text(field)),), unset) if field is not None else None
    if node.type == "identifier":
        name = _text(node)
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
    text = _text(value)
    if value.type == "number_literal":
        return not text.startswith("-")
    return value.type in ("true", "identifier", "field_expression") and not text.startswith("-E") and \
        not text.isupper()


def _statement_block(node):
    """The `{ ... }` block whose statement is this assignment (`x->f = v;`), or None
    when the assignment sits inside a larger expression or condition."""
    stmt = node.parent
    if stmt is None or stmt.type != "expression_statement":
        return None
    block = stmt.parent
    return block if block is not None and block.type == "compound_statement" else None


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
    target, value = squash(_text(left)), squash(_text(right))
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
            o = _text(op)
            if o == "&&":
                stack.extend((a, b))
            elif (o in (">", ">=") and squash(_text(a)) == target and squash(_text(b)) == value) or \
                    (o in ("<", "<=") and squash(_text(a)) == value and squash(_text(b)) == target):
                return True
    return False


def _clamp_condition(cond_node, body) -> str | None:
    """For `if (x > C) { ...; x = ...; }` the condition `x > C` (as text), else None."""
    inner = cond_node.named_children[0] if cond_node.named_child_count == 1 else None
    if inner is None or inner.type != "binary_expression":
        return None
    op = inner.child_by_field_name("operator")
    left, right = inner.child_by_field_name("left"), inner.child_by_field_name("right")
    if op is None or left is None or right is None:
        return None
    op_text = _text(op)
    if op_text in (">", ">="):
        var, bound = left, right
    elif op_text in ("<", "<="):
        var, bound = right, left
    else:
        return None
    if var.type not in ("identifier", "field_expression"):
        return None
    target = squash(_text(var))
    stmts = [body] if body.type == "expression_statement" else (
        [c for c in body.named_children if c.type == "expression_statement"] if body.type == "compound_statement" else [])
    for stmt in stmts:
        expr = stmt.named_children[0] if stmt.named_children else None
        if expr is not None and expr.type == "assignment_expression":
            lhs = expr.child_by_field_name("left")
            operator = expr.child_by_field_name("operator")
            if lhs is not None and squash(_text(lhs)) == target and operator is not None and _text(operator) == "=":
                return f"{_text(var)} > {_text(bound)}"
    return None


def _stores_only_literals(node, target_text: str) -> bool:
    """Does every assignment to `target_text` under node store a number literal?"""
    target = squash(target_text)
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "assignment_expression":
            lhs, rhs = n.child_by_field_name("left"), n.child_by_field_name("right")
            operator = n.child_by_field_name("operator")
            if lhs is not None and squash(_text(lhs)) == target:
                if operator is None or _text(operator) != "=" or rhs is None or rhs.type != "number_literal":
                    return False
        stack.extend(n.named_children)
    return True


def _first_arg(args_text: str) -> str:
    parts = split_args(args_text)
    return parts[0] if parts else ""


def _annotation_token(annotation: str) -> tuple[str, str]:
    """`__must_hold(&dev->lock)` -> ("spin", "&dev->lock")."""
    inner = annotation[annotation.index("(") + 1:-1] if "(" in annotation else ""
    return ("spin", squash(inner))


def _any_in(sorted_offsets: list[int], start: int, end: int) -> bool:
    i = bisect.bisect_left(sorted_offsets, start)
    return i < len(sorted_offsets) and sorted_offsets[i] < end

