"""Dataset statistics and a PNG grid of samples for `accel analyze-data`."""

from __future__ import annotations

import io
import math
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from accel.core.atomic import write_bytes_atomic


def data_statistics(datamodule: Any, max_samples: int | None = None) -> dict[str, Any]:
    """The data module's own `statistics(max_samples)` when it has one, else from its loaders."""
    own = getattr(datamodule, "statistics", None)
    if callable(own):
        return dict(own(max_samples=max_samples))
    return loader_statistics(datamodule, max_samples)


def loader_statistics(datamodule: Any, max_samples: int | None = None) -> dict[str, Any]:
    """Count, class counts, channel mean/std and image size of each split, from batches."""
    splits = {}
    for split in ("train", "val", "test"):
        loader = getattr(datamodule, f"{split}_dataloader")()
        if loader is not None:
            splits[split] = _split_stats(loader, max_samples)
    return {"splits": splits}


def _split_stats(loader: Any, max_samples: int | None) -> dict[str, Any]:
    classes: Counter[str] = Counter()
    total = squares = None
    seen = pixels = 0
    shape: list[int] = []
    for inputs, targets in loader:
        flat = inputs.double().transpose(0, 1).flatten(1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        squares = (flat**2).sum(1) if squares is None else squares + (flat**2).sum(1)
        pixels += flat.shape[1]
        classes.update(str(int(t)) for t in targets.flatten())
        seen += len(inputs)
        shape = list(inputs.shape[1:])
        if max_samples and seen >= max_samples:
            break
    if total is None or squares is None:
        return {"count": 0}
    mean = total / pixels
    std = (squares / pixels - mean**2).clamp_min(0).sqrt()
    counts = [classes[k] for k in sorted(classes, key=int)]
    return {
        "count": seen,
        "class_counts": {k: classes[k] for k in sorted(classes, key=int)},
        "channel_mean": [round(float(v), 6) for v in mean],
        "channel_std": [round(float(v), 6) for v in std],
        "image_sizes": {"x".join(map(str, shape[-2:])): seen},
        "imbalance": round(max(counts) / min(counts), 4) if counts else 1.0,
    }


def sample_batch(datamodule: Any, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` (images, targets) from the first split that has a loader."""
    for split in ("train", "val", "test"):
        loader = getattr(datamodule, f"{split}_dataloader")()
        if loader is None:
            continue
        images, targets = [], []
        for x, y in loader:
            images.append(x)
            targets.append(y)
            if sum(len(b) for b in images) >= count:
                break
        return torch.cat(images)[:count], torch.cat(targets)[:count]
    raise ValueError("the data module has no loader to take samples from")


def save_grid(images: torch.Tensor, path: Path, cell: int = 48) -> Path:
    """A square-ish PNG grid of images (N, C, H, W), each scaled to `cell` px, min-max per image."""
    from PIL import Image

    n = len(images)
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    canvas = Image.new("RGB", (cols * (cell + 2), rows * (cell + 2)), "white")
    for i, image in enumerate(images):
        tile = _to_pil(image).resize((cell, cell), Image.Resampling.NEAREST)
        canvas.paste(tile, ((i % cols) * (cell + 2) + 1, (i // cols) * (cell + 2) + 1))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return write_bytes_atomic(path, buffer.getvalue())


def _to_pil(image: torch.Tensor) -> Any:
    from PIL import Image

    x = image.detach().float().cpu()
    if x.dim() == 2:
        x = x.unsqueeze(0)
    x = x[:3] if x.shape[0] >= 3 else x[:1].expand(3, *x.shape[1:])
    low, high = float(x.min()), float(x.max())
    x = (x - low) / (high - low) if high > low else torch.zeros_like(x)
    array = (x.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    return Image.fromarray(array, mode="RGB")
