"""`accel analyze-model` and `accel analyze-data` on a tiny model and data module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, cli, copy_checkpoint, edit_manifest

from accel.cli.commands.analyze_model import parse_shape
from accel.core.errors import AccelError, ConfigError


def only_run_dir(root: Path) -> Path:
    [run_dir] = [p for p in (root / "runs").glob("*/*") if p.is_dir()]
    return run_dir


def test_analyze_model_counts_params_and_macs(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["analyze-model", "--runs", "2"]) == 0
    result = json.loads((only_run_dir(tiny_project) / "model_analysis.json").read_text())
    assert result["params"] == 64 * 2 + 2  # Linear(64, 2)
    assert result["macs"] == 64 * 2
    assert result["input_shape"] == [1, 1, 8, 8]
    assert [layer["type"] for layer in result["layers"]] == ["Flatten", "Linear"]
    assert [layer["macs"] for layer in result["layers"]] == [0, 64 * 2]
    assert result["size_bytes"] == (64 * 2 + 2) * 4
    assert set(result["latency_ms"]) == {"batch_1", "batch_32"}
    for batch, entry in result["latency"].items():
        assert entry["repeats"] == 2
        assert entry["min_ms"] <= entry["median_ms"] <= entry["max_ms"]
        assert result["latency_ms"][batch] == round(entry["median_ms"], 4)
        assert {"cpu_ms", "load_average", "threads"} <= set(entry)
    out = capsys.readouterr().out
    assert "MACs" in out


def test_analyze_model_with_given_shape(tiny_project: Path) -> None:
    assert (
        cli(["analyze-model", "model.in_channels=3", "--input-shape", "3,8,8", "--runs", "1"]) == 0
    )
    result = json.loads((only_run_dir(tiny_project) / "model_analysis.json").read_text())
    assert result["params"] == 3 * 64 * 2 + 2


@pytest.mark.parametrize("text", ["", "a,b", "0,8,8", "3,-1"])
def test_bad_input_shape(text: str) -> None:
    with pytest.raises(ConfigError, match=r"--input-shape .*expected positive ints"):
        parse_shape(text)


def test_analyze_data_stats_and_png(tiny_project: Path) -> None:
    assert cli(["analyze-data", "--samples", "9"]) == 0
    run_dir = only_run_dir(tiny_project)
    stats = json.loads((run_dir / "data_analysis.json").read_text())
    assert stats["splits"]["train"]["count"] == 64
    assert sum(stats["splits"]["test"]["class_counts"].values()) == 64
    assert len(stats["splits"]["val"]["channel_mean"]) == 1
    assert (run_dir / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_model_from_checkpoint(tiny_project: Path) -> None:
    (tiny_project / "configs" / "model" / "cnn.yaml").write_text(
        "_target_: accel_cli_testkit.TinyCnn\nin_channels: 1\nnum_classes: 2\nwidth: 4\n"
    )
    assert cli(["train", "model=cnn", "trainer.max_epochs=1", "~callbacks.progress"]) == 0
    [trained] = [p for p in (tiny_project / "runs").glob("*/*") if p.is_dir()]
    assert cli(["analyze-model", f"ckpt={trained}", "--runs", "1"]) == 0
    [result_file] = list((tiny_project / "runs").glob("*/*/model_analysis.json"))
    result = json.loads(result_file.read_text())
    assert "Conv2d" in [layer["type"] for layer in result["layers"]]
    assert result["params"] == (4 * 9 + 4) + 8 + (4 * 4 * 9 + 4) + 8 + (4 * 2 + 2)


def crafted_checkpoint(trained_run: Path, root: Path) -> tuple[Path, Path]:
    """A real checkpoint whose model.spec would run `touch root/MARKER`; (checkpoint, marker)."""
    marker = root / "MARKER"
    spec = {"_target_": "os.system", "command": f"touch {marker}"}
    ckpt = copy_checkpoint(trained_run, root / "shared")
    return edit_manifest(ckpt, lambda m: m["model"].update(spec=spec)), marker


def test_analyze_crafted_checkpoint_runs_nothing(
    trained_run: Path, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from accel.core.registry import build

    ckpt, marker = crafted_checkpoint(trained_run, tiny_project)
    with pytest.raises(AccelError):  # the same spec, built as a config, runs its command
        build("models", json.loads((ckpt / "manifest.json").read_text())["model"]["spec"])
    assert marker.exists()
    marker.unlink()
    argv = ["analyze-model", f"ckpt={ckpt}", "--runs", "1"]
    expected = "manifest.json: model.spec._target_ = 'os.system' names code"
    assert_one_line_error(argv, capsys, expected, root=tiny_project)
    assert not marker.exists()
    assert cli([*argv, "--trust-file"]) != 0  # os.system builds no model, but it ran:
    assert marker.exists()
