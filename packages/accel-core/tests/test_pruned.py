"""A pruned model saved as weights + channel spec and rebuilt, without pickle, from the
architecture its spec names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from accel.core.errors import AccelError, ConfigError
from accel.core.pruned import SPEC_FILE, is_pruned_folder, load_pruned, save_pruned
from accel.core.registry import build, registry
from accel.core.trust import UntrustedFileError, trusting_files


class SmallCnn(nn.Sequential):
    def __init__(self, width: int = 8, num_classes: int = 2) -> None:
        super().__init__(
            nn.Conv2d(1, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, num_classes),
        )


def prune_first(model: nn.Sequential, keep: int) -> nn.Sequential:
    """Keep the first `keep` channels of the first conv, and what depends on them."""
    conv1, bn1, conv2 = model[0], model[1], model[3]
    new1 = nn.Conv2d(1, keep, 3, padding=1)
    new1.weight.data, new1.bias.data = conv1.weight.data[:keep], conv1.bias.data[:keep]
    newbn = nn.BatchNorm2d(keep)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(newbn, name).data = getattr(bn1, name).data[:keep].clone()
    new2 = nn.Conv2d(keep, conv2.out_channels, 3, padding=1)
    new2.weight.data, new2.bias.data = conv2.weight.data[:, :keep], conv2.bias.data
    model[0], model[1], model[3] = new1, newbn, new2
    return model


@pytest.fixture
def small_cnn():
    with registry("models").registered("test_pruned_cnn", SmallCnn):
        yield {"name": "test_pruned_cnn", "width": 8}


def test_a_pruned_model_round_trips_from_the_spec_it_names(small_cnn, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = prune_first(build("models", small_cnn), keep=3).eval()
    folder = save_pruned(model, tmp_path / "p", small_cnn)
    assert is_pruned_folder(folder)
    assert not is_pruned_folder(tmp_path)
    assert json.loads((folder / SPEC_FILE).read_text())["arch"] == small_cnn
    loaded = load_pruned(folder)
    assert (loaded[0].out_channels, loaded[3].in_channels, loaded[1].num_features) == (3, 3, 3)
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(model(x), loaded(x))


def test_the_given_architecture_wins_over_none_in_the_spec(tmp_path: Path) -> None:
    model = prune_first(SmallCnn(), keep=5).eval()
    save_pruned(model, tmp_path / "p")
    with pytest.raises(ConfigError, match="names no architecture"):
        load_pruned(tmp_path / "p")
    assert load_pruned(tmp_path / "p", model=SmallCnn())[0].out_channels == 5


def test_an_arch_naming_code_runs_nothing_unless_trusted(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    spec = {"_target_": "os.system", "command": f"touch {marker}"}
    save_pruned(SmallCnn(), tmp_path / "p", spec)
    with pytest.raises(UntrustedFileError, match=r"channels.json: arch._target_ = 'os.system'"):
        load_pruned(tmp_path / "p")
    assert not marker.exists()
    with trusting_files(True), pytest.raises(AccelError):  # trusted: it runs (not a model)
        load_pruned(tmp_path / "p")
    assert marker.exists()


def test_a_folder_of_a_users_files_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"holds files accel did not write \(notes.txt\)"):
        save_pruned(SmallCnn(), tmp_path / "p")
    assert (tmp_path / "p" / "notes.txt").read_text() == "mine"


def test_a_spec_larger_than_its_weights_is_refused_before_allocating(tmp_path: Path) -> None:
    save_pruned(SmallCnn(), tmp_path / "p")
    spec = json.loads((tmp_path / "p" / SPEC_FILE).read_text())
    spec["shapes"]["0.weight"] = [10**6, 1, 3, 3]
    (tmp_path / "p" / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match=r"shapes.0.weight is \[1000000, 1, 3, 3\], but"):
        load_pruned(tmp_path / "p", model=SmallCnn())
