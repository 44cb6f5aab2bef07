"""The installed workspace as a whole: versions, the one rule, contributed CLI commands."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["accel-core", "accel-cv", "accel-compress", "accel-cli", "accel-mlflow"]


@pytest.mark.parametrize("package", PACKAGES)
def test_installed_version_is_the_one_in_pyproject(package: str) -> None:
    pyproject = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())
    assert version(package) == pyproject["project"]["version"]
    module = __import__(f"accel.{package.removeprefix('accel-')}", fromlist=["__version__"])
    assert module.__version__ == version(package)


@pytest.mark.parametrize("package", PACKAGES[1:])
def test_siblings_depend_on_core_by_a_compatible_range_and_on_no_sibling(package: str) -> None:
    deps = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    ours = [d for d in deps if d.startswith("accel-")]
    assert ours == ["accel-core>=0.1,<0.2"]


def test_no_package_ships_the_namespace_init() -> None:
    assert not list(ROOT.glob("packages/*/src/accel/__init__.py"))


def test_version_flag_lists_every_installed_package() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "accel.cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert [line.split()[0] for line in out.splitlines()] == sorted(PACKAGES)
