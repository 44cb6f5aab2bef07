"""What `accel compress` and `accel compress analyze` do, apart from parsing flags."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from accel.compress.batch import BatchPlan
from accel.compress.data import check_classes, has_labels, inputs_of, load_data, take_inputs
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
from accel.compress.recipe import INPUT_KEYS, build_recipe, check_pass_arguments, load_recipe
from accel.compress.signature import (
    Inputs,
    InputSpec,
    Signature,
    as_tuple,
    batch_of,
    batch_size,
    data_signature,
    declared_signature,
    head,
    input_names,
    shape_signature,
    shapes_text,
    vocabulary,
)
from accel.compress.verify import percent
from accel.core.errors import ConfigError
from accel.core.inference import first_tensor
from accel.core.outputs import check_output_folder
from accel.core.passes import PassContext

DATA_FLAGS = {
    "calib_data": "--calib-data",
    "eval_data": "--eval-data",
    "train_data": "--train-data",
}
NO_INPUTS = (
    "no data to infer the input shape from: pass --input-shape N,C,H,W (one float input) or "
    "--input-spec NAME:DTYPE[SIZES],..., e.g. input_ids:int64[1,128],attention_mask:int64[1,128]"
)


def example_inputs(
    model: Any, options: DataOptions, declared: Signature | None, data: list[Any]
) -> tuple[Inputs, Signature]:
    """A batch to trace with, and the signature the run follows: the first batch of real data
    when given (checked against `--input-shape`/`--input-spec`), else synthetic inputs of
    `--input-spec`, `--input-shape` or the model's own signature (a program's, an ONNX file's)."""
    shape, spec = options.input_shape, options.input_spec
    if data:
        example = data[0]
        first = as_tuple(example)[0]
        if shape is not None and tuple(first.shape[1:]) != tuple(shape[1:]):
            raise ConfigError(
                f"--input-shape {','.join(map(str, shape))} does not match the data's samples "
                f"{tuple(first.shape[1:])}: drop --input-shape or fix it"
            )
        if spec is not None:
            check_matches(spec, example, "--input-spec")
            return example, spec
        return example, declared or data_signature(example, input_names(model), "the data")
    if spec is not None:
        return spec.synthetic(vocabulary(model)), spec
    if shape is not None:
        return torch.randn(shape, generator=torch.Generator().manual_seed(0)), shape_signature(
            shape
        )
    if declared is None:
        raise ConfigError(NO_INPUTS)
    return declared.synthetic(vocabulary(model)), declared


def check_matches(signature: Signature, example: Inputs, key: str) -> None:
    """The data's inputs have the signature's number of inputs and sample shapes (where fixed)."""
    tensors = as_tuple(example)
    fits = len(tensors) == len(signature.inputs) and all(
        fits_shape(spec, tuple(t.shape)) for spec, t in zip(signature.inputs, tensors, strict=False)
    )
    if not fits:
        raise ConfigError(
            f"{key} {signature.text()} does not match the data's inputs {shapes_text(example)}: "
            f"drop {key} or fix it"
        )


def fits_shape(spec: InputSpec, shape: tuple[int, ...]) -> bool:
    """`shape` has the spec's rank and its sizes where the spec's dims are fixed (the batch
    and the dims it marks dynamic aside)."""
    if len(shape) != len(spec.shape):
        return False
    return all(
        d == 0 or not isinstance(s, int) or s == n
        for d, (s, n) in enumerate(zip(spec.shape, shape, strict=True))
    )


def check_spec(spec: Signature | None, declared: Signature | None, path: Any) -> None:
    """`--input-spec` names as many inputs as the model declares (a program's, an ONNX file's)."""
    if spec is None or declared is None or len(spec.inputs) == len(declared.inputs):
        return
    raise ConfigError(
        f"--input-spec gives {len(spec.inputs)} input(s) but {path} takes "
        f"{len(declared.inputs)}: {declared.text()}"
    )


