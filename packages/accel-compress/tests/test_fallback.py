"""Per-layer float fallback with real ONNX Runtime quantization: an int8 model that breaks its
budget is repaired by keeping the layers that cost the most in float, and the layers the report
lists are the ones the written graph runs in float."""

from __future__ import annotations

import copy
import math

import onnx
import pytest
import torch
from torch import nn

from accel.compress.artifacts import OnnxModel
from accel.compress.passes.fallback import Layer, Measured, predicted, search
from accel.compress.passes.quantize import Quantize
from accel.compress.passes.quantize_ort import int8_nodes
from accel.compress.pipeline import compress
from accel.compress.verify import VerificationError, accuracy, output_error
from accel.core.passes import PassContext

FAST = {"batches": [32], "repeats": 2}
OUTLIER = 1000.0
FLOAT = onnx.TensorProto.FLOAT


def with_outlier_channel(model: nn.Module) -> nn.Module:
    """The same function in float, hostile to int8: channel 0 between layer2's two convolutions
    is scaled up 1000x (its BatchNorm) and the next convolution scales it back down. One
    per-tensor int8 scale cannot hold that channel and the others: they round to zero."""
    model = copy.deepcopy(model)
    block = model.layer2
    with torch.no_grad():
        block.bn1.weight[0] *= OUTLIER
        block.bn1.bias[0] *= OUTLIER
        block.conv2.weight[:, 0] /= OUTLIER
    return model.eval()


@pytest.fixture(scope="module")
def hostile(trained_resnet) -> nn.Module:
    return with_outlier_channel(trained_resnet)


def context_for(digits, tmp_path, evaluate: bool = False) -> PassContext:
    context = PassContext(example_inputs=digits.example, calib_data=digits.calib)
    context.output_dir = tmp_path
    if evaluate:
        context.val_data = digits.test
        context.evaluate = lambda artifact: accuracy(artifact, digits.test)
    return context


def weights_in_float(path) -> set[str]:
    """Nodes of an ONNX graph whose weight initializers feed them directly (not through a
    DequantizeLinear): the layers that compute with float weights."""
    graph = onnx.load(str(path)).graph
    floats = {t.name for t in graph.initializer if len(t.dims) >= 2 and t.data_type == FLOAT}
    return {n.name for n in graph.node if any(i in floats for i in n.input)}


def test_the_hostile_model_is_the_same_function_in_float(trained_resnet, hostile, digits):
    assert output_error(trained_resnet, hostile, digits.calib) < 1e-5


def test_fallback_keeps_the_responsible_layers_in_float(hostile, digits, tmp_path):
    rigid = context_for(digits, tmp_path / "rigid")
    Quantize(fallback=False)(hostile, rigid)
    broken = rigid.reports[-1].metrics
    assert broken["tolerance_broken"]
    assert broken["output_error"] > 0.3

    context = context_for(digits, tmp_path / "repaired")
    result = Quantize()(hostile, context)
    metrics = context.reports[-1].metrics
    found = metrics["fallback"]
    assert found["met"]
    assert not metrics.get("tolerance_broken")
    assert metrics["output_error"] <= 0.1
    # the calibrations that clip outliers were tried first, each one's error reported
    tried = [c["calibration"] for c in metrics["calibrations"]]
    assert tried == ["minmax", "percentile", "entropy"]
    assert all(c["output_error"] > 0.1 for c in metrics["calibrations"])
    assert math.isclose(found["error_before"], broken["output_error"], rel_tol=0.05)
    kept = [layer["node"] for layer in found["float_layers"]]
    assert 1 <= len(kept) <= len(found["float_layers"])
    # the layer that reads the outlier channel is among the most sensitive ones kept in float
    graph = onnx.load(str(result.path)).graph
    float_weights = weights_in_float(result.path)
    assert float_weights, "no layer computes with float weights"
    assert set(metrics["float_layers"]) <= set(kept)
    assert float_weights <= set(kept)  # nothing else lost its int8 weights
    still_int8 = set(int8_nodes(result.path, "static"))
    assert not still_int8 & set(metrics["float_layers"])
    assert sum(n.op_type == "QuantizeLinear" for n in graph.node) > 0  # the rest is int8
    sensitivities = [layer["sensitivity"] for layer in found["float_layers"]]
    assert sensitivities == sorted(sensitivities, reverse=True)


