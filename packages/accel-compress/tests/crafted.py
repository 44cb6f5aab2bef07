"""Files an attacker would hand accel (each runs `touch MARKER` opened the naive way), and
data files broken in one way each.

Every builder starts from a real file (a `torch.export.save` zip, a TorchScript zip, a real
accel checkpoint) and changes only the part that carries the payload, so a test that opens it
proves the payload is refused, not that the file is broken.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch


class Boom:
    """A pickle whose loading runs `touch target`: what accel must never execute."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.target}",))


def touch_spec(marker: Path) -> dict[str, str]:
    """A config spec that, built naively, runs `touch marker` (os.system(command=...))."""
    return {"_target_": "os.system", "command": f"touch {marker}"}


def torch_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def rewrite_zip(source: Path, target: Path, edit: Callable[[str, bytes], bytes]) -> Path:
    """Copy zip `source` to `target`, each member's bytes passed through `edit(name, data)`."""
    with zipfile.ZipFile(source) as given, zipfile.ZipFile(target, "w") as written:
        for info in given.infolist():
            written.writestr(info, edit(info.filename, given.read(info.filename)))
    return target


def pt2_with_pickled_samples(program: Path, target: Path, marker: Path) -> Path:
    """A real `.pt2` whose sample inputs are a pickle that runs code."""
    payload = torch_bytes(Boom(marker))
    return rewrite_zip(
        program, target, lambda n, d: payload if n.endswith("data/sample_inputs/model.pt") else d
    )


def pt2_with_pickled_weight(program: Path, target: Path, marker: Path) -> Path:
    """A real `.pt2` whose first weight is marked `use_pickle` and holds a code payload."""

    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("data/weights/model_weights_config.json"):
            config = json.loads(data)
            first = next(iter(config["config"].values()))
            first["use_pickle"] = True
            first["path_name"] = "weight_0"
            return json.dumps(config).encode()
        if name.endswith("data/weights/weight_0"):
            return torch_bytes(Boom(marker))
        return data

    return rewrite_zip(program, target, edit)


def torchscript_with_payload(script: Path, target: Path, marker: Path) -> Path:
    """A real TorchScript zip (code/ folder kept) whose data.pkl is a code payload."""
    payload = pickle.dumps(Boom(marker), protocol=2)
    return rewrite_zip(script, target, lambda n, d: payload if n.endswith("/data.pkl") else d)


def full_pickle(target: Path, marker: Path) -> Path:
    """A torch.save file that runs code when unpickled."""
    torch.save({"model": Boom(marker)}, target)
    return target


def checkpoint_with_target(folder: Path, marker: Path, section: str, arch: str) -> Path:
    """A real accel checkpoint whose stored `model` or `data` config names `os.system`."""
    from accel.core.checkpoint import save_checkpoint
    from accel.core.registry import build

    model = build("models", arch)
    config = {"model": {"name": arch}, "data": {"name": "no_such_data"}}
    config[section] = touch_spec(marker)
    return save_checkpoint(folder, "epoch=001", {"model": model.state_dict()}, config=config)


def channels_with_target(folder: Path, model: torch.nn.Module, marker: Path) -> Path:
    """A real `save_pruned` folder whose channels.json names `os.system` as its arch."""
    from accel.compress.spec import SPEC_FILE, save_pruned

    save_pruned(model, folder)
    spec = json.loads((folder / SPEC_FILE).read_text())
    spec["arch"] = touch_spec(marker)
    (folder / SPEC_FILE).write_text(json.dumps(spec))
    return folder


def recipe_with_target_pass(target: Path, marker: Path) -> Path:
    target.write_text(f"passes: [{{_target_: os.system, command: 'touch {marker}'}}]\n")
    return target


def recipe_with_python_tag(target: Path, marker: Path) -> Path:
    target.write_text(f"passes: !!python/object/apply:os.system ['touch {marker}']\n")
    return target


def write_data(folder: Path, kind: str) -> Path:
    """A data file broken in one way (the name says which)."""
    x = np.random.rand(4, 1, 8, 8).astype("float32")
    files: dict[str, Any] = {
        "empty.npy": lambda p: np.save(p, np.zeros((0, 1, 8, 8), "float32")),
        "strings.npy": lambda p: np.save(p, np.array(["a", "b"])),
        "objects.npy": lambda p: np.save(p, np.array([{"a": 1}, None], dtype=object)),
        "bools.npy": lambda p: np.save(p, np.ones((4, 8), bool)),
        "complex.npy": lambda p: np.save(p, np.ones((4, 8), complex)),
        "nan.npy": lambda p: np.save(p, np.full((4, 8), np.nan, "float32")),
        "inf.npy": lambda p: np.save(p, np.full((4, 8), np.inf)),
        "flat.npy": lambda p: np.save(p, np.arange(4.0)),
        "text.npy": lambda p: p.write_text("1,2,3"),
        "nox.npz": lambda p: np.savez(p, y=np.arange(4)),
        "mismatch.npz": lambda p: np.savez(p, x=x, y=np.arange(3)),
        "halves.npz": lambda p: np.savez(p, x=x, y=np.array([0.5, 1, 2, 3])),
        "negative.npz": lambda p: np.savez(p, x=x, y=np.array([0, -1, 2, 3])),
        "onehot.npz": lambda p: np.savez(p, x=x, y=np.eye(4)),
        "textlabels.npz": lambda p: np.savez(p, x=x, y=np.array(["a", "b", "c", "d"])),
        "mismatch.pt": lambda p: torch.save({"x": torch.zeros(4, 8), "y": torch.arange(5)}, p),
        "strings.pt": lambda p: torch.save({"x": "abc"}, p),
        "boolpair.pt": lambda p: torch.save((torch.ones(4, 8, dtype=torch.bool), torch.ones(4)), p),
        "payload.pt": lambda p: full_pickle(p, folder / "pwned"),
    }
    path = folder / kind
    files[kind](path)
    return path


DATA_FAULTS = {
    "empty.npy": "inputs of shape \\(0, 1, 8, 8\\): expected a non-empty array",
    "strings.npy": "inputs of type <U1 are not numbers",
    "objects.npy": "is unreadable \\(Object arrays cannot be loaded when allow_pickle=False\\)",
    "bools.npy": "inputs of type bool are not numbers",
    "complex.npy": "inputs of type complex128 are not numbers",
    "nan.npy": "inputs hold NaN or infinite values",
    "inf.npy": "inputs hold NaN or infinite values",
    "flat.npy": "inputs of shape \\(4,\\): expected",
    "text.npy": "is unreadable",
    "nox.npz": "has no array 'x' nor named inputs \\(it holds: y\\)",
    "mismatch.npz": "4 inputs but 3 labels",
    "halves.npz": "expected one whole-number class index per sample",
    "negative.npz": "label -1 is negative",
    "onehot.npz": "labels of shape \\(4, 4\\)",
    "textlabels.npz": "labels of shape \\(4,\\) and type <U1",
    "mismatch.pt": "4 inputs but 5 labels",
    "strings.pt": "expected a tensor, a \\(inputs, labels\\) pair",
    "boolpair.pt": "inputs of type torch.bool are not numbers",
    "payload.pt": "holds more than tensors \\(reading it would need a full pickle",
}
