"""Shared fixtures: a small CSV with a categorical column, missing values and a bad row."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
if str(TESTS) not in sys.path:  # tabular_helpers beside the tests
    sys.path.insert(0, str(TESTS))

from tabular_helpers import write_csv  # noqa: E402


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "fruit.csv")
