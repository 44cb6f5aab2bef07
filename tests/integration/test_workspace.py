"""The installed workspace as a whole: versions, the one rule, contributed CLI commands."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
# every folder of packages/ with a pyproject.toml: a new package is checked without edits here
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def test_every_package_has_its_own_nox_session() -> None:
    """noxfile.py's list (a `test-<package>` session each, the wheel checks) names them all."""
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    assert sorted(noxfile.PACKAGES) == PACKAGES


def pyproject(package: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())


def locked_versions() -> dict[str, str]:
    """The workspace members' versions as uv.lock records them (what `uv sync --locked`,
    i.e. CI and every nox session, installs)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {p["name"]: p["version"] for p in lock["package"] if "editable" in p["source"]}


@pytest.mark.parametrize("package", PACKAGES)
def test_installed_version_is_the_one_in_pyproject(package: str) -> None:
    """pyproject.toml is the one version source; uv.lock, the installed metadata and
    `__version__` must all say the same. A version bump without `uv lock` (CI's
    `--locked` sync then refuses), a stale environment, or a hard-coded `__version__`
    fails here."""
    declared = pyproject(package)["project"]["version"]
    assert locked_versions()[package] == declared, f"uv.lock is stale for {package}: run uv lock"
    assert version(package) == declared, f"the installed {package} is stale: run uv sync"
    module = __import__(f"accel.{package.removeprefix('accel-')}", fromlist=["__version__"])
    assert module.__version__ == declared


def accel_requirements() -> list[tuple[str, Requirement]]:
    """Every requirement on an accel package: in each package's dependencies and extras, in
    the workspace root, and in the pyproject that `accel add` writes for a user's plugins."""
    from accel.cli.scaffold.templates import PYPROJECT

    sources = {f"packages/{p}/pyproject.toml": pyproject(p)["project"] for p in PACKAGES}
    sources["pyproject.toml"] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    sources["accel add's pyproject"] = tomllib.loads(PYPROJECT.format(dist="x", package="x"))[
        "project"
    ]
    found = []
    for where, project in sources.items():
        extras = project.get("optional-dependencies", {}).values()
        for line in [*project.get("dependencies", []), *(d for e in extras for d in e)]:
            requirement = Requirement(line)
            if requirement.name.startswith("accel-"):
                found.append((where, requirement))
    return found


def test_every_requirement_on_a_sibling_admits_its_current_version() -> None:
    """A bump of accel-core past a sibling's range (or of a range past the version) would
    make the workspace unresolvable and `accel add`'s plugins uninstallable: name which."""
    current = {p: pyproject(p)["project"]["version"] for p in PACKAGES}
    requirements = accel_requirements()
    assert {r.name for _, r in requirements} == set(PACKAGES)  # the root names them all
    refused = [
        f"{where}: {requirement} excludes {requirement.name} {current[requirement.name]}"
        for where, requirement in requirements
        if not requirement.specifier.contains(current[requirement.name], prereleases=True)
    ]
    assert refused == []


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "accel-core"])
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
