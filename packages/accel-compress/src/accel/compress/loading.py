"""Load `model.pt` safely: never run a pickle's code unless the user says they trust the file.

Accepted: an accel checkpoint directory (rebuilt from its stored config), a `torch.export` program,
TorchScript, a state dict with `arch` (a name in the `accel.models` registry), or weights plus a
channel spec written by `save_pruned` (also with `arch`). A full pickle only with `unsafe_pickle`.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.core.errors import AccelError, ConfigError

ARCH_HINT = "pass --arch NAME (a model in `accel registry list models`)"


class UnsafePickleError(AccelError):
    """The file is a full pickle: loading it could run arbitrary code."""


def load_model(path: str | Path, *, arch: str | None = None, unsafe_pickle: bool = False) -> Any:
    """The model stored at `path` as an `nn.Module` in eval mode (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"model file {path} does not exist")
    if (path / "channels.json").is_file() or path.suffix == ".json":
        from accel.compress.spec import load_pruned

        return load_pruned(path, arch=arch)
    if path.is_dir() or path.name == "last":
        return rebuild_checkpoint(path)
    if path.suffix == ".onnx":
        from accel.compress.artifacts import OnnxModel

        return OnnxModel(path)
    kind = archive_kind(path)
    if kind == "torchscript":
        return torch.jit.load(str(path), map_location="cpu").eval()
    if kind == "export":
        from accel.compress.artifacts import load_program

        return load_program(path).module()
    return from_pickle_file(path, arch, unsafe_pickle)


def archive_kind(path: Path) -> str:
    """`torchscript`, `export` or `torch` (a torch.save zip / legacy pickle) by its contents."""
    if not zipfile.is_zipfile(path):
        return "torch"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
        return "torchscript"
    if any(n.endswith("archive_format") or "/models/" in n for n in names):
        return "export"
    return "torch"


def from_pickle_file(path: Path, arch: str | None, unsafe_pickle: bool) -> nn.Module:
    """A torch.save file: weights-only first; a full pickle only when explicitly allowed."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as error:
        if not is_pickle_refusal(error) or not is_full_pickle(path):
            raise ConfigError(
                f"model file {path} is not a torch file: {first_line(error)}"
            ) from None
        if not unsafe_pickle:
            raise UnsafePickleError(
                f"{path} is a full pickle: loading it would run code from the file, so it was "
                "not loaded. Pass --unsafe-pickle only if you trust its source, or save a "
                "state dict, a torch.export program or TorchScript instead"
            ) from None
        obj = torch.load(path, map_location="cpu", weights_only=False)
    return to_module(obj, path, arch)


def is_pickle_refusal(error: BaseException) -> bool:
    """True when torch refused the file because it needs a full pickle (not a corrupt file)."""
    text = str(error)
    return isinstance(error, pickle.UnpicklingError) and "Weights only load failed" in text


def is_full_pickle(path: Path) -> bool:
    """True when the file (or a torch zip's data.pkl) is a well-formed pickle stream.

    Only parsed with `pickletools.genops`, which reads opcodes and never executes anything.
    """
    import pickletools

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.endswith("data.pkl")]
            data = archive.read(members[0]) if members else b""
    else:
        data = path.read_bytes()
    try:
        for _ in pickletools.genops(data):
            pass
    except Exception:
        return False
    return bool(data)


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def to_module(obj: Any, path: Path, arch: str | None) -> nn.Module:
    """A module from what a torch file held: a module, an accel checkpoint or a state dict."""
    if isinstance(obj, nn.Module):
        return obj.eval()
    if isinstance(obj, dict) and obj and all(torch.is_tensor(v) for v in obj.values()):
        if arch is None:
            raise ConfigError(f"{path} holds a state dict without an architecture: {ARCH_HINT}")
        return with_weights(build_arch(arch), obj, path)
    raise ConfigError(
        f"{path} holds a {type(obj).__name__}, not a model: expected a state dict (with "
        "--arch), a torch.export program, TorchScript or an accel checkpoint directory"
    )


def rebuild_checkpoint(path: Path) -> nn.Module:
    """An accel checkpoint (a directory with manifest.json, a `last` pointer or a run
    directory), rebuilt from its stored model config by accel-core; no pickle involved."""
    from accel.core.checkpoint import rebuild_model

    return rebuild_model(path).eval()


def checkpoint_data(path: str | Path) -> Any:
    """The DataModule an accel checkpoint's config names (its `data` entry), or None."""
    path = Path(path)
    if not (path.is_dir() or path.name == "last"):
        return None
    from accel.core.checkpoint import load_checkpoint
    from accel.core.registry import build

    manifest, _ = load_checkpoint(path)
    spec = (manifest.get("config") or {}).get("data")
    return None if spec is None else build("datasets", spec)


def build_arch(arch: str) -> nn.Module:
    from accel.core.registry import build

    model = build("models", arch)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--arch {arch!r} built a {type(model).__name__}, not a torch module")
    return model


def with_weights(model: nn.Module, state: dict[str, Any], path: Path) -> nn.Module:
    """`model` with `state` loaded strictly; a mismatch names the first differing keys."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ConfigError(
            f"weights in {path} do not fit the architecture: {first_line(error)} "
            "(a pruned model needs its channel spec: load the folder written by save_pruned)"
        ) from None
    return model.eval()
