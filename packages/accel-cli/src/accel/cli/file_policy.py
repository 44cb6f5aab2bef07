"""accel-core's loading policy on the command line: what a file a command opens may name.

A checkpoint, a stored config or a model file names components by registry name. It may name a
`_target_` only when the user passed `--trust-file`, or when the user's own config names the same
target: the config composed from their command line and project, and every YAML file of the
project's `configs/` folder (a project trains with its own `_target_: my_pkg.Net`, and opens its
own checkpoints without a flag).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError
from accel.core.trust import allowing_targets, find_targets, trusting_files


def user_targets(config: Mapping[str, Any]) -> set[str]:
    """Every `_target_` the user's own (composed) config names."""
    return {target for _, target in find_targets(config)}


def project_targets(project: Path | None = None) -> set[str]:
    """Every `_target_` in the project's config files (read with yaml.safe_load, nothing else
    run); a file that cannot be read is skipped: it names nothing the user could have meant."""
    import yaml

    from accel.cli.config.compose import project_dir

    folder = project_dir() if project is None else project
    found: set[str] = set()
    for path in sorted(folder.rglob("*.yaml")) if folder.is_dir() else []:
        try:
            found |= {t for _, t in find_targets(yaml.safe_load(path.read_text(encoding="utf-8")))}
        except (OSError, UnicodeError, yaml.YAMLError, RecursionError, ConfigError):
            continue
    return found


@contextmanager
def file_policy(trust: bool, targets: Iterable[str] = ()) -> Iterator[None]:
    """Within this block files are trusted when `trust` (the command's --trust-file), and may
    name `targets` (the user's own) in any case."""
    with trusting_files(trust), allowing_targets(targets):
        yield


def allowing_user_targets(job: Any) -> Any:
    """`job(config, run_dir, ...)` run with the targets of its config and project allowed."""

    @wraps(job)
    def run(config: dict[str, Any], run_dir: Path, **kwargs: Any) -> Any:
        with allowing_targets(user_targets(config) | project_targets()):
            return job(config, run_dir, **kwargs)

    return run
