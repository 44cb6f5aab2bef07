"""What `accel compress` and `accel compress analyze` do, apart from parsing flags."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch

from accel.compress.analysis import batch_of
from accel.compress.data import check_classes, inputs_of, load_data, take_inputs
from accel.compress.extras import need
from accel.compress.loading import load_model
from accel.compress.options import (
    AnalyzeFlags,
    CompressFlags,
    CompressOptions,
    DataOptions,
    check_analyze_options,
    check_options,
    int8_mode,
)
from accel.compress.recipe import build_recipe, check_pass_arguments, load_recipe
from accel.compress.verify import percent
from accel.core.errors import ConfigError
from accel.core.outputs import check_output_folder
from accel.core.passes import PassContext

RECIPE_OVERRIDES = ("model", "arch", "input_shape", "calib_data", "eval_data", "train_data")
DATA_FLAGS = {
    "calib_data": "--calib-data",
    "eval_data": "--eval-data",
    "train_data": "--train-data",
}


def example_inputs(model: Any, shape: tuple[int, ...] | None, data: list[Any]) -> torch.Tensor:
    """A batch to trace with: real data when given, else zeros... of `--input-shape`."""
    if data:
        example = data[0]
        if shape is not None and tuple(example.shape[1:]) != tuple(shape[1:]):
            raise ConfigError(
                f"--input-shape {','.join(map(str, shape))} does not match the data's samples "
                f"{tuple(example.shape[1:])}: drop --input-shape or fix it"
            )
        return example
    if shape is None:
        raise ConfigError("no data to infer the input shape from: pass --input-shape N,C,H,W")
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def check_inputs(model: Any, example: torch.Tensor, source: str) -> torch.Tensor:
    """Run the model once so a wrong input shape is one clear line naming where the inputs
    came from (`source`), not a traceback later; returns its output (its width is the number
    of classes a label may name)."""
    from accel.compress.artifacts import Runner

    try:
        return Runner(model)(example)
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise ConfigError(
            f"the model does not accept inputs of shape {tuple(example.shape)} from {source} "
            f"({first}): pass data or --input-shape of the shape it expects"
        ) from None


def say(text: str, *, err: bool = False) -> None:
    """One line for the user: results on stdout, notes on stderr."""
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def example_source(options: DataOptions, calib: Any, val: Any) -> str:
    """Which flag the example batch came from, for error messages."""
    if calib is not None:
        key = "calib_data"
    elif val is not None:
        key = "eval_data"
    else:
        return "--input-shape"
    value = getattr(options, key)
    return f"{DATA_FLAGS[key]} {value}" if value is not None else "the checkpoint's data"


def read_data(options: DataOptions, key: str, split: str, batch: int | None) -> Any:
    """The data a flag names (None without it); with `batch`, batches of exactly that size."""
    source = getattr(options, key)
    if source is None:
        return None
    shape = options.input_shape
    if batch is None:
        return load_data(source, split=split, input_shape=shape)
    data = load_data(source, split=split, input_shape=shape, batch_size=batch)
    if not isinstance(data, list):
        raise ConfigError(
            f"{DATA_FLAGS[key]} {source}: a program with a fixed batch is analyzed on data "
            "files (.npy/.npz/.pt) or image folders, not a registered dataset"
        )
    return [b for b in data if len(inputs_of(b)) == batch]


def own_data(path: Any) -> tuple[Any, Any]:
    """(calibration, evaluation) loaders from an accel checkpoint's data config, else Nones."""
    from accel.compress.loading import checkpoint_data

    module = checkpoint_data(path)
    if module is None:
        return None, None
    test = module.test_dataloader() or module.val_dataloader()
    return module.train_dataloader(), test


def merged_flags(flags: CompressFlags) -> tuple[CompressFlags, dict[str, Any] | None]:
    """Flags, completed by the recipe file's `model`, `calib_data`, ... when one is given."""
    if flags.recipe is None:
        return flags, None
    recipe = load_recipe(Path(flags.recipe))
    given = {
        key: recipe[key]
        for key in RECIPE_OVERRIDES
        if getattr(flags, key) is None and recipe.get(key) is not None
    }
    if recipe.get("output") and flags.output == Path("compressed"):
        given["output"] = Path(recipe["output"])
    return dataclasses.replace(flags, **given), recipe


