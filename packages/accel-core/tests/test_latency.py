"""The one latency routine: what it times, how often, and what it states beside the times."""

from __future__ import annotations

import time

import pytest
import torch

from accel.core.analysis import compare_latency, measure_latency
from accel.core.analysis.latency import BUSY_SHARE, MIN_ROUNDS

pytestmark = pytest.mark.serial  # it times calls: alone, not beside other tests


class Recorder:
    """A call that sleeps `seconds` and records its name and arguments in a shared log."""

    def __init__(self, name: str, log: list[str], seconds: float = 0.0) -> None:
        self.name, self.log, self.seconds = name, log, seconds

    def __call__(self, *args: object) -> None:
        self.log.append(self.name)
        if self.seconds:
            time.sleep(self.seconds)


def test_warm_up_calls_are_made_and_not_timed() -> None:
    log: list[str] = []
    result = measure_latency(Recorder("call", log), torch.zeros(1), repeats=4, warmup=2)
    assert len(log) == 2 + 4
    assert (result.repeats, result.warmup) == (4, 2)
    assert 0 <= result.min_ms <= result.median_ms <= result.max_ms


def test_a_tuple_of_inputs_is_passed_as_positional_arguments() -> None:
    seen: list[tuple[int, ...]] = []
    measure_latency(lambda a, b: seen.append((a, b)), (1, 2), repeats=1, warmup=0)
    assert seen == [(1, 2)]


def test_calls_run_without_gradients() -> None:
    weight = torch.ones(3, requires_grad=True)
    outputs: list[torch.Tensor] = []
    measure_latency(lambda x: outputs.append(x * weight), torch.ones(3), repeats=1, warmup=0)
    assert not outputs[0].requires_grad


def test_a_call_that_waits_shows_cpu_time_far_below_its_wall_time() -> None:
    result = measure_latency(Recorder("sleep", [], 0.02), None, repeats=3, warmup=0)
    assert result.median_ms >= 20
    assert result.cpu_ms < result.median_ms / 4  # the tell of a call held up by something else
    assert result.load_average is None or result.load_average >= 0


def test_a_busy_call_uses_cpu_time() -> None:
    x = torch.randn(256, 256)
    result = measure_latency(lambda: [x @ x for _ in range(10)], (), repeats=3, warmup=1)
    assert result.cpu_ms > 0


def test_the_budget_cuts_repeats_of_a_slow_call_to_three_but_never_adds_any() -> None:
    log: list[str] = []
    result = measure_latency(Recorder("slow", log, 0.03), None, repeats=50, budget_s=0.05)
    assert result.repeats == 3
    assert len(log) == result.warmup + 3
    assert measure_latency(lambda _: None, None, repeats=2, budget_s=10).repeats == 2


def test_warm_up_runs_for_at_least_its_seconds() -> None:
    log: list[str] = []
    result = measure_latency(Recorder("call", log, 0.01), None, repeats=1, warmup=1, warmup_s=0.1)
    assert result.warmup >= 5  # 0.1 s of 10 ms calls
    assert len(log) == result.warmup + 1


def test_threads_are_set_for_the_measure_and_restored() -> None:
    before = torch.get_num_threads()
    seen: list[int] = []
    result = measure_latency(lambda: seen.append(torch.get_num_threads()), (), repeats=1, threads=1)
    assert result.threads == 1
    assert set(seen) == {1}
    assert torch.get_num_threads() == before


def test_compare_alternates_the_order_every_round_in_blocks() -> None:
    log: list[str] = []
    result = compare_latency(Recorder("a", log), Recorder("b", log), None, rounds=4, warmup=1)
    assert 1 < result.block <= 1000  # microsecond calls are timed in blocks, not one by one
    rounds = [
        log[2:][i : i + 2 * result.block] for i in range(0, 8 * result.block, 2 * result.block)
    ]
    assert log[:2] == ["a", "b"]  # warm-up
    assert len(log) == 2 + 8 * result.block  # same-length blocks: both calls are as fast
    assert [r[0] + r[-1] for r in rounds] == ["ab", "ba", "ab", "ba"]


def test_a_machine_kept_busy_by_other_processes_makes_the_comparison_unreliable() -> None:
    import subprocess
    import sys

    spin = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    neighbours = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(4)]
    try:
        time.sleep(0.3)
        sleepy = Recorder("sleep", [], 0.01)
        busy = compare_latency(sleepy, sleepy, None, rounds=MIN_ROUNDS, warmup=1)
    finally:
        for process in neighbours:
            process.kill()
            process.wait()
    assert busy.others_cpu is not None
    assert busy.others_cpu > BUSY_SHARE
    assert not busy.reliable
    assert str(busy.why).startswith("machine busy: other processes used")


def test_a_quiet_comparison_states_its_spread() -> None:
    slow, fast = Recorder("slow", [], 0.006), Recorder("fast", [], 0.002)
    result = compare_latency(slow, fast, None, rounds=6, warmup=1)
    assert result.speedup_low <= result.speedup <= result.speedup_high
    assert result.speedup_low > 1.5


def test_compare_finds_the_faster_call_and_its_speedup() -> None:
    slow, fast = Recorder("slow", [], 0.012), Recorder("fast", [], 0.002)
    result = compare_latency(slow, fast, None, rounds=3, warmup=0)
    assert result.before_ms > result.after_ms
    assert result.speedup > 2
    assert result.rounds == 3
    assert 1 <= result.block <= 3  # 2 ms calls: blocks of at least BLOCK_S (5 ms)
    assert result.as_dict()["threads"] == torch.get_num_threads()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_inputs_are_timed_to_the_end_of_the_gpu_work() -> None:
    x = torch.randn(4096, 4096, device="cuda")
    result = measure_latency(lambda a: a @ a, x, repeats=3, warmup=1)
    start = time.perf_counter()
    x @ x
    torch.cuda.synchronize()
    synced_ms = (time.perf_counter() - start) * 1000
    assert result.median_ms > synced_ms / 3  # not the microseconds a launch alone takes
