import pytest
import torch
import torch.nn.functional as F

from accel.cv.errors import InputError
from accel.cv.losses.classification import DiceLoss, FocalLoss


def test_focal_with_gamma_zero_is_cross_entropy() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.allclose(FocalLoss(gamma=0)(logits, target), F.cross_entropy(logits, target))


def test_focal_down_weights_easy_examples() -> None:
    easy = torch.tensor([[4.0, 0.0]])
    hard = torch.tensor([[0.2, 0.0]])
    target = torch.tensor([0])
    ce_ratio = F.cross_entropy(easy, target) / F.cross_entropy(hard, target)
    focal_ratio = FocalLoss(gamma=2)(easy, target) / FocalLoss(gamma=2)(hard, target)
    assert focal_ratio < ce_ratio / 10


def test_focal_accepts_soft_targets_alpha_and_dense_maps() -> None:
    torch.manual_seed(0)
    logits = torch.randn(4, 3)
    hard = torch.tensor([0, 1, 2, 1])
    one_hot = F.one_hot(hard, 3).float()
    assert torch.allclose(FocalLoss()(logits, hard), FocalLoss()(logits, one_hot))
    weighted = FocalLoss(alpha=[1.0, 0.0, 0.0], reduction="none")(logits, hard)
    assert weighted[1] == 0
    assert weighted[0] > 0
    dense = FocalLoss()(torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4)))
    assert dense.shape == ()


def test_dice_is_zero_for_a_perfect_prediction_and_one_for_disjoint() -> None:
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[:, :2] = 1
    perfect = F.one_hot(target, 2).permute(0, 3, 1, 2).float()
    assert float(DiceLoss(smooth=0, from_logits=False)(perfect, target)) == pytest.approx(0)
    assert float(DiceLoss(smooth=0, from_logits=False)(1 - perfect, target)) == pytest.approx(1)


def test_dice_binary_with_a_mask() -> None:
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2, :] = 1
    logits = (mask * 2 - 1) * 20
    assert float(DiceLoss()(logits, mask)) == pytest.approx(0, abs=1e-6)


def test_losses_pass_gradcheck() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 3, 1])
    assert torch.autograd.gradcheck(lambda x: FocalLoss(alpha=[1, 2, 1, 1])(x, target), (logits,))
    seg = torch.randn(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 3, (1, 3, 3))
    assert torch.autograd.gradcheck(lambda x: DiceLoss()(x, labels), (seg,))


def test_bad_targets_name_the_expected_shape() -> None:
    with pytest.raises(InputError, match=r"shape \(4,\) or probabilities of shape \(4, 3\)"):
        FocalLoss()(torch.randn(4, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(InputError, match=r"class indices in \[0, 2\], got values in \[0, 7\]"):
        FocalLoss()(torch.randn(2, 3), torch.tensor([0, 7]))
    with pytest.raises(InputError, match="alpha has 2 values, logits have 3 classes"):
        FocalLoss(alpha=[1, 1])(torch.randn(2, 3), torch.tensor([0, 1]))
    with pytest.raises(InputError, match=r"expected prediction \(N, K, H, W\)"):
        DiceLoss()(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(InputError, match="gamma must be >= 0"):
        FocalLoss(gamma=-1)
    with pytest.raises(InputError, match="smooth must be >= 0"):
        DiceLoss(smooth=-1)
