"""Source text: decode a file's bytes as C, or say in one line why it is not C.

A file that is not valid UTF-8 (a Latin-1 byte in an author's name or a comment,
common in old drivers) is read as Latin-1, with a warning: every byte is one
character, so the text encodes back (`Decoded.encoding`) to the file's own bytes
and tree-sitter's byte offsets, lines and columns stay those of the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass


def content_id(data: bytes) -> str:
    """A file's content hash, as git names the same bytes (its blob id): the facts
    cache is keyed by it, so a revision's files are found in the cache straight from
    `git ls-tree`, without checking the revision out (see `gittree`)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


class InputError(Exception):
    """A file that cannot be read as C source (binary, bad encoding...)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # what `text` encodes back with to the file's bytes: "utf-8" or "latin-1"
    warning: str | None = None  # why it is not read as UTF-8


def decode_source(path: str, data: bytes) -> Decoded:
    """Decode a C file: UTF-8, else Latin-1 with a warning; refuse binaries."""
    if b"\0" in data[:8192]:
        raise InputError(f"{path}: binary file, not C source")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return Decoded(data.decode("latin-1"), "latin-1",
                       f"{path}:{line}: invalid UTF-8 (byte 0x{data[err.start]:02x}); read as Latin-1")


def line_matches(pattern: re.Pattern, text: str, hint: re.Pattern) -> Iterator[re.Match]:
    """What `pattern.finditer(text)` yields, for a MULTILINE pattern that can match only
    from the start of a line on which `hint` matches (`^[ \\t]*#[ \\t]*define...`, and
    `define`), without trying the pattern at every character.

    Python's regex engine has no fast search for a `^` pattern: it tries it at each
    offset of the text, and the directive patterns cost extraction as much as a fact
    extractor does. A hint that starts with a literal is searched for fast, and the
    pattern is tried at the start of its line, once per line: the search for the next
    hint goes on from the line's end (a generated line may hold thousands). The hint
    must match within one line. Matches come in the same order and consume the same
    text as finditer's: a line inside the previous match (a `#define` continued with
    backslashes) is not tried again."""
    end = 0  # where the last match ended: finditer goes on from there
    search = hint.search
    found = search(text)
    while found:
        at = found.start()
        start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        if line_end < 0:
            line_end = len(text)
        if start >= end:
            match = pattern.match(text, start)
            if match:
                yield match
                end = match.end()
        found = search(text, max(line_end, end))
