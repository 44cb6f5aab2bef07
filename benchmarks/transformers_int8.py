"""`accel compress MODEL --quantize int8` (no other flag) on transformers, measured apart.

A 4-layer, 256-wide BERT (`BertModel`, vocabulary 30522) exported the Hugging Face way
(`torch.export` with keyword inputs, dynamic batch) and saved with `save_pretrained`, and a
4-layer GPT-2 (`GPT2LMHeadModel`, 256 wide) saved with `save_pretrained`: random weights from
their configs, nothing downloaded. Each goes through the real `accel compress` command; then
the file it wrote is measured here, independently of accel's own timing, at batch 8 x 128
tokens, two ways against the original in fp32 eager (`torch.inference_mode`, same threads):

- quiet: a fresh ONNX Runtime session that never spins, alternated call by call with eager
  over interleaved rounds (accel's own way of comparing);
- deployed: each side as a server runs it alone, ONNX Runtime with its default spinning pool;
  blocks of back-to-back calls, the two sides' blocks alternated and paused apart so one
  side's spinning threads never overlap the other's block.

Printed: both speed-ups with their quartiles, accel's own claim beside them, the size ratio,
the relative error of the main output (BERT: last hidden state; GPT-2: logits) and GPT-2's
next-token top-1 agreement, on token batches of real English text (word-level ids of the
Python standard library's docstrings, by frequency).

    uv run python benchmarks/transformers_int8.py [--rounds 10] [--threads 2] [-o out.json]

The machine is shared: the ratio is taken per round, so load that lands on one round moves
that round's ratio only; a busy machine still widens the quartiles.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

BATCH, SEQ = 8, 128
SUMMARY = re.compile(r"batch (\d+): ([\d.]+) -> ([\d.]+) ms \(([\d.]+)x")


TEXT_MODULES = (
    "argparse", "asyncio", "collections", "configparser", "contextlib", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "email", "enum", "fractions", "functools", "gettext",
    "heapq", "http.client", "inspect", "ipaddress", "itertools", "json", "logging", "mailbox",
    "multiprocessing", "optparse", "os", "pathlib", "pickle", "random", "re", "shutil",
    "smtplib", "socket", "sqlite3", "ssl", "statistics", "string", "subprocess", "tarfile",
    "tempfile", "textwrap", "threading", "tokenize", "traceback", "typing", "unittest",
    "urllib.request", "uuid", "warnings", "xml.dom.minidom", "zipfile",
)  # fmt: skip


def english_words() -> list[str]:
    """The words of some standard-library modules' docstrings (module, classes, functions,
    methods), in order: English prose that ships with Python."""
    import importlib
    import inspect

    words: list[str] = []
    for name in TEXT_MODULES:
        module = importlib.import_module(name)
        members = [module, *(m for _, m in inspect.getmembers(module, inspect.isclass))]
        members += [m for _, m in inspect.getmembers(module, inspect.isfunction)]
        for member in list(members):
            if inspect.isclass(member):
                members += [f for _, f in inspect.getmembers(member, inspect.isfunction)]
        for member in members:
            words += re.findall(r"[a-z]+", (inspect.getdoc(member) or "").lower())
    return words


def token_batches(vocab: int, count: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`count` batches of [BATCH, SEQ] word ids (most frequent word -> id 1000, and so on) and
    attention masks (a quarter of the rows right-padded to a random length)."""
    words = english_words()
    ranks = {w: i for i, (w, _) in enumerate(Counter(words).most_common())}
    ids = np.array([1000 + ranks[w] % (vocab - 1000) for w in words], dtype=np.int64)
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        starts = rng.integers(0, len(ids) - SEQ, BATCH)
        batch = torch.from_numpy(np.stack([ids[s : s + SEQ] for s in starts]))
        short = rng.random(BATCH) < 0.25
        lengths = torch.from_numpy(np.where(short, rng.integers(16, SEQ, BATCH), SEQ))
        mask = (torch.arange(SEQ) < lengths[:, None]).long()
        batches.append((batch * mask, mask))
    return batches


def bert() -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024
    )
    return BertModel(config).eval()


def gpt2() -> torch.nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_embd=256, n_layer=4, n_head=4)).eval()


def save_bert(model: torch.nn.Module, folder: Path) -> Path:
    ids = torch.randint(0, 1000, (2, SEQ))
    batch = torch.export.Dim("batch", min=1, max=256)
    program = torch.export.export(
        model,
        (),
        {"input_ids": ids, "attention_mask": torch.ones_like(ids)},
        dynamic_shapes={"input_ids": {0: batch}, "attention_mask": {0: batch}},
    )
    torch.export.save(program, str(folder / "bert.pt2"))
    return folder / "bert.pt2"


def save_folder(model: torch.nn.Module, folder: Path) -> Path:
    model.save_pretrained(folder / "hf")  # type: ignore[operator]
    return folder / "hf"


