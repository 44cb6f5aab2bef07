"""The README's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.slow
def test_readme_example_runs() -> None:
    [code] = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    exec(compile(code, str(README), "exec"), {})  # the example asserts its own accuracy
