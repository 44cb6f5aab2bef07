"""The compress pipeline: gates (tolerance, accuracy, slower steps), atomic outputs, reports."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import torch
from compress_models import MLP, RepNet, Sleepy, Tiny, randomize_bn
from torch import nn

from accel.compress.command import summary
from accel.compress.pipeline import compress
from accel.compress.verify import VerificationError, accuracy
from accel.core.errors import ConfigError
from accel.core.passes import PassContext
from accel.core.registry import registry


class SlowDown:
    """A pass that makes the model slower (and changes nothing else)."""

    def __call__(self, model, context):  # type: ignore[no-untyped-def]
        context.record("test_slow_down")
        return Sleepy(model)


@pytest.fixture
def slow_pass() -> str:
    registry("passes").add("test_slow_down", SlowDown, override=True)
    yield "test_slow_down"
    registry("passes").remove("test_slow_down")


def context_for(digits, evaluate: bool = True) -> PassContext:
    return PassContext(
        example_inputs=digits.example,
        calib_data=digits.calib,
        val_data=digits.test,
        evaluate=(lambda a: accuracy(a, digits.test)) if evaluate else None,
    )


FAST = {"batches": [1, 32], "repeats": 3}


def test_a_slower_step_is_dropped_and_reported(trained_mlp, digits, slow_pass, tmp_path) -> None:
    recipe = {"passes": [slow_pass], "analysis": FAST}
    result = compress(trained_mlp, recipe, context_for(digits), tmp_path / "out", quiet=True)
    step = result.report["steps"][-1]
    assert step["status"] == "dropped"
    assert "slower than before" in step["notes"][-1]
    assert result.artifact is trained_mlp
    assert result.report["final"]["name"] == "original"
    line = summary(result.report)  # the command's last line says so too
    assert "test_slow_down DROPPED: slower than before" in line
    assert "(1.0x smaller)" in line


def test_force_keeps_a_slower_step(trained_mlp, digits, slow_pass, tmp_path) -> None:
    recipe = {"passes": [slow_pass], "analysis": FAST, "verify": {"force": True}}
    result = compress(trained_mlp, recipe, context_for(digits), tmp_path / "out", quiet=True)
    assert result.report["steps"][-1]["status"] == "applied"
    assert isinstance(result.artifact, Sleepy)


def test_broken_tolerance_writes_nothing_and_keeps_the_previous_result(
    resnet, digits, tmp_path
) -> None:
    out = tmp_path / "out"
    good = compress(
        resnet, {"passes": ["fold_bn"], "analysis": FAST}, context_for(digits), out, quiet=True
    )
    before = sorted(p.name for p in out.iterdir())
    assert "model.pt2" in before
    assert good.report["steps"][-1]["output_error"] < 1e-4
    strict = {"passes": [{"name": "quantize", "tolerance": 1e-9}], "analysis": FAST}
    with pytest.raises(VerificationError, match=r"result not written.*exceeds its tolerance"):
        compress(resnet, strict, context_for(digits), out, quiet=True)
    assert sorted(p.name for p in out.iterdir()) == before
    rejected = json.loads((tmp_path / "out.rejected" / "report.json").read_text())
    assert rejected["problems"]


def test_accuracy_drop_beyond_max_drop_is_refused_unless_forced(resnet, digits, tmp_path) -> None:
    recipe = {
        "passes": [{"name": "prune", "ratio": 0.7}],
        "analysis": FAST,
        "verify": {"max_drop": 0.5},
    }
    with pytest.raises(VerificationError, match=r"accuracy fell .* more than --max-drop 0.5"):
        compress(resnet, recipe, context_for(digits), tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()
    recipe["verify"]["force"] = True
    result = compress(resnet, recipe, context_for(digits), tmp_path / "out", quiet=True)
    assert result.problems
    assert (tmp_path / "out" / "pruned" / "channels.json").is_file()


def test_merge_then_fold_then_export_writes_every_report_file(digits, tmp_path) -> None:
    model = randomize_bn(RepNet())
    recipe = {
        "passes": ["merge_branches", "fold_bn", {"name": "export", "format": "onnx"}],
        "analysis": FAST,
    }
    result = compress(
        model, recipe, context_for(digits, evaluate=False), tmp_path / "o", quiet=True
    )
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"model.onnx", "report.json", "report.md", "report.png", "recipe.json"} <= names
    assert "work" not in names  # intermediate files are removed
    statuses = [s["status"] for s in result.report["steps"]]
    assert statuses == ["applied", "applied", "skipped", "applied"]  # nothing left to fold
    assert (tmp_path / "o" / "report.png").read_bytes()[:4] == b"\x89PNG"
    markdown = (tmp_path / "o" / "report.md").read_text()
    assert "| merge_branches | applied |" in markdown
    assert "ms @32" in markdown
    side = result.report["side_by_side"]  # original vs result, timed in alternation
    assert set(side) == {str(b) for b in FAST["batches"]}
    assert all(entry["speedup"] > 0 and entry["rounds"] >= 3 for entry in side.values())
    assert "## Original vs result, side by side" in markdown
    saved = json.loads((tmp_path / "o" / "recipe.json").read_text())
    assert saved["passes"][0] == "merge_branches"


def test_unsupported_model_for_a_pass_is_skipped_not_a_crash(digits, tmp_path) -> None:
    result = compress(
        MLP().eval(),
        {"passes": ["fold_bn", "merge_branches"], "analysis": FAST},
        context_for(digits, evaluate=False),
        tmp_path / "o",
        quiet=True,
    )
    assert [s["status"] for s in result.report["steps"][1:]] == ["skipped", "skipped"]
    assert "no convolution followed by BatchNorm" in result.report["steps"][1]["notes"][0]


def test_pt2e_compiled_result_runs_at_two_batch_sizes_and_is_saved(resnet, digits, tmp_path):
    recipe = {"passes": [{"name": "quantize", "backend": "pt2e"}], "analysis": FAST}
    result = compress(resnet, recipe, context_for(digits), tmp_path / "o", quiet=True)
    assert result.report["outputs"] == {"pt2": "model.pt2"}
    assert result.report["final"]["accuracy"] >= result.report["steps"][0]["accuracy"] - 0.01
    sizes = [
        step["analysis"]["size_bytes"]
        for step in (result.report["steps"][0], result.report["final"])
    ]
    assert sizes[1] < 0.4 * sizes[0]  # int8 weights only: the float copies are not kept
    path = tmp_path / "o" / "model.pt2"
    torch.save(digits.x_test[:5], tmp_path / "x.pt")
    with torch.no_grad():
        expected = resnet.eval()(digits.x_test[:5]).argmax(1).tolist()
    # a fresh process, where nothing has registered the int8 ops yet
    code = (
        "import json, sys, torch; from accel.compress.loading import load_model; "
        "m = load_model(sys.argv[1]); x = torch.load(sys.argv[2], weights_only=True); "
        "print(json.dumps(m(x).argmax(1).tolist()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "x.pt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert sum(a == b for a, b in zip(got, expected, strict=True)) >= 4


def test_torchao_int8_result_is_saved_and_verified(trained_mlp, digits, tmp_path) -> None:
    # uncompiled: what is under test is measuring, verifying and saving torchao's int8 tensors
    quantize = {"name": "quantize", "backend": "torchao", "compile": False}
    recipe = {"passes": [quantize], "analysis": FAST}
    result = compress(trained_mlp, recipe, context_for(digits), tmp_path / "o", quiet=True)
    assert "pt2" in result.report["outputs"], result.report["outputs"]
    assert result.report["final"]["accuracy"] >= result.report["steps"][0]["accuracy"] - 0.01


class Branchy(nn.Module):
    """Runs the model behind a data-dependent branch, which torch.export cannot trace."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() >= 0:
            return self.inner(x)
        return -self.inner(x)


