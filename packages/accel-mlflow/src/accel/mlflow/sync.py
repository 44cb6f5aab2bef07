"""Replay every spooled run under a directory (parents before their children)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accel.core.errors import ConfigError
from accel.mlflow.client_env import client_environment, client_settings
from accel.mlflow.replay import Replayer
from accel.mlflow.spool import Spool
from accel.mlflow.state import STATE_NAME
from accel.mlflow.transient import ServerUnavailable


@dataclass
class SyncResult:
    """What one run directory's sync did."""

    directory: Path
    sent: int
    pending: bool
    error: str | None = None


def find_state_dirs(run_dir: Path) -> list[Path]:
    """Directories holding an accel-mlflow `run.json` under `run_dir`, shallowest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"accel mlflow sync: {run_dir} is not a directory")
    found = sorted({p.parent for p in run_dir.rglob(STATE_NAME)}, key=lambda p: len(p.parts))
    if not found:
        raise ConfigError(
            f"accel mlflow sync: no accel-mlflow run under {run_dir} (no {STATE_NAME})"
        )
    return found


def sync_run_dir(run_dir: Path, *, trust: bool = False) -> list[SyncResult]:
    """Send what every run under `run_dir` still holds; stop at the first outage.

    Files the spools name are sent only from inside `run_dir` unless `trust`.
    """
    results = []
    root = None if trust else Path(run_dir)
    for directory in find_state_dirs(run_dir):
        replayer = Replayer(directory, root=root)
        try:
            with client_environment(client_settings(replayer.state.tracking_uri, 1)):
                sent = replayer.replay(blocking=True)
            results.append(SyncResult(directory, sent, Spool(directory).has_pending()))
        except ServerUnavailable as error:
            results.append(SyncResult(directory, 0, True, str(error)))
            break
    return results
