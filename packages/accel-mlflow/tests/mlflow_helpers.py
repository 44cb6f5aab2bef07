"""Small builders shared by the server tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LONG = "z" * 10_000

CONFIG: dict[str, Any] = {
    "model": {"name": "mlp", "layers": [8, 16, {"act": "relu", "dropout": 0.1}]},
    "optimizer": {"name": "adamw", "lr": 0.001, "betas": [0.9, 0.999]},
    "data": {"root": "/data/digits", "transforms": []},
    "trainer": {"max_epochs": 3, "precision": None, "deterministic": True},
    "notes": LONG,
    "weird key!@#": 1,
    "a//b": 2,
    "../up": 3,
    "k" * 300: 4,
    "sweep": {f"p{i}": i for i in range(150)},  # > 100 params: several batches
}


def write_onnx(path: Path) -> Path:
    """A tiny valid ONNX model (y = x + 1) built without torch's exporter."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    one = numpy_helper.from_array(np.ones((1, 4), dtype=np.float32), name="one")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"])],
        "add_one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
        [one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def steps_of(client: Any, run_id: str, key: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))
