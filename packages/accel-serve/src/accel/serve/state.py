"""What a running server holds: its models (each with versions and a traffic split), their
batchers, and whether it is ready (every model loaded and warm, not shutting down)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from accel.serve.batching import Batcher
from accel.serve.errors import ServeError
from accel.serve.loading import LoadedModel
from accel.serve.metrics import Metrics
from accel.serve.options import ServeOptions


@dataclass(eq=False, kw_only=True)
class Version:
    """One version of a model, loaded, with its batcher."""

    model: str
    version: str
    weight: float
    loaded: LoadedModel
    batcher: Batcher


@dataclass(eq=False, kw_only=True)
class Endpoint:
    """A model clients name: its versions and how requests are split between them."""

    name: str
    versions: dict[str, Version] = field(default_factory=dict)

    def pick(self, rng: random.Random, version: str | None = None) -> Version:
        """The version a request goes to: the one it names, else drawn by weight."""
        if version is not None:
            found = self.versions.get(version)
            if found is None:
                raise ServeError(
                    404,
                    f"model {self.name!r} has no version {version!r:.40}; versions: "
                    f"{', '.join(self.versions)}",
                )
            return found
        if len(self.versions) == 1:
            return next(iter(self.versions.values()))
        chosen = rng.choices(
            list(self.versions.values()), weights=[v.weight for v in self.versions.values()]
        )
        return chosen[0]


@dataclass(eq=False, kw_only=True)
class ServerState:
    """The app's state (one per app: tests start several in one process)."""

    options: ServeOptions
    metrics: Metrics = field(default_factory=Metrics)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    loaded: bool = False
    draining: bool = False
    fatal: str | None = None
    in_flight: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def ready(self) -> bool:
        return self.loaded and not self.draining and self.fatal is None

    def endpoint(self, name: str) -> Endpoint:
        found = self.endpoints.get(name)
        if found is None:
            names = ", ".join(self.endpoints) or "none loaded yet"
            raise ServeError(404, f"unknown model {name!r:.60}; models: {names}")
        return found

    def only_endpoint(self, name: str | None) -> Endpoint:
        """The model `/predict?model=` names, or the only one served."""
        if name is not None:
            return self.endpoint(name)
        if len(self.endpoints) == 1:
            return next(iter(self.endpoints.values()))
        raise ServeError(
            422, f"several models are served: add ?model=NAME ({', '.join(self.endpoints)})"
        )
