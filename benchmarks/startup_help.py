"""How long `accel --help` takes, next to a bare Python start (budget: 0.3 s, no torch).

Interleaves the two commands so machine noise hits both alike; prints JSON.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15
ACCEL = str(Path(sys.executable).with_name("accel"))
COMMANDS = {"accel --help": [ACCEL, "--help"], "python -c pass": [sys.executable, "-c", "pass"]}
PROBE = (
    "import sys; sys.argv = ['accel', '--help']\n"
    "from accel.cli.main import run\n"
    "try:\n    run()\nexcept SystemExit:\n    pass\n"
    "print('TORCH_IMPORTED' if 'torch' in sys.modules else 'NO_TORCH')"
)


def time_once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(RUNS):
        for name, command in COMMANDS.items():
            samples[name].append(time_once(command))
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True).stdout
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        json.dumps(
            {
                "benchmark": "startup_help",
                "runs": RUNS,
                "median_s": {k: round(v, 4) for k, v in medians.items()},
                "help_over_bare_python": round(
                    medians["accel --help"] / medians["python -c pass"], 2
                ),
                "budget_s": 0.3,
                "within_budget": medians["accel --help"] <= 0.3,
                "torch_imported": probe.strip().endswith("TORCH_IMPORTED"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
