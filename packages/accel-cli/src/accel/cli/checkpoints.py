"""Open a checkpoint a user names on the command line (`ckpt=`), under the loading policy.

What the manifest alone tells is checked before a run directory is made: it is readable, no
`_target_` the policy refuses appears in the stored model spec or config, the spec names a
registered model. The weights are read once, when the model is loaded (accel-core checks their
shapes and refuses NaN there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accel.core.errors import ConfigError


def checkpoint_model_spec(ckpt: str) -> Any:
    """The model spec a checkpoint was trained with (None if it stores none), once its manifest
    passed the loading policy (no `_target_` it may not name, in its spec or stored config).
    Only the manifest is read here; the weights are read (and checked: shapes, NaN) once, when
    the model is loaded."""
    from accel.core.checkpoint import checkpoint_section, manifest_source, read_manifest

    manifest = read_manifest(ckpt)
    check_holds_weights(manifest)
    spec = checkpoint_section(manifest, "model.spec")
    checkpoint_section(manifest, "config")
    if spec is not None:
        check_stored_model(spec, manifest_source(manifest))
    return spec


def check_holds_weights(manifest: Mapping[str, Any]) -> None:
    """The manifest's state has a model entry (the weights it points at are read later)."""
    from accel.core.checkpoint import CheckpointError

    state = manifest.get("state")
    if not isinstance(state, Mapping) or not isinstance(state.get("model"), Mapping):
        raise CheckpointError(f"checkpoint {manifest.get('path')} holds no model weights")


def check_stored_model(spec: Any, source: str) -> None:
    """A stored model spec has the shape of a config's (`{name: ...}` of a registered model)."""
    from accel.cli.config.validate import check_component

    try:
        check_component("model", spec)
    except ConfigError as error:
        raise ConfigError(f"{source}: model.spec: {error}") from None
