"""`import accel.core` stays cheap: the runtime (and torch) load only from submodules.

The CLI imports the option dataclasses and the callback base class to check configs and to
scaffold projects; those must stay torch-free too.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "rich", "torchmetrics", "accel.core.runtime")


@pytest.mark.parametrize(
    "module", ["accel.core", "accel.core.options", "accel.core.events", "accel.core.callbacks"]
)
def test_light_modules_do_not_import_torch_or_the_runtime(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
