"""Branches decided by constant arguments: calls a caller's constants make unreachable.

`fasync_helper(fd, filp, 0, fapp)` never reaches `fasync_add_entry()`, which
sits behind `if (!on) return fasync_remove_entry(...);`, and
`kaweth_async_set_rx_mode(kaweth, false)` never reaches the
`usb_control_msg()` behind `if (!may_sleep) return;`. The context analysis
carries with each witness the constants its last call passed (a signature:
parameter name -> value); this module evaluates the callee's `if` conditions
under them and says which of its calls are dead on that path.

Three-valued throughout: a condition that reads anything not known is
"unknown" and its branches stay live. Only a proven-false branch is pruned.
Named constants (enumerators, `#define`s, builtin kernel constants) are the
value analysis' to evaluate (`ValueAnalysis.constant`): one constant
evaluator, one depth limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..exprs import conjuncts, disjuncts, expand_macro, identifiers, ir_from_text, split_args
from ..facts import CallSite
from ..link import Program
from .values.builtins import names_a_type
from .values.scope import MAX_DEPTH

NONZERO = "nonzero"  # known to be non-zero, value unknown: `&list`, a string literal
MAX_FORWARD_DEPTH = 2  # calls through which a constant argument is followed to its branch
MAX_WRAPPER_CALLS = 3  # ... when they are thin wrappers: larger functions are not searched

Signature = tuple[tuple[str, object], ...]  # sorted (parameter name, value) pairs


@dataclass
class _BranchInfo:
    branches: list[tuple[tuple, int, int, int, int]]  # (condition IR, then start/end, else start/end)
    params: frozenset[str]  # parameters some condition reads


# (name, path of the file reading it) -> the constant's value, or None (ValueAnalysis.constant)
ConstantLookup = Callable[[str, str], "int | None"]


class BranchOracle:
    def __init__(self, program: Program, constant: ConstantLookup | None = None):
        """`constant`: the value analysis' constant lookup (analyze() passes the one it runs);
        without one, the oracle makes its own value analysis of `program`."""
        self.program = program
        if constant is None:
            from ..kernel.version import builtin_kernel
            from .values import ValueAnalysis

            constant = ValueAnalysis(program, builtin_kernel(None)).constant
        self.constant = constant
        self._info: dict[str, _BranchInfo] = {}

    def info(self, node: str, depth: int = 0) -> _BranchInfo:
        """The branches of `node` on its parameters, and the parameters whose value
        matters: read by those branches, or passed on as they are to a callee where
        they matter (`iwl_dbg_tlv_time_point(fwrt, tp_id, data)` only forwards
        `tp_id` to the function that switches on it)."""
        info = self._info.get(node)
        if info is not None:
            return info
        fn = self.program.functions[node].fn
        names = {p for p, _ in fn.params}
        branches, used = [], set()
        for cond_text, ts, te, es, ee in fn.branches:
            cond = ir_from_text(cond_text)
            read = identifiers(cond) & names
            if read:
                branches.append((cond, ts, te, es, ee))
                used |= read
        self._info[node] = _BranchInfo(branches, frozenset(used))  # provisional: recursion
        if depth < MAX_FORWARD_DEPTH and 0 < fn.call_count <= MAX_WRAPPER_CALLS and not names <= used:
            used |= self._forwarded(node, names - used, depth)
        info = self._info[node] = _BranchInfo(branches, frozenset(used))
        return info

    def _forwarded(self, node: str, candidates: set[str], depth: int) -> set[str]:
        ref = self.program.functions[node]
        out: set[str] = set()
        for site in ref.fn.calls:
            if not any(c in site.args_text for c in candidates):
                continue
            texts = [t.strip() for t in split_args(site.args_text)]
            for target in self.program.targets(site, ref.path)[:2]:
                callee_params = self.program.functions[target].fn.params
                wanted = self.info(target, depth + 1).params
                for i, text in enumerate(texts):
                    if text in candidates and i < len(callee_params) and callee_params[i][0] in wanted:
                        out.add(text)
        return out

    def signature(self, caller: str, caller_sig: Signature, site: CallSite, callee: str) -> Signature:
        """The constants `site` (in `caller`, itself reached with `caller_sig`) passes to the
        parameters of `callee` that its branch conditions read."""
        info = self.info(callee)
        if not info.params:
            return ()
        wanted = [(i, p) for i, (p, _) in enumerate(self.program.functions[callee].fn.params) if p in info.params]
        texts = split_args(site.args_text) if site.args is None else None
        args = []
        for i, pname in wanted:
            if site.args is not None:
                args.append((pname, site.args[i] if i < len(site.args) else None))
            else:
                args.append((pname, ir_from_text(texts[i]) if i < len(texts) else None))
        path = self.program.functions[caller].path
        params = {p for p, _ in self.program.functions[caller].fn.params}
        env: dict = {}
        # What the caller knows of its own parameters matters only to an argument that reads
        # one, or that names a macro (whose body may read the caller's names).
        if any(arg is not None and _may_read(identifiers(arg), params) for _, arg in args):
            env = {**self._known_at(caller, site, path), **dict(caller_sig)}
            if site.lock_conds and (site.locks[1] and not site.locks[0]):
                # the region that makes this call atomic is open only when these hold
                for cond in site.lock_conds:
                    env.update(self._equalities(conjuncts(ir_from_text(cond)), "==", params, path))
        out = []
        for pname, arg in args:
            value = self.value(arg, env, path) if arg is not None else None
            if value is None and arg is not None and arg[0] == "id" and arg[1] not in params:
                value = self._address_local(caller, arg[1])
            if value is not None:
                out.append((pname, value))
        return tuple(sorted(out, key=lambda kv: kv[0]))

    def _address_local(self, node: str, name: str):
        """NONZERO for a local of `node` set once, to an address (`struct ctx *ctx =
        &rx->ctx;`), else None: the pointer passed on is never NULL."""
        fn = self.program.functions[node].fn
        if name not in fn.locals:
            return None
        stores = [a for a in fn.assignments if a.kind == "local" and a.target == name]
        if len(stores) == 1 and stores[0].op == "=" and stores[0].value[0] == "addr":
            return NONZERO
        return None

    def _known_at(self, node: str, site: CallSite, path: str) -> dict:
        """Parameter values the branches around `site` prove: inside
        `if (typeReq == GetPortStatus) { ... }` typeReq is GetPortStatus."""
        known: dict = {}
        params = {p for p, _ in self.program.functions[node].fn.params}
        for cond, ts, te, es, ee in self.info(node).branches:
            if ts <= site.byte < te:  # each `p == C` of the condition holds
                known.update(self._equalities(conjuncts(cond), "==", params, path))
            elif es <= site.byte < ee:  # each `p != C` of it fails
                known.update(self._equalities(disjuncts(cond), "!=", params, path))
        return known

    def _equalities(self, comparisons: list, op: str, params: set[str], path: str) -> dict:
        """{param: value} from `param == CONST` comparisons (`!=` ones in an else branch)."""
        known = {}
        for c in comparisons:
            if c[0] != "bin" or c[1] != op:
                continue
            for var, other in ((c[2], c[3]), (c[3], c[2])):
                if var[0] != "id" or var[1] not in params:
                    continue
                value = self.value(other, {}, path)
                if isinstance(value, int):
                    known[var[1]] = value
        return known

    def dead(self, node: str, sig: Signature, site: CallSite) -> bool:
        """Is `site` in `node` unreachable when `node` is entered with `sig`?"""
        if not sig:
            return False
        info = self.info(node)
        if not info.branches:
            return False
        env = dict(sig)
        path = self.program.functions[node].path
        for cond, ts, te, es, ee in info.branches:
            if ts <= site.byte < te:
                if self.truth(cond, env, path) is False:
                    return True
            elif es <= site.byte < ee:
                if self.truth(cond, env, path) is True:
                    return True
        return False

    # --- three-valued evaluation ------------------------------------------
    def truth(self, ir: tuple, env: dict, path: str) -> bool | None:
        kind = ir[0]
        if kind == "un" and ir[1] == "!":
            inner = self.truth(ir[2], env, path)
            return None if inner is None else not inner
        if kind == "bin" and ir[1] in ("&&", "||"):
            left, right = self.truth(ir[2], env, path), self.truth(ir[3], env, path)
            if ir[1] == "&&":
                if left is False or right is False:
                    return False
                return True if left and right else None
            if left is True or right is True:
                return True
            return False if left is False and right is False else None
        value = self.value(ir, env, path)
        if value is None:
            return None
        return True if value == NONZERO else bool(value)

    def value(self, ir: tuple, env: dict, path: str, depth: int = 0):
        """An int, NONZERO, or None when unknown."""
        kind = ir[0]
        if kind == "num":
            return ir[1]
        if kind == "id":
            name = ir[1]
            if name in env:
                return env[name]
            if name in ("true", "false", "NULL"):
                return 1 if name == "true" else 0
            if not name[:1].isupper():
                return None  # a variable: constants start with a capital (GFP_KERNEL, GetPortStatus)
            return self.constant(name, path)
        if kind in ("addr", "str"):
            return NONZERO
        if kind == "cast":
            return self.value(ir[2], env, path, depth)
        if kind == "call" and ir[1] in ("likely", "unlikely", "!!") and len(ir[2]) == 1:
            return self.value(ir[2][0], env, path, depth)
        if kind == "call" and ir[1][:1].isupper() and depth < MAX_DEPTH:
            return self._macro(ir, env, path, depth)  # HUB_CLASS_REQ(USB_DIR_IN, ...)
        if kind == "un" and ir[1] == "!":
            truth = self.truth(ir[2], env, path)
            return None if truth is None else int(not truth)
        if kind == "bin":
            return self._binary(ir, env, path, depth)
        return None

    def _binary(self, ir: tuple, env: dict, path: str, depth: int):
        op = ir[1]
        if op in ("&&", "||"):
            truth = self.truth(ir, env, path)
            return None if truth is None else int(truth)
        left, right = self.value(ir[2], env, path, depth), self.value(ir[3], env, path, depth)
        if left is None or right is None:
            return None
        if NONZERO in (left, right):
            other = right if left == NONZERO else left
            if op in ("==", "!=") and other == 0:  # `head != NULL`
                return int(op == "!=")
            return None
        try:
            return {
                "==": lambda: int(left == right), "!=": lambda: int(left != right),
                "<": lambda: int(left < right), ">": lambda: int(left > right),
                "<=": lambda: int(left <= right), ">=": lambda: int(left >= right),
                "&": lambda: left & right, "|": lambda: left | right,
                "+": lambda: left + right, "-": lambda: left - right,
                "<<": lambda: left << right if 0 <= right < 64 else None,
            }.get(op, lambda: None)()
        except TypeError:
            return None

    def _macro(self, ir: tuple, env: dict, path: str, depth: int):
        """A function-like macro of constants: its body with the arguments substituted."""
        found = self.program.lookup("func_macros", ir[1], path)
        if found is None:
            return None
        def_path, (params, body) = found
        expanded = expand_macro(params, body, ir[2], lambda text: names_a_type(text, self.program.typedefs))
        return None if expanded is None else self.value(expanded, env, def_path, depth + 1)


def _may_read(names: set[str], params: set[str]) -> bool:
    """Do an expression's identifiers read one of `params`, or name an ALL_CAPS macro?"""
    return not names.isdisjoint(params) or any(n[:1].isupper() for n in names)
