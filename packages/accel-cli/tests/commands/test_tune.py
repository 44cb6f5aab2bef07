"""`accel tune lr`: a plot and a suggestion in the run dir; on digits, within an order of
magnitude of the packaged SGD rate (0.1), which trains ResNet-20 to ~98%."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, cli, run_dirs

PNG = b"\x89PNG\r\n\x1a\n"


def test_tune_lr_writes_a_plot_and_a_suggestion(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["tune", "lr", "--steps", "30", "--min-lr", "1e-4", "--max-lr", "100"]) == 0
    [run_dir] = run_dirs(tiny_project)
    record = json.loads((run_dir / "lr_find.json").read_text())
    assert len(record["lrs"]) == len(record["losses"]) <= 30
    assert (run_dir / "lr_find.png").read_bytes().startswith(PNG)
    if record["suggested_lr"] is not None:
        assert "train with: accel train optimizer.lr=" in capsys.readouterr().out


def test_tune_lr_refuses_a_bad_range_before_making_a_run_dir(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(
        ["tune", "lr", "--min-lr", "1", "--max-lr", "0.1"], capsys, "need 0 < min_lr < max_lr",
        root=tiny_project,
    )  # fmt: skip


@pytest.mark.slow
def test_on_digits_the_suggestion_is_near_the_known_good_rate(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("accel.cv")
    assert cli(["tune", "lr", "--steps", "60", "--min-lr", "1e-5", "threads=1"]) == 0
    [run_dir] = run_dirs(workdir)
    suggested = json.loads((run_dir / "lr_find.json").read_text())["suggested_lr"]
    assert 0.01 <= suggested <= 1.0, suggested  # the packaged sgd.yaml trains with lr 0.1
