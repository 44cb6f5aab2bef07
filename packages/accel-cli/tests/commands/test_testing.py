"""`accel test ckpt=`: a checkpoint is a file from anywhere, opened under the loading policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_one_line_error, cli, copy_checkpoint, edit_manifest, run_dirs

from accel.core.errors import AccelError

FAST = ["trainer.max_epochs=1", "~callbacks.progress"]


def crafted(trained_run: Path, root: Path, section: str) -> tuple[Path, Path]:
    """A copy of a real checkpoint whose manifest `section` (e.g. `model.spec`) is replaced
    by an `os.system` spec that would create `root/MARKER`; (checkpoint, marker)."""
    marker = root / "MARKER"
    spec = {"_target_": "os.system", "command": f"touch {marker}"}
    parent, key = section.split(".")

    def change(manifest: dict[str, Any]) -> None:
        manifest[parent][key] = spec

    return edit_manifest(copy_checkpoint(trained_run, root / "shared"), change), marker


def test_the_crafted_spec_would_run_code(tmp_path: Path) -> None:
    """What the tests below guard against: built as a config, the spec runs its command."""
    from accel.core.registry import build

    marker = tmp_path / "MARKER"
    with pytest.raises(AccelError, match="not a Model"):
        build("models", {"_target_": "os.system", "command": f"touch {marker}"})
    assert marker.exists()


@pytest.mark.parametrize(
    ("section", "key"),
    [("model.spec", "model.spec._target_ = 'os.system'"), ("config.data", "config.data._target_")],
)
def test_crafted_manifest_runs_nothing(
    section: str,
    key: str,
    trained_run: Path,
    tiny_project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ckpt, marker = crafted(trained_run, tiny_project, section)
    line = assert_one_line_error(["test", f"ckpt={ckpt}"], capsys, key, root=tiny_project)
    assert "manifest.json" in line
    assert "--trust-file" in line
    assert not marker.exists()


def test_trust_file_builds_the_target(
    trained_run: Path, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, marker = crafted(trained_run, tiny_project, "model.spec")
    assert cli(["test", f"ckpt={ckpt}", "--trust-file"]) != 0  # os.system returns no model
    assert marker.exists()  # but it was called: the flag lets the file name code


def test_a_project_target_needs_the_flag_once_the_project_drops_it(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cnn = tiny_project / "configs" / "model" / "cnn.yaml"
    cnn.write_text(
        "_target_: accel_cli_testkit.TinyCnn\nin_channels: 1\nnum_classes: 2\nwidth: 4\n"
    )
    assert cli(["train", "model=cnn", *FAST]) == 0
    [trained] = run_dirs(tiny_project)
    cnn.unlink()  # no config of this project names TinyCnn any more
    capsys.readouterr()
    expected = "model.spec._target_ = 'accel_cli_testkit.TinyCnn'"
    assert_one_line_error(["test", f"ckpt={trained}"], capsys, expected)
    assert run_dirs(tiny_project) == [trained]
    assert cli(["test", f"ckpt={trained}", "--trust-file"]) == 0
    assert "test/accuracy" in capsys.readouterr().out


def test_checkpoint_folder_name_with_equals_signs(
    trained_run: Path, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = copy_checkpoint(trained_run, tiny_project / "shared")
    assert "=" in ckpt.name  # epoch=000-step=0000004: Hydra syntax unless quoted
    assert cli(["test", f"ckpt={ckpt}"]) == 0
    assert "test/accuracy" in capsys.readouterr().out


def test_nan_weights_are_a_clear_error(
    trained_run: Path, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors.torch import load_file, save_file

    ckpt = copy_checkpoint(trained_run, tiny_project / "shared")
    tensors = load_file(str(ckpt / "tensors.safetensors"))
    tensors["model.1.bias"] = tensors["model.1.bias"] * float("nan")
    save_file(tensors, str(ckpt / "tensors.safetensors"))
    expected = "holds NaN weights (1.bias): it was saved from a diverged model"
    assert_one_line_error(["test", f"ckpt={ckpt}"], capsys, expected)  # read once, when loaded
