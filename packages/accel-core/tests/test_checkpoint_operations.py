"""Checkpoint operations on real checkpoints: header-only inspection, verification (truncated
file, shape mismatch, NaN), averaging, conversion, and migration of the stored v1 fixture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from core_tiny import TinyData, TinyNet
from safetensors.torch import load_file

from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.callbacks.ema import EMA
from accel.core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    model_state_dict,
    read_manifest,
    rebuild_model,
)
from accel.core.checkpoint.average import average_checkpoints, last_checkpoints
from accel.core.checkpoint.convert import convert_checkpoint
from accel.core.checkpoint.header import read_header
from accel.core.checkpoint.inspection import inspect_checkpoint, verify_checkpoint
from accel.core.checkpoint.migrate import (
    MIGRATIONS,
    migrate_checkpoint,
    register_migration,
    upgrade_manifest,
)
from accel.core.errors import ConfigError
from accel.core.runtime import Trainer, seed_everything

V1 = Path(__file__).parent / "fixtures" / "checkpoint-v1"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: 3 epochs of TinyNet with EMA, a checkpoint per epoch (all kept)."""
    from accel.core.registry import registry

    run_dir = tmp_path_factory.mktemp("run")
    seed_everything(0)
    data, model = TinyData(), TinyNet()
    with registry("models").registered("tiny_net", TinyNet, override=True):
        trainer = Trainer(
            max_epochs=3,
            run_dir=run_dir,
            seed=0,
            callbacks=[ModelCheckpoint(monitor="train/loss", save_top_k=5), EMA(decay=0.5)],
            default_callbacks=False,
            config={"model": {"name": "tiny_net"}},
        )
        trainer.fit(
            model, data.train_dataloader(), optimizer={"name": "sgd", "lr": 0.1},
            loss="cross_entropy",
        )  # fmt: skip
    return run_dir


def copy_last(run: Path, tmp_path: Path) -> Path:
    manifest = read_manifest(run)
    return Path(shutil.copytree(manifest["path"], tmp_path / "ckpt"))


def test_inspect_reads_the_header_only_and_reports_versions_and_weights(run: Path) -> None:
    info = inspect_checkpoint(run)
    assert info["format_version"] == FORMAT_VERSION
    assert info["default_weights"] == "ema"
    assert set(info["weights"]) == {"raw", "ema"}
    assert info["loop"]["global_step"] == 36
    names = {t["name"]: t for t in info["tensors"]}
    assert names["model.net.0.weight"]["shape"] == [16, 8]
    assert names["model.net.0.weight"]["bytes"] == 16 * 8 * 4
    header = read_header(Path(info["path"]) / "tensors.safetensors")
    _, tensors = load_checkpoint(run)
    assert {k: t.shape for k, t in header.tensors.items()} == {
        k: tuple(v.shape) for k, v in tensors.items()
    }


def test_verify_passes_a_sound_checkpoint(run: Path, tiny: None) -> None:
    result = verify_checkpoint(run)
    assert result.problems == []
    assert "weights 'ema' fit model TinyNet" in result.checked
    assert "no NaN" in result.checked


def test_verify_names_a_truncated_tensor_file_in_one_line(run: Path, tmp_path: Path) -> None:
    ckpt = copy_last(run, tmp_path)
    tensors = ckpt / "tensors.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:-100])
    problems = verify_checkpoint(ckpt).problems
    assert len(problems) == 1
    assert "tensors.safetensors is truncated: its header needs" in problems[0]
    assert "\n" not in problems[0]


def test_verify_names_a_shape_mismatch_and_nan(run: Path, tmp_path: Path, tiny: None) -> None:
    ckpt = copy_last(run, tmp_path)
    manifest = json.loads((ckpt / "manifest.json").read_text())
    manifest["model"]["spec"] = {"name": "tiny_net", "hidden": 32}
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    [problem] = verify_checkpoint(ckpt).problems
    assert problem.startswith("weights raw, ema do not fit the model its config builds (TinyNet)")
    assert "shape net.0.weight (16, 8) vs (32, 8)" in problem

    nan_ckpt = copy_last(run, tmp_path / "nan")
    tensors = load_file(str(nan_ckpt / "tensors.safetensors"))
    tensors["model.net.0.bias"][3] = float("nan")
    from safetensors.torch import save_file

    save_file(tensors, str(nan_ckpt / "tensors.safetensors"))
    assert verify_checkpoint(nan_ckpt).problems == ["1 tensors hold NaN: model.net.0.bias"]


