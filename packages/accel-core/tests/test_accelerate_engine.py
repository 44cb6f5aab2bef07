"""The accelerate engine: two CPU processes (gloo, started by torchrun) against one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from accel.core.data import ShardedBatchSampler, shard_loader
from accel.core.errors import ConfigError, MissingPackageError
from accel.core.runtime import Trainer

pytest.importorskip("accelerate")

TESTS = Path(__file__).parent


def records(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def one_and_two(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    """The same fit in one process (torch engine) and in two (accelerate, gloo)."""
    from core_ddp_child import run

    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    run(one, "torch")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", str(TESTS / "core_ddp_child.py"), str(two), "accelerate"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("DONE rank") == 2
    return one, two, seconds


@pytest.mark.slow
def test_two_processes_end_with_the_weights_of_one(one_and_two: tuple[Path, Path, float]) -> None:
    one, two, _ = one_and_two
    a, b = load_file(str(one / "final.safetensors")), load_file(str(two / "final.safetensors"))
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst < 1e-5, f"max abs weight difference {worst}"


@pytest.mark.slow
def test_two_processes_follow_the_loss_curve_of_one(one_and_two: tuple[Path, Path, float]) -> None:
    one, two, _ = one_and_two
    ra, rb = records(one / "run"), records(two / "run")
    steps_a = [r["train/loss_step"] for r in ra if r["kind"] == "step"]
    steps_b = [r["train/loss_step"] for r in rb if r["kind"] == "step"]
    assert len(steps_a) == len(steps_b) == 24  # 96 samples / global batch 8 x 2 epochs: one writer
    assert steps_a[0] != steps_a[-1]  # it trained
    assert torch.allclose(torch.tensor(steps_a), torch.tensor(steps_b), atol=1e-5)
    epochs_a = [r["train/loss"] for r in ra if r["kind"] == "epoch"]
    epochs_b = [r["train/loss"] for r in rb if r["kind"] == "epoch"]
    assert torch.allclose(torch.tensor(epochs_a), torch.tensor(epochs_b), atol=1e-5)


@pytest.mark.slow
def test_validation_counts_each_sample_once(one_and_two: tuple[Path, Path, float]) -> None:
    one, two, _ = one_and_two
    in_fit_a = [r["val/accuracy"] for r in records(one / "run") if r["kind"] == "epoch"]
    in_fit_b = [r["val/accuracy"] for r in records(two / "run") if r["kind"] == "epoch"]
    assert in_fit_a == in_fit_b  # exactly: 45 samples over 2 processes, none counted twice
    alone_a = json.loads((one / "validate.json").read_text())
    alone_b = json.loads((two / "validate.json").read_text())
    assert alone_a["val/accuracy"] == alone_b["val/accuracy"]
    assert round(alone_a["val/accuracy"] * 45) == pytest.approx(alone_a["val/accuracy"] * 45)
    assert alone_a["val/loss"] == pytest.approx(alone_b["val/loss"], abs=1e-6)


@pytest.mark.slow
def test_only_the_main_process_writes_checkpoints(one_and_two: tuple[Path, Path, float]) -> None:
    _, two, seconds = one_and_two
    checkpoints = sorted(p.name for p in (two / "run" / "checkpoints").iterdir())
    assert checkpoints == ["epoch=001-step=0000024", "last"]
    print(f"two-process fit + validate (torchrun, gloo): {seconds:.1f} s")


def test_unpadded_shards_cover_every_sample_once() -> None:
    batches = BatchSampler(SequentialSampler(range(45)), batch_size=10, drop_last=False)
    shares = [list(ShardedBatchSampler(batches, rank, 2, pad=False)) for rank in (0, 1)]
    seen = [i for share in shares for batch in share for i in batch]
    assert sorted(seen) == list(range(45))
    assert shares[0][-1] == [40, 41, 42]
    assert shares[1][-1] == [43, 44]


def test_padded_shards_are_equal_and_empty_shares_are_skipped() -> None:
    batches = BatchSampler(SequentialSampler(range(5)), batch_size=5, drop_last=False)
    padded = [list(ShardedBatchSampler(batches, rank, 2, pad=True)) for rank in (0, 1)]
    assert padded == [[[0, 1, 2]], [[3, 4, 0]]]
    one = BatchSampler(SequentialSampler(range(1)), batch_size=4, drop_last=False)
    assert list(ShardedBatchSampler(one, 1, 2, pad=False)) == []


def test_an_iterable_dataset_cannot_be_split() -> None:
    class Stream(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(range(3))

    with pytest.raises(ConfigError, match="map-style dataset"):
        shard_loader(DataLoader(Stream(), batch_size=2), 0, 2, pad=False)


def test_one_accelerate_process_accumulates_like_the_torch_engine(tmp_path: Path) -> None:
    from core_ddp_child import make_model
    from core_tiny import tiny_tensors

    weights = []
    for engine in ("torch", "accelerate"):
        torch.manual_seed(0)
        model = make_model()
        loader = DataLoader(tiny_tensors(40), batch_size=4, shuffle=True)
        trainer = Trainer(
            engine=engine, device="cpu", seed=0, accumulate_grad_batches=3,
            clip_grad_norm=1.0, default_callbacks=False, run_dir=tmp_path / engine,
        )  # fmt: skip
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        trainer.fit(model, loader, optimizer=optimizer, loss="cross_entropy")
        weights.append(model.state_dict())
    for name in weights[0]:
        assert torch.allclose(weights[0][name], weights[1][name], atol=1e-6), name


def test_bf16_mixed_precision_through_accelerate_trains_on_cpu(tmp_path: Path) -> None:
    from core_ddp_child import make_model
    from core_tiny import tiny_tensors

    torch.manual_seed(0)
    model = make_model()
    loader = DataLoader(tiny_tensors(64), batch_size=8)
    trainer = Trainer(
        engine="accelerate", device="cpu", precision="bf16", max_epochs=3, seed=0,
        default_callbacks=False, run_dir=tmp_path,
    )  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    losses = []
    for _ in range(2):
        fit = trainer.fit(model, loader, optimizer=optimizer, loss="cross_entropy")
        losses.append(fit["train/loss"])
    assert losses[1] < losses[0]  # it learns under bf16 autocast
    out = model(torch.randn(2, 8))  # Accelerate ran it in bf16, then handed fp32 back
    assert out.dtype == torch.float32
    assert torch.equal(out, out.bfloat16().float())
    with trainer.engine.autocast():
        assert model[0](torch.randn(2, 8)).dtype == torch.bfloat16


def test_launcher_fsdp_flag_must_agree_with_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.raises(ConfigError, match="accelerate launch --use_fsdp was given"):
        Trainer(engine="accelerate", device="cpu")


def test_fsdp_on_cpu_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"strategy='fsdp' needs CUDA GPUs \(device is cpu\)"):
        Trainer(engine={"name": "accelerate", "strategy": "fsdp"}, device="cpu")


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="use one of ddp, fsdp"):
        Trainer(engine={"name": "accelerate", "strategy": "zero3"}, device="cpu")


def test_devices_without_a_launcher_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.devices=2 but this is one process"):
        Trainer(engine="accelerate", device="cpu", devices=2)


def test_missing_accelerate_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "accelerate", None)  # what an install without it gives
    with pytest.raises(MissingPackageError) as caught:
        Trainer(engine="accelerate", device="cpu")
    assert str(caught.value) == (
        "trainer.engine=accelerate needs 'accel-core[accelerate]': "
        "pip install 'accel-core[accelerate]'"
    )
