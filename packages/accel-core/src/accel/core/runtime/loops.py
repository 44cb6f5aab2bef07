"""The train and evaluation loops: the hot path, free of per-step work nobody asked for."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from accel.core.callbacks.base import CallbackList
from accel.core.data import ResumableSampler, split_batch
from accel.core.errors import AccelError, ConfigError
from accel.core.runtime.components import SchedulerPlan, scalar_loss_error
from accel.core.runtime.distributed import reduce
from accel.core.runtime.state import RunState


class NonFiniteLossError(AccelError):
    """The training loss became NaN or infinite: the run stopped, checkpoints kept."""


@dataclass(eq=False)
class FitRun:
    """Everything one `fit` call works with (the trainer stays stateless between calls)."""

    model: nn.Module
    forward: Any
    optimizer: Any
    loss_fn: Any
    scheduler: SchedulerPlan | None
    metrics: dict[str, Any]
    loader: Any
    sampler: ResumableSampler | None
    val_loader: Any
    seed: int
    engine: Any
    callbacks: CallbackList
    state: RunState
    max_steps: int | None = None
    log_every_n_steps: int = 50
    loss_sum: Tensor = field(default_factory=lambda: torch.zeros(()))
    last_checkpoint: str | None = None


def check_finite(run: FitRun) -> None:
    """Stop with a one-line error if the epoch's running loss is NaN or infinite."""
    if bool(torch.isfinite(run.loss_sum)):
        return
    s = run.state
    raise NonFiniteLossError(
        f"loss became {float(run.loss_sum)} by epoch {s.epoch} step {s.global_step} "
        f"(batch {s.batch_idx}): training stopped; last good checkpoint: "
        f"{run.last_checkpoint or 'none'}; lower the learning rate or set clip_grad_norm"
    )


def _batches(run: FitRun) -> Any:
    """This epoch's remaining batches, without reading the consumed ones when possible."""
    s = run.state
    if run.sampler is not None:
        run.sampler.set_position(s.epoch, s.batch_idx * (s.batch_size or 1))
        return iter(run.loader)
    return itertools.islice(iter(run.loader), s.batch_idx, None)


def train_batches(run: FitRun) -> None:
    """Train on the rest of the current epoch (the hot loop)."""
    s, engine, forward, loss_fn = run.state, run.engine, run.forward, run.loss_fn
    handlers = run.callbacks.handlers
    on_start, on_end = handlers["batch_start"], handlers["batch_end"]
    on_before, on_after, on_step = (
        handlers["before_backward"],
        handlers["after_backward"],
        handlers["optimizer_step"],
    )
    accumulate = getattr(engine, "accumulate_grad_batches", 1)
    step_scheduler = run.scheduler is not None and run.scheduler.interval == "step"
    n, log_every = s.num_batches, run.log_every_n_steps
    run.model.train()
    for batch in _batches(run):
        for handler in on_start:
            handler(s)
        inputs, target = split_batch(engine.to_device(batch))
        with engine.autocast():
            loss = loss_fn(forward(inputs), target)
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            raise scalar_loss_error(loss, loss_fn)
        s.loss = loss
        for handler in on_before:
            handler(s)
        engine.backward(loss)
        for handler in on_after:
            handler(s)
        run.loss_sum.add_(loss.detach())
        s.batch_idx += 1
        if s.batch_idx % accumulate == 0 or s.batch_idx == n:
            engine.step(run.optimizer, run.model)
            s.global_step += 1
            if step_scheduler:
                step_lr(run)
            if s.global_step % log_every == 0:  # the only host sync of a step, and rare
                check_finite(run)
                logged_loss = reduce(engine, loss.detach(), "mean").item()
                s.logged = {"train/loss_step": logged_loss, "epoch": float(s.epoch)}
            for handler in on_step:
                handler(s)
        for handler in on_end:
            handler(s)
        s.logged = None
        if run.max_steps is not None and s.global_step >= run.max_steps:
            s.should_stop = True
            break


def step_lr(run: FitRun) -> None:
    """Step the scheduler; ReduceLROnPlateau gets its monitored metric."""
    plan = run.scheduler
    assert plan is not None
    if not plan.on_plateau:
        plan.scheduler.step()
        return
    monitor = plan.monitor or ("val/loss" if "val/loss" in run.state.metrics else "train/loss")
    if monitor not in run.state.metrics:
        raise ConfigError(
            f"scheduler monitors {monitor!r}, which is not a metric; "
            f"available: {', '.join(sorted(run.state.metrics)) or 'none'}"
        )
    plan.scheduler.step(run.state.metrics[monitor])


def evaluate(
    forward: Any,
    model: nn.Module,
    loader: Any,
    loss_fn: Any,
    metrics: dict[str, Any],
    engine: Any,
    state: RunState,
    callbacks: CallbackList,
    prefix: str,
) -> dict[str, float]:
    """Loss (averaged over samples) and metrics of `model` on `loader`, without gradients."""
    was_training = model.training
    model.eval()
    device = getattr(engine, "device", None)
    for metric in metrics.values():
        metric.reset()
        if device is not None and hasattr(metric, "to"):
            metric.to(device)
    total, count = torch.zeros((), device=device), 0  # stays on the device: no per-batch sync
    on_batch = callbacks.handlers["eval_batch_end"]
    state.eval_batch_idx = 0
    with torch.no_grad():
        for batch in loader:
            inputs, target = split_batch(engine.to_device(batch))
            with engine.autocast():
                output = forward(inputs)
                loss = loss_fn(output, target) if loss_fn is not None else None
            size = len(target) if hasattr(target, "__len__") else 1
            if loss is not None:
                if not isinstance(loss, Tensor) or loss.ndim != 0:
                    raise scalar_loss_error(loss, loss_fn)
                total.add_(loss.detach().float() * size)
            count += size
            for metric in metrics.values():
                metric.update(output, target)
            state.eval_batch_idx += 1
            for handler in on_batch:
                handler(state)
    model.train(was_training)
    total = reduce(engine, total)  # several processes: each saw its own samples, once
    count = int(reduce(engine, torch.tensor(count, device=device)))
    results = {f"{prefix}/loss": float(total) / max(count, 1)} if loss_fn is not None else {}
    for name, metric in metrics.items():
        results[f"{prefix}/{name}"] = _scalar(metric.compute(), name)
    return results


def _scalar(value: Any, name: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ConfigError(
                f"metric '{name}' computed {value.numel()} values; configure it to give one "
                "(e.g. average='macro')"
            )
        return float(value)
    return float(value)
