"""Input signatures: read from a program, from data and from `--input-spec`; synthetic inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from compress_models import MLP, Tokens

from accel.compress.data import inputs_of, load_data, targets_of
from accel.compress.loading import load_model
from accel.compress.options import CompressFlags, check_options
from accel.compress.signature import (
    batch_of,
    data_signature,
    head,
    input_names,
    parse_input_spec,
    program_signature,
    vocabulary,
)
from accel.core.errors import ConfigError


def tokens_program(tmp_path: Path, batch: object = None) -> torch.nn.Module:
    """`Tokens` exported on (ids, mask) int64 [4, 12] (a dynamic batch unless `batch` None)."""
    ids, mask = torch.randint(0, 50, (4, 12)), torch.ones(4, 12, dtype=torch.long)
    shapes = None if batch is None else ({0: batch}, {0: batch})
    program = torch.export.export(Tokens().eval(), (ids, mask), dynamic_shapes=shapes)
    torch.export.save(program, str(tmp_path / "tokens.pt2"))
    return load_model(tmp_path / "tokens.pt2")


def test_a_programs_signature_names_dtypes_and_its_dynamic_batch(tmp_path: Path) -> None:
    model = tokens_program(tmp_path, torch.export.Dim("batch", min=1, max=64))
    signature = program_signature(model)
    assert signature is not None
    assert signature.names == ["input_ids", "attention_mask"]
    assert signature.dtypes == [torch.int64, torch.int64]
    ids, mask = signature.inputs
    assert isinstance(ids.shape[0], str)
    assert ids.shape[0] == mask.shape[0]
    assert ids.shape[1:] == (12,)
    assert ids.sizes == (4, 12)
    assert ids.range_of(0) == (1, 64)
    assert ids.range_of(1) is None
    assert signature.batch_range() == (1, 64)
    assert input_names(model) == ["input_ids", "attention_mask"]
    assert vocabulary(model) == 50


def test_a_static_programs_signature_has_no_dynamic_dim(tmp_path: Path) -> None:
    signature = program_signature(tokens_program(tmp_path))
    assert signature is not None
    assert [s.shape for s in signature.inputs] == [(4, 12), (4, 12)]
    assert signature.batch_range() is None


def test_synthetic_inputs_respect_dtypes_vocabulary_and_masks(tmp_path: Path) -> None:
    model = tokens_program(tmp_path, torch.export.Dim("batch"))
    signature = program_signature(model)
    assert signature is not None
    ids, mask = signature.synthetic(vocabulary(model))
    assert ids.dtype == mask.dtype == torch.int64
    assert ids.shape == mask.shape == (4, 12)
    assert int(ids.max()) < 50
    assert int(ids.max()) >= 2
    assert bool((mask == 1).all())
    floats = parse_input_spec("x:float32[2,3]", "--input-spec")
    assert floats is not None
    x = floats.synthetic()
    assert x.dtype == torch.float32
    assert x.shape == (2, 3)
    assert float(x.std()) > 0
    assert vocabulary(MLP()) is None
    assert vocabulary(Tokens(vocab=7)) == 7
    assert input_names(Tokens()) == ["input_ids", "attention_mask"]


def test_input_spec_is_parsed_with_dynamic_dims() -> None:
    spec = parse_input_spec(
        "input_ids:int64[1,128], attention_mask:int64[1,seq=128]", "--input-spec"
    )
    assert spec is not None
    assert spec.names == ["input_ids", "attention_mask"]
    assert spec.inputs[0].shape == ("batch", 128)
    assert spec.inputs[1].shape == ("batch", "seq")
    assert spec.inputs[1].dynamic_dims() == (0, 1)
    assert spec.inputs[1].text() == "attention_mask:int64[batch=1,seq=128]"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("input_ids", "'input_ids' is not NAME:DTYPE[SIZES]"),
        ("x:float99[1,8]", "dtype 'float99' of 'x' is not one of float32, float16"),
        ("x:int64[0,8]", "size '0' is not a positive whole number"),
        ("x:int64[1,a]", "size 'a' is not a positive whole number"),
        ("x:int64[1,8],x:int64[1,8]", "input 'x' is named twice"),
        ("a:int64[1,8],b:int64[2,8]", "every input needs the same batch size"),
        ("x:int64[1,2,3,4,5,6,7,8,9]", "expected 1 to 8 sizes"),
        ("x:float32[5000,8]", "expected a batch of at most 4096"),
    ],
)
def test_a_bad_input_spec_is_one_line_naming_the_flag(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_options(CompressFlags(input_spec=value))
    text = str(caught.value)
    assert text.startswith(f"--input-spec {value!r}: ")
    assert problem in text
    assert "expected NAME:DTYPE[SIZES]" in text
    assert "input_ids:int64[1,128]" in text
    assert "\n" not in text


def test_input_spec_and_input_shape_exclude_each_other() -> None:
    flags = CompressFlags(input_spec="x:float32[1,8]", input_shape="1,8")
    with pytest.raises(ConfigError, match="--input-spec and --input-shape both describe"):
        check_options(flags)


def test_named_npz_arrays_are_put_in_the_models_order(tmp_path: Path) -> None:
    ids = np.random.randint(0, 50, (5, 12))
    mask = np.ones((5, 12), dtype=np.int64)
    np.savez(tmp_path / "t.npz", attention_mask=mask, input_ids=ids, y=np.arange(5) % 4)
    names, dtypes = ["input_ids", "attention_mask"], [torch.int64, torch.int64]
    first, second = load_data(
        str(tmp_path / "t.npz"), split="test", batch_size=3, names=names, dtypes=dtypes
    )
    got_ids, got_mask = inputs_of(first)
    assert got_ids.dtype == torch.int64
    assert got_ids.tolist() == ids[:3].tolist()
    assert got_mask.tolist() == mask[:3].tolist()
    assert targets_of(second).tolist() == [3, 0]
    assert data_signature(inputs_of(first), names, "the data").names == names
    np.savez(tmp_path / "bad.npz", tokens=ids)
    with pytest.raises(ConfigError, match=r"array 'tokens' is not an input of the model"):
        load_data(str(tmp_path / "bad.npz"), split="train", names=names)
    np.savez(tmp_path / "gap.npz", attention_mask=mask)
    with pytest.raises(ConfigError, match=r"holds attention_mask but not 'input_ids'"):
        load_data(str(tmp_path / "gap.npz"), split="train", names=names)


def test_a_pt_dict_of_named_tensors_is_read_weights_only(tmp_path: Path) -> None:
    ids = torch.randint(0, 50, (4, 12))
    torch.save({"input_ids": ids, "attention_mask": torch.ones(4, 12)}, tmp_path / "t.pt")
    (batch,) = load_data(str(tmp_path / "t.pt"), split="train", dtypes=[torch.int64, None])
    got_ids, got_mask = inputs_of(batch)
    assert got_ids.tolist() == ids.tolist()
    assert got_mask.dtype == torch.float32


def test_batch_helpers_resize_every_input() -> None:
    pair = (torch.zeros(2, 3), torch.ones(2, 5, dtype=torch.long))
    grown = batch_of(pair, 5)
    assert isinstance(grown, tuple)
    assert [tuple(t.shape) for t in grown] == [(5, 3), (5, 5)]
    assert grown[1].dtype == torch.long
    assert [tuple(t.shape) for t in head(pair, 1)] == [(1, 3), (1, 5)]
