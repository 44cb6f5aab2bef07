"""Every step is gated, with or without labels: a pruned model that was not fine-tuned must
keep the original's outputs, a collapsed output (NaN, the same for every input) fails any
tolerance, and parity runs on real data whenever there is some."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from compress_models import Sleepy
from torch import nn

from accel.compress.command import speed_text, summary
from accel.compress.passes.parity import parity_inputs, record_parity
from accel.compress.pipeline import compress
from accel.compress.verify import VerificationError, compare_outputs, degenerate
from accel.core.passes import PassContext

FAST = {"batches": [32], "repeats": 2}
HALF = {"name": "prune", "ratio": 0.5}


def unlabelled(digits) -> PassContext:
    """Calibration inputs only: no labels, so no accuracy to gate on."""
    return PassContext(example_inputs=digits.example, calib_data=digits.calib)


class ZeroHead(nn.Module):
    """A classifier whose last layer is all zeros: its output is the same for every input."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * 0.0


def test_pruning_without_fine_tuning_that_breaks_parity_is_refused(resnet, digits, tmp_path):
    recipe = {"passes": [HALF], "analysis": FAST}
    with pytest.raises(VerificationError) as caught:
        compress(resnet, recipe, unlabelled(digits), tmp_path / "out", quiet=True)
    message = str(caught.value)
    assert "prune: relative output error" in message
    assert "not fine-tuned: pass --train-data" in message
    assert "\n" not in message
    assert not (tmp_path / "out" / "pruned").exists()


def test_a_refused_prune_stops_before_the_steps_that_cannot_save_it(resnet, digits, tmp_path):
    """No later step takes a broken parity back: quantizing a model that will be refused is
    time spent for nothing (a pruned EfficientNet's int8 with its fallback search: a minute)."""
    import json

    quantize = {"name": "quantize", "backend": "ort", "mode": "static"}
    recipe = {"passes": [HALF, {"name": "export", "format": "onnx"}, quantize], "analysis": FAST}
    with pytest.raises(VerificationError, match="not fine-tuned: pass --train-data"):
        compress(resnet, recipe, unlabelled(digits), tmp_path / "out", quiet=True)
    report = json.loads((tmp_path / "out.rejected" / "report.json").read_text())
    assert [s["name"] for s in report["steps"]] == ["original", "prune"]
    assert "not run: export, quantize (the result is refused already" in " ".join(report["notes"])
    forced = {**recipe, "verify": {"force": True}}
    result = compress(resnet, forced, unlabelled(digits), tmp_path / "forced", quiet=True)
    assert [s["name"] for s in result.report["steps"]][-1] == "quantize"


def test_force_writes_it_and_the_summary_says_it_is_not_verified(resnet, digits, tmp_path):
    recipe = {"passes": [HALF], "analysis": FAST, "verify": {"force": True}}
    result = compress(resnet, recipe, unlabelled(digits), tmp_path / "out", quiet=True)
    assert (tmp_path / "out" / "pruned" / "channels.json").is_file()
    assert result.report["steps"][-1]["output_error"] > 0.1
    assert "FORCED, NOT VERIFIED: prune: relative output error" in summary(result.report)


def test_fine_tuning_after_pruning_lifts_the_parity_gate(resnet, digits, tmp_path):
    context = unlabelled(digits)
    context.train_data = digits.train[:8]
    recipe = {"passes": [HALF, {"name": "finetune", "epochs": 1}], "analysis": FAST}
    result = compress(resnet, recipe, context, tmp_path / "out", quiet=True)
    assert result.problems == []
    assert [s["name"] for s in result.report["steps"]] == ["original", "prune", "finetune"]


def test_a_prune_within_the_tolerance_its_spec_sets_passes(resnet, digits, tmp_path):
    recipe = {"passes": [{**HALF, "tolerance": 10.0}], "analysis": FAST}
    result = compress(resnet, recipe, unlabelled(digits), tmp_path / "out", quiet=True)
    assert result.problems == []


def test_a_model_with_a_constant_output_cannot_be_verified(resnet, digits, tmp_path):
    recipe = {"passes": [HALF], "analysis": FAST}
    with pytest.raises(VerificationError, match="the same for every input on these inputs"):
        compress(ZeroHead(resnet), recipe, unlabelled(digits), tmp_path / "out", quiet=True)


def test_a_collapsed_output_fails_however_small_its_error(resnet, digits):
    inputs = digits.calib[:2]
    error, problem = compare_outputs(resnet, ZeroHead(resnet), inputs)
    assert problem == "the output is the same for every input"
    assert error == pytest.approx(1.0)
    report = PassContext(calib_data=inputs).record("quantize")
    record_parity(report, resnet, ZeroHead(resnet), PassContext(calib_data=inputs), 10.0)
    assert report.metrics["tolerance_broken"] is True  # a tolerance of 10 would pass 1.0
    assert "no tolerance passes it" in report.notes[-1]


def test_degenerate_outputs() -> None:
    assert degenerate(torch.tensor([[1.0, float("nan")], [0.0, 1.0]])) == (
        "the output holds NaN or inf"
    )
    assert degenerate(torch.ones(4, 3)) == "the output is the same for every input"
    assert degenerate(torch.zeros(4, 3)) == "the output is the same for every input"
    assert degenerate(torch.eye(3)) is None
    assert degenerate(torch.ones(1, 3)) is None  # one input: nothing to compare


