"""Resumable loaders skip consumed batches without reading them; batch splitting."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from accel.core.data import make_resumable, split_batch
from accel.core.errors import ConfigError


class Logged(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Records every index read."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reads: list[int] = []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.reads.append(index)
        return torch.tensor([float(index)]), torch.tensor(index)


def test_resume_mid_epoch_reads_only_the_remaining_indices_in_the_same_order() -> None:
    data = Logged(20)
    loader, sampler = make_resumable(DataLoader(data, batch_size=4, shuffle=True), seed=7)
    assert sampler is not None
    sampler.set_position(epoch=1, start=0)
    full = [b[1].tolist() for b in loader]
    data.reads.clear()
    sampler.set_position(epoch=1, start=8)  # two batches consumed
    rest = [b[1].tolist() for b in loader]
    assert rest == full[2:]
    assert sorted(data.reads) == sorted(i for batch in full[2:] for i in batch)


def test_order_depends_on_seed_and_epoch_only_and_leaves_global_rng_alone() -> None:
    loader, sampler = make_resumable(DataLoader(Logged(16), batch_size=4, shuffle=True), seed=1)
    assert sampler is not None
    state = torch.get_rng_state()
    orders = []
    for epoch in (0, 1, 0):
        sampler.set_position(epoch, 0)
        orders.append([b[1].tolist() for b in loader])
    assert orders[0] == orders[2] != orders[1]
    assert torch.equal(torch.get_rng_state(), state)


def test_sequential_loaders_keep_their_order() -> None:
    loader, sampler = make_resumable(DataLoader(Logged(6), batch_size=2), seed=0)
    assert sampler is not None
    assert [b[1].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]


def test_a_custom_batch_sampler_is_left_alone_with_a_warning() -> None:
    custom = DataLoader(Logged(6), batch_sampler=[[0, 1], [2, 3]])
    with pytest.warns(UserWarning, match=r"no standard sampler: a mid-epoch resume will skip"):
        loader, sampler = make_resumable(custom, seed=0)
    assert loader is custom
    assert sampler is None


def test_split_batch_accepts_pairs_and_input_target_mappings() -> None:
    assert split_batch((1, 2)) == (1, 2)
    assert split_batch({"image": 1, "label": 2}) == (1, 2)
    with pytest.raises(ConfigError, match=r"one of the key pairs input/target, .* got dict of 1"):
        split_batch({"pixels": 1})
