"""The compression report: `report.json` (machines), `report.md` (people), `report.png` (plot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.compress.atomic import atomic_path, write_json, write_text
from accel.compress.extras import missing
from accel.compress.verify import percent

COLUMNS = (
    "step",
    "status",
    "params",
    "MACs",
    "size",
    "ms @1",
    "ms @32",
    "accuracy",
    "output error",
    "time (s)",
)
BATCHES = ("1", "32")  # the latency columns, unless the model was measured at other sizes


def write_report(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write the report files into `folder`; returns their paths. Without matplotlib (the
    `[plot]` extra) report.png is left out and the report says so: a plot is no reason to fail."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.json", folder / "report.md"]
    unplotted = missing("plot", "report.png")
    if unplotted:
        report["plot"] = unplotted  # "report.png needs 'accel-compress[plot]': pip install ..."
    write_json(paths[0], report)
    write_text(paths[1], markdown(report))
    if not unplotted:
        paths.append(folder / "report.png")
        plot(report, paths[2])
    return paths


def human_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def number(n: float | None, fmt: str = ",") -> str:
    return "–" if n is None else format(n, fmt)


def latency(step: dict[str, Any], batch: str) -> str:
    entry = (step.get("analysis") or {}).get("latency", {}).get(batch)
    return "–" if not entry else f"{entry['median_ms']:.2f}"


def measured_batches(report: dict[str, Any]) -> tuple[str, ...]:
    """The batch sizes the original was timed at (1 and 32, or a program's own sizes)."""
    steps = report.get("steps") or [{}]
    latencies = (steps[0].get("analysis") or {}).get("latency") or {}
    return tuple(sorted(latencies, key=int)) or BATCHES


def columns(batches: tuple[str, ...]) -> list[str]:
    timing = [f"ms @{b}" for b in batches]
    return [*COLUMNS[:5], *timing, *COLUMNS[7:]]


def row(step: dict[str, Any], batches: tuple[str, ...] = BATCHES) -> list[str]:
    a = step.get("analysis") or {}
    return [
        step["name"],
        step.get("status", ""),
        number(a.get("params")),
        number(a.get("macs")),
        human_bytes(a.get("size_bytes")),
        *(latency(step, b) for b in batches),
        percent(step.get("accuracy")),
        number(step.get("output_error"), ".2e"),
        number(step.get("seconds"), ".1f"),
    ]


def markdown(report: dict[str, Any]) -> str:
    """A before/after table (one row per step) followed by notes, sensitivity and search."""
    lines = [f"# Compression report: {report.get('model', '')}", ""]
    lines.append(
        f"Threads: {report.get('threads')}; latency is the median of up to "
        f"{report.get('repeats')} runs after warm-up."
    )
    if report.get("main_output"):
        lines.append(
            f"Output error: relative error of the main output, {report['main_output']}, "
            "against the original's."
        )
    if report.get("inputs"):
        lines.append(f"Inputs ({report['inputs']['source']}): {inputs_text(report['inputs'])}.")
    batches = measured_batches(report)
    header = columns(batches)
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row(s, batches)) + " |" for s in report.get("steps", [])]
    lines += side_by_side_section(report.get("side_by_side"))
    notes = [f"- {n}" for n in report.get("notes") or []]
    notes += [f"- {s['name']}: {n}" for s in report.get("steps", []) for n in s.get("notes", [])]
    notes += [f"- {p}" for p in report.get("problems", [])]
    notes += [f"- {report['plot']}"] if report.get("plot") else []
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += int8_candidates_section(report.get("steps", []))
    lines += calibration_section(report.get("steps", []))
    lines += fallback_section(report.get("steps", []))
    lines += search_section(report.get("search")) + sensitivity_section(report.get("sensitivity"))
    return "\n".join(lines) + "\n"