def test_parity_runs_on_real_data_when_any_is_given(digits) -> None:
    random = torch.randn(2, 1, 8, 8)
    calib, val, train = digits.calib, digits.test, digits.train
    assert parity_inputs(PassContext(example_inputs=random, calib_data=calib))[0] is calib[0]
    assert parity_inputs(PassContext(example_inputs=random, val_data=val))[0] is val[0][0]
    assert parity_inputs(PassContext(example_inputs=random, train_data=train))[0] is train[0][0]
    assert parity_inputs(PassContext(example_inputs=random))[0] is random  # no data at all
    both = PassContext(example_inputs=random, calib_data=calib, val_data=val)
    assert parity_inputs(both)[0] is val[0][0]  # held out from calibration, when there is some


def unreliable(before: Any, after: Any, inputs: Any) -> dict[str, Any]:
    """A comparison as accel-core reports it while other processes hold the CPUs."""
    return {
        "before_ms": 40.0,
        "after_ms": 0.5,
        "speedup": 80.0,
        "speedup_low": 20.0,
        "speedup_high": 300.0,
        "rounds": 5,
        "reliable": False,
        "why": "machine busy: other processes used 70% of the CPUs",
    }


# the slow-down pass seen through a busy machine: slower at the median, not beyond doubt
SLOWER = {"speedup": 0.8, "speedup_low": 0.3, "speedup_high": 2.0}


def test_a_comparison_spoilt_by_load_is_retried_then_said_unreliable(monkeypatch) -> None:
    import accel.compress.pipeline as pipeline

    calls: list[int] = []
    monkeypatch.setattr(pipeline, "RETRY_PAUSE_S", 0.0)
    monkeypatch.setattr(pipeline, "compare_latency", lambda *a: calls.append(1) or unreliable(*a))
    compared = pipeline.decided_comparison(None, None, None)
    assert len(calls) == 2
    assert compared["retried"] is True
    line = speed_text("32", compared)
    assert line.startswith("batch 32: 40.00 -> 0.50 ms (80.0x, 20.0-300.0x)")
    assert "[timings unreliable: machine busy: other processes used 70% of the CPUs]" in line


def slow_down(model: nn.Module, context: PassContext) -> nn.Module:
    """A pass that makes the model slower and changes nothing else."""
    context.record("test_gate_slow_down")
    return Sleepy(model, 0.01)


def test_the_speed_gate_keeps_a_step_undecided_on_unreliable_timings(
    trained_mlp, digits, tmp_path, monkeypatch
) -> None:
    """A step measured slower is dropped only on a confirmation that can be trusted; one the
    machine's load spoilt keeps it, undecided, and says so."""
    import accel.compress.pipeline as pipeline
    from accel.core.registry import registry

    monkeypatch.setattr(pipeline, "RETRY_PAUSE_S", 0.0)
    monkeypatch.setattr(pipeline, "compare_latency", lambda *a: {**unreliable(*a), **SLOWER})
    recipe = {"passes": ["test_gate_slow_down"], "analysis": FAST}
    context = PassContext(example_inputs=digits.example, calib_data=digits.calib)
    with registry("passes").registered("test_gate_slow_down", lambda: slow_down):
        result = compress(trained_mlp, recipe, context, tmp_path / "out", quiet=True)
    step = result.report["steps"][-1]
    assert step["status"] == "applied"  # a trusted confirmation would have dropped it
    assert any("timings unreliable (machine busy" in note for note in step["notes"])
    assert "[timings unreliable: machine busy" in summary(result.report)


def test_a_slowdown_too_large_for_any_load_to_explain_is_dropped_all_the_same(
    trained_mlp, digits, tmp_path, monkeypatch
) -> None:
    import accel.compress.pipeline as pipeline
    from accel.core.registry import registry

    monkeypatch.setattr(pipeline, "RETRY_PAUSE_S", 0.0)
    clearly = {**SLOWER, "speedup": 0.1, "speedup_high": 0.2}  # 5x slower in 3 rounds of 4
    monkeypatch.setattr(pipeline, "compare_latency", lambda *a: {**unreliable(*a), **clearly})
    recipe = {"passes": ["test_gate_slow_down"], "analysis": FAST}
    context = PassContext(example_inputs=digits.example, calib_data=digits.calib)
    with registry("passes").registered("test_gate_slow_down", lambda: slow_down):
        result = compress(trained_mlp, recipe, context, tmp_path / "out", quiet=True)
    assert result.report["steps"][-1]["status"] == "dropped"


def test_a_compiled_baseline_is_timed_beside_the_eager_one_when_asked(
    trained_mlp, digits, tmp_path
):
    from accel.compress.command import summary

    recipe = {
        "passes": [{"name": "quantize", "backend": "ort", "mode": "dynamic"}],
        "analysis": {"batches": [32], "repeats": 2, "compiled_baseline": True},
    }
    context = PassContext(example_inputs=digits.example, calib_data=digits.calib)
    result = compress(trained_mlp, recipe, context, tmp_path / "out", quiet=True)
    compiled = result.report["side_by_side_compiled"]
    assert set(compiled) in ({"32"}, {"error"})  # compiled, or one line saying why not
    if "32" in compiled:
        assert compiled["32"]["before_ms"] > 0
        assert "vs torch.compile batch 32:" in summary(result.report)
    else:
        assert compiled["error"].startswith("torch.compile did not run")
