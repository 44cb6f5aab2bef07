"""Loaders that resume mid-epoch by skipping sampler indices, and batch splitting.

The train loader is re-created around a `ResumableSampler`: each epoch's order is a function of
(seed, epoch) only, so a resumed run sees the same order and starts at the first batch it has
not trained on, without reading the consumed ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sized
from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, Sampler

from accel.core.errors import ConfigError

BATCH_KEYS = (("input", "target"), ("inputs", "targets"), ("image", "label"), ("x", "y"))


class ResumableSampler(Sampler[int]):
    """Wrap a sampler: per-epoch order fixed by (seed, epoch), and a start offset to skip."""

    def __init__(self, source: Sampler[int], seed: int) -> None:
        self.source, self.seed = source, seed
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int) -> None:
        """Next iteration yields epoch `epoch`'s order from index `start` on."""
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices()[self.start :])

    def __len__(self) -> int:
        return max(len(self.source) - self.start, 0)  # type: ignore[arg-type]

    def epoch_indices(self) -> list[int]:
        """This epoch's full order; a sampler using the global RNG gets a forked, seeded one."""
        if hasattr(self.source, "set_epoch"):
            self.source.set_epoch(self.epoch)
        generator = getattr(self.source, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(self.seed + self.epoch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + self.epoch)
            return list(self.source)


def make_resumable(loader: Any, seed: int) -> tuple[Any, ResumableSampler | None]:
    """A copy of `loader` driven by a ResumableSampler, or the loader itself if it cannot be."""
    if not _is_wrappable(loader):
        warnings.warn(
            f"train loader {type(loader).__name__} has no standard sampler: a mid-epoch resume "
            "will skip consumed batches by reading them",
            stacklevel=3,
        )
        return loader, None
    sampler = ResumableSampler(loader.sampler, seed)
    workers = loader.num_workers
    resumable = DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context if workers else None,
        generator=torch.Generator().manual_seed(seed),
        prefetch_factor=loader.prefetch_factor if workers else None,
        persistent_workers=loader.persistent_workers,
        pin_memory_device=loader.pin_memory_device,
    )
    return resumable, sampler


class ShardedBatchSampler(Sampler[list[int]]):
    """Rank `rank`'s contiguous share of every batch of `batches` (a global batch sampler).

    With `pad`, a batch that does not split evenly is completed by repeating its first samples,
    so every process trains on the same number of samples (DDP averages equal shares); without
    it, shares are unpadded and an empty share is skipped (evaluation: each sample once).
    """

    def __init__(self, batches: Any, rank: int, world_size: int, pad: bool) -> None:
        self.batches, self.rank, self.world_size, self.pad = batches, rank, world_size, pad

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            share = self.share(list(batch))
            if share:
                yield share

    def share(self, batch: list[int]) -> list[int]:
        per = -(-len(batch) // self.world_size)
        if self.pad:
            batch = (batch * self.world_size)[: per * self.world_size]
        return batch[self.rank * per : (self.rank + 1) * per]

    def __len__(self) -> int:
        return len(self.batches)  # an upper bound without padding (the last share may be empty)


def shard_loader(loader: Any, rank: int, world_size: int, pad: bool) -> DataLoader:
    """A copy of `loader` yielding this process's share of each of its batches."""
    if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
        raise ConfigError(
            f"several processes need a DataLoader over a map-style dataset to split batches; "
            f"got {type(loader).__name__}"
            + (" over an IterableDataset" if isinstance(loader, DataLoader) else "")
        )
    workers = loader.num_workers
    return DataLoader(
        loader.dataset,
        batch_sampler=ShardedBatchSampler(loader.batch_sampler, rank, world_size, pad),
        num_workers=workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context if workers else None,
        generator=loader.generator,
        prefetch_factor=loader.prefetch_factor if workers else None,
        persistent_workers=loader.persistent_workers,
        pin_memory_device=loader.pin_memory_device,
    )


def _is_wrappable(loader: Any) -> bool:
    return (
        isinstance(loader, DataLoader)
        and not isinstance(loader.dataset, IterableDataset)
        and type(loader.batch_sampler) is BatchSampler
        and loader.batch_size is not None
    )


def count_batches(loader: Any, name: str) -> int:
    """`len(loader)`, refusing an empty loader with what it holds."""
    if not isinstance(loader, Sized):
        raise ConfigError(
            f"{name} has no length ({type(loader).__name__}); give a sized DataLoader"
        )
    count = len(loader)
    if count == 0:
        dataset = getattr(loader, "dataset", None)
        size = len(dataset) if isinstance(dataset, Sized) else "?"
        raise ConfigError(
            f"{name} yields no batches (dataset of {size} samples, "
            f"batch_size={getattr(loader, 'batch_size', '?')}, "
            f"drop_last={getattr(loader, 'drop_last', '?')}): give it at least one batch"
        )
    return count


def split_batch(batch: Any) -> tuple[Any, Any]:
    """`(inputs, targets)` from a 2-item tuple/list or a mapping with input/target keys."""
    if isinstance(batch, tuple | list) and len(batch) == 2:
        return batch[0], batch[1]
    if isinstance(batch, Mapping):
        for inputs, targets in BATCH_KEYS:
            if inputs in batch and targets in batch:
                return batch[inputs], batch[targets]
    shape = f"{type(batch).__name__} of {len(batch)}" if isinstance(batch, Sized) else type(batch)
    keys = ", ".join(f"{a}/{b}" for a, b in BATCH_KEYS)
    raise ConfigError(
        f"a batch must be (inputs, targets) or a mapping with one of the key pairs {keys}; "
        f"got {shape}"
    )
