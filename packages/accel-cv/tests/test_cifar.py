import pickle

import numpy as np
import pytest
import torch

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.data.cifar import cifar


def fake_records(
    count: int, label_bytes: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    pixels = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
    head = np.stack([labels // 5, labels], axis=1)[:, -label_bytes:].astype(np.uint8)
    return np.concatenate([head, pixels], axis=1), labels, pixels


def test_binary_cifar10(tmp_path) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records, _labels, _pixels = fake_records(40, 1, 0)
    records.tofile(folder / "data_batch_1.bin")
    test_records, test_labels, test_pixels = fake_records(20, 1, 1)
    test_records.tofile(folder / "test_batch.bin")
    (folder / "batches.meta.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n")
    dm = build("datasets", {"name": "cifar", "root": str(tmp_path), "val_fraction": 0.25})
    assert dm.num_classes == 10
    assert dm.class_names[3] == "class3"
    assert (len(dm.splits["train"]), len(dm.splits["val"]), len(dm.splits["test"])) == (30, 10, 20)
    image, label = dm.splits["test"][7]
    assert int(label) == test_labels[7]
    assert torch.allclose(
        image, torch.from_numpy(test_pixels[7].reshape(3, 32, 32) / 255.0).float()
    )


def test_binary_cifar100_reads_fine_labels(tmp_path) -> None:
    records, labels, _ = fake_records(20, 2, 0)
    records.tofile(tmp_path / "train.bin")
    records.tofile(tmp_path / "test.bin")
    dm = cifar(str(tmp_path), val_fraction=0)
    assert dm.num_classes == 100
    assert dm.splits["test"].tensors[1].tolist() == labels.tolist()


def test_python_cifar10_is_unpickled_safely(tmp_path) -> None:
    _, labels, pixels = fake_records(20, 1, 0)
    batch = {b"data": pixels, b"labels": labels.tolist()}
    for name in ("data_batch_1", "test_batch"):
        (tmp_path / name).write_bytes(pickle.dumps({k.decode(): v for k, v in batch.items()}))
    (tmp_path / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [f"c{i}" for i in range(10)]})
    )
    dm = cifar(str(tmp_path), val_fraction=0.5)
    assert dm.class_names[0] == "c0"
    assert len(dm.splits["test"]) == 20


def test_a_pickle_that_runs_code_is_refused(tmp_path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({"data": Evil()}))
    (tmp_path / "test_batch").write_bytes(pickle.dumps({}))
    with pytest.raises(ConfigError, match=r"refusing to load builtins\.print"):
        cifar(str(tmp_path))


def test_missing_or_broken_files_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no CIFAR files found under"):
        cifar(str(tmp_path))
    np.zeros(100, dtype=np.uint8).tofile(tmp_path / "data_batch_1.bin")
    np.zeros(100, dtype=np.uint8).tofile(tmp_path / "test_batch.bin")
    with pytest.raises(ConfigError, match="not a multiple of the 3073-byte record"):
        cifar(str(tmp_path))
    with pytest.raises(ConfigError, match=r"val_fraction must be in \[0, 1\)"):
        cifar(str(tmp_path), val_fraction=1.0)
