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

    before = {kind: set(reg.local_names()) for kind, reg in REGISTRIES.items()}
    yield
    for kind, reg in REGISTRIES.items():
        for name in set(reg.local_names()) - before[kind]:
            reg.remove(name)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACCEL_CONFIGS", raising=False)
    monkeypatch.delenv("ACCEL_RUN_DIR", raising=False)
    monkeypatch.delenv("ACCEL_DEBUG", raising=False)  # errors are one line, no traceback
    monkeypatch.syspath_prepend(str(TESTKIT))
    return tmp_path


@pytest.fixture
def tiny_project(workdir: Path) -> Path:
    """A project whose model, data and loss need only accel-core and torch."""
    write_tiny_project(workdir)
    return workdir


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real 1-epoch training run of the tiny project, made once for the whole session;
    tests copy its checkpoint (see cli_helpers.copy_checkpoint) before changing anything."""
    from accel.cli.main import run

    root = tmp_path_factory.mktemp("trained")
    write_tiny_project(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("ACCEL_CONFIGS", raising=False)
        patch.delenv("ACCEL_RUN_DIR", raising=False)
        patch.syspath_prepend(str(TESTKIT))
        argv = [
            "train",
            "trainer.max_epochs=1",
            "~callbacks.progress",
            f"trainer.run_dir={root}/run",
        ]
        with pytest.raises(SystemExit) as info:
            run(argv)
    assert not info.value.code
    return root / "run"


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTKIT), env.get("PYTHONPATH", "")])
    env.pop("ACCEL_CONFIGS", None)
    env.pop("ACCEL_RUN_DIR", None)
    return env
