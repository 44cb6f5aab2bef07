"""The foreign-model matrix of tests/integration/test_foreign_models.py (torchvision, timm,
transformers, MLP/LSTM/GRU; `.pt2`, state dict, safetensors, TorchScript, HF folder), each
row through the real `accel compress` CLI with accel's full timings, printed as a markdown
table: model | input form | rc | speed-up b1/b32 (accel's summary line) | size | relative
error of the written model (model.onnx in a fresh ONNX Runtime session, or the OpenVINO IR
accel chose) on held-out inputs, and which runtime that is. On a
busy machine `--threads 1` keeps torch from spin-waiting (2 threads on 2 shared cores can
make eager torch 50x slower, and the speed-ups absurd).

    uv run python benchmarks/foreign_matrix.py [--only resnet18] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

TESTS = Path(__file__).resolve().parents[1] / "tests" / "integration" / "test_foreign_models.py"


def load_rows() -> ModuleType:
    """The test module, imported by path (tests/ is no package)."""
    spec = importlib.util.spec_from_file_location("foreign_models", TESTS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def quick() -> Iterator[None]:
    """The test's shortened timings (no warm-up, 3 side-by-side rounds, no retry pause)."""
    import accel.compress.analysis as analysis
    import accel.compress.pipeline as pipeline

    saved = analysis.WARMUP_S, analysis.compare_latency.__kwdefaults__["rounds"]
    pause = pipeline.RETRY_PAUSE_S
    analysis.WARMUP_S, pipeline.RETRY_PAUSE_S = 0.0, 0.0
    analysis.compare_latency.__kwdefaults__["rounds"] = 3
    try:
        yield
    finally:
        analysis.WARMUP_S, analysis.compare_latency.__kwdefaults__["rounds"] = saved
        pipeline.RETRY_PAUSE_S = pause


def cells(row: Any, outcome: Any, xfail: str | None) -> list[str]:
    """One table line's cells."""
    speed = "/".join(
        f"{outcome.speedups[b]:.1f}x" + ("*" if b in outcome.unreliable else "")
        for b in ("1", "32")
        if b in outcome.speedups
    )
    size = f"{outcome.size[0]:.2f} → {outcome.size[1]:.2f} MB" if outcome.size else "–"
    error = "–" if outcome.error is None else f"{outcome.error:.2g} (≤ {row.tolerance:g})"
    if outcome.top1 is not None:
        error += f", next-token top-1 {outcome.top1:.0%}"
    rc = f"{outcome.rc}" + (f" (xfail: {xfail})" if xfail else "")
    runtime = "–" if outcome.model is None else outcome.model.name
    return [row.model, row.form, rc, speed or "–", size, error, runtime]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="rows whose id contains this text")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--quick", action="store_true", help="the test's shortened timings")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR"):
        os.environ.pop(name, None)
    module = load_rows()
    lines = [
        "| model | input form | rc | speed-up b1/b32 | size | rel. error (limit) | written |",
        "|---|---|---|---|---|---|---|",
    ]
    timing = quick() if args.quick else contextlib.nullcontext()
    with timing, tempfile.TemporaryDirectory(prefix="foreign-") as root:
        for param in module.ROWS:
            row = module.row_of(param)
            if args.only not in row.id:
                continue
            xfail = next((m.kwargs["reason"] for m in getattr(param, "marks", ())), None)
            folder = Path(root) / row.id
            folder.mkdir()
            with contextlib.chdir(folder):
                outcome = module.run_row(row, folder)
            lines.append("| " + " | ".join(cells(row, outcome, xfail)) + " |")
            print(lines[-1], file=sys.stderr, flush=True)  # progress on a long run
    print(f"\ntorch threads: {torch.get_num_threads()}; * accel flagged the timing unreliable\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
