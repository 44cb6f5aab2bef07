"""Value overrides applied to a composed config mean what they mean in Hydra."""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError

from accel.cli.config.apply import apply_value_overrides


def composed() -> DictConfig:
    config = OmegaConf.create({"seed": 0, "optimizer": {"name": "sgd", "lr": 0.1}})
    OmegaConf.set_struct(config, True)  # as Hydra leaves a composed config
    return config


def apply(*lines: str) -> DictConfig:
    config = composed()
    apply_value_overrides(config, OverridesParser.create().parse_overrides(list(lines)))
    return config


def test_set_add_force_add_and_delete() -> None:
    config = apply("optimizer.lr=0.01", "+optimizer.momentum=0.9", "++seed=3", "~optimizer.name")
    assert OmegaConf.to_container(config) == {"seed": 3, "optimizer": {"lr": 0.01, "momentum": 0.9}}


def test_setting_a_missing_key_names_it_and_how_to_add_it() -> None:
    with pytest.raises(
        ConfigCompositionException, match=r"To append to your config use \+opt"
    ) as e:
        apply("optimizer.lrr=1")
    assert isinstance(e.value.__cause__, ConfigAttributeError)  # the key, for the one line


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("+seed=1", r"An item is already at 'seed'. Either remove \+ prefix: 'seed=1'"),
        ("~nope", r"Could not delete from config. 'nope' does not exist"),
        ("~seed=5", r"The value of 'seed' is 0 and not 5"),
    ],
)
def test_clashes_are_refused(line: str, message: str) -> None:
    with pytest.raises(ConfigCompositionException, match=message):
        apply(line)
