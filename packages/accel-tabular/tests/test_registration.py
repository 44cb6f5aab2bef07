"""Every entry point of accel-tabular loads, from this distribution, and builds."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from accel.core.registry import build, registry

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
GROUPS = PYPROJECT["project"]["entry-points"]


@pytest.mark.parametrize("kind", ["datasets", "models", "transforms"])
def test_each_name_comes_from_accel_tabular_and_loads(kind: str) -> None:
    names = GROUPS[f"accel.{kind}"]
    for name in names:
        entry = registry(kind).entry(name)
        assert entry.distribution == "accel-tabular"
        assert callable(registry(kind).get(name))


def test_data_and_model_build_through_the_registry() -> None:
    data = build("datasets", {"name": "iris", "batch_size": 8})
    model = build("models", {"name": "mlp", "num_classes": 3, **data.model_arguments()})
    inputs, _ = next(iter(data.train_dataloader()))
    assert model(inputs).shape == (8, 3)


def test_packaged_configs_sit_where_the_entry_point_says() -> None:
    import importlib.util

    spec = importlib.util.find_spec(GROUPS["accel.configs"]["accel-tabular"])
    assert spec is not None
    assert spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    names = {p.stem for p in (folder / "data").glob("*.yaml")}
    assert names == set(GROUPS["accel.datasets"])
    assert {p.stem for p in (folder / "model").glob("*.yaml")} == set(GROUPS["accel.models"])
