"""The Context: every component of a run, built from a config dict through the registry."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from accel.core.errors import ConfigError
from accel.core.metrics import build_metrics
from accel.core.registry import build, registry
from accel.core.runtime.components import resolve_scheduler
from accel.core.seeding import seed_everything
from accel.core.value_ranges import check_seed

# top-level key -> (accepted types, description) for the keys the runtime reads
SECTIONS: dict[str, tuple[tuple[type, ...], str]] = {
    "seed": ((int, type(None)), "an int or null"),
    "model": ((str, Mapping), "a name or a mapping with 'name'"),
    "data": ((str, Mapping), "a name or a mapping with 'name'"),
    "optimizer": ((str, Mapping), "a name or a mapping with 'name'"),
    "scheduler": ((str, Mapping, type(None)), "null, a name or a mapping with 'name'"),
    "loss": ((str, Mapping), "a name or a mapping with 'name'"),
    "metrics": ((list, tuple, Mapping, type(None)), "a list of names or specs"),
    "callbacks": ((list, tuple, type(None)), "a list of callback specs"),
    "trainer": ((Mapping, type(None)), "a mapping of trainer options"),
    "tracker": ((str, Mapping, type(None)), "null, a name or a mapping with 'name'"),
    "resume": ((str, type(None)), "null, 'last', 'auto' or a checkpoint path"),
    "checkpoint": ((str, type(None)), "null or a checkpoint path"),
    "weights": ((str, type(None)), "null (the checkpoint's default), raw, ema or swa"),
}
REQUIRED = {
    "fit": ("model", "data", "optimizer", "loss"),
    "validate": ("model", "data"),
    "test": ("model", "data"),
}


@dataclass(eq=False)
class Context:
    """A run's config and the components built from it (or given directly)."""

    config: dict[str, Any]
    model: Any
    data: Any = None
    train_loader: Any = None
    val_loader: Any = None
    test_loader: Any = None
    optimizer: Any = None
    scheduler: Any = None
    loss: Any = None
    metrics: dict[str, Any] = field(default_factory=dict)
    callbacks: list[Any] = field(default_factory=list)
    tracker: Any = None
    trainer_options: dict[str, Any] = field(default_factory=dict)


def to_plain(value: Any) -> Any:
    """Nested mappings and sequences (e.g. OmegaConf containers) as dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [to_plain(v) for v in value]
    return value


def check_config(cfg: Any, stage: str) -> dict[str, Any]:
    """A plain copy of `cfg`, with the type of every known section checked."""
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"config must be a mapping, got {type(cfg).__name__}")
    plain = to_plain(cfg)
    for key, (types, description) in SECTIONS.items():
        value = plain.get(key)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise ConfigError(
                f"config.{key} must be {description}, got {value!r} ({type(value).__name__})"
            )
    check_seed(plain.get("seed"), "seed")
    missing = [k for k in REQUIRED[stage] if plain.get(k) is None]
    if missing:
        raise ConfigError(f"config for stage '{stage}' is missing {', '.join(missing)}")
    return plain


def model_spec(
    spec: Any,
    num_classes: int | None,
    input_shape: Any = None,
    arguments: Mapping[str, Any] | None = None,
) -> Any:
    """The model spec completed from the data module: `num_classes`, `in_channels` from
    `input_shape` (C, H, W) and the data module's `model_arguments()`, each only where the
    model takes it and the spec does not set it (`model=mobilenetv2` on one-channel digits
    then just works; a tabular model gets the preprocessing fitted on its training split)."""
    known = {"num_classes": num_classes}
    if input_shape:
        known["in_channels"] = int(input_shape[0])
    known.update(arguments or {})
    known = {k: v for k, v in known.items() if v is not None}
    if not known:
        return spec
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    if "name" not in spec:
        return spec
    try:
        params = inspect.signature(registry("models").get(spec["name"])).parameters
    except (TypeError, ValueError):
        return spec
    for key, value in known.items():
        if key in params and key not in spec:
            spec[key] = value
    return spec


def data_model_spec(spec: Any, data: Any) -> Any:
    """`model_spec` with what the data module `data` states (see `DataModule`)."""
    arguments = getattr(data, "model_arguments", None)
    return model_spec(
        spec,
        getattr(data, "num_classes", None),
        getattr(data, "input_shape", None),
        arguments() if callable(arguments) else None,
    )


def build_context(cfg: Mapping[str, Any], stage: str = "fit", *, model: Any = None) -> Context:
    """Seed, then build data, model, optimizer, scheduler, loss, metrics, callbacks, tracker.

    `model`, when given, is used instead of building `config.model` (e.g. a pruned model to
    fine-tune: its optimizer is built on its own parameters)."""
    config = check_config(cfg, stage)
    trainer_options = dict(config.get("trainer") or {})
    seed = config.get("seed", trainer_options.get("seed"))
    if seed is not None:
        trainer_options.setdefault("seed", seed)
        seed_everything(seed)
    data = build("datasets", config["data"], config_key="data")
    num_classes = getattr(data, "num_classes", None)
    config["model"] = data_model_spec(config["model"], data)
    if model is None:
        model = build("models", config["model"], config_key="model")
    optimizer = scheduler = None
    if stage == "fit":
        optimizer = build(
            "optimizers", config["optimizer"], config_key="optimizer", params=model.parameters()
        )
        scheduler = resolve_scheduler(config.get("scheduler"), optimizer)
    loss = config.get("loss")
    loss = build("losses", loss, config_key="loss") if loss is not None else None
    return Context(
        config=config,
        model=model,
        data=data,
        train_loader=data.train_dataloader() if stage == "fit" else None,
        val_loader=data.val_dataloader() if stage != "test" else None,
        test_loader=data.test_dataloader() if stage == "test" else None,
        optimizer=optimizer,
        scheduler=scheduler,
        loss=loss,
        metrics=build_metrics(config.get("metrics"), num_classes),
        callbacks=[
            build("callbacks", c, config_key=f"callbacks[{i}]")
            for i, c in enumerate(config.get("callbacks") or [])
        ],
        tracker=build("trackers", config["tracker"], config_key="tracker")
        if config.get("tracker")
        else None,
        trainer_options=trainer_options,
    )
