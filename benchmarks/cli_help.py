"""Wall time of `accel --help` and of every sub-command's `--help`, next to a bare Python start.

Budget: 0.3 s each, with torch, Hydra and OmegaConf not imported. Commands are interleaved so
machine noise hits all alike; prints JSON (medians and ratios to `python -c pass`).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 11
ACCEL = str(Path(sys.executable).with_name("accel"))
HELP_COMMANDS = [
    [],
    ["train"],
    ["test"],
    ["analyze-model"],
    ["analyze-data"],
    ["add"],
    ["configure"],
    ["pipeline", "run"],
]
BUDGET_S = 0.3
PROBE = (
    "import sys\nfrom accel.cli.main import run\n"
    "for argv in {argvs!r}:\n"
    "    try:\n        run(argv)\n    except SystemExit:\n        pass\n"
    "print('HEAVY', sorted(m for m in ('torch', 'hydra', 'omegaconf') if m in sys.modules))"
)


def time_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): CPU time stays honest on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    for args in HELP_COMMANDS:
        commands[" ".join(["accel", *args, "--help"])] = [ACCEL, *args, "--help"]
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, command in commands.items():
            wall, cpu = time_once(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in walls.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpus.items()}
    bare = medians.pop("python -c pass")
    cpu_medians.pop("python -c pass")
    argvs = [[*args, "--help"] for args in HELP_COMMANDS]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(argvs=argvs)], capture_output=True, text=True
    ).stdout
    heavy = probe.strip().splitlines()[-1].removeprefix("HEAVY ")
    print(
        json.dumps(
            {
                "benchmark": "cli_help",
                "runs": RUNS,
                "python_startup_s": round(bare, 4),
                "median_s": {k: round(v, 4) for k, v in medians.items()},
                "median_cpu_s": {k: round(v, 4) for k, v in cpu_medians.items()},
                "load_average_1min": round(os.getloadavg()[0], 2),
                "ratio_to_bare_python": {k: round(v / bare, 2) for k, v in medians.items()},
                "budget_s": BUDGET_S,
                "all_within_budget": all(v <= BUDGET_S for v in medians.values()),
                "heavy_modules_imported": heavy,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
