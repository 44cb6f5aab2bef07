"""Training curves as PNG files: one figure per metric name, train/val/... overlaid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path


def group_curves(
    history: Mapping[str, Sequence[tuple[int, float]]],
) -> dict[str, dict[str, Sequence[tuple[int, float]]]]:
    """Curves by their last name part: `train/loss` and `val/loss` both go to `loss`."""
    groups: dict[str, dict[str, Sequence[tuple[int, float]]]] = defaultdict(dict)
    for key, points in history.items():
        if points:
            groups[key.replace("/", ".").split(".")[-1]][key] = points
    return dict(groups)


def plot_metrics(history: Mapping[str, Sequence[tuple[int, float]]], directory: Path) -> list[Path]:
    """Write `<name>.png` per metric group into `directory`; return the files written."""
    groups = group_curves(history)
    if not groups:
        return []
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, curves in sorted(groups.items()):
        figure = Figure(figsize=(6, 4), dpi=100)
        axes = figure.add_subplot()
        for key, points in sorted(curves.items()):
            steps, values = zip(*sorted(points), strict=True)
            axes.plot(steps, values, label=key, marker="." if len(steps) < 30 else None)
        axes.set(xlabel="step", ylabel=name, title=name)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = directory / f"{name}.png"
        tmp = path.with_suffix(".tmp.png")
        figure.savefig(tmp)
        tmp.replace(path)
        written.append(path)
    return written
