"""The pipeline report: `report.json` for machines, `report.md` for people."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from accel.cli.pipeline.state import PipelineState
from accel.core.atomic import write_text_atomic


def write_report(
    run_dir: Path, steps: list[dict[str, Any]], state: PipelineState
) -> dict[str, Any]:
    models = _models(state)
    report = {
        "run_dir": str(run_dir),
        "steps": {s["name"]: asdict(state.steps[s["name"]]) for s in steps},
        "models": models,
    }
    write_text_atomic(run_dir / "report.json", json.dumps(report, indent=2, default=str))
    write_text_atomic(run_dir / "report.md", render_markdown(steps, state, models))
    return report


def _models(state: PipelineState) -> dict[str, Any]:
    for record in reversed(list(state.steps.values())):
        if "models" in record.metrics:
            return dict(record.metrics["models"])
    return {}


def render_markdown(
    steps: list[dict[str, Any]], state: PipelineState, models: dict[str, Any]
) -> str:
    lines = [
        "# Pipeline report",
        "",
        "| step | kind | status | seconds | output | size (MB) | test accuracy |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for step in steps:
        record = state.steps[step["name"]]
        row = models.get(step["name"], {})
        output = Path(record.artifact["path"]).name if record.artifact else "-"
        fmt = record.artifact["format"] if record.artifact else ""
        lines.append(
            f"| {step['name']} | {step.get('kind', step['name'])} | {record.status} | "
            f"{record.seconds:.1f} | {output} ({fmt}) | {row.get('size_mb', '-')} | "
            f"{row.get('test_accuracy', '-')} |"
        )
    return "\n".join(lines) + "\n"
