"""The architecture a state dict is loaded into: the user's `--arch`, or a spec read from a file
(a pruned model's `channels.json`), built under accel-core's loading policy.

`--arch` is a name in accel's registry (`accel registry list models`) or a library's own model,
`torchvision:NAME` / `timm:NAME` with optional `,KEY=VALUE` arguments (`accel.compress.families`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from accel.compress.families import FAMILIES, build_family, families, family_hint, is_family_arch
from accel.core.errors import ConfigError, UnknownNameError


def build_arch(arch: Any, *, source: str | None = None, key: str = "arch") -> nn.Module:
    """The architecture `arch` names: the user's `--arch` text, or (with `source`) a spec read
    from that file, built under the loading policy. A family text (`timm:resnet18`) holds no
    code to import, so a file may name one too."""
    where = "--arch" if source is None else f"{source}: {key}"
    if is_family_arch(arch):
        return build_family(arch, where)
    model = build_registered(arch, source, key)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{where} {arch!r} built a {type(model).__name__}, not a torch module")
    return model


def build_registered(arch: Any, source: str | None, key: str) -> Any:
    """A registry model; an unknown name or a bare family name also says how to name a
    library's model (`torchvision:NAME`)."""
    from accel.core.registry import build, build_from_file

    try:
        if source is None:
            return build("models", arch, config_key="--arch")
        return build_from_file("models", arch, source=source, key=key)
    except UnknownNameError as error:
        hint = family_hint(arch) or f"Or a library's model: {families()}"
        text = str(error).rstrip()
        raise UnknownNameError(f"{text}{'' if text.endswith(('.', '?')) else '.'} {hint}") from None
    except ConfigError as error:
        if isinstance(arch, str) and arch in FAMILIES:
            raise ConfigError(f"{error} (for {arch}'s own names: --arch {arch}:NAME)") from None
        raise
