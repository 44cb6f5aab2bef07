"""Make keys and values acceptable to MLflow without losing what they were.

MLflow accepts names of alphanumerics, `_ - . / :` and spaces that do not change under
`posixpath.normpath`, up to 250 characters; param values up to 6000 (tags 8000) characters.
Anything else is rewritten here, with a short hash so that distinct inputs stay distinct.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from accel.mlflow.flatten import format_value
from accel.mlflow.limits import DEFAULT_LIMITS, Limits

_BAD_CHARS = re.compile(r"[^\w\-. /]")
TRUNCATION_MARKER = "...[truncated {length} chars, sha256 {digest}]"


def short_hash(text: str, length: int = 8) -> str:
    """The first `length` hex digits of the SHA-256 of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def sanitize_key(key: str, max_length: int = DEFAULT_LIMITS.max_key_length) -> str:
    """A name MLflow accepts: bad characters -> `_`, no empty/`.`/`..` path parts, bounded."""
    clean = _BAD_CHARS.sub("_", str(key))
    parts = [p if p not in ("", ".", "..") else "_" for p in clean.split("/")]
    clean = "/".join(parts) or "_"
    if posixpath.normpath(clean) != clean:  # e.g. leftovers normpath would still rewrite
        clean = clean.replace("/", "_")
    if len(clean) > max_length:
        clean = f"{clean[: max_length - 9]}-{short_hash(str(key))}"
    return clean


def limit_value(value: str, max_length: int) -> str:
    """`value` if it fits, else its head plus a marker with its length and hash."""
    if len(value) <= max_length:
        return value
    marker = TRUNCATION_MARKER.format(length=len(value), digest=short_hash(value, 16))
    return value[: max(0, max_length - len(marker))] + marker


def sanitize_params(params: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """Flat params as MLflow-safe `{key: text}`; keys that collide after cleaning get a hash."""
    clean: dict[str, str] = {}
    for key, value in params.items():
        name = sanitize_key(key, limits.max_key_length)
        if name in clean:
            suffix = f"-{short_hash(str(key))}"
            name = sanitize_key(name[: limits.max_key_length - len(suffix)] + suffix)
        clean[name] = limit_value(format_value(value), limits.max_param_length)
    return clean


def sanitize_tags(tags: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """Tags as MLflow-safe `{key: text}` (values up to the tag limit)."""
    return {
        sanitize_key(k, limits.max_key_length): limit_value(format_value(v), limits.max_tag_length)
        for k, v in tags.items()
    }
