"""Build the model a config (or checkpoint) names, and the shape of one input sample."""

from __future__ import annotations

from typing import Any


def build_model_and_shape(
    config: dict[str, Any], shape: tuple[int, ...] | None = None
) -> tuple[Any, tuple[int, ...]]:
    """The model (weights from `ckpt` when set) and one sample's shape (given or from data).

    A checkpoint is opened under the loading policy (`accel.cli.checkpoints`, then
    accel-core's `rebuild_model`): run this inside `accel.cli.file_policy.file_policy`.
    """
    from accel.core.registry import build
    from accel.core.runtime.context import data_model_spec

    data = build("datasets", config["data"]) if shape is None or not config.get("ckpt") else None
    if config.get("ckpt"):
        from accel.cli.checkpoints import checkpoint_model_spec
        from accel.core.checkpoint import rebuild_model

        checkpoint_model_spec(str(config["ckpt"]))  # its stored config, NaN weights: one line
        model = rebuild_model(str(config["ckpt"]))
    else:
        model = build("models", data_model_spec(config["model"], data))
    return model, shape or sample_shape(data)


def sample_shape(data: Any) -> tuple[int, ...]:
    """`data.input_shape` when the data module states it, else the shape of a first sample."""
    declared = getattr(data, "input_shape", None)
    if declared:
        return tuple(int(n) for n in declared)
    for split in ("train", "val", "test"):
        loader = getattr(data, f"{split}_dataloader")()
        if loader is not None:
            inputs = next(iter(loader))[0]
            return tuple(inputs.shape[1:])
    from accel.core.errors import ConfigError

    raise ConfigError("data: the data module has no loader; pass --input-shape C,H,W")
