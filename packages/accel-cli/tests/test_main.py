"""The root command: versions, exit codes, lazy contributed commands, a fast `--help`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from accel.cli.main import one_line, run
from accel.cli.versions import installed_accel_versions


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        run(argv)
    return int(exit_info.value.code or 0)


def test_version_lists_installed_accel_packages(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"]) == 0
    out = capsys.readouterr().out
    assert "accel-core 0.1.0" in out
    assert "accel-cli 0.1.0" in out
    assert "accel-workspace" not in out


def test_installed_versions_are_sorted_and_accel_only() -> None:
    versions = installed_accel_versions()
    assert list(versions) == sorted(versions)
    assert all(name.lower().startswith("accel-") for name in versions)


def test_missing_compress_package_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from accel.core.registry import registry

    if "compress" in registry("commands"):
        pytest.skip("accel-compress is installed here")
    assert run_cli(["compress", "model.pt"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: accel compress needs accel-compress: pip install accel-compress"


def test_absent_first_party_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from accel.cli import lazy_group

    monkeypatch.setitem(lazy_group.FIRST_PARTY_COMMANDS, "quantum", "accel-quantum")
    assert run_cli(["--help"]) == 0
    assert "Not installed: pip install accel-quantum" in capsys.readouterr().out
    assert run_cli(["quantum"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: accel quantum needs accel-quantum: pip install accel-quantum"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("train", "test", "add", "configure", "registry", "compress"):
        assert name in out


def test_config_error_exits_2_on_one_line(
    tiny_project: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["train", "optimizer.lrr=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: optimizer.lrr: no such key")


def test_one_line_folds_newlines() -> None:
    assert one_line(ValueError("a\n  b\nc")) == "a b c"


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["add", "--help"]])
def test_help_does_not_import_torch_or_hydra(argv: list[str]) -> None:
    code = (
        "import sys\nfrom accel.cli.main import run\n"
        f"try:\n    run({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'hydra', 'omegaconf') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
