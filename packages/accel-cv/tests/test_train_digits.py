"""Acceptance: CIFAR-style ResNet-20 on 8×8 digits with accel-core's Trainer.

The bar is >= 97 % test accuracy in < 60 s on this machine: the test checks the accuracy
(with a looser bound); benchmarks/train_digits.py measures the time (a test judges no speed).
"""

import pytest
import torch

from accel.core.runtime import Trainer
from accel.cv.data.digits import digits
from accel.cv.models.resnet_cifar import resnet20


@pytest.mark.slow
def test_resnet20_learns_digits(tmp_path) -> None:
    data = digits(batch_size=64, seed=0)
    torch.manual_seed(0)
    model = resnet20(num_classes=data.num_classes, in_channels=data.input_shape[0])
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True
    )
    trainer = Trainer(max_epochs=8, run_dir=tmp_path, seed=0, callbacks=[])
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=optimizer,
        loss=torch.nn.CrossEntropyLoss(),
    )
    result = trainer.test(model, data.test_dataloader(), metrics=["accuracy"])
    print(f"resnet20 on digits: test accuracy {result['test/accuracy']:.4f}")
    assert result["test/accuracy"] >= 0.95
