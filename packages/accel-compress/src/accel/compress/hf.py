"""A Hugging Face `save_pretrained` folder, loaded without pickle or remote code.

`config.json` names the model class (`architectures`); it is resolved only among transformers'
own classes (never `auto_map`/`trust_remote_code`, never a dotted path), built with random
init from `AutoConfig.from_pretrained(folder)`, then its weights are loaded strictly from
`model.safetensors` (or the shards `model.safetensors.index.json` lists). `pytorch_model.bin`
is a pickle: it loads only with the trust flag. Attention is torch's scaled-dot-product
attention (transformers' `sdpa`; its eager code for a class without it), so a config cannot ask
for a kernel from the hub; sdpa is also what exports as one fused ONNX Attention node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.core.errors import ConfigError
from accel.core.trust import TRUST_FLAG, UntrustedFileError

CONFIG = "config.json"
SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"
MAX_JSON = 16 * 2**20
REMOTE_KEYS = ("auto_map", "custom_pipelines")
SAFE_ATTENTION = (None, "eager", "sdpa")
BATCH_RANGE = (1, None)  # a dynamic batch, unbounded


def is_hf_folder(path: Path) -> bool:
    """A folder with `config.json` and no accel manifest (as `save_pretrained` writes)."""
    return path.is_dir() and (path / CONFIG).is_file() and not (path / "manifest.json").exists()


def load_hf_folder(folder: Path, trust: bool) -> nn.Module:
    """The model in `folder` in eval mode, as a `TensorModel` (positional inputs, one tensor
    out: see module docstring); every refusal is one line."""
    from accel.compress.state import load_state
    from accel.core.optional import require

    require("transformers", "transformers", f"the Hugging Face folder {folder}")
    data = read_json(folder / CONFIG)
    check_config(data, folder / CONFIG)
    cls = model_class(data, folder / CONFIG)
    config = auto_config(folder)
    if not isinstance(config, cls.config_class):
        raise ConfigError(
            f"{folder / CONFIG}: architectures {cls.__name__} does not take a "
            f"{type(config).__name__} (model_type {data.get('model_type')!r})"
        )
    try:
        model = cls(config)
    except ValueError:  # "... does not support an attention implementation through sdpa"
        model = cls(auto_config(folder, attention="eager"))
    state, where = hf_weights(folder, trust)
    return TensorModel(load_state(model, state, where)).eval()


class TensorModel(nn.Module):
    """A transformers model called as accel's passes call models: its inputs positionally in
    `hf_input_signature`'s order, its first output (hidden states, or logits) as one tensor.
    transformers' own forward takes keywords and returns a ModelOutput, which tracing (ONNX
    export) cannot call positionally; `.model` is the transformers model itself."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.config = model.config
        self.input_names = tuple(spec.name for spec in hf_input_signature(model.config))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        named = dict(zip(self.input_names, inputs, strict=False))
        output: torch.Tensor = self.model(**named, return_dict=False)[0]
        return output


def read_json(path: Path) -> Any:
    """A JSON file of bounded size; unreadable or malformed is one line."""
    try:
        if path.stat().st_size > MAX_JSON:
            raise ConfigError(f"{path} is larger than {MAX_JSON // 2**20} MiB")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        text = " ".join(str(error).split())[:200] or type(error).__name__
        raise ConfigError(f"{path} is not readable JSON: {text}") from None


def check_config(data: Any, path: Path) -> None:
    """Refuse what would run code from outside transformers: `auto_map` (the folder's own
    Python), or an attention implementation other than eager/sdpa (it may be a hub kernel)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    for key, value in walk(data):
        if key.rpartition(".")[2] in REMOTE_KEYS:
            raise UntrustedFileError(
                f"{path}: {key} names code shipped with the model (remote code), so it was not "
                "loaded; accel builds transformers' own classes only"
            )
        if is_kernel_choice(key, value):
            raise UntrustedFileError(
                f"{path}: {key} = {value!r} may name a kernel to fetch from the hub, so it was "
                "not loaded; use 'eager' or 'sdpa'"
            )


def is_kernel_choice(key: str, value: Any) -> bool:
    """An `*attn_implementation*` other than eager/sdpa, or any `*_implementation` naming a
    repository (`org/name`): transformers would fetch and run that kernel."""
    if not isinstance(value, str):
        return False
    if "attn_implementation" in key:
        return value not in SAFE_ATTENTION
    return key.endswith("implementation") and ("/" in value or ":" in value)


def walk(data: Any, path: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Every (dotted key path, value) in nested mappings and lists (configs nest sub-configs)."""
    if depth > 32:
        raise ConfigError(f"config.json is nested more than 32 levels deep at {path}")
    items: list[tuple[str, Any]] = []
    children = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in children:
        child = f"{path}.{key}" if path else str(key)
        items.append((child, value))
        if isinstance(value, dict | list):
            items += walk(value, child, depth + 1)
    return items


