"""Tags that say where a run comes from: git commit and dirty state, versions, host, overrides."""

from __future__ import annotations

import getpass
import json
import platform
import socket
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path

TRACKED_PACKAGES = ("torch", "torchvision", "mlflow", "numpy", "onnx", "onnxruntime")


def git_tags(directory: Path | None = None) -> dict[str, str]:
    """`git.commit`, `git.dirty`, `git.branch` (and MLflow's own commit tag); {} outside git."""
    cwd = str(directory or Path.cwd())
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return {}
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or ""
    tags = {
        "git.commit": commit,
        "git.dirty": "true" if status.strip() else "false",
        "mlflow.source.git.commit": commit,
    }
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    if branch:
        tags["git.branch"] = branch
    return tags


def _git(args: list[str], cwd: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def version_tags() -> dict[str, str]:
    """`versions.<package>` for python, every accel-* distribution and the main libraries."""
    tags = {"versions.python": platform.python_version()}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.startswith("accel-"):
            tags[f"versions.{name}"] = dist.version
    for name in TRACKED_PACKAGES:
        try:
            tags[f"versions.{name}"] = version(name)
        except PackageNotFoundError:
            continue
    return tags


def host_tags() -> dict[str, str]:
    """Host name, platform, user and command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "host.name": socket.gethostname(),
        "host.platform": platform.platform(),
        "mlflow.user": user,
        "mlflow.source.name": " ".join(sys.argv)[:500] or "python",
    }


def override_tags(overrides: Sequence[str] | None) -> dict[str, str]:
    """The command-line overrides as one JSON list (`accel.overrides`)."""
    if not overrides:
        return {}
    return {"accel.overrides": json.dumps(list(overrides))}