def prepare(options: DataOptions, model: Any, batch: int | None = None) -> PassContext:
    """Load the data, check it against `model`, and build the pass context (data at `batch`,
    when given)."""
    calib = read_data(options, "calib_data", "train", batch)
    val = read_data(options, "eval_data", "test", batch)
    train = read_data(options, "train_data", "train", batch)
    if calib is None and val is None:
        calib, val = own_data(options.model)
    example = example_inputs(
        model, options.input_shape, take_inputs(calib, 1) or take_inputs(val, 1)
    )
    if batch is not None:
        example = batch_of(example, batch)
    source = example_source(options, calib, val)
    output = check_inputs(model, example if batch else example[:2], source)
    check_data(options, {"calib_data": calib, "eval_data": val, "train_data": train}, example)
    check_labels(options, {"eval_data": val, "train_data": train}, output_width(output))
    evaluate = None
    if val is not None:
        from accel.compress.verify import accuracy

        evaluate = lambda artifact: accuracy(artifact, val)  # noqa: E731
    return PassContext(
        example_inputs=example,
        calib_data=calib,
        train_data=train,
        val_data=val,
        evaluate=evaluate,
        target=options.target,
        options={"arch": options.arch},
    )


def check_labels(options: DataOptions, data: dict[str, Any], classes: int | None) -> None:
    """Labels of evaluation and training files lie below the model's output width."""
    if classes is None:
        return
    for key, batches in data.items():
        check_classes(batches, classes, f"{DATA_FLAGS[key]} {getattr(options, key)}")


def open_model(options: DataOptions) -> Any:
    """The model the options name (its file checked by the loading policy); an `.onnx` file
    needs the `[ort]` extra, said before it is read."""
    if options.model is None:
        raise ConfigError("no model: pass MODEL (a .pt/.pt2/.onnx file) or 'model:' in --recipe")
    need_model_extra(options)
    return load_model(options.model, arch=options.arch)


def need_model_extra(options: DataOptions) -> None:
    """An `.onnx` model needs the `[ort]` extra: said first, before the file is read."""
    if options.model is not None and Path(options.model).suffix == ".onnx":
        need("ort", f"the ONNX model {options.model}")


def output_width(output: torch.Tensor) -> int | None:
    """Classes of a classifier's (N, C) logits; None for other outputs."""
    return int(output.shape[1]) if output.dim() == 2 else None


def check_data(options: DataOptions, data: dict[str, Any], example: torch.Tensor) -> None:
    """Each data file's samples have the example's shape; evaluation/training data has labels."""
    for key, batches in data.items():
        if not isinstance(batches, list) or not batches:
            continue
        where = f"{DATA_FLAGS[key]} {getattr(options, key)}"
        first = inputs_of(batches[0])
        if tuple(first.shape[1:]) != tuple(example.shape[1:]):
            raise ConfigError(
                f"{where}: samples of shape {tuple(first.shape[1:])} do not match the model's "
                f"input {tuple(example.shape[1:])}"
            )
        if key != "calib_data" and not isinstance(batches[0], list | tuple):
            raise ConfigError(
                f"{where} has no labels: pass a .npz with x and y, or a .pt with inputs and labels"
            )


def run_command(flags: CompressFlags) -> None:
    """Check every flag and the output folder, load, build the recipe, compress, summarize."""
    from accel.compress.batch import check_dynamic
    from accel.compress.pipeline import compress

    flags, recipe = merged_flags(flags)
    options = check_options(flags)
    check_output_folder(options.output, "--output")
    need_model_extra(options)
    if recipe is None:
        recipe = recipe_from_flags(options)
        check_pass_arguments(recipe, "the flags")
    model = open_model(options)
    batches = (recipe.get("analysis") or {}).get("batches") or (1, 32)
    check_dynamic(model, options.model, max(32, *batches))
    context = prepare(options, model)
    if quantizes_dynamically(recipe, context):
        say(
            "note: no --calib-data: int8 covers Linear/MatMul only (dynamic); convolutions stay "
            "float. Pass --calib-data NAME|PATH to quantize them.",
            err=True,
        )
    result = compress(
        model,
        recipe,
        context,
        options.output,
        name=Path(str(options.model)).name,
        sensitivity=options.sensitivity or wants_sensitivity(recipe, context),
        quiet=options.quiet,
    )
    say(summary(result.report))


def recipe_from_flags(options: CompressOptions) -> dict[str, Any]:
    """The recipe the (checked) flags describe; wrong combinations fail here, before loading."""
    recipe = build_recipe(
        quantize=options.quantize,
        prune=options.prune,
        fold_bn=options.fold_bn,
        merge_branches=options.merge_branches,
        export=options.export,
        backend=options.backend,
        finetune_epochs=options.epochs,
        has_train_data=options.train_data is not None,
        max_drop=options.max_drop,
        force=options.force,
        target=options.target,
    )
    recipe["analysis"] = {"repeats": options.repeats}
    return recipe


