"""`accel serve` next to a hand-rolled FastAPI + ONNX Runtime endpoint, on the same models.

The hand-rolled server is what users write today (the seeds' approach): a pydantic request
model, one `session.run` per request in FastAPI's thread pool, ORT threads left at default.
A second copy runs with ORT tuned as accel serve tunes it (intra-op threads pinned to the
cores, no spin-waiting), so the table separates what batching buys from what thread settings
buy.
Both run under uvicorn (one process) on 127.0.0.1; a separate load process sends V2 JSON infer
requests over keep-alive connections with a small raw asyncio HTTP/1.1 client (so the client
costs little CPU next to the servers) at concurrency 1, 8 and 32. Rounds alternate between
the servers, so machine noise hits both alike; reported per model: requests/s, p50 and p99
latency (medians over rounds, with min-max), the server's CPU time per request (all its
threads, from /proc: steadier than wall time on a busy machine), and the ratio of accel to
hand-rolled throughput per round (median, min-max).

Two models, side by side: a small one where HTTP and JSON dominate (`--model PATH`, e.g. the
README tour's int8 digits model `out/`; default a small conv net on 1x8x8, built here), and a
ResNet-18-style CNN on 3x64x64 (random weights, 1,000 classes, built here with plain torch and
exported to ONNX) whose inference costs what serving a real image model costs, where dynamic
batching pays.

The machine is shared (2 cores, other sessions' tests; the load client runs on the same
cores): trust the ratios, not the absolutes.

    python benchmarks/serve.py [--model out/] [--requests 2000] [--rounds 3] [--image-size 64]
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

    options = ort.SessionOptions()
    if TUNED:  # what accel serve sets: intra-op threads pinned to the cores, no spin-waiting
        options.intra_op_num_threads = THREADS
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"])
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


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    import httpx

    for _ in range(1200):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server not ready in 120 s")


def export_onnx(model: Any, example: Any, path: Path) -> Path:
    """`model` as an ONNX file with a dynamic batch (the legacy exporter: one file)."""
    import warnings

    import torch

    path.parent.mkdir(parents=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(), (example,), str(path), input_names=["x"], output_names=["output"],
            dynamic_axes={"x": {0: "batch"}, "output": {0: "batch"}}, dynamo=False,
            opset_version=17,
        )  # fmt: skip
    return path


def tiny_model(folder: Path) -> Path:
    """A small conv classifier on (N, 1, 8, 8), exported to ONNX (random weights)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 64, 10),
    )  # fmt: skip
    return export_onnx(model, torch.rand(2, 1, 8, 8), folder / "tiny" / "model.onnx").parent


