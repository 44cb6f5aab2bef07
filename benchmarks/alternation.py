"""What an ONNX Runtime session that spins does to the torch model timed right after it.

accel compares a compressed ONNX model with the torch original by alternating the two. ONNX
Runtime's default leaves its pool threads spin-waiting after each call; torch, called next on
the same cores, then runs slower, and the speed-up accel reports grows by as much. This runs,
in interleaved rounds: eager fp32, then an int8 session that spins, eager again, then the same
model in a session that does not (accel's `OnnxPredictor`), eager again; it prints each
median and the ratios per round with their quartiles.

    uv run python benchmarks/alternation.py [--rounds 15] [--threads 2] [-o out.json]

The model is a 4-layer, 256-wide BERT (transformers, random weights) at batch 8, sequence
128. The effect depends on how many cores are free: it is largest when torch and the session
use all of them, as accel does by default.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch


def bert() -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024
    )
    return BertModel(config).eval()


def int8_onnx(model: torch.nn.Module, ids: torch.Tensor, folder: Path) -> Path:
    """accel's dynamic int8 of the model (the library call behind `accel compress`)."""
    from accel.compress import quantize

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

    mask = torch.ones_like(ids)
    result = quantize(LastHidden().eval(), None, example_inputs=(ids, mask), output_dir=folder)
    return Path(result.path)


def session(path: Path, threads: int, spinning: bool) -> Callable[[], Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    ort_session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed_ids = np.random.default_rng(0).integers(0, 30522, (8, 128))
    feed = {"input_ids": feed_ids, "attention_mask": np.ones_like(feed_ids)}
    names = [i.name for i in ort_session.get_inputs()]
    feed = dict(zip(names, feed.values(), strict=True))
    return lambda: ort_session.run(None, feed)


def seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def quartiles(values: list[float]) -> dict[str, float]:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = bert()
    ids = torch.from_numpy(np.random.default_rng(0).integers(0, 30522, (8, 128)))
    mask = torch.ones_like(ids)

    def eager() -> Any:
        with torch.inference_mode():
            return model(input_ids=ids, attention_mask=mask)

    with tempfile.TemporaryDirectory() as tmp:
        path = int8_onnx(model, ids[:2], Path(tmp))
        spinning, quiet = session(path, args.threads, True), session(path, args.threads, False)
        names = ("eager", "spinning", "eager_after_spinning", "quiet", "eager_after_quiet")
        times: dict[str, list[float]] = {k: [] for k in names}
        for call in (eager, spinning, quiet):
            call(), call()
        for _ in range(args.rounds):
            times["eager"].append(seconds(eager))
            times["spinning"].append(seconds(spinning))
            times["eager_after_spinning"].append(seconds(eager))
            times["quiet"].append(seconds(quiet))
            times["eager_after_quiet"].append(seconds(eager))

    def ratio(a: str, b: str) -> dict[str, float]:
        return quartiles([x / y for x, y in zip(times[a], times[b], strict=True)])

    report = {
        "model": "BERT 4 layers, hidden 256, batch 8, seq 128; accel dynamic int8 (ONNX Runtime)",
        "threads": args.threads,
        "rounds": args.rounds,
        "median_ms": {k: 1000 * float(np.median(v)) for k, v in times.items()},
        "eager_after_spinning_vs_after_quiet": ratio("eager_after_spinning", "eager_after_quiet"),
        "eager_after_quiet_vs_alone": ratio("eager_after_quiet", "eager"),
        "speedup_claimed_with_spinning": ratio("eager_after_spinning", "spinning"),
        "speedup_with_quiet_session": ratio("eager_after_quiet", "quiet"),
        "quiet_session_vs_spinning": ratio("quiet", "spinning"),
    }
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
