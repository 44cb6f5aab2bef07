"""fold_bn and merge_branches: fewer layers, the same outputs."""

from __future__ import annotations

import pytest
import torch
from compress_models import MLP, RepNet, TinyResNet, randomize_bn
from torch import nn

from accel.compress.passes.reparam import FoldBN, MergeBranches
from accel.core.passes import PassContext


def count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


def test_fold_bn_removes_every_conv_bn_and_keeps_outputs() -> None:
    model = randomize_bn(TinyResNet())
    context = PassContext(example_inputs=torch.randn(8, 1, 8, 8))
    folded = FoldBN()(model, context)
    assert count(model, nn.BatchNorm2d) == 6
    assert count(folded, nn.BatchNorm2d) == 0
    report = context.reports[-1]
    assert report.metrics["folded"] == 6
    assert report.metrics["output_error"] < 1e-5
    assert type(folded) is TinyResNet  # the class and forward code are kept


def test_fold_bn_skips_a_model_without_batchnorm() -> None:
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8))
    model = MLP()
    assert FoldBN()(model, context) is model
    assert context.reports[-1].status == "skipped"


class Dynamic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent control flow: not traceable
            return self.bn(self.conv(x))
        return x


def test_untraceable_model_is_skipped_with_a_note_not_a_crash() -> None:
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8))
    model = Dynamic()
    assert FoldBN()(model, context) is model
    assert "not traceable" in context.reports[-1].notes[0]


def test_merge_branches_turns_each_repvgg_block_into_one_conv() -> None:
    model = randomize_bn(RepNet())
    context = PassContext(example_inputs=torch.randn(8, 1, 8, 8))
    merged = MergeBranches()(model, context)
    assert context.reports[-1].metrics["merged"] == 2
    assert context.reports[-1].metrics["output_error"] < 1e-5
    assert count(merged, nn.BatchNorm2d) == 0
    assert count(merged, nn.Conv2d) == 3  # stem + one per block (was 5)
    x = torch.randn(3, 1, 8, 8)
    assert torch.allclose(merged(x), model(x), atol=1e-4)


def test_merge_branches_leaves_a_resnet_residual_alone() -> None:
    model = randomize_bn(TinyResNet())
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8))
    assert MergeBranches()(model, context) is model
    assert context.reports[-1].status == "skipped"


@pytest.mark.parametrize("pass_", [FoldBN, MergeBranches])
def test_tolerance_breach_is_recorded(pass_: type) -> None:
    model = randomize_bn(RepNet())
    context = PassContext(example_inputs=torch.randn(8, 1, 8, 8))
    pass_(tolerance=0.0)(model, context)
    assert context.reports[-1].metrics["tolerance_broken"] is True
    assert "exceeds its tolerance" in context.reports[-1].notes[-1]