def test_average_of_the_last_checkpoints_is_their_mean(run: Path, tmp_path: Path) -> None:
    paths = last_checkpoints(run, 2)
    assert [p.name for p in paths] == [p.name for p in list_checkpoints(run / "checkpoints")[-2:]]
    out = average_checkpoints(paths, tmp_path / "soup", weights="raw")
    manifest, tensors = load_checkpoint(out)
    averaged = model_state_dict(manifest, tensors)
    parts = [model_state_dict(*load_checkpoint(p), "raw") for p in paths]
    for key, value in averaged.items():
        torch.testing.assert_close(value, (parts[0][key] + parts[1][key]) / 2)
    assert not (tmp_path / "last").exists()  # no resume pointer written outside a run
    with pytest.raises(CheckpointError, match="exists; choose another output"):
        average_checkpoints(paths, out)
    with pytest.raises(CheckpointError, match="holds 3 checkpoints; cannot average the last 5"):
        last_checkpoints(run, 5)


def test_an_ema_style_average_weighs_newer_checkpoints_more(run: Path, tmp_path: Path) -> None:
    paths = last_checkpoints(run, 3)
    out = average_checkpoints(paths, tmp_path / "ema-soup", weights="raw", decay=0.5)
    averaged = model_state_dict(*load_checkpoint(out))
    parts = [model_state_dict(*load_checkpoint(p), "raw") for p in paths]
    for key, value in averaged.items():
        if value.is_floating_point():
            expected = (0.25 * parts[0][key] + 0.5 * parts[1][key] + parts[2][key]) / 1.75
            torch.testing.assert_close(value, expected)
    with pytest.raises(CheckpointError, match=r"--decay must be a number in \(0, 1\], got 0"):
        average_checkpoints(paths, tmp_path / "bad", decay=0)


def test_convert_to_a_state_dict_onnx_and_pt2(run: Path, tmp_path: Path, tiny: None) -> None:
    plain = convert_checkpoint(run, tmp_path / "w.safetensors", to="safetensors", weights="raw")
    assert load_file(str(plain)).keys() == TinyNet().state_dict().keys()
    model = rebuild_model(run).eval()  # the default weights: EMA
    batch = torch.randn(4, 8)
    program = convert_checkpoint(run, tmp_path / "m.pt2", to="pt2", input_shape=[8])
    exported = torch.export.load(str(program)).module()
    torch.testing.assert_close(exported(batch), model(batch))
    onnxruntime = pytest.importorskip("onnxruntime")
    onnx = convert_checkpoint(run, tmp_path / "m.onnx", to="onnx", input_shape=[8])
    session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": batch.numpy()})
    torch.testing.assert_close(torch.from_numpy(out), model(batch).detach(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="--to 'tflite' is not a format; use one of"):
        convert_checkpoint(run, tmp_path / "x", to="tflite")


def test_the_stored_v1_fixture_reads_as_current_and_migrates(tmp_path: Path, tiny: None) -> None:
    stored = json.loads((V1 / "manifest.json").read_text())
    assert stored["format_version"] == 1
    upgraded, steps = upgrade_manifest(stored, "v1")
    assert steps == list(range(1, FORMAT_VERSION))
    assert upgraded["weights"] == {"raw": ["model"]}
    assert rebuild_model(V1).state_dict().keys() == TinyNet().state_dict().keys()
    out, steps = migrate_checkpoint(V1, tmp_path / "v2")
    assert steps == [1]
    written = json.loads((out / "manifest.json").read_text())
    assert written["format_version"] == FORMAT_VERSION
    assert written["default_weights"] == "raw"
    assert (out / "tensors.safetensors").read_bytes() == (V1 / "tensors.safetensors").read_bytes()
    assert migrate_checkpoint(out) == (out, [])  # current already: nothing written
    assert verify_checkpoint(out).problems == []


def test_a_newer_format_is_refused_and_migrations_register_once(tmp_path: Path) -> None:
    ckpt = Path(shutil.copytree(V1, tmp_path / "future"))
    manifest = json.loads((ckpt / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="is newer than this accel-core reads"):
        read_manifest(ckpt)
    with pytest.raises(ValueError, match="a migration from format version 1 exists already"):
        register_migration(1)(MIGRATIONS[1])
