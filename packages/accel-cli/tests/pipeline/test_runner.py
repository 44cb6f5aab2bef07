"""`accel pipeline run` end to end on a tiny model, with a step that fails until told not to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import assert_one_line_error, cli

from accel.cli.pipeline.runner import check_pipeline, fresh_dir
from accel.core.errors import AccelError, ConfigError

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
    assert (run_dir / "steps" / "02-finetune" / "model" / "channels.json").is_file()
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
    assert list(fresh_dir(step, tmp_path / "steps").iterdir()) == []  # untracked leftovers go
    for attempt in (1, 2):
        (step / "mlflow").mkdir()
        (step / "mlflow" / "spool.jsonl").write_text(f"attempt {attempt}")
        assert list(fresh_dir(step, tmp_path / "steps").iterdir()) == []
        kept = step.with_name(f"00-train.attempt-{attempt}") / "mlflow" / "spool.jsonl"
        assert kept.read_text() == f"attempt {attempt}"  # unsent tracker data is never deleted


def stored_config(overrides: list[str]) -> dict[str, Any]:
    """The resolved config a pipeline run of this project stores as RUN_DIR/config.yaml."""
    from accel.cli.config.load import load_config

    return load_config(["pipeline=tiny", *FAST, *overrides]).config


def write_run_dir(root: Path, config: dict[str, Any]) -> Path:
    run_dir = root / "crafted"
    (run_dir / "steps").mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_dir


def test_a_dotdot_step_name_cannot_empty_a_folder_outside(
    pipeline_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before names were checked, this resume removed `victim` (a folder outside the run)."""
    victim = pipeline_project / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("a user's file")
    config = stored_config([])
    config["pipeline"]["steps"] = [{"name": "x/../../../victim", "kind": "evaluate"}]
    run_dir = write_run_dir(pipeline_project, config)
    (run_dir / "steps" / "00-x").mkdir()  # what makes the path resolve outside
    expected = "config.yaml: pipeline.steps[0].name='x/../../../victim': expected a name"
    assert_one_line_error(["pipeline", "run", "--resume", str(run_dir)], capsys, expected)
    assert (victim / "precious.txt").read_text() == "a user's file"


@pytest.mark.parametrize("where", ["outside", "nested", "steps-link", "step-link"])
def test_fresh_dir_refuses_and_keeps_anything_but_a_folder_in_steps(
    where: str, tmp_path: Path
) -> None:
    run_dir, victim = tmp_path / "run", tmp_path / "victim"
    (victim / "keep").mkdir(parents=True)
    (run_dir / "steps").mkdir(parents=True)
    steps, path = run_dir / "steps", run_dir / "steps" / "00-train"
    if where == "outside":
        path = victim
    elif where == "nested":
        path = steps / "a" / "00-train"
    elif where == "steps-link":
        steps.rmdir()
        steps.symlink_to(victim)
        path = steps / "keep"
    else:
        path.symlink_to(victim / "keep")
    with pytest.raises(ConfigError, match="pipeline step"):
        fresh_dir(path, steps)
    assert (victim / "keep").is_dir()


def with_spec(config: dict[str, Any], section: str, spec: dict[str, Any]) -> dict[str, Any]:
    """`config` with `spec` as its model, data or tracker, or as one more callback."""
    if section == "callbacks":
        return {**config, "callbacks": {**config["callbacks"], "crafted": spec}}
    return {**config, section: spec}


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("model", "model._target_"),
        ("data", "data._target_"),
        ("callbacks", "callbacks.crafted._target_"),
        ("tracker", "tracker._target_"),
    ],
)
def test_resume_with_a_crafted_target(
    section: str, key: str, pipeline_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from accel.core.registry import build

    marker = pipeline_project / "MARKER"
    spec = {"_target_": "os.system", "command": f"touch {marker}"}
    with pytest.raises(AccelError):  # the spec is live: built as a config, it runs
        build("models", spec)
    marker.unlink()
    run_dir = write_run_dir(pipeline_project, with_spec(stored_config([]), section, spec))
    argv = ["pipeline", "run", "--resume", str(run_dir)]
    assert_one_line_error(argv, capsys, f"config.yaml: {key} = 'os.system' names code")
    assert not marker.exists()
    assert not (run_dir / "pipeline_state.json").exists()  # no step started
    assert cli([*argv, "--trust-file"]) != 0  # os.system builds nothing useful, but it ran
    assert marker.exists()


def test_resume_refuses_a_state_that_points_outside_the_run_dir(
    pipeline_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = pipeline_project / "secret.onnx"
    secret.write_text("not for upload")
    run_dir = write_run_dir(pipeline_project, stored_config([]))
    record = {"status": "done", "artifact": {"format": "onnx", "path": str(secret)}}
    (run_dir / "pipeline_state.json").write_text(json.dumps({"steps": {"train": record}}))
    expected = f"steps.train.artifact.path={str(secret)!r}: expected a path inside"
    assert_one_line_error(["pipeline", "run", "--resume", str(run_dir)], capsys, expected)
    assert list((run_dir / "steps").iterdir()) == []  # nothing ran
