"""The FastAPI app: Open Inference Protocol (KServe V2) routes, `/predict`, `/metrics`, `/`.

Bodies are read and checked by accel-serve itself (not by pydantic models), so each refusal is
one line naming the input and what the model expects, and a request costs one JSON parse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic_core import to_json
from starlette.exceptions import HTTPException

from accel.serve import __version__
from accel.serve.batching import Batcher
from accel.serve.errors import ServeError
from accel.serve.loading import open_model
from accel.serve.middleware import Guard, Observe
from accel.serve.options import ModelEntry, ServeOptions
from accel.serve.preprocessing import decode_image, predictions, tabular_rows
from accel.serve.runners import flat
from accel.serve.state import Endpoint, ServerState, Version
from accel.serve.tensors import output_tensor
from accel.serve.validation import infer_inputs, parse_json

LOG = logging.getLogger("accel.serve")
MAX_ROWS_PER_REQUEST = 4096
JSON = "application/json"


def create_app(options: ServeOptions, state: ServerState | None = None) -> FastAPI:
    """The app for `options`; its models load in the background once it starts (readiness
    stays false until each is loaded and warmed up)."""
    state = state or ServerState(options=options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(load_models(state))
        yield
        state.draining = True
        task.cancel()
        for endpoint in state.endpoints.values():
            for version in endpoint.versions.values():
                await version.batcher.stop()

    app = FastAPI(
        title="accel serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.serve = state
    add_routes(app, state)
    add_error_handlers(app)
    app.add_middleware(Guard, state=state)
    if options.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
        )
    app.add_middleware(Observe, state=state)
    return app


async def load_models(state: ServerState) -> None:
    """Load and warm up every model version, then mark the server ready; a failure is fatal
    (the server stops with that one line)."""
    try:
        for entry in state.options.models:
            version = await load_version(state, entry)
            endpoint = state.endpoints.setdefault(entry.name, Endpoint(name=entry.name))
            endpoint.versions[entry.version] = version
        state.loaded = True
        state.metrics.ready.set(1)
        LOG.info(json.dumps({"event": "ready", "models": state.options.names()}))
    except asyncio.CancelledError:
        raise
    except Exception as error:
        state.fatal = flat(error)
        LOG.error(json.dumps({"event": "load_failed", "error": state.fatal}))


async def load_version(state: ServerState, entry: ModelEntry) -> Version:
    options, metrics = state.options, state.metrics
    start = time.perf_counter()
    loaded = await asyncio.to_thread(
        open_model,
        entry.path,
        threads=options.threads,
        trust=options.trust,
        input_shape=options.input_shape,
    )
    labels = (entry.name, entry.version)

    def observe(rows: int, seconds: float) -> None:
        metrics.batch_size.labels(*labels).observe(rows)
        metrics.inference.labels(*labels).observe(seconds)

    batcher = Batcher(
        name=f"{entry.name}:{entry.version}",
        runner=loaded.runner,
        max_batch=options.max_batch,
        max_wait_s=options.max_wait_ms / 1e3,
        max_queue=options.max_queue,
        observe=observe,
    )
    await warm_up(batcher, entry)
    batcher.start()
    metrics.queue_depth.labels(*labels).set_function(lambda: batcher.depth)
    metrics.load_seconds.labels(*labels).set(time.perf_counter() - start)
    return Version(
        model=entry.name, version=entry.version, weight=entry.weight, loaded=loaded, batcher=batcher
    )


async def warm_up(batcher: Batcher, entry: ModelEntry) -> None:
    """One call on example inputs, so the first request pays no first-run cost. Where a
    dynamic size other than the batch had to be guessed, a failure is only logged."""
    inputs = batcher.runner.inputs
    feed = {spec.name: spec.example(1) for spec in inputs}
    try:
        await batcher.run_once(feed)
    except Exception as error:
        if not any(spec.guessed_dims() for spec in inputs):
            raise ServeError(500, f"{entry.path}: warm-up failed: {flat(error)}") from None
        LOG.warning(
            json.dumps({"event": "warmup_skipped", "model": entry.name, "why": flat(error)})
        )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as JSON (pydantic-core's encoder: NaN and infinity written as the standard
    library writes them, several times faster on long output arrays)."""
    return Response(to_json(body), status_code=status, media_type=JSON, headers=headers)