def quantizes_dynamically(recipe: dict[str, Any], context: PassContext) -> bool:
    """Whether an ONNX Runtime int8 pass of `recipe` will run dynamic (its convolutions stay
    float), decided by `int8_mode` as the pass decides it; a mode that cannot run with this
    data (static without calibration data) fails here, before the work starts."""
    has_data = context.calib_data is not None
    dynamic = False
    for spec in recipe.get("passes", []):
        spec = {"name": spec} if isinstance(spec, str) else spec
        if spec.get("name") != "quantize" or "_target_" in spec:
            continue
        backend = str(spec.get("backend", "ort"))
        mode = int8_mode(str(spec.get("mode", "auto")), backend, has_data)
        dynamic = dynamic or (backend == "ort" and mode == "dynamic")
    return dynamic


def wants_sensitivity(recipe: dict[str, Any], context: PassContext) -> bool:
    """Per-layer sensitivity comes with every pruning report that has evaluation data."""
    names = [p if isinstance(p, str) else p.get("name") for p in recipe.get("passes", [])]
    return context.val_data is not None and any(n in ("prune", "prune_search") for n in names)


def summary(report: dict[str, Any]) -> str:
    """`size 44.7 MB -> 11.3 MB (3.9x), latency @32 ... (4.1x), accuracy ...`."""
    first, last = report["steps"][0]["analysis"], report["final"]["analysis"]
    ratio = first["size_bytes"] / max(last["size_bytes"], 1)
    change = f"{ratio:.1f}x smaller" if ratio >= 1 else f"{1 / ratio:.1f}x larger"
    parts = [
        f"size {first['size_bytes'] / 2**20:.2f} MB -> {last['size_bytes'] / 2**20:.2f} MB "
        f"({change})"
    ]
    compared = report.get("side_by_side") or {}
    for batch in sorted(first["latency"], key=int):
        if batch in compared:  # timed in alternation: the ratio a busy machine does not skew
            side = compared[batch]
            a, b, speedup = side["before_ms"], side["after_ms"], side["speedup"]
        else:
            a, b = first["latency"][batch]["median_ms"], last["latency"][batch]["median_ms"]
            speedup = a / b
        parts.append(f"batch {batch}: {a:.2f} -> {b:.2f} ms ({speedup:.1f}x)")
    accuracy = (report["steps"][0].get("accuracy"), report["final"].get("accuracy"))
    if None not in accuracy:
        parts.append(f"accuracy {percent(accuracy[0])} -> {percent(accuracy[1])}")
    for step in report["steps"]:  # a step the user asked for and did not get must be said
        if step.get("status") == "dropped":
            parts.append(f"{step['name']} DROPPED: {'; '.join(step.get('notes') or [])}")
    for problem in report.get("problems") or []:  # written only because of --force
        parts.append(f"FORCED, NOT VERIFIED: {problem}")
    return "; ".join(parts)


def analyze_command(flags: AnalyzeFlags) -> None:
    """Print (and optionally write) the analysis of one model."""
    from accel.compress.analysis import analyze
    from accel.compress.atomic import write_owned_json
    from accel.compress.batch import analysis_batch

    options = check_analyze_options(flags)
    model = open_model(options)
    batch = analysis_batch(model)
    context = prepare(options, model, batch)
    sizes = (1, 32) if batch is None else (batch,)
    if batch is not None:
        partial = f" (data in batches of {batch}, a partial last one left out)" if batch > 1 else ""
        say(
            f"note: {options.model} accepts only batch {batch} of the sizes accel measures: "
            f"analyzed at batch {batch}{partial}",
            err=True,
        )
    result = analyze(model, context.example_inputs, batches=sizes, repeats=options.repeats)
    if context.evaluate is not None:
        result["accuracy"] = context.evaluate(model)
    if options.sensitivity:
        from accel.compress.passes.parity import parity_inputs
        from accel.compress.sensitivity import sensitivity

        result["sensitivity"] = sensitivity(
            model,
            context.example_inputs,
            inputs=parity_inputs(context),
            eval_data=context.val_data,
        )
    if options.output:
        write_owned_json(Path(options.output), result, "--output")
    say(json.dumps(result, indent=2, default=str))
