"""A Hugging Face `save_pretrained` folder: transformers' own class from config.json, weights
from safetensors; remote code, foreign classes and pickles are refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from accel.compress.hf import (
    TensorModel,
    hf_example_inputs,
    hf_input_signature,
    model_input_signature,
)
from accel.compress.loading import load_model
from accel.core.errors import ConfigError
from accel.core.trust import UntrustedFileError

transformers = pytest.importorskip("transformers")


def bert_config():  # type: ignore[no-untyped-def]
    return transformers.BertConfig(
        vocab_size=1000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A BertModel (sharded safetensors) and a BertForMaskedLM (tied head), saved once."""
    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    bert = transformers.BertModel(bert_config()).eval()
    bert.save_pretrained(root / "bert", max_shard_size="200KB")
    mlm = transformers.BertForMaskedLM(bert_config()).eval()
    mlm.save_pretrained(root / "mlm")
    return {"bert": bert, "mlm": mlm, "root": root}


def copy(saved: dict[str, object], name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(Path(str(saved["root"])) / name, tmp_path / name))


def edit_config(folder: Path, **changes: object) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return folder


def outputs(model: torch.nn.Module) -> torch.Tensor:
    """The first output of the transformers model (keywords) or of the loaded one (positional,
    in its input signature's order)."""
    inputs = hf_example_inputs(model.config, batch=2, seq=16)  # type: ignore[attr-defined]
    with torch.no_grad():
        if isinstance(model, TensorModel):
            return model(inputs["input_ids"], inputs["attention_mask"])
        return model(**inputs)[0]


@pytest.mark.parametrize("name", ["bert", "mlm"])
def test_a_saved_folder_gives_the_same_outputs(saved: dict[str, object], name: str) -> None:
    model = saved[name]
    assert isinstance(model, torch.nn.Module)
    loaded = load_model(Path(str(saved["root"])) / name)
    assert isinstance(loaded, TensorModel)
    assert type(loaded.model) is type(model)
    assert torch.allclose(outputs(model), outputs(loaded), atol=1e-5)


def test_the_loaded_model_exports_with_positional_inputs(saved: dict[str, object]) -> None:
    loaded = load_model(Path(str(saved["root"])) / "bert")
    inputs = hf_example_inputs(loaded.config, batch=1, seq=8)
    args = (inputs["input_ids"], inputs["attention_mask"])
    program = torch.export.export(loaded, args)
    assert torch.allclose(program.module()(*args), loaded(*args), atol=1e-5)


def test_the_loaded_model_goes_to_onnx_with_fused_attention(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Loaded with torch's sdpa attention, a folder's model exports as one ONNX Attention
    node per layer, inputs named as the signature names them, batch and sequence dynamic:
    another batch, another length and padding give the transformers model's outputs."""
    import onnx
    import onnxruntime as ort

    from accel.compress.passes.export import export_onnx
    from accel.compress.signature import declared_signature

    loaded = load_model(Path(str(saved["root"])) / "bert")
    inputs = hf_example_inputs(loaded.config, batch=1, seq=16)
    args = (inputs["input_ids"], inputs["attention_mask"])
    path = export_onnx(loaded, args, tmp_path / "m.onnx", signature=declared_signature(loaded))
    proto = onnx.load(str(path))
    assert [n.op_type for n in proto.graph.node].count("Attention") == 2
    assert [i.name for i in proto.graph.input] == ["input_ids", "attention_mask"]
    ids = torch.randint(0, 1000, (3, 24))
    mask = (torch.arange(24) < torch.tensor([[24], [10], [17]])).long()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    bert = saved["bert"]
    with torch.no_grad():
        want = bert(input_ids=ids, attention_mask=mask)[0]  # type: ignore[operator]
    assert torch.allclose(torch.from_numpy(got), want, atol=1e-4)


def test_the_input_signature(saved: dict[str, object]) -> None:
    signature = hf_input_signature(bert_config(), batch=4, seq=32)
    assert [(s.name, s.dtype, s.shape, s.sizes) for s in signature] == [
        ("input_ids", torch.int64, ("batch", "seq"), (4, 32)),
        ("attention_mask", torch.int64, ("batch", "seq"), (4, 32)),
    ]
    assert signature[0].ranges == ((1, None), (1, 512))
    loaded = load_model(Path(str(saved["root"])) / "bert")
    for model in (saved["bert"], loaded):
        assert [s.name for s in model_input_signature(model) or []] == [
            "input_ids",
            "attention_mask",
        ]
    assert model_input_signature(torch.nn.Linear(2, 2)) is None


def test_remote_code_is_refused_and_never_imported(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = copy(saved, "mlm", tmp_path)
    marker = tmp_path / "pwned"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Evil: pass\n")
    edit_config(folder, architectures=["Evil"], auto_map={"AutoModel": "evil.Evil"})
    with pytest.raises(UntrustedFileError, match=r"config.json: auto_map names code shipped"):
        load_model(folder)
    assert not marker.exists()


CRAFTED = {
    "os.system": r"architectures 'os.system' is not a model class of transformers",
    "Evil": r"architectures 'Evil' is not a model class of transformers",
    "BertConfig": r"architectures 'BertConfig' is not a model class",
    "AutoModel": r"architectures 'AutoModel' is not a model class",
    "__class__": r"architectures '__class__' is not a model class",
}


@pytest.mark.parametrize("name", CRAFTED)
def test_only_transformers_own_model_classes(saved, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = edit_config(copy(saved, "mlm", tmp_path), architectures=[name])
    with pytest.raises(UntrustedFileError, match=CRAFTED[name]):
        load_model(folder)


def test_a_hub_attention_kernel_is_refused(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = edit_config(copy(saved, "mlm", tmp_path), _attn_implementation="kernels-community/x")
    with pytest.raises(UntrustedFileError, match=r"_attn_implementation = 'kernels-community/x'"):
        load_model(folder)


def test_a_pickle_loads_only_when_trusted(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = copy(saved, "mlm", tmp_path)
    model = saved["mlm"]
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(UntrustedFileError, match=r"holds pytorch_model.bin, a pickle: .*--trust-f"):
        load_model(folder)
    assert torch.allclose(outputs(model), outputs(load_model(folder, trust=True)), atol=1e-5)


def test_bad_folders_are_one_line(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = copy(saved, "bert", tmp_path)
    index = folder / "model.safetensors.index.json"
    data = json.loads(index.read_text())
    data["weight_map"] = {k: "../outside.safetensors" for k in data["weight_map"]}
    index.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"shard '../outside.safetensors' is not a .safetensors"):
        load_model(folder)
    for shard in folder.glob("*.safetensors*"):
        shard.unlink()
    with pytest.raises(ConfigError, match=r"has config.json but no weights: expected model.saf"):
        load_model(folder)


def test_weights_of_another_size_name_the_keys(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = edit_config(copy(saved, "mlm", tmp_path), intermediate_size=96)
    with pytest.raises(ConfigError, match=r"do not fit the architecture: shape bert.encoder"):
        load_model(folder)
    with pytest.raises(ConfigError, match=r"config.json names the architecture; drop --arch"):
        load_model(folder, arch="resnet18")


def test_a_class_of_another_model_type_is_refused(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = edit_config(copy(saved, "mlm", tmp_path), architectures=["GPT2Model"])
    with pytest.raises(ConfigError, match=r"architectures GPT2Model does not take a BertConfig"):
        load_model(folder)
