"""`--arch torchvision:NAME` / `timm:NAME`: a library's model with random weights, then the
user's state dict (torch.save or safetensors) loaded into it; bad texts are one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from accel.compress.arch import build_arch
from accel.compress.families import build_family, parse_arch
from accel.compress.loading import load_model
from accel.compress.spec import save_pruned
from accel.core.errors import ConfigError, MissingPackageError, UnknownNameError

pytest.importorskip("torchvision")
pytest.importorskip("timm")


def torchvision_model(name: str) -> nn.Module:
    import torchvision

    return torchvision.models.get_model(name, weights=None, num_classes=10).eval()


def timm_model(name: str) -> nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, num_classes=10).eval()


MODELS = {
    "torchvision:resnet18,num_classes=10": lambda: torchvision_model("resnet18"),
    "torchvision:mobilenet_v3_small,num_classes=10": lambda: torchvision_model(
        "mobilenet_v3_small"
    ),
    "timm:resnet18,num_classes=10": lambda: timm_model("resnet18"),
}


def same_outputs(a: nn.Module, b: nn.Module) -> bool:
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        return torch.allclose(a(x), b(x), atol=1e-5)


def save(state: dict[str, torch.Tensor], path: Path) -> Path:
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("arch", MODELS)
def test_a_librarys_model_loads_a_state_dict(arch: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = MODELS[arch]()
    for name in ("weights.pt", "weights.safetensors"):
        path = save(model.state_dict(), tmp_path / name)
        assert same_outputs(model, load_model(path, arch=arch)), name


def test_wrapper_prefixes_are_stripped(tmp_path: Path) -> None:
    model = MODELS["torchvision:mobilenet_v3_small,num_classes=10"]()
    state = {f"module._orig_mod.{k}": v for k, v in model.state_dict().items()}
    path = save(state, tmp_path / "weights.safetensors")
    loaded = load_model(path, arch="torchvision:mobilenet_v3_small,num_classes=10")
    assert same_outputs(model, loaded)


def test_another_head_size_names_the_keys(tmp_path: Path) -> None:
    path = save(MODELS["timm:resnet18,num_classes=10"]().state_dict(), tmp_path / "w.pt")
    with pytest.raises(
        ConfigError, match=r"do not fit the architecture: shape fc.weight \[10, 512\] in the file"
    ):
        load_model(path, arch="timm:resnet18")


def test_a_pruned_folder_naming_a_family_rebuilds_it(tmp_path: Path) -> None:
    arch = "torchvision:mobilenet_v3_small,num_classes=10"
    model = MODELS[arch]()
    save_pruned(model, tmp_path / "pruned", arch)
    assert same_outputs(model, load_model(tmp_path / "pruned"))


def test_a_file_may_name_a_family_it_holds_no_code() -> None:
    model = build_arch("timm:resnet18,num_classes=3", source="recipe r.yaml")
    assert model.get_classifier().out_features == 3


def test_arguments_are_typed() -> None:
    spec = parse_arch("timm:resnet18, num_classes=10, drop_rate=0.5, global_pool=avg, x=true")
    assert spec.kwargs == {"num_classes": 10, "drop_rate": 0.5, "global_pool": "avg", "x": True}


BAD = {
    "torchvision:resnt18": r"torchvision has no model 'resnt18'; closest: resnet18.*"
    r"list all: .*torchvision.models.list_models\(\)",
    "timm:resnet_18": r"timm has no model 'resnet_18'; closest: .*resnet18.*timm.list_models\(\)",
    "timm:resnet18,num_classes=torch.nn.Linear": r"num_classes = 'torch.nn.Linear': expected an "
    r"int, a float, true/false or a plain word",
    "timm:resnet18,act_layer=/tmp/x": r"act_layer = '/tmp/x': expected",
    "timm:resnet18,pretrained=true": r"pretrained is not accepted: models are built with random",
    "torchvision:fasterrcnn_resnet50_fpn,weights_backbone=DEFAULT": r"weights_backbone is not acc",
    "timm:resnet18,checkpoint_path=x": r"checkpoint_path is not accepted",
    "timm:resnet18,num_classes": r"'num_classes' is not KEY=VALUE",
    "timm:resnet18,a=1,a=2": r"a is given twice",
    "timm:hf-hub:org/model": r"expected a model name after 'timm:'",
    "timm:": r"expected a model name after 'timm:'",
    "timm:resnet18,nope=1": r"^--arch timm:resnet18,nope=1: .*unexpected keyword argument 'nope'",
    "torchvision:resnet18," + "a=1," * 300: r"longer than 512 characters",
}


@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_bad_texts_are_one_line(text: str) -> None:
    with pytest.raises(ConfigError, match=BAD[text]) as caught:
        build_family(text)
    assert "\n" not in str(caught.value)


def test_plain_names_stay_registry_names_with_a_hint() -> None:
    with pytest.raises(UnknownNameError, match=r"A library's model: --arch torchvision:mobilenet"):
        build_arch("mobilenet_v3_large")
    with pytest.raises(UnknownNameError, match=r"Or a library's model: torchvision:NAME, timm"):
        build_arch("no_such_model_anywhere")


def test_a_missing_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(MissingPackageError, match=r"^--arch timm:resnet18 needs timm: pip install"):
        build_arch("timm:resnet18")
