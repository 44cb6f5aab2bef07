"""Seeded splits: classes keep their share, a regression target's deciles reach every split."""

from __future__ import annotations

import numpy as np

from accel.tabular.datamodule import stratify_labels
from accel.tabular.split import split_rows, target_bins


def test_target_bins_are_deciles_with_missing_values_apart() -> None:
    values = [float(v) for v in range(100)] + [None]
    bins = target_bins(values)
    assert bins[-1] == ""
    assert sorted({int(b) for b in bins[:-1]}) == list(range(10))
    assert all(bins[:-1].count(str(b)) == 10 for b in range(10))


def test_a_regression_split_holds_every_decile_of_the_target_in_test() -> None:
    rng = np.random.default_rng(0)
    target = list(rng.lognormal(size=400))  # a long right tail
    labels = stratify_labels(target, None)
    for seed in range(5):
        rows = split_rows(len(target), labels, 0.15, 0.2, seed)
        test = np.array(target)[rows["test"]]
        edges = np.quantile(target, np.linspace(0, 1, 11)[1:-1])
        assert np.bincount(np.digitize(test, edges), minlength=10).min() >= 7  # 8 each
        assert sorted(np.concatenate(list(rows.values())).tolist()) == list(range(400))
