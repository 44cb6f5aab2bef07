"""The registry: lazy discovery from real entry points, the decorator, build, every error."""

from __future__ import annotations

import sys

import pytest

from accel.core.errors import (
    ConfigError,
    DuplicateNameError,
    PluginLoadError,
    ProtocolError,
    UnknownNameError,
)
from accel.core.registry import KINDS, Registry, build, import_target, register, registry

LOSS_MODULE = """
class Half:
    '''Half the absolute difference.'''
    def __init__(self, scale=0.5):
        self.scale = scale
    def __call__(self, prediction, target):
        return self.scale * abs(prediction - target)

class NotALoss:
    pass
"""


def test_every_kind_has_a_registry_named_after_its_group() -> None:
    assert [registry(kind).group for kind in KINDS] == [f"accel.{kind}" for kind in KINDS]


def test_unknown_kind_lists_kinds_and_suggests() -> None:
    with pytest.raises(
        UnknownNameError, match=r"no registry kind 'lossess'.*Did you mean 'losses'"
    ):
        registry("lossess")


def test_core_registers_torch_optimizers_and_schedulers_without_importing_them() -> None:
    assert {"sgd", "adamw"} <= set(registry("optimizers").names())
    assert {"cosine", "onecycle", "plateau"} <= set(registry("schedulers").names())
    entry = registry("optimizers").entry("sgd")
    assert (entry.target, entry.distribution) == ("torch.optim:SGD", "accel-core")


def test_listing_a_plugin_does_not_import_it(make_plugin) -> None:
    make_plugin(
        "accel-demo", {"accel.losses": {"half": "demo_losses:Half"}}, {"demo_losses": LOSS_MODULE}
    )
    assert "half" in registry("losses").names()
    assert registry("losses").entry("half").distribution == "accel-demo"
    assert "demo_losses" not in sys.modules
    registry("losses").get("half")
    assert "demo_losses" in sys.modules


def test_build_by_name_passes_kwargs_and_checks_protocol(make_plugin) -> None:
    make_plugin(
        "accel-demo", {"accel.losses": {"half": "demo_losses:Half"}}, {"demo_losses": LOSS_MODULE}
    )
    loss = build("losses", {"name": "half", "scale": 2.0})
    assert loss(3.0, 1.0) == 4.0


def test_build_by_dotted_target(make_plugin) -> None:
    make_plugin("accel-demo", {}, {"demo_losses": LOSS_MODULE})
    assert build("losses", {"_target_": "demo_losses.Half"})(1.0, 0.0) == 0.5
    assert build("losses", {"_target_": "demo_losses:Half", "scale": 1})(1.0, 0.0) == 1


def test_unknown_name_lists_names_and_suggests_closest(make_plugin) -> None:
    make_plugin(
        "accel-demo", {"accel.losses": {"half": "demo_losses:Half"}}, {"demo_losses": LOSS_MODULE}
    )
    with pytest.raises(
        UnknownNameError,
        match=r"accel\.losses has no 'hlaf'\. Available names: .*half.*Did you mean 'half'\?",
    ):
        build("losses", {"name": "hlaf"})


def test_plugin_that_fails_to_import_names_distribution_entry_point_and_error(make_plugin) -> None:
    make_plugin(
        "accel-broken",
        {"accel.models": {"broken": "broken_models:Net"}},
        {"broken_models": "import not_a_real_module_xyz\n"},
    )
    with pytest.raises(
        PluginLoadError,
        match=r"accel\.models entry point 'broken' of accel-broken \(broken_models:Net\) failed "
        r"to load: ModuleNotFoundError: No module named 'not_a_real_module_xyz'",
    ):
        registry("models").get("broken")


def test_two_distributions_with_one_name_name_both_owners(make_plugin) -> None:
    make_plugin("accel-one", {"accel.losses": {"dup": "one_mod:Half"}}, {"one_mod": LOSS_MODULE})
    make_plugin("accel-two", {"accel.losses": {"dup": "two_mod:Half"}}, {"two_mod": LOSS_MODULE})
    with pytest.raises(
        DuplicateNameError, match=r"'dup' is provided by accel-(one|two) .* and accel-(one|two) "
    ):
        registry("losses").get("dup")


