import torch
from torch.utils.data import DataLoader, TensorDataset

from accel.cv.data.collate import TransformCollate
from accel.cv.transforms.flip import RandomFlip


def test_collate_applies_the_transform_to_the_batch() -> None:
    batch = [(torch.rand(1, 2, 2), 0), (torch.rand(1, 2, 2), 1)]
    images, labels = TransformCollate(RandomFlip(p=1.0, seed=0))(batch)
    assert torch.equal(images[0], batch[0][0].flip(-1))
    assert labels.tolist() == [0, 1]


def test_workers_reseed_so_epochs_differ_and_runs_repeat() -> None:
    data = TensorDataset(torch.rand(16, 1, 4, 4), torch.zeros(16, dtype=torch.long))

    def epochs() -> list[torch.Tensor]:
        loader = DataLoader(
            data,
            batch_size=16,
            num_workers=1,
            generator=torch.Generator().manual_seed(0),
            collate_fn=TransformCollate(RandomFlip(seed=0)),
        )
        return [next(iter(loader))[0] for _ in range(2)]

    first, second = epochs()
    assert not torch.equal(first, second)
    again = epochs()
    assert torch.equal(first, again[0])
