"""`accel pipeline run --resume RUN_DIR`: a run dir may come from anywhere, so it is read as an
untrusted file and checked whole before any step, tracker or log starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError

CONFIG_FILE = "config.yaml"
# what accel writes into a run dir: a link there could point the write outside it
WRITTEN = ("accel.log", "pipeline_state.json", "report.md", "report.json", "steps")


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The config a pipeline run was started with, checked (see `check_run_config`)."""
    import yaml

    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"--resume {run_dir}: no {CONFIG_FILE} there (not an accel run dir)")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: broken YAML: {' '.join(str(error).split())}") from None
    except (OSError, UnicodeError) as error:
        raise ConfigError(f"{path}: unreadable ({error})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read") from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: expected a mapping (the config of an accel run), got {type(config).__name__}"
        )
    return check_run_config(config, path)


def check_run_config(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """No `_target_` the loading policy refuses (call inside the command's policy), then the
    checks of a composed config, the pipeline's steps, the state file and the run dir."""
    from accel.cli.config.load import check_loaded
    from accel.cli.pipeline.runner import check_pipeline
    from accel.cli.pipeline.state import PipelineState
    from accel.core.trust import check_file_spec

    check_file_spec(config, str(path))
    try:
        check_loaded(config, [])
        check_pipeline(config)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    check_no_links(path.parent)
    PipelineState.load(path.parent)
    return config


def check_no_links(run_dir: Path) -> None:
    for name in WRITTEN:
        if (run_dir / name).is_symlink():
            raise ConfigError(
                f"{run_dir / name}: is a link; accel writes only real files inside a run dir"
            )
