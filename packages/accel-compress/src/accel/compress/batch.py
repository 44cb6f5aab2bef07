"""The batch sizes a loaded `torch.export` program accepts, and the sizes accel runs it at.

`torch.export.export(model, (x,))` without `dynamic_shapes` bakes `x`'s batch into the program,
which then refuses every other batch ("Guard failed: input.size()[0] == 1"); `Dim("batch",
max=8)` bounds it. accel measures a model at batch 1 and 32 and feeds it data in batches of
32; for a program that takes fewer sizes, `batch_plan` picks the ones it takes (a static
program: its own batch only) and says so, and the re-export keeps the program's own ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accel.compress.signature import program_signature
from accel.core.errors import ConfigError

NEEDED = 32  # compress runs batches 1..32 (latency at 1 and 32, data in batches of 32)
BATCHES = (1, NEEDED)


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


@dataclass(frozen=True, kw_only=True)
class BatchPlan:
    """The batch sizes to measure at, the size of data batches (None: accel's usual 32, a
    partial last one kept), which batches a program accepts, and the note saying why."""

    batches: tuple[int, ...] = BATCHES
    data: int | None = None
    limits: BatchRange | None = None
    exact: bool = False  # only data batches of exactly `data` samples (a fixed batch)
    note: str | None = None

    def keeps(self, size: int) -> bool:
        """Whether a data batch of `size` samples can be fed to the model."""
        if self.exact:
            return size == self.data
        return self.limits is None or self.limits.accepts(size)


def batch_range(model: Any) -> BatchRange | None:
    """The batch sizes a loaded program accepts (from its first input's recorded shape), or
    None when `model` is not a `torch.export` program or records no shape."""
    signature = program_signature(model)
    if signature is None or not signature.inputs[0].shape:
        return None
    first = signature.inputs[0]
    if isinstance(first.shape[0], int):
        return BatchRange(first.shape[0], first.shape[0])
    low, high = first.range_of(0) or (0, None)
    return BatchRange(low, high)


def batch_plan(model: Any, wanted: Sequence[int] = BATCHES) -> BatchPlan:
    """Where to measure and how to batch data for `model`: `wanted` when it accepts them all;
    a static program at its own batch; a bounded one at its smallest and largest (to 32)."""
    limits = batch_range(model)
    if limits is None or all(limits.accepts(size) for size in wanted):
        return BatchPlan(batches=tuple(wanted), limits=limits)
    if limits.fixed:
        return BatchPlan(
            batches=(limits.low,),
            data=limits.low,
            limits=limits,
            exact=True,
            note=f"a static program: measured and served at batch {limits.low}",
        )
    low = 1 if limits.accepts(1) else limits.low
    high = min(NEEDED, limits.high or NEEDED)
    sizes = tuple(sorted({low, high}))
    return BatchPlan(
        batches=sizes,
        data=high,
        limits=limits,
        note=f"a program taking {limits.text()}: measured at batch {' and '.join(map(str, sizes))}",
    )


def check_batches(plan: BatchPlan, batches: Sequence[int], path: Any, key: str) -> None:
    """The batch sizes a recipe asks for (`key`) are ones the program at `path` accepts."""
    if plan.limits is None:
        return
    refused = [size for size in batches if not plan.limits.accepts(size)]
    if refused:
        raise ConfigError(
            f"{key} {list(batches)}: {path} is a torch.export program with "
            f"{plan.limits.text()}, so it cannot run at batch {', '.join(map(str, refused))}"
        )


def analysis_batch(model: Any) -> int | None:
    """The one batch size to analyze a program at when it does not take 1..NEEDED, else None."""
    limits = batch_range(model)
    if limits is None or (limits.accepts(1) and limits.accepts(NEEDED)):
        return None
    return 1 if limits.accepts(1) else limits.low
