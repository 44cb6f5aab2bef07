"""The architecture a state dict goes into: by the user's name, or from a file's spec."""

from __future__ import annotations

import pytest
from torch import nn

from accel.compress.arch import build_arch
from accel.core.errors import ConfigError
from accel.core.registry import registry
from accel.core.trust import UntrustedFileError


class NotAModule:
    def forward(self, x: object) -> object:
        return x

    def parameters(self) -> list[object]:
        return []

    def state_dict(self) -> dict[str, object]:
        return {}


def test_the_users_name_and_a_files_registry_name_build() -> None:
    with registry("models").registered("test_arch_mlp", lambda: nn.Linear(2, 2)):
        assert isinstance(build_arch("test_arch_mlp"), nn.Linear)
        model = build_arch({"name": "test_arch_mlp"}, source="pruned/channels.json")
        assert isinstance(model, nn.Linear)


def test_a_files_target_is_refused_naming_the_file() -> None:
    spec = {"_target_": "torch.nn.Linear", "in_features": 2, "out_features": 2}
    with pytest.raises(UntrustedFileError, match=r"^pruned/channels.json: arch._target_"):
        build_arch(spec, source="pruned/channels.json")


def test_something_that_is_no_torch_module_is_one_line() -> None:
    with (
        registry("models").registered("test_arch_fake", NotAModule),
        pytest.raises(
            ConfigError, match=r"--arch 'test_arch_fake' built a NotAModule, not a torch"
        ),
    ):
        build_arch("test_arch_fake")


def test_a_bare_family_name_is_a_registry_name_with_a_hint() -> None:
    def needs_a_name(name: str) -> nn.Module:
        return nn.Linear(2, 2)

    with (
        registry("models").registered("timm", needs_a_name),
        pytest.raises(ConfigError, match=r"\(for timm's own names: --arch timm:NAME\)$"),
    ):
        build_arch("timm")
