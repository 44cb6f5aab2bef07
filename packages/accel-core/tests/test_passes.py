"""The pass contract: reports, context, running passes by registry name (real plugin passes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accel.core.errors import ConfigError, ProtocolError, UnknownNameError
from accel.core.passes import PassContext, PassReport, build_pass, pass_name, run_passes

PASS_MODULE = """
class Scale:
    '''Multiply a number artifact by `factor`; records its own report.'''
    def __init__(self, factor=2):
        self.factor = factor
    def __call__(self, artifact, context):
        context.record("scale", factor=self.factor)
        return artifact * self.factor

class AddOne:
    '''Add one; records nothing (the runner adds an applied report).'''
    def __call__(self, artifact, context):
        return artifact + 1

class Broken:
    def __call__(self, artifact, context):
        raise RuntimeError("broken pass")

class NotAPass:
    pass
"""


@pytest.fixture
def passes(make_plugin: Any) -> None:
    make_plugin(
        "demo-passes",
        {
            "accel.passes": {
                "scale": "demo_passes:Scale",
                "add_one": "demo_passes:AddOne",
                "broken": "demo_passes:Broken",
                "not_a_pass": "demo_passes:NotAPass",
            }
        },
        {"demo_passes": PASS_MODULE},
    )


@pytest.mark.usefixtures("passes")
def test_run_passes_chains_artifacts_in_order_and_reports_each() -> None:
    context = PassContext()
    result = run_passes(["add_one", {"name": "scale", "factor": 3}], 1, context)
    assert result == 6  # (1 + 1) * 3, not 1 * 3 + 1
    assert [r.name for r in context.reports] == ["add_one", "scale"]
    assert context.reports[1].metrics == {"factor": 3}
    assert all(r.seconds >= 0 and r.status == "applied" for r in context.reports)


@pytest.mark.usefixtures("passes")
def test_a_failing_pass_raises_and_keeps_earlier_reports() -> None:
    context = PassContext()
    with pytest.raises(RuntimeError, match="broken pass"):
        run_passes(["add_one", "broken"], 1, context)
    assert [r.name for r in context.reports] == ["add_one"]


@pytest.mark.usefixtures("passes")
def test_unknown_pass_name_lists_registered_passes() -> None:
    with pytest.raises(UnknownNameError, match=r"accel.passes has no 'scal'.*Did you mean"):
        build_pass("scal")


@pytest.mark.usefixtures("passes")
def test_object_without_call_is_not_a_pass() -> None:
    with pytest.raises(ProtocolError, match=r"passes 'not_a_pass'.*missing __call__"):
        build_pass("not_a_pass")


def test_report_rejects_unknown_status() -> None:
    with pytest.raises(ConfigError, match=r"status 'done' is not one of applied, skipped"):
        PassReport("x", "done")


def test_report_to_dict_holds_every_field() -> None:
    report = PassReport("q", "dropped", 1.5, {"error": 0.01}, ["slower"])
    assert report.to_dict() == {
        "name": "q",
        "status": "dropped",
        "seconds": 1.5,
        "metrics": {"error": 0.01},
        "notes": ["slower"],
    }


def test_workdir_needs_an_output_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"set PassContext\.output_dir"):
        PassContext().workdir()
    created = PassContext(output_dir=tmp_path / "out").workdir()
    assert created.is_dir()


def test_pass_name_of_each_spec_form() -> None:
    assert pass_name("fold_bn") == "fold_bn"
    assert pass_name({"name": "prune", "ratio": 0.5}) == "prune"
    assert pass_name({"_target_": "pkg.Pass"}) == "pkg.Pass"
