"""What the run directory remembers about its MLflow run, so a resume reattaches to it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.core.atomic import write_json_atomic
from accel.core.errors import ConfigError

STATE_NAME = "run.json"


@dataclass
class RunState:
    """The run's identity: where it goes, and its id once the server has created it.

    `run_id` stays None while the server was never reached; the replayer creates the run
    (with the original start time and tags) the first time it gets through.
    """

    tracking_uri: str
    experiment: str
    run_name: str | None = None
    start_time: int = 0
    run_id: str | None = None
    experiment_id: str | None = None
    parent_dir: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def path(directory: Path) -> Path:
        return Path(directory) / STATE_NAME

    @classmethod
    def load(cls, directory: Path) -> RunState | None:
        """The state stored in `directory`, or None when there is none yet."""
        path = cls.path(directory)
        if not path.exists():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (ValueError, TypeError) as error:
            raise ConfigError(f"{path}: not an accel-mlflow run state ({error})") from None

    def save(self, directory: Path) -> None:
        write_json_atomic(self.path(directory), asdict(self))
