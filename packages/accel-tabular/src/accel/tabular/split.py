"""Seeded train/val/test splits of row indices, stratified by class for classification and by
target decile for regression (a test split of 20 % of a small table can otherwise miss a tail
of the target, and its R² then says more about the split than about the model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from accel.core.errors import ConfigError

# Regression targets are stratified by this many quantile bins.
TARGET_BINS = 10


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Both in [0, 1) with room left for training."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"data: val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be "
            "in [0, 1) and sum to less than 1"
        )


def split_rows(
    count: int, labels: Sequence[str] | None, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """`{"train", "val", "test"}` -> sorted row indices; `labels` (classification) keeps each
    class's share in every split where every class has at least two rows."""
    from sklearn.model_selection import train_test_split

    check_fractions(val_fraction, test_fraction)
    rows = np.arange(count)
    parts: dict[str, np.ndarray] = {}
    left = 1.0
    for name, fraction in (("test", test_fraction), ("val", val_fraction)):
        if fraction == 0:
            parts[name] = np.array([], dtype=np.int64)
            continue
        stratify = None
        if labels is not None:
            held = np.asarray([labels[int(i)] for i in rows])
            _, counts = np.unique(held, return_counts=True)
            stratify = held if counts.min() >= 2 else None
        rows, taken = train_test_split(
            rows, test_size=fraction / left, random_state=seed, stratify=stratify
        )
        parts[name] = np.sort(taken)
        rows, left = np.sort(rows), left - fraction
    parts["train"] = rows
    return parts


def target_bins(values: Sequence[float | None], bins: int = TARGET_BINS) -> list[str]:
    """Each row's quantile bin of a numeric target, as text labels to stratify by; a row
    without a number gets its own label ("")."""
    numbers = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    present = numbers[np.isfinite(numbers)]
    if present.size == 0:
        return ["" for _ in values]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    codes = np.digitize(numbers, edges)
    return ["" if not np.isfinite(n) else str(int(c)) for n, c in zip(numbers, codes, strict=True)]