def test_decorator_registers_user_component_and_rejects_duplicates() -> None:
    reg = Registry("losses")

    @reg.register("mine")
    class Mine:
        def __call__(self, prediction: float, target: float) -> float:
            return prediction - target

    assert reg.build("mine")(3.0, 1.0) == 2.0
    assert reg.get("mine") is Mine
    assert reg.entry("mine").distribution == "<local>"
    with pytest.raises(DuplicateNameError, match=r"'mine' is provided by <local> .*override=True"):
        reg.add("mine", Mine)
    reg.add("mine", abs, override=True)
    assert reg.get("mine") is abs


def test_decorator_cannot_shadow_an_installed_name_silently() -> None:
    with pytest.raises(
        DuplicateNameError, match=r"'sgd' is provided by accel-core \(torch.optim:SGD\)"
    ):
        register("optimizers", "sgd")(object)


def test_module_level_register_adds_to_the_shared_registry() -> None:
    @register("transforms", "test_double")
    class Double:
        def __call__(self, sample: float) -> float:
            return 2 * sample

    try:
        assert build("transforms", "test_double")(2.0) == 4.0
        assert registry("transforms").get("test_double") is Double
    finally:
        registry("transforms").remove("test_double")


def test_built_object_missing_protocol_members_is_rejected_with_names(make_plugin) -> None:
    make_plugin(
        "accel-demo",
        {"accel.losses": {"bad": "demo_losses:NotALoss"}},
        {"demo_losses": LOSS_MODULE},
    )
    with pytest.raises(
        ProtocolError, match=r"losses 'bad' built a NotALoss that is not a Loss: missing __call__"
    ):
        build("losses", "bad")


def test_optimizer_built_from_config_with_params() -> None:
    import torch

    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build("optimizers", {"name": "sgd", "lr": 0.5}, params=params)
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_unexpected_config_argument_lists_accepted_ones(make_plugin) -> None:
    make_plugin(
        "accel-demo", {"accel.losses": {"half": "demo_losses:Half"}}, {"demo_losses": LOSS_MODULE}
    )
    with pytest.raises(
        ConfigError, match=r"losses 'half': unexpected argument 'sclae'; accepted: scale"
    ):
        build("losses", {"name": "half", "sclae": 1})


def test_both_name_and_target_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"received both name='sgd' and _target_='x.Y'\. Choose one\."
    ):
        build("optimizers", {"name": "sgd", "_target_": "x.Y"})


def test_spec_without_name_or_target_lists_names() -> None:
    with pytest.raises(
        ConfigError, match=r"optimizers: a config needs 'name' \(one of: .*sgd.*\) or '_target_'"
    ):
        build("optimizers", {"lr": 0.1})


def test_spec_of_wrong_type_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"losses: expected a name or a mapping .* got int 3"):
        build("losses", 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nodots", r"not a dotted path"),
        ("no_such_module_xyz.Thing", r"cannot import 'no_such_module_xyz'"),
        ("collections.NoSuchThing", r"'collections' has no attribute 'NoSuchThing'"),
    ],
)
def test_bad_target_paths_are_named(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        import_target(path)


def test_refresh_sees_a_plugin_installed_later(make_plugin) -> None:
    assert "late" not in registry("losses")
    make_plugin(
        "accel-late", {"accel.losses": {"late": "late_mod:Half"}}, {"late_mod": LOSS_MODULE}
    )
    assert "late" in registry("losses")


def test_registered_adds_for_a_block_and_remove_forgets() -> None:
    class Triple:
        def __call__(self, sample: float) -> float:
            return 3 * sample

    with registry("transforms").registered("test_triple", Triple):
        assert build("transforms", "test_triple")(2.0) == 6.0
        assert "test_triple" in registry("transforms").local_names()
    assert "test_triple" not in registry("transforms")
    with pytest.raises(ConfigError, match=r"accel.transforms: no name 'test_triple' registered"):
        registry("transforms").remove("test_triple")
    with pytest.raises(ConfigError, match=r"no name 'compose' registered from code"):
        registry("transforms").remove("compose")  # installed entry points are not removed
