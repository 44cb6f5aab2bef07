"""`python -m accel.serve` (the command `accel serve` mounts): bad flags are one line, before
any server starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accel.core.errors import ConfigError
from accel.serve.options import ServeOptions, parse_models


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "accel.serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere.onnx"], "nowhere.onnx: no such file or folder"),
        (["{tabular}", "--max-batch", "0"], "--max-batch 0: expected a value in [1, 4096]"),
        (["{tabular}", "--port", "70000"], "--port 70000: expected a value in [0, 65535]"),
        (["{tabular}", "--split", "a=0.5,b=0.5"], "--split needs --name"),
        (["a={v1}", "b={v2}", "--name", "ab", "--split", "a=0.5,b=0.4"], "summing to 1"),
        (["a={v1}", "--name", "ab", "--split", "a=0.5,c=0.5"], "no PATH is given as c=PATH"),
        (["../x={v1}"], "expected a name"),
        (["{tabular}", "--input-shape", "1,x"], "--input-shape '1,x'"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2_or_1(
    model_dir: Path, args: list[str], message: str
) -> None:
    paths = {"tabular": model_dir / "tabular", "v1": model_dir / "v1", "v2": model_dir / "v2"}
    done = serve(*(a.format(**paths) for a in args))
    assert done.returncode in (1, 2)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_torchscript_is_refused_without_trust(model_dir: Path, tmp_path: Path) -> None:
    import torch

    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(4, 2)), str(path))
    done = serve(str(path), "--port", "0", "--input-shape", "4")
    assert done.returncode == 1
    assert "is TorchScript: loading it runs the program" in done.stderr
    assert "--trust-file" in done.stderr


def test_defaults_bind_this_machine_only_with_no_token_and_no_cors(model_dir: Path) -> None:
    options = ServeOptions(models=parse_models([str(model_dir / "tabular")], None, None))
    assert options.host == "127.0.0.1"
    assert options.token is None
    assert options.cors_origins == ()
    assert options.models[0].name == "tabular"


def test_a_path_with_equals_signs_is_a_path(tmp_path: Path) -> None:
    folder = tmp_path / "epoch=000-step=0000160"
    folder.mkdir()
    (entry,) = parse_models([str(folder)], None, None)
    assert entry.path == folder
    assert entry.name == "epoch=000-step=0000160"
    with pytest.raises(ConfigError, match="--name names one model"):
        parse_models([str(folder), f"b={folder}"], "x", None)
