"""Recipes from flags and files."""

from __future__ import annotations

from pathlib import Path

import crafted
import pytest

from accel.compress.recipe import build_recipe, load_recipe
from accel.core.errors import ConfigError
from accel.core.trust import UntrustedFileError, trusting_files


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


def test_a_pt2_target_with_no_backend_named_compares_the_torch_int8_candidates() -> None:
    recipe = build_recipe(quantize="int8", export="pt2")
    assert recipe["passes"] == [
        {"name": "quantize", "backend": "pt2e", "mode": "auto", "choose": True}
    ]
    named = build_recipe(quantize="int8", export="pt2", backend="pt2e")
    assert "choose" not in named["passes"][0]


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


def test_raw_yaml_would_run_a_python_tag(tmp_path: Path) -> None:
    import yaml

    marker = tmp_path / "pwned"
    path = crafted.recipe_with_python_tag(tmp_path / "r.yaml", marker)
    yaml.unsafe_load(path.read_text())
    assert marker.exists()


def test_a_python_tag_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = crafted.recipe_with_python_tag(tmp_path / "r.yaml", marker)
    with pytest.raises(ConfigError, match=r"recipe .*r.yaml: line 1: could not determine a const"):
        load_recipe(path)
    assert not marker.exists()


def test_a_pass_naming_code_is_refused_unless_trusted(tmp_path: Path) -> None:
    path = crafted.recipe_with_target_pass(tmp_path / "r.yaml", tmp_path / "pwned")
    with pytest.raises(UntrustedFileError, match=r"passes\[0\]\._target_ = 'os\.system'"):
        load_recipe(path)
    with trusting_files():
        assert load_recipe(path)["passes"][0]["_target_"] == "os.system"
    assert not (tmp_path / "pwned").exists()  # loading a recipe builds nothing


DEEP = r"r.(yaml|json)(: .*nested more than 64 levels| is not readable YAML/JSON)"  # parser-bound


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.yaml", "passes: [fold_bn\nverify: {\n", r"r.yaml: line 2: expected ',' or ']'"),
        ("r.yaml", "passes:\n\t- fold_bn\n", "line 2: found character '\\\\t'"),
        ("r.json", '{"passes": [}', "r.json: line 1: Expecting value"),
        ("r.yaml", "", "expected a mapping with a 'passes' list"),
        ("r.yaml", "passes: fold_bn\n", "expected a mapping with a 'passes' list"),
        ("r.yaml", "passes: []\nverify: " + "[" * 800 + "]" * 800, DEEP),
        ("r.json", '{"passes": [], "verify": ' + "[" * 100000 + "]" * 100000 + "}", DEEP),
        (
            "r.yaml",
            "passes: []\nverify: " + "[" * 70 + "]" * 70,
            "verify.*nested more than 64 levels",
        ),
        ("r.yaml", "passes: []\n3: x\n", r"unknown keys \['3'\]"),
    ],
)
def test_a_broken_recipe_is_one_line(name: str, text: str, message: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_recipe(tmp_path / name)
    assert "\n" not in str(caught.value)


def test_a_billion_laughs_recipe_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "r.yaml"
    path.write_text("passes:\n  - fold_bn\nanalysis:\n  " + "\n  ".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"more than 1,000,000 values"):
        load_recipe(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("verify: {max_drop: .nan}", r"verify.max_drop nan: expected .* in \[0, 100\]"),
        ("verify: {max_drop: -1}", r"verify.max_drop -1: expected"),
        ("verify: {force: 'yes'}", "force = 'yes': expected true or false"),
        ("verify: [1]", "verify must be a mapping, got list"),
        ("analysis: {repeats: 0}", r"analysis.repeats 0: expected a whole number in \[1, 1000\]"),
        ("analysis: {repeats: 2.5}", "analysis.repeats 2.5: expected a whole number"),
        ("analysis: {batches: [0, 32]}", r"analysis.batches 0: expected a whole number in \[1"),
        ("analysis: {batches: []}", "analysis.batches = \\[\\]: expected a list of 1 to 8"),
        ("analysis: {batches: 32}", "analysis.batches = 32: expected a list"),
        ("target: mips", "target 'mips' is not supported: use one of x86, arm64"),
        ("input_shape: [1, 0, 8]", "input_shape .*: expected positive sizes"),
        ("model: [a.pt]", r"model = \['a.pt'\]: expected a name or a path"),
    ],
)
def test_recipe_values_are_checked_naming_file_and_key(text: str, message: str, tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"passes: [fold_bn]\n{text}\n")
    with pytest.raises(ConfigError, match=rf"recipe .*r.yaml: {message}"):
        load_recipe(path)


@pytest.mark.parametrize(
    ("passes", "message"),
    [
        ("[fold]", r"passes\[0\] = 'fold' is not a pass: use one of .*fold_bn"),
        ("[{ratio: 0.5}]", r"passes\[0\] = None is not a pass"),
        ("[fold_bn, 3]", r"passes\[1\] = 3 is not a pass"),
        ("[{name: prune, ratio: 0}]", r"passes\[0\].ratio = 0: expected a ratio in \(0, 1\)"),
        ("[{name: prune, ratio: 1.5}]", r"passes\[0\].ratio = 1.5"),
        ("[{name: prune, ratio: abc}]", r"passes\[0\].ratio = 'abc'"),
        ("[{name: prune_search, max_drop: -2}]", r"passes\[0\].max_drop -2: expected"),
    ],
)
def test_each_pass_is_a_registered_name(passes: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"passes: {passes}\n")
    with pytest.raises(ConfigError, match=rf"recipe .*r.yaml: {message}"):
        load_recipe(path)


def test_int8_repair_options_reach_the_quantize_pass() -> None:
    default = build_recipe(quantize="int8")["passes"][-1]
    assert "fallback" not in default
    assert "calibration" not in default  # auto: min/max, then percentile/entropy if needed
    named = build_recipe(quantize="int8", backend="ort")["passes"][-1]
    assert "choose" not in named  # a backend named: no candidates compared
    chosen = build_recipe(quantize="int8", fallback=False, calibration="entropy", max_drop=0.5)
    assert chosen["passes"][-1] == {
        "name": "quantize",
        "backend": "ort",
        "mode": "auto",
        "fallback": False,
        "calibration": "entropy",
        "choose": True,
        "max_drop": 0.5,
    }
