"""Load `model.pt` safely: never run code from a file unless the user says they trust it.

Accepted: an accel checkpoint directory (rebuilt from its stored config), a `torch.export` program,
a state dict (torch.save, read weights-only, or `.safetensors`) with `arch` (a name in the
`accel.models` registry, or `torchvision:NAME` / `timm:NAME`: `accel.compress.families`), weights
plus a channel spec written by `save_pruned` (also with `arch`), or a Hugging Face
`save_pretrained` folder (`accel.compress.hf`). TorchScript (a program), a full pickle, a
`pytorch_model.bin`, a `_target_` in a stored config and a `.pt2` that torch would unpickle more
than tensors from load only with the trust flag (`--trust-file`, alias `--unsafe-pickle`): see
`accel.core.trust`.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.compress.arch import build_arch
from accel.compress.families import is_family_arch
from accel.compress.hf import is_hf_folder, load_hf_folder
from accel.compress.spec import load_pruned
from accel.compress.state import load_state, read_safetensors
from accel.core.errors import ConfigError
from accel.core.pruned import is_pruned_folder
from accel.core.trust import TRUST_FLAG, UntrustedFileError, files_trusted

ARCH_HINT = (
    "pass --arch NAME (a model in `accel registry list models`, or torchvision:NAME / timm:NAME "
    "with optional ,KEY=VALUE arguments)"
)
TRUST_HINT = f"{TRUST_FLAG} (alias --unsafe-pickle)"


class UnsafePickleError(UntrustedFileError):
    """The file is a full pickle: loading it could run arbitrary code."""


def load_model(path: str | Path, *, arch: str | None = None, trust: bool | None = None) -> Any:
    """The model stored at `path` as an `nn.Module` in eval mode (see module docstring).

    `trust` None follows `accel.core.trust.trusting_files` (the command line's trust flag).
    """
    path = Path(path)
    trust = files_trusted() if trust is None else trust
    if not path.exists():
        raise ConfigError(f"model file {path} does not exist")
    if is_pruned_folder(path):
        return open_pruned(path, arch, trust)
    if is_hf_folder(path):
        return open_hf_folder(path, arch, trust)
    if path.is_dir() or path.name == "last":
        return rebuild_checkpoint(path, trust)
    if path.suffix == ".onnx":
        return open_onnx(path)
    if path.suffix == ".safetensors":
        return to_module(read_safetensors(path), path, arch)
    kind = "export" if path.suffix == ".pt2" else archive_kind(path)
    if kind == "torchscript":
        return load_torchscript(path, trust)
    if kind == "export":
        from accel.compress.artifacts import load_program
        from accel.core.program_module import program_module

        return program_module(load_program(path, trust=trust))
    return from_pickle_file(path, arch, trust)


def open_pruned(path: Path, arch: str | None, trust: bool) -> nn.Module:
    """A `save_pruned` folder; a spec naming `torchvision:NAME`/`timm:NAME` (saved from a
    model loaded with such an `--arch`) is built here, since accel-core knows registry names."""
    from accel.core.pruned import SPEC_FILE, read_spec

    if arch is None:
        spec_path = path if path.suffix == ".json" else path / SPEC_FILE
        named = read_spec(spec_path).get("arch")
        if is_family_arch(named):
            model = build_arch(named, source=str(spec_path))
            return load_pruned(path, model=model, trust=trust)
    return load_pruned(path, arch=arch, trust=trust)


def open_hf_folder(path: Path, arch: str | None, trust: bool) -> nn.Module:
    """A Hugging Face folder: its config.json names the architecture, so `--arch` is not used."""
    if arch is not None:
        raise ConfigError(
            f"--arch {arch} with the Hugging Face folder {path}: its config.json names the "
            "architecture; drop --arch"
        )
    return load_hf_folder(path, trust)


def archive_kind(path: Path) -> str:
    """`torchscript`, `export` or `torch` (a torch.save zip / legacy pickle) by its contents
    (accel-core's check, shared with accel-serve); an unreadable file is one line."""
    from accel.core.inference import archive_kind as torch_archive_kind

    try:
        return torch_archive_kind(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ConfigError(f"model file {path} is unreadable: {first_line(error)}") from None


def open_onnx(path: Path) -> Any:
    """An ONNX file, checked to parse (a text file named .onnx is one line, not a crash)."""
    from accel.compress.artifacts import OnnxModel
    from accel.compress.extras import package
    from accel.core.optional import require

    onnx = require("onnx", package("ort"), "reading an ONNX model")

    try:
        onnx.load(str(path), load_external_data=False)
    except Exception as error:
        raise ConfigError(f"model file {path} is not an ONNX model: {first_line(error)}") from None
    model = OnnxModel(path)
    model.files()  # external data outside the model's folder is refused here, before any work
    return model


def load_torchscript(path: Path, trust: bool) -> nn.Module:
    """TorchScript, only from a trusted file: it is a program (its methods and `__setstate__`
    run when it is loaded and called), where an ONNX file or a checked torch.export archive is
    a graph of known operators. A corrupt archive is one line."""
    if not trust:
        raise UntrustedFileError(
            f"{path} is TorchScript: loading it runs the program it holds, so it was not loaded. "
            f"Pass {TRUST_FLAG} only if you trust its source, or give a torch.export .pt2, an "
            "ONNX file or a state dict with --arch"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation note
            return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as error:
        raise ConfigError(f"model file {path} is not loadable TorchScript: {flat(error)}") from None


def from_pickle_file(path: Path, arch: str | None, trust: bool) -> nn.Module:
    """A torch.save file: weights-only first; a full pickle only when the file is trusted."""
    return to_module(read_torch_file(path, trust), path, arch)


def read_torch_file(path: Path, trust: bool) -> Any:
    """What a torch.save file holds: read weights-only; a full pickle only when trusted."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol note is not the user's
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        refused = is_pickle_refusal(error)
        if not refused or not is_full_pickle(path):
            reason = f"{type(error).__name__}: {first_line(error)}"
            raise ConfigError(
                f"model file {path} is not a model file accel reads (an accel checkpoint, a "
                "torch.save file, .safetensors, TorchScript, .pt2, .onnx or a Hugging Face "
                "folder): "
                f"{'not a valid pickle stream' if refused else reason}"
            ) from None
        if not trust:
            raise UnsafePickleError(
                f"{path} is a full pickle: loading it would run code from the file, so it was "
                f"not loaded. Pass {TRUST_HINT} only if you trust its source, or save a "
                "state dict, a torch.export program or TorchScript instead"
            ) from None
        obj = load_full_pickle(path)
    return obj


def load_full_pickle(path: Path) -> Any:
    """A trusted full pickle (the user passed the trust flag); its failure is one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ConfigError(f"model file {path} could not be unpickled: {flat(error)}") from None


def is_pickle_refusal(error: BaseException) -> bool:
    """True when torch refused the file because it needs a full pickle (not a corrupt file)."""
    text = str(error)
    return isinstance(error, pickle.UnpicklingError) and "Weights only load failed" in text


def is_full_pickle(path: Path) -> bool:
    """True when the file (or a torch zip's data.pkl) is a well-formed pickle stream.

    Only parsed with `pickletools.genops`, which reads opcodes and never executes anything.
    """
    import pickletools

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.endswith("data.pkl")]
                data = archive.read(members[0]) if members else b""
        else:
            data = path.read_bytes()
        for _ in pickletools.genops(data):
            pass
    except Exception:
        return False
    return bool(data)


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def flat(error: BaseException) -> str:
    """An error's text on one line (torch's messages span several)."""
    return " ".join(str(error).split())[:200] or type(error).__name__


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


def rebuild_checkpoint(path: Path, trust: bool | None = None) -> nn.Module:
    """An accel checkpoint (a directory with manifest.json, a `last` pointer or a run
    directory), rebuilt from its stored model config by accel-core under the loading policy."""
    from accel.core.checkpoint import rebuild_model

    model = rebuild_model(path, trust=trust)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"checkpoint {path} built a {type(model).__name__}, not a torch module")
    return model.eval()


def checkpoint_data(path: str | Path, trust: bool | None = None) -> Any:
    """The DataModule an accel checkpoint's config names (its `config.data`), or None; the
    stored spec is a file's, so it may name registered datasets only (unless trusted)."""
    path = Path(path)
    if not (path.is_dir() or path.name == "last") or is_pruned_folder(path) or is_hf_folder(path):
        return None  # a pruned or Hugging Face folder names its architecture, not its data
    from accel.core.checkpoint import checkpoint_section, load_checkpoint, manifest_source
    from accel.core.registry import build_from_file

    manifest, _ = load_checkpoint(path)
    spec = checkpoint_section(manifest, "config.data", trust=trust)
    if spec is None:
        return None
    source = manifest_source(manifest)
    return build_from_file("datasets", spec, source=source, key="config.data", trust=trust)


def with_weights(model: nn.Module, state: dict[str, Any], path: Path) -> nn.Module:
    """`model` with `state` loaded strictly (a `module.`/`_orig_mod.` prefix on every key is
    stripped); a mismatch names the first differing keys."""
    hint = (
        " (a pruned model needs its channel spec: load the folder written by save_pruned; "
        "another head size is an argument, e.g. --arch timm:NAME,num_classes=10)"
    )
    return load_state(model, state, str(path), hint)
