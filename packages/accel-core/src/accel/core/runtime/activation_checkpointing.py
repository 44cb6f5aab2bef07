"""Gradient (activation) checkpointing: blocks keep only their input during the forward pass
and recompute their activations in the backward pass (`torch.utils.checkpoint`, non-reentrant),
trading compute for memory. Gradients are unchanged.

Which blocks: a model may register them by defining `checkpoint_blocks()` (an iterable of
modules); otherwise, in every outermost `nn.Sequential`, each child that has children of its
own (a ResNet stage's basic blocks, MobileNet's inverted residuals), or the Sequential as a whole
when its children are plain layers. BatchNorm running statistics are updated once, as without
checkpointing: the recomputation puts them back as the first forward left them.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from accel.core.errors import ConfigError

MARK = "_accel_checkpointed"


def checkpoint_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks `enable_checkpointing` wraps (see the module docstring)."""
    registered = getattr(model, "checkpoint_blocks", None)
    if callable(registered):
        return list(registered())
    blocks: list[nn.Module] = []
    for module in outermost_sequentials(model):
        composite = [child for child in module.children() if any(True for _ in child.children())]
        blocks.extend(composite or [module])
    return blocks


def outermost_sequentials(module: nn.Module) -> Iterator[nn.Sequential]:
    if isinstance(module, nn.Sequential):
        yield module
        return
    for child in module.children():
        yield from outermost_sequentials(child)


def enable_checkpointing(model: nn.Module) -> list[nn.Module]:
    """Checkpoint the blocks of `model` in place (its state dict keys are unchanged); return
    them. A model with no block to checkpoint is one line naming what would do."""
    blocks = checkpoint_blocks(model)
    if not blocks:
        raise ConfigError(
            f"trainer.gradient_checkpointing: model {type(model).__name__} has no nn.Sequential "
            "and no checkpoint_blocks() method: nothing to checkpoint"
        )
    for block in blocks:
        if not getattr(block, MARK, False):
            block.forward = types.MethodType(checkpointed_forward, block)
            setattr(block, MARK, True)
    return blocks


def disable_checkpointing(model: nn.Module) -> None:
    """Undo `enable_checkpointing`."""
    for module in model.modules():
        if getattr(module, MARK, False):
            del module.forward
            delattr(module, MARK)


def checkpointed_forward(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
    """The block's own forward, under checkpoint while training with gradients."""
    forward = type(self).forward.__get__(self)
    if not (self.training and torch.is_grad_enabled()):
        return forward(*args, **kwargs)
    return checkpoint(
        forward,
        *args,
        use_reentrant=False,
        context_fn=lambda: (contextlib.nullcontext(), keep_batchnorm_stats(self)),
        **kwargs,
    )


@contextlib.contextmanager
def keep_batchnorm_stats(block: nn.Module) -> Iterator[None]:
    """During the recomputation: BatchNorm buffers are put back as they were, so running
    statistics count each batch once."""
    norms = [m for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [[b.clone() for b in m.buffers()] for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for module, buffers in zip(norms, saved, strict=True):
                for buffer, value in zip(module.buffers(), buffers, strict=True):
                    buffer.copy_(value)
