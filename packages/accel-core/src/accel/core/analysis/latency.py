"""Latency of a call on this machine, measured so that a busy machine shows in the figures.

A median of wall times alone misleads where other work shares the cores: torch eager can slow
10-30x at a load of 4 while ONNX Runtime holds. So a measure states its threads, the process
CPU time per call, the load average and the share of the machine's CPU other processes used
while it ran; `compare_latency` times two calls in alternation (blocks of calls long enough
for the timer, the order flipped every round), so load which comes and goes slows both alike,
and reports the spread of the per-round ratios. A comparison made while other processes took
more than `BUSY_SHARE` of the CPUs, or whose ratios spread wider than `WIDE_SPREAD`, is marked
unreliable (`reliable`, `why`): a caller must not decide anything on it.
"""

from __future__ import annotations

import math
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
BLOCK_S = 0.005  # a timed block of calls lasts at least this (sub-ms calls time in blocks)
MAX_BLOCK = 1000  # calls in one block at most
MIN_ROUNDS = 5  # a comparison's budget never cuts it below this many rounds
BUSY_SHARE = 0.25  # other processes using more of the CPUs than this: timings unreliable
WIDE_SPREAD = 0.5  # per-round ratios whose quartiles differ by more than this x the median


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
    others_cpu: float | None = None  # share of the CPUs other processes used meanwhile

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """Two calls timed side by side; `speedup` is the median of the per-round ratios
    before / after (robust where a ratio of two separate medians is not), `speedup_low` and
    `speedup_high` their quartiles; `others_cpu` the share of the machine's CPUs that other
    processes used meanwhile (None where unknown); `reliable` False (with `why`) when the
    machine was busy or the ratios spread too wide to decide on."""

    before_ms: float
    after_ms: float
    speedup: float
    speedup_low: float
    speedup_high: float
    rounds: int
    block: int  # calls per timed block (of the faster call; the slower one's is smaller)
    threads: int
    load_average: float | None
    others_cpu: float | None
    reliable: bool
    why: str | None

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
    """Time `fn(inputs)` (a tuple of inputs: `fn(*inputs)`) under `torch.inference_mode`: `repeats`
    timed calls after at least `warmup` calls and `warmup_s` seconds of untimed ones.

    `budget_s` cuts the timed calls of a slow `fn` to about that many seconds (3 at least);
    `threads` sets torch's intra-op threads for the measure (default: as they are). On CUDA
    inputs every call is synchronized, so the time is the GPU's too.
    """
    call = bound_call(fn, inputs)
    with torch_threads(threads) as used, torch.inference_mode():
        warmed, last = warm_up(call, warmup, warmup_s)
        if budget_s is not None:
            repeats = min(repeats, max(3, int(budget_s / max(last, 1e-6))))
        cpu = time.process_time()
        with others_cpu_share() as others:
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
        others_cpu=others.share,
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
    """`before` and `after` timed in alternation on `inputs` under `torch.inference_mode`
    (how a model is deployed): each round times a block of calls of each (as many as last
    `BLOCK_S`, sized by each one's warm-up: at least one untimed call each), the
    order flipped every round. `warmup`, `warmup_s` and `budget_s` as in `measure_latency`
    (the budget covers both blocks of a round; it never cuts below `MIN_ROUNDS`)."""
    calls = (bound_call(before, inputs), bound_call(after, inputs))
    with torch.inference_mode():
        lasts = [warm_up(call, max(warmup, 1), warmup_s)[1] for call in calls]
        blocks = (block_size(lasts[0]), block_size(lasts[1]))
        if budget_s is not None:
            per_round = sum(b * last for b, last in zip(blocks, lasts, strict=True))
            rounds = min(rounds, max(MIN_ROUNDS, int(budget_s / max(per_round, 1e-6))))
        with others_cpu_share() as others:
            times = alternate(calls, rounds, blocks)
    ratios = sorted(a / b for a, b in zip(*times, strict=True) if b > 0)
    low, mid, high = quartiles(ratios)
    why = unreliable_because(others.share, low, mid, high)
    return Comparison(
        before_ms=statistics.median(times[0]),
        after_ms=statistics.median(times[1]),
        speedup=mid,
        speedup_low=low,
        speedup_high=high,
        rounds=rounds,
        block=max(blocks),
        threads=torch.get_num_threads(),
        load_average=load_average(),
        others_cpu=others.share,
        reliable=why is None,
        why=why,
    )


def block_size(seconds: float) -> int:
    """Calls in one timed block of a call lasting `seconds`: enough to last `BLOCK_S`."""
    return min(MAX_BLOCK, max(1, math.ceil(BLOCK_S / max(seconds, 1e-6))))


def alternate(
    calls: tuple[Callable[[], Any], Callable[[], Any]], rounds: int, blocks: tuple[int, int]
) -> tuple[list[float], list[float]]:
    """Milliseconds per call of each of two calls, a block of `blocks[i]` calls of each per
    round, the order flipped every round."""
    times: tuple[list[float], list[float]] = ([], [])
    for index in range(rounds):
        for which in (0, 1) if index % 2 == 0 else (1, 0):
            call, block = calls[which], blocks[which]
            start = time.perf_counter()
            for _ in range(block):
                call()
            times[which].append((time.perf_counter() - start) * 1000 / block)
    return times


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(25th, 50th, 75th) percentiles; NaNs for no values."""
    if not values:
        return (float("nan"),) * 3
    if len(values) == 1:
        return (values[0],) * 3
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, mid, high


def unreliable_because(others: float | None, low: float, mid: float, high: float) -> str | None:
    """Why a comparison cannot be decided on, or None."""
    if others is not None and others > BUSY_SHARE:
        load = load_average()
        where = f", load {load}" if load is not None else ""
        return f"machine busy: other processes used {others:.0%} of the CPUs{where}"
    if math.isfinite(mid) and mid > 0 and (high - low) > WIDE_SPREAD * mid:
        return f"timings spread too wide (speed-up {low:.2f}x to {high:.2f}x between quartiles)"
    return None


@dataclass
class CpuShare:
    share: float | None = None


@contextmanager
def others_cpu_share() -> Iterator[CpuShare]:
    """The share of the machine's CPU time used by other processes inside the block: busy
    time of every CPU minus this process's own, over wall time x CPUs (psutil, a dependency
    of accel-core). None where the OS does not say."""
    import psutil

    result = CpuShare()
    me = psutil.Process()
    try:
        machine, own, wall = busy_seconds(psutil), sum(me.cpu_times()[:2]), time.perf_counter()
    except (psutil.Error, OSError):
        yield result
        return
    yield result
    try:
        elapsed = time.perf_counter() - wall
        others = busy_seconds(psutil) - machine - (sum(me.cpu_times()[:2]) - own)
        cpus = psutil.cpu_count() or 1
        result.share = round(min(max(others / max(elapsed * cpus, 1e-9), 0.0), 1.0), 3)
    except (psutil.Error, OSError):
        result.share = None


def busy_seconds(psutil: Any) -> float:
    """CPU seconds every CPU of the machine spent not idle (nor waiting for I/O) so far."""
    times = psutil.cpu_times()  # guest time is inside user time already: not added again
    fields = ("user", "nice", "system", "irq", "softirq", "steal")
    return float(sum(getattr(times, name, 0.0) for name in fields))


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
