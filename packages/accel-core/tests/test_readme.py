"""The README's library example runs as written and is at most 15 lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def library_example() -> str:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]


def test_readme_library_example_is_short() -> None:
    assert len(library_example().strip().splitlines()) <= 15


def test_readme_library_example_trains_validates_tests_and_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(library_example(), str(README), "exec"), namespace)
    fit, test = namespace["fit"], namespace["test"]
    assert isinstance(fit, dict)
    assert isinstance(test, dict)
    assert fit["val/accuracy"] > 0.9
    assert test["test/accuracy"] == pytest.approx(fit["val/accuracy"])
    assert (tmp_path / "runs/demo/checkpoints/last").is_file()
    assert (tmp_path / "runs/demo/metrics.jsonl").read_text().count('"kind": "epoch"') == 5


def test_readme_loading_policy_example_refuses_a_crafted_checkpoint_and_trusts_your_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core_tiny import TinyNet

    from accel.core.checkpoint import save_checkpoint

    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    crafted = {"model": {"_target_": "builtins.open", "file": str(marker), "mode": "w"}}
    save_checkpoint("downloaded/checkpoint", "c", {"model": {}}, config=crafted)
    own = {"model": {"_target_": "core_tiny.TinyNet"}}
    save_checkpoint("my/own/checkpoint", "c", {"model": TinyNet().state_dict()}, config=own)
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                 if "UntrustedFileError" in b)  # fmt: skip
    namespace: dict[str, object] = {}
    exec(compile(block, str(README), "exec"), namespace)
    assert not marker.exists()
    assert "model.spec._target_ = 'builtins.open' names code" in capsys.readouterr().out
    assert isinstance(namespace["model"], TinyNet)
