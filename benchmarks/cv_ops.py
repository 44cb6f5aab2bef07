"""accel-cv's image ops side by side with a reference: SSIM / MS-SSIM vs pytorch-msssim
(forward + backward), and batched transforms vs a per-sample loop of the same transform.

Interleaved rounds in one process, median time per call; prints JSON with ratios
(accel-cv / reference, lower is faster) plus the absolute medians for context.

    uv run python benchmarks/cv_ops.py [--rounds 7] [--batch 16] [--size 192] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(
    ours: Callable[[], Any], theirs: Callable[[], Any], rounds: int
) -> dict[str, float]:
    """Alternate the two so machine noise hits both alike."""
    a, b = [], []
    for _ in range(rounds):
        a.append(median_time(ours, 1))
        b.append(median_time(theirs, 1))
    ours_s, theirs_s = statistics.median(a), statistics.median(b)
    return {
        "ratio": round(ours_s / theirs_s, 3),
        "accel_cv_s": round(ours_s, 5),
        "reference_s": round(theirs_s, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import pytorch_msssim
    import torch

    from accel.cv.losses.ssim import ms_ssim, ssim
    from accel.cv.transforms.geometry import RandomResizedCrop, RandomRotation
    from accel.cv.transforms.photometric import ColorJitter

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(args.batch, 3, args.size, args.size)
    y = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)

    def grad_of(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            p = x.clone().requires_grad_()
            fn(p, y).backward()

        return run

    results: dict[str, Any] = {
        "ssim_vs_pytorch_msssim": side_by_side(
            grad_of(lambda a, b: ssim(a, b)),
            grad_of(lambda a, b: pytorch_msssim.ssim(a, b, data_range=1.0)),
            args.rounds,
        ),
        "ms_ssim_vs_pytorch_msssim": side_by_side(
            grad_of(lambda a, b: ms_ssim(a, b)),
            grad_of(lambda a, b: pytorch_msssim.ms_ssim(a, b, data_range=1.0)),
            args.rounds,
        ),
    }
    for name, transform in {
        "random_resized_crop": RandomResizedCrop(args.size // 2, seed=0),
        "random_rotation": RandomRotation(20, seed=0),
        "color_jitter": ColorJitter(0.3, 0.3, 0.3, 0.05, seed=0),
    }.items():
        results[f"{name}_batched_vs_per_sample"] = side_by_side(
            lambda t=transform: t(x),
            lambda t=transform: [t(x[i : i + 1]) for i in range(len(x))],
            args.rounds,
        )
    results["setup"] = {"batch": args.batch, "size": args.size, "threads": args.threads}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