def test_max_drop_with_labels_is_met_by_fallback_and_the_report_matches_the_graph(
    hostile, digits, tmp_path
):
    recipe = {
        "passes": [{"name": "export", "format": "onnx"}, {"name": "quantize", "max_drop": 0.5}],
        "verify": {"max_drop": 0.5},
        "analysis": FAST,
    }
    context = context_for(digits, tmp_path, evaluate=True)
    result = compress(hostile, recipe, context, tmp_path / "out", quiet=True)
    step = next(s for s in result.report["steps"] if s["name"] == "quantize")
    assert step["status"] == "applied"
    found = step["metrics"]["fallback"]
    assert found["met"]
    final_trial = found["trials"][-1]
    base = result.report["steps"][0]["accuracy"]
    assert 100 * (base - final_trial["accuracy"]) <= 0.5
    written = result.output_dir / result.report["outputs"]["onnx"]
    assert weights_in_float(written) == {
        x for x in step["metrics"]["float_layers"] if x in weights_in_float(written)
    }
    assert weights_in_float(written) <= set(step["metrics"]["float_layers"])
    markdown = (result.output_dir / "report.md").read_text()
    assert "## Layers kept in float" in markdown
    assert "## Calibrations tried" in markdown
    for node in step["metrics"]["float_layers"]:
        assert f"| {node} |" in markdown
    assert isinstance(result.artifact, OnnxModel)


def test_no_fallback_rejects_the_broken_int8_result_as_before(hostile, digits, tmp_path):
    recipe = {
        "passes": [{"name": "export", "format": "onnx"}, {"name": "quantize", "fallback": False}],
        "analysis": FAST,
    }
    with pytest.raises(VerificationError, match="quantize: relative output error"):
        compress(hostile, recipe, context_for(digits, tmp_path), tmp_path / "out", quiet=True)
    assert not (tmp_path / "out" / "model.onnx").exists()


def test_search_widens_the_set_until_a_measurement_meets_the_budget():
    layers = [Layer(f"n{i}", "Conv") for i in range(10)]
    # measured errors fall as more layers stay float, slower than the prediction says
    errors = {0: 0.2, 1: 0.16, 2: 0.13, 3: 0.11, 4: 0.095}
    seen: list[int] = []

    def trial(chosen: list[Layer]) -> Measured:
        seen.append(len(chosen))
        error = errors.get(len(chosen), 0.09)
        return Measured(len(chosen), error, error <= 0.1)

    sensitivity = {f"n{i}": 0.1 / (i + 1) for i in range(10)}
    found = search(layers, 0.2, lambda layer: sensitivity[layer.node], trial, 0.1)
    assert found.met
    assert found.result == seen[-1]
    assert seen == sorted(seen)
    assert errors.get(seen[-1], 0.09) <= 0.1
    assert [layer.node for layer, _ in found.layers] == [f"n{i}" for i in range(seen[-1])]
    assert found.probes == 10


def test_search_gives_up_within_its_bounds():
    layers = [Layer(f"n{i}", "Conv") for i in range(6)]
    found = search(layers, 0.5, lambda layer: 0.1, lambda c: Measured(None, 0.5, False), 0.1)
    assert not found.met
    assert found.result is None
    assert max(t.layers for t in found.trials) <= 3  # never more than half of them in float


def test_prediction_from_shares_of_squared_sensitivity():
    assert predicted(0.2, 0.0) == 0.2
    assert math.isclose(predicted(0.2, 0.75), 0.1)
    assert predicted(0.2, 1.5) == 0.0