def label(request: Request, route: str, version: Version | None = None) -> None:
    """The bounded metric labels of this request (read by `Observe`)."""
    request.state.route = route
    if version is not None:
        request.state.model, request.state.version = version.model, version.version


def serving(state: ServerState) -> None:
    """New work is refused while loading and while shutting down."""
    if state.draining:
        raise ServeError(503, "the server is shutting down", headers={"Retry-After": "1"})
    if state.fatal is not None:
        raise ServeError(503, f"the server failed to load its models: {state.fatal}")
    if not state.loaded:
        raise ServeError(503, "the models are still loading", headers={"Retry-After": "1"})


def add_routes(app: FastAPI, state: ServerState) -> None:
    options = state.options

    @app.get("/v2/health/live")
    async def live(request: Request) -> Response:
        label(request, "live")
        return json_response({"live": True})

    @app.get("/v2/health/ready")
    async def ready(request: Request) -> Response:
        label(request, "ready")
        return json_response({"ready": state.ready}, 200 if state.ready else 503)

    @app.get("/v2")
    async def server_metadata(request: Request) -> Response:
        label(request, "server_metadata")
        return json_response({"name": "accel-serve", "version": __version__, "extensions": []})

    @app.get("/v2/models/{name}")
    @app.get("/v2/models/{name}/versions/{version}")
    async def model_metadata(request: Request, name: str, version: str | None = None) -> Response:
        label(request, "model_metadata")
        serving(state)
        endpoint = state.endpoint(name)
        chosen = endpoint.pick(state.rng, version) if version else None
        shown = chosen or next(iter(endpoint.versions.values()))
        label(request, "model_metadata", shown)
        return json_response(metadata(state, endpoint, shown, explicit=chosen is not None))

    @app.get("/v2/models/{name}/ready")
    @app.get("/v2/models/{name}/versions/{version}/ready")
    async def model_ready(request: Request, name: str, version: str | None = None) -> Response:
        label(request, "model_ready")
        if name in options.names() and name not in state.endpoints:
            return json_response({"name": name, "ready": False}, 503)
        endpoint = state.endpoint(name)
        if version is not None:
            endpoint.pick(state.rng, version)
        ok = state.ready
        return json_response({"name": name, "ready": ok}, 200 if ok else 503)

    async def infer(request: Request) -> Response:
        """The hot route, a plain Starlette route: FastAPI's per-request dependency solving
        buys nothing for a body accel-serve reads and checks itself."""
        label(request, "infer")
        serving(state)
        params = request.path_params
        name = params["name"]
        chosen = state.endpoint(name).pick(state.rng, params.get("version"))
        label(request, "infer", chosen)
        body = parse_json(await request.body())
        runner = chosen.loaded.runner
        feed, rows, wanted = infer_inputs(body, runner.inputs, MAX_ROWS_PER_REQUEST)
        names = [spec.name for spec in runner.outputs]
        unknown = [n for n in wanted or [] if n not in names]
        if unknown:
            raise ServeError(422, f"outputs: unknown output {unknown[0]!r:.60}; outputs: {names}")
        outputs = await chosen.batcher.infer(feed, rows, options.timeout_s)
        answer: dict[str, Any] = {"model_name": name, "model_version": chosen.version}
        if isinstance(body.get("id"), str):
            answer["id"] = body["id"]
        answer["outputs"] = [output_tensor(n, outputs[n]) for n in wanted or names]
        return json_response(answer)

    app.add_route("/v2/models/{name}/infer", infer, methods=["POST"])
    app.add_route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"])

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        label(request, "predict")
        serving(state)
        start = time.perf_counter()
        query = request.query_params
        chosen = state.only_endpoint(query.get("model")).pick(state.rng, query.get("version"))
        label(request, "predict", chosen)
        top_k = int_param(query.get("top_k"), "top_k", 5, 1, 1000)
        prep = chosen.loaded.preprocessing
        if prep.kind is None:
            spec = ", ".join(f"{s.name} {s.shape_text()}" for s in chosen.loaded.runner.inputs)
            raise ServeError(
                422,
                f"model {chosen.model!r} takes {spec}; /predict takes image classifiers "
                f"([N, C, H, W], C 1 or 3) and tabular rows ([N, F]): use "
                f"/v2/models/{chosen.model}/infer",
            )
        if prep.kind == "image":
            data = await image_bytes(request, options.max_body_bytes)
            batch = await asyncio.to_thread(
                decode_image, prep, data, max_pixels=options.max_image_pixels
            )
            rows = 1
        else:
            batch = tabular_rows(prep, parse_json(await request.body()))
            rows = batch.shape[0]
        outputs = await chosen.batcher.infer({prep.input_name: batch}, rows, options.timeout_s)
        first = outputs[chosen.loaded.runner.outputs[0].name]
        found = predictions(first, top_k, prep.labels)
        return json_response(
            {
                "model_name": chosen.model,
                "model_version": chosen.version,
                "predictions": found[0] if prep.kind == "image" else found,
                "latency_ms": round((time.perf_counter() - start) * 1e3, 3),
            }
        )

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        label(request, "metrics")
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        state.metrics.in_flight.set(state.in_flight)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/")
    async def page(request: Request) -> HTMLResponse:
        label(request, "page")
        from accel.serve.page import render_page

        return HTMLResponse(render_page(options.names()))


