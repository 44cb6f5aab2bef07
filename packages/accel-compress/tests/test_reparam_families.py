"""fold_bn and merge_branches on model families' own blocks (timm, torchvision): matched by
graph pattern, not by class name. Random weights only; BN statistics randomized."""

from __future__ import annotations

import pytest
import torch
from compress_models import randomize_bn
from torch import nn

from accel.compress.passes.reparam import FoldBN, MergeBranches
from accel.core.passes import PassContext

timm = pytest.importorskip("timm")
torchvision = pytest.importorskip("torchvision")


def count(model: nn.Module, kind: type, prefix: str = "") -> int:
    return sum(isinstance(m, kind) for n, m in model.named_modules() if n.startswith(prefix))


@pytest.fixture(scope="module")
def repvgg_a0() -> nn.Module:
    torch.manual_seed(0)
    return randomize_bn(timm.create_model("repvgg_a0", pretrained=False))


def test_merge_branches_merges_every_timm_repvgg_block(repvgg_a0: nn.Module) -> None:
    x = torch.randn(2, 3, 64, 64)
    context = PassContext(example_inputs=x)
    merged = MergeBranches()(repvgg_a0, context)
    blocks = [n for n, m in repvgg_a0.named_modules() if hasattr(m, "conv_kxk")]
    assert len(blocks) == 22
    assert context.reports[-1].metrics["merged"] == len(blocks)
    assert context.reports[-1].metrics["output_error"] <= 1e-4
    assert all(count(merged, nn.Conv2d, block + ".") == 1 for block in blocks)
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in merged.modules())
    assert count(merged, nn.BatchNorm2d) == 0
    program = torch.export.export(merged, (x,))  # the rest of the pipeline can export it
    expected = repvgg_a0(x)
    error = (program.module()(x) - expected).abs().max() / expected.abs().max()
    assert error <= 1e-4


def test_fold_bn_inside_timm_modules_keeps_the_class(repvgg_a0: nn.Module) -> None:
    context = PassContext(example_inputs=torch.randn(2, 3, 64, 64))
    folded = FoldBN()(repvgg_a0, context)
    report = context.reports[-1]
    assert type(folded) is type(repvgg_a0)
    assert report.metrics["folded"] == 44  # every conv's BatchNormAct2d
    assert report.metrics["output_error"] <= 1e-4
    assert "17 BatchNorm(s) left alone" in report.notes[0]


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_fold_bn_folds_every_torchvision_conv_bn(name: str) -> None:
    torch.manual_seed(0)
    model = randomize_bn(getattr(torchvision.models, name)(weights=None))
    before = count(model, nn.BatchNorm2d)
    context = PassContext(example_inputs=torch.randn(2, 3, 64, 64))
    folded = FoldBN()(model, context)
    assert count(folded, nn.BatchNorm2d) == 0
    assert context.reports[-1].metrics["folded"] == before
    assert context.reports[-1].metrics["output_error"] <= 1e-4
    assert type(folded) is type(model)


class ReluThenBN(nn.Module):
    """conv → BN (folds), then ReLU → BN (not after a conv: left alone)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.after_relu = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_relu(self.body(x))


def test_a_batchnorm_after_other_ops_is_left_alone_with_a_note() -> None:
    context = PassContext(example_inputs=torch.randn(2, 3, 8, 8))
    folded = FoldBN()(randomize_bn(ReluThenBN()), context)
    report = context.reports[-1]
    assert report.metrics["folded"] == 1
    assert isinstance(folded.body[1], nn.Identity)
    assert isinstance(folded.after_relu, nn.BatchNorm2d)
    assert "1 BatchNorm(s) left alone" in report.notes[0]
    assert "after_relu" in report.notes[0]
    assert report.metrics["output_error"] <= 1e-4


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        return y + x if x.mean() > 0 else y  # data-dependent: fx cannot trace it


@pytest.mark.parametrize("pass_", [FoldBN, MergeBranches])
def test_untraceable_model_is_skipped_by_either_pass(pass_: type) -> None:
    context = PassContext(example_inputs=torch.randn(2, 3, 8, 8))
    model = Untraceable().eval()
    assert pass_()(model, context) is model
    assert context.reports[-1].status == "skipped"
    assert "not traceable" in context.reports[-1].notes[0]
