"""`accel test ckpt=PATH [overrides]`: evaluate a checkpoint on the test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.cli.checkpoints import checkpoint_model_spec
from accel.cli.commands.options import CFG, OVERRIDES, TRUST_FILE, stats
from accel.core.errors import ConfigError

__all__ = ["check_ckpt", "checkpoint_model_spec", "evaluate", "run_test"]

HELP = """Evaluate a checkpoint on the test split of the configured data.

The checkpoint is a file from anywhere: it may name its model by registry name, or by a
`_target_` your own configs name too; anything else needs --trust-file.

Examples:

  accel test ckpt=runs/2026-01-01/12-00-00/checkpoints/last

  accel test ckpt=runs/2026-01-01/12-00-00/checkpoints/epoch=007-step=0000160

  accel test ckpt=model.ckpt data.batch_size=256
"""


def run_test(
    overrides: list[str] | None = OVERRIDES,
    cfg: bool = CFG,
    trust_file: bool = TRUST_FILE,
) -> None:
    from accel.cli.config.compose import Composer
    from accel.cli.config.load import load_config
    from accel.cli.file_policy import file_policy, project_targets, user_targets
    from accel.cli.jobs import print_configs, print_summary, run_jobs

    if cfg:
        print_configs(overrides or [], False)
        return
    composer = Composer()  # the job runs from this composition: composed once
    config = load_config(overrides or [], composer=composer).config
    check_ckpt(config.get("ckpt"))
    model_given = any(o.lstrip("+~").startswith("model") for o in overrides or [])
    with file_policy(trust_file, user_targets(config) | project_targets()):
        spec = checkpoint_model_spec(str(config["ckpt"]))  # before a run dir is made

        def job(config: dict[str, Any], run_dir: Path) -> Any:
            return evaluate(config, run_dir, None if model_given else spec)

        for run_dir, result in run_jobs(overrides or [], False, job, composer=composer):
            print_summary("accel test", run_dir, stats(result))


def evaluate(config: dict[str, Any], run_dir: Path, model_spec: Any = None) -> Any:
    """Test the checkpoint; with `model_spec` (the checkpoint's own) instead of `model`."""
    from accel.cli.runtime_bridge import run_stage

    if model_spec is not None:
        config = {**config, "model": model_spec}
    return run_stage(config, "test", checkpoint=str(config["ckpt"]))


def check_ckpt(ckpt: Any) -> None:
    """`ckpt` must name an existing file or folder."""
    if not ckpt:
        raise ConfigError("ckpt: accel test needs a checkpoint: accel test ckpt=PATH")
    if not Path(str(ckpt)).exists():
        raise ConfigError(f"ckpt: no such file or folder: {ckpt}")
