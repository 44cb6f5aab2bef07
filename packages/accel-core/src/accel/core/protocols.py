"""What each kind of component must offer, in one file.

A component is checked against its kind's protocol when the registry builds it, so a plugin
that lacks a method fails at load time with the missing names, not deep inside a training run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from accel.core.errors import ProtocolError


@runtime_checkable
class Model(Protocol):
    """A trainable module: `forward(batch_inputs) -> outputs` (an `nn.Module` satisfies it)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any: ...
    def parameters(self, recurse: bool = True) -> Iterable[Any]: ...
    def state_dict(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]: ...


@runtime_checkable
class RecordModel(Protocol):
    """Optional for a model fed rows of named columns (a table): `input_columns()` returns
    the columns it reads, in input order, and what it returns, as plain JSON (the format of
    `accel.core.records`). `accel.core.records.encode_records(rows, model.input_columns())`
    turns JSON rows into its input; `accel compress` writes it as `columns.json` beside an
    exported model, and `accel serve` reads it (from the model or that file) for
    `POST /predict` rows, so the rows are encoded as in training.
    """

    def input_columns(self) -> Mapping[str, Any]: ...


def input_columns_of(model: Any) -> dict[str, Any] | None:
    """`model.input_columns()`, checked and as plain JSON, or None when the model has no
    such method (a `torch.compile` wrapper is looked through)."""
    from accel.core.records import record_format

    inner = getattr(model, "_orig_mod", model)
    method = getattr(inner, "input_columns", None)
    if not callable(method):
        return None
    source = f"{type(inner).__qualname__}.input_columns()"
    return record_format(method(), source).as_dict()


@runtime_checkable
class Loss(Protocol):
    """`loss(prediction, target) -> scalar tensor`; shapes are documented by each loss."""

    def __call__(self, prediction: Any, target: Any) -> Any: ...


@runtime_checkable
class Transform(Protocol):
    """`transform(sample) -> sample`: a function of one sample or batch, no hidden global state."""

    def __call__(self, sample: Any) -> Any: ...


@runtime_checkable
class DataModule(Protocol):
    """Gives the loaders of one dataset; `None` where a split does not exist.

    Optional: `num_classes` and `input_shape` (filled into the model spec as `num_classes`
    and `in_channels` where the model takes them), `model_arguments()` (a mapping of plain,
    JSON-able data, e.g. fitted preprocessing, filled into the model spec the same way, so a
    checkpoint's stored spec rebuilds the model without the data), and the members of
    `AnalyzableData` for `accel analyze-data`.
    """

    def train_dataloader(self) -> Any: ...
    def val_dataloader(self) -> Any: ...
    def test_dataloader(self) -> Any: ...


@runtime_checkable
class AnalyzableData(Protocol):
    """Optional for a data module: its own `accel analyze-data` output.

    `statistics(max_samples)` gives plain data for `data_analysis.json` (`splits` with a
    `count` each; `tables`, a list of `{title, header, rows}`, is printed as tables);
    `write_analysis(folder)` writes its own files (a schema, plots) into the analysis run
    directory and returns their paths, instead of the grid of sample images.
    """

    def statistics(self, max_samples: int | None = None) -> Mapping[str, Any]: ...
    def write_analysis(self, folder: Path) -> list[Path]: ...


@runtime_checkable
class Callback(Protocol):
    """Reacts to loop events through `on_<event>(state)` methods; lower `priority` runs first.

    Events are listed in `accel.core.events.EVENTS`; `priority` is an int or a name from
    `accel.core.events.PRIORITIES`.
    """

    priority: int | str


@runtime_checkable
class Optimizer(Protocol):
    """A torch-style optimizer."""

    param_groups: list[dict[str, Any]]

    def step(self, closure: Any = None) -> Any: ...
    def zero_grad(self, set_to_none: bool = True) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...


@runtime_checkable
class Scheduler(Protocol):
    """A torch-style learning-rate scheduler."""

    def step(self, *args: Any, **kwargs: Any) -> Any: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...


@runtime_checkable
class Engine(Protocol):
    """Places model and data on devices and runs the numeric side of a step.

    `setup` returns the module to call forward on (maybe compiled) and the optimizer;
    `autocast()` is the precision context of forward + loss; `backward` handles accumulation
    and loss scaling; `step(optimizer, model)` clips, steps and zeroes the gradients.
    Optional: `state_dict()`/`load_state_dict()` for state to checkpoint (a grad scaler).
    Optional, for several processes (see `accel.core.runtime.distributed`): `world_size`,
    `rank`, `is_main_process`, `prepare_loader(loader, train)`, `reduce(tensor, op)`,
    `gather_object(obj)`, `barrier()`, `full_state(...)`/`load_full_state(...)`; without them,
    one process.
    """

    def setup(self, model: Any, optimizer: Any) -> tuple[Any, Any]: ...
    def to_device(self, batch: Any) -> Any: ...
    def autocast(self) -> Any: ...
    def backward(self, loss: Any) -> None: ...
    def step(self, optimizer: Any, model: Any) -> None: ...


@runtime_checkable
class Tracker(Protocol):
    """Sends a run's params, metrics and files to an experiment tracker.

    Optional: `child(name, run_dir=...)` returning a tracker for a nested run (a pipeline
    step, a sweep job); without it those runs are tracked side by side, not nested.
    """

    def start_run(self, name: str | None = None, tags: Mapping[str, str] | None = None) -> None: ...
    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...
    def log_artifact(self, path: str, artifact_path: str | None = None) -> None: ...
    def log_model(self, path: str, name: str) -> None: ...
    def end_run(self, status: str = "FINISHED") -> None: ...


@runtime_checkable
class Pass(Protocol):
    """One compression step: `pass_(artifact, context) -> artifact`."""

    def __call__(self, artifact: Any, context: Any) -> Any: ...


PROTOCOLS: dict[str, type] = {
    "models": Model,
    "datasets": DataModule,
    "losses": Loss,
    "transforms": Transform,
    "callbacks": Callback,
    "optimizers": Optimizer,
    "schedulers": Scheduler,
    "engines": Engine,
    "trackers": Tracker,
    "passes": Pass,
}


def protocol_members(protocol: type) -> list[str]:
    """The attribute and method names a protocol requires, in definition order."""
    names = list(getattr(protocol, "__annotations__", {}))
    names += [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]
    if "__call__" in vars(protocol):
        names.append("__call__")
    return list(dict.fromkeys(names))


def check_protocol(kind: str, name: str, obj: object) -> None:
    """Raise ProtocolError naming every member `obj` lacks for `kind`; other kinds pass."""
    protocol = PROTOCOLS.get(kind)
    if protocol is None:
        return
    missing = [m for m in protocol_members(protocol) if not hasattr(obj, m)]
    if missing:
        raise ProtocolError(
            f"{kind} '{name}' built a {type(obj).__qualname__} that is not a "
            f"{protocol.__name__}: missing {', '.join(missing)}"
        )
