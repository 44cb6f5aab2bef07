"""Packaged configs of an installed domain package, found through `accel.configs`."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.config.compose import PACKAGED_DIR, compose, domain_config_dirs


@pytest.fixture
def domain_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real (tiny) installed distribution: a package with a conf folder and a dist-info
    whose entry point names it."""
    site = tmp_path / "site"
    conf = site / "toy_domain" / "conf"
    (conf / "data").mkdir(parents=True)
    (site / "toy_domain" / "__init__.py").write_text("")
    (conf / "__init__.py").write_text("")
    (conf / "data" / "toy_table.yaml").write_text("name: toy_table\nrows: 12\n")
    (conf / "data" / "digits.yaml").write_text("name: not_digits\n")  # a clash accel-cli wins
    info = site / "toy_domain-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-domain\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[accel.configs]\ntoy-domain = toy_domain.conf\n")
    monkeypatch.syspath_prepend(str(site))
    return conf


def test_a_domain_package_config_is_a_group_option(workdir: Path, domain_package: Path) -> None:
    assert domain_package.resolve() in domain_config_dirs()
    config = compose(["data=toy_table"])
    assert (config.data.name, config.data.rows) == ("toy_table", 12)


def test_accel_cli_and_project_files_win_over_a_domain_package(
    workdir: Path, domain_package: Path
) -> None:
    assert compose(["data=digits"]).data.name == "digits"
    (workdir / "configs" / "data").mkdir(parents=True)
    (workdir / "configs" / "data" / "toy_table.yaml").write_text("name: toy_table\nrows: 3\n")
    assert compose(["data=toy_table"]).data.rows == 3


def test_an_entry_point_that_names_no_folder_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[accel.configs]\nbroken = no_such_module.conf\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert PACKAGED_DIR not in domain_config_dirs()
    assert all(folder.is_dir() for folder in domain_config_dirs())