def resnet18(classes: int = 1000) -> Any:
    """ResNet-18 (basic blocks 2-2-2-2, widths 64-512), written out in plain torch."""
    from torch import nn

    def conv_bn(cin: int, cout: int, k: int, stride: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout, 3, 1)
            )
            same = stride == 1 and cin == cout
            self.skip = nn.Identity() if same else nn.Sequential(*conv_bn(cin, cout, 1, stride))
            self.out = nn.ReLU()

        def forward(self, x: Any) -> Any:
            return self.out(self.body(x) + self.skip(x))

    layers: list[nn.Module] = [*conv_bn(3, 64, 7, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def resnet_model(folder: Path, size: int) -> Path:
    """ResNet-18-style on (N, 3, size, size), random weights, exported to ONNX."""
    import torch

    torch.manual_seed(0)
    path = folder / "resnet18" / "model.onnx"
    return export_onnx(resnet18(), torch.rand(2, 3, size, size), path).parent


def onnx_file(model: Path) -> Path:
    return model if model.suffix == ".onnx" else model / "model.onnx"


def request_body(model: Path) -> bytes:
    """One V2 infer request: a batch of one, random values in [0, 1) (as JSON floats)."""
    import numpy as np
    import onnxruntime as ort

    spec = ort.InferenceSession(str(onnx_file(model))).get_inputs()[0]
    shape = [1, *(d if isinstance(d, int) else 1 for d in spec.shape[1:])]
    data = np.random.default_rng(0).random(shape, dtype=np.float32).ravel().tolist()
    tensor = {"name": spec.name, "datatype": "FP32", "shape": shape, "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


BASELINES = {"hand-rolled": False, "hand-rolled, ORT tuned": True}  # label -> TUNED


def start_servers(model: Path, work: Path) -> dict[str, tuple[subprocess.Popen[bytes], int]]:
    """accel serve and the hand-rolled baselines on `model`, each ready, by label."""
    port = free_port()
    accel = subprocess.Popen(
        [sys.executable, "-m", "accel.serve", f"model={model}", "--port", str(port),
         "--no-access-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    servers = {"accel serve": (accel, port)}
    for i, (label, tuned) in enumerate(BASELINES.items()):
        module = f"hand_rolled_{i}"
        settings = f"MODEL = {str(onnx_file(model))!r}\nTUNED = {tuned}\nTHREADS = {cores()}\n"
        (work / f"{module}.py").write_text(settings + HAND_ROLLED)
        port = free_port()
        hand = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", str(port),
             "--no-access-log", "--log-level", "warning"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        servers[label] = (hand, port)
    for process, port in servers.values():
        wait_ready(port, process)
    return servers


def cores() -> int:
    """The cores this process may use (what accel serve's --threads defaults to)."""
    return len(os.sched_getaffinity(0))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(server: tuple[subprocess.Popen[bytes], int], body: bytes, concurrency: int,
             total: int) -> dict[str, float]:  # fmt: skip
    process, port = server
    cpu_before = cpu_seconds(process.pid)
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, "127.0.0.1", str(port), "/v2/models/model/infer",
         str(concurrency), str(total)],
        input=body, capture_output=True, check=True, timeout=900,
    )  # fmt: skip
    cpu = cpu_seconds(process.pid) - cpu_before
    result = json.loads(done.stdout)
    cuts = statistics.quantiles(result["latencies"], n=100)
    return {
        "rps": total / result["seconds"],
        "p50_ms": cuts[49] * 1e3,
        "p99_ms": cuts[98] * 1e3,
        "cpu_ms": cpu / total * 1e3,
        "errors": sum(code != 200 for code in result["codes"]),
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in ("rps", "p50_ms", "p99_ms", "cpu_ms"):
        values = [r[key] for r in runs]
        found[key] = round(statistics.median(values), 3)
        found[f"{key}_range"] = [round(min(values), 3), round(max(values), 3)]
    found["errors"] = sum(int(r["errors"]) for r in runs)
    return found


def spread(values: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(values), 2),
            "range": [round(min(values), 2), round(max(values), 2)]}  # fmt: skip


def bench_model(model: Path, work: Path, args: argparse.Namespace, requests: int) -> dict[str, Any]:
    """Both servers on `model`, every concurrency, rounds alternating between the servers."""
    body = request_body(model)
    servers = start_servers(model, work)
    results: dict[str, Any] = {"request_bytes": len(body)}
    try:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            total = requests if concurrency > 1 else max(100, requests // 5)
            runs: dict[str, list[dict[str, float]]] = {label: [] for label in servers}
            for _ in range(args.rounds):
                for label, server in servers.items():
                    runs[label].append(run_load(server, body, concurrency, total))
            entry: dict[str, Any] = {label: summary(r) for label, r in runs.items()}
            for label in BASELINES:
                pairs = list(zip(runs["accel serve"], runs[label], strict=True))
                entry[label]["accel_rps_ratio"] = spread([a["rps"] / h["rps"] for a, h in pairs])
                entry[label]["accel_p99_ratio"] = spread(
                    [a["p99_ms"] / h["p99_ms"] for a, h in pairs]
                )
            entry["requests_per_round"] = total
            results[f"concurrency {concurrency}"] = entry
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    return results


def uvicorn_stack() -> dict[str, str]:
    """What uvicorn's `auto` picks for both servers: httptools and uvloop when installed."""
    from importlib.util import find_spec

    return {
        "http": "httptools" if find_spec("httptools") else "h11",
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, help="an .onnx file or a folder with model.onnx")
    parser.add_argument("--requests", type=int, default=2000, help="per round, small model")
    parser.add_argument("--heavy-requests", type=int, default=600, help="per round, ResNet")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--image-size", type=int, default=64, help="ResNet input size (0: skip)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small = args.model or tiny_model(work)
        label = str(args.model) if args.model else "small conv net 1x8x8 (built here)"
        results[label] = bench_model(small, work, args, args.requests)
        if args.image_size:
            heavy = resnet_model(work, args.image_size)
            label = f"ResNet-18-style 3x{args.image_size}x{args.image_size} (random weights)"
            results[label] = bench_model(heavy, work, args, args.heavy_requests)
    report = {
        "models": results,
        "machine": {"cores": os.cpu_count(), "load_avg": os.getloadavg(),
                    "note": "shared machine: trust ratios, not absolutes"},
        "uvicorn": uvicorn_stack(),
    }  # fmt: skip
    print(json.dumps(report))
    stack = report["uvicorn"]
    print(f"uvicorn: {stack['http']} + {stack['loop']}, load average {os.getloadavg()[0]:.1f}")
    print(table(results))


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (medians over rounds, min-max in brackets); a
    baseline's row carries accel's ratios to it, computed per round."""
    lines = [
        "| model | concurrency | server | req/s | p50 ms | p99 ms | server CPU ms/req | errors "
        "| accel req/s ÷ this | accel p99 ÷ this |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, entries in results.items():
        for key, entry in entries.items():
            if not key.startswith("concurrency"):
                continue
            for label in ("accel serve", *BASELINES):
                e = entry[label]
                ratios = " | "
                if label in BASELINES:
                    ratios = (
                        f"{ratio_text(e['accel_rps_ratio'])} | {ratio_text(e['accel_p99_ratio'])}"
                    )
                lines.append(
                    f"| {model} | {key.split()[1]} | {label} | {e['rps']:.0f} "
                    f"[{e['rps_range'][0]:.0f}-{e['rps_range'][1]:.0f}] | {e['p50_ms']:.1f} | "
                    f"{e['p99_ms']:.1f} [{e['p99_ms_range'][0]:.1f}-{e['p99_ms_range'][1]:.1f}] | "
                    f"{e['cpu_ms']:.2f} | {e['errors']} | {ratios} |"
                )
    return "\n".join(lines)


def ratio_text(found: dict[str, Any]) -> str:
    low, high = found["range"]
    return f"{found['median']:.2f}x [{low:.2f}-{high:.2f}]"


if __name__ == "__main__":
    main()
