"""Register a logged model in the Model Registry and point an alias at it, idempotently."""

from __future__ import annotations

from typing import Any


def register_version(
    client: Any, name: str, source: str, run_id: str, record: dict[str, Any]
) -> str:
    """The version of `name` built from `source` (reused on replay), with `record['alias']`."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    existing = [
        v
        for v in client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
        if v.source == source
    ]
    version = existing[0] if existing else client.create_model_version(name, source, run_id)
    alias = record.get("alias")
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)
