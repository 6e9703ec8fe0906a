"""Which kernel version's GFP bits decode a logged mode, and why.

The gfp bits moved between versions (__GFP_NOWARN is 0x200 up to 4.19 and
0x2000 from 5.4; __GFP_ATOMIC left in 6.3), so `mode:0x1080020` means
GFP_ATOMIC on 4.14 and nothing coherent on 6.12. The table is chosen, in
this order, from `--kernel-version`, from the release in the report's `CPU:`
line, or - when the log gives no version - by fit: the default (newest)
built-in table when it decodes the mode to the names the kernel printed
beside it, else the newest built-in version whose bits do. A mode "decodes
consistently" under a version when every set bit has a name there and, when
the log prints the names (`mode:0x..(GFP_ATOMIC|__GFP_COMP)`), the version's
names are exactly those. Whatever the source of the version, a mode that does
not decode consistently under it is said so, with the versions that fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.gfp import BUILTIN_VERSIONS, GfpTable, builtin_table, nearest_builtin

DEFAULT_SERIES = BUILTIN_VERSIONS[-1]


@dataclass
class ModeDecoding:
    table: GfpTable
    version: str  # the version the report is read for: --kernel-version, the log's release, or a built-in series
    series: str  # the built-in table used
    reason: str  # why this table, in words
    consistent: bool | None = None  # None: no mode to check
    fits: list[str] = field(default_factory=list)  # built-in series under which the mode decodes consistently
    decoded: str = ""  # the names the table gives the mode

    def as_dict(self) -> dict:
        return {"series": self.series, "reason": self.reason, "consistent": self.consistent, "fits": self.fits}


def _name_set(names: str) -> set[str]:
    return {part.strip() for part in names.split("|") if part.strip()}


def decodes_consistently(mode: int, printed: str | None, table: GfpTable) -> bool:
    """Every bit of `mode` has a name in `table`, and the names are the printed ones (when printed)."""
    names = table.names(mode)
    if printed is not None and printed.strip():
        if printed.strip() == "none":
            return mode == 0
        return _name_set(names) == _name_set(printed)
    return not any(part.startswith("0x") for part in _name_set(names))


def fitting_versions(mode: int, printed: str | None) -> list[str]:
    return [v for v in BUILTIN_VERSIONS if decodes_consistently(mode, printed, builtin_table(v))]


def choose_table(mode: int | None, printed: str | None, release: str | None, override: str | None) -> ModeDecoding:
    if override or release:
        given = override or release
        series = nearest_builtin(given)
        source = "--kernel-version" if override else "the report's CPU: line"
        reason = f"kernel {given} ({source}): built-in {series} GFP bits"
        decoding = ModeDecoding(builtin_table(series), given, series, reason)
        if mode is not None:
            _check(decoding, mode, printed, switch=not override)  # --kernel-version is taken at its word
        return decoding
    if mode is None:
        reason = f"the log gives no kernel version and no mode: built-in {DEFAULT_SERIES} tables (the newest)"
        return ModeDecoding(builtin_table(DEFAULT_SERIES), DEFAULT_SERIES, DEFAULT_SERIES, reason)
    fits = fitting_versions(mode, printed)
    fit_words = f"decode {mode:#x} to the printed {printed}" if printed else f"name every bit of {mode:#x}"
    if DEFAULT_SERIES in fits:
        series = DEFAULT_SERIES
        others = [v for v in fits if v != series]
        reason = (f"the log gives no kernel version: built-in {series} GFP bits (the newest), which {fit_words}"
                  + (f"; so do those of {', '.join(others)}" if others else ""))
    elif fits:
        series = fits[-1]
        default_names = builtin_table(DEFAULT_SERIES).names(mode) or "nothing"
        miss = f"not {printed}" if printed else "leaving bits without a name"
        reason = (f"the log gives no kernel version, and the newest built-in bits ({DEFAULT_SERIES}) decode "
                  f"{mode:#x} as {default_names}, {miss}; built-in {series} GFP bits, the newest that {fit_words}"
                  + (f" (all that do: {', '.join(fits)})" if len(fits) > 1 else ""))
    else:
        series = DEFAULT_SERIES
        reason = (f"the log gives no kernel version, and no built-in version's bits {fit_words}: "
                  f"decoded with built-in {series} bits, which may misread it")
    decoding = ModeDecoding(builtin_table(series), series, series, reason, fits=fits)
    decoding.consistent = series in fits
    decoding.decoded = decoding.table.names(mode)
    return decoding


def _check(decoding: ModeDecoding, mode: int, printed: str | None, switch: bool) -> None:
    """Say when the mode does not decode consistently under the given version, and which versions fit.

    When the kernel printed the names, they are its own decoding: a version whose bits give those
    names reads the mode as the kernel did, so (with `switch`) the one nearest to the given version
    is used.
    """
    decoding.decoded = decoding.table.names(mode)
    decoding.consistent = decodes_consistently(mode, printed, decoding.table)
    if decoding.consistent:
        return
    decoding.fits = fitting_versions(mode, printed)
    shown = f"the printed {printed}" if printed else "a name for every bit"
    decoding.reason += f"; but those bits decode {mode:#x} as {decoding.decoded or 'nothing'}, not {shown}"
    if not decoding.fits:
        decoding.reason += " (no built-in version's bits do: a vendor kernel or a config option may move bits)"
        return
    decoding.reason += f" (the bits of {', '.join(decoding.fits)} do"
    if printed and switch:
        position = BUILTIN_VERSIONS.index(decoding.series)
        nearest = min(decoding.fits, key=lambda v: abs(BUILTIN_VERSIONS.index(v) - position))
        decoding.series, decoding.table = nearest, builtin_table(nearest)
        decoding.decoded = decoding.table.names(mode)
        decoding.reason += f"; decoded with {nearest}'s, which give the kernel's own names)"
    else:
        decoding.reason += ")"