def check_inputs(model: Any, example: Inputs, source: str) -> tuple[torch.Tensor, str | None]:
    """Run the model once so a wrong input shape is one clear line naming where the inputs
    came from (`source`), not a traceback later; returns its main output (its width is the
    number of classes a label may name) and that output's name when it returns several."""
    from accel.compress.artifacts import Runner

    try:
        if not isinstance(model, torch.nn.Module):
            return Runner(model)(example), None
        with torch.no_grad():
            output = model(*as_tuple(example))
        return first_tensor(output), output_name(output)
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise ConfigError(
            f"the model does not accept inputs of shape {shapes_text(example)} from {source} "
            f"({first}): pass data, --input-shape or --input-spec of the inputs it expects"
        ) from None


def output_name(output: Any) -> str | None:
    """The name of a model's main output when it returns a dict of them (a transformers
    `ModelOutput`: `last_hidden_state`); None for a tensor or a tuple."""
    if isinstance(output, dict):
        return next((str(k) for k, v in output.items() if isinstance(v, torch.Tensor)), None)
    return None


def say(text: str, *, err: bool = False) -> None:
    """One line for the user: results on stdout, notes on stderr."""
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def example_source(options: DataOptions, calib: Any, val: Any, signature: Signature) -> str:
    """Which flag the example batch came from, for error messages."""
    if calib is not None:
        key = "calib_data"
    elif val is not None:
        key = "eval_data"
    else:
        return (
            signature.source
            if signature.source.startswith("--")
            else f"{signature.source}'s signature"
        )
    value = getattr(options, key)
    return f"{DATA_FLAGS[key]} {value}" if value is not None else "the checkpoint's data"


def preprocessing_card(options: CompressOptions) -> dict[str, Any] | None:
    """What a server must do to images before this model (`preprocessing.json`, the format
    accel-serve reads): the normalisation the model was calibrated and checked with."""
    if options.mean is None and options.std is None:
        return None
    image = {k: list(v) for k, v in (("mean", options.mean), ("std", options.std)) if v}
    return {"image": image}


def read_data(options: DataOptions, key: str, split: str, reading: Reading) -> Any:
    """The data a flag names (None without it), its named inputs in the model's order and of
    its dtypes; with a batch plan, batches of the sizes the model takes."""
    source = getattr(options, key)
    if source is None:
        return None
    plan = reading.plan
    data = load_data(
        source,
        split=split,
        input_shape=options.input_shape,
        batch_size=plan.data or 32,
        names=reading.names,
        dtypes=reading.dtypes,
        mean=options.mean,
        std=options.std,
    )
    if plan.data is None:
        return data
    if not isinstance(data, list):
        raise ConfigError(
            f"{DATA_FLAGS[key]} {source}: a program with a fixed or bounded batch is run on data "
            "files (.npy/.npz/.pt) or image folders, not a registered dataset"
        )
    kept = [b for b in data if plan.keeps(batch_size(inputs_of(b)))]
    if not kept:
        raise ConfigError(
            f"{DATA_FLAGS[key]} {source}: fewer samples than one batch of {plan.data}, the "
            f"batch the model is run at ({plan.note}): give at least {plan.data} samples"
        )
    return kept


@dataclass(frozen=True, kw_only=True)
class Reading:
    """How data files are read for a model: its input names (named arrays are put in their
    order), the dtype of each input (see `data.load_data`) and the batch plan."""

    names: list[str] | None
    dtypes: list[torch.dtype | None] | None
    plan: BatchPlan