def model_class(data: dict[str, Any], path: Path) -> Any:
    """The class `architectures` names, a `PreTrainedModel` defined by transformers itself."""
    import transformers

    names = data.get("architectures")
    if not isinstance(names, list) or len(names) != 1 or not isinstance(names[0], str):
        raise ConfigError(f"{path}: 'architectures' must name one model class, got {names!r}")
    name = names[0]
    cls = resolve(transformers, name) if name.isidentifier() and name[0] != "_" else None
    if not is_transformers_model(cls, transformers.PreTrainedModel):
        raise UntrustedFileError(
            f"{path}: architectures {name!r} is not a model class of transformers "
            f"{transformers.__version__}, so it was not loaded (remote code is never run)"
        )
    return cls


def is_transformers_model(cls: Any, base: type) -> bool:
    """A `PreTrainedModel` subclass defined in transformers' own modules."""
    return (
        isinstance(cls, type)
        and cls.__module__.startswith("transformers.")
        and issubclass(cls, base)
    )


def resolve(module: Any, name: str) -> Any:
    """`module.name` or None; a class whose optional dependency is missing is None too."""
    try:
        return getattr(module, name, None)
    except Exception:  # transformers' lazy import of one class failed
        return None


def auto_config(folder: Path, attention: str = "sdpa") -> Any:
    """`AutoConfig.from_pretrained(folder)`, local files only, no remote code, torch's own
    attention (`attention`: sdpa or eager, whatever the file says)."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(
            str(folder),
            local_files_only=True,
            trust_remote_code=False,
            attn_implementation=attention,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        text = " ".join(str(error).split())[:200] or type(error).__name__
        raise ConfigError(f"{folder / CONFIG} is not a transformers config: {text}") from None


def hf_weights(folder: Path, trust: bool) -> tuple[dict[str, torch.Tensor], str]:
    """The folder's state dict and the file(s) it came from: safetensors (a single file or
    the shards of its index), else `pytorch_model.bin` (a pickle) only when trusted."""
    from accel.compress.state import read_safetensors

    if (folder / SAFETENSORS).is_file():
        return read_safetensors(folder / SAFETENSORS), str(folder / SAFETENSORS)
    if (folder / SAFETENSORS_INDEX).is_file():
        shards = shard_files(folder, SAFETENSORS_INDEX, ".safetensors")
        return merged([read_safetensors(p) for p in shards]), str(folder / SAFETENSORS_INDEX)
    if not any((folder / name).is_file() for name in (PICKLE, PICKLE_INDEX)):
        raise ConfigError(
            f"{folder} has {CONFIG} but no weights: expected {SAFETENSORS} or {SAFETENSORS_INDEX}"
        )
    if not trust:
        raise UntrustedFileError(
            f"{folder} holds {PICKLE}, a pickle: loading it could run code from the file, so "
            f"it was not loaded. Save it with safetensors (save_pretrained's default) or pass "
            f"{TRUST_FLAG} only if you trust its source"
        )
    if (folder / PICKLE).is_file():
        return pickled_state(folder / PICKLE), str(folder / PICKLE)
    shards = shard_files(folder, PICKLE_INDEX, ".bin")
    return merged([pickled_state(p) for p in shards]), str(folder / PICKLE_INDEX)


def shard_files(folder: Path, index: str, suffix: str) -> list[Path]:
    """The shard files an index's `weight_map` names: plain file names inside `folder`."""
    data = read_json(folder / index)
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise ConfigError(f"{folder / index}: expected a non-empty 'weight_map'")
    names = sorted({str(name) for name in weight_map.values()})
    for name in names:
        if Path(name).name != name or not name.endswith(suffix) or name.startswith("."):
            raise ConfigError(f"{folder / index}: shard {name!r} is not a {suffix} file name")
        if not (folder / name).is_file():
            raise ConfigError(f"{folder / index}: shard {name} is missing from {folder}")
    return [folder / name for name in names]


