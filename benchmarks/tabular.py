"""accel-tabular's MLP beside scikit-learn on the same splits: wine, breast_cancer (accuracy)
and diabetes (R²), each the split `accel train data=NAME model=mlp` uses (seed 0 unless
--seeds says more).

The MLP runs as `accel train data=NAME model=mlp` configures it (8 epochs, cosine; wine and
breast_cancer: SGD lr 0.1, momentum 0.9, the MLP's batch norm and dropout 0.1; diabetes, as its
packaged config chooses: MSE, AdamW lr 1e-3, weight decay 0.01, no batch norm, no dropout;
`REGRESSION_*` below mirror that file), in process with accel-core's Trainer; the baselines are
scikit-learn's HistGradientBoosting* and LogisticRegression / Ridge (scaled inputs), fitted on
the training rows (train + val for them: they need no validation split). Prints JSON: per
dataset and seed, the score and fit seconds of each, and the MLP's score minus the best
baseline's. Seconds are wall time on a shared machine: noisy, read them as rough sizes.

    uv run python benchmarks/tabular.py [--seeds 1] [--epochs 8]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from typing import Any

DATASETS = {"wine": "accuracy", "breast_cancer": "accuracy", "diabetes": "r2"}
# What accel-tabular's conf/data/diabetes.yaml chooses for a regression MLP.
REGRESSION_MODEL: dict[str, Any] = {"norm": "none", "dropout": 0.0}
REGRESSION_LR, REGRESSION_WEIGHT_DECAY = 1e-3, 0.01


def mlp_score(data: Any, metric: str, epochs: int, seed: int) -> float:
    import torch

    from accel.core.runtime import Trainer, seed_everything
    from accel.tabular.models import mlp

    seed_everything(seed)
    regression = metric == "r2"
    options = REGRESSION_MODEL if regression else {}
    model = mlp(num_classes=data.num_classes, **options, **data.model_arguments())
    if regression:
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(
            model.parameters(), lr=REGRESSION_LR, weight_decay=REGRESSION_WEIGHT_DECAY
        )
    else:
        optimizer = torch.optim.SGD(
            model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True
        )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    trainer = Trainer(max_epochs=epochs, run_dir=None, seed=seed, default_callbacks=False)
    loss = "mse" if regression else "cross_entropy"
    trainer.fit(model, data.train_dataloader(), data.val_dataloader(), optimizer=optimizer,
                scheduler=scheduler, loss=loss)  # fmt: skip
    return float(trainer.test(model, data.test_dataloader(), metrics=[metric])[f"test/{metric}"])


def baselines(data: Any, metric: str, seed: int) -> dict[str, tuple[float, float]]:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parts = [data.tensors(s) for s in ("train", "val")]
    x = np.concatenate([p[0].numpy() for p in parts if p])
    y = np.concatenate([p[1].numpy() for p in parts if p])
    test_x, test_y = (t.numpy() for t in data.tensors("test"))
    if metric == "r2":
        models = {"hist_gradient_boosting": HistGradientBoostingRegressor(random_state=seed),
                  "ridge": make_pipeline(StandardScaler(), Ridge())}  # fmt: skip
        score = r2_score
    else:
        linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        models = {
            "hist_gradient_boosting": HistGradientBoostingClassifier(random_state=seed),
            "logistic_regression": linear,
        }
        score = accuracy_score
    out = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(x, y)
        out[name] = (float(score(test_y, model.predict(test_x))), time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    import torch

    from accel.core.registry import build
    from accel.core.runtime import NonFiniteLossError

    torch.set_num_threads(1)  # as `accel train` (threads: 1)
    warnings.filterwarnings("ignore")
    rows = []
    for name, metric in DATASETS.items():
        for seed in range(args.seeds):
            data = build("datasets", {"name": name, "seed": seed})
            start = time.perf_counter()
            try:
                mlp: float | None = mlp_score(data, metric, args.epochs, seed)
            except NonFiniteLossError:  # a diverged run is a result too: say so
                mlp = None
            seconds = time.perf_counter() - start
            others = baselines(data, metric, seed)
            best = max(v[0] for v in others.values())
            rows.append({
                "dataset": name, "seed": seed, "metric": metric,
                "mlp": {"score": None if mlp is None else round(mlp, 4),
                        "seconds": round(seconds, 2)},
                **{k: {"score": round(s, 4), "seconds": round(t, 2)}
                   for k, (s, t) in others.items()},
                "mlp_minus_best_baseline": None if mlp is None else round(mlp - best, 4),
            })  # fmt: skip
    print(json.dumps({"load_average": os.getloadavg(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
