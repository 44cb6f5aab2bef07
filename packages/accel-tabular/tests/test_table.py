from __future__ import annotations

from pathlib import Path

import pytest

from accel.core.errors import ConfigError
from accel.tabular.table import read_csv, sklearn_table


def test_read_csv_keeps_cells_as_text_with_their_file_lines(table_csv: Path) -> None:
    table = read_csv(table_csv)
    assert table.names == ["size", "colour", "fresh", "label"]
    assert len(table) == 240
    assert table.columns["size"][7] == "huge"
    assert table.where(7) == "row 8 (line 9)"


def test_read_csv_names_a_short_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ConfigError, match=r"line 3 has 1 cells, the header has 2"):
        read_csv(path)


def test_read_csv_refuses_a_missing_file_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such CSV file"):
        read_csv(tmp_path / "nothing.csv")
    path = tmp_path / "dup.csv"
    path.write_text("a,a\n1,2\n")
    with pytest.raises(ConfigError, match="unique"):
        read_csv(path)


def test_sklearn_tables_name_classes_or_keep_numbers() -> None:
    wine, target = sklearn_table("wine")
    assert len(wine) == 178
    assert target == "target"
    assert set(wine.columns["target"]) == {"class_0", "class_1", "class_2"}
    diabetes, _ = sklearn_table("diabetes")
    assert float(diabetes.columns["target"][0]) == 151.0
