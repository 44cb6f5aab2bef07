"""The page at `/`: try a served model in a browser (upload an image or edit a JSON tensor,
see the predictions and the latency). One self-contained HTML file: nothing is fetched from
elsewhere, so it works offline and behind a strict proxy."""

from __future__ import annotations

import html
import json
from importlib.resources import files


def render_page(models: list[str]) -> str:
    template = files("accel.serve").joinpath("page.html").read_text(encoding="utf-8")
    options = "".join(f'<option value="{html.escape(m)}">{html.escape(m)}</option>' for m in models)
    return template.replace("{{MODEL_OPTIONS}}", options).replace(
        "{{MODELS_JSON}}", html.escape(json.dumps(models))
    )
