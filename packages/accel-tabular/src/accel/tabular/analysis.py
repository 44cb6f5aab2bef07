"""What `accel analyze-data` shows for a table: rows per split, class balance or target spread,
per-column statistics and missing values, the schema file and a grid of histograms."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from accel.tabular.schema import save_schema

if TYPE_CHECKING:
    from accel.tabular.datamodule import TabularDataModule


def statistics(data: TabularDataModule, max_samples: int | None = None) -> dict[str, Any]:
    """Plain data: `splits` (count, class counts or target mean/std, rows left out), `columns`
    (kind, missing, numeric summary or category counts on the training split) and `tables`
    (the same as rows to print)."""
    splits = {name: split_summary(data, name, max_samples) for name in data.splits}
    train = data.splits["train"].inputs[:max_samples]
    columns = [column_summary(data, j, train[:, j]) for j in range(train.shape[1])]
    rows = [[c["name"], c["kind"], str(c["missing"]), c.get("summary", "")] for c in columns]
    return {
        "task": data.task,
        "class_names": data.class_names,
        "splits": splits,
        "columns": columns,
        "tables": [
            {
                "title": "columns (training split)",
                "header": ["column", "kind", "missing", "summary"],
                "rows": rows,
            }
        ],
    }


def split_summary(data: TabularDataModule, name: str, max_samples: int | None) -> dict[str, Any]:
    encoded = data.splits[name]
    targets = encoded.targets[:max_samples] if encoded.targets is not None else np.array([])
    out: dict[str, Any] = {"count": len(targets), "left_out": len(encoded.problems)}
    if data.task == "classification":
        counts = Counter(int(t) for t in targets)
        out["class_counts"] = {str(k): counts[k] for k in sorted(counts)}
        if counts:
            out["imbalance"] = round(max(counts.values()) / min(counts.values()), 4)
    elif len(targets):
        out.update(target_mean=float(targets.mean()), target_std=float(targets.std()))
    return out


def column_summary(data: TabularDataModule, index: int, values: np.ndarray) -> dict[str, Any]:
    column = data.schema.columns[index]
    present = values[~np.isnan(values)]
    out: dict[str, Any] = {
        "name": column.name,
        "kind": column.kind,
        "missing": int(np.isnan(values).sum()),
    }
    if column.kind == "categorical":
        cats = column.categories or ()
        counts = Counter(int(v) for v in present)
        out["counts"] = {
            (cats[k] if 0 <= k < len(cats) else "<unknown>"): n for k, n in counts.most_common()
        }
        out["summary"] = ", ".join(f"{k}: {n}" for k, n in list(out["counts"].items())[:4])
    elif len(present):
        stats = {
            "mean": float(present.mean()),
            "std": float(present.std()),
            "min": float(present.min()),
            "max": float(present.max()),
        }
        out.update(stats)
        out["summary"] = " ".join(f"{k} {v:.4g}" for k, v in stats.items())
    return out


def write_analysis(data: TabularDataModule, folder: Path) -> list[Path]:
    """`schema.yaml` (the schema, to edit and pass back as data.schema=...) and
    `histograms.png` (one histogram per column and the target, training split)."""
    return [save_schema(data.schema, folder / "schema.yaml"), histogram_grid(data, folder)]


def histogram_grid(data: TabularDataModule, folder: Path) -> Path:
    """A PNG grid: a histogram per numeric column, a bar chart per categorical one."""
    import io

    from accel.core.atomic import write_bytes_atomic
    from accel.core.optional import require

    require("matplotlib", "'accel-tabular[plot]'", "histograms of accel analyze-data")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = data.splits["train"]
    panels = len(data.schema.columns) + 1
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    figure, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for j, column in enumerate(data.schema.columns):
        axis = axes[j // cols][j % cols]
        values = train.inputs[:, j]
        values = values[~np.isnan(values)]
        if column.kind == "categorical":
            cats = list(column.categories or ())
            counts = [int((values == k).sum()) for k in range(len(cats))]
            axis.bar(range(len(cats)), counts)
            axis.set_xticks(range(len(cats)), cats, rotation=45, fontsize=6)
        else:
            axis.hist(values, bins=20)
        axis.set_title(column.name, fontsize=8)
    target_axis = axes[(panels - 1) // cols][(panels - 1) % cols]
    assert train.targets is not None
    target_axis.hist(train.targets, bins=20, color="tab:orange")
    target_axis.set_title(f"target: {data.schema.target.name}", fontsize=8)
    for k in range(panels, rows * cols):
        axes[k // cols][k % cols].axis("off")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return write_bytes_atomic(folder / "histograms.png", buffer.getvalue())