def reading_for(model: Any, declared: Signature | None, plan: BatchPlan) -> Reading:
    """Inputs as the model declares them (`--input-spec`, a program's, an ONNX file's); for
    a plain module, integers stay token ids when it has an `nn.Embedding`, else become floats
    (images saved as integers)."""
    if declared is not None:
        dtypes: list[torch.dtype | None] | None = list(declared.dtypes)
    else:
        dtypes = [] if vocabulary(model) is not None else None
    return Reading(names=input_names(model), dtypes=dtypes, plan=plan)


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
        for key in INPUT_KEYS
        if getattr(flags, key) is None and recipe.get(key) is not None
    }
    if flags.input_shape is not None or flags.input_spec is not None:  # a flag describes them
        given.pop("input_shape", None)
        given.pop("input_spec", None)
    if recipe.get("output") and flags.output == Path("compressed"):
        given["output"] = Path(recipe["output"])
    return dataclasses.replace(flags, **given), recipe


def prepare(options: DataOptions, model: Any, plan: BatchPlan | None = None) -> PassContext:
    """Load the data, check it against `model`, and build the pass context (data in batches
    of the sizes `plan` says the model takes, when given)."""
    plan = plan or BatchPlan()
    own = declared_signature(model)
    check_spec(options.input_spec, own, options.model)
    reading = reading_for(model, options.input_spec or own, plan)
    calib = read_data(options, "calib_data", "train", reading)
    val = read_data(options, "eval_data", "test", reading)
    train = read_data(options, "train_data", "train", reading)
    if calib is None and val is None:
        calib, val = own_data(options.model)
    first = take_inputs(calib, 1) or take_inputs(val, 1)
    example, signature = example_inputs(model, options, own, first)
    if plan.exact and plan.data is not None:
        example = batch_of(example, plan.data)
    source = example_source(options, calib, val, signature)
    output, main = check_inputs(model, example if plan.exact else head(example, 2), source)
    check_data(options, {"calib_data": calib, "eval_data": val, "train_data": train}, signature)
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
        options={"arch": options.arch, "signature": signature, "main_output": main},
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


def check_data(options: DataOptions, data: dict[str, Any], signature: Signature) -> None:
    """Each data file's samples fit the signature (its inputs, their fixed sizes); evaluation
    and training data has labels."""
    for key, batches in data.items():
        if not isinstance(batches, list) or not batches:
            continue
        where = f"{DATA_FLAGS[key]} {getattr(options, key)}"
        first = as_tuple(inputs_of(batches[0]))
        fits = len(first) == len(signature.inputs) and all(
            fits_shape(spec, tuple(t.shape))
            for spec, t in zip(signature.inputs, first, strict=False)
        )
        if not fits:
            samples = ", ".join(str(tuple(t.shape[1:])) for t in first)
            expected = ", ".join(str(tuple(spec.sizes[1:])) for spec in signature.inputs)
            raise ConfigError(
                f"{where}: samples of shape {samples} do not match the model's input {expected}"
            )
        if key != "calib_data" and not has_labels(batches[0]):
            raise ConfigError(
                f"{where} has no labels: pass a .npz with x and y, or a .pt with inputs and labels"
            )


def run_command(flags: CompressFlags) -> None:
    """Check every flag and the output folder, load, build the recipe, compress, summarize."""
    from accel.compress.pipeline import compress

    flags, recipe = merged_flags(flags)
    options = check_options(flags)
    check_output_folder(options.output, "--output")
    need_model_extra(options)
    if recipe is None:
        recipe = recipe_from_flags(options)
        check_pass_arguments(recipe, "the flags")
    model = open_model(options)
    plan = plan_batches(model, recipe, options.model)
    context = prepare(options, model, plan)
    if quantizes_dynamically(recipe, context):
        say(
            "note: no --calib-data: int8 covers Linear/MatMul and embeddings (dynamic); "
            "convolutions stay float. Pass --calib-data NAME|PATH to quantize them.",
            err=True,
        )
    if plan.note:
        say(f"note: {options.model} is {plan.note}", err=True)
    result = compress(
        model,
        recipe,
        context,
        options.output,
        name=Path(str(options.model)).name,
        sensitivity=options.sensitivity or wants_sensitivity(recipe, context),
        quiet=options.quiet,
        notes=[plan.note] if plan.note else [],
        preprocessing=preprocessing_card(options),
    )
    say(summary(result.report))


