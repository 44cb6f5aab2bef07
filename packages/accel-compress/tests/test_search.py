"""Accuracy-budgeted pruning: bisection with fine-tuning; the best is kept and reported even
when no candidate meets the budget."""

from __future__ import annotations

import json

import pytest

from accel.compress.pipeline import compress
from accel.compress.search import search_ratio
from accel.compress.verify import accuracy
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


def context_for(digits, train: bool = True) -> PassContext:
    return PassContext(
        example_inputs=digits.example,
        calib_data=digits.calib,
        train_data=digits.train if train else None,
        val_data=digits.test,
        evaluate=lambda a: accuracy(a, digits.test),
    )


def test_bisection_moves_up_within_budget_and_down_beyond(resnet, digits) -> None:
    result = search_ratio(resnet, context_for(digits), max_drop=2.0, steps=3, epochs=1)
    ratios = [c["ratio"] for c in result.candidates]
    assert ratios[0] == 0.45
    for previous, current in zip(result.candidates, ratios[1:], strict=False):
        assert (current > previous["ratio"]) == previous["meets_budget"]
    assert all(c["finetuned"] for c in result.candidates)
    if result.met_budget:
        kept = max(c["ratio"] for c in result.candidates if c["meets_budget"])
        assert result.ratio == kept
    assert accuracy(result.model, digits.test) == pytest.approx(result.accuracy)


def test_impossible_budget_keeps_the_most_accurate_and_reports_it(resnet, digits, tmp_path) -> None:
    recipe = {
        "passes": [{"name": "prune_search", "max_drop": -50.0, "steps": 2, "epochs": 0}],
        "analysis": {"batches": [1], "repeats": 3},
        "verify": {"force": True},
    }
    result = compress(resnet, recipe, context_for(digits, train=False), tmp_path / "o", quiet=True)
    search = result.report["search"]
    assert search["met_budget"] is False
    assert len(search["candidates"]) == 2
    best = max(search["candidates"], key=lambda c: c["accuracy"])
    assert search["ratio"] == best["ratio"]
    written = json.loads((tmp_path / "o" / "report.json").read_text())
    assert written["search"]["candidates"] == search["candidates"]
    assert "NOT met" in (tmp_path / "o" / "report.md").read_text()


def test_search_needs_evaluation_data(resnet, digits) -> None:
    context = PassContext(example_inputs=digits.example)
    with pytest.raises(ConfigError, match="needs evaluation data: pass --eval-data"):
        search_ratio(resnet, context, max_drop=1.0)
