"""Where runs go: `uri=`, else MLFLOW_TRACKING_URI, else a sqlite file in the project."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "mlflow.db"


def resolve_tracking_uri(uri: str | None = None, project_dir: Path | None = None) -> str:
    """The tracking URI to use; a local default is an absolute `sqlite:///.../mlflow.db`."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(Path(project_dir or Path.cwd()) / DEFAULT_DB).resolve()}"


def health_check(uri: str, timeout: float = 2.0) -> bool:
    """For an HTTP server, whether `/health` answers; other stores count as reachable."""
    if not uri.startswith(("http://", "https://")):
        return True
    import requests

    try:
        return requests.get(uri.rstrip("/") + "/health", timeout=timeout).ok
    except requests.RequestException:
        return False
