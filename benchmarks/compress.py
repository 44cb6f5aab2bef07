"""accel compress, side by side in one run: fp32 eager vs ORT fp32 vs ORT int8 vs pruned + int8
(vs PT2E int8 + torch.compile) on accel-cv's resnet18 at 224² (batch 1 and 32), plus the
accuracy of the same recipes on the digits model, plus the wall time of the whole
`accel compress` command. Prints a JSON of ratios against fp32 eager.

    uv run python benchmarks/compress.py [--rounds 2] [--no-pt2e] [--no-cli] [-o out.json]

The machine is shared: variants are measured in interleaved rounds and each keeps its best
median, so a burst of load from other processes does not land on one variant only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from accel.compress import analyze, compress, export_onnx, prune, quantize
from accel.compress.analysis import batch_of, latency_ms, size_on_disk
from accel.compress.verify import accuracy, output_error
from accel.cv.models.blocks import BasicBlock
from accel.cv.models.resnet import resnet18


def photos(size: int = 224) -> torch.Tensor:
    """Eight real photos shipped with scikit-image, resized and ImageNet-normalised."""
    from skimage import data
    from skimage.color import gray2rgb
    from skimage.transform import resize

    names = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page"]
    images = []
    for name in names:
        image = getattr(data, name)()
        image = gray2rgb(image) if image.ndim == 2 else image[..., :3]
        images.append(resize(image, (size, size), anti_aliasing=True).astype("float32"))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def untrained_resnet18() -> nn.Module:
    """accel-cv's resnet18 with every BatchNorm scale at 1.

    accel-cv zero-initialises each block's last BN scale (a faster start in training); left
    so, half the convolutions would be dead weight that folding and pruning remove for free,
    which a trained network does not offer."""
    model = resnet18()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
    return model


def calibrated_bn(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give BatchNorm statistics from real images (random init has none), then eval."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


def measure(
    variants: dict[str, Any],
    x: torch.Tensor,
    batches: tuple[int, ...],
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """Interleaved rounds; each variant keeps its best median per batch size."""
    best: dict[str, dict[str, Any]] = {name: {} for name in variants}
    for _ in range(rounds):
        for name, artifact in variants.items():
            for size in batches:
                repeats = 5 if size > 1 else 20
                result = latency_ms(artifact, batch_of(x, size), warmup=2, repeats=repeats)
                kept = best[name].get(str(size))
                if kept is None or result["median_ms"] < kept["median_ms"]:
                    best[name][str(size)] = result
    return best


def resnet_benchmark(rounds: int, with_pt2e: bool, folder: Path) -> dict[str, Any]:
    torch.manual_seed(0)
    x = photos()
    model = calibrated_bn(untrained_resnet18(), x)
    calib = list(x.split(2))
    start = time.perf_counter()
    variants: dict[str, Any] = {"fp32_eager": model}
    variants["ort_fp32"] = export_onnx(model, x[:2], folder / "fp32.onnx")
    variants["ort_int8"] = quantize(model, calib, example_inputs=x[:2], output_dir=folder / "q")
    pruned = prune(model, x[:2], 0.5)
    variants["pruned50_ort_int8"] = quantize(
        pruned, calib, example_inputs=x[:2], output_dir=folder / "pq"
    )
    if with_pt2e:
        variants["pt2e_int8_compiled"] = quantize(
            model, calib, example_inputs=x[:2], backend="pt2e", output_dir=folder / "pt"
        )
    build_s = time.perf_counter() - start
    latency = measure(variants, x, (1, 32), rounds)
    sizes = {name: size_on_disk(a) for name, a in variants.items() if name != "pt2e_int8_compiled"}
    base = latency["fp32_eager"]
    out: dict[str, Any] = {
        "model": "accel-cv resnet18, 224x224, 1000 classes",
        "threads": torch.get_num_threads(),
        "build_seconds": build_s,
        "params": analyze(model, x[:1], batches=())["params"],
        "pruned_params": sum(p.numel() for p in pruned.parameters()),
    }
    for name, artifact in variants.items():
        row: dict[str, Any] = {f"ms_batch{b}": latency[name][b]["median_ms"] for b in ("1", "32")}
        row.update(
            {
                f"speedup_batch{b}": base[b]["median_ms"] / latency[name][b]["median_ms"]
                for b in ("1", "32")
            }
        )
        if name in sizes:
            row["size_mb"] = sizes[name] / 2**20
            row["smaller"] = sizes["fp32_eager"] / sizes[name]
        reference = model if name != "pruned50_ort_int8" else pruned
        row["output_error_vs_fp32"] = output_error(reference, artifact, calib)
        out[name] = row
    return out


class DigitsNet(nn.Module):
    """A small ResNet for 1×8×8 digits: stem + two blocks (the second strided)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.blocks = nn.Sequential(BasicBlock(width, width, 1), BasicBlock(width, 2 * width, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


def digits_benchmark(folder: Path) -> dict[str, Any]:
    """Accuracy of fp32, ORT int8 and prune 50% + fine-tune + ORT int8 (fresh ORT sessions)."""
    from sklearn.datasets import load_digits

    from accel.compress.passes.finetune import finetune

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    train = list(zip(x[:1300].split(32), y[:1300].split(32), strict=True))
    test = list(zip(x[1300:].split(100), y[1300:].split(100), strict=True))
    calib = [b for b, _ in train[:8]]
    torch.manual_seed(0)
    start = time.perf_counter()
    model = finetune(DigitsNet(), train, epochs=10, lr=3e-3)
    train_s = time.perf_counter() - start
    int8 = quantize(model, calib, example_inputs=calib[0], output_dir=folder / "d8")
    result = compress(
        model,
        calib[0],
        output_dir=folder / "dp",
        calib_data=calib,
        train_data=train,
        val_data=test,
        quantize="int8",
        prune=0.5,
        finetune_epochs=8,
        force=True,
    )
    fp32 = accuracy(model, test)
    return {
        "train_seconds": train_s,
        "fp32_accuracy": fp32,
        "ort_int8_accuracy": accuracy(int8, test),
        "pruned50_finetuned_int8_accuracy": accuracy(result.artifact, test),
        "drop_int8_pt": 100 * (fp32 - accuracy(int8, test)),  # accuracy is a fraction
        "drop_pruned50_int8_pt": 100 * (fp32 - accuracy(result.artifact, test)),
        "compress_seconds": sum(s.get("seconds", 0) for s in result.report["steps"]),
    }


def cli_benchmark(folder: Path) -> dict[str, Any]:
    """Wall time of `accel compress model.pt2 --quantize int8 --calib-data calib.npy`."""
    torch.manual_seed(0)
    x = photos()
    model = calibrated_bn(untrained_resnet18(), x)
    program = torch.export.export(
        model, (x[:2],), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},)
    )
    torch.export.save(program, str(folder / "resnet18.pt2"))
    np.save(folder / "calib.npy", x.numpy())
    command = [
        sys.executable,
        "-m",
        "accel.cli",
        "compress",
        str(folder / "resnet18.pt2"),
        "--quantize",
        "int8",
        "--calib-data",
        str(folder / "calib.npy"),
        "--repeats",
        "5",
        "-q",
        "-o",
        str(folder / "cli-out"),
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return {
        "command": "accel compress resnet18.pt2 --quantize int8 --calib-data calib.npy",
        "seconds": seconds,
        "exit_code": done.returncode,
        "summary": (done.stdout or done.stderr).strip().splitlines()[-1:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-pt2e", action="store_true")
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--no-digits", action="store_true")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report: dict[str, Any] = {
            "resnet18": resnet_benchmark(args.rounds, not args.no_pt2e, folder)
        }
        if not args.no_digits:
            report["digits"] = digits_benchmark(folder)
        if not args.no_cli:
            report["accel_compress_command"] = cli_benchmark(folder)
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
