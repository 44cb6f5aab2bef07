"""Look into a checkpoint without trusting it: `inspect_checkpoint` (manifest, versions, config,
weight sets, tensor table from the safetensors header, no tensor read) and `verify_checkpoint`
(every tensor present, shapes fit the config's model, no NaN), each problem one line."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from accel.core.checkpoint.codec import ARRAY, TENSOR, CheckpointError
from accel.core.checkpoint.header import SafetensorsHeader, read_header
from accel.core.checkpoint.migrate import FORMAT_VERSION, upgrade_manifest
from accel.core.checkpoint.store import MANIFEST, TENSORS, read_manifest
from accel.core.errors import AccelError


def inspect_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a checkpoint holds, as plain data: nothing is built and no tensor is read."""
    stored = read_manifest(path, upgrade=False)
    directory = Path(stored["path"])
    try:
        current, _ = upgrade_manifest(stored, str(directory / MANIFEST))
    except CheckpointError:  # a newer format: show what is there, as stored
        current = stored
    header = read_header(directory / TENSORS)
    stored_state = current.get("state")
    state: Mapping[str, Any] = stored_state if isinstance(stored_state, Mapping) else {}
    return {
        "path": str(directory),
        "name": current.get("name"),
        "created": current.get("created"),
        "format_version": stored.get("format_version"),
        "current_format_version": FORMAT_VERSION,
        "versions": current.get("versions"),
        "model": current.get("model"),
        "weights": current.get("weights"),
        "default_weights": current.get("default_weights"),
        "loop": state.get("loop"),
        "config": current.get("config"),
        "tensors": [
            {"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "bytes": t.end - t.start}
            for t in header.tensors.values()
        ],
        "tensor_bytes": header.data_size,
        "truncated": header.truncation(),
    }


@dataclass
class Verification:
    """Problems (one line each; none: the checkpoint is sound) and what was checked."""

    path: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def verify_checkpoint(path: str | os.PathLike[str], *, trust: bool | None = None) -> Verification:
    """Check a checkpoint end to end; a manifest or header that cannot be read raises."""
    manifest = read_manifest(path)
    directory = Path(manifest["path"])
    header = read_header(directory / TENSORS)
    result = Verification(str(directory))
    truncated = header.truncation()
    if truncated:
        result.problems.append(truncated)
        return result  # the values cannot be read: nothing more to say about them
    missing = sorted(set(tensor_refs(manifest.get("state"))) - set(header.tensors))
    if missing:
        result.problems.append(
            f"{directory / MANIFEST} refers to {len(missing)} tensors missing from {TENSORS}: "
            + few(missing)
        )
    result.checked.append(f"{len(header.tensors)} tensors present")
    check_shapes(manifest, header, result, trust)
    if not missing:
        check_values(directory, result)
    return result


def check_shapes(
    manifest: Mapping[str, Any], header: SafetensorsHeader, result: Verification, trust: Any
) -> None:
    """Each weight set's shapes against the model its config builds (no weights loaded)."""
    spec = (manifest.get("model") or {}).get("spec")
    if spec is None:
        result.checked.append("shapes not checked: the checkpoint stores no model config")
        return
    from accel.core.checkpoint import manifest_source
    from accel.core.registry import build_from_file

    try:
        model = build_from_file(
            "models", spec, source=manifest_source(manifest), key="model.spec", trust=trust
        )
    except AccelError as error:
        result.problems.append(f"the checkpoint's model cannot be built: {error}")
        return
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    unfit: dict[str, list[str]] = {}  # one line per distinct problem, naming its weight sets
    for name, where in (manifest.get("weights") or {"raw": ["model"]}).items():
        detail = weight_set_problem(manifest, header, where, expected)
        if detail:
            unfit.setdefault(detail, []).append(name)
        else:
            result.checked.append(f"weights {name!r} fit model {type(model).__name__}")
    for detail, names in unfit.items():
        result.problems.append(
            f"weights {', '.join(names)} do not fit the model its config builds "
            f"({type(model).__name__}): {detail}"
        )


def weight_set_problem(
    manifest: Mapping[str, Any],
    header: SafetensorsHeader,
    where: Any,
    expected: Mapping[str, tuple[int, ...]],
) -> str | None:
    """What does not fit between one weight set and the model's shapes (None: all fits)."""
    node: Any = manifest.get("state")
    for key in where if isinstance(where, list) else []:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return f"no such entry in the state ({where!r})"
    found = {k: _ref(v) for k, v in node.items()}
    shapes = {k: header.tensors[r].shape for k, r in found.items() if r in header.tensors}
    parts = [
        f"{label} {few(items)}"
        for label, items in (
            ("missing", [k for k in expected if k not in found]),
            ("unexpected", [k for k in found if k not in expected]),
            (
                "shape",
                [f"{k} {shapes[k]} vs {v}" for k, v in expected.items() if shapes.get(k, v) != v],
            ),
        )
        if items
    ]
    return "; ".join(parts) if parts else None


def check_values(directory: Path, result: Verification) -> None:
    """Load the tensors (safetensors: no code runs) and name any floating tensor with NaN."""
    try:
        tensors = load_file(str(directory / TENSORS), device="cpu")
    except Exception as error:  # a corrupt data section: one line
        result.problems.append(f"{directory / TENSORS} is unreadable: {error}")
        return
    nan = [k for k, v in tensors.items() if v.is_floating_point() and bool(torch.isnan(v).any())]
    if nan:
        result.problems.append(f"{len(nan)} tensors hold NaN: {few(nan)}")
    else:
        result.checked.append("no NaN")


def tensor_refs(value: Any) -> Iterator[str]:
    """The tensor names an encoded state refers to."""
    if isinstance(value, list):
        for item in value:
            yield from tensor_refs(item)
    elif isinstance(value, Mapping):
        ref = _ref(value)
        if ref is not None:
            yield ref
        else:
            for item in value.values():
                yield from tensor_refs(item)


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key in (TENSOR, ARRAY):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def few(items: list[str], limit: int = 3) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
