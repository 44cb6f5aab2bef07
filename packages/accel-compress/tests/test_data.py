"""Calibration/evaluation data from files, image folders and registered datasets."""

from __future__ import annotations

from pathlib import Path

import crafted
import numpy as np
import pytest
import torch

from accel.compress.data import check_classes, inputs_of, load_data, take_inputs, targets_of
from accel.core.errors import ConfigError


def test_npy_file_of_inputs(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.random.rand(10, 1, 8, 8).astype("float32"))
    batches = load_data(str(tmp_path / "x.npy"), split="train", batch_size=4)
    assert [b.shape[0] for b in batches] == [4, 4, 2]


def test_npz_with_labels_gives_pairs(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((6, 1, 8, 8), "float32"), y=np.arange(6))
    batches = load_data(str(tmp_path / "d.npz"), split="test", batch_size=4)
    assert targets_of(batches[1]).tolist() == [4, 5]
    assert inputs_of(batches[0]).shape[0] == 4


def test_pt_dict_of_inputs_and_labels(tmp_path: Path) -> None:
    torch.save({"inputs": torch.zeros(5, 3), "labels": torch.arange(5)}, tmp_path / "d.pt")
    batches = load_data(str(tmp_path / "d.pt"), split="test", batch_size=8)
    assert targets_of(batches[0]).tolist() == [0, 1, 2, 3, 4]


def test_pt_file_of_something_else(tmp_path: Path) -> None:
    torch.save({"weights": [1, 2]}, tmp_path / "d.pt")
    with pytest.raises(ConfigError, match="expected a tensor, a \\(inputs, labels\\) pair"):
        load_data(str(tmp_path / "d.pt"), split="train")


def test_folder_of_images_is_resized_and_scaled(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((20, 30, 3), 255 * (i % 2), "uint8")).save(tmp_path / f"{i}.png")
    batches = load_data(str(tmp_path), split="train", input_shape=(1, 3, 16, 16))
    x = batches[0]
    assert x.shape == (3, 3, 16, 16)
    assert float(x.max()) == 1.0
    assert float(x.min()) == 0.0


def test_folder_of_images_needs_the_input_shape(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), "uint8")).save(tmp_path / "a.png")
    with pytest.raises(ConfigError, match="needs --input-shape"):
        load_data(str(tmp_path), split="train")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no images"):
        load_data(str(tmp_path), split="train", input_shape=(1, 1, 8, 8))


def test_missing_data_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data file .*missing\.npy does not exist"):
        load_data(str(tmp_path / "missing.npy"), split="train")


def test_unknown_dataset_name_lists_what_is_accepted() -> None:
    with pytest.raises(ConfigError, match="nor a registered dataset"):
        load_data("no_such_dataset", split="train")


def test_batches_without_labels_are_refused_for_evaluation() -> None:
    with pytest.raises(ConfigError, match="this data has no labels"):
        targets_of(torch.zeros(2))


def test_inputs_of_each_batch_form() -> None:
    x = torch.zeros(2, 3)
    assert inputs_of(x) is x
    assert inputs_of((x, 1)) is x
    assert inputs_of({"inputs": x}) is x
    assert len(take_inputs([x, x, x], 2)) == 2
    assert take_inputs(None) == []
    with pytest.raises(ConfigError, match="cannot find the inputs"):
        inputs_of("text")


@pytest.mark.parametrize(
    ("kind", "message"), crafted.DATA_FAULTS.items(), ids=list(crafted.DATA_FAULTS)
)
def test_a_bad_data_file_is_one_line_naming_it(kind: str, message: str, tmp_path: Path) -> None:
    path = crafted.write_data(tmp_path, kind)
    with pytest.raises(ConfigError, match=rf"data file .*{kind}[ :].*{message}") as caught:
        load_data(str(path), split="test")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "pwned").exists()


def test_whole_float_labels_and_integer_inputs_are_accepted(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((3, 8), "uint8"), y=np.array([0.0, 1.0, 2.0]))
    (x, y), *_ = load_data(str(tmp_path / "d.npz"), split="test")
    assert x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert y.tolist() == [0, 1, 2]


def test_labels_beyond_the_models_classes_are_refused() -> None:
    data = [(torch.zeros(2, 8), torch.tensor([0, 9])), (torch.zeros(1, 8), torch.tensor([12]))]
    check_classes(data, 13, "--eval-data d.npz")
    with pytest.raises(ConfigError, match=r"--eval-data d.npz: label 12 is outside the model's "):
        check_classes(data, 10, "--eval-data d.npz")
    with pytest.raises(ConfigError, match=r"10 classes \(valid labels: 0..9\)"):
        check_classes(data, 10, "--eval-data d.npz")


def test_an_unreadable_image_in_a_folder_is_named(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), "uint8")).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_text("not an image")
    with pytest.raises(ConfigError, match=r"image .*b.png is unreadable"):
        load_data(str(tmp_path), split="train", input_shape=(1, 1, 8, 8))


def test_images_from_a_folder_are_normalised_per_channel(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), 255, "uint8")).save(tmp_path / "white.png")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    (x,) = load_data(str(tmp_path), split="train", input_shape=(1, 3, 8, 8), mean=mean, std=std)
    expected = (1.0 - torch.tensor(mean)) / torch.tensor(std)
    assert torch.allclose(x[0, :, 0, 0], expected)


def test_normalisation_is_refused_for_data_used_as_it_is(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), "float32"))
    with pytest.raises(ConfigError, match=r"--mean/--std normalise images read from a folder"):
        load_data(str(tmp_path / "x.npy"), split="train", mean=(0.5,))


def test_normalisation_needs_one_value_or_one_per_channel(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), "uint8")).save(tmp_path / "a.png")
    with pytest.raises(ConfigError, match=r"--std gives 3 values for images of 1 channel"):
        load_data(str(tmp_path), split="train", input_shape=(1, 1, 8, 8), std=(1.0, 2.0, 3.0))
