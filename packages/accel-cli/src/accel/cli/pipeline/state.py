"""The step-state file: which steps finished, and what each one left for the next."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.cli.files import write_text_atomic
from accel.core.errors import ConfigError

STATE_FILE = "pipeline_state.json"


@dataclass
class StepRecord:
    """One finished (or failed) step: its output artifact and its metrics."""

    status: str
    artifact: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


@dataclass
class PipelineState:
    """`steps` by name, in the order they ran; saved atomically after every step."""

    path: Path
    steps: dict[str, StepRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, run_dir: Path) -> PipelineState:
        path = run_dir / STATE_FILE
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            steps = {name: StepRecord(**record) for name, record in raw["steps"].items()}
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{path}: not a pipeline state file ({error})") from None
        return cls(path, steps)

    def done(self, name: str) -> bool:
        record = self.steps.get(name)
        return record is not None and record.status == "done"

    def record(self, name: str, record: StepRecord) -> None:
        self.steps[name] = record
        self.save()

    def save(self) -> None:
        data = {"steps": {name: asdict(r) for name, r in self.steps.items()}}
        write_text_atomic(self.path, json.dumps(data, indent=2))
