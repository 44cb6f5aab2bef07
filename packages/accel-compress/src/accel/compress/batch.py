"""The batch sizes a loaded `torch.export` program accepts: a static export fixes one.

`torch.export.export(model, (x,))` without `dynamic_shapes` bakes `x`'s batch into the program,
which then refuses every other batch ("Guard failed: input.size()[0] == 1"). accel compress
runs models at batch 1 and 32 and re-exports them with a dynamic batch, so it refuses such a
program in one line saying how to re-export it; `analyze` measures it at the batch it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accel.core.errors import ConfigError

NEEDED = 32  # compress runs batches 1..32 (latency at 1 and 32, data in batches of 32)
REEXPORT = (
    "re-export it with a dynamic batch: torch.export.export(model, (x,), dynamic_shapes="
    "({0: torch.export.Dim('batch')},)) with x of batch >= 2"
)


@dataclass(frozen=True)
class BatchRange:
    """Batch sizes from `low` to `high` (None: no upper bound) of a program's first input."""

    low: int
    high: int | None

    def accepts(self, size: int) -> bool:
        # torch specializes sizes 0 and 1, so a dimension exported with min=2 still runs at 1
        low = 1 if self.low <= 2 else self.low
        return size >= low and (self.high is None or size <= self.high)

    @property
    def fixed(self) -> bool:
        return self.high == self.low

    def text(self) -> str:
        if self.fixed:
            return f"a fixed batch of {self.low}"
        return f"batch sizes {self.low} to {'any' if self.high is None else self.high}"


def batch_range(model: Any) -> BatchRange | None:
    """The batch sizes a loaded program accepts (from its first input's recorded shape), or
    None when `model` is not a `torch.export` program or records no shape."""
    from accel.compress.artifacts import is_program_module

    if not is_program_module(model):
        return None
    inputs = [n for n in model.graph.nodes if n.op == "placeholder" and "val" in n.meta]
    shape = getattr(inputs[0].meta["val"], "shape", None) if inputs else None
    if not shape:
        return None
    size = shape[0]
    if isinstance(size, int):
        return BatchRange(size, size)
    node = getattr(size, "node", None)
    bounds = getattr(getattr(node, "shape_env", None), "var_to_range", {}).get(
        getattr(node, "expr", None)
    )
    if bounds is None:
        return BatchRange(0, None)
    return BatchRange(as_int(bounds.lower) or 0, as_int(bounds.upper))


def as_int(value: Any) -> int | None:
    """A sympy bound as an int; None for infinity (torch's `int_oo` has no int value)."""
    try:
        return int(value)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


def check_dynamic(model: Any, path: Any, largest: int = NEEDED) -> None:
    """Refuse a program that does not accept every batch from 1 to `largest`, in one line."""
    limits = batch_range(model)
    if limits is None or (limits.accepts(1) and limits.accepts(largest)):
        return
    raise ConfigError(
        f"{path} is a torch.export program with {limits.text()}; accel compress runs it at "
        f"batch sizes 1 to {largest} and re-exports it: {REEXPORT}"
    )


def analysis_batch(model: Any) -> int | None:
    """The one batch size to analyze a program at when it does not take 1..NEEDED, else None."""
    limits = batch_range(model)
    if limits is None or (limits.accepts(1) and limits.accepts(NEEDED)):
        return None
    return 1 if limits.accepts(1) else limits.low
