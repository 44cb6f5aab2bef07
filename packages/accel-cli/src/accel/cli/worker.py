"""One training process started by `accel train trainer.devices=N` (see `accel.cli.launch`).

usage: python -m accel.cli.worker RUN_DIR/config.yaml

Every worker trains from the same resolved config in the same run directory; the main one
writes the final metrics to RUN_DIR/result.json for the parent to print.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from accel.core.errors import AccelError

    rank = os.environ.get("RANK", "0")
    try:
        import yaml

        from accel.cli.commands.train import fit_and_test_here
        from accel.cli.launch import RESULT_FILE
        from accel.cli.project_plugins import load_project_plugins
        from accel.cli.runtime_bridge import apply_threads
        from accel.core.atomic import write_text_atomic

        load_project_plugins()  # the project's own components, as the parent had them
        path = Path(argv[0])
        config = yaml.safe_load(path.read_text())
        apply_threads(config)
        metrics = fit_and_test_here(config, path.parent)
        if rank == "0":
            write_text_atomic(path.parent / RESULT_FILE, json.dumps(metrics))
        from accel.core.runtime.distributed import end_process_group

        end_process_group()
    except AccelError as error:
        print(f"error (process {rank}): {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