def plan_batches(model: Any, recipe: dict[str, Any], path: Any) -> BatchPlan:
    """The batch sizes to run `model` at: the recipe's `analysis.batches` (checked against
    what a program accepts), else 1 and 32, or the sizes a static or bounded program takes
    (written into the recipe, so its report and `recipe.json` say what was measured)."""
    from accel.compress.batch import BATCHES, batch_plan, check_batches

    analysis = recipe.get("analysis") or {}
    recipe["analysis"] = analysis
    asked, plan = analysis.get("batches"), batch_plan(model)
    if asked:
        check_batches(plan, asked, path, "analysis.batches")
        return dataclasses.replace(plan, batches=tuple(asked))
    if plan.batches != BATCHES:
        analysis["batches"] = list(plan.batches)
    return plan


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
        fallback=options.fallback,
        calibration=options.calibration,
        target=options.target,
    )
    recipe["analysis"] = {"repeats": options.repeats}
    if options.compile_baseline:
        recipe["analysis"]["compiled_baseline"] = True
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
    error, output = report["final"].get("output_error"), report.get("main_output")
    if error is not None and report["final"] is not report["steps"][0]:
        parts.append(f"output error {error:.2g}" + (f" ({output})" if output else ""))
    for batch in sorted(first["latency"], key=int):
        if batch in compared:  # timed in alternation: the ratio a busy machine does not skew
            parts.append(speed_text(batch, compared[batch]))
        else:
            a, b = first["latency"][batch]["median_ms"], last["latency"][batch]["median_ms"]
            parts.append(f"batch {batch}: {a:.2f} -> {b:.2f} ms ({a / b:.1f}x)")
    compiled = report.get("side_by_side_compiled") or {}
    if "error" in compiled:
        parts.append(compiled["error"])
    for batch in sorted((b for b in compiled if b != "error"), key=int):
        parts.append("vs torch.compile " + speed_text(batch, compiled[batch]))
    accuracy = (report["steps"][0].get("accuracy"), report["final"].get("accuracy"))
    if None not in accuracy:
        parts.append(f"accuracy {percent(accuracy[0])} -> {percent(accuracy[1])}")
    parts.extend(report.get("notes") or [])
    for step in report["steps"]:  # a step the user asked for and did not get must be said
        if step.get("status") == "dropped":
            parts.append(f"{step['name']} DROPPED: {'; '.join(step.get('notes') or [])}")
    for problem in report.get("problems") or []:  # written only because of --force
        parts.append(f"FORCED, NOT VERIFIED: {problem}")
    return "; ".join(parts)


def speed_text(batch: str, side: dict[str, Any]) -> str:
    """`batch 32: 1.80 -> 0.34 ms (5.3x, 5.1-5.5x)`: the median per-round ratio and its
    quartiles; a comparison the machine's load spoilt says so instead of being believed."""
    a, b, speedup = side["before_ms"], side["after_ms"], side["speedup"]
    text = f"batch {batch}: {a:.2f} -> {b:.2f} ms ({speedup:.1f}x"
    if "speedup_low" in side:
        text += f", {side['speedup_low']:.1f}-{side['speedup_high']:.1f}x"
    text += ")"
    if not side.get("reliable", True):
        text += f" [timings unreliable: {side['why']}]"
    return text


def analyze_command(flags: AnalyzeFlags) -> None:
    """Print (and optionally write) the analysis of one model."""
    from accel.compress.analysis import analyze
    from accel.compress.atomic import write_owned_json
    from accel.compress.batch import analysis_batch

    options = check_analyze_options(flags)
    model = open_model(options)
    batch = analysis_batch(model)
    plan = None if batch is None else BatchPlan(batches=(batch,), data=batch, exact=True)
    context = prepare(options, model, plan)
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
