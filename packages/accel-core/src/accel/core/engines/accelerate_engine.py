"""The HF Accelerate engine: data parallel over processes (gloo on CPU, nccl on GPU), FSDP on GPU.

Registered as `accel.engines: accelerate` (install `accel-core[accelerate]`). Start the
processes with `accel train trainer.devices=N`, `accelerate launch` or `torchrun`; one process
alone is a plain single-device run. `accelerate` is imported when the engine is built, not before.

Semantics (what makes N processes match one): the loader's `batch_size` is the *global* batch,
split evenly over the processes; gradients are averaged by DDP; the scheduler steps once per
optimizer step; evaluation shards every batch without padding, so each sample counts once.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from accel.core.data import shard_loader
from accel.core.engines.torch_engine import select_device
from accel.core.errors import ConfigError
from accel.core.optional import require
from accel.core.options import EngineOptions

PRECISION_NAMES = {"32": "no", "bf16": "bf16", "16": "fp16"}
STRATEGIES = ("ddp", "fsdp")
REDUCTIONS = ("sum", "mean")


class AccelerateEngine:
    """Forwards setup, autocast, backward, clipping and the collectives to an `Accelerator`."""

    def __init__(
        self,
        *,
        device: str = "auto",
        precision: str = "32",
        accumulate_grad_batches: int = 1,
        clip_grad_norm: float | None = None,
        compile: bool = False,
        channels_last: bool = False,
        strategy: str = "ddp",
        timeout_s: float = 1800.0,
    ) -> None:
        self.options = EngineOptions(
            device=device,
            precision=precision,
            accumulate_grad_batches=accumulate_grad_batches,
            clip_grad_norm=clip_grad_norm,
            compile=compile,
            channels_last=channels_last,
        )
        accelerate = require("accelerate", "'accel-core[accelerate]'", "trainer.engine=accelerate")
        from accelerate.utils import InitProcessGroupKwargs

        wanted = select_device(device)  # an unavailable device is a one-line error here
        check_strategy(strategy, wanted)
        check_launcher_flags(strategy)
        check_precision(self.options.precision, wanted)
        self.strategy = strategy
        reset_single_process_state()
        handlers = [InitProcessGroupKwargs(timeout=datetime.timedelta(seconds=timeout_s))]
        self.accelerator = accelerate.Accelerator(
            cpu=wanted.type == "cpu",
            mixed_precision=PRECISION_NAMES[self.options.precision],
            gradient_accumulation_steps=accumulate_grad_batches,
            fsdp_plugin=fsdp_plugin() if strategy == "fsdp" else None,
            step_scheduler_with_optimizer=False,
            kwargs_handlers=handlers,
        )
        self.device: torch.device = self.accelerator.device
        self.accumulate_grad_batches = accumulate_grad_batches
        self.world_size: int = self.accelerator.num_processes
        self.rank: int = self.accelerator.process_index
        self.is_main_process: bool = self.accelerator.is_main_process
        self._memory_format = torch.channels_last if channels_last else None
        self._prepared: Any = None

    # ---- the Engine protocol ----------------------------------------------------------------
    def setup(self, model: nn.Module, optimizer: Any) -> tuple[nn.Module, Any]:
        """Wrap the model (DDP/FSDP) and the optimizer; `model` itself keeps plain weights."""
        if self._memory_format is not None:
            model.to(memory_format=self._memory_format)
        if optimizer is None:
            forward = self.accelerator.prepare_model(model, evaluation_mode=True)
        else:
            forward, optimizer = self.accelerator.prepare(model, optimizer)
        self._prepared = forward
        if self.options.compile:
            forward = torch.compile(forward)
        return forward, optimizer

    def to_device(self, batch: Any) -> Any:
        """Tensors onto this process's device (4-D inputs channels-last if asked)."""
        from accelerate.utils import send_to_device

        moved = send_to_device(batch, self.device, non_blocking=True)
        if self._memory_format is None:
            return moved
        if isinstance(moved, tuple | list):
            return type(moved)(self._channels_last(b) for b in moved)
        return self._channels_last(moved)

    def _channels_last(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.ndim == 4:
            return value.contiguous(memory_format=torch.channels_last)
        return value

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Accelerate's mixed-precision context (a no-op in fp32)."""
        return self.accelerator.autocast()

    def backward(self, loss: torch.Tensor) -> None:
        """`accelerator.backward`: divided for accumulation, scaled for fp16; DDP syncs grads."""
        self.accelerator.backward(loss)

    def step(self, optimizer: Any, model: nn.Module) -> None:
        """Clip (Accelerate unscales first), step and clear gradients."""
        if self.options.clip_grad_norm is not None:
            self.accelerator.clip_grad_norm_(
                self._prepared.parameters(), self.options.clip_grad_norm
            )
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def state_dict(self) -> dict[str, Any]:
        """The grad scaler's state (empty without fp16)."""
        scaler = self.accelerator.scaler
        return {"scaler": scaler.state_dict()} if scaler is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        scaler = self.accelerator.scaler
        if scaler is not None and "scaler" in state:
            scaler.load_state_dict(dict(state["scaler"]))

    # ---- distributed additions (the torch engine has trivial ones) --------------------------
    def prepare_loader(self, loader: Any, train: bool) -> Any:
        """This process's share of every batch: padded to equal shares in training, unpadded
        in evaluation (each sample counted once)."""
        if self.world_size == 1:
            return loader
        return shard_loader(loader, self.rank, self.world_size, pad=train)

    def reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """`tensor` summed (or averaged) over the processes."""
        if op not in REDUCTIONS:
            raise ConfigError(f"reduce op={op!r} is not valid; use one of {', '.join(REDUCTIONS)}")
        if self.world_size == 1:
            return tensor
        reduced: torch.Tensor = self.accelerator.reduce(tensor.clone(), reduction=op)
        return reduced

    def gather_object(self, obj: Any) -> list[Any]:
        """One `obj` per process, in rank order, on every process."""
        if self.world_size == 1:
            return [obj]
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, obj)
        return gathered

    def barrier(self) -> None:
        """Wait until every process reaches this point."""
        self.accelerator.wait_for_everyone()

    def full_state(self, model: nn.Module, optimizer: Any) -> tuple[Any, Any]:
        """Full (unsharded) weights and optimizer state; under FSDP a collective on every
        process, gathered to the main one (the optimizer state is then keyed by parameter name).
        Not tested here: FSDP needs GPUs."""
        if self.strategy != "fsdp":
            return model.state_dict(), optimizer.state_dict()
        from torch.distributed.checkpoint import state_dict as dcp

        options = dcp.StateDictOptions(full_state_dict=True, cpu_offload=True)
        raw = getattr(optimizer, "optimizer", optimizer)
        weights = dcp.get_model_state_dict(model, options=options)
        return weights, dcp.get_optimizer_state_dict(model, raw, options=options)

    def load_full_state(self, model: nn.Module, optimizer: Any, weights: Any, opt: Any) -> bool:
        """Under FSDP, shard full weights and optimizer state back in (True); else False, and
        the runtime loads them itself. Not tested here: FSDP needs GPUs."""
        if self.strategy != "fsdp":
            return False
        from torch.distributed.checkpoint import state_dict as dcp

        options = dcp.StateDictOptions(full_state_dict=True)
        dcp.set_model_state_dict(model, weights, options=options)
        raw = getattr(optimizer, "optimizer", optimizer)
        dcp.set_optimizer_state_dict(model, raw, opt, options=options)
        return True


