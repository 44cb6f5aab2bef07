"""Hand a resolved config to accel-core's runtime, in the shape the runtime takes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accel.cli.config.rundir import RUN_DIR_ENV
from accel.core.errors import AccelError

CLI_ONLY_KEYS = ("compress", "pipeline", "ckpt", "threads")


def to_runtime(config: Mapping[str, Any]) -> dict[str, Any]:
    """The runtime's dict: callbacks as a list (null entries dropped), CLI-only keys removed."""
    out = {k: v for k, v in config.items() if k not in CLI_ONLY_KEYS}
    callbacks = config.get("callbacks") or {}
    out["callbacks"] = [spec for spec in callbacks.values() if spec is not None]
    return out


def run_stage(
    config: Mapping[str, Any],
    stage: str,
    checkpoint: str | None = None,
    tracker: Any = None,
    model: Any = None,
) -> Any:
    """`run_from_config(config, stage)` of accel-core, imported only now (it imports torch).

    `checkpoint` (a checkpoint, a `last` pointer or a run dir) is loaded before a test stage;
    `tracker` (a child run of a pipeline or sweep) replaces the config's tracker; `model`
    (one to fine-tune) the model the config would build.
    """
    try:
        from accel.core.runtime import run_from_config
    except ImportError as error:
        raise AccelError(
            f"accel {stage} needs accel-core's runtime (accel.core.runtime): {error}"
        ) from None
    run_dir = Path(config["trainer"]["run_dir"])
    with shared_run_dir(run_dir):
        runtime_config = to_runtime(config)
        if checkpoint is not None:
            runtime_config["checkpoint"] = str(checkpoint)
        return run_from_config(runtime_config, stage=stage, tracker=tracker, model=model)


def apply_threads(config: Mapping[str, Any]) -> None:
    """`threads: N` sets torch's CPU thread count for this process (null leaves torch's)."""
    threads = config.get("threads")
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        from accel.core.errors import ConfigError

        raise ConfigError(f"threads: expected an int >= 1 or null, got {threads!r}")
    import torch

    torch.set_num_threads(threads)


@contextmanager
def shared_run_dir(run_dir: Path) -> Iterator[None]:
    """Export `$ACCEL_RUN_DIR` so processes started by this run use the same folder."""
    previous = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(run_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
