"""A training run for the SIGKILL resume tests (run as a subprocess, killed, resumed).

usage: python core_resume_child.py RUN_DIR [--pause-after-step N] [--pause-in-write N]
                                   [--averaging]

It checkpoints after every optimizer step and resumes from RUN_DIR's last checkpoint when
there is one. With a pause flag it prints a marker line and sleeps so the parent can SIGKILL
it at that exact point: after step N's checkpoint, or in the middle of writing it.
With --averaging it also keeps an EMA and an SWA of the weights (saved as ema.* and swa.*).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch
from core_tiny import TinyData, TinyNet
from safetensors.torch import save_file

import accel.core.checkpoint.store as store
from accel.core.callbacks import Callback
from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.callbacks.ema import EMA
from accel.core.callbacks.swa import SWA
from accel.core.runtime import Trainer, seed_everything


class PauseAfterStep(Callback):
    priority = "lowest"  # after the checkpoint of this step is complete

    def __init__(self, step: int) -> None:
        self.step = step

    def on_optimizer_step(self, state: Any) -> None:
        if state.global_step == self.step:
            print(f"PAUSED {state.global_step}", flush=True)
            time.sleep(120)


def pause_in_write(step: int) -> None:
    """Sleep after the tensors of step `step`'s checkpoint are written, before its manifest."""
    real = store.write_safetensors

    def slow_write(path: str, tensors: Any, metadata: Any) -> None:
        real(path, tensors, metadata)
        if f"step={step:07d}" in path:
            print(f"WRITING {step}", flush=True)
            time.sleep(120)

    store.write_safetensors = slow_write  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--pause-after-step", type=int)
    parser.add_argument("--pause-in-write", type=int)
    parser.add_argument("--averaging", action="store_true")
    args = parser.parse_args()
    callbacks: list[Any] = [ModelCheckpoint(every_n_steps=1)]
    averaging = [EMA(decay=0.9, warmup_steps=4), SWA(swa_lr=5e-3, swa_start=1, anneal_epochs=1)]
    if args.averaging:
        callbacks.extend(averaging)
    if args.pause_after_step:
        callbacks.append(PauseAfterStep(args.pause_after_step))
    if args.pause_in_write:
        pause_in_write(args.pause_in_write)
    seed_everything(0)
    data = TinyData(batch_size=8)
    model = TinyNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    trainer = Trainer(
        max_epochs=3, run_dir=args.run_dir, seed=0, callbacks=callbacks, log_every_n_steps=5
    )
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=optimizer,
        loss="cross_entropy",
        scheduler=scheduler,
        resume="auto",
    )
    final = dict(model.state_dict())
    if args.averaging:
        for callback in averaging:
            assert callback.averaged is not None
            for key, value in callback.averaged.module.state_dict().items():
                final[f"{callback.weights_name}.{key}"] = value
            final[f"{callback.weights_name}.n_averaged"] = callback.averaged.n_averaged
    save_file(final, str(args.run_dir / "final.safetensors"))
    print("DONE", flush=True)


if __name__ == "__main__":
    sys.exit(main())
