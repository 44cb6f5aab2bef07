"""accel compress int8 against the peer a user would pick instead: OpenVINO + NNCF int8.

torchvision ResNet-50 (random weights, BatchNorm statistics from real photos, as a trained
network has them; nothing downloaded) at 224x224, calibrated on the same 32 crops of
scikit-image's photos (ImageNet-normalised) by both: the real `accel compress model.pt2
--quantize int8 --calib-data calib.npy` (no backend named: accel keeps the fastest of its int8
candidates, OpenVINO's among them when it is installed), and `nncf.quantize` on
`openvino.convert_model` of the same model (NNCF's defaults, 32 calibration samples),
compiled for the CPU. Printed, at
batch 32 on held-out crops: each one's relative output error against fp32 eager, and its
speed-up over fp32 eager (`torch.inference_mode`) with quartiles, all three in one run with
the same thread count.

Each side is timed as a server runs it alone (ONNX Runtime's and OpenVINO's default thread
pools): blocks of back-to-back calls, the sides' blocks alternated and paused apart, so one
side's spinning threads never take a core from the next block.

    uv run python benchmarks/openvino_peer.py [--rounds 5] [--threads 2]

Needs accel-compress's `openvino` extra (openvino, nncf; in the workspace's environment);
without it the script says so and exits.
The machine is shared: a busy machine widens the quartiles.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from alternation import quartiles  # sibling scripts: photos and ratios as the others take them
from int8_fallback import CALIB, HELD_OUT, photos

BATCH, BLOCK, PAUSE = 32, 3, 0.3


def resnet50(calib: np.ndarray) -> torch.nn.Module:
    """torchvision's ResNet-50, random weights, BatchNorm statistics from `calib`."""
    from torchvision.models import resnet50 as build

    torch.manual_seed(0)
    model = build(weights=None).train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.from_numpy(calib))
    return model.eval()


def accel_int8(model: torch.nn.Module, calib: np.ndarray, folder: Path) -> tuple[Path, str]:
    """The real command on a .pt2 with a dynamic batch (no backend named: accel chooses among
    its int8 candidates); the file it wrote (`model.onnx` or OpenVINO's `model.xml`) and its
    summary."""
    from accel.cli.main import run

    batch = torch.export.Dim("batch", min=1, max=256)
    program = torch.export.export(
        model, (torch.from_numpy(calib[:2]),), dynamic_shapes=({0: batch},)
    )
    torch.export.save(program, str(folder / "model.pt2"))
    np.save(folder / "calib.npy", calib)
    out = folder / "accel"
    args = ["compress", str(folder / "model.pt2"), "--quantize", "int8", "--calib-data"]
    args += [str(folder / "calib.npy"), "-o", str(out)]
    stdout = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(stdout):
        try:
            rc = run(args)
        except SystemExit as exit_:
            rc = int(exit_.code or 0)
    lines = stdout.getvalue().strip().splitlines()
    if rc != 0:
        raise SystemExit(f"accel compress failed (rc {rc}): {lines[-1:] or ''}")
    report = json.loads((out / "report.json").read_text())
    written = report["outputs"].get("onnx") or report["outputs"]["openvino"]
    return out / written, lines[-1] if lines else ""


def openvino_int8(model: torch.nn.Module, calib: np.ndarray, threads: int) -> Any:
    """NNCF's post-training int8 (its defaults) of the converted model, compiled for the CPU."""
    import nncf
    import openvino as ov

    converted = ov.convert_model(model, example_input=torch.from_numpy(calib[:1]))
    samples = nncf.Dataset([calib[i : i + 1] for i in range(len(calib))])
    quantized = nncf.quantize(converted, samples, subset_size=len(calib))
    return ov.Core().compile_model(quantized, "CPU", {"INFERENCE_NUM_THREADS": threads})


def deployed(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """accel's file as a server runs it: an ONNX Runtime session (its default spinning pool)
    or, for an IR, OpenVINO's CPU plugin with the same threads."""
    if path.suffix == ".xml":
        import openvino as ov

        compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads})
        return lambda x: np.asarray(compiled(x)[0])
    from accel.core.inference import onnx_session

    session = onnx_session(path, threads=threads, spinning=True)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def timed_blocks(sides: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Per side, the mean seconds per call of each block (BLOCK calls, after one untimed
    call that wakes its threads), blocks alternated across sides and PAUSE apart."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, call in sides.items():
            time.sleep(PAUSE)
            call()
            start = time.perf_counter()
            for _ in range(BLOCK):
                call()
            times[name].append((time.perf_counter() - start) / BLOCK)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    missing = [m for m in ("openvino", "nncf") if importlib.util.find_spec(m) is None]
    if missing:
        raise SystemExit(f"needs {', '.join(missing)}: pip install 'accel-compress[openvino]'")
    torch.set_num_threads(args.threads)
    calib, held_out = photos(CALIB, BATCH, 224, 0), photos(HELD_OUT, BATCH, 224, 1)
    model = resnet50(calib)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        accel_file, summary = accel_int8(model, calib, Path(tmp))
        accel_seconds = time.perf_counter() - start
        start = time.perf_counter()
        compiled = openvino_int8(model, calib, args.threads)
        openvino_seconds = time.perf_counter() - start
        accel_run = deployed(accel_file, args.threads)
        tensor = torch.from_numpy(held_out)
        with torch.inference_mode():
            want = model(tensor).numpy()

            def eager() -> Any:
                return model(tensor)

            sides = {
                "fp32 eager": eager,
                "accel int8 (its choice)": lambda: accel_run(held_out),
                "OpenVINO + NNCF int8": lambda: compiled(held_out)[0],
            }
            errors = {
                "accel int8 (its choice)": relative_error(accel_run(held_out), want),
                "OpenVINO + NNCF int8": relative_error(np.asarray(compiled(held_out)[0]), want),
            }
            times = timed_blocks(sides, args.rounds)
    eager_s = np.array(times["fp32 eager"])
    rows = []
    for name, seconds in times.items():
        rows.append({
            "side": name,
            "ms": 1000 * float(np.median(seconds)),
            "speedup_vs_eager": quartiles(list(eager_s / np.array(seconds))),
            "relative_error": errors.get(name, 0.0),
        })  # fmt: skip
    accel_vs_peer = np.array(times["OpenVINO + NNCF int8"]) / np.array(
        times["accel int8 (its choice)"]
    )
    report = {
        "model": "torchvision resnet50 (random weights, BN from photos)",
        "batch": BATCH, "threads": args.threads, "rounds": args.rounds,
        "accel_summary": summary,
        "accel_wrote": accel_file.name,
        "seconds_to_quantize": {"accel compress": accel_seconds, "openvino+nncf": openvino_seconds},
        "rows": rows,
        "accel_speed_over_openvino": quartiles(list(accel_vs_peer)),
    }  # fmt: skip
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
