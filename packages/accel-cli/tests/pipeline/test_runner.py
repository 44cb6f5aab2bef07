"""`accel pipeline run` end to end on a tiny model, with a step that fails until told not to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import cli

from accel.cli.pipeline.runner import check_pipeline, fresh_dir
from accel.core.errors import ConfigError

TINY_PIPELINE = """\
name: tiny
steps:
  - {name: train, kind: train}
  - name: check
    kind: compress
    passes: [{_target_: accel_cli_testkit.CheckPass, fail_while: FAIL}]
  - name: finetune
    kind: finetune
    config: {trainer: {max_epochs: 1}, optimizer: {lr: 0.01}}
  - {name: evaluate, kind: evaluate}
"""
FAST = ["trainer.max_epochs=1", "~callbacks.progress"]


@pytest.fixture
def pipeline_project(tiny_project: Path) -> Path:
    (tiny_project / "configs" / "pipeline").mkdir()
    (tiny_project / "configs" / "pipeline" / "tiny.yaml").write_text(TINY_PIPELINE)
    return tiny_project


def the_run_dir(root: Path) -> Path:
    [run_dir] = [p for p in (root / "runs").glob("*/*") if p.is_dir()]
    return run_dir


def test_pipeline_runs_every_step_and_reports(
    pipeline_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["pipeline", "run", "pipeline=tiny", *FAST]) == 0
    run_dir = the_run_dir(pipeline_project)
    state = json.loads((run_dir / "pipeline_state.json").read_text())["steps"]
    assert [s["status"] for s in state.values()] == ["done"] * 4
    assert state["check"]["metrics"]["passes"][0]["metrics"] == {"seen": "Sequential"}
    assert (run_dir / "steps" / "02-finetune" / "model.safetensors").is_file()
    report = json.loads((run_dir / "report.json").read_text())
    assert set(report["models"]) == {"train", "check", "finetune"}
    assert 0.0 <= report["models"]["finetune"]["test_accuracy"] <= 1.0
    assert "| finetune | finetune | done |" in (run_dir / "report.md").read_text()


def test_resume_skips_finished_steps(
    pipeline_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flag = pipeline_project / "FAIL"
    flag.write_text("")
    assert cli(["pipeline", "run", "pipeline=tiny", *FAST]) == 1
    run_dir = the_run_dir(pipeline_project)
    err = capsys.readouterr().err
    assert err.startswith("error: pipeline step 'check' failed: RuntimeError: asked to fail")
    assert f"accel pipeline run --resume {run_dir.relative_to(pipeline_project)}" in err
    state = json.loads((run_dir / "pipeline_state.json").read_text())["steps"]
    assert state["train"]["status"] == "done"
    assert state["check"]["status"] == "failed"
    assert "asked to fail" in state["check"]["error"]
    checkpoint = run_dir / "steps" / "00-train" / "checkpoints" / "last"
    before = checkpoint.stat().st_mtime_ns
    flag.unlink()
    capsys.readouterr()
    assert cli(["pipeline", "run", "--resume", str(run_dir)]) == 0
    assert "step train: done already, skipped" in capsys.readouterr().out
    assert checkpoint.stat().st_mtime_ns == before
    state = json.loads((run_dir / "pipeline_state.json").read_text())["steps"]
    assert [s["status"] for s in state.values()] == ["done"] * 4


def test_pipeline_needs_a_pipeline(tiny_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["pipeline", "run"]) == 2
    assert "pipeline: choose one with pipeline=NAME" in capsys.readouterr().err
    assert not (tiny_project / "runs").exists()


def test_resume_errors(tmp_path: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["pipeline", "run", "--resume", str(tmp_path / "none")]) == 2
    assert "no config.yaml there" in capsys.readouterr().err
    assert cli(["pipeline", "run", "--resume", str(tmp_path), "seed=1"]) == 2
    assert "drop the overrides seed=1" in capsys.readouterr().err
    (tmp_path / "config.yaml").write_text("a: [1,\n")
    assert cli(["pipeline", "run", "--resume", str(tmp_path)]) == 2
    assert "broken YAML" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (None, "choose one with pipeline=NAME"),
        ({"steps": []}, "pipeline.steps: expected a non-empty list"),
        ({"steps": [3]}, r"pipeline.steps\[0\]: expected a mapping"),
        ({"steps": [{"name": "a", "kind": "bake"}]}, r"kind='bake' is not valid; use one of train"),
        ({"steps": [{"name": "train"}, {"name": "train"}]}, "'train' is used twice"),
    ],
)
def test_check_pipeline_errors(pipeline: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_pipeline({"pipeline": pipeline})


def test_check_pipeline_kind_defaults_to_name() -> None:
    assert check_pipeline({"pipeline": {"steps": [{"name": "train"}]}}) == [{"name": "train"}]


def test_fresh_dir_empties_a_step_folder_but_keeps_a_tracked_attempt(tmp_path: Path) -> None:
    step = tmp_path / "steps" / "00-train"
    (step / "half-written.ckpt").parent.mkdir(parents=True)
    (step / "half-written.ckpt").write_text("x")
    assert list(fresh_dir(step).iterdir()) == []  # untracked leftovers go
    for attempt in (1, 2):
        (step / "mlflow").mkdir()
        (step / "mlflow" / "spool.jsonl").write_text(f"attempt {attempt}")
        assert list(fresh_dir(step).iterdir()) == []
        kept = step.with_name(f"00-train.attempt-{attempt}") / "mlflow" / "spool.jsonl"
        assert kept.read_text() == f"attempt {attempt}"  # unsent tracker data is never deleted
