"""Names that become paths stay one name inside their root."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.core.errors import ConfigError
from accel.core.names import check_inside, check_name, is_plain_name


@pytest.mark.parametrize("name", ["train", "prune_0.5", "epoch=007-step=0000160", "A-1", "_x"])
def test_safe_folder_names_pass(name: str) -> None:
    assert check_name(name, "pipeline.steps[0].name") == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "a/b", "a\\b", "x\ny", "-rf", ".hidden", "a..b", 3, None]
)
def test_unsafe_names_are_refused_naming_the_key(name: object) -> None:
    with pytest.raises(ConfigError, match=r"^pipeline.steps\[0\].name=.*expected a name of up to"):
        check_name(name, "pipeline.steps[0].name")


def test_identifiers_for_generated_code() -> None:
    assert check_name("my_loss", "NAME", identifier=True) == "my_loss"
    for bad in ("my-loss", "1loss", "x\n_target_: os.system", "a.b"):
        with pytest.raises(ConfigError, match="Python identifier"):
            check_name(bad, "NAME", identifier=True)


def test_is_plain_name() -> None:
    assert is_plain_name("epoch=000-step=0000020")
    assert not any(is_plain_name(n) for n in ("..", "a/b", "", "x\0", "x\n", 5))


def test_check_inside_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "run"
    (root / "steps").mkdir(parents=True)
    assert check_inside(root / "steps" / "a", root, "path") == (root / "steps" / "a").resolve()
    (root / "escape").symlink_to(tmp_path)
    for outside in (root / ".." / "x", root / "escape" / "x", Path("/etc/passwd")):
        with pytest.raises(ConfigError, match="expected a path inside"):
            check_inside(outside, root, "artifact.path")