class MakeUnsaveable:
    """A pass whose (correct, not slower) result cannot be written in any portable format."""

    timed = False

    def __call__(self, model, context):  # type: ignore[no-untyped-def]
        context.record("test_unsaveable")
        return Branchy(model)


def test_a_result_that_cannot_be_saved_is_refused_and_the_previous_kept(
    resnet, digits, tmp_path
) -> None:
    registry("passes").add("test_unsaveable", MakeUnsaveable, override=True)
    try:
        out = tmp_path / "out"
        compress(resnet, {"passes": ["fold_bn"], "analysis": FAST}, context_for(digits), out)
        before = sorted(p.name for p in out.iterdir())
        recipe = {"passes": ["test_unsaveable"], "analysis": FAST}
        with pytest.raises(VerificationError, match=r"the result could not be saved \(pt2: "):
            compress(resnet, recipe, context_for(digits), out, quiet=True)
        assert sorted(p.name for p in out.iterdir()) == before
        assert (tmp_path / "out.rejected" / "report.json").is_file()
    finally:
        registry("passes").remove("test_unsaveable")


class BreakTolerance:
    """A pass whose result breaks its tolerance (and changes nothing)."""

    def __call__(self, model, context):  # type: ignore[no-untyped-def]
        report = context.record("test_break_tolerance", tolerance_broken=True)
        report.notes.append("test_break_tolerance: relative output error exceeds its tolerance")
        return model


def test_a_users_folder_named_like_the_rejected_report_is_kept(tmp_path) -> None:
    registry("passes").add("test_break_tolerance", BreakTolerance, override=True)
    try:
        (tmp_path / "out.rejected").mkdir()
        (tmp_path / "out.rejected" / "notes.txt").write_text("mine")
        context = PassContext(example_inputs=torch.rand(2, 1, 8, 8))
        recipe = {"passes": ["test_break_tolerance"], "analysis": {"batches": [1], "repeats": 1}}
        with pytest.raises(VerificationError, match=r"report not written either: .*notes.txt"):
            compress(Tiny(), recipe, context, tmp_path / "out", quiet=True)
        assert (tmp_path / "out.rejected" / "notes.txt").read_text() == "mine"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.rejected"]
    finally:
        registry("passes").remove("test_break_tolerance")


def test_bad_pass_arguments_fail_before_any_work(tmp_path) -> None:
    """The work is measuring the original, evaluating it and running passes: a bad argument
    of the last pass stops the run before any of it (and before the output folder)."""
    work: list[str] = []

    class Records:
        """A pass that notes it ran (and changes nothing)."""

        def __call__(self, model: Any, context: Any) -> Any:
            work.append("pass ran")
            return model

    def evaluate(artifact: Any) -> float:
        work.append("evaluated")
        return 0.0

    passes = ["test_records", "fold_bn", {"name": "prune", "ratio": 0.5, "colour": "red"}]
    context = PassContext(example_inputs=torch.rand(2, 1, 8, 8), evaluate=evaluate)
    with (
        registry("passes").registered("test_records", Records),
        pytest.raises(ConfigError, match="colour"),
    ):
        compress(Tiny(), {"passes": passes}, context, tmp_path / "o")
    assert work == []
    assert not (tmp_path / "o").exists()