# name: (model, how it is saved); BERT both ways users save it, GPT-2 as a folder.
MODELS = {
    "bert": (bert, save_bert),
    "bert-folder": (bert, save_folder),
    "gpt2": (gpt2, save_folder),
}


def accel_compress(path: Path, out: Path) -> dict[str, Any]:
    """The real command, no flag but --quantize int8 (it times with torch's default threads,
    every core); its summary's claims and its wall time."""
    command = [sys.executable, "-m", "accel.cli", "compress", str(path), "--quantize", "int8",
               "-q", "-o", str(out)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    claims = {b: float(x) for b, _, _, x in SUMMARY.findall(summary)}
    return {"rc": done.returncode, "seconds": time.perf_counter() - start,
            "summary": summary or done.stderr[-500:], "claimed_speedup": claims}  # fmt: skip


def main_output(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=ids, attention_mask=mask)[0]


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def measure(name: str, model: torch.nn.Module, args: argparse.Namespace) -> dict[str, Any]:
    from accel.core.inference import OnnxPredictor

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        saved = MODELS[name][1](model, folder)
        unique = {t.data_ptr(): t for t in model.state_dict().values()}  # tied weights once
        fp32_bytes = sum(t.numel() * t.element_size() for t in unique.values())
        run = accel_compress(saved, folder / "out")
        row: dict[str, Any] = {"model": name, **run}
        onnx_file = folder / "out" / "model.onnx"
        if run["rc"] != 0 or not onnx_file.is_file():
            return row
        row["size_mb"] = {"fp32": fp32_bytes / 2**20, "int8": onnx_file.stat().st_size / 2**20}
        row["smaller"] = fp32_bytes / onnx_file.stat().st_size
        session = OnnxPredictor(onnx_file, threads=args.threads)
        batches = token_batches(model.config.vocab_size, 4, seed=1)
        errors, agree = [], []
        for ids, mask in batches:
            want = main_output(model, ids, mask).numpy()
            got = session((ids, mask)).numpy()
            errors.append(relative_error(got, want))
            if name == "gpt2":
                real = mask.bool().numpy()
                agree.append(float((got.argmax(-1) == want.argmax(-1))[real].mean()))
        row["relative_error"] = float(np.mean(errors))
        if agree:
            row["next_token_top1_agreement"] = float(np.mean(agree))
        ids, mask = batches[0]
        eager, quick = [], []
        main_output(model, ids, mask), session((ids, mask))
        for _ in range(args.rounds):
            start = time.perf_counter()
            main_output(model, ids, mask)
            eager.append(time.perf_counter() - start)
            start = time.perf_counter()
            session((ids, mask))
            quick.append(time.perf_counter() - start)
        row[f"batch{BATCH}_seq{SEQ}"] = ratio_row(eager, quick)
        row[f"batch{BATCH}_seq{SEQ}_deployed"] = deployed(model, onnx_file, batches[0], args)
        return row


def ratio_row(eager: list[float], quick: list[float]) -> dict[str, Any]:
    """Median times and the per-round speed-up's quartiles."""
    ratios = np.array(eager) / np.array(quick)
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    return {
        "fp32_eager_ms": 1000 * float(np.median(eager)),
        "int8_ms": 1000 * float(np.median(quick)),
        "speedup": {"median": float(median), "q1": float(q1), "q3": float(q3)},
    }


def deployed(
    model: torch.nn.Module, onnx_file: Path, batch: tuple[torch.Tensor, torch.Tensor], args: Any
) -> dict[str, Any]:
    """Each side as a server runs it alone: ONNX Runtime with its default (spinning) thread
    pool, torch eager as it comes; timed in blocks of BLOCK back-to-back calls, the two
    sides' blocks alternated and PAUSE apart so one side's spinning threads are parked before
    the other's block starts (back to back, they took a core from the torch call that
    followed, and inflated the speed-up: see benchmarks/alternation.py)."""
    from accel.core.inference import onnx_session

    session = onnx_session(onnx_file, threads=args.threads, spinning=True)
    names = [i.name for i in session.get_inputs()]
    feed = dict(zip(names, (t.numpy() for t in batch), strict=True))
    eager, quick = [], []
    for _ in range(args.rounds):
        for side, run in ((eager, lambda: main_output(model, *batch)),
                          (quick, lambda: session.run(None, feed))):  # fmt: skip
            time.sleep(PAUSE)
            run()  # the block's first call wakes the threads: not timed
            start = time.perf_counter()
            for _ in range(BLOCK):
                run()
            side.append((time.perf_counter() - start) / BLOCK)
    return ratio_row(eager, quick)


BLOCK, PAUSE = 5, 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=tuple(MODELS))
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [measure(n, m[0](), args) for n, m in MODELS.items() if args.only in (None, n)]
    report = {"threads": args.threads, "rounds": args.rounds, "batch": BATCH, "seq": SEQ,
              "rows": rows}  # fmt: skip
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
