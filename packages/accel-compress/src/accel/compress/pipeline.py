"""`compress`: run a recipe's passes with analysis, verification and timing, then write it all.

Every step is measured on this machine. A step whose output error breaks its pass's tolerance,
or a final accuracy below `--max-drop`, stops the result from being written (unless forced);
a transformation that makes the model slower is reported and dropped (unless forced). Outputs
are assembled in a temporary folder and swapped in whole, so a failure never destroys an
earlier good result.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from accel.compress.analysis import analyze, compare_latency
from accel.compress.artifacts import ExportedModel, OnnxModel, OpenVinoModel
from accel.compress.atomic import write_json
from accel.compress.passes.parity import parity_inputs
from accel.compress.progress import Progress
from accel.compress.report import write_report
from accel.compress.saving import save_artifact, save_input_columns
from accel.compress.signature import Inputs, batch_of
from accel.compress.verify import (
    VerificationError,
    check_drop,
    check_tolerance,
    compare_outputs,
    degenerate,
    outputs,
)
from accel.core.errors import ConfigError
from accel.core.outputs import output_folder
from accel.core.passes import PassContext, build_pass, pass_name

OWNER = "accel compress"

SLOWER_MARGIN = 1.05
NOISE_MS = 0.1  # differences below this are timer noise, not a slowdown


@dataclass
class Result:
    """What `compress` produced: the final artifact, the report and where it was written."""

    artifact: Any
    report: dict[str, Any]
    output_dir: Path
    problems: list[str] = field(default_factory=list)


def compress(
    model: Any,
    recipe: dict[str, Any],
    context: PassContext,
    output_dir: str | Path | None = None,
    *,
    name: str = "model",
    sensitivity: bool = False,
    quiet: bool = False,
    notes: Sequence[str] = (),
    preprocessing: dict[str, Any] | None = None,
) -> Result:
    """Run `recipe` on `model`; write model, report and recipe into `output_dir` (default: a
    new temporary folder). The folder is accel's: assembled aside and swapped in whole; one
    holding files accel did not write is refused before any work (`accel.core.outputs`).
    `notes` (how the model was run, e.g. at a static program's own batch) go in the report;
    `preprocessing` (how inputs were normalised) too, and into `preprocessing.json`."""
    verify = recipe.get("verify") or {}
    analysis = recipe.get("analysis") or {}
    force, max_drop = bool(verify.get("force")), verify.get("max_drop")
    batches = tuple(analysis.get("batches", (1, 32)))
    repeats = int(analysis.get("repeats", 10))
    context.target = recipe.get("target", context.target)
    context.options["timing_batch"] = max(batches)  # where passes that time candidates time
    progress = Progress(quiet)
    inputs = parity_inputs(context)
    work = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="accel-compress-"))
    passes = [(spec, build_pass(spec)) for spec in recipe.get("passes", [])]  # bad args: now
    with output_folder(work, owner=OWNER) as folder:
        context.output_dir = folder / "work"
        run = Run(model, context, inputs, batches, repeats, force, progress)
        run.measure_original(name)
        skipped: list[str] = []
        for index, (spec, pass_) in enumerate(passes):
            run.step(spec, pass_)
            if not force and refused_already(run, passes[index + 1 :], max_drop):
                skipped = [pass_name(later) for later, _ in passes[index + 1 :]]
                break
        problems = run.problems + final_problems(run, max_drop)
        report = run.report(name, recipe, problems)
        report["notes"] = list(notes)
        if skipped:  # no later step can take a broken tolerance back: do not spend on them
            report["notes"].append(
                f"not run: {', '.join(skipped)} (the result is refused already; --force runs "
                "every step)"
            )
        if preprocessing:
            report["preprocessing"] = preprocessing
        if run.artifact is not run.original:
            with progress.task("compare side by side"):
                report["side_by_side"] = run.side_by_side()
            if analysis.get("compiled_baseline") and isinstance(model, torch.nn.Module):
                with progress.task("compare with torch.compile"):
                    report["side_by_side_compiled"] = run.compiled_side_by_side()
        if sensitivity and isinstance(model, torch.nn.Module):
            with progress.task("per-layer sensitivity"):
                report["sensitivity"] = sensitivity_rows(model, context, inputs)
        if problems and not force:
            reject(report, work, problems)
        with progress.task("save"):
            report["outputs"] = save_artifact(
                run.artifact, folder, context, run.module if run.pruned else None
            )
            report["outputs"].update(save_input_columns(model, folder))
            unsaved = [f"{k[:-6]}: {v}" for k, v in report["outputs"].items() if k[-6:] == "_error"]
            if unsaved:  # a verified result that cannot be written is not a result
                reject(report, work, [f"the result could not be saved ({'; '.join(unsaved)})"])
            write_report(report, folder)
            write_json(folder / "recipe.json", recipe)
            if preprocessing:
                write_json(folder / "preprocessing.json", preprocessing)
            shutil.rmtree(folder / "work", ignore_errors=True)
    context.output_dir = None
    progress.done(f"wrote {work}")
    return Result(reopen(run.artifact, work, report["outputs"]), report, work, problems)


class Run:
    """The state of one compression run: the current artifact and one row per step."""

    def __init__(
        self,
        model: Any,
        context: PassContext,
        inputs: list[Inputs],
        batches: tuple[int, ...],
        repeats: int,
        force: bool,
        progress: Progress,
    ) -> None:
        self.original = self.artifact = model
        self.context, self.inputs, self.batches, self.repeats = context, inputs, batches, repeats
        self.force, self.progress = force, progress
        self.steps: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.pruned = False
        self.module: Any = model if isinstance(model, torch.nn.Module) else None
        self.macs: int | None = None

    def measure(self, artifact: Any) -> dict[str, Any]:
        macs = None if isinstance(artifact, torch.nn.Module) else self.macs
        result = analyze(
            artifact,
            self.context.example_inputs,
            batches=self.batches,
            repeats=self.repeats,
            macs=macs,
        )
        if isinstance(artifact, torch.nn.Module):
            self.macs = result["macs"]
        return result

    def side_by_side(self) -> dict[str, Any]:
        """Original and result timed in alternation at each batch size (the figures the
        summary states: ratios measured apart drift with the machine's load)."""
        example = self.context.example_inputs
        return {
            str(size): decided_comparison(self.original, self.artifact, batch_of(example, size))
            for size in self.batches
        }

    def compiled_side_by_side(self) -> dict[str, Any]:
        """The result against the original under `torch.compile` (what a user who deploys
        torch would compare with), at each batch size; `{"error": ...}` where it does not
        compile. Opt-in: compiling takes tens of seconds per batch size on a CPU."""
        example = self.context.example_inputs
        try:
            compiled = torch.compile(self.original)
            return {
                str(size): decided_comparison(compiled, self.artifact, batch_of(example, size))
                for size in self.batches
            }
        except Exception as error:  # compile fails in many ways (no compiler, graph breaks)
            text = " ".join(str(error).split())[:200] or type(error).__name__
            return {"error": f"torch.compile did not run: {text}"}

    def accuracy(self, artifact: Any) -> float | None:
        return None if self.context.evaluate is None else self.context.evaluate(artifact)

    def measure_original(self, name: str) -> None:
        collapsed = degenerate(outputs(self.original, self.inputs)) if self.inputs else None
        if collapsed:  # every comparison with it would pass: there is nothing to verify
            self.problems.append(
                f"{name}: {collapsed} on these inputs, so no step can be verified against it "
                "(give real --calib-data, or check the model)"
            )
        with self.progress.task(f"analyse {name}"):
            accuracy = self.accuracy(self.artifact)
            self.context.options["baseline_accuracy"] = accuracy  # what --max-drop is against
            self.steps.append(
                {
                    "name": "original",
                    "status": "applied",
                    "analysis": self.measure(self.artifact),
                    "accuracy": accuracy,
                    "output_error": 0.0,
                    "seconds": 0.0,
                }
            )

    def step(self, spec: Any, pass_: Any) -> None:
        label = pass_name(spec)
        with self.progress.task(label):
            before = len(self.context.reports)
            start = time.perf_counter()
            candidate = pass_(self.artifact, self.context)
            seconds = time.perf_counter() - start
            if len(self.context.reports) == before:
                self.context.record(label)
            report = self.context.reports[-1]
            report.seconds = seconds
            row = {**report.to_dict(), "spec": spec}
            if report.status == "skipped":
                self.steps.append(row)
                return
            row["analysis"] = self.measure(candidate)
            row["accuracy"] = self.accuracy(candidate)
            row["output_error"] = self.error_against_original(candidate, row)
            self.steps.append(row)
            self.gate(label, row, candidate, getattr(pass_, "timed", True))

    def error_against_original(self, candidate: Any, row: dict[str, Any]) -> float:
        """Relative output error against the original (the pass's own check, when the pass
        started from the original, is the same number: reuse it). An output that collapsed
        (NaN, or the same for every input) breaks the step's tolerance, whatever its norm."""
        metrics = row["metrics"]
        if self.artifact is self.original and "output_error" in metrics:
            return float(metrics["output_error"])
        error, collapsed = compare_outputs(self.original, candidate, self.inputs)
        if collapsed and not metrics.get("tolerance_broken"):
            metrics["tolerance_broken"] = True
            row["notes"].append(
                f"{row['name']}: {collapsed} where the original's is not: no tolerance passes it"
            )
        return error

    def gate(self, label: str, row: dict[str, Any], candidate: Any, timed: bool) -> None:
        """Keep `candidate` unless it broke its tolerance or got slower (for a pass that is
        `timed`: export and fine-tune change format or weights, not speed, and set it False)."""
        if row["metrics"].get("tolerance_broken"):
            self.problems.extend(n for n in row["notes"] if "tolerance" in n)
        previous = self.last_kept()
        if timed and slower(row, previous) and not self.force:
            ratio = self.confirm_slower(candidate, row)
            if ratio is not None:
                row["status"] = "dropped"
                row["notes"].append(
                    f"slower than before ({latency_text(row)} vs {latency_text(previous)}; "
                    f"{ratio:.2f}x side by side): dropped (use --force to keep it)"
                )
                return
        if label in ("prune", "prune_search"):
            self.pruned = True
        if isinstance(candidate, torch.nn.Module):
            self.module = candidate
        self.artifact = candidate

    def confirm_slower(self, candidate: Any, row: dict[str, Any]) -> float | None:
        """The speed-up of `candidate` over the current artifact timed side by side at the
        largest batch when it confirms a slowdown (below 1 / SLOWER_MARGIN), else None: two
        measures taken apart on a busy machine can differ by more than the margin."""
        size = max(self.batches)
        with self.progress.task(f"confirm the slowdown at batch {size}"):
            compared = decided_comparison(
                self.artifact, candidate, batch_of(self.context.example_inputs, size)
            )
        row["metrics"]["side_by_side_vs_previous"] = compared
        ratio = float(compared["speedup"])
        clear = float(compared.get("speedup_high", ratio)) < CLEARLY_SLOWER
        if not compared.get("reliable", True) and not clear:  # decide nothing on such figures
            row["notes"].append(
                f"timings unreliable ({compared['why']}): the speed gate did not act, the "
                "step is kept undecided"
            )
            return None
        return ratio if ratio < 1 / SLOWER_MARGIN else None

    def last_kept(self) -> dict[str, Any]:
        return next(s for s in reversed(self.steps[:-1]) if s["status"] == "applied")

    def report(self, name: str, recipe: dict[str, Any], problems: list[str]) -> dict[str, Any]:
        kept = [s for s in self.steps if s["status"] == "applied"]
        report: dict[str, Any] = {
            "model": name,
            "target": self.context.target,
            "threads": torch.get_num_threads(),
            "repeats": self.repeats,
            "recipe": recipe,
            "steps": self.steps,
            "final": kept[-1],
            "problems": problems,
            "versions": versions(),
        }
        signature = self.context.options.get("signature")
        if signature is not None:
            report["inputs"] = signature.as_dict()
        if self.context.options.get("main_output"):
            report["main_output"] = self.context.options["main_output"]
        search = next((s for s in self.steps if s["name"] == "prune_search"), None)
        if search is not None:
            report["search"] = search["metrics"]
        return report


RETRY_PAUSE_S = 1.0  # a comparison the machine's load spoilt is tried once more after this
# an unreliable comparison still decides when even its upper quartile says this (2x slower)
CLEARLY_SLOWER = 0.5


def decided_comparison(before: Any, after: Any, inputs: Any) -> dict[str, Any]:
    """`before` and `after` timed side by side; a comparison that came out unreliable (the
    machine busy, ratios spread wide) is tried once more after a pause, and stays marked
    unreliable if it still is: a caller then decides nothing on it."""
    compared = compare_latency(before, after, inputs)
    if compared.get("reliable", True):
        return compared
    time.sleep(RETRY_PAUSE_S)
    return {**compare_latency(before, after, inputs), "retried": True}


def slower(row: dict[str, Any], previous: dict[str, Any]) -> bool:
    """True when `row`'s latency at its largest batch is over 5% (and 0.1 ms) above
    `previous`'s, by the median and by the fastest run alike (a busy machine inflates one
    measurement's median; the fastest run is robust to that)."""
    now, before = largest_batch(row), largest_batch(previous)
    if now is None or before is None:
        return False
    return all(
        now[key] > before[key] * SLOWER_MARGIN and now[key] - before[key] > NOISE_MS
        for key in ("median_ms", "min_ms")
    )


def largest_batch(row: dict[str, Any]) -> dict[str, float] | None:
    latency = (row.get("analysis") or {}).get("latency") or {}
    if not latency:
        return None
    entry = latency[max(latency, key=int)]
    return {k: float(entry.get(k, entry["median_ms"])) for k in ("median_ms", "min_ms")}


def latency_text(row: dict[str, Any]) -> str:
    latency = row["analysis"]["latency"]
    batch = max(latency, key=int)
    return f"{latency[batch]['median_ms']:.2f} ms at batch {batch}"


def refused_already(run: Run, later: Sequence[tuple[Any, Any]], max_drop: float | None) -> bool:
    """Whether the result will be refused whatever the passes `later` do: a step broke its
    tolerance (a problem stays one), or a pruned model that no later pass fine-tunes breaks
    the prune tolerance and no accuracy budget will judge it instead."""
    if run.problems:
        return True
    if any(pass_name(spec) in ("finetune", "prune_search") for spec, _ in later):
        return False
    judged_by_accuracy = max_drop is not None and run.steps[0].get("accuracy") is not None
    return not judged_by_accuracy and bool(unrecovered_pruning(applied(run)))


def applied(run: Run) -> list[dict[str, Any]]:
    return [s for s in run.steps if s["status"] == "applied"]


def final_problems(run: Run, max_drop: float | None) -> list[str]:
    """The accuracy drop against `--max-drop` when there are labels; without them (or without
    a budget), the output parity of a pruned model that was not fine-tuned."""
    kept = applied(run)
    base, final = run.steps[0].get("accuracy"), kept[-1].get("accuracy")
    if base is None or final is None or max_drop is None:
        return unrecovered_pruning(kept)
    problem = check_drop(base, final, max_drop)
    return [problem] if problem else []


def unrecovered_pruning(kept: list[dict[str, Any]]) -> list[str]:
    """Pruning removes what the model computed with; without fine-tuning its outputs must
    still agree with the original's within the prune tolerance (a 50% pruned ResNet-50 came
    out with error 0.999, top-1 agreement 0/22, and had passed)."""
    names = [s["name"] for s in kept]
    if "prune" not in names or "finetune" in names[names.index("prune") :]:
        return []
    row = kept[len(names) - 1 - names[::-1].index("prune")]
    limit = (row.get("spec") or {}).get("tolerance") if isinstance(row.get("spec"), dict) else None
    problem = check_tolerance("prune", float(row["output_error"]), limit)
    if problem is None:
        return []
    return [f"{problem} and the pruned model was not fine-tuned: pass --train-data to fine-tune it"]


def reject(report: dict[str, Any], work: Path, problems: list[str]) -> None:
    """Write the report beside the output (as `<out>.rejected`, an accel-owned folder too: a
    user's folder of that name is never replaced) and raise with the problems."""
    rejected = work.with_name(work.name + ".rejected")
    try:
        with output_folder(rejected, owner=OWNER, key="rejected report folder") as folder:
            write_report(report, folder)
        where = f"report in {rejected}"
    except ConfigError as error:
        where = f"report not written either: {error}"
    raise VerificationError(
        f"result not written ({where}): {'; '.join(problems)}. Pass --force to write it anyway"
    )


def sensitivity_rows(model: Any, context: PassContext, inputs: list[Inputs]) -> Any:
    from accel.compress.sensitivity import sensitivity

    return sensitivity(model, context.example_inputs, inputs=inputs, eval_data=context.val_data)


def reopen(artifact: Any, folder: Path, outputs: dict[str, Any]) -> Any:
    """The final artifact, pointing at its written file when it is a file."""
    if isinstance(artifact, OnnxModel) and "onnx" in outputs:
        return OnnxModel(folder / outputs["onnx"], artifact.meta)
    if isinstance(artifact, OpenVinoModel) and "openvino" in outputs:
        return OpenVinoModel(folder / outputs["openvino"], artifact.meta)
    if isinstance(artifact, ExportedModel) and "pt2" in outputs:
        return ExportedModel(folder / outputs["pt2"], artifact.meta)
    return artifact


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in (
        "accel-compress", "accel-core", "torch", "onnxruntime", "openvino", "nncf", "torch-pruning",
    ):  # fmt: skip
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
