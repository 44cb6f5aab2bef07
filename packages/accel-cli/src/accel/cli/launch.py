"""Several training processes on this machine, started by torch's elastic launcher.

`accel train trainer.engine=accelerate trainer.devices=N` resolves the config and creates the
run directory here, in the parent, then starts N workers (`python -m accel.cli.worker
RUN_DIR/config.yaml`) through `torch.distributed.launcher` (what `torchrun --standalone` uses):
a free rendezvous port, no restarts, and when one worker dies the launcher stops the others.

Under an external launcher (`accelerate launch -m accel.cli train ...`, `torchrun -m accel.cli
train ...`) every process runs `accel train`; process 0 resolves the config and claims the run
directory, and hands the resolved config to the others (see `share_config`).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accel.core.errors import AccelError, ConfigError

WORKER_ENV = "ACCEL_WORKER"  # set in the workers this module starts
RESULT_FILE = "result.json"  # the metrics the main worker hands back to the parent
MULTI_PROCESS_ENGINES = ("accelerate",)


class WorkerFailedError(AccelError):
    """A worker process failed or was killed; the launcher stopped the others."""


def engine_spec(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The engine's name and its own options from `trainer.engine` (a name or a mapping)."""
    engine = (config.get("trainer") or {}).get("engine", "torch")
    if isinstance(engine, Mapping):
        options = dict(engine)
        return str(options.pop("name", "torch")), options
    return str(engine), {}


def launched_externally() -> bool:
    """True inside a process started by torchrun / accelerate launch with other processes."""
    if os.environ.get(WORKER_ENV):
        return False
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def processes_to_launch(config: Mapping[str, Any]) -> int:
    """How many workers `accel train` must start: 1 (run here) unless `trainer.devices` > 1."""
    devices = (config.get("trainer") or {}).get("devices", 1)
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ConfigError(f"trainer.devices must be an int >= 1, got {devices!r}")
    if os.environ.get(WORKER_ENV) or launched_externally() or devices == 1:
        return 1
    name, options = engine_spec(config)
    if name not in MULTI_PROCESS_ENGINES:
        raise ConfigError(
            f"trainer.devices={devices} needs trainer.engine=accelerate "
            f"(the {name} engine runs one process)"
        )
    check_engine_here(config, options)
    return int(devices)


def check_engine_here(config: Mapping[str, Any], options: Mapping[str, Any]) -> None:
    """Fail in the parent, in one line, on what every worker would fail on."""
    from accel.core.optional import require

    require("accelerate", "'accel-core[accelerate]'", "trainer.engine=accelerate")
    from accel.core.engines.accelerate_engine import check_precision, check_strategy
    from accel.core.engines.torch_engine import select_device

    trainer = config.get("trainer") or {}
    device = select_device(str(trainer.get("device", "auto")))
    check_strategy(str(options.get("strategy", "ddp")), device)
    check_precision(str(trainer.get("precision", "32")), device)


def launch(run_dir: Path, processes: int, command: str = "accel train") -> dict[str, Any]:
    """Run the workers on `run_dir/config.yaml`; the main worker's metrics, or one-line error."""
    import json

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=processes,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",  # a free port, as `torchrun --standalone` picks
        max_restarts=0,
        monitor_interval=0.5,
    )
    os.environ[WORKER_ENV] = "1"  # inherited by the workers
    args = ("-m", "accel.cli.worker", str(run_dir / "config.yaml"))
    try:
        elastic_launch(config, sys.executable)(*args)
    except ChildFailedError as error:
        raise WorkerFailedError(describe_failure(error, run_dir, command)) from None
    except SignalException as error:  # Ctrl-C or a kill of this process: workers stopped
        raise WorkerFailedError(
            f"stopped by {error.sigval.name}; all {processes} processes stopped. Resume from "
            f"the last checkpoint with: {resume_command(run_dir, command)}"
        ) from None
    finally:
        os.environ.pop(WORKER_ENV, None)
    result = run_dir / RESULT_FILE
    return dict(json.loads(result.read_text())) if result.is_file() else {}


def describe_failure(error: Any, run_dir: Path, command: str) -> str:
    """`training process 1 (pid N) was killed by SIGKILL; ...; resume with: <command>`."""
    rank, failure = error.get_first_failure()
    if failure.exitcode < 0:
        how = f"was killed by {failure.signal_name()}"
    else:
        how = f"exited with code {failure.exitcode} (its error is printed above)"
    return (
        f"training process {rank} (pid {failure.pid}) {how}; the launcher stopped the others. "
        f"Resume from its last checkpoint with: {resume_command(run_dir, command)}"
    )


def resume_command(run_dir: Path, command: str) -> str:
    """The run's own overrides (from `overrides.yaml`) plus `resume=RUN_DIR`."""
    import shlex

    import yaml

    path = run_dir / "overrides.yaml"
    overrides = yaml.safe_load(path.read_text()) if path.is_file() else []
    kept = [o for o in overrides or [] if not str(o).startswith("resume=")]
    return shlex.join([*command.split(), *map(str, kept), f"resume={run_dir}"])


def share_config(config: dict[str, Any] | None, device: str) -> dict[str, Any]:
    """Process 0's resolved config on every process (under an external launcher).

    Starts Accelerate's process group (the engine reuses it) and broadcasts from process 0.
    """
    from accel.core.optional import require

    require("accelerate", "'accel-core[accelerate]'", "a launch with several processes")
    import torch.distributed as dist
    from accelerate import PartialState

    from accel.core.engines.torch_engine import select_device

    PartialState(cpu=select_device(device).type == "cpu")  # as the engine will decide
    box = [config]
    dist.broadcast_object_list(box, src=0)
    assert box[0] is not None
    return box[0]


def end_process_group() -> None:
    """Wait for every process, then close the group (see accel-core's `end_process_group`)."""
    from accel.core.runtime.distributed import end_process_group as end

    end()


def is_main_rank() -> bool:
    return int(os.environ.get("RANK", "0")) == 0
