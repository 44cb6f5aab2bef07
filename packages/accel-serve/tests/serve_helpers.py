"""Shared by the accel-serve tests: real models (torch, exported to ONNX) and real servers
(`python -m accel.serve` under uvicorn on 127.0.0.1, a free port), real httpx clients."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import torch
from PIL import Image
from torch import nn

TOKEN = "test-token-123"
FEATURES = ["age", "height", "weight", "score"]
CLASSES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class TinyDigits(nn.Module):
    """A small conv classifier on (N, 1, 8, 8) images (random weights, seeded)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).flatten(1))


class Small(nn.Module):
    """(N, 4) -> (N, 3): a model the registry rebuilds from a checkpoint's config."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class Masked(nn.Module):
    """Two inputs of two dtypes: floats (N, 3) and an int64 mask (N, 3)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x * mask.to(x.dtype)


def export(model: nn.Module, example: tuple[torch.Tensor, ...], path: Path, names: list[str]):
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "batch"} for name in [*names, "output"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation note
        torch.onnx.export(
            model.eval(),
            example,
            str(path),
            input_names=names,
            output_names=["output"],
            dynamic_axes=axes,
            dynamo=False,
            opset_version=17,
        )
    return path


def constant_model(value: float) -> nn.Module:
    """(N, 4) -> (N, 3) logits whose largest is always class 0 (bias `value`)."""
    linear = nn.Linear(4, 3)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([value, 0.0, -1.0]))
    return linear


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `python -m accel.serve` process."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def log_lines(self) -> list[dict[str, object]]:
        lines = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    def rss_kib(self, field_name: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field_name} for {self.process.pid}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_server(
    args: list[str], log: Path, token: str | None = None, ready_s: float = 60
) -> Server:
    """Start a server and wait until it is ready (or fail with its log)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ACCEL_SERVE_TOKEN"}
    command = [sys.executable, "-m", "accel.serve", *args, "--port", str(port), "--threads", "1"]
    if token:
        command += ["--token", token]
    handle = log.open("wb")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log, token=token,
                    headers=headers)  # fmt: skip
    deadline = time.monotonic() + ready_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(server.url + "/v2/health/ready", headers=headers).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"server not ready in {ready_s} s: {log.read_text()[-2000:]}")


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the series `name` matching `labels` in a Prometheus text page (0 if none)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()
