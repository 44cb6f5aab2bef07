"""`accel compress`: compress a model file, or `accel compress analyze` it.

`accel compress model.pt --quantize int8` and `accel compress analyze model.pt` share one
group: a first argument that is not a sub-command name runs the default `run` command.
Heavy modules load inside the commands, so `--help` is instant. Each command hands its flags
on as one typed object (`CompressFlags`, `AnalyzeFlags`), which mypy checks field by field.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from accel.compress.options import AnalyzeFlags, CompressFlags
from accel.core.errors import AccelError

DEFAULT_COMMAND = "run"


class DefaultCommandGroup(TyperGroup):
    """A group whose first non-command argument means the default command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's usage errors (an unknown flag, a missing value) as one `error:` line."""
        call = {"prog_name": prog_name, "complete_var": complete_var, **extra}
        call["windows_expand_args"] = windows_expand_args
        if not standalone_mode:
            return super().main(args, standalone_mode=False, **call)
        try:
            code = super().main(args, standalone_mode=False, **call)
        except typer.Abort:
            typer.secho("error: aborted", fg="red", err=True)
            sys.exit(1)
        except Exception as error:
            if not is_usage_error(error):
                raise
            message = str(error.format_message()).rstrip(".")  # type: ignore[attr-defined]
            typer.secho(f"error: {message} (see --help)", fg="red", err=True)
            sys.exit(int(getattr(error, "exit_code", 2)))
        sys.exit(code if isinstance(code, int) else 0)


def is_usage_error(error: BaseException) -> bool:
    """A click usage error, from click itself or the copy newer typers ship (`typer._click`)."""
    return any(kind.__name__ == "ClickException" for kind in type(error).__mro__)


app = typer.Typer(
    name="compress",
    cls=DefaultCommandGroup,
    help="Prune, reparametrize, quantize, export and verify a model: "
    "[bold]accel compress model.pt --quantize int8 --calib-data data.npy[/].",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)


def fail(error: Exception) -> None:
    """Print an accel error as one line and exit 1 (also when accel-cli is not installed)."""
    typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


Text = str | None
Flag = bool
TRUST_HELP = (
    "Trust the model, checkpoint, recipe and spec files: allow a full pickle, a `_target_` "
    "and any .pt2 (runs their code!). --unsafe-pickle is the same flag."
)

SPEC_HELP = (
    "Named inputs, e.g. input_ids:int64[1,128],attention_mask:int64[1,128] "
    "(else read from a .pt2 program or the data)."
)


def opt(help: str, *names: str) -> Any:
    """A typer option (used inside `Annotated`, so defaults stay plain values)."""
    return typer.Option(*names, help=help)


MEAN_HELP = (
    "Per-channel mean subtracted from images read from a folder, e.g. 0.485,0.456,0.406 or "
    "imagenet (pixels are first scaled to [0, 1]); written to preprocessing.json."
)
ARCH_HELP = (
    "Architecture of a state dict: a registry name, or torchvision:NAME / timm:NAME"
    "[,KEY=VALUE...] (random weights built by that library, then yours loaded)."
)


