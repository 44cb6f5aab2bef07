"""`prune`: structured channel pruning with torch-pruning (the layers really get smaller)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from accel.compress.analysis import count_macs, count_params
from accel.compress.artifacts import is_program_module
from accel.compress.data import inputs_of
from accel.compress.signature import Inputs, as_tuple, head
from accel.core.errors import ConfigError
from accel.core.passes import PassContext

IMPORTANCES = ("l1", "l2", "bn_scale", "taylor")


class Prune:
    """Remove a `ratio` of channels (or reach a MACs `speedup`), keeping the model consistent.

    - `importance`: `l1`/`l2` weight magnitude, `bn_scale` (BatchNorm γ), `taylor` (needs data).
    - `global_pruning`: rank channels across layers instead of the same ratio per layer.
    - `ignored`: module names to keep whole (the classifier head is kept automatically).
    - `round_to`: keep channel counts multiples of this (e.g. 8 for int8 kernels).
    - `tolerance`: the relative output error a pruned model that is not fine-tuned may keep
      (default `verify.TOLERANCES["prune"]`); `accel compress` refuses one that breaks it.
    """

    def __init__(
        self,
        ratio: float | None = 0.5,
        *,
        speedup: float | None = None,
        importance: str = "l2",
        global_pruning: bool = False,
        ignored: list[str] | None = None,
        round_to: int | None = None,
        max_steps: int = 20,
        tolerance: float | None = None,
    ) -> None:
        if importance not in IMPORTANCES:
            raise ConfigError(
                f"prune: importance {importance!r} is not one of {', '.join(IMPORTANCES)}"
            )
        if speedup is None and (ratio is None or not 0.0 <= ratio < 1.0):
            raise ConfigError(f"prune: ratio must be in [0, 1), got {ratio!r}")
        if speedup is not None and speedup <= 1.0:
            raise ConfigError(f"prune: speedup must be > 1 (MACs before / after), got {speedup}")
        self.ratio, self.speedup, self.importance = ratio, speedup, importance
        self.global_pruning, self.ignored, self.round_to = global_pruning, ignored or [], round_to
        self.max_steps, self.tolerance = max_steps, tolerance

    def __call__(self, model: nn.Module, context: PassContext) -> nn.Module:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"prune works on a torch model, got {type(model).__name__}")
        if is_program_module(model):
            raise ConfigError(
                "prune needs the model's own Python class, not a torch.export program: pass a "
                "state dict with --arch NAME, or an accel checkpoint"
            )
        example = context.example_inputs
        pruned = copy.deepcopy(model).eval()
        before = (count_params(model), count_macs(model, example))
        try:
            pruner = self._pruner(pruned, example)
            steps = self._run(pruner, pruned, example, context, before[1])
            with torch.no_grad():
                pruned(
                    *as_tuple(example)
                )  # a layer torch-pruning does not know can break the model
        except ConfigError:
            raise
        except Exception as error:  # unsupported layers: skip the pass, say why, never crash
            report = context.record("prune", "skipped")
            first = (str(error).strip().splitlines() or [""])[0][:160]
            report.notes.append(
                f"torch-pruning cannot prune this model ({type(error).__name__}: {first}); "
                "kept it whole: add the layer involved to `ignored`"
            )
            return model
        after = (count_params(pruned), count_macs(pruned, example))
        report = context.record(
            "prune",
            ratio=self.ratio,
            params_before=before[0],
            params_after=after[0],
            macs_before=before[1],
            macs_after=after[1],
            steps=steps,
        )
        report.notes.append(
            f"params {before[0]:,} -> {after[0]:,}; MACs {before[1] or 0:,} -> {after[1] or 0:,}"
        )
        return pruned

    def _pruner(self, model: nn.Module, example: Inputs) -> Any:
        import torch_pruning as tp

        steps = self.max_steps if self.speedup else 1
        ratio = 0.95 if self.speedup else self.ratio
        return tp.pruner.BasePruner(
            model,
            head(example, 1),
            importance=make_importance(self.importance),
            pruning_ratio=ratio,
            iterative_steps=steps,
            global_pruning=self.global_pruning,
            ignored_layers=ignored_layers(model, self.ignored),
            round_to=self.round_to,
        )

    def _run(
        self, pruner: Any, model: nn.Module, example: Any, context: PassContext, macs: int | None
    ) -> int:
        if not self.speedup:
            self._step(pruner, model, context)
            return 1
        for step in range(1, self.max_steps + 1):
            self._step(pruner, model, context)
            now = count_macs(model, example)
            if macs and now and macs / now >= self.speedup:
                return step
        return self.max_steps

    def _step(self, pruner: Any, model: nn.Module, context: PassContext) -> None:
        if self.importance == "taylor":
            accumulate_gradients(model, context)
        pruner.step()
        model.zero_grad(set_to_none=True)


def make_importance(name: str) -> Any:
    """A torch-pruning importance from its short name."""
    import torch_pruning as tp

    if name == "l1":
        return tp.importance.GroupMagnitudeImportance(p=1)
    if name == "l2":
        return tp.importance.GroupMagnitudeImportance(p=2)
    if name == "bn_scale":
        return tp.importance.BNScaleImportance()
    return tp.importance.GroupTaylorImportance()


def ignored_layers(model: nn.Module, names: list[str]) -> list[nn.Module]:
    """The modules named in `names`, plus the last Linear/Conv (the head: its outputs are
    the classes)."""
    modules = dict(model.named_modules())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise ConfigError(
            f"prune: no module named {', '.join(map(repr, unknown))} to ignore; "
            f"modules: {', '.join(n for n in modules if n)[:300]}"
        )
    head = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)][-1:]
    return [modules[n] for n in names] + head


def accumulate_gradients(model: nn.Module, context: PassContext, batches: int = 4) -> None:
    """Gradients of the loss on a few labelled batches, which Taylor importance reads."""
    data = context.train_data or context.val_data
    if data is None:
        raise ConfigError("prune: importance 'taylor' needs labelled data (train or eval data)")
    model.zero_grad(set_to_none=True)
    for index, batch in enumerate(data):
        if index >= batches:
            break
        if not isinstance(batch, list | tuple):
            raise ConfigError("prune: importance 'taylor' needs (inputs, targets) batches")
        loss = nn.functional.cross_entropy(model(*as_tuple(inputs_of(batch))), batch[1])
        loss.backward()
