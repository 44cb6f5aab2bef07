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
