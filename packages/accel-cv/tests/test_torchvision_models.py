import importlib.util

import pytest

from accel.core.errors import ConfigError, MissingPackageError
from accel.cv.models.torchvision_models import torchvision_model

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


@pytest.mark.skipif(HAS_TORCHVISION, reason="checks the message shown without torchvision")
def test_without_torchvision_the_message_names_the_extra() -> None:
    with pytest.raises(MissingPackageError, match=r"needs accel-cv\[torchvision\]: pip install"):
        torchvision_model("resnet18")


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is an optional extra")
def test_with_torchvision_a_model_is_built_without_weights(tmp_path) -> None:
    import torch

    model = torchvision_model("resnet18", num_classes=3)
    assert model.eval()(torch.rand(2, 3, 32, 32)).shape == (2, 3)
    torch.save(model.state_dict(), tmp_path / "local.pt")
    again = torchvision_model("resnet18", num_classes=3, weights_path=str(tmp_path / "local.pt"))
    assert torch.equal(again.fc.weight, model.fc.weight)
    with pytest.raises(ConfigError, match="no model 'resnet19'"):
        torchvision_model("resnet19")
