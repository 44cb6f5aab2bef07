"""Dataset statistics for `accel analyze-data`: class balance, channel mean/std, image sizes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from torch.utils.data import Dataset, Subset, TensorDataset


def _image_sizes(dataset: Dataset[Any], indices: range | list[int]) -> list[tuple[int, int]]:
    """Original image sizes when the dataset knows them, else the sizes it returns."""
    base, mapping = dataset, list(indices)
    if isinstance(dataset, Subset) and hasattr(dataset.dataset, "image_sizes"):
        base, mapping = dataset.dataset, [dataset.indices[i] for i in mapping]
    if hasattr(base, "image_sizes"):
        sizes = base.image_sizes()
        return [sizes[i] for i in mapping]
    return [tuple(dataset[i][0].shape[-2:]) for i in mapping]


def all_labels(dataset: Dataset[Any]) -> list[int] | None:
    """Every label of a split when known without decoding images (tensors, file lists)."""
    if isinstance(dataset, Subset):
        labels = all_labels(dataset.dataset)
        return None if labels is None else [labels[i] for i in dataset.indices]
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) > 1:
        return [int(v) for v in dataset.tensors[1].tolist()]
    known = getattr(dataset, "labels", None)
    return [int(v) for v in known] if isinstance(known, list) else None


def split_statistics(dataset: Dataset[Any], max_samples: int | None = None) -> dict[str, Any]:
    """Count, class counts, per-channel mean/std and image sizes of one split.

    Class counts cover the whole split when the labels are known without decoding images;
    the other figures cover the first `max_samples` samples.
    """
    count = len(dataset)  # type: ignore[arg-type]
    indices = range(min(count, max_samples) if max_samples else count)
    classes: Counter[int] = Counter()
    total = squares = None
    pixels = 0
    for i in indices:
        image, label = dataset[i]
        classes[int(label)] += 1
        flat = image.double().flatten(1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        squares = (flat**2).sum(1) if squares is None else squares + (flat**2).sum(1)
        pixels += flat.shape[1]
    assert total is not None
    assert squares is not None
    mean = total / pixels
    std = (squares / pixels - mean**2).clamp_min(0).sqrt()
    labels = all_labels(dataset)
    if labels is not None:
        classes = Counter(labels)
    sizes = Counter(f"{h}x{w}" for h, w in _image_sizes(dataset, indices))
    return {
        "count": count,
        "analyzed": len(indices),
        "class_counts": {str(k): classes[k] for k in sorted(classes)},
        "channel_mean": [round(float(v), 6) for v in mean],
        "channel_std": [round(float(v), 6) for v in std],
        "image_sizes": dict(sizes.most_common()),
    }


def dataset_statistics(datamodule: Any, max_samples: int | None = None) -> dict[str, Any]:
    """Statistics of every split of a data module (at most `max_samples` per split).

    Returns `{num_classes, class_names, input_shape, splits: {name: {count, class_counts,
    channel_mean, channel_std, image_sizes, imbalance}}}`; imbalance = largest / smallest
    class count (1.0 is balanced; None when a class has no sample). Channel statistics are
    over the values the loader yields before any batch transform. Plain JSON types only.
    """
    splits: dict[str, Any] = {}
    for name, dataset in datamodule.splits.items():
        if dataset is None or len(dataset) == 0:
            continue
        stats = split_statistics(dataset, max_samples)
        counts = [stats["class_counts"].get(str(k), 0) for k in range(datamodule.num_classes)]
        stats["imbalance"] = round(max(counts) / min(counts), 4) if min(counts) else None
        splits[name] = stats
    return {
        "num_classes": datamodule.num_classes,
        "class_names": list(datamodule.class_names),
        "input_shape": list(datamodule.input_shape),
        "splits": splits,
    }
