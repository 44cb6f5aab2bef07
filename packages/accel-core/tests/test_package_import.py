"""`import accel.core` stays cheap: the runtime (and torch) load only from submodules."""

from __future__ import annotations

import subprocess
import sys


def test_importing_accel_core_does_not_import_torch_or_the_runtime() -> None:
    code = (
        "import sys, accel.core; "
        "print(sorted(m for m in ('torch', 'rich', 'accel.core.runtime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
