"""Completion of overrides."""

from __future__ import annotations

from pathlib import Path

from accel.cli.completion import complete_override, group_option_names


def test_groups_complete_with_equals() -> None:
    assert complete_override("opt") == ["optimizer="]
    assert "trainer=" in complete_override("")


def test_group_options_from_files_and_registry(workdir: Path) -> None:
    (workdir / "configs" / "optimizer").mkdir(parents=True)
    (workdir / "configs" / "optimizer" / "mine.yaml").write_text("name: sgd\n")
    names = group_option_names("optimizer")
    assert {"sgd", "adamw", "adam", "mine"} <= set(names)
    assert complete_override("optimizer=ad") == [
        "optimizer=adagrad",
        "optimizer=adam",
        "optimizer=adamw",
    ]


def test_unknown_group_completes_nothing() -> None:
    assert complete_override("optimiser=s") == []