def merged(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for part in parts:
        state.update(part)
    return state


def pickled_state(path: Path) -> dict[str, torch.Tensor]:
    """A trusted `pytorch_model.bin`: weights-only, then a full pickle (the user trusts it)."""
    from accel.compress.loading import read_torch_file

    state = read_torch_file(path, trust=True)
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ConfigError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


@dataclass(frozen=True)
class HFInput:
    """One named input of a transformers model: its dtype, its dims (a name for a dynamic
    one), an example size for each and the (low, high) of dynamic dims (high None: unbounded);
    the fields of `accel.compress.signature.InputSpec`, which it converts to one for one."""

    name: str
    dtype: torch.dtype
    shape: tuple[int | str, ...]
    sizes: tuple[int, ...]
    ranges: tuple[tuple[int, int | None] | None, ...]


def hf_input_signature(config: Any, batch: int = 1, seq: int | None = None) -> list[HFInput]:
    """The inputs a transformers model takes, in its forward's order: `input_ids` and
    `attention_mask` int64 [batch, seq] for a text model (example seq: min(128, its position
    limit)), or `pixel_values` float32 [batch, channels, size, size] for a vision one."""
    if isinstance(getattr(config, "vocab_size", None), int):
        return text_signature(config, batch, seq)
    size, channels = getattr(config, "image_size", None), getattr(config, "num_channels", None)
    if isinstance(size, int) and isinstance(channels, int):
        shape = ("batch", channels, size, size)
        ranges = (BATCH_RANGE, None, None, None)
        return [
            HFInput("pixel_values", torch.float32, shape, (batch, channels, size, size), ranges)
        ]
    raise ConfigError(
        f"{type(config).__name__}: no known input signature (neither a text nor a vision "
        "model): pass --input-spec"
    )


def text_signature(config: Any, batch: int, seq: int | None) -> list[HFInput]:
    """`input_ids` and `attention_mask`, int64 [batch, seq], seq up to the position limit."""
    limit = getattr(config, "max_position_embeddings", None)
    limit = limit if isinstance(limit, int) and limit > 0 else None
    sizes = (batch, seq or min(128, limit or 128))
    ranges = (BATCH_RANGE, (1, limit))
    return [
        HFInput(name, torch.int64, ("batch", "seq"), sizes, ranges)
        for name in ("input_ids", "attention_mask")
    ]


def hf_example_inputs(
    config: Any, batch: int = 1, seq: int | None = None
) -> dict[str, torch.Tensor]:
    """Inputs matching `hf_input_signature` by name: token ids below the vocabulary size
    (seeded), an all-ones attention mask, or seeded random pixels."""
    generator = torch.Generator().manual_seed(0)
    inputs: dict[str, torch.Tensor] = {}
    for spec in hf_input_signature(config, batch, seq):
        if spec.name == "input_ids":
            inputs[spec.name] = torch.randint(0, config.vocab_size, spec.sizes, generator=generator)
        elif spec.name == "attention_mask":
            inputs[spec.name] = torch.ones(spec.sizes, dtype=spec.dtype)
        else:
            inputs[spec.name] = torch.randn(spec.sizes, generator=generator, dtype=spec.dtype)
    return inputs


def model_input_signature(model: Any) -> list[HFInput] | None:
    """The input signature of a model `load_model` read from a Hugging Face folder (or of a
    transformers model itself), else None."""
    inner = model.model if isinstance(model, TensorModel) else model
    config = getattr(inner, "config", None)
    if config is None or not type(inner).__module__.startswith("transformers."):
        return None
    return hf_input_signature(config)
