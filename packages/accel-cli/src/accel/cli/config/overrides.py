"""Command-line overrides made safe for Hydra's parser before it sees them.

accel's own checkpoint folders are named `epoch=007-step=0000160`: as the value of `ckpt=`,
`resume=` or `checkpoint=` that `=` is Hydra syntax, so such a path value is quoted here. An
override nested deeper than the parser can recurse is refused in one line instead.
"""

from __future__ import annotations

import re

from accel.core.errors import ConfigError

PATH_KEYS = ("ckpt", "resume", "checkpoint")
# characters Hydra reads literally in an unquoted value (measured against its parser)
UNQUOTED = re.compile(r"[A-Za-z0-9_$%*+\-./:?@\\| \t]*")
HYDRA_FUNCTIONS = "bool|choice|float|glob|int|interval|range|shuffle|sort|str|tag"
FUNCTION = re.compile(rf"\s*({HYDRA_FUNCTIONS})\s*\(")
MAX_NESTING = 64


def prepare_overrides(overrides: list[str] | tuple[str, ...], *, sweep: bool = False) -> list[str]:
    """`overrides` with path values quoted (each comma-separated value in a sweep); an
    override nested more than MAX_NESTING brackets deep is a ConfigError naming it."""
    for override in overrides:
        check_nesting(override)
    return [quote_path_value(override, sweep=sweep) for override in overrides]


def check_nesting(override: str) -> None:
    depth = deepest = 0
    for char in override:
        depth += (char in "[{(") - (char in "]})")
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        shown = override if len(override) <= 40 else override[:40] + "..."
        raise ConfigError(
            f"override {shown!r}: nested {deepest} levels deep; at most {MAX_NESTING} are allowed"
        )


def quote_path_value(override: str, *, sweep: bool = False) -> str:
    """`ckpt=runs/x/epoch=007` -> `ckpt='runs/x/epoch=007'`; other overrides unchanged."""
    key, sep, value = override.partition("=")
    if not sep or key.lstrip("+") not in PATH_KEYS or not _needs_quotes(value):
        return override
    parts = value.split(",") if sweep else [value]
    return f"{key}=" + ",".join(quote(part) for part in parts)


def _needs_quotes(value: str) -> bool:
    """A plain path Hydra would misread; quoted strings, `${...}`, lists, dicts and sweep
    functions (`choice(...)`) are Hydra's own syntax and stay as given."""
    if not value or value[0] in "'\"[{" or "${" in value or FUNCTION.match(value):
        return False
    return value != value.strip() or not UNQUOTED.fullmatch(value)


def quote(text: str) -> str:
    """`text` as a single-quoted Hydra string (backslashes before a quote doubled)."""
    escaped = re.sub(r"(\\*)('|$)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), text)
    return f"'{escaped}'"