@app.command(DEFAULT_COMMAND)
def run(
    model: Annotated[
        Path | None, typer.Argument(help="model.pt, .pt2, TorchScript, .onnx.")
    ] = None,
    quantize: Annotated[
        Text,
        opt(
            "int8 (static with --calib-data, else Linear-only "
            "dynamic), int8-static or int8-dynamic."
        ),
    ] = None,
    prune: Annotated[Text, opt("Channel ratio to remove (0.5), or 'auto' (--max-drop).")] = None,
    fold_bn: Annotated[Flag, opt("Fold BatchNorm into convolutions.")] = False,
    merge_branches: Annotated[Flag, opt("Merge RepVGG-style parallel branches.")] = False,
    export: Annotated[Text, opt("onnx or pt2.")] = None,
    backend: Annotated[Text, opt("int8 backend: ort, openvino, pt2e or torchao.")] = None,
    target: Annotated[str, opt("x86 or arm64.")] = "x86",
    calib_data: Annotated[Text, opt("Dataset name, image folder, .npy/.npz/.pt file.")] = None,
    eval_data: Annotated[Text, opt("Labelled data: dataset name, .npz (x, y), .pt.")] = None,
    train_data: Annotated[Text, opt("Labelled data to fine-tune on after pruning.")] = None,
    input_shape: Annotated[Text, opt("e.g. 1,3,224,224 (else taken from the data).")] = None,
    input_spec: Annotated[Text, opt(SPEC_HELP)] = None,
    mean: Annotated[Text, opt(MEAN_HELP)] = None,
    std: Annotated[Text, opt("Per-channel std of images read from a folder (or imagenet).")] = None,
    max_drop: Annotated[Text, opt("Largest accuracy drop allowed, points in [0, 100].")] = None,
    epochs: Annotated[str, opt("Fine-tune epochs after pruning (with --train-data).")] = "2",
    arch: Annotated[Text, opt(ARCH_HELP)] = None,
    trust_file: Annotated[Flag, opt(TRUST_HELP, "--trust-file", "--unsafe-pickle")] = False,
    recipe: Annotated[Path | None, opt("Recipe file (YAML/JSON) instead of flags.")] = None,
    sensitivity: Annotated[Flag, opt("Add per-layer pruning sensitivity.")] = False,
    repeats: Annotated[str, opt("Latency repeats per measurement, 1 to 1000.")] = "10",
    force: Annotated[Flag, opt("Write results that break a tolerance or slow down.")] = False,
    fallback: Annotated[
        Flag, opt("Keep the most sensitive layers in float when int8 breaks its budget.")
    ] = True,
    compile_baseline: Annotated[
        Flag, opt("Also time the result against the original under torch.compile (slow).")
    ] = False,
    calibration: Annotated[
        str,
        opt(
            "Static int8 ranges: auto (min/max, else the best of percentile/entropy), "
            "minmax, percentile or entropy."
        ),
    ] = "auto",
    output: Annotated[
        Path, opt("Output folder: new, empty, or an earlier accel output.", "-o", "--output")
    ] = Path("compressed"),
    quiet: Annotated[Flag, opt("No progress display.", "-q", "--quiet")] = False,
) -> None:
    """Compress MODEL with the given passes; writes the model, report.{json,md,png}, recipe."""
    from accel.compress.command import run_command

    flags = CompressFlags(
        model=model,
        quantize=quantize,
        prune=prune,
        fold_bn=fold_bn,
        merge_branches=merge_branches,
        export=export,
        backend=backend,
        target=target,
        calib_data=calib_data,
        eval_data=eval_data,
        train_data=train_data,
        input_shape=input_shape,
        input_spec=input_spec,
        mean=mean,
        std=std,
        max_drop=max_drop,
        epochs=epochs,
        arch=arch,
        trust_file=trust_file,
        recipe=recipe,
        sensitivity=sensitivity,
        repeats=repeats,
        force=force,
        fallback=fallback,
        calibration=calibration,
        compile_baseline=compile_baseline,
        output=output,
        quiet=quiet,
    )
    guarded(lambda: run_command(flags), trust_file)


@app.command("analyze")
def analyze(
    model: Annotated[Path, typer.Argument(help="The model file.")],
    input_shape: Annotated[Text, opt("e.g. 1,3,224,224 (else taken from the data).")] = None,
    input_spec: Annotated[Text, opt(SPEC_HELP)] = None,
    mean: Annotated[Text, opt(MEAN_HELP)] = None,
    std: Annotated[Text, opt("Per-channel std of images read from a folder (or imagenet).")] = None,
    calib_data: Annotated[Text, opt("Real inputs (shape, sensitivity).")] = None,
    eval_data: Annotated[Text, opt("Labelled data (accuracy, sensitivity).")] = None,
    arch: Annotated[Text, opt(ARCH_HELP)] = None,
    trust_file: Annotated[Flag, opt(TRUST_HELP, "--trust-file", "--unsafe-pickle")] = False,
    sensitivity: Annotated[Flag, opt("Per-layer pruning sensitivity.")] = False,
    repeats: Annotated[str, opt("Latency repeats per measurement, 1 to 1000.")] = "10",
    output: Annotated[
        Path | None, opt("Write the JSON here (a new file, or one accel wrote).", "-o", "--output")
    ] = None,
) -> None:
    """Parameters, MACs, size on disk, latency (and sensitivity, accuracy with data)."""
    from accel.compress.command import analyze_command

    flags = AnalyzeFlags(
        model=model,
        input_shape=input_shape,
        input_spec=input_spec,
        mean=mean,
        std=std,
        calib_data=calib_data,
        eval_data=eval_data,
        arch=arch,
        trust_file=trust_file,
        sensitivity=sensitivity,
        repeats=repeats,
        output=output,
    )
    guarded(lambda: analyze_command(flags), trust_file)


def guarded(command: Callable[[], None], trust: bool) -> None:
    """Run `command` trusting files only with `--trust-file` (`trust`); an accel error (a bad
    value, a missing extra) is one line."""
    from accel.core.trust import trusting_files

    try:
        with trusting_files(trust):
            command()
    except AccelError as error:
        fail(error)


def main() -> None:  # pragma: no cover - `python -m accel.compress.cli`
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
