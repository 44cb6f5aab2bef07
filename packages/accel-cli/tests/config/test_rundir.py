"""Run directories."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from accel.cli.config.rundir import claim_run_dir, log_to, save_run_files


def test_claim_adds_suffix_when_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCEL_RUN_DIR", raising=False)
    base = tmp_path / "runs" / "2026-01-01" / "12-00-00"
    assert claim_run_dir(base) == base
    assert claim_run_dir(base) == Path(f"{base}-1")
    assert claim_run_dir(base) == Path(f"{base}-2")


def test_claim_in_sweep_uses_job_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCEL_RUN_DIR", raising=False)
    base = tmp_path / "t"
    assert claim_run_dir(base, 0) == Path(f"{base}-0")
    assert claim_run_dir(base, 1) == Path(f"{base}-1")
    assert claim_run_dir(base, 1) == Path(f"{base}-1-1")


def test_child_process_reuses_parent_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCEL_RUN_DIR", str(tmp_path / "shared"))
    assert claim_run_dir(tmp_path / "other") == tmp_path / "shared"
    assert (tmp_path / "shared").is_dir()


def test_save_run_files(tmp_path: Path) -> None:
    save_run_files(tmp_path, {"seed": 1, "trainer": {"max_epochs": 2}}, ["seed=1"])
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["trainer"]["max_epochs"] == 2
    assert yaml.safe_load((tmp_path / "overrides.yaml").read_text()) == ["seed=1"]


def test_log_to_writes_and_detaches(tmp_path: Path) -> None:
    with log_to(tmp_path) as path:
        logging.getLogger("accel.test").info("hello run")
    logging.getLogger("accel.test").info("after")
    text = path.read_text()
    assert "hello run" in text
    assert "after" not in text
