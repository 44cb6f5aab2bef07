"""Read CIFAR-10/100 from local files: the binary version, or the Python version safely.

Binary: `data_batch_{1..5}.bin` + `test_batch.bin` (CIFAR-10, 1 label byte per record) or
`train.bin` + `test.bin` (CIFAR-100, coarse and fine label bytes). Python: the pickled
`data_batch_*`/`test_batch` or `train`/`test`, read with an unpickler that only allows the
numpy array types those files contain (so no code runs).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from accel.core.errors import ConfigError

RECORD = 3 * 32 * 32
LAYOUTS = {
    "cifar10-bin": (
        [f"data_batch_{i}.bin" for i in range(1, 6)],
        ["test_batch.bin"],
        1,
        "batches.meta.txt",
    ),
    "cifar100-bin": (["train.bin"], ["test.bin"], 2, "fine_label_names.txt"),
    "cifar10-py": ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], 1, "batches.meta"),
    "cifar100-py": (["train"], ["test"], 2, "meta"),
}
SUBFOLDERS = (
    "",
    "cifar-10-batches-bin",
    "cifar-100-binary",
    "cifar-10-batches-py",
    "cifar-100-python",
)
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickle plain containers and numpy arrays only; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise ConfigError(
                f"cifar: refusing to load {module}.{name} from a pickle (not CIFAR data)"
            )
        return super().find_class(module, name)


def safe_unpickle(path: Path) -> Any:
    return SafeUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()


def find_layout(root: Path) -> tuple[Path, str]:
    """The folder holding CIFAR files and which layout they are in."""
    for sub in SUBFOLDERS:
        folder = root / sub
        for layout, (train, test, _, _) in LAYOUTS.items():
            if all((folder / f).is_file() for f in test) and any(
                (folder / f).is_file() for f in train
            ):
                return folder, layout
    expected = "; ".join(f"{k}: {', '.join(v[0][:1] + v[1])}" for k, v in LAYOUTS.items())
    raise ConfigError(f"cifar: no CIFAR files found under {root} (expected {expected})")


def read_binary(paths: list[Path], label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Records of `label_bytes` + 3072 bytes -> images (N, 3, 32, 32) uint8, fine labels (N,)."""
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths])
    width = label_bytes + RECORD
    if raw.size % width:
        raise ConfigError(
            f"cifar: {paths[0].name} size is not a multiple of the {width}-byte record"
        )
    records = raw.reshape(-1, width)
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), records[:, label_bytes - 1].astype(
        np.int64
    )


def read_python(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Pickled batches -> images (N, 3, 32, 32) uint8, (fine) labels (N,)."""
    images, labels = [], []
    for path in paths:
        batch = safe_unpickle(path)
        images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def read_names(folder: Path, layout: str, meta: str) -> list[str] | None:
    path = folder / meta
    if not path.is_file():
        return None
    if layout.endswith("-bin"):
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    data = safe_unpickle(path)
    return list(data.get("label_names") or data.get("fine_label_names") or []) or None


def read_cifar(root: Path) -> dict[str, Any]:
    """{'train': (images, labels), 'test': (images, labels), 'names': [...] | None, 'layout'}."""
    folder, layout = find_layout(root)
    train, test, label_bytes, meta = LAYOUTS[layout]
    train_paths = [folder / f for f in train if (folder / f).is_file()]
    test_paths = [folder / f for f in test]
    if layout.endswith("-bin"):
        read = lambda paths: read_binary(paths, label_bytes)  # noqa: E731
    else:
        read = read_python
    return {
        "train": read(train_paths),
        "test": read(test_paths),
        "names": read_names(folder, layout, meta),
        "layout": layout,
    }
