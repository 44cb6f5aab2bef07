"""Differentiable color-space conversions of image batches, matching scikit-image's formulas.

Every function takes and returns a tensor (..., 3, H, W) (channels third from last; gray is
(..., 1, H, W)). RGB is sRGB in [0, 1]. Conventions (chosen to match `skimage.color`):

- YCbCr: full range, Y in [0, 1] and Cb, Cr in [0, 1] (0.5 = no chroma), ITU-R BT.601.
  scikit-image's studio-range `rgb2ycbcr` equals `ycbcr * [219, 224, 224] + 16`.
- Lab: CIE L*a*b* under illuminant D65, 2° observer; L in [0, 100], a and b about [-128, 127].
- HSV: H, S, V in [0, 1] (H is the fraction of a turn).
- Gray: ITU-R BT.709 luma weights 0.2125, 0.7154, 0.0721 on the sRGB values.

Branches guard their non-smooth points (cube roots, divisions) so gradients stay finite.
"""

from __future__ import annotations

import torch

YPBPR_FROM_RGB = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
GRAY_FROM_RGB = (0.2125, 0.7154, 0.0721)
D65_WHITE = (0.95047, 1.0, 1.08883)
LAB_EPSILON = 0.008856
LAB_KAPPA = 7.787
EPS = 1e-12


def _matrix(rows: tuple[tuple[float, ...], ...], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rows, dtype=like.dtype, device=like.device)


def _apply(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Multiply the channel vector of every pixel of (..., 3, H, W) by `matrix` (3, 3)."""
    return torch.einsum("ij,...jhw->...ihw", matrix, x)


def _shift(x: torch.Tensor, values: tuple[float, float, float]) -> torch.Tensor:
    return x + torch.tensor(values, dtype=x.dtype, device=x.device).view(3, 1, 1)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB [0, 1] (..., 3, H, W) to full-range YCbCr [0, 1] (BT.601)."""
    return _shift(_apply(_matrix(YPBPR_FROM_RGB, rgb), rgb), (0.0, 0.5, 0.5))


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """Full-range YCbCr [0, 1] (..., 3, H, W) to sRGB (inverse of `rgb_to_ycbcr`)."""
    inverse = torch.linalg.inv(_matrix(YPBPR_FROM_RGB, ycbcr))
    return _apply(inverse, _shift(ycbcr, (0.0, -0.5, -0.5)))


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve (IEC 61966-2-1)."""
    curve = ((rgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(rgb > 0.04045, curve, rgb / 12.92)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve (inverse of `srgb_to_linear`)."""
    curve = 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055
    return torch.where(linear > 0.0031308, curve, linear * 12.92)


def rgb_to_xyz(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB [0, 1] (..., 3, H, W) to CIE XYZ (D65)."""
    return _apply(_matrix(XYZ_FROM_RGB, rgb), srgb_to_linear(rgb))


def xyz_to_rgb(xyz: torch.Tensor) -> torch.Tensor:
    """CIE XYZ (D65) (..., 3, H, W) to sRGB (not clipped: out-of-gamut colors leave [0, 1])."""
    return linear_to_srgb(_apply(torch.linalg.inv(_matrix(XYZ_FROM_RGB, xyz)), xyz))


def _lab_f(t: torch.Tensor) -> torch.Tensor:
    cube_root = t.clamp_min(LAB_EPSILON) ** (1 / 3)
    return torch.where(t > LAB_EPSILON, cube_root, LAB_KAPPA * t + 16 / 116)


def _lab_f_inverse(f: torch.Tensor) -> torch.Tensor:
    threshold = LAB_EPSILON ** (1 / 3)
    return torch.where(f > threshold, f.clamp_min(threshold) ** 3, (f - 16 / 116) / LAB_KAPPA)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB [0, 1] (..., 3, H, W) to CIE Lab (D65, 2°): L in [0, 100], a, b about [-128, 127]."""
    xyz = rgb_to_xyz(rgb)
    white = torch.tensor(D65_WHITE, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    fx, fy, fz = _lab_f(xyz / white).unbind(-3)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab (D65, 2°) (..., 3, H, W) to sRGB (not clipped)."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack((fy + a / 500, fy, fy - b / 200), dim=-3)
    white = torch.tensor(D65_WHITE, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    return xyz_to_rgb(_lab_f_inverse(f) * white)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB [0, 1] (..., 3, H, W) to HSV with H, S, V in [0, 1]."""
    r, g, b = rgb.unbind(-3)
    value, argmax = rgb.max(dim=-3)
    delta = value - rgb.min(dim=-3).values
    safe_delta = torch.where(delta > 0, delta, torch.ones_like(delta))
    saturation = torch.where(value > 0, delta / torch.where(value > 0, value, 1.0), 0.0)
    hue_r = (g - b) / safe_delta
    hue_g = 2.0 + (b - r) / safe_delta
    hue_b = 4.0 + (r - g) / safe_delta
    hue = torch.where(argmax == 0, hue_r, torch.where(argmax == 1, hue_g, hue_b))
    hue = torch.remainder(hue / 6.0, 1.0)
    hue = torch.where(delta > 0, hue, torch.zeros_like(hue))
    return torch.stack((hue, saturation, value), dim=-3)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """HSV [0, 1] (..., 3, H, W) to sRGB [0, 1] (a smooth closed form, no sector branches)."""
    h, s, v = hsv.unbind(-3)
    n = torch.tensor((5.0, 3.0, 1.0), dtype=hsv.dtype, device=hsv.device).view(3, 1, 1)
    k = torch.remainder(n + 6.0 * h.unsqueeze(-3), 6.0)
    ramp = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
    return v.unsqueeze(-3) - (v * s).unsqueeze(-3) * ramp


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB [0, 1] (..., 3, H, W) to gray (..., 1, H, W) with BT.709 weights (as skimage)."""
    weights = torch.tensor(GRAY_FROM_RGB, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    return (rgb * weights).sum(dim=-3, keepdim=True)


def gray_to_rgb(gray: torch.Tensor) -> torch.Tensor:
    """Gray (..., 1, H, W) to RGB (..., 3, H, W) by repeating the channel."""
    return gray.expand(*gray.shape[:-3], 3, *gray.shape[-2:])


CONVERSIONS = {
    ("rgb", "ycbcr"): rgb_to_ycbcr,
    ("ycbcr", "rgb"): ycbcr_to_rgb,
    ("rgb", "lab"): rgb_to_lab,
    ("lab", "rgb"): lab_to_rgb,
    ("rgb", "hsv"): rgb_to_hsv,
    ("hsv", "rgb"): hsv_to_rgb,
    ("rgb", "gray"): rgb_to_gray,
    ("gray", "rgb"): gray_to_rgb,
    ("rgb", "xyz"): rgb_to_xyz,
    ("xyz", "rgb"): xyz_to_rgb,
}
