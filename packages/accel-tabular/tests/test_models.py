"""Models carry their preprocessing: a checkpoint rebuilds the exact transform, no pickle."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from accel.core.checkpoint import rebuild_model
from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.core.runtime import Trainer, seed_everything
from accel.tabular.datasets import csv, diabetes
from accel.tabular.models import TabularModel, mlp
from accel.tabular.rows import encode_records, schema_of


def spec_for(data: Any, name: str = "mlp", **options: Any) -> dict[str, Any]:
    """The model spec a run stores: plain JSON, preprocessing included."""
    spec = {"name": name, "num_classes": data.num_classes, **data.model_arguments(), **options}
    return json.loads(json.dumps(spec))


def train(data: Any, spec: dict[str, Any], run_dir: Path, loss: str, epochs: int = 3) -> Any:
    seed_everything(0)
    model = build("models", spec)
    trainer = Trainer(max_epochs=epochs, run_dir=run_dir, seed=0, config={"model": spec})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    trainer.fit(model, data.train_dataloader(), data.val_dataloader(), optimizer=optimizer,
                loss=loss)  # fmt: skip
    return model.eval()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:left out 1")
def test_a_checkpoint_reproduces_the_preprocessing_exactly_on_new_rows(
    table_csv: Path, tmp_path: Path
) -> None:
    data = csv(table_csv, target="label", invalid_rows="drop", batch_size=32)
    spec = spec_for(data, embedding_dim=3)
    model = train(data, spec, tmp_path / "run", "cross_entropy")
    new = encode_records(
        [{"size": "12.5", "colour": "red", "fresh": "true"},
         {"size": "", "colour": "", "fresh": "no"}],
        schema_of(model),
    )  # fmt: skip
    rebuilt = rebuild_model(tmp_path / "run").eval()  # safetensors + JSON: no pickle
    assert isinstance(rebuilt, TabularModel)
    assert torch.equal(rebuilt.features(new), model.features(new))
    assert torch.equal(rebuilt(new), model(new))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    again = mlp(**{k: v for k, v in spec.items() if k != "name"})
    again.load_state_dict(state)
    assert torch.equal(again.eval()(new), model(new))


@pytest.mark.slow
def test_regression_predicts_in_target_units_and_exports(tmp_path: Path) -> None:
    data = diabetes(batch_size=32)
    model = train(data, spec_for(data, name="residual_mlp"), tmp_path / "run", "mse", epochs=2)
    inputs, targets = data.tensors("test") or (None, None)
    assert inputs is not None
    assert targets is not None
    with torch.no_grad():
        predictions = model(inputs)
    assert predictions.shape == targets.shape
    assert abs(float(predictions.mean()) - float(targets.mean())) < 0.5 * float(targets.std())
    program = torch.export.export(model, (inputs[:4],))  # the preprocessing is in the graph
    assert torch.allclose(program.module()(inputs[:4]), predictions[:4], atol=1e-4)


def test_a_model_without_preprocessing_says_where_it_comes_from() -> None:
    with pytest.raises(ConfigError, match="needs the preprocessing a tabular data module fits"):
        mlp(num_classes=3)


@pytest.mark.filterwarnings("ignore:left out 1")
def test_model_options_are_checked(table_csv: Path) -> None:
    data = csv(table_csv, target="label", invalid_rows="drop")
    arguments = {"num_classes": 2, **data.model_arguments()}
    with pytest.raises(ConfigError, match="norm"):
        mlp(norm="group", **arguments)
    with pytest.raises(ConfigError, match="in_channels: 5 does not match the 3 columns"):
        mlp(in_channels=5, **arguments)
    with pytest.raises(ConfigError, match="hidden"):
        mlp(hidden=[0], **arguments)
