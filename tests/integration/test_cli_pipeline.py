"""`accel pipeline run pipeline=prune_int8`: killed during a late step, finished by --resume
without repeating the steps already done; the result is an int8 ONNX model with a report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LATE_STEPS = ("quantize", "export", "evaluate")
FIRST_STEPS = ("train", "prune", "finetune")
ARGS = ["pipeline=prune_int8", "trainer.max_epochs=6", "~callbacks.progress"]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR")}


def read_state(root: Path) -> tuple[Path | None, dict]:
    for path in (root / "runs").glob("*/*/pipeline_state.json"):
        try:
            return path.parent, json.loads(path.read_text())["steps"]
        except (ValueError, KeyError):
            return path.parent, {}
    return None, {}


def kill_during_late_step(root: Path) -> Path:
    process = subprocess.Popen(
        [sys.executable, "-m", "accel.cli", "pipeline", "run", *ARGS],
        cwd=root,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 900
    try:
        while time.monotonic() < deadline and process.poll() is None:
            run_dir, steps = read_state(root)
            if any(steps.get(s, {}).get("status") == "running" for s in LATE_STEPS):
                process.send_signal(signal.SIGKILL)
                process.wait()
                assert run_dir is not None
                return run_dir
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    raise AssertionError(f"never saw a late step running: {process.stderr.read()}")  # type: ignore[union-attr]


@pytest.mark.slow
def test_kill_then_resume_finishes_without_repeating(tmp_path: Path) -> None:
    run_dir = kill_during_late_step(tmp_path)
    _, steps = read_state(tmp_path)
    assert all(steps[s]["status"] == "done" for s in FIRST_STEPS)
    marks = {
        p: p.stat().st_mtime_ns for p in (run_dir / "steps").glob("0[0-2]-*/**/*") if p.is_file()
    }
    result = subprocess.run(
        [sys.executable, "-m", "accel.cli", "pipeline", "run", "--resume", str(run_dir)],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    for step in FIRST_STEPS:
        assert f"step {step}: done already, skipped" in result.stdout
    assert marks
    assert all(p.stat().st_mtime_ns == t for p, t in marks.items())
    check_result(run_dir)


def check_result(run_dir: Path) -> None:
    import onnx
    import onnxruntime as ort

    report = json.loads((run_dir / "report.json").read_text())
    assert all(s["status"] == "done" for s in report["steps"].values())
    final = Path(report["steps"]["export"]["artifact"]["path"])
    assert final.suffix == ".onnx"
    graph = onnx.load(str(final)).graph
    assert any(node.op_type == "QuantizeLinear" for node in graph.node)
    ort.InferenceSession(str(final), providers=["CPUExecutionProvider"])
    models = report["models"]
    assert models["prune"]["size_mb"] < models["train"]["size_mb"]
    assert models["quantize"]["size_mb"] < models["finetune"]["size_mb"]
    assert models["finetune"]["test_accuracy"] >= 0.9
    assert models["quantize"]["test_accuracy"] >= models["finetune"]["test_accuracy"] - 0.05
    assert "| quantize | compress | done |" in (run_dir / "report.md").read_text()
