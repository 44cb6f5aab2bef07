"""The MLflow client settings accel's senders run with, without touching the user's environment.

MLflow reads these from environment variables at call time. The training process never talks
to MLflow (a sender process does), so the settings go into that process's environment when it
starts; `accel mlflow sync`, which sends in-process, sets them only while it runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def client_settings(uri: str, http_retries: int) -> dict[str, str]:
    """What a sender sets, unless the user's environment already says otherwise."""
    # the sender runs in the background: MLflow's "View run at" print would land in the
    # middle of a progress bar (or a JSON on stdout); the run id is logged instead
    settings = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
    if uri.startswith(("http://", "https://")):
        # the spool owns retrying: MLflow's own default retries for minutes per request
        settings["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(http_retries)
        settings["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
    return {k: v for k, v in settings.items() if k not in os.environ}


def sender_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a sender process: this one's, plus `settings`."""
    return {**os.environ, **settings}


@contextmanager
def client_environment(settings: Mapping[str, str]) -> Iterator[None]:
    """`settings` in os.environ for the block (an in-process sender), restored afterwards."""
    added = {k: v for k, v in settings.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
