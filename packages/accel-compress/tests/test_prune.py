"""Structured pruning with torch-pruning: real channel removal, options and errors."""

from __future__ import annotations

import pytest
import torch
from compress_models import MLP, TinyResNet
from torch import nn

from accel.compress.analysis import count_macs
from accel.compress.passes.prune import Prune
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


def run(model: nn.Module, context: PassContext | None = None, **options) -> nn.Module:
    context = context or PassContext(example_inputs=torch.randn(4, 1, 8, 8))
    return Prune(**options)(model, context)


def test_half_ratio_halves_conv_channels_and_keeps_the_head() -> None:
    model = TinyResNet().eval()
    pruned = run(model, ratio=0.5)
    assert pruned.layer1.conv1.out_channels == 8
    assert model.layer1.conv1.out_channels == 16
    assert pruned.fc.out_features == 10
    assert pruned(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def test_round_to_keeps_channel_counts_multiples_of_eight() -> None:
    pruned = run(TinyResNet(width=32).eval(), ratio=0.3, round_to=8)
    convs = [m for m in pruned.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.out_channels % 8 == 0 for c in convs)


def test_speedup_target_reaches_the_macs_ratio() -> None:
    model = TinyResNet().eval()
    x = torch.randn(4, 1, 8, 8)
    pruned = run(model, PassContext(example_inputs=x), ratio=None, speedup=2.0)
    assert count_macs(model, x) / count_macs(pruned, x) >= 2.0


def test_report_counts_params_and_macs_before_and_after() -> None:
    context = PassContext(example_inputs=torch.randn(4, 1, 8, 8))
    run(TinyResNet().eval(), context, ratio=0.5, importance="bn_scale")
    metrics = context.reports[-1].metrics
    assert metrics["params_after"] < metrics["params_before"]
    assert metrics["macs_after"] < metrics["macs_before"]


def test_taylor_importance_uses_labelled_data(digits) -> None:
    context = PassContext(example_inputs=digits.example, train_data=digits.train)
    pruned = run(TinyResNet().eval(), context, ratio=0.5, importance="taylor")
    assert pruned.layer1.conv1.out_channels == 8


def test_taylor_without_data_says_what_it_needs() -> None:
    with pytest.raises(ConfigError, match="'taylor' needs labelled data"):
        run(TinyResNet().eval(), ratio=0.5, importance="taylor")


def test_ignored_layer_keeps_its_channels() -> None:
    pruned = run(TinyResNet().eval(), ratio=0.5, ignored=["stem.0"])
    assert pruned.stem[0].out_channels == 16


def test_unknown_ignored_layer_is_named() -> None:
    with pytest.raises(ConfigError, match="no module named 'nope' to ignore"):
        run(MLP().eval(), ratio=0.5, ignored=["nope"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"importance": "l3"}, "importance 'l3' is not one of l1, l2, bn_scale, taylor"),
        ({"ratio": 1.5}, r"ratio must be in \[0, 1\)"),
        ({"ratio": None, "speedup": 0.5}, "speedup must be > 1"),
    ],
)
def test_bad_options_are_one_line_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Prune(**options)


def test_prune_refuses_a_non_torch_artifact() -> None:
    with pytest.raises(ConfigError, match="prune works on a torch model"):
        Prune()("model.onnx", PassContext())  # type: ignore[arg-type]


class FunctionalConv(nn.Module):
    """A raw weight used through F.conv2d: torch-pruning does not see it as a layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.w = nn.Parameter(torch.randn(8, 16, 3, 3))
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(x))
        x = nn.functional.conv2d(x, self.w, padding=1)
        return self.fc(x.mean((2, 3)))


def test_a_model_torch_pruning_cannot_handle_is_skipped_with_a_note() -> None:
    model = FunctionalConv().eval()
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8))
    assert Prune(0.5)(model, context) is model
    report = context.reports[-1]
    assert report.status == "skipped"
    assert "torch-pruning cannot prune this model" in report.notes[0]
    assert model.conv.out_channels == 16  # the original is untouched
