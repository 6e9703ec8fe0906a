"""Sources: values someone outside the kernel chooses.

Module parameters (settable at load, some writable in sysfs), values parsed
from user buffers (`kstrto*`, `sscanf`, `copy_from_user`, `get_user`) in
configfs/sysfs/debugfs/ioctl handlers, netlink attributes (bounded by their
policy when it says so), and the fields of descriptors a USB device supplies.
Each yields a `Value` with the source named in `sources` (`module_param:buflen`,
`configfs:f_demo_opts_buflen_store`) and the step that proves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...exprs import ir_from_text, render
from ...facts import FileFacts, FunctionFacts
from .lattice import TOP, Value
from .scope import Scope

if TYPE_CHECKING:
    from .evaluator import ValueAnalysis

_KSTRTO_MAX = {"kstrtou8": 0xFF, "kstrtos8": 0x7F, "kstrtou16": 0xFFFF, "kstrtos16": 0x7FFF,
               "kstrtouint": 0xFFFFFFFF, "kstrtou32": 0xFFFFFFFF, "kstrtoint": 0x7FFFFFFF,
               "kstrtos32": 0x7FFFFFFF, "kstrtoul": None, "kstrtoull": None, "kstrtou64": None,
               "kstrtol": None, "kstrtoll": None, "kstrtos64": None, "kstrtobool": 1,
               "kstrtouint_from_user": 0xFFFFFFFF, "kstrtoul_from_user": None, "kstrtoint_from_user": 0x7FFFFFFF,
               "kstrtou8_from_user": 0xFF, "kstrtou16_from_user": 0xFFFF, "kstrtou32_from_user": 0xFFFFFFFF}
_USER_COPY = {"copy_from_user", "__copy_from_user", "get_user", "__get_user", "sscanf"}
_NLA_GET = {"nla_get_u8": 0xFF, "nla_get_u16": 0xFFFF, "nla_get_u32": 0xFFFFFFFF, "nla_get_u64": None,
            "nla_get_be16": 0xFFFF, "nla_get_be32": 0xFFFFFFFF, "nla_get_le16": 0xFFFF, "nla_get_le32": 0xFFFFFFFF}
_DESCRIPTOR_FIELDS = {"wMaxPacketSize", "wTotalLength", "wLength", "bLength", "wBytesPerInterval"}
_MODULE_PARAM_MAX = {"byte": 0xFF, "short": 0x7FFF, "ushort": 0xFFFF, "int": 0x7FFFFFFF, "uint": 0xFFFFFFFF,
                     "bool": 1, "invbool": 1}


class Sources:
    def __init__(self, analysis: "ValueAnalysis"):
        self.analysis = analysis
        self.program = analysis.program
        self._module_params: dict[tuple[str, str], object] = {}
        for ff in self.program.files:
            for mp in ff.module_params:
                self._module_params[(ff.path, mp.name)] = mp

    # --- module parameters --------------------------------------------------------
    def module_param_read(self, name: str, scope: Scope) -> Value | None:
        """`name` read in a file that declares it a module parameter and never assigns it
        (a parameter the driver clamps itself at init is not taken raw); None otherwise."""
        mp = self._module_params.get((scope.file.path, name))
        if mp is None or _written_in_file(mp.name, scope.file):
            return None
        return self.module_param(mp, scope)

    def module_param(self, mp, scope: Scope) -> Value:
        if mp.type_name == "cb":
            return TOP  # module_param_cb(): its set() callback validates what the user writes
        src = f"module_param:{mp.param_name}"
        default = TOP
        if mp.name in scope.file.globals:
            default = self.analysis.eval(scope.file.globals[mp.name], Scope(scope.file, None, scope.depth + 1))
        settable = "settable at load" + (", writable in sysfs" if _writable(mp.perm) else "")
        lo = default.lo if default.known else 0
        step = (f"module parameter '{mp.param_name}' ({settable}; default {default.describe()})", scope.file.path, mp.line)
        type_max = _MODULE_PARAM_MAX.get(mp.type_name)
        if type_max is not None and type_max <= 0xFFFF:
            value = Value(0, type_max, frozenset({src}), (step,), True)
        else:
            value = Value(min(lo, 0) if lo else 0, None, frozenset({src}), (step,), True)
        return self._validated_in_file(mp.name, value, scope)

    def _validated_in_file(self, name: str, value: Value, scope: Scope) -> Value:
        """A module parameter checked where the module starts (`if (max_data_size > 0x10000)
        return -EINVAL;` in its init function) is bounded by that check everywhere.

        The check may read the parameter again (`max_data_size & (max_data_size - 1)`):
        evaluated from inside its own validation, the parameter is taken unvalidated."""
        def validated() -> Value:
            for fn in scope.file.functions:
                for g in fn.guards:
                    if name not in g.cond_text:
                        continue
                    narrowed = self.analysis.narrowing.narrow(name, value, Scope(scope.file, fn, scope.depth + 1, g.end_byte))
                    if narrowed is not value:
                        return narrowed
            return value

        return self.analysis.guarded(("validated", scope.file.path, name), validated, on_cycle=value, memoise=False)

    # --- user buffers -------------------------------------------------------------
    def user_filled(self, name: str, scope: Scope) -> Value | None:
        """`kstrtouint(buf, 0, &name)`, `copy_from_user(&name, ...)`: the user writes `name`."""
        fn = scope.fn
        for site in fn.calls:
            callee = site.callee
            if (callee not in _KSTRTO_MAX and callee not in _USER_COPY) or name not in site.args_text:
                continue
            args = site.arguments()
            if callee in _KSTRTO_MAX and args and args[-1] == ("addr", ("id", name)):
                kind = handler_kind(fn)
                return Value(0, _KSTRTO_MAX[callee], frozenset({f"{kind}:{fn.name}"}),
                             ((f"{callee}() parses user input into '{name}' in {fn.name}()", scope.file.path, site.line),), True)
            filled = any(a == ("addr", ("id", name)) for a in args) or (
                callee in ("get_user", "__get_user") and args and args[0] == ("id", name))
            if callee in _USER_COPY and filled:
                kind = "ioctl" if "ioctl" in fn.name else handler_kind(fn)
                # The destination's type bounds what the user can put there (`u16 len`).
                limit = self.analysis.builtins.type_max(" ".join(fn.locals.get(name, "").split()))
                return Value(0, limit, frozenset({f"{kind}:{fn.name}"}),
                             ((f"{callee}() copies user data into '{name}' in {fn.name}()", scope.file.path, site.line),), True)
        return None

    # --- netlink --------------------------------------------------------------------
    def netlink_attribute(self, name: str, args: tuple, scope: Scope) -> Value:
        """`nla_get_u32(tb[ATTR])`: what the sender put there, as wide as the getter, unless
        the attribute's policy bounds it."""
        limit = _NLA_GET[name]
        policy = self._netlink_policy_limit(args[0] if args else None, scope)
        if policy is not None:
            return policy  # validated by the policy before the handler runs
        return Value(0, limit, frozenset({f"netlink:{render(args[0]) if args else '?'}"}),
                     ((f"{name}() reads a netlink attribute", scope.file.path, 0),), True)

    def _netlink_policy_limit(self, attr_ir: tuple | None, scope: Scope) -> Value | None:
        """`tb[ATTR]` whose policy entry is `NLA_POLICY_RANGE(.., min, MAX)`: at most MAX."""
        if attr_ir is None or attr_ir[0] != "idx" or attr_ir[2][0] != "id":
            return None
        found = self.program.lookup("nla_limits", attr_ir[2][1], scope.file.path)
        if found is None:
            return None
        def_path, text = found
        bound = self.analysis.eval(ir_from_text(text), Scope(self.program.file(def_path) or scope.file, None, scope.depth + 1))
        return Value(0, bound.hi, frozenset(), (), True) if bound.known and bound.hi is not None else None

    # --- device descriptors ---------------------------------------------------------
    def descriptor_field(self, struct: str, fname: str, scope: Scope) -> Value | None:
        """A field of a USB descriptor the device supplied (host side only), as wide as its
        USB name says; None for any other field."""
        if fname not in _DESCRIPTOR_FIELDS or _gadget_side(scope.file.path):
            return None
        src = f"usb-descriptor:{struct or '?'}.{fname}"
        # USB naming: a `b` field is one byte, a `w` field a 16-bit word (hid_descriptor.bLength <= 255)
        top = 0xFF if fname.startswith("b") else 0xFFFF
        return Value(0, top, frozenset({src}), ((f"device descriptor field {fname}", scope.file.path, 0),), True)

    def endpoint_max_packet(self, inner: Value, scope: Scope) -> Value:
        """usb_endpoint_maxp(): the endpoint descriptor's 11-bit packet size."""
        if _gadget_side(scope.file.path):
            return Value(0, 0x7FF, frozenset(), (), True)
        if inner.known:
            return inner
        return Value(0, 0x7FF, frozenset({"usb-descriptor:wMaxPacketSize"}),
                     (("usb_endpoint_maxp() reads the endpoint descriptor", scope.file.path, 0),), True)


