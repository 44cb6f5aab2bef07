"""The contract of compression passes: what a pass receives, what it records, how passes chain.

A pass is any callable `pass_(artifact, context) -> artifact` registered in `accel.passes`
(see `accel.core.protocols.Pass`). The artifact is whatever the pass works on (a torch module,
an ONNX file, ...); the `PassContext` carries the data and settings every pass may need, and
collects one `PassReport` per pass. A pipeline runs passes by registry name, so it never imports
the package that provides them. No torch import here: this module is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError
from accel.core.registry import build

STATUSES = ("applied", "skipped", "dropped", "failed")


@dataclass
class PassReport:
    """What one pass did: its status, time, numbers (e.g. output error) and one-line notes."""

    name: str
    status: str = "applied"
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ConfigError(
                f"pass report '{self.name}': status {self.status!r} is not one of "
                f"{', '.join(STATUSES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PassContext:
    """What passes share: real data, an evaluation function, where to write, and the reports.

    - `example_inputs`: one batch of inputs, for tracing and export (batch >= 2 keeps it dynamic).
    - `calib_data`: batches of real inputs (tensors, or `(inputs, targets)` pairs) to calibrate on.
    - `train_data` / `val_data`: `(inputs, targets)` batches for fine-tuning / evaluation.
    - `evaluate`: `evaluate(artifact) -> float`, higher is better (e.g. accuracy), or None.
    - `output_dir`: where passes may write files (intermediate ONNX files, exported programs).
    - `target`: the machine the result runs on (`x86`, `arm64`, `cuda`).
    """

    example_inputs: Any = None
    calib_data: Iterable[Any] | None = None
    train_data: Iterable[Any] | None = None
    val_data: Iterable[Any] | None = None
    evaluate: Callable[[Any], float] | None = None
    output_dir: Path | None = None
    target: str = "x86"
    device: str = "cpu"
    reports: list[PassReport] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def record(self, name: str, status: str = "applied", **metrics: Any) -> PassReport:
        """Append and return a new report for pass `name`."""
        report = PassReport(name, status, metrics=dict(metrics))
        self.reports.append(report)
        return report

    def workdir(self) -> Path:
        """The folder for a pass's files: `output_dir`, created on first use."""
        if self.output_dir is None:
            raise ConfigError("this pass writes files: set PassContext.output_dir to a folder")
        path = Path(self.output_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path


PassSpec = str | Mapping[str, Any]


def build_pass(spec: PassSpec) -> Any:
    """A pass from its registry spec: `"fold_bn"` or `{"name": "prune", "ratio": 0.5}`."""
    return build("passes", spec)


def pass_name(spec: PassSpec) -> str:
    """The name a spec refers to, for reports."""
    if isinstance(spec, str):
        return spec
    return str(spec.get("name") or spec.get("_target_") or "?")


def run_passes(specs: Sequence[PassSpec], artifact: Any, context: PassContext) -> Any:
    """Run passes in order, each on the previous one's artifact; time each into its report.

    A pass that records its own report keeps it (its `seconds` is filled in); one that records
    nothing gets an `applied` report. A failing pass raises: earlier results stay in `context`.
    """
    for spec in specs:
        pass_ = build_pass(spec)
        before = len(context.reports)
        start = time.perf_counter()
        artifact = pass_(artifact, context)
        seconds = time.perf_counter() - start
        if len(context.reports) == before:
            context.record(pass_name(spec))
        context.reports[-1].seconds = seconds
    return artifact
