"""What a pipeline step hands the next: a torch model in accel's pruned-model format (the folder
`accel compress` opens), or a file, and how each is opened again."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from accel.cli.pipeline.artifacts import describe, files_of, open_module, size_mb
from accel.core.errors import ConfigError
from accel.core.pruned import SPEC_FILE, WEIGHTS_FILE
from accel.core.trust import allowing_targets

SPEC = {"_target_": "accel_cli_testkit.TinyCnn", "in_channels": 1, "num_classes": 2, "width": 8}


def prune_middle(model: nn.Sequential, keep: int) -> nn.Sequential:
    """Keep the first `keep` channels of the first conv (and what depends on them)."""
    conv1, bn1, conv2 = model[0], model[1], model[3]
    new1 = nn.Conv2d(1, keep, 3, padding=1)
    new1.weight.data, new1.bias.data = conv1.weight.data[:keep], conv1.bias.data[:keep]
    newbn = nn.BatchNorm2d(keep)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(newbn, name).data = getattr(bn1, name).data[:keep].clone()
    new2 = nn.Conv2d(keep, conv2.out_channels, 3, padding=1)
    new2.weight.data, new2.bias.data = conv2.weight.data[:, :keep], conv2.bias.data
    model[0], model[1], model[3] = new1, newbn, new2
    return model


def test_a_pruned_model_is_saved_in_the_compress_format_and_opens_again(
    tmp_path: Path, workdir: Path
) -> None:
    from accel.core.registry import build

    torch.manual_seed(0)
    with allowing_targets([SPEC["_target_"]]):  # the user's own config names TinyCnn
        model = prune_middle(build("models", SPEC), keep=3).eval()
        record = describe(model, tmp_path, SPEC)
        loaded = open_module(record, "next").eval()
    folder = Path(record["path"])
    assert record["format"] == "module"
    assert record["spec"] == SPEC
    assert {p.name for p in files_of(record)} == {SPEC_FILE, WEIGHTS_FILE}
    assert (loaded[0].out_channels, loaded[3].in_channels) == (3, 3)
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(model(x), loaded(x))
    stored = sum((folder / name).stat().st_size for name in (SPEC_FILE, WEIGHTS_FILE))
    assert size_mb(record) == round(stored / 2**20, 4)  # the owner marker is not the model


def test_a_file_artifact_cannot_go_back_to_torch(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    record = {"format": "onnx", "path": str(tmp_path / "m.onnx")}
    with pytest.raises(ConfigError, match="put it before the step that exports"):
        open_module(record, "finetune")


def test_a_pass_returning_something_else_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a pass returned a dict"):
        describe({"not": "a model"}, tmp_path, None)


def test_an_openvino_ir_is_a_file_artifact_with_its_weights(tmp_path: Path) -> None:
    from dataclasses import dataclass

    @dataclass
    class Ir:  # what accel-compress's OpenVinoModel exposes: a path
        path: Path

    (tmp_path / "model.xml").write_bytes(b"<net/>")
    (tmp_path / "model.bin").write_bytes(b"\0" * 2048)
    record = describe(Ir(tmp_path / "model.xml"), tmp_path, None)
    assert record["format"] == "openvino"
    assert {p.name for p in files_of(record)} == {"model.xml", "model.bin"}
    assert size_mb(record) == round((6 + 2048) / 2**20, 4)
    with pytest.raises(ConfigError, match=r"left a file \(openvino: "):
        open_module(record, "finetune")