def metadata(
    state: ServerState, endpoint: Endpoint, shown: Version, *, explicit: bool
) -> dict[str, Any]:
    runner = shown.loaded.runner
    found: dict[str, Any] = {
        "name": endpoint.name,
        "versions": list(endpoint.versions),
        "platform": runner.platform,
        "inputs": [spec.metadata() for spec in runner.inputs],
        "outputs": [spec.metadata() for spec in runner.outputs],
        "parameters": {
            "preprocessing": shown.loaded.preprocessing.describe(),
            "split": {v.version: v.weight for v in endpoint.versions.values()},
            "max_batch": shown.batcher.max_batch,
            "intra_op_threads": runner.threads,
            "workers": 1,
        },
    }
    if explicit:
        found["version"] = shown.version
    return found


def int_param(text: str | None, key: str, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ServeError(422, f"{key}={text[:20]!r}: expected a whole number in [{low}, {high}]")
    return value


async def image_bytes(request: Request, limit: int) -> bytes:
    """The uploaded image: a multipart field `image` (or `file`), or a raw PNG/JPEG body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=8, max_part_size=limit)
        upload = form.get("image") or form.get("file")
        if upload is None or isinstance(upload, str):
            raise ServeError(422, "form: expected a file field named image")
        return await upload.read()
    if kind in ("image/png", "image/jpeg", "application/octet-stream"):
        return await request.body()
    raise ServeError(
        415,
        f"content type {kind or 'none'!r:.60}: send multipart/form-data with a file field "
        "'image', or a body of type image/png or image/jpeg",
    )


def add_error_handlers(app: FastAPI) -> None:
    """Every error as `{"error": "one line"}`, the line also in the access log."""

    def answer(request: Request, status: int, message: str, headers: Any = None) -> Response:
        request.state.error = message
        return json_response({"error": message}, status, headers)

    @app.exception_handler(ServeError)
    async def serve_error(request: Request, error: ServeError) -> Response:
        return answer(request, error.status, str(error), error.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        text = error.detail if isinstance(error.detail, str) else str(error.detail)
        if error.status_code == 404:
            text = f"no route {request.method} {request.url.path[:100]}"
        elif error.status_code == 405:
            text = f"{request.method} is not allowed on {request.url.path[:100]}"
        return answer(request, error.status_code, " ".join(text.split()), error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return answer(request, 422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        LOG.exception("internal error")
        return answer(request, 500, f"internal error: {type(error).__name__}: {flat(error)}")
