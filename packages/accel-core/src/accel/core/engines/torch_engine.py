"""The plain-torch engine: one device, mixed precision, accumulation, clipping, compile.

Registered as `accel.engines: torch`. Nothing here assumes a device type: cuda, mps and cpu
take the same path, and fp16 (the one CUDA-only mode) is refused elsewhere with the reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from accel.core.errors import ConfigError
from accel.core.options import EngineOptions

AUTOCAST_DTYPES = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


def select_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        usable = [k for k, ok in available.items() if ok]
        raise ConfigError(
            f"trainer.device={name!r} is not available here; available: {', '.join(usable)}"
        )
    return device


class TorchEngine:
    """Forwards a few calls to torch: `setup`, `to_device`, `autocast`, `backward`, `step`."""

    world_size, rank, is_main_process = 1, 0, True  # one process (see runtime/distributed.py)

    def __init__(
        self,
        *,
        device: str = "auto",
        precision: str = "32",
        accumulate_grad_batches: int = 1,
        clip_grad_norm: float | None = None,
        compile: bool = False,
        channels_last: bool = False,
    ) -> None:
        self.options = EngineOptions(
            device=device,
            precision=precision,
            accumulate_grad_batches=accumulate_grad_batches,
            clip_grad_norm=clip_grad_norm,
            compile=compile,
            channels_last=channels_last,
        )
        self.device = select_device(device)
        if self.options.precision == "16" and self.device.type != "cuda":
            raise ConfigError(
                f"trainer.precision='16' needs CUDA (device is {self.device.type}); "
                "use 'bf16' or '32'"
            )
        self.accumulate_grad_batches = accumulate_grad_batches
        self.scaler = torch.amp.GradScaler("cuda") if self.options.precision == "16" else None
        self._dtype = AUTOCAST_DTYPES[self.options.precision]
        self._null = contextlib.nullcontext()
        self._memory_format = torch.channels_last if channels_last else None
        # loaders yield CPU tensors: on a plain CPU run there is nothing to move or convert
        self._move = self.device.type != "cpu" or channels_last

    def setup(self, model: nn.Module, optimizer: Any) -> tuple[nn.Module, Any]:
        """Move the model (in place, so the optimizer keeps its parameters); maybe compile it."""
        model.to(self.device)
        if self._memory_format is not None:
            model.to(memory_format=self._memory_format)
        forward: nn.Module = torch.compile(model) if self.options.compile else model  # type: ignore[assignment]
        return forward, optimizer

    def to_device(self, batch: Any) -> Any:
        """Tensors (in tuples, lists, dicts) onto the device; 4-D inputs channels-last if asked."""
        if not self._move:
            return batch
        return self._to_device(batch)

    def _to_device(self, batch: Any) -> Any:
        if isinstance(batch, torch.Tensor):
            moved = batch.to(self.device, non_blocking=True)
            if self._memory_format is not None and moved.ndim == 4:
                moved = moved.contiguous(memory_format=self._memory_format)
            return moved
        if isinstance(batch, tuple | list):
            return type(batch)(self._to_device(b) for b in batch)
        if isinstance(batch, Mapping):
            return {k: self._to_device(v) for k, v in batch.items()}
        return batch

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The mixed-precision context for forward and loss (a no-op in fp32)."""
        if self._dtype is None:
            return self._null
        return torch.autocast(self.device.type, dtype=self._dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Backward of the loss, divided for accumulation and scaled for fp16."""
        if self.accumulate_grad_batches > 1:
            loss = loss / self.accumulate_grad_batches
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()

    def step(self, optimizer: Any, model: nn.Module) -> None:
        """Clip (after unscaling), step the optimizer, and clear gradients."""
        if self.options.clip_grad_norm is not None:
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), self.options.clip_grad_norm)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def state_dict(self) -> dict[str, Any]:
        """The grad scaler's state (empty without fp16)."""
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(dict(state["scaler"]))
