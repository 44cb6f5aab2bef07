"""`accel train trainer.engine=accelerate trainer.devices=2`: two CPU processes (gloo), one run
directory; a killed process stops the run with one clear line, and the run resumes with two
processes under torchrun (`torchrun -m accel.cli train ...`) to the weights of one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from cli_helpers import cli, run_dirs

from accel.core.checkpoint import load_checkpoint, model_state_dict

pytest.importorskip("accelerate")

COMMON = [
    "trainer.device=cpu",
    "trainer.max_epochs=2",
    "~callbacks.progress",
    "+callbacks.checkpoint.every_n_steps=2",
]
TWO = ["trainer.engine=accelerate", "trainer.devices=2"]
PAUSE = "+callbacks.pause={_target_: accel_cli_launch_kit.PauseAtStep, step: 3}"
STEPS = 8  # 64 samples, batch 16, 2 epochs
TESTKIT = Path(__file__).parent / "testkit"


def env() -> dict[str, str]:
    """The test's environment for the launched processes, with the testkit importable."""
    found = {k: v for k, v in os.environ.items() if k not in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR")}
    found["PYTHONPATH"] = os.pathsep.join([str(TESTKIT), os.environ.get("PYTHONPATH", "")])
    return {**found, "OMP_NUM_THREADS": "1"}


def wait_for(paths: list[Path], proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.is_file() and p.read_text() for p in paths):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"no {paths} after {timeout} s"
        time.sleep(0.2)


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    manifest, tensors = load_checkpoint(run_dir)
    assert manifest["state"]["loop"]["global_step"] == STEPS
    return model_state_dict(manifest, tensors)


@pytest.mark.slow
def test_killed_process_stops_the_run_and_two_processes_resume_it(tiny_project: Path) -> None:
    assert cli(["train", *COMMON]) == 0  # the reference: one process, the same global batch
    [reference_dir] = run_dirs(tiny_project)
    reference = final_weights(reference_dir)

    accel = [sys.executable, "-m", "accel.cli", "train"]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*accel, *COMMON, *TWO, PAUSE], env=env(), stderr=subprocess.PIPE, text=True
    )
    [run_dir] = [d for d in _wait_new_dir(tiny_project, reference_dir, proc)]
    wait_for([run_dir / "pid-rank0", run_dir / "pid-rank1"], proc)
    os.kill(int((run_dir / "pid-rank1").read_text()), signal.SIGKILL)
    _, err = proc.communicate(timeout=60)  # no hang: the launcher stops process 0
    killed_s = time.perf_counter() - start
    assert proc.returncode == 1
    last_line = err.strip().splitlines()[-1]
    assert "training process 1 (pid" in last_line
    assert "was killed by SIGKILL; the launcher stopped the others" in last_line
    assert f"resume={run_dir.relative_to(tiny_project)}" in last_line
    assert len(run_dirs(tiny_project)) == 2  # one run dir for both processes, no per-rank dirs
    manifest, _ = load_checkpoint(run_dir)
    assert manifest["state"]["loop"]["global_step"] == 2  # mid-epoch checkpoint
    assert len(manifest["state"]["rng_ranks"]) == 2

    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    torchrun += ["--nproc-per-node", "2", "-m", "accel.cli", "train"]
    start_resume = time.perf_counter()
    resumed = subprocess.run(
        [*torchrun, *COMMON, "trainer.engine=accelerate", f"resume={run_dir}"],
        env=env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    resume_s = time.perf_counter() - start_resume
    assert resumed.returncode == 0, resumed.stderr[-8000:]
    assert resumed.stdout.count("test/accuracy") == 1  # the summary: process 0 only
    dirs = run_dirs(tiny_project)
    assert len(dirs) == 3  # processes 0 and 1 shared the one process 0 claimed
    [resumed_dir] = [d for d in dirs if d not in (reference_dir, run_dir)]
    config = yaml.safe_load((resumed_dir / "config.yaml").read_text())
    assert config["trainer"]["run_dir"] == str(resumed_dir.relative_to(tiny_project))
    weights = final_weights(resumed_dir)
    worst = max(float((weights[k] - reference[k]).abs().max()) for k in reference)
    assert worst < 1e-5, f"max abs weight difference vs one process: {worst}"
    print(f"killed run {killed_s:.1f} s, resumed run {resume_s:.1f} s, max abs diff {worst:.2e}")


def _wait_new_dir(root: Path, known: Path, proc: subprocess.Popen[str]) -> list[Path]:
    deadline = time.monotonic() + 60
    while True:
        new = [d for d in run_dirs(root) if d != known and (d / "config.yaml").is_file()]
        if new:
            return new
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_devices_with_the_torch_engine_is_one_line(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["train", "trainer.devices=2"]) == 2
    err = capsys.readouterr().err
    assert "trainer.devices=2 needs trainer.engine=accelerate (the torch engine runs one" in err


def test_fsdp_on_cpu_is_refused_before_any_process_starts(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = "trainer.engine={name: accelerate, strategy: fsdp}"
    assert cli(["train", engine, "trainer.devices=2", "trainer.device=cpu"]) == 2
    assert "strategy='fsdp' needs CUDA GPUs (device is cpu)" in capsys.readouterr().err


def test_bad_devices_value_names_the_key(tiny_project: Path) -> None:
    assert cli(["train", "trainer.devices=two"]) == 2
