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


@pytest.mark.slow
def test_sigkill_at_random_steps_and_mid_write_then_resume_is_bit_identical(tmp_path: Path) -> None:
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    mid_epoch = [s for s in range(1, STEPS_PER_EPOCH * EPOCHS) if s % STEPS_PER_EPOCH]
    first = rng.choice([s for s in mid_epoch if s < STEPS_PER_EPOCH])
    second = rng.choice([s for s in range(first + 1, 2 * STEPS_PER_EPOCH + 1)])
    in_write = rng.choice([s for s in mid_epoch if s > second + 1])
    note = (
        f"random seed {seed}: kills after steps {first}, {second}, inside the write of {in_write}"
    )

    reference = final_weights(tmp_path / "ref", start(tmp_path / "ref"))

    run = tmp_path / "killed"
    kill_at(start(run, "--pause-after-step", str(first)), "PAUSED")
    assert last_step(run) == first, note
    kill_at(start(run, "--pause-after-step", str(second)), "PAUSED")
    assert last_step(run) == second, note
    kill_at(start(run, "--pause-in-write", str(in_write)), "WRITING")
    # the half-written checkpoint is invisible: the previous one is still the last and loads
    assert last_step(run) == in_write - 1, note
    assert any(p.name.startswith(".tmp-") for p in (run / "checkpoints").iterdir()), note
    resumed = final_weights(run, start(run))

    assert reference.keys() == resumed.keys()
    for name in reference:
        assert torch.equal(reference[name], resumed[name]), f"{name} differs ({note})"
