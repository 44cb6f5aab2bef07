"""One `accel train` job composes its Hydra config once and checks its trainer keys once: the
config is checked, then run, from the same composition (each composition takes a quarter of a
second, and composing again could give a job a config other than the one checked)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli, run_dirs

import accel.cli.config.compose as compose_module
import accel.cli.config.load as load_module

# Registered names (no YAML file: registry-made group options) that need only accel-core, so
# the count holds with accel-cli alone; two steps of real training.
SMALL = [
    "model=test_count_net",
    "data=test_count_data",
    "trainer.max_epochs=1",
    "trainer.max_steps=2",
    "~callbacks.progress",
]


@pytest.fixture(autouse=True)
def tiny_components(workdir: Path) -> None:
    """The testkit's model and data as registered names (removed after each test)."""
    from accel_cli_testkit import TinyData, TinyNet

    from accel.core.registry import registry

    registry("models").add("test_count_net", TinyNet)
    registry("datasets").add("test_count_data", TinyData)


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Calls of Hydra's compose (through `hydra_compose`, the one function that makes them)
    per project folder, and of the trainer-option check, in this test."""
    seen: Counter[str] = Counter()
    compose_once = compose_module.hydra_compose
    check_trainer = load_module.check_trainer_options

    def counting_compose(overrides: list[str], project: Path) -> Any:
        seen[str(project)] += 1
        return compose_once(overrides, project)

    def counting_check(trainer: Any) -> None:
        seen["trainer check"] += 1
        check_trainer(trainer)

    monkeypatch.setattr(compose_module, "hydra_compose", counting_compose)
    monkeypatch.setattr(load_module, "check_trainer_options", counting_check)
    monkeypatch.setattr(load_module, "_PACKAGED", {})  # no composition cached by earlier tests
    return seen


def compositions(counts: Counter[str]) -> int:
    return sum(n for key, n in counts.items() if key != "trainer check")


def test_one_train_job_composes_once(workdir: Path, counts: Counter[str]) -> None:
    assert cli(["train", *SMALL]) == 0
    assert len(run_dirs(workdir)) == 1
    assert compositions(counts) == 1, counts
    assert counts["trainer check"] == 1


def test_a_sweep_of_values_composes_once(workdir: Path, counts: Counter[str]) -> None:
    """Two jobs that differ in values only share the composition of their group choices."""
    assert cli(["train", "-m", *SMALL, "seed=1,2"]) == 0
    assert len(run_dirs(workdir)) == 2
    assert compositions(counts) == 1, counts
    assert counts["trainer check"] == 2  # once per job


def test_a_project_job_composes_once(tiny_project: Path, counts: Counter[str]) -> None:
    """With project configs, the job is composed once; the packaged defaults (the reference
    for the types of its values) once more, and only the first time in a process."""
    assert cli(["train", "trainer.max_epochs=1", "~callbacks.progress"]) == 0
    assert counts[str(tiny_project / "configs")] == 1, counts
    assert counts[str(load_module.PACKAGED_ONLY)] == 1, counts
    assert counts["trainer check"] == 1


def test_accel_test_and_analyze_model_compose_once(workdir: Path, counts: Counter[str]) -> None:
    """They read the config first (for the checkpoint / the model), then run the job from the
    same composition."""
    assert cli(["train", *SMALL]) == 0
    [run_dir] = run_dirs(workdir)
    counts.clear()
    assert cli(["test", *SMALL[:2], f"ckpt={run_dir}", "~callbacks.progress"]) == 0
    assert compositions(counts) == 1, counts
    counts.clear()
    assert cli(["analyze-model", *SMALL[:2], "--runs", "1", "--layers", "0"]) == 0
    assert compositions(counts) == 1, counts
