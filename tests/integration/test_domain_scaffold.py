"""A project scaffolded with a domain package installed gets that package's configs too:
the group indexes list them, `accel configure configure` copies them, and `accel configure
status` knows a copied one replaces a packaged option."""

from __future__ import annotations

from pathlib import Path

from accel.cli.main import run


def accel(*args: str) -> int:
    try:
        return run(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_the_index_lists_a_domain_packages_configs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert accel("configure", "init") == 0
    index = (tmp_path / "configs" / "data" / "INDEX.md").read_text()
    assert "| diabetes | packaged default |" in index  # accel-tabular's
    assert "| digits | packaged default |" in index  # accel-cli's own


def test_copied_domain_configs_replace_packaged_options(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert accel("configure", "configure") == 0
    configs = tmp_path / "configs"
    assert (configs / "data" / "wine.yaml").is_file()
    assert (configs / "model" / "mlp.yaml").is_file()
    capsys.readouterr()
    assert accel("configure", "status") == 0
    status = capsys.readouterr().out
    line = next(x for x in status.splitlines() if "data/wine.yaml" in x)
    assert "replaces a packaged option" in line
