"""`accel train callbacks=ema|swa` and `accel checkpoint ...` on real runs of the tiny project."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, cli, edit_manifest, run_dirs

TESTKIT = Path(__file__).parents[1] / "testkit"
PROJECT = {  # the tiny project of conftest.py: model, data and loss need only accel-core
    "main.yaml": "defaults:\n  - accel\n  - override model: tiny\n  - override data: tiny\n"
    "  - override loss: tiny\n  - _self_\n",
    "model/tiny.yaml": "_target_: accel_cli_testkit.TinyNet\nin_channels: 1\nnum_classes: 2\n",
    "data/tiny.yaml": "_target_: accel_cli_testkit.TinyData\nbatch_size: 16\nseed: ${seed}\n",
    "loss/tiny.yaml": "_target_: torch.nn.CrossEntropyLoss\n",
}
QUIET = ["~callbacks.progress", "+callbacks.checkpoint.monitor=train/loss"]


def records(run_dir: Path, kind: str) -> dict[str, float]:
    """The last `kind` record (epoch, test) of a run's metrics.jsonl."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if json.loads(line)["kind"] == kind][-1]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tiny project, with one 3-epoch EMA run (every epoch's checkpoint kept)."""
    root = tmp_path_factory.mktemp("project")
    for name, text in PROJECT.items():
        (root / "configs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "configs" / name).write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for name in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR", "ACCEL_DEBUG"):
            patch.delenv(name, raising=False)
        patch.syspath_prepend(str(TESTKIT))
        argv = ["train", "callbacks=ema", "callbacks.ema.decay=0.5", "trainer.max_epochs=3"]
        extra = [*QUIET, "+callbacks.checkpoint.save_top_k=3", f"trainer.run_dir={root}/ema"]
        assert cli([*argv, *extra]) == 0
        yield root


@pytest.fixture
def here(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(TESTKIT))
    for name in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR", "ACCEL_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return project


def copy_last(run: Path, dest: Path) -> Path:
    name = json.loads((run / "checkpoints" / "last").read_text())["checkpoint"]
    return Path(shutil.copytree(run / "checkpoints" / name, dest / name))


def test_ema_metrics_beside_the_raw_ones_and_accel_test_uses_ema_by_default(here: Path) -> None:
    fitted = records(here / "ema", "test")
    assert {"test/accuracy", "test_ema/accuracy"} <= set(fitted)
    assert "val_ema/loss" in records(here / "ema", "epoch")
    before = set(run_dirs(here))
    assert cli(["test", "ckpt=ema", "~callbacks.progress"]) == 0
    [default] = set(run_dirs(here)) - before
    assert records(default, "test")["test/loss"] == pytest.approx(fitted["test_ema/loss"])
    assert fitted["test_ema/loss"] != fitted["test/loss"]


def test_swa_trains_and_reports_its_average(here: Path) -> None:
    argv = ["train", "callbacks=swa", "callbacks.swa.swa_start=1", "trainer.max_epochs=2"]
    assert cli([*argv, *QUIET, "trainer.run_dir=swa"]) == 0
    assert {"val_swa/accuracy", "val/accuracy"} <= set(records(here / "swa", "epoch"))
    assert "test_swa/accuracy" in records(here / "swa", "test")
    assert cli(["checkpoint", "verify", "swa"]) == 0


def test_inspect_prints_the_manifest_and_tensor_table(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["checkpoint", "inspect", "ema"]) == 0
    out = capsys.readouterr().out
    assert "weights     raw, ema (default ema)" in out
    assert "model.1.weight" in out
    assert "callbacks.EMA.weights.1.weight" in out
    assert cli(["checkpoint", "inspect", "ema", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["loop"]["epoch"] == 2
    assert {"name": "ema", "decay": 0.5} in [
        {k: c[k] for k in ("name", "decay") if k in c} for c in info["config"]["callbacks"]
    ]


def test_verify_says_ok_then_one_line_for_truncation_and_for_a_shape_mismatch(
    here: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["checkpoint", "verify", "ema"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    truncated = copy_last(here / "ema", tmp_path / "a")
    data = (truncated / "tensors.safetensors").read_bytes()
    (truncated / "tensors.safetensors").write_bytes(data[: len(data) // 2])
    line = assert_one_line_error(["checkpoint", "verify", str(truncated)], capsys, code=1)
    assert "tensors.safetensors is truncated" in line
    resized = copy_last(here / "ema", tmp_path / "b")
    edit_manifest(resized, lambda m: m["model"]["spec"].update(num_classes=3))
    line = assert_one_line_error(["checkpoint", "verify", str(resized)], capsys, code=1)
    assert "weights raw, ema do not fit the model its config builds" in line
    assert "vs (3," in line


def test_average_convert_and_migrate(
    here: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from accel.core.checkpoint import load_checkpoint, model_state_dict, rebuild_model
    from accel.core.trust import trusting_files

    assert cli(["checkpoint", "average", "ema", "--last", "2", "--out", f"{tmp_path}/soup"]) == 0
    assert cli(["checkpoint", "verify", f"{tmp_path}/soup"]) == 0
    onnx = tmp_path / "m.onnx"
    argv = ["checkpoint", "convert", "ema", "--to", "onnx", "--out", str(onnx)]
    with trusting_files():
        model = rebuild_model(here / "ema").eval()  # the EMA weights, as the export's
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        line = assert_one_line_error([*argv, "--input-shape", "1,8,8"], capsys)  # accel-cli alone
        assert "needs onnx: pip install onnx" in line
    else:
        assert cli([*argv, "--input-shape", "1,8,8"]) == 0
        import onnxruntime

        batch = torch.rand(3, 1, 8, 8)
        session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"input": batch.numpy()})
        expected = model(batch).detach()
        torch.testing.assert_close(torch.from_numpy(out), expected, rtol=1e-5, atol=1e-5)
    bad_shape = [*argv[:-1], str(tmp_path / "x.onnx"), "--input-shape", "1,x"]
    assert_one_line_error(bad_shape, capsys)

    old = copy_last(here / "ema", tmp_path / "old")  # written as format version 1 wrote it
    edit_manifest(
        old, lambda m: [m.pop("weights"), m.pop("default_weights"), m.update(format_version=1)]
    )
    capsys.readouterr()
    assert cli(["checkpoint", "migrate", str(old), "--out", f"{tmp_path}/new"]) == 0
    assert "migrated format version 1 -> 2" in capsys.readouterr().out
    manifest, tensors = load_checkpoint(tmp_path / "new")
    assert manifest["default_weights"] == "raw"
    assert model_state_dict(manifest, tensors).keys() == model.state_dict().keys()
