"""Core losses: values against their definitions, registry names, bad options."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from accel.core.errors import ConfigError
from accel.core.registry import build


def test_mae_mse_huber_match_torch() -> None:
    p, t = torch.randn(4, 5), torch.randn(4, 5)
    assert torch.allclose(build("losses", "mae")(p, t), (p - t).abs().mean())
    assert torch.allclose(build("losses", "mse")(p, t), ((p - t) ** 2).mean())
    huber = build("losses", {"name": "huber", "delta": 0.5})
    assert torch.allclose(huber(p, t), F.huber_loss(p, t, delta=0.5))


def test_charbonnier_is_smooth_l1_with_eps() -> None:
    p, t = torch.tensor([0.0, 3.0]), torch.tensor([0.0, 0.0])
    loss = build("losses", {"name": "charbonnier", "eps": 1e-3})
    assert loss(p, t).item() == pytest.approx((1e-3 + (9 + 1e-6) ** 0.5) / 2)
    assert build("losses", {"name": "charbonnier", "reduction": "none"})(p, t).shape == (2,)


def test_cross_entropy_label_smoothing_changes_the_loss() -> None:
    logits, target = torch.tensor([[4.0, 0.0, 0.0]]), torch.tensor([0])
    plain = build("losses", "cross_entropy")(logits, target)
    smooth = build("losses", {"name": "cross_entropy", "label_smoothing": 0.2})(logits, target)
    assert smooth > plain
    assert torch.allclose(smooth, F.cross_entropy(logits, target, label_smoothing=0.2))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"name": "mae", "reduction": "avg"},
            r"loss 'mae': reduction='avg' is not valid; use one of mean, sum, none",
        ),
        ({"name": "huber", "delta": 0}, r"loss 'huber': delta must be > 0, got 0"),
        ({"name": "charbonnier", "eps": -1}, r"loss 'charbonnier': eps must be > 0, got -1"),
        (
            {"name": "cross_entropy", "label_smoothing": 1.0},
            r"label_smoothing must be in \[0, 1\), got 1\.0",
        ),
    ],
)
def test_bad_loss_options_are_one_line(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build("losses", spec)
