"""ASGI layers around the routes: metrics + JSON access log (outermost), then the bearer token
and the body-size limit, checked before a route reads anything."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from accel.serve.errors import ServeError
from accel.serve.state import ServerState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

ACCESS = logging.getLogger("accel.serve.access")
OPEN_PATHS = frozenset({"/v2/health/live"})  # liveness needs no token


class Observe:
    """Counts, times and logs every request (one JSON line each) with bounded labels that the
    routes leave in `scope["state"]` (route template, served model and version)."""

    def __init__(self, app: App, *, state: ServerState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500, "bytes": 0}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        labels = scope.setdefault("state", {})
        self.state.in_flight += 1
        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.state.in_flight -= 1
            seconds = time.perf_counter() - start
            self.record(scope, labels, status, seconds)

    def record(
        self, scope: Scope, labels: dict[str, Any], status: dict[str, int], seconds: float
    ) -> None:
        route = labels.get("route", "unmatched")
        model, version = labels.get("model", ""), labels.get("version", "")
        metrics = self.state.metrics
        metrics.requests.labels(route, model, version, str(status["code"])).inc()
        metrics.latency.labels(route, model, version).observe(seconds)
        if self.state.options.log_requests:
            ACCESS.info(
                json.dumps(
                    {
                        "ts": round(time.time(), 3),
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "route": route,
                        "model": model,
                        "version": version,
                        "status": status["code"],
                        "ms": round(seconds * 1e3, 3),
                        "bytes": status["bytes"],
                        "client": (scope.get("client") or ("", 0))[0],
                        "error": labels.get("error"),
                    }
                )
            )


class Guard:
    """The bearer token (every route but liveness) and the body-size limit (a declared
    Content-Length over it is refused unread; a streamed body is cut off at the limit)."""

    def __init__(self, app: App, *, state: ServerState) -> None:
        self.app, self.state = app, state
        token = state.options.token
        self.expected = f"Bearer {token}".encode() if token else None
        self.limit = state.options.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            scope.setdefault("state", {})["error"] = str(refusal)
            await respond(send, refusal)
            return
        await self.app(scope, self.limited(receive), send)

    def refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> ServeError | None:
        if self.expected is not None and scope.get("path") not in OPEN_PATHS:
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                return ServeError(
                    401,
                    "missing or wrong bearer token: send Authorization: Bearer <token>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return ServeError(400, "Content-Length is not a number")
            if declared > self.limit:
                return too_large(declared, self.limit)
        return None

    def limited(self, receive: Receive) -> Receive:
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise too_large(seen, self.limit)
            return message

        return receive_limited


def too_large(size: int, limit: int) -> ServeError:
    return ServeError(
        413, f"body: {size} bytes or more, more than the limit of {limit} bytes (--max-body-mb)"
    )


async def respond(send: Send, error: ServeError) -> None:
    """Answer with the error as `{"error": "..."}` (the protocol's error object)."""
    body = json.dumps({"error": str(error)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    if error.status == 413:
        headers.append((b"connection", b"close"))  # the unread body cannot be skipped
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
