"""What `accel compress` and `accel compress analyze` do, apart from parsing flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import typer

from accel.compress.data import load_data, take_inputs
from accel.compress.loading import load_model
from accel.compress.recipe import build_recipe, load_recipe
from accel.core.errors import ConfigError
from accel.core.passes import PassContext

RECIPE_OVERRIDES = ("model", "arch", "input_shape", "calib_data", "eval_data", "train_data")


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """`1,3,224,224` -> (1, 3, 224, 224)."""
    if text is None:
        return None
    try:
        shape = tuple(int(p) for p in str(text).replace("x", ",").split(",") if p.strip())
    except ValueError:
        shape = ()
    if len(shape) < 2 or any(d <= 0 for d in shape):
        raise ConfigError(f"--input-shape {text!r}: expected positive sizes like 1,3,224,224")
    return shape


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


def check_inputs(model: Any, example: torch.Tensor) -> None:
    """Run the model once so a wrong input shape is one clear line, not a traceback later."""
    from accel.compress.artifacts import Runner

    try:
        Runner(model)(example[:2])
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise ConfigError(
            f"the model does not accept inputs of shape {tuple(example.shape)} ({first}): "
            "pass --input-shape with the shape it expects"
        ) from None


def read_data(source: str | None, split: str, shape: Any) -> Any:
    return None if source is None else load_data(source, split=split, input_shape=shape)


def own_data(path: Any) -> tuple[Any, Any]:
    """(calibration, evaluation) loaders from an accel checkpoint's data config, else Nones."""
    from accel.compress.loading import checkpoint_data

    module = checkpoint_data(path)
    if module is None:
        return None, None
    test = module.test_dataloader() or module.val_dataloader()
    return module.train_dataloader(), test


def merged_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Flags, completed by the recipe file's `model`, `calib_data`, ... when one is given."""
    if options.get("recipe") is None:
        return options, None
    recipe = load_recipe(Path(options["recipe"]))
    for key in RECIPE_OVERRIDES:
        if options.get(key) is None and recipe.get(key) is not None:
            options[key] = recipe[key]
    if recipe.get("output") and options["output"] == Path("compressed"):
        options["output"] = Path(recipe["output"])
    return options, recipe


def prepare(options: dict[str, Any]) -> tuple[Any, PassContext]:
    """Load the model and data, and build the pass context."""
    if options.get("model") is None:
        raise ConfigError("no model: pass MODEL (a .pt/.pt2/.onnx file) or 'model:' in --recipe")
    model = load_model(
        options["model"], arch=options["arch"], unsafe_pickle=options["unsafe_pickle"]
    )
    shape = parse_shape(options.get("input_shape"))
    calib = read_data(options.get("calib_data"), "train", shape)
    val = read_data(options.get("eval_data"), "test", shape)
    train = read_data(options.get("train_data"), "train", shape)
    if calib is None and val is None:
        calib, val = own_data(options["model"])
    example = example_inputs(model, shape, take_inputs(calib, 1) or take_inputs(val, 1))
    check_inputs(model, example)
    evaluate = None
    if val is not None:
        from accel.compress.verify import accuracy

        evaluate = lambda artifact: accuracy(artifact, val)  # noqa: E731
    context = PassContext(
        example_inputs=example,
        calib_data=calib,
        train_data=train,
        val_data=val,
        evaluate=evaluate,
        target=options.get("target") or "x86",
        options={"arch": options.get("arch")},
    )
    return model, context


def run_command(options: dict[str, Any]) -> None:
    """Load, build the recipe, compress, print a one-line summary."""
    from accel.compress.pipeline import compress

    options, recipe = merged_options(options)
    model, context = prepare(options)
    if recipe is None:
        recipe = build_recipe(
            quantize=options["quantize"],
            prune=options["prune"],
            fold_bn=options["fold_bn"],
            merge_branches=options["merge_branches"],
            export=options["export"],
            backend=options["backend"],
            finetune_epochs=options["epochs"],
            has_train_data=context.train_data is not None,
            max_drop=options["max_drop"],
            force=options["force"],
            target=options["target"],
        )
        recipe["analysis"] = {"repeats": options["repeats"]}
    if options["quantize"] and context.calib_data is None:
        typer.echo(
            "note: no --calib-data: int8 covers Linear/MatMul only (dynamic); convolutions stay "
            "float. Pass --calib-data NAME|PATH to quantize them.",
            err=True,
        )
    name = Path(options["model"]).name
    result = compress(
        model,
        recipe,
        context,
        options["output"],
        name=name,
        sensitivity=options["sensitivity"] or wants_sensitivity(recipe, context),
        quiet=options["quiet"],
    )
    typer.echo(summary(result.report))


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
        parts.append(f"accuracy {accuracy[0]:.2f} -> {accuracy[1]:.2f}")
    for step in report["steps"]:  # a step the user asked for and did not get must be said
        if step.get("status") == "dropped":
            parts.append(f"{step['name']} DROPPED: {'; '.join(step.get('notes') or [])}")
    return "; ".join(parts)


def analyze_command(options: dict[str, Any]) -> None:
    """Print (and optionally write) the analysis of one model."""
    from accel.compress.analysis import analyze
    from accel.compress.atomic import write_json

    options = {**options, "train_data": None, "target": "x86"}
    model, context = prepare(options)
    result = analyze(model, context.example_inputs, repeats=options["repeats"])
    if context.evaluate is not None:
        result["accuracy"] = context.evaluate(model)
    if options["sensitivity"]:
        from accel.compress.pipeline import parity_inputs
        from accel.compress.sensitivity import sensitivity

        result["sensitivity"] = sensitivity(
            model,
            context.example_inputs,
            inputs=parity_inputs(context),
            eval_data=context.val_data,
        )
    if options.get("output"):
        write_json(Path(options["output"]), result)
    typer.echo(json.dumps(result, indent=2, default=str))
