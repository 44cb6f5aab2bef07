"""Report files: Markdown table, plot, JSON."""

from __future__ import annotations

import json
from pathlib import Path

from accel.compress.report import human_bytes, int8_choice, markdown, write_report

STEP = {
    "name": "original",
    "status": "applied",
    "accuracy": 0.99,
    "output_error": 0.0,
    "seconds": 0,
    "analysis": {
        "params": 1000,
        "macs": 5000,
        "size_bytes": 4096,
        "latency": {"1": {"median_ms": 1.5}, "32": {"median_ms": 10.0}},
    },
}
QUANT = {
    **STEP,
    "name": "quantize",
    "accuracy": 0.985,
    "output_error": 0.01,
    "notes": ["6 Conv layer(s) kept in float"],
    "analysis": {**STEP["analysis"], "size_bytes": 1024},
}


def test_markdown_has_one_row_per_step_and_the_notes() -> None:
    text = markdown({"model": "m.pt", "threads": 2, "repeats": 5, "steps": [STEP, QUANT]})
    assert "| original | applied | 1,000 | 5,000 | 4.0 KB | 1.50 | 10.00 | 99.00% |" in text
    assert "| quantize | applied |" in text
    assert "1.0 KB" in text
    assert "- quantize: 6 Conv layer(s) kept in float" in text


def test_write_report_writes_json_markdown_and_png(tmp_path: Path) -> None:
    paths = write_report({"model": "m", "steps": [STEP, QUANT]}, tmp_path)
    assert json.loads(paths[0].read_text())["steps"][1]["name"] == "quantize"
    assert paths[2].read_bytes()[:4] == b"\x89PNG"


def png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR chunk's width


def test_the_plot_shows_the_int8_candidates_with_the_chosen_one(tmp_path: Path) -> None:
    candidates = [
        {"candidate": "ORT static QDQ", "output_error": 0.02, "ms": 4.0, "batch": 32},
        {"candidate": "ORT dynamic MatMul/Gemm", "output_error": 0.01, "ms": 3.0, "batch": 32},
    ]
    chose = {**QUANT, "metrics": {"mode": "dynamic", "int8_candidates": candidates}}
    assert int8_choice([STEP, chose]) == (chose, "ORT dynamic MatMul/Gemm")
    assert int8_choice([STEP, QUANT])[0] is None
    plain = write_report({"model": "m", "steps": [STEP, QUANT]}, tmp_path / "plain")[2]
    both = write_report({"model": "m", "steps": [STEP, chose]}, tmp_path / "both")[2]
    assert png_width(both) == png_width(plain) * 3 // 2  # a third panel
    assert "| ORT dynamic MatMul/Gemm | 0.01 | 3.00 | 32 | yes |" in markdown(
        {"model": "m", "steps": [STEP, chose]}
    )


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 2**20) == "3.0 MB"
    assert human_bytes(None) == "–"
