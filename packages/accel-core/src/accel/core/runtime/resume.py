"""What a checkpoint of a running fit holds, and how a fit is put back to exactly that point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from accel.core.checkpoint import CheckpointError, load_checkpoint, load_model_state, load_state
from accel.core.errors import AccelError, ConfigError
from accel.core.runtime.distributed import (
    full_state,
    gather_object,
    load_full_state,
    reduce,
    world_size,
)
from accel.core.runtime.loops import FitRun, NonFiniteLossError
from accel.core.seeding import capture_rng, restore_rng

RESUME_KEYS = ("model", "optimizer", "loop", "rng", "callbacks")


def collect_state(run: FitRun) -> dict[str, Any]:
    """Model, optimizer, scheduler, engine, callbacks, loop position and RNG states.

    With several processes: the full weights, the loss summed so far averaged over processes,
    and every process's RNG states (`rng_ranks`, the main process's also under `rng`).
    """
    s, engine = run.state, run.engine
    rng = capture_rng()
    extra = {"rng_ranks": gather_object(engine, rng)} if world_size(engine) > 1 else {}
    weights, optimizer = full_state(engine, run.model, run.optimizer)
    return {
        "model": weights,
        "optimizer": optimizer,
        "scheduler": run.scheduler.scheduler.state_dict() if run.scheduler else None,
        "engine": engine.state_dict() if hasattr(engine, "state_dict") else {},
        "callbacks": {k: _callback_state(c) for k, c in run.callbacks.keyed().items()},
        "loop": {
            "epoch": s.epoch,
            "global_step": s.global_step,
            "batch_idx": s.batch_idx,
            "epoch_done": s.epoch_done,
            "seed": run.seed,
            "loss_sum": float(reduce(engine, run.loss_sum, "mean")),
            "metrics": dict(s.metrics),
        },
        "rng": rng,
        **extra,
    }


def weight_sets(run: FitRun) -> tuple[dict[str, list[str]], str]:
    """Where the callbacks that average weights (EMA, SWA) keep them in the state, and the
    weights a checkpoint is used with by default: the first averaged set, else the raw ones."""
    found: dict[str, list[str]] = {}
    for key, callback in run.callbacks.keyed().items():
        name = getattr(callback, "weights_name", None)
        has_weights = getattr(callback, "has_weights", None)
        if isinstance(name, str) and callable(has_weights) and has_weights():
            found.setdefault(name, ["callbacks", key, "weights"])
    return found, next(iter(found), "raw")


def restore_state(run: FitRun, path: str | os.PathLike[str]) -> Path:
    """Load the checkpoint at `path` into `run`; RNG states last, so nothing disturbs them."""
    manifest, tensors = load_checkpoint(path)
    state = load_state(manifest, tensors)
    source = manifest["path"]
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint {source} cannot resume a fit: its state lacks {', '.join(missing)} "
            "(load its weights with accel test ckpt=PATH instead)"
        )
    try:
        return _restore(run, state, source)
    except AccelError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise CheckpointError(
            f"checkpoint {source} is malformed: {type(error).__name__}: {error}"
        ) from None


def _restore(run: FitRun, state: dict[str, Any], source: str) -> Path:
    if not load_full_state(
        run.engine, run.model, run.optimizer, state["model"], state["optimizer"]
    ):
        load_model_state(run.model, state["model"], source)
        _load_into(run.optimizer, state["optimizer"], "optimizer", source)
    if run.scheduler is not None and state.get("scheduler") is not None:
        _load_into(run.scheduler.scheduler, state["scheduler"], "scheduler", source)
    if hasattr(run.engine, "load_state_dict"):
        run.engine.load_state_dict(state.get("engine") or {})
    for key, callback in run.callbacks.keyed().items():
        if key in state["callbacks"] and hasattr(callback, "load_state_dict"):
            callback.load_state_dict(state["callbacks"][key])
    _restore_loop(run, state["loop"])
    restore_rng(_own_rng(state, run.engine))
    run.last_checkpoint = source
    return Path(source)


def check_work_left(run: FitRun) -> None:
    """A resumed fit with nothing left to train is an error naming the limit to raise."""
    s = run.state
    done_steps = run.max_steps is not None and s.global_step >= run.max_steps
    if not (s.should_stop or done_steps):
        return
    epochs = s.epoch + 1 if s.epoch_done else s.epoch
    limit = (
        f"trainer.max_steps={run.max_steps} (it has {s.global_step} steps)"
        if done_steps
        else f"trainer.max_epochs={s.max_epochs} (it has {epochs} epochs)"
    )
    raise ConfigError(
        f"resume: checkpoint {run.last_checkpoint} already reached {limit}: nothing left to "
        "train; raise that limit to train on, or evaluate it with accel test ckpt=PATH"
    )


def _restore_loop(run: FitRun, loop: Mapping[str, Any]) -> None:
    s = run.state
    s.epoch, s.global_step = int(loop["epoch"]), int(loop["global_step"])
    s.batch_idx, s.epoch_done = int(loop["batch_idx"]), bool(loop["epoch_done"])
    s.metrics = dict(loop["metrics"])
    run.seed = int(loop["seed"])
    if run.sampler is not None:
        run.sampler.seed = run.seed
    run.loss_sum = torch.full_like(run.loss_sum, float(loop["loss_sum"]))
    if s.epoch_done:  # the checkpoint closed its epoch: start the next one
        if s.epoch + 1 >= s.max_epochs:
            s.should_stop = True
        else:
            s.epoch, s.batch_idx, s.epoch_done = s.epoch + 1, 0, False
            run.loss_sum = torch.zeros_like(run.loss_sum)


def _own_rng(state: Mapping[str, Any], engine: Any) -> Any:
    """This process's RNG states: its own if the checkpoint has one per process, else `rng`."""
    ranks = state.get("rng_ranks")
    if isinstance(ranks, list) and len(ranks) == world_size(engine):
        return ranks[int(getattr(engine, "rank", 0))]
    return state["rng"]


def check_finite_weights(run: FitRun) -> None:
    """Refuse to checkpoint weights that are NaN or infinite (the previous one stays last)."""
    for name, param in run.model.named_parameters():
        local = param.to_local() if hasattr(param, "to_local") else param  # a shard (FSDP)
        if not bool(torch.isfinite(local).all()):
            s = run.state
            raise NonFiniteLossError(
                f"parameter {name} became non-finite by epoch {s.epoch} step {s.global_step}: "
                f"training stopped; last good checkpoint: {run.last_checkpoint or 'none'}"
            )


def _callback_state(callback: Any) -> dict[str, Any]:
    return callback.state_dict() if hasattr(callback, "state_dict") else {}


def _load_into(obj: Any, state: Any, what: str, source: str) -> None:
    try:
        obj.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError, TypeError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(
            f"checkpoint {source}: {what} state does not fit: {message}"
        ) from None
