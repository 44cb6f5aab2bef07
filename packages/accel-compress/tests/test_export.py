"""ONNX (dynamic batch, checker) and torch.export programs, run in fresh runtimes."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
import torch
from compress_models import TinyResNet

from accel.compress.artifacts import ExportedModel, OnnxModel
from accel.compress.passes.export import Export
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return TinyResNet().eval()


def test_onnx_has_a_dynamic_batch_and_passes_the_checker(model, tmp_path: Path) -> None:
    context = PassContext(example_inputs=torch.randn(1, 1, 8, 8), output_dir=tmp_path)
    result = Export("onnx")(model, context)
    assert isinstance(result, OnnxModel)
    assert result.path == tmp_path / "model.onnx"
    onnx.checker.check_model(str(result.path), full_check=True)
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = torch.randn(batch, 1, 8, 8)
        out = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
        assert torch.allclose(out, model(x), atol=1e-4)
    assert context.reports[-1].metrics["output_error"] < 1e-5


def test_torch_export_program_loads_and_runs_other_batches(model, tmp_path: Path) -> None:
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8), output_dir=tmp_path)
    result = Export("pt2")(model, context)
    assert isinstance(result, ExportedModel)
    loaded = torch.export.load(str(result.path)).module()
    x = torch.randn(7, 1, 8, 8)
    assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_an_onnx_artifact_is_not_exported_again(tmp_path: Path) -> None:
    context = PassContext()
    given = OnnxModel(tmp_path / "m.onnx")
    assert Export()(given, context) is given
    assert context.reports[-1].status == "skipped"


def test_unknown_format() -> None:
    with pytest.raises(ConfigError, match="format 'tflite' is not one of onnx, pt2"):
        Export("tflite")


def test_export_without_example_inputs_asks_for_the_shape(model, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --input-shape"):
        Export()(model, PassContext(output_dir=tmp_path))


def test_export_without_output_dir(model) -> None:
    with pytest.raises(ConfigError, match=r"set PassContext\.output_dir"):
        Export()(model, PassContext(example_inputs=torch.randn(2, 1, 8, 8)))


def test_a_loaded_export_program_goes_to_onnx_too(model, tmp_path: Path) -> None:
    x = torch.randn(2, 1, 8, 8)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    loaded = torch.export.load(str(tmp_path / "m.pt2")).module()
    context = PassContext(example_inputs=x, output_dir=tmp_path / "out")
    result = Export("onnx")(loaded, context)
    assert [p.name for p in result.files()] == ["model.onnx"]  # weights embedded, one file
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x5 = torch.randn(5, 1, 8, 8)
    out = torch.from_numpy(session.run(None, {name: x5.numpy()})[0])
    assert torch.allclose(out, model(x5), atol=1e-4)


class MaskedAttention(torch.nn.Module):
    """One self-attention with a padding mask, through `scaled_dot_product_attention`; the
    mask broadcast over the queries ([batch, 1, 1, keys]) or expanded to every query (as
    transformers' models do)."""

    def __init__(self, *, expand: bool) -> None:
        super().__init__()
        self.qkv, self.heads, self.expand = torch.nn.Linear(16, 48), 2, expand

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        q, k, v = (
            t.reshape(batch, seq, self.heads, 8).transpose(1, 2)
            for t in self.qkv(x).chunk(3, dim=-1)
        )
        keep = mask[:, None, None, :].bool()
        keep = keep.expand(batch, 1, seq, seq) if self.expand else keep
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        return out.transpose(1, 2).reshape(batch, seq, 16)


@pytest.mark.parametrize(("expand", "opset"), [(True, 23), (False, 18)])
def test_a_program_with_attention_is_exported_with_one_attention_node(
    expand: bool, opset: int, tmp_path: Path
) -> None:
    """Opset 23's Attention (one fused kernel in ONNX Runtime) where the program calls
    scaled-dot-product attention; the padding mask still applies. ONNX Runtime's kernel
    rejects a mask that broadcasts over the queries: that model is written at opset 18 (the
    attention spelled out), and so is a program without attention."""
    torch.manual_seed(0)
    model = MaskedAttention(expand=expand).eval()
    x, mask = torch.randn(2, 6, 16), torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (x, mask), dynamic_shapes=({0: batch}, {0: batch}))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    loaded = torch.export.load(str(tmp_path / "m.pt2")).module()
    result = Export("onnx")(loaded, PassContext(example_inputs=(x, mask), output_dir=tmp_path))
    proto = onnx.load(str(result.path))
    assert [n.op_type for n in proto.graph.node].count("Attention") == (opset == 23)
    assert {o.domain: o.version for o in proto.opset_import}[""] == opset
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    x3, mask3 = torch.randn(3, 6, 16), torch.tensor([[1] * 6, [1] * 2 + [0] * 4, [1] * 5 + [0]])
    out = session.run(None, dict(zip(names, (x3.numpy(), mask3.numpy()), strict=True)))[0]
    assert torch.allclose(torch.from_numpy(out), model(x3, mask3), atol=1e-5)
    if expand:
        return
    plain = torch.export.export(TinyResNet().eval(), (torch.randn(2, 1, 8, 8),))
    torch.export.save(plain, str(tmp_path / "plain.pt2"))
    cnn = torch.export.load(str(tmp_path / "plain.pt2")).module()
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8), output_dir=tmp_path / "cnn")
    opsets = onnx.load(str(Export("onnx")(cnn, context).path)).opset_import
    assert {o.domain: o.version for o in opsets}[""] == 18


def test_a_loaded_export_program_cannot_be_pruned(model, tmp_path: Path) -> None:
    from accel.compress.passes.prune import Prune

    x = torch.randn(2, 1, 8, 8)
    torch.export.save(torch.export.export(model, (x,)), str(tmp_path / "m.pt2"))
    loaded = torch.export.load(str(tmp_path / "m.pt2")).module()
    with pytest.raises(ConfigError, match="needs the model's own Python class"):
        Prune(0.5)(loaded, PassContext(example_inputs=x))


def test_a_transposed_weight_is_stored_transposed(tmp_path: Path) -> None:
    """A tied head (`Transpose` of the embedding table, then `MatMul`) as the exporter leaves
    it for large tables: the weight is stored transposed, once, and the output is the same."""
    import numpy as np
    from onnx import helper, numpy_helper

    from accel.compress.passes.export import fold_weight_transposes

    table = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Transpose", ["table"], ["table_t"], perm=[1, 0]),
            helper.make_node("MatMul", ["x", "table_t"], ["y"]),
        ],
        "head",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 5])],
        [numpy_helper.from_array(table, "table")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    fold_weight_transposes(proto)
    assert [n.op_type for n in proto.graph.node] == ["MatMul"]
    assert [(t.name, list(t.dims)) for t in proto.graph.initializer] == [("table_t", [3, 5])]
    onnx.save(proto, str(tmp_path / "head.onnx"))
    session = ort.InferenceSession(str(tmp_path / "head.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"x": x})[0], x @ table.T, rtol=1e-5)
