"""A fit for the distributed tests: run alone (one process) or under torchrun (two).

usage: python core_ddp_child.py OUT_DIR ENGINE        (ENGINE: torch or accelerate)

The model has no dropout, so one process with the global batch and two processes with half of
it each compute the same thing; the validation set (45 samples, batch 10) splits unevenly.
It writes OUT_DIR/run (the run dir, metrics.jsonl from the main process only),
OUT_DIR/final.safetensors and OUT_DIR/validate.json (a stand-alone `Trainer.validate`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from core_tiny import tiny_tensors
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import DataLoader

from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.callbacks.metric_logger import MetricLogger
from accel.core.runtime import Trainer, seed_everything
from accel.core.runtime.distributed import end_process_group

GLOBAL_BATCH, EPOCHS = 8, 2


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))


def run(out: Path, engine: str) -> None:
    """One fit + validate; the same code in each of N processes or in one."""
    torch.set_num_threads(1)
    seed_everything(0)
    model = make_model()
    train = DataLoader(tiny_tensors(96), batch_size=GLOBAL_BATCH, shuffle=True)
    val = DataLoader(tiny_tensors(45), batch_size=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    trainer = Trainer(
        max_epochs=EPOCHS,
        run_dir=out / "run",
        seed=0,
        engine=engine,
        device="cpu",
        devices=int(os.environ.get("WORLD_SIZE", "1")),
        callbacks=[MetricLogger(csv=False), ModelCheckpoint(every_n_steps=4)],
        default_callbacks=False,
        log_every_n_steps=1,
    )
    trainer.fit(model, train, val, optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"])
    results = trainer.validate(model, val, loss="cross_entropy", metrics=["accuracy"])
    if trainer.is_main_process:
        save_file(model.state_dict(), str(out / "final.safetensors"))
        (out / "validate.json").write_text(json.dumps(results))
    end_process_group()
    print(f"DONE rank {os.environ.get('RANK', '0')}", flush=True)


if __name__ == "__main__":
    run(Path(sys.argv[1]), sys.argv[2])
