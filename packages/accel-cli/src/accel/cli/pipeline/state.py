"""The step-state file: which steps finished, and what each one left for the next.

A run dir may come from anywhere (`--resume RUN_DIR`), so the file is checked before anything
it names is opened, logged or uploaded: every record has a known status and format, and every
artifact path lies inside the run dir.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from accel.cli.pipeline.artifacts import FORMATS
from accel.core.atomic import write_text_atomic
from accel.core.errors import ConfigError
from accel.core.names import check_inside, check_name
from accel.core.trust import check_file_spec

STATE_FILE = "pipeline_state.json"
STATUSES = ("running", "done", "failed")


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
        except (OSError, UnicodeError, ValueError, RecursionError) as error:
            raise ConfigError(f"{path}: not a pipeline state file ({error})") from None
        steps = raw.get("steps") if isinstance(raw, dict) else None
        if not isinstance(steps, dict):
            raise ConfigError(f"{path}: not a pipeline state file (expected {{steps: {{...}}}})")
        return cls(path, {str(n): read_record(n, r, path, run_dir) for n, r in steps.items()})

    def done(self, name: str) -> bool:
        record = self.steps.get(name)
        return record is not None and record.status == "done"

    def record(self, name: str, record: StepRecord) -> None:
        self.steps[name] = record
        self.save()

    def save(self) -> None:
        data = {"steps": {name: asdict(r) for name, r in self.steps.items()}}
        write_text_atomic(self.path, json.dumps(data, indent=2))


RECORD_FIELDS = tuple(f.name for f in fields(StepRecord))


def read_record(name: Any, raw: Any, path: Path, run_dir: Path) -> StepRecord:
    """One record of the state file, checked; errors name the file and the key."""
    key = f"steps.{check_name(name, f'{path}: steps key')}"
    where = f"{path}: {key}"
    if not isinstance(raw, dict) or not set(raw) <= set(RECORD_FIELDS) or "status" not in raw:
        raise ConfigError(f"{where}: expected a mapping with keys {', '.join(RECORD_FIELDS)}")
    if raw["status"] not in STATUSES:
        raise ConfigError(f"{where}.status={raw['status']!r}: expected one of {STATUSES}")
    seconds = raw.get("seconds", 0.0)
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not number or not 0 <= seconds < math.inf:
        raise ConfigError(f"{where}.seconds={seconds!r}: expected a finite number >= 0")
    if not isinstance(raw.get("metrics", {}), dict):
        raise ConfigError(f"{where}.metrics: expected a mapping")
    if not isinstance(raw.get("error"), str | None):
        raise ConfigError(f"{where}.error: expected a string or null")
    if raw.get("artifact") is not None:
        check_artifact(raw["artifact"], path, f"{key}.artifact", run_dir)
    return StepRecord(**{**raw, "seconds": float(seconds)})


def check_artifact(artifact: Any, path: Path, key: str, run_dir: Path) -> None:
    """A known format, a path inside the run dir, and a spec the loading policy allows."""
    where = f"{path}: {key}"
    if not isinstance(artifact, dict):
        raise ConfigError(f"{where}: expected a mapping {{format, path}}")
    if artifact.get("format") not in FORMATS:
        raise ConfigError(f"{where}.format={artifact.get('format')!r}: expected one of {FORMATS}")
    if not isinstance(artifact.get("path"), str):
        raise ConfigError(f"{where}.path: expected a path inside {run_dir}")
    check_inside(artifact["path"], run_dir, f"{where}.path")
    check_file_spec(artifact.get("spec"), str(path), f"{key}.spec")
