"""Latency of a call on this machine, measured so that a busy machine shows in the figures.

A median of wall times alone misleads where other work shares the cores: torch eager can slow
10-30x at a load of 4 while ONNX Runtime holds. So a measure states its threads, the process
CPU time per call and the load average beside the wall times (CPU time far below wall time x
threads: the call waited for the cores), and `compare_latency` times two calls in
alternation, so that load which comes and goes slows both alike.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch

SLOW_CALL_S = 1.0  # a call this slow after the first is warm: a big model gains nothing more
MAX_WARMUP_CALLS = 200


@dataclass(frozen=True)
class Latency:
    """Wall times of `repeats` calls after `warmup` untimed ones, with what explains them."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int
    warmup: int
    threads: int  # torch's intra-op threads during the measure
    cpu_ms: float  # process CPU time per call, every thread of this process together
    load_average: float | None  # the 1-minute load average after the measure (None: no such OS)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """Two calls timed side by side; `speedup` is the median of the per-round ratios
    before / after (robust where a ratio of two separate medians is not)."""

    before_ms: float
    after_ms: float
    speedup: float
    rounds: int
    threads: int
    load_average: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_latency(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    repeats: int = 10,
    warmup: int = 3,
    threads: int | None = None,
    warmup_s: float = 0.0,
    budget_s: float | None = None,
) -> Latency:
    """Time `fn(inputs)` (a tuple of inputs: `fn(*inputs)`) without gradients: `repeats`
    timed calls after at least `warmup` calls and `warmup_s` seconds of untimed ones.

    `budget_s` cuts the timed calls of a slow `fn` to about that many seconds (3 at least);
    `threads` sets torch's intra-op threads for the measure (default: as they are). On CUDA
    inputs every call is synchronized, so the time is the GPU's too.
    """
    call = bound_call(fn, inputs)
    with torch_threads(threads) as used, torch.no_grad():
        warmed, last = warm_up(call, warmup, warmup_s)
        if budget_s is not None:
            repeats = min(repeats, max(3, int(budget_s / max(last, 1e-6))))
        cpu = time.process_time()
        times = [timed_ms(call) for _ in range(repeats)]
        cpu = time.process_time() - cpu
    return Latency(
        median_ms=statistics.median(times),
        min_ms=min(times),
        max_ms=max(times),
        repeats=repeats,
        warmup=warmed,
        threads=used,
        cpu_ms=cpu * 1000 / repeats,
        load_average=load_average(),
    )


def compare_latency(
    before: Callable[..., Any],
    after: Callable[..., Any],
    inputs: Any,
    *,
    rounds: int = 10,
    warmup: int = 1,
    warmup_s: float = 0.0,
    budget_s: float | None = None,
) -> Comparison:
    """`before` and `after` timed in alternation on `inputs`: one call of each per round, the
    order flipped every round. `warmup`, `warmup_s` and `budget_s` as in `measure_latency`
    (the budget covers both calls of a round)."""
    calls = (bound_call(before, inputs), bound_call(after, inputs))
    with torch.no_grad():
        last = sum(warm_up(call, warmup, warmup_s)[1] for call in calls)
        if budget_s is not None:
            rounds = min(rounds, max(3, int(budget_s / max(last, 1e-6))))
        times: tuple[list[float], list[float]] = ([], [])
        for index in range(rounds):
            for which in (0, 1) if index % 2 == 0 else (1, 0):
                times[which].append(timed_ms(calls[which]))
    ratios = [a / b for a, b in zip(*times, strict=True) if b > 0]
    return Comparison(
        before_ms=statistics.median(times[0]),
        after_ms=statistics.median(times[1]),
        speedup=statistics.median(ratios) if ratios else float("nan"),
        rounds=rounds,
        threads=torch.get_num_threads(),
        load_average=load_average(),
    )


def warm_up(call: Callable[[], Any], calls: int, seconds: float = 0.0) -> tuple[int, float]:
    """Call at least `calls` times and for at least `seconds` (thread pools, caches and
    compiled kernels settle); stop early once a call after the first takes `SLOW_CALL_S`.
    Returns the calls made and the last one's duration in seconds."""
    begin = time.perf_counter()
    last, done = 0.0, 0
    while done < calls or (time.perf_counter() - begin < seconds and done < MAX_WARMUP_CALLS):
        start = time.perf_counter()
        call()
        last = time.perf_counter() - start
        done += 1
        if done >= 2 and last > SLOW_CALL_S:
            break
    return done, last


def bound_call(fn: Callable[..., Any], inputs: Any) -> Callable[[], Any]:
    """`fn` on `inputs` as a call without arguments, synchronized when an input is on CUDA."""
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    if not any(isinstance(a, torch.Tensor) and a.is_cuda for a in args):
        return lambda: fn(*args)

    def synchronized() -> Any:
        result = fn(*args)
        torch.cuda.synchronize()
        return result

    torch.cuda.synchronize()  # work queued before the measure is not the measure's
    return synchronized


def timed_ms(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS keeps none."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """torch's intra-op threads set to `threads` inside (unchanged for None), then restored;
    yields the number in use."""
    before = torch.get_num_threads()
    if threads is not None and threads != before:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
