"""Fixtures: a temporary project folder with configs that need only accel-core."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
if str(TESTS) not in sys.path:  # the helper module (cli_helpers) beside the tests
    sys.path.insert(0, str(TESTS))

TESTKIT = TESTS / "testkit"

TINY_MAIN = """\
defaults:
  - accel
  - override model: tiny
  - override data: tiny
  - override loss: tiny
  - _self_
"""
TINY_MODEL = "_target_: accel_cli_testkit.TinyNet\nin_channels: 1\nnum_classes: 2\n"
TINY_DATA = "_target_: accel_cli_testkit.TinyData\nbatch_size: 16\nseed: ${seed}\n"
TINY_LOSS = "_target_: torch.nn.CrossEntropyLoss\nlabel_smoothing: 0.0\n"


def write_tiny_project(root: Path) -> Path:
    configs = root / "configs"
    for rel, text in {
        "main.yaml": TINY_MAIN,
        "model/tiny.yaml": TINY_MODEL,
        "data/tiny.yaml": TINY_DATA,
        "loss/tiny.yaml": TINY_LOSS,
    }.items():
        (configs / rel).parent.mkdir(parents=True, exist_ok=True)
        (configs / rel).write_text(text)
    return configs


@pytest.fixture(autouse=True)
def forget_local_registrations() -> Iterator[None]:
    """Names a test registers in-process (e.g. project plugins) do not leak into the next."""
    from accel.core.registry import REGISTRIES

    before = {kind: dict(reg._local) for kind, reg in REGISTRIES.items()}
    yield
    for kind, reg in REGISTRIES.items():
        for name in set(reg._local) - set(before[kind]):
            del reg._local[name]
            reg._loaded.pop(name, None)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACCEL_CONFIGS", raising=False)
    monkeypatch.delenv("ACCEL_RUN_DIR", raising=False)
    monkeypatch.syspath_prepend(str(TESTKIT))
    return tmp_path


@pytest.fixture
def tiny_project(workdir: Path) -> Path:
    """A project whose model, data and loss need only accel-core and torch."""
    write_tiny_project(workdir)
    return workdir


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTKIT), env.get("PYTHONPATH", "")])
    env.pop("ACCEL_CONFIGS", None)
    env.pop("ACCEL_RUN_DIR", None)
    return env
