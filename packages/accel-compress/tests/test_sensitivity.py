"""Per-layer sensitivity: pruning one layer at a time on real data."""

from __future__ import annotations

from accel.compress.sensitivity import prunable_convs, sensitivity


def test_every_prunable_conv_gets_a_row_with_real_damage(resnet, digits) -> None:
    rows = sensitivity(resnet, digits.example, inputs=digits.calib[:2], eval_data=digits.test)
    assert [r["layer"] for r in rows] == prunable_convs(resnet)
    measured = [r for r in rows if not r.get("skipped")]
    assert len(measured) >= 4
    assert all(r["output_error"] > 0 for r in measured)
    assert all("accuracy_drop" in r for r in measured)
    assert max(r["accuracy_drop"] for r in measured) > 0  # some layer matters


def test_without_eval_data_only_output_error(resnet, digits) -> None:
    rows = sensitivity(resnet, digits.example, inputs=digits.calib[:1], max_layers=2)
    assert len(rows) == 2
    assert all("accuracy_drop" not in r for r in rows)
