import math
from array import array

from accel.mlflow.columns import decode, encode, encode_columns, metric_rows, new_column


def test_a_column_round_trips_exactly_including_non_finite_values():
    values = array("d", [0.1, -2.5e-300, math.inf, -math.inf, 1 / 3])
    assert decode(encode(values), "d").tolist() == values.tolist()
    nan = decode(encode(array("d", [math.nan])), "d")[0]
    assert math.isnan(nan)


def test_columns_are_little_endian_on_disk():
    assert encode(array("q", [1])) == "AQAAAAAAAAA="  # bytes 01 00 .. 00


def test_metric_rows_yield_name_value_timestamp_step():
    column = new_column()
    for step in (3, 4):
        column[0].append(step)
        column[1].append(step / 10)
        column[2].append(1000 + step)
    rows = list(metric_rows(encode_columns({"train/loss": column})))
    assert rows == [("train/loss", 0.3, 1003, 3), ("train/loss", 0.4, 1004, 4)]
