"""Settings from `allocscan.toml` or `[tool.allocscan]` in pyproject.toml.

Keys: exclude (list of paths/globs), min-order, fail-on, select, ignore,
jobs, kernel-version. Command-line options win over the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_KEYS = {"exclude", "min-order", "fail-on", "select", "ignore", "jobs", "kernel-version"}


class ConfigError(Exception):
    pass


def load_config(explicit: str | None, search_from: list[str]) -> tuple[dict, str | None]:
    """(settings, file it came from). An explicit file that is bad is an error."""
    candidates: list[Path] = []
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        candidates = [path]
    else:
        for start in [Path.cwd()] + [Path(p).resolve() for p in search_from]:
            start = start if start.is_dir() else start.parent
            for d in (start, *start.parents):
                for name in ("allocscan.toml", "pyproject.toml"):
                    if (d / name).is_file():
                        candidates.append(d / name)
                if candidates:
                    break
            if candidates:
                break
    for path in candidates:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: invalid TOML ({err})") from None
        except OSError as err:
            raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
        settings = data.get("tool", {}).get("allocscan") if path.name == "pyproject.toml" else data
        if settings is None:
            continue
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: [tool.allocscan] must be a table")
        unknown = set(settings) - KNOWN_KEYS
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
        _check_types(path, settings)
        return settings, str(path)
    return {}, None


def _check_types(path: Path, s: dict) -> None:
    expect = {"exclude": list, "select": list, "ignore": list, "min-order": int, "jobs": int,
              "fail-on": str, "kernel-version": str}
    for key, typ in expect.items():
        if key in s and not isinstance(s[key], typ):
            raise ConfigError(f"{path}: '{key}' must be a {typ.__name__}")
    if "fail-on" in s and s["fail-on"] not in ("error", "warning", "note", "none"):
        raise ConfigError(f"{path}: 'fail-on' must be one of error, warning, note, none")
    if "min-order" in s and not 0 <= s["min-order"] <= 20:
        raise ConfigError(f"{path}: 'min-order' must be between 0 and 20")