def handler_kind(fn: FunctionFacts) -> str:
    """Which interface a handler serves, from its parameter types: configfs, sysfs, ..."""
    types = " ".join(t for _, t in fn.params)
    if "struct config_item" in types:
        return "configfs"
    if "struct device_attribute" in types or "struct kobj_attribute" in types or "struct kobject" in types:
        return "sysfs"
    if "struct file" in types and ("char*" in types or "char" in types):
        return "debugfs" if "debugfs" in fn.name or "dbg" in fn.name else "write"
    if "struct genl_info" in types or "struct nlattr" in types:
        return "netlink"
    return "user"


def _written_in_file(name: str, file: FileFacts) -> bool:
    """A module parameter the driver assigns itself (usually a clamp at init) is not taken raw."""
    return any(name in fn.global_writes for fn in file.functions)


def _gadget_side(path: str) -> bool:
    """A USB gadget driver: its descriptors are its own. Only the host side reads
    descriptors a device chose, so only there are their fields user input."""
    return path.startswith("drivers/usb/gadget/")


def _writable(perm: str) -> bool:
    perm = perm.strip()
    try:
        value = int(perm, 0) if perm[:1].isdigit() else None
    except ValueError:
        value = None
    if value is not None:
        return bool(value & 0o222)
    return any(w in perm for w in ("S_IWUSR", "S_IWGRP", "S_IWOTH", "0644", "0600", "0664", "0666", "S_IRWXU"))
