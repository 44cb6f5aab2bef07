"""The root command: versions, exit codes, lazy contributed commands, a fast `--help`."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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


EXPLODES = [
    "model._target_=accel_cli_testkit.Explodes",
    "trainer.max_epochs=1",
    "~callbacks.progress",
]


def test_a_bug_is_one_line_saying_so(
    tiny_project: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ACCEL_DEBUG", raising=False)
    assert run_cli(["train", *EXPLODES]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: internal error: RuntimeError: runtimeerror from a component (please report "
        "it; set ACCEL_DEBUG=1 for the traceback)\n"
    )


def test_accel_debug_shows_the_traceback(
    tiny_project: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ACCEL_DEBUG", "1")
    assert run_cli(["train", *EXPLODES]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "in __new__" in err  # the component's own frame
    assert err.splitlines()[-1].startswith("error: internal error: RuntimeError")


def test_ctrl_c_is_not_an_internal_error(
    tiny_project: object, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["train", *EXPLODES, "+model.error=KeyboardInterrupt"])
    assert code == 130  # what click makes of Ctrl-C, as before
    assert "internal error" not in capsys.readouterr().err


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


@pytest.fixture
def full_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real 64 KiB filesystem (tmpfs), filled up; skipped where mounting is not allowed."""
    mount = tmp_path_factory.mktemp("disk")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    with contextlib.suppress(OSError), open(mount / "filler", "wb") as filler:
        filler.write(b"\0" * 2**20)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def test_a_full_disk_is_one_line_naming_the_file(
    tiny_project: object, full_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["train", f"trainer.run_dir={full_disk}/run", "trainer.max_epochs=1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: No space left on device: {full_disk}/run/"), err
    assert err.endswith("; free some space and run again\n")


def test_a_folder_that_cannot_be_made_is_one_line(
    tiny_project: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["train", "trainer.run_dir=/proc/accel/run", "trainer.max_epochs=1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert "/proc/accel" in err
    assert "internal error" not in err
