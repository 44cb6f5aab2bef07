"""Recipes from flags and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.compress.recipe import build_recipe, load_recipe
from accel.core.errors import ConfigError


def test_flags_give_passes_in_a_sensible_order() -> None:
    recipe = build_recipe(
        quantize="int8",
        prune=0.5,
        fold_bn=True,
        merge_branches=True,
        has_train_data=True,
        max_drop=1.0,
    )
    names = [p if isinstance(p, str) else p["name"] for p in recipe["passes"]]
    assert names == ["merge_branches", "fold_bn", "prune", "finetune", "export", "quantize"]
    assert recipe["verify"] == {"max_drop": 1.0, "force": False}


def test_pt2_export_quantizes_with_pt2e() -> None:
    recipe = build_recipe(quantize="int8-static", export="pt2")
    assert recipe["passes"] == [{"name": "quantize", "backend": "pt2e", "mode": "static"}]


def test_int4_is_torchao_weight_only() -> None:
    assert build_recipe(quantize="int4")["passes"] == [
        {"name": "quantize", "backend": "torchao", "bits": 4}
    ]


def test_prune_auto_searches_and_needs_a_budget() -> None:
    assert build_recipe(prune="auto", max_drop=1.0)["passes"][0]["name"] == "prune_search"
    with pytest.raises(ConfigError, match="--prune auto searches the ratio within --max-drop"):
        build_recipe(prune="auto")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({}, "nothing to do"),
        ({"quantize": "fp16"}, "--quantize 'fp16' is not supported"),
        ({"quantize": "int8", "backend": "pt2e", "export": "onnx"}, "use backend 'ort'"),
    ],
)
def test_bad_flags(flags: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_recipe(**flags)


def test_recipe_file_yaml(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("passes: [fold_bn, {name: prune, ratio: 0.3}]\nverify: {max_drop: 1}\n")
    assert load_recipe(path)["passes"][1] == {"name": "prune", "ratio": 0.3}


def test_recipe_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_recipe(tmp_path / "none.yaml")
    (tmp_path / "a.yaml").write_text("- fold_bn\n")
    with pytest.raises(ConfigError, match="expected a mapping with a 'passes' list"):
        load_recipe(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("passes: []\nsteps: 3\n")
    with pytest.raises(ConfigError, match=r"unknown keys \['steps'\]"):
        load_recipe(tmp_path / "b.yaml")
