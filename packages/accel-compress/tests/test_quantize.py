"""int8: ORT static/dynamic with real ORT sessions, PT2E and torchao in torch, and the errors."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from compress_models import TinyResNet
from torch import nn

from accel.compress.artifacts import OnnxModel
from accel.compress.passes.parity import parity_inputs
from accel.compress.passes.quantize import Challenger, Quantize
from accel.compress.passes.quantize_ort import count_ops
from accel.compress.recipe import build_recipe
from accel.compress.verify import accuracy, compare_outputs
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


def context_for(digits, tmp_path: Path, calib: bool = True, target: str = "x86") -> PassContext:
    return PassContext(
        example_inputs=digits.example,
        calib_data=digits.calib if calib else None,
        output_dir=tmp_path,
        target=target,
    )


def test_ort_static_is_qdq_per_channel_and_close_to_float(resnet, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path)
    result = Quantize()(resnet, context)
    assert isinstance(result, OnnxModel)
    ops = count_ops(result.path)
    assert ops["QuantizeLinear"] > 0
    assert ops["DequantizeLinear"] > 0
    report = context.reports[-1]
    assert report.metrics["mode"] == "static"
    assert report.metrics["output_error"] < 0.1
    # per-channel: a convolution's weight scale holds one value per output channel
    model = onnx.load(str(result.path))
    scales = [t for t in model.graph.initializer if t.name.endswith("_scale") and len(t.dims) == 1]
    assert any(t.dims[0] > 1 for t in scales)
    assert accuracy(resnet, digits.test) - accuracy(result, digits.test) <= 0.005


def test_arm64_target_uses_signed_activations(resnet, digits, tmp_path) -> None:
    result = Quantize(mode="static")(resnet, context_for(digits, tmp_path, target="arm64"))
    model = onnx.load(str(result.path))
    zero_points = [t for t in model.graph.initializer if t.name.endswith("_zero_point")]
    types = {t.data_type for t in zero_points}
    assert onnx.TensorProto.INT8 in types
    assert onnx.TensorProto.UINT8 not in types


def test_no_calibration_data_quantizes_linear_only_and_says_so(resnet, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path, calib=False)
    result = Quantize()(resnet, context)
    ops = count_ops(result.path)
    assert "ConvInteger" not in ops
    assert ops["Conv"] == 6
    assert "MatMulInteger" in ops or "DynamicQuantizeLinear" in ops
    note = context.reports[-1].notes[-1]
    assert "6 Conv layer(s) kept in float" in note
    assert "--calib-data" in note


def test_mlp_dynamic_int8_matches_float(trained_mlp, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path, calib=False)
    result = Quantize(mode="dynamic")(trained_mlp, context)
    assert context.reports[-1].metrics["output_error"] < 0.05
    assert accuracy(trained_mlp, digits.test) - accuracy(result, digits.test) <= 0.01


def test_static_int8_without_calibration_data_says_how_to_fix(resnet, digits, tmp_path) -> None:
    with pytest.raises(ConfigError, match="static int8 needs calibration data: pass --calib-data"):
        Quantize(mode="static")(resnet, context_for(digits, tmp_path, calib=False))


def test_pt2e_x86_inductor_quantizer(resnet, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path)
    quantized = Quantize(backend="pt2e", compile=False)(resnet, context)
    assert context.reports[-1].metrics["output_error"] < 0.1
    targets = {str(n.target) for n in quantized.graph.nodes if n.op == "call_function"}
    assert any("quantize_per_tensor" in t for t in targets)
    assert quantized(digits.x_test[:3]).shape == (3, 10)  # dynamic batch


def test_pt2e_without_data_points_to_alternatives(resnet, digits, tmp_path) -> None:
    with pytest.raises(ConfigError, match="'pt2e' is static int8: pass --calib-data"):
        Quantize(backend="pt2e")(resnet, context_for(digits, tmp_path, calib=False))


def test_torchao_int8_dynamic_on_linear_layers(trained_mlp, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path, calib=False)
    quantized = Quantize(backend="torchao", compile=False)(trained_mlp, context)
    assert context.reports[-1].metrics["quantized_linear"] == 3
    assert context.reports[-1].metrics["output_error"] < 0.05
    assert type(quantized.net[1].weight).__name__ != "Parameter"  # a torchao tensor subclass


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_int4_without_a_gpu_says_so(trained_mlp, digits, tmp_path) -> None:
    with pytest.raises(ConfigError, match="int4 weight-only needs a CUDA GPU"):
        Quantize(backend="torchao", bits=4)(trained_mlp, context_for(digits, tmp_path))


def test_torch_backends_refuse_onnx_files(digits, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"works on a torch model.*use backend 'ort'"):
        Quantize(backend="torchao")(OnnxModel(tmp_path / "m.onnx"), context_for(digits, tmp_path))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "tensorrt"}, "backend 'tensorrt' is not one of ort"),
        ({"mode": "fp8"}, "mode 'fp8' is not one of auto"),
        ({"bits": 2}, "bits must be 8 or 4"),
        ({"bits": 4}, "int4 is torchao weight-only"),
    ],
)
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Quantize(**options)


def test_quantize_works_on_an_onnx_file_too(digits, tmp_path) -> None:
    from accel.compress import export_onnx

    source = export_onnx(TinyResNet().eval(), digits.example, tmp_path / "fp32.onnx")
    context = context_for(digits, tmp_path)
    result = Quantize()(source, context)
    assert result.path != source.path
    assert count_ops(result.path)["QuantizeLinear"] > 0
    assert not any("exported to ONNX first" in n for n in context.reports[-1].notes)


def test_without_a_named_backend_a_model_without_convolutions_gets_every_int8_candidate(
    trained_mlp, digits, tmp_path
) -> None:
    from accel.compress.pipeline import compress

    recipe = build_recipe(quantize="int8")
    recipe["analysis"] = {"batches": [32], "repeats": 2}
    assert recipe["passes"][-1]["choose"] is True
    context = PassContext(example_inputs=digits.example, calib_data=digits.calib)
    result = compress(trained_mlp, recipe, context, tmp_path / "out", quiet=True)
    step = next(s for s in result.report["steps"] if s["name"] == "quantize")
    names = [c["candidate"] for c in step["metrics"]["int8_candidates"]]
    assert names == ["ORT static QDQ", "ORT dynamic MatMul/Gemm", "OpenVINO + NNCF"]
    assert all(c["ms"] > 0 and c["batch"] == 32 for c in step["metrics"]["int8_candidates"])
    chosen = step["metrics"]["int8_chosen"]
    assert chosen in names
    if chosen == "OpenVINO + NNCF":  # the chosen one is the one written
        assert result.report["outputs"]["openvino"] == "model.xml"
        return
    written = count_ops(result.output_dir / "model.onnx")
    if chosen == "ORT dynamic MatMul/Gemm":
        assert "MatMulInteger" in written or "DynamicQuantizeLinear" in written
    else:
        assert "QuantizeLinear" in written
    assert "## int8 candidates" in (result.output_dir / "report.md").read_text()


def test_a_convolution_net_has_no_dynamic_candidate(resnet, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path)
    Quantize(choose=True)(resnet, context)
    names = [c["candidate"] for c in context.reports[-1].metrics["int8_candidates"]]
    assert names == ["ORT static QDQ", "OpenVINO + NNCF"]  # dynamic leaves convs in float


class FloatChallenger(Quantize):
    """The candidate choice with one challenger: the fp32 ONNX model itself (error ~1e-6,
    within a 1e-3 budget), or, with `broken`, a build that fails the way a toolchain that
    cannot take a model does."""

    def __init__(self, *, broken: bool = False, **options) -> None:
        super().__init__(**options)
        self.broken = broken

    def _challengers(self, before, source, context):
        def build():
            if self.broken:
                raise RuntimeError("cannot convert this model\nsecond line")
            return (source, *compare_outputs(before, source, parity_inputs(context)))

        return [Challenger("fp32 ONNX", build, {})]


def test_a_static_result_over_the_budget_gives_way_to_any_candidate_within_it(
    resnet, digits, tmp_path
) -> None:
    context = context_for(digits, tmp_path)
    quantize = FloatChallenger(choose=True, fallback=False, tolerance=1e-3)
    result = quantize(resnet, context)
    metrics = context.reports[-1].metrics
    assert metrics["int8_chosen"] == "fp32 ONNX"
    assert [c["within_budget"] for c in metrics["int8_candidates"]] == [False, True]
    assert "QuantizeLinear" not in count_ops(result.path)


def test_a_candidate_that_cannot_be_built_is_named_in_the_notes(resnet, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path)
    result = FloatChallenger(choose=True, broken=True)(resnet, context)
    report = context.reports[-1]
    assert "QuantizeLinear" in count_ops(result.path)  # static stands
    assert any(
        "fp32 ONNX skipped (RuntimeError: cannot convert this model)" in n for n in report.notes
    )


def test_a_torch_target_compares_pt2e_with_torchao_for_a_linear_model(
    trained_mlp, digits, tmp_path
) -> None:
    context = context_for(digits, tmp_path)
    result = Quantize(backend="pt2e", choose=True, compile=False)(trained_mlp, context)
    metrics = context.reports[-1].metrics
    rows = metrics["int8_candidates"]
    assert [c["candidate"] for c in rows] == ["PT2E static", "torchao int8 dynamic"]
    assert all(c["output_error"] < 0.1 for c in rows)
    if metrics["int8_chosen"] == "torchao int8 dynamic":
        assert metrics["backend"] == "torchao"
        assert type(result.net[1].weight).__name__ != "Parameter"  # a torchao tensor subclass
    else:
        assert metrics["backend"] == "pt2e"
        assert isinstance(result, torch.fx.GraphModule)


def test_compiled_pt2e_is_calibrated_for_this_cpus_kernels(trained_mlp, digits, tmp_path) -> None:
    """Without VNNI, inductor's int8 kernels saturate on 8-bit activations (a digits MLP read
    0.062 instead of 0.004): PT2E quantizes activations to 7 bits there, and torchao (whose
    activations are 8-bit) is not a candidate."""
    from accel.compress.passes.quantize_ort import saturates

    context = context_for(digits, tmp_path)
    Quantize(backend="pt2e", choose=True)(trained_mlp, context)
    report = context.reports[-1]
    assert report.metrics["output_error"] < 0.02
    if saturates("x86"):
        assert report.metrics["activation_bits"] == 7
        skipped = "torchao int8 dynamic not tried: this CPU has no VNNI"
        assert any(skipped in n for n in report.notes)
        assert "int8_candidates" not in report.metrics
    else:
        assert report.metrics["activation_bits"] == 8
        assert len(report.metrics["int8_candidates"]) == 2


def test_a_torch_target_with_no_data_gets_torchao_for_a_linear_model(
    trained_mlp, digits, tmp_path
) -> None:
    context = context_for(digits, tmp_path, calib=False)
    result = Quantize(backend="pt2e", choose=True, compile=False)(trained_mlp, context)
    report = context.reports[-1]
    assert report.metrics["backend"] == "torchao"
    assert report.metrics["output_error"] < 0.1
    assert any("no calibration data: torchao int8 dynamic" in n for n in report.notes)
    assert type(result.net[1].weight).__name__ != "Parameter"


def test_a_conv_net_with_no_data_still_needs_it_for_a_torch_target(
    resnet, digits, tmp_path
) -> None:
    with pytest.raises(ConfigError, match="'pt2e' is static int8: pass --calib-data"):
        Quantize(backend="pt2e", choose=True)(resnet, context_for(digits, tmp_path, calib=False))


def test_an_arm_target_has_no_openvino_candidate(resnet, digits, tmp_path) -> None:
    context = context_for(digits, tmp_path, target="arm64")
    Quantize(choose=True)(resnet, context)
    assert "int8_candidates" not in context.reports[-1].metrics


@pytest.mark.parametrize("calibration", ["percentile", "entropy"])
def test_histogram_calibrations_take_a_loaders_smaller_last_batch(
    calibration: str, tmp_path: Path
) -> None:
    """Batches of 8, 8 and 4 (a loader's last one is smaller): ONNX Runtime's histogram
    calibrators stack every batch and once failed ("inhomogeneous shape")."""
    from accel.compress.passes.export import export_onnx
    from accel.compress.passes.quantize_ort import OrtInt8, int8_nodes

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3)).eval()
    source = export_onnx(model, torch.rand(2, 1, 8, 8), tmp_path / "m.onnx")
    data = [torch.rand(8, 1, 8, 8), torch.rand(8, 1, 8, 8), torch.rand(4, 1, 8, 8)]
    quantizer = OrtInt8(source, tmp_path / "q", mode="static", data=data, calibration=calibration)
    output = quantizer.quantize(tmp_path / "int8.onnx")
    assert int8_nodes(output, "static")


def test_int8_weights_are_7_bit_where_the_cpus_kernels_saturate(tmp_path: Path) -> None:
    """x86 without VNNI adds u8 x s8 products into a saturating int16: ONNX Runtime's kernels
    clip unless weights use 7 bits (a GRU's error went 0.005 -> 0.16). Elsewhere: 8 bits."""
    import numpy as np
    from onnx import numpy_helper

    from accel.compress.passes.export import export_onnx
    from accel.compress.passes.quantize_ort import OrtInt8, saturates

    assert not saturates("arm64")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    source = export_onnx(model, torch.rand(2, 16), tmp_path / "m.onnx")
    output = OrtInt8(source, tmp_path / "q", mode="dynamic").quantize(tmp_path / "int8.onnx")
    weights = [numpy_helper.to_array(t) for t in onnx.load(str(output)).graph.initializer]
    largest = max(int(np.abs(w.astype(np.int32)).max()) for w in weights if w.dtype == np.int8)
    assert largest <= 64 if saturates("x86") else largest == 127


def test_dynamic_int8_names_gemms_as_the_float_model_does_and_can_keep_one_float(
    tmp_path: Path,
) -> None:
    """ONNX Runtime's dynamic quantizer renames each Gemm (`<gemm>_MatMul`) before choosing
    nodes: the float fallback once could neither list a GPT-2's Linears nor keep one float.
    Weights are per output channel (one scale per column)."""
    from onnx import numpy_helper

    from accel.compress.passes.export import export_onnx
    from accel.compress.passes.quantize_ort import OrtInt8

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    source = export_onnx(model, torch.rand(2, 16), tmp_path / "m.onnx")
    gemms = [n.name for n in onnx.load(str(source)).graph.node if n.op_type == "Gemm"]
    quantizer = OrtInt8(source, tmp_path / "q", mode="dynamic")
    full = quantizer.quantize(tmp_path / "int8.onnx")
    assert [layer.node for layer in quantizer.layers(full)] == gemms
    assert quantizer.int8_layers(full) == gemms
    graph = onnx.load(str(full)).graph
    scales = [numpy_helper.to_array(t) for t in graph.initializer if t.name.endswith("_scale")]
    assert sorted(s.size for s in scales) == [4, 32]
    mixed = quantizer.quantize(tmp_path / "mixed.onnx", exclude=[gemms[0]])
    assert quantizer.int8_layers(mixed) == gemms[1:]
    assert count_ops(mixed)["MatMulInteger"] == 1


class TiedLM(nn.Module):
    """An embedding (then a LayerNorm, as in BERT and GPT-2), one Linear, and a head tied to
    the embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.embed, self.norm = nn.Embedding(300, 16), nn.LayerNorm(16)
        self.mix = nn.Linear(16, 16)
        self.head = nn.Linear(16, 300, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.mix(self.norm(self.embed(ids)))))


def test_a_tied_embedding_and_head_share_one_int8_table(tmp_path: Path) -> None:
    """Dynamic int8 stored the table twice (uint8 for the lookup, its int8 transpose for the
    head's MatMulInteger); the lookup now reads the head's copy: one table in the file,
    outputs still those of the float model, the lookup still listed as an int8 layer."""
    import numpy as np
    import onnxruntime as ort
    from onnx import numpy_helper

    from accel.compress.passes.export import export_onnx
    from accel.compress.passes.quantize_ort import OrtInt8

    torch.manual_seed(0)
    model = TiedLM().eval()
    ids = torch.randint(0, 300, (2, 7))
    source = export_onnx(model, ids, tmp_path / "m.onnx")
    quantizer = OrtInt8(source, tmp_path / "q", mode="dynamic")
    output = quantizer.quantize(tmp_path / "int8.onnx")
    tables = [t for t in onnx.load(str(output)).graph.initializer if np.prod(t.dims) == 300 * 16]
    assert [numpy_helper.to_array(t).dtype for t in tables] == [np.int8]
    lookup = next(n.name for n in onnx.load(str(source)).graph.node if n.op_type == "Gather")
    assert lookup in quantizer.int8_layers(output)
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    other = torch.randint(0, 300, (3, 7))  # another batch
    got = session.run(None, {session.get_inputs()[0].name: other.numpy()})[0]
    want = model(other).detach().numpy()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 0.05
