"""A small CSV with a categorical column, missing values and one bad row, for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

BAD_LINE = 9  # the file line of the bad row (a word in the numeric column `size`)


def write_csv(path: Path, rows: int = 240, seed: int = 0) -> Path:
    """`size` (numeric, some missing), `colour` (categorical, some missing), `fresh`
    (boolean) and `label` (yes/no, decided by size and colour); line 9 holds 'huge' as size."""
    rng = np.random.default_rng(seed)
    lines = ["size,colour,fresh,label"]
    for i in range(rows):
        size = rng.normal(10, 3)
        colour = ["red", "green", "blue"][int(rng.integers(3))]
        fresh = bool(rng.integers(2))
        label = "yes" if size + (4 if colour == "red" else 0) > 11 else "no"
        size_text = "" if i % 17 == 5 else f"{size:.3f}"
        colour_text = "" if i % 23 == 7 else colour
        if i + 2 == BAD_LINE:
            size_text = "huge"
        lines.append(f"{size_text},{colour_text},{str(fresh).lower()},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path