def check_strategy(strategy: str, device: torch.device) -> None:
    """`ddp` anywhere; `fsdp` only on CUDA GPUs (sharding over CPU processes is not offered)."""
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"trainer.engine.strategy={strategy!r} is not valid; use one of {', '.join(STRATEGIES)}"
        )
    if strategy == "fsdp" and device.type != "cuda":
        raise ConfigError(
            f"trainer.engine.strategy='fsdp' needs CUDA GPUs (device is {device.type}): "
            "use strategy='ddp' on CPU"
        )


def check_launcher_flags(strategy: str) -> None:
    """`accelerate launch --use_fsdp/--use_deepspeed` would change what this engine set up."""
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        raise ConfigError(
            "accelerate launch --use_deepspeed is not supported by trainer.engine=accelerate; "
            "use DDP (the default) or trainer.engine={name: accelerate, strategy: fsdp}"
        )
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and strategy != "fsdp":
        raise ConfigError(
            f"accelerate launch --use_fsdp was given but trainer.engine.strategy={strategy!r}: "
            "choose FSDP in the config, trainer.engine={name: accelerate, strategy: fsdp}"
        )


def check_precision(precision: str, device: torch.device) -> None:
    if precision == "16" and device.type != "cuda":
        raise ConfigError(
            f"trainer.precision='16' needs CUDA (device is {device.type}); use 'bf16' or '32'"
        )


def fsdp_plugin() -> Any:
    """FSDP2 with full (rank-0 gatherable) state dicts, so accel checkpoints stay one file."""
    from accelerate.utils import FullyShardedDataParallelPlugin

    return FullyShardedDataParallelPlugin(fsdp_version=2, state_dict_type="FULL_STATE_DICT")


def reset_single_process_state() -> None:
    """Let several single-process engines live in one process (tests, notebooks).

    Accelerate keeps one global state; in a launched (multi-process) run it is kept as is.
    """
    from accelerate.state import AcceleratorState, GradientState, PartialState

    if PartialState._shared_state and PartialState().num_processes == 1:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
