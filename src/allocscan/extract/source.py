"""Source text: decode a file's bytes as C, or say in one line why it is not C."""

from __future__ import annotations


class InputError(Exception):
    """A file that cannot be read as C source (binary, bad encoding...)."""


def decode_source(path: str, data: bytes) -> str:
    """Decode a C file, refusing binaries and invalid UTF-8 (one clear reason)."""
    if b"\0" in data[:8192]:
        raise InputError(f"{path}: binary file, not C source")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: invalid UTF-8 (byte 0x{data[err.start]:02x}); file skipped") from None