def int8_choice(steps: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The step that compared int8 candidates (ORT static QDQ, ORT dynamic on a model without
    convolutions, OpenVINO + NNCF), if any, and the name of the candidate it kept."""
    step = next((s for s in steps if (s.get("metrics") or {}).get("int8_candidates")), None)
    if step is None:
        return None, ""
    metrics = step["metrics"]
    if "int8_chosen" in metrics:
        return step, str(metrics["int8_chosen"])
    dynamic = metrics.get("mode") == "dynamic"  # a report written before OpenVINO was one
    return step, "ORT dynamic MatMul/Gemm" if dynamic else "ORT static QDQ"


def int8_candidates_section(steps: list[dict[str, Any]]) -> list[str]:
    """The int8 candidates compared, each one's error and time, the chosen one marked."""
    step, chosen = int8_choice(steps)
    if step is None:
        return []
    compared = step["metrics"].get("int8_comparison") or {}
    timing = "ok" if compared.get("reliable", True) else f"unreliable: {compared.get('why')}"
    lines = ["", "## int8 candidates", ""]
    lines += [
        f"Each timed side by side with the best before it ({timing}); a candidate over the "
        "budget is not timed.",
        "",
    ]
    lines += ["| candidate | output error | ms | batch | chosen |", "|---|---:|---:|---:|---|"]
    for c in step["metrics"]["int8_candidates"]:
        ms = "over budget" if c.get("within_budget") is False else "-"
        ms = ms if c.get("ms") is None else f"{c['ms']:.2f}"
        lines.append(
            f"| {c['candidate']} | {c['output_error']:.3g} | {ms} | {c['batch']} | "
            f"{'yes' if c['candidate'] == chosen else ''} |"
        )
    return lines


def calibration_section(steps: list[dict[str, Any]]) -> list[str]:
    """The calibrations static int8 tried when min/max ranges broke the budget."""
    step = next((s for s in steps if (s.get("metrics") or {}).get("calibrations")), None)
    if step is None:
        return []
    kept = step["metrics"].get("calibration")
    lines = ["", "## Calibrations tried", "", "| calibration | output error | kept |"]
    lines += ["|---|---:|---|"]
    lines += [
        f"| {c['calibration']} | {c['output_error']:.3g} | "
        f"{'yes' if c['calibration'] == kept else ''} |"
        for c in step["metrics"]["calibrations"]
    ]
    return lines


def fallback_section(steps: list[dict[str, Any]]) -> list[str]:
    """The layers int8 left in float, why (each one's sensitivity: the output error with only
    it quantized) and what each costs in size, then every set the search measured."""
    step = next((s for s in steps if (s.get("metrics") or {}).get("fallback")), None)
    if step is None:
        return []
    found, in_graph = step["metrics"]["fallback"], set(step["metrics"].get("float_layers", []))
    verdict = "met" if found["met"] else "NOT met: the all-int8 result stands"
    lines = [
        "",
        "## Layers kept in float",
        "",
        f"All-int8 output error {found['error_before']:.3g}; budget {verdict}. Sensitivity: "
        f"the output error with only that layer quantized ({found['probes']} layers probed). "
        "Runs in float: read back from the written graph (a layer whose neighbours are int8 "
        "may still be fused into an integer kernel by ONNX Runtime).",
        "",
        "| layer | op | sensitivity | size cost | runs in float |",
        "|---|---|---:|---:|---|",
    ]
    lines += [
        f"| {x['node']} | {x['op']} | {x['sensitivity']:.3g} | +{human_bytes(x['extra_bytes'])} "
        f"| {'yes' if x['node'] in in_graph else 'no'} |"
        for x in found["float_layers"]
    ]
    lines += ["", "| layers in float | output error | accuracy | within budget |"]
    lines += ["|---:|---:|---:|---|"]
    lines += [
        f"| {t['layers']} | {t['error']:.3g} | {percent(t['accuracy'])} | "
        f"{'yes' if t['within'] else 'no'} |"
        for t in found["trials"]
    ]
    return lines


def inputs_text(inputs: dict[str, Any]) -> str:
    """`input_ids int64 [s43, 16], attention_mask int64 [s43, 16]`."""
    return ", ".join(
        f"{i['name']} {i['dtype']} [{', '.join(map(str, i['shape']))}]" for i in inputs["inputs"]
    )


def side_by_side_section(compared: dict[str, Any] | None) -> list[str]:
    """Original vs result timed in alternation: the speed-up to quote."""
    if not compared:
        return []
    lines = [
        "",
        "## Original vs result, side by side",
        "",
        "| batch | original (ms) | result (ms) | speed-up | quartiles | rounds | others' CPU "
        "| timing |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for batch, entry in sorted(compared.items(), key=lambda item: int(item[0])):
        spread = (
            f"{entry['speedup_low']:.2f}-{entry['speedup_high']:.2f}x"
            if "speedup_low" in entry
            else "–"
        )
        others = entry.get("others_cpu")
        verdict = "ok" if entry.get("reliable", True) else f"unreliable: {entry.get('why')}"
        lines.append(
            f"| {batch} | {entry['before_ms']:.2f} | {entry['after_ms']:.2f} | "
            f"{entry['speedup']:.2f}x | {spread} | {entry['rounds']} | "
            f"{'–' if others is None else f'{others:.0%}'} | {verdict} |"
        )
    return lines


def search_section(search: dict[str, Any] | None) -> list[str]:
    if not search:
        return []
    met = "met" if search["met_budget"] else "NOT met (best candidate kept)"
    lines = [
        "",
        "## Pruning-ratio search",
        "",
        f"Budget {search['max_drop']} pt: {met}; "
        f"kept ratio {search['ratio']} at {percent(search['accuracy'])} "
        f"(baseline {percent(search['baseline'])}).",
        "",
        "| ratio | accuracy | drop (pt) | params | within budget |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['ratio']} | {percent(c['accuracy'])} | {c['drop']:.2f} | {c['params']:,} | "
        f"{'yes' if c['meets_budget'] else 'no'} |"
        for c in search["candidates"]
    ]
    return lines


def sensitivity_section(rows: list[dict[str, Any]] | None) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        "## Per-layer pruning sensitivity",
        "",
        "| layer | ratio | output error | accuracy drop (pt) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['layer']} | {r['ratio']} | {number(r.get('output_error'), '.3g')} | "
        f"{number(r.get('accuracy_drop'), '.2f')} |"
        for r in rows
    ]
    return lines


def plot(report: dict[str, Any], path: Path) -> None:
    """Size and latency at the smallest batch measured (1, or a static program's) against
    accuracy (or output error), one point per step; where int8 candidates were compared, a
    third panel: each candidate's latency against its output error, the chosen one marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [s for s in report.get("steps", []) if s.get("analysis")]
    use_accuracy = any(s.get("accuracy") is not None for s in steps)
    label = "accuracy (%)" if use_accuracy else "relative output error"
    batch = measured_batches(report)[0]
    choice, chosen = int8_choice(report.get("steps", []))
    figure, axes = plt.subplots(1, 3 if choice else 2, figsize=(15 if choice else 10, 4))
    if choice is not None:
        plot_candidates(axes[2], choice["metrics"]["int8_candidates"], chosen)
    for axis, xlabel, value in (
        (axes[0], "size (MB)", lambda s: s["analysis"]["size_bytes"] / 2**20),
        (
            axes[1],
            f"latency at batch {batch} (ms)",
            lambda s: s["analysis"]["latency"][batch]["median_ms"],
        ),
    ):
        for step in steps:
            y = step.get("accuracy") if use_accuracy else step.get("output_error")
            y = 100.0 * y if use_accuracy and y is not None else y
            if y is None or batch not in step["analysis"].get("latency", {}):
                continue
            axis.scatter(value(step), y)
            axis.annotate(step["name"], (value(step), y), fontsize=8)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    figure.suptitle(f"accel compress: {report.get('model', '')}")
    figure.tight_layout()
    with atomic_path(path) as temp:
        figure.savefig(temp, dpi=100)
    plt.close(figure)


def plot_candidates(axis: Any, candidates: list[dict[str, Any]], chosen: str) -> None:
    """One point per timed int8 candidate: its time at the compared batch against its error."""
    for candidate in candidates:
        if candidate.get("ms") is None:
            continue
        mine = candidate["candidate"] == chosen
        x, y = candidate["ms"], candidate["output_error"]
        axis.scatter(x, y, marker="*" if mine else "o", s=160 if mine else 40)
        axis.annotate(candidate["candidate"] + (" (chosen)" if mine else ""), (x, y), fontsize=8)
    axis.set_xlabel(f"latency at batch {candidates[0]['batch']} (ms)")
    axis.set_ylabel("relative output error")
    axis.set_title("int8 candidates", fontsize=9)
    axis.grid(alpha=0.3)
