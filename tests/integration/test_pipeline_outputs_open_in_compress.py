"""A model the pipeline pruned and fine-tuned is in accel-compress's own format: `accel compress
analyze` opens the step's folder as it is (it once could not, even with --arch: the pipeline
wrote a format of its own)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.cli.main import run
from accel.core.pruned import load_pruned

PIPELINE = """\
name: prune_tune
steps:
  - {name: train, kind: train}
  - {name: prune, kind: compress, passes: ["${compress.prune}"]}
  - {name: finetune, kind: finetune}
"""
RESNET20_PARAMS = 272_186
DIGITS_SHAPE = ["--input-shape", "1,1,8,8"]  # the folder names its architecture, not its data


def accel(argv: list[str]) -> None:
    """`accel ARGV` in this process; fails the test on a non-zero exit."""
    with pytest.raises(SystemExit) as info:
        run(argv)
    assert not info.value.code, argv


def test_the_pipelines_pruned_model_opens_in_accel_compress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "configs" / "pipeline").mkdir(parents=True)
    (tmp_path / "configs" / "pipeline" / "prune_tune.yaml").write_text(PIPELINE)
    accel(["pipeline", "run", "pipeline=prune_tune", "trainer=fast", "~callbacks.progress"])
    [state_file] = (tmp_path / "runs").glob("*/*/pipeline_state.json")
    steps = json.loads(state_file.read_text())["steps"]
    for step in ("prune", "finetune"):
        folder = Path(steps[step]["artifact"]["path"])
        assert (folder / "channels.json").is_file()
        capsys.readouterr()
        accel(
            [
                "compress",
                "analyze",
                str(folder),
                *DIGITS_SHAPE,
                "--repeats",
                "1",
                "-o",
                f"{step}.json",
            ]
        )
        analysis = json.loads((tmp_path / f"{step}.json").read_text())
        pruned = load_pruned(folder)  # the architecture its spec names: no --arch needed
        assert analysis["params"] == sum(p.numel() for p in pruned.parameters())
        assert analysis["params"] < RESNET20_PARAMS * 0.5  # half the channels of resnet20
