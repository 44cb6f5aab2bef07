"""Config-value overrides (`key=v`, `+key=v`, `++key=v`, `~key`) applied to a composed config.

Hydra applies these itself after composing the defaults list; a sweep composes each distinct
set of group choices once and applies each job's values here, with the same meaning and the
same errors, through OmegaConf's and Hydra's public APIs only.
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.types import Override
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException


def apply_value_overrides(config: DictConfig, overrides: list[Override]) -> None:
    """Apply each override in order; an unknown key, a clash or a bad value is a Hydra
    ConfigCompositionException (its cause says which key, for the one-line message)."""
    for override in overrides:
        if override.package is not None:
            raise ConfigCompositionException(
                f"Override {override.input_line} looks like a config group override, but config "
                f"group '{override.key_or_group}' does not exist."
            )
        try:
            _apply(config, override, override.key_or_group, override.value())
        except OmegaConfBaseException as error:
            raise ConfigCompositionException(
                f"Error merging override {override.input_line}"
            ) from error


def _apply(config: DictConfig, override: Override, key: str, value: Any) -> None:
    if override.is_delete():
        _delete(config, override, key, value)
    elif override.is_force_add():  # ++key: add or replace
        OmegaConf.update(config, key, value, merge=True, force_add=True)
    elif override.is_add():  # +key: only where nothing is (mappings and lists merge)
        if _current(config, key) is not None and not isinstance(value, dict | list):
            line = override.input_line or f"+{key}"
            raise ConfigCompositionException(
                f"Could not append to config. An item is already at '{key}'. Either remove + "
                f"prefix: '{line[1:]}' Or add a second + to add or override '{key}': '+{line}'"
            )
        OmegaConf.update(config, key, value, merge=True, force_add=True)
    else:  # key=value: the key must exist (the config is in struct mode)
        try:
            OmegaConf.update(config, key, value, merge=True)
        except (ConfigAttributeError, ConfigKeyError) as error:
            raise ConfigCompositionException(
                f"Could not override '{key}'.\nTo append to your config use +{override.input_line}"
            ) from error


def _delete(config: DictConfig, override: Override, key: str, value: Any) -> None:
    current = _current(config, key)
    if current is None:
        raise ConfigCompositionException(f"Could not delete from config. '{key}' does not exist.")
    if value is not None and value != current:
        raise ConfigCompositionException(
            f"Could not delete from config. The value of '{key}' is {current} and not {value}."
        )
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(config, parent_key) if parent_key else config
    with open_dict(config):
        del parent[leaf]


def _current(config: DictConfig, key: str) -> Any:
    return OmegaConf.select(config, key, throw_on_missing=False)
