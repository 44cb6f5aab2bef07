"""Prometheus metrics of one server (its own registry, so two apps in a process never mix).

Labels are bounded: `model` and `version` are the served ones ("" for a request naming an
unknown model, so a stranger cannot grow the series), `route` is the route template.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    """The server's metrics (names start with `accel_serve_`)."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they double the scrape
        self.registry = CollectorRegistry()
        labels = ("route", "model", "version")
        self.requests = Counter(
            "accel_serve_requests",
            "HTTP requests answered, by route, model, version and status code.",
            (*labels, "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "accel_serve_request_duration_seconds",
            "Time from request to response.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "accel_serve_batch_size",
            "Rows per model call (dynamic batching).",
            ("model", "version"),
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "accel_serve_inference_duration_seconds",
            "Time of one model call on one batch.",
            ("model", "version"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "accel_serve_queue_depth",
            "Requests waiting for a batch.",
            ("model", "version"),
            registry=self.registry,
        )
        self.load_seconds = Gauge(
            "accel_serve_model_load_seconds",
            "Time to load and warm up the model.",
            ("model", "version"),
            registry=self.registry,
        )
        self.ready = Gauge(
            "accel_serve_ready", "1 when every model is loaded and warm.", registry=self.registry
        )
        self.in_flight = Gauge(
            "accel_serve_in_flight", "Requests being answered.", registry=self.registry
        )
