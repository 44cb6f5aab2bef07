"""`accel serve PATH`: contributed to the `accel` command through `accel.commands`, and runnable
alone as `python -m accel.serve PATH` (accel-cli is not needed). Heavy modules load inside the
command, so `--help` is instant."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

import typer

from accel.core.errors import AccelError, ConfigError

app = typer.Typer(
    name="serve",
    help="Serve models over HTTP: Open Inference Protocol (KServe V2), /predict, /metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def opt(help: str, *names: str, **extra: Any) -> Any:
    return typer.Option(*names, help=help, **extra)


@app.command()
def serve(
    models: Annotated[
        list[str],
        typer.Argument(
            help="[NAME=]PATH: an .onnx file, an accel compress folder, a .pt2 program, "
            "TorchScript (--trust-file), an accel checkpoint or run directory, or an MLflow "
            "model URI (models:/NAME@ALIAS, runs:/ID/PATH; accel-serve[mlflow]).",
        ),
    ],
    name: Annotated[str | None, opt("Model name (default: the folder's name).")] = None,
    host: Annotated[str, opt("Address to bind (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, opt("Port (0: any free port).")] = 8000,
    max_batch: Annotated[int, opt("Most rows run together in one model call.")] = 32,
    max_wait_ms: Annotated[float, opt("Longest a batch waits to fill, in ms (0: no wait).")] = 0.0,
    max_queue: Annotated[int, opt("Requests that may wait per model; more get 503.")] = 256,
    timeout_s: Annotated[float, opt("Per-request timeout (504 after it).")] = 30.0,
    threads: Annotated[
        int | None, opt("Intra-op threads of each model (default: the usable cores).")
    ] = None,
    token: Annotated[
        str | None,
        opt("Bearer token for every route but liveness.", envvar="ACCEL_SERVE_TOKEN"),
    ] = None,
    cors_origin: Annotated[
        list[str] | None, opt("Allow browser calls from this origin (repeatable; default none).")
    ] = None,
    split: Annotated[
        str | None, opt("Traffic split between versions: a=0.9,b=0.1 (needs --name).")
    ] = None,
    max_body_mb: Annotated[float, opt("Largest request body, in MiB (413 above).")] = 8.0,
    max_image_pixels: Annotated[int, opt("Largest image, in pixels (413 above).")] = 4096 * 4096,
    drain_timeout_s: Annotated[float, opt("On SIGTERM, wait this long for requests.")] = 30.0,
    input_shape: Annotated[
        str | None, opt("One sample's shape, e.g. 1,8,8 (TorchScript, checkpoints).")
    ] = None,
    trust_file: Annotated[
        bool, opt("Trust the model files: TorchScript, any .pt2, a _target_ (runs code!).")
    ] = False,
    access_log: Annotated[bool, opt("One JSON line per request on stderr.")] = True,
) -> None:
    """Serve MODELS until SIGTERM (ready once each is loaded and warm)."""
    try:
        options = build_options(
            models,
            name=name,
            split=split,
            host=host,
            port=port,
            max_batch=max_batch,
            max_wait_ms=max_wait_ms,
            max_queue=max_queue,
            timeout_s=timeout_s,
            threads=threads,
            token=token or None,
            cors_origins=tuple(cors_origin or ()),
            max_body_mb=max_body_mb,
            max_image_pixels=max_image_pixels,
            drain_timeout_s=drain_timeout_s,
            input_shape=input_shape,
            trust=trust_file,
            log_requests=access_log,
        )
        from accel.serve.loading import check_source

        for entry in options.models:
            check_source(entry.path)  # a bad path or URI is said before the server starts
    except AccelError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2 if isinstance(error, ConfigError) else 1) from None
    warn_if_open(options.host, options.token)
    from accel.serve.server import serve as run_server

    raise typer.Exit(run_server(options))


def build_options(models: list[str], **flags: Any) -> Any:
    """The checked `ServeOptions` of the command line."""
    from accel.serve.options import ServeOptions, check_range, parse_models, parse_shape
    from accel.serve.runners import usable_cores

    check_range("--port", flags["port"], 0, 65535)
    check_range("--max-batch", flags["max_batch"], 1, 4096)
    check_range("--max-wait-ms", flags["max_wait_ms"], 0, 10_000)
    check_range("--max-queue", flags["max_queue"], 1, 100_000)
    check_range("--timeout-s", flags["timeout_s"], 0.01, 3600)
    check_range("--max-body-mb", flags["max_body_mb"], 0.001, 1024)
    check_range("--max-image-pixels", flags["max_image_pixels"], 1, 2**31)
    check_range("--drain-timeout-s", flags["drain_timeout_s"], 0, 3600)
    threads = flags["threads"] or usable_cores()
    check_range("--threads", threads, 1, 256)
    entries = parse_models(models, flags["name"], flags["split"])
    return ServeOptions(
        models=entries,
        host=flags["host"],
        port=flags["port"],
        max_batch=flags["max_batch"],
        max_wait_ms=flags["max_wait_ms"],
        max_queue=flags["max_queue"],
        timeout_s=flags["timeout_s"],
        threads=threads,
        token=flags["token"],
        cors_origins=flags["cors_origins"],
        max_body_bytes=int(flags["max_body_mb"] * 2**20),
        max_image_pixels=flags["max_image_pixels"],
        drain_timeout_s=flags["drain_timeout_s"],
        trust=flags["trust"],
        input_shape=parse_shape(flags["input_shape"]),
        log_requests=flags["log_requests"],
    )


def warn_if_open(host: str, token: str | None) -> None:
    """Binding beyond this machine without a token is allowed, but said."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and token is None:
        typer.secho(
            f"warning: serving on {host} without --token: anyone who can reach this port can "
            "use the models",
            fg=typer.colors.YELLOW,
            err=True,
        )


def main() -> None:
    """`python -m accel.serve`."""
    app(prog_name="python -m accel.serve")
