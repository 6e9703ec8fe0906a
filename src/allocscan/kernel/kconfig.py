"""A kernel `.config`: which CONFIG_ symbols are built in, modular, set to a value, or off.

Read once by the CLI (`--kconfig FILE`), then handed to the Kbuild walk (which
files the config builds) and to extraction (which `#if` branches it compiles).
The three-valued answers follow what `include/generated/autoconf.h` defines:
`CONFIG_FOO=y` defines CONFIG_FOO, `=m` defines CONFIG_FOO_MODULE only, a
string or number defines CONFIG_FOO as that value, and a symbol that is `not
set` (or absent: its dependencies are unmet) defines nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .tables import kbuild

_SET = re.compile(r"(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"# (CONFIG_[A-Za-z0-9_]+) is not set$")


class KconfigError(Exception):
    """A .config that cannot be read or holds a line that is not a config line."""


@dataclass(frozen=True)
class KernelConfig:
    path: str
    values: dict[str, str] = field(hash=False, compare=False)  # CONFIG_FOO -> "y" | "m" | value text
    digest: str = ""  # SHA-1 of the symbols and values (not of comments or order)

    def value(self, symbol: str) -> str | None:
        return self.values.get(symbol)

    def tristate(self, symbol: str) -> str:
        """'y', 'm' or 'n' (a symbol set to a string or number counts as 'y')."""
        v = self.values.get(symbol)
        if v is None or v == "n":
            return "n"
        return "m" if v == "m" else "y"

    def defines(self, symbol: str) -> bool:
        """Whether autoconf.h defines `symbol` (for #ifdef and defined())."""
        v = self.values.get(symbol)
        if v is not None and v not in ("m", "n"):
            return True
        suffix = kbuild().module_suffix
        if symbol.endswith(suffix):
            return self.values.get(symbol[: -len(suffix)]) == "m"
        return False

    def base_symbol(self, symbol: str) -> str:
        """CONFIG_FOO for CONFIG_FOO_MODULE (the symbol the .config sets)."""
        suffix = kbuild().module_suffix
        return symbol[: -len(suffix)] if symbol.endswith(suffix) else symbol


def load_kconfig(path: str) -> KernelConfig:
    """Parse a .config; one KconfigError line naming the file (and line) when it is not one."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise KconfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise KconfigError(f"{path}: is a directory, not a .config") from None
    except OSError as err:
        raise KconfigError(f"{path}: cannot read ({err.strerror})") from None
    if b"\0" in data[:4096]:
        raise KconfigError(f"{path}: binary file, not a kernel .config")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KconfigError(f"{path}: not UTF-8 text, not a kernel .config") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = _SET.match(line)
        if m:
            values[m.group(1)] = _unquote(m.group(2))
            continue
        m = _NOT_SET.match(line)
        if m:
            values[m.group(1)] = "n"
            continue
        if line.startswith("#"):
            continue
        raise KconfigError(f"{path}:{number}: not a .config line: {raw[:60]!r}")
    if not any(v != "n" for v in values.values()):
        raise KconfigError(f"{path}: no CONFIG_ symbol is set; not a kernel .config")
    digest = hashlib.sha1("\n".join(f"{k}={v}" for k, v in sorted(values.items())).encode()).hexdigest()
    return KernelConfig(path=str(p), values=values, digest=digest)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value
