"""`accel add`: config file, plugin skeleton with its entry point, index; usable at once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from cli_helpers import cli

from accel.cli.scaffold.add import add_component, add_entry_point, plugin_package
from accel.core.errors import ConfigError


def entry_points(root: Path) -> dict[str, dict[str, str]]:
    data = tomllib.loads((root / "plugins" / "pyproject.toml").read_text())
    return data["project"]["entry-points"]


def test_add_loss_writes_config_plugin_entry_point_and_index(workdir: Path) -> None:
    written = add_component("loss", "my_loss", workdir)
    package = plugin_package(workdir)
    assert yaml.safe_load((workdir / "configs/loss/my_loss.yaml").read_text())["name"] == "my_loss"
    module = workdir / "plugins" / "src" / package / "losses" / "my_loss.py"
    assert "class MyLoss(nn.Module)" in module.read_text()
    target = f"{package}.losses.my_loss:MyLoss"
    assert entry_points(workdir) == {"accel.losses": {"my_loss": target}}
    assert (
        "| my_loss | project: loss/my_loss.yaml |"
        in (workdir / "configs/loss/INDEX.md").read_text()
    )
    assert module in written


def test_added_loss_trains_at_once(tiny_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["add", "loss", "my_loss"]) == 0
    (tiny_project / "configs" / "loss" / "my_loss.yaml").write_text("name: my_loss\nweight: 2.0\n")
    assert cli(["train", "loss=my_loss", "trainer.max_epochs=1", "~callbacks.progress"]) == 0
    assert "test/loss" in capsys.readouterr().out


def test_added_model_and_callback_build(workdir: Path) -> None:
    from accel.cli.project_plugins import load_project_plugins
    from accel.core.registry import build

    add_component("model", "tiny_cnn", workdir)
    add_component("callback", "shout", workdir)
    assert set(load_project_plugins(workdir)) >= {"models/tiny_cnn", "callbacks/shout"}
    import torch

    model = build("models", {"name": "tiny_cnn", "in_channels": 1, "num_classes": 3})
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 3)
    callback = build("callbacks", "shout")
    assert callback.priority == "normal"
    callbacks_cfg = yaml.safe_load((workdir / "configs/callbacks/shout.yaml").read_text())
    assert callbacks_cfg["defaults"] == ["default", "_self_"]
    assert len(entry_points(workdir)) == 2


def test_add_optimizer_preset_extends_a_packaged_one(workdir: Path) -> None:
    from accel.cli.config.compose import compose

    add_component("optimizer", "fast_sgd", workdir, base="sgd")
    text = (workdir / "configs/optimizer/fast_sgd.yaml").read_text()
    assert "- sgd" in text
    assert compose(["optimizer=fast_sgd"]).optimizer.momentum == 0.9
    assert not (workdir / "plugins").exists()


def test_add_scheduler_from_registry_name(workdir: Path) -> None:
    add_component("scheduler", "steps", workdir, base="step")
    assert (workdir / "configs/scheduler/steps.yaml").read_text() == "name: step\n"


def test_add_optimizer_from_a_dotted_path(workdir: Path) -> None:
    add_component("optimizer", "plain_sgd", workdir, base="torch.optim.SGD")
    text = (workdir / "configs/optimizer/plain_sgd.yaml").read_text()
    assert yaml.safe_load(text) == {"_target_": "torch.optim.SGD"}


@pytest.mark.parametrize(
    "base",
    ["x\n_target_: os.system", "sgd\nlr: 1", "../sgd", "a..b", "sgd: {}", "x y", "1abc", ""],
)
def test_a_base_that_is_not_a_name_writes_nothing(base: str, workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"--base .* must be a registry name .* or a dotted path"):
        add_component("optimizer", "fast", workdir, base=base)
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("widget", "x", "unknown kind 'widget'; valid kinds: model, loss"),
        ("loss", "MyLoss", "name 'MyLoss' must be lower_snake_case"),
        ("loss", "2fast", "must be lower_snake_case"),
        ("loss", "my-loss", "must be lower_snake_case"),
        ("loss", "../x", "must be lower_snake_case"),
        ("loss", "a\nb", "must be lower_snake_case"),
        ("loss", "import", "a Python identifier"),
        ("loss", "x" * 65, "of up to 64 characters"),
    ],
)
def test_add_rejects_bad_requests(kind: str, name: str, message: str, workdir: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        add_component(kind, name, workdir)


def test_add_refuses_to_overwrite(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["add", "loss", "twice"]) == 0
    assert cli(["add", "loss", "twice"]) == 2
    assert "exists already; pick another name" in capsys.readouterr().err


def test_entry_point_table_is_reused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    add_entry_point(pyproject, "accel.losses", "a", "m:A")
    add_entry_point(pyproject, "accel.losses", "b", "m:B")
    data = tomllib.loads(pyproject.read_text())
    assert data["project"]["entry-points"]["accel.losses"] == {"a": "m:A", "b": "m:B"}


def test_plugin_package_name_from_folder(tmp_path: Path) -> None:
    root = tmp_path / "My Project-2"
    root.mkdir()
    assert plugin_package(root) == "my_project_2_plugins"
    digits = tmp_path / "42"
    digits.mkdir()
    assert plugin_package(digits) == "p_42_plugins"
