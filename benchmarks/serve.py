"""`accel serve` next to a hand-rolled FastAPI + ONNX Runtime endpoint, on the same model.

The hand-rolled server is what users write today (the seeds' approach): a pydantic request
model, one `session.run` per request in FastAPI's thread pool, ORT threads left at default.
Both run under uvicorn (one process) on 127.0.0.1; a separate load process sends V2 JSON infer
requests over keep-alive connections with a small raw asyncio HTTP/1.1 client (so the client
costs little CPU next to the servers) at concurrency 1, 8 and 32. Rounds alternate between
the servers, so machine noise hits both alike; reported: requests/s, p50 and p99 latency
(medians over rounds, with min-max), and the ratio of accel to hand-rolled throughput.

The machine is shared (2 cores, other sessions' tests): trust the ratios, not the absolutes.

    python benchmarks/serve.py [--model out/] [--requests 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HAND_ROLLED = textwrap.dedent(
    """
    import numpy as np
    import onnxruntime as ort
    from fastapi import FastAPI
    from pydantic import BaseModel

    session = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    app = FastAPI()

    class Tensor(BaseModel):
        name: str
        shape: list[int]
        datatype: str
        data: list[float]

    class Request(BaseModel):
        inputs: list[Tensor]

    @app.post("/v2/models/model/infer")
    def infer(request: Request):
        t = request.inputs[0]
        x = np.asarray(t.data, dtype=np.float32).reshape(t.shape)
        out = session.run(None, {name: x})[0]
        return {"model_name": "model", "outputs": [{"name": "output", "datatype": "FP32",
                "shape": list(out.shape), "data": out.ravel().tolist()}]}

    @app.get("/v2/health/ready")
    def ready():
        return {"ready": True}
    """
)

CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys, time

    async def user(host, port, path, body, count, latencies, codes):
        reader, writer = await asyncio.open_connection(host, port)
        request = (f"POST {path} HTTP/1.1\\r\\nHost: {host}\\r\\nContent-Type: application/json"
                   f"\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n").encode() + body
        for _ in range(count):
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\\r\\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            codes.append(int(head.split(b" ")[1]))
        writer.close()

    async def main():
        host, port, path, concurrency, total = sys.argv[1], int(sys.argv[2]), sys.argv[3], \\
            int(sys.argv[4]), int(sys.argv[5])
        body = sys.stdin.buffer.read()
        latencies, codes = [], []
        start = time.perf_counter()
        share = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
        await asyncio.gather(*(user(host, port, path, body, n, latencies, codes) for n in share))
        print(json.dumps({"seconds": time.perf_counter() - start, "latencies": latencies,
                          "codes": codes}))

    asyncio.run(main())
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, process: subprocess.Popen[bytes], headers: str = "") -> None:
    import httpx

    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server not ready in 60 s")


def tiny_model(folder: Path) -> Path:
    """A small conv classifier on (N, 1, 8, 8), exported to ONNX (random weights)."""
    import warnings

    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 64, 10),
    ).eval()  # fmt: skip
    path = folder / "model" / "model.onnx"
    path.parent.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.rand(2, 1, 8, 8),), str(path), input_names=["x"],
            output_names=["output"], dynamic_axes={"x": {0: "batch"}, "output": {0: "batch"}},
            dynamo=False,
        )  # fmt: skip
    return path


def onnx_file(model: Path) -> Path:
    return model if model.suffix == ".onnx" else model / "model.onnx"


def input_name(model: Path) -> str:
    import onnxruntime as ort

    return str(ort.InferenceSession(str(onnx_file(model))).get_inputs()[0].name)


def start_servers(model: Path, work: Path) -> dict[str, tuple[subprocess.Popen[bytes], int]]:
    accel_port, hand_port = free_port(), free_port()
    app = work / "hand_rolled.py"
    app.write_text(f"MODEL = {str(onnx_file(model))!r}\n" + HAND_ROLLED)
    accel = subprocess.Popen(
        [sys.executable, "-m", "accel.serve", f"model={model}", "--port", str(accel_port),
         "--no-access-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    hand = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hand_rolled:app", "--port", str(hand_port),
         "--no-access-log", "--log-level", "warning"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    servers = {"accel serve": (accel, accel_port), "hand-rolled": (hand, hand_port)}
    for process, port in servers.values():
        wait_ready(port, process)
    return servers


def run_load(port: int, body: bytes, concurrency: int, total: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, "127.0.0.1", str(port), "/v2/models/model/infer",
         str(concurrency), str(total)],
        input=body, capture_output=True, check=True, timeout=900,
    )  # fmt: skip
    result = json.loads(done.stdout)
    cuts = statistics.quantiles(result["latencies"], n=100)
    errors = sum(code != 200 for code in result["codes"])
    return {
        "rps": total / result["seconds"],
        "p50_ms": cuts[49] * 1e3,
        "p99_ms": cuts[98] * 1e3,
        "errors": errors,
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in ("rps", "p50_ms", "p99_ms"):
        values = [r[key] for r in runs]
        found[key] = round(statistics.median(values), 2)
        found[f"{key}_range"] = [round(min(values), 2), round(max(values), 2)]
    found["errors"] = sum(int(r["errors"]) for r in runs)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an .onnx file or a folder with model.onnx")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = args.model or tiny_model(work).parent
        name = input_name(model)
        import onnxruntime as ort

        shape = [
            1,
            *[
                d if isinstance(d, int) else 1
                for d in ort.InferenceSession(str(onnx_file(model))).get_inputs()[0].shape[1:]
            ],
        ]
        count = 1
        for d in shape:
            count *= d
        tensor = {"name": name, "datatype": "FP32", "shape": shape, "data": [0.5] * count}
        body = json.dumps({"inputs": [tensor]}).encode()
        servers = start_servers(model, work)
        results: dict[str, Any] = {}
        try:
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                total = args.requests if concurrency > 1 else max(200, args.requests // 5)
                runs: dict[str, list[dict[str, float]]] = {label: [] for label in servers}
                for _ in range(args.rounds):
                    for label, (_, port) in servers.items():
                        runs[label].append(run_load(port, body, concurrency, total))
                entry = {label: summary(r) for label, r in runs.items()}
                ratios = [a["rps"] / h["rps"] for a, h in
                          zip(runs["accel serve"], runs["hand-rolled"], strict=True)]  # fmt: skip
                entry["rps_ratio"] = round(statistics.median(ratios), 2)
                entry["rps_ratio_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
                entry["requests_per_round"] = total
                results[f"concurrency {concurrency}"] = entry
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=30)
    results["machine"] = {"cores": os.cpu_count(), "load_avg": os.getloadavg(),
                          "note": "shared machine: trust ratios, not absolutes"}  # fmt: skip
    results["model"] = str(args.model or "a small conv net on (N, 1, 8, 8), built here")
    print(json.dumps(results))
    print(table(results))


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (medians over rounds, min-max in brackets)."""
    lines = [
        "| concurrency | server | req/s | p50 ms | p99 ms | errors | req/s ratio |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for key, entry in results.items():
        if not key.startswith("concurrency"):
            continue
        for label in ("accel serve", "hand-rolled"):
            e = entry[label]
            ratio = (
                f"{entry['rps_ratio']:.2f}x [{entry['rps_ratio_range'][0]:.2f}-"
                f"{entry['rps_ratio_range'][1]:.2f}]"
                if label == "accel serve"
                else ""
            )
            lines.append(
                f"| {key.split()[1]} | {label} | {e['rps']:.0f} [{e['rps_range'][0]:.0f}-"
                f"{e['rps_range'][1]:.0f}] | {e['p50_ms']:.1f} | {e['p99_ms']:.1f} "
                f"[{e['p99_ms_range'][0]:.1f}-{e['p99_ms_range'][1]:.1f}] | {e['errors']} | "
                f"{ratio} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
