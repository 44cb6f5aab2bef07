"""Time to the accuracy bar on 8×8 digits: ResNet-20 with accel-core's Trainer in process, and
the default `accel train` run (the time bars accel-cv's test_train_digits.py and the
integration test test_cli_train.py no longer assert; they check the accuracy only).

The bar is >= 97 % test accuracy in < 60 s on one machine. Each repeat runs both cases (the
order flipped each repeat); prints JSON with, per case, the seconds of every repeat, their
median and spread (min, max), the median as a ratio of the 60 s bar, and the test accuracy.

    uv run python benchmarks/train_digits.py [--repeats 3] [--epochs N]

`--epochs N` shortens both runs (a check that the script works; the bar is for the defaults).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BAR_SECONDS = 60.0


def trainer_run(folder: Path, epochs: int | None) -> float:
    """The test's run: ResNet-20, 8 epochs of SGD on digits, then the test split."""
    import torch

    from accel.core.runtime import Trainer
    from accel.cv.data.digits import digits
    from accel.cv.models.resnet_cifar import resnet20

    data = digits(batch_size=64, seed=0)
    torch.manual_seed(0)
    model = resnet20(num_classes=data.num_classes, in_channels=data.input_shape[0])
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True
    )
    trainer = Trainer(max_epochs=epochs or 8, run_dir=folder, seed=0, callbacks=[])
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=optimizer,
        loss=torch.nn.CrossEntropyLoss(),
    )
    return trainer.test(model, data.test_dataloader(), metrics=["accuracy"])["test/accuracy"]


def cli_run(folder: Path, epochs: int | None) -> float:
    """`accel train` with the packaged defaults, as a user runs it (a fresh process)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR")}
    overrides = [] if epochs is None else [f"trainer.max_epochs={epochs}"]
    done = subprocess.run(
        [sys.executable, "-m", "accel.cli", "train", *overrides],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    final = [line for line in done.stdout.splitlines() if "test/accuracy" in line][-1]
    return float(final.split("│")[2])


CASES = {"trainer_resnet20_8_epochs": trainer_run, "accel_train_default": cli_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each case")
    parser.add_argument("--epochs", type=int, default=None, help="shorter runs (a smoke check)")
    args = parser.parse_args()
    for module in ("accel.core.runtime", "accel.cv.data.digits"):  # as the test module does
        importlib.import_module(module)  # imported before timing

    root = Path(tempfile.mkdtemp(prefix="accel-digits-bench-"))
    seconds: dict[str, list[float]] = {name: [] for name in CASES}
    accuracy: dict[str, list[float]] = {name: [] for name in CASES}
    for repeat in range(args.repeats):
        order = list(CASES) if repeat % 2 == 0 else list(reversed(CASES))
        for name in order:
            folder = root / f"{name}-{repeat}"
            folder.mkdir()
            start = time.perf_counter()
            accuracy[name].append(CASES[name](folder, args.epochs))
            seconds[name].append(time.perf_counter() - start)
    report = {
        "benchmark": "train_digits",
        "bar": {"test_accuracy": 0.97, "seconds": BAR_SECONDS},
        "repeats": args.repeats,
        "epochs": args.epochs or "defaults",
        "cpus": os.cpu_count(),
        "cases": {
            name: {
                "seconds": [round(s, 1) for s in seconds[name]],
                "median_s": round(statistics.median(seconds[name]), 1),
                "spread_s": [round(min(seconds[name]), 1), round(max(seconds[name]), 1)],
                "ratio_to_bar": round(statistics.median(seconds[name]) / BAR_SECONDS, 3),
                "test_accuracy": [round(a, 4) for a in accuracy[name]],
            }
            for name in CASES
        },
        "note": "accel_train_default includes the process start and its imports",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
