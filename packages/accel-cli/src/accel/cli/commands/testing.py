"""`accel test ckpt=PATH [overrides]`: evaluate a checkpoint on the test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.cli.commands.options import CFG, OVERRIDES, stats
from accel.core.errors import ConfigError

HELP = """Evaluate a checkpoint on the test split of the configured data.

Examples:

  accel test ckpt=runs/2026-01-01/12-00-00/checkpoints/last

  accel test ckpt=model.ckpt data.batch_size=256
"""


def run_test(
    overrides: list[str] | None = OVERRIDES,
    cfg: bool = CFG,
) -> None:
    from accel.cli.config.load import load_config
    from accel.cli.jobs import print_configs, print_summary, run_jobs

    if cfg:
        print_configs(overrides or [], False)
        return
    check_ckpt(load_config(overrides or []).config.get("ckpt"))
    model_given = any(o.lstrip("+~").startswith("model") for o in overrides or [])

    def job(config: dict[str, Any], run_dir: Path) -> Any:
        return evaluate(config, run_dir, use_checkpoint_model=not model_given)

    for run_dir, result in run_jobs(overrides or [], False, job):
        print_summary("accel test", run_dir, stats(result))


def evaluate(config: dict[str, Any], run_dir: Path, use_checkpoint_model: bool = True) -> Any:
    """Test the checkpoint; its own model spec is used unless the command line sets `model`."""
    from accel.cli.runtime_bridge import run_stage

    if use_checkpoint_model:
        spec = checkpoint_model_spec(str(config["ckpt"]))
        if spec is not None:
            config = {**config, "model": spec}

    return run_stage(config, "test", checkpoint=str(config["ckpt"]))


def checkpoint_model_spec(ckpt: str) -> Any:
    """The model spec a checkpoint was trained with, or None if it stores none."""
    from accel.core.checkpoint import load_checkpoint

    manifest, _ = load_checkpoint(ckpt)
    return (manifest.get("model") or {}).get("spec")


def check_ckpt(ckpt: Any) -> None:
    """`ckpt` must name an existing file or folder."""
    if not ckpt:
        raise ConfigError("ckpt: accel test needs a checkpoint: accel test ckpt=PATH")
    if not Path(str(ckpt)).exists():
        raise ConfigError(f"ckpt: no such file or folder: {ckpt}")
