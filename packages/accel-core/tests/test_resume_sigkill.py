"""Exact resume after SIGKILL: killed at random steps (mid-epoch included) and during a
checkpoint write, resumed, the final weights equal an uninterrupted run bit for bit (CPU)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from accel.core.checkpoint import load_checkpoint

TESTS = Path(__file__).parent
STEPS_PER_EPOCH, EPOCHS = 12, 3  # core_resume_child: 96 samples, batch 8, 3 epochs


def start(run_dir: Path, *flags: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, str(TESTS / "core_resume_child.py"), str(run_dir), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def kill_at(proc: subprocess.Popen[str], marker: str) -> None:
    """Wait for the child's marker line, then SIGKILL it there."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(marker):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""


def final_weights(run_dir: Path, proc: subprocess.Popen[str]) -> dict[str, torch.Tensor]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "DONE" in out
    return load_file(str(run_dir / "final.safetensors"))


def last_step(run_dir: Path) -> int:
    manifest, _ = load_checkpoint(run_dir)
    return int(manifest["state"]["loop"]["global_step"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """Final weights of an uninterrupted run with the same seed."""
    run = tmp_path_factory.mktemp("reference")
    return final_weights(run, start(run))


def assert_same(
    reference: dict[str, torch.Tensor], resumed: dict[str, torch.Tensor], note: str
) -> None:
    assert reference.keys() == resumed.keys()
    for name in reference:
        assert torch.equal(reference[name], resumed[name]), f"{name} differs ({note})"


@pytest.mark.slow
def test_sigkill_at_random_steps_then_resume_is_bit_identical(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    first = rng.choice([s for s in range(1, STEPS_PER_EPOCH)])  # mid-epoch 1
    second = rng.choice(
        [s for s in range(first + 1, STEPS_PER_EPOCH * EPOCHS) if s % STEPS_PER_EPOCH]
    )
    note = f"random seed {seed}: killed after steps {first} and {second}"

    kill_at(start(tmp_path, "--pause-after-step", str(first)), "PAUSED")
    assert last_step(tmp_path) == first, note
    kill_at(start(tmp_path, "--pause-after-step", str(second)), "PAUSED")
    assert last_step(tmp_path) == second, note
    assert_same(reference, final_weights(tmp_path, start(tmp_path)), note)


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_keeps_the_previous_one_loadable(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    seed = random.randrange(10**6)
    step = random.Random(seed).choice(
        [s for s in range(2, STEPS_PER_EPOCH * EPOCHS) if s % STEPS_PER_EPOCH]
    )
    note = f"random seed {seed}: killed inside the write of step {step}"

    kill_at(start(tmp_path, "--pause-in-write", str(step)), "WRITING")
    # the half-written checkpoint is invisible: the previous one is still the last and loads
    assert last_step(tmp_path) == step - 1, note
    assert any(p.name.startswith(".tmp-") for p in (tmp_path / "checkpoints").iterdir()), note
    assert_same(reference, final_weights(tmp_path, start(tmp_path)), note)
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "checkpoints").iterdir())


@pytest.fixture(scope="module")
def averaged_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """Final raw, EMA and SWA weights of an uninterrupted run with EMA and SWA."""
    run = tmp_path_factory.mktemp("averaged-reference")
    return final_weights(run, start(run, "--averaging"))


@pytest.mark.slow
def test_ema_and_swa_resume_bit_identical_after_sigkill(
    tmp_path: Path, averaged_reference: dict[str, torch.Tensor]
) -> None:
    # killed in epoch 1 or 2: EMA under way, SWA begun (its LR, its average) or about to
    seed = random.randrange(10**6)
    step = random.Random(seed).choice(range(STEPS_PER_EPOCH + 1, 3 * STEPS_PER_EPOCH))
    note = f"random seed {seed}: killed after step {step}"

    kill_at(start(tmp_path, "--averaging", "--pause-after-step", str(step)), "PAUSED")
    manifest, _ = load_checkpoint(tmp_path)
    averaged = step >= 2 * STEPS_PER_EPOCH  # SWA averages at the last step of epoch 1 on
    assert set(manifest["weights"]) == {"raw", "ema", *(["swa"] if averaged else [])}, note
    assert manifest["default_weights"] == "ema", note
    resumed = final_weights(tmp_path, start(tmp_path, "--averaging"))
    assert any(k.startswith("swa.") for k in averaged_reference)
    assert int(averaged_reference["swa.n_averaged"]) == EPOCHS - 1  # epochs 1 and 2
    assert_same(averaged_reference, resumed, note)
